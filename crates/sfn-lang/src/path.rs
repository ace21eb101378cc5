//! JSONPath as the States Language uses it (AWS's Jayway-like dialect): `$` / `$$` roots, `.name`,
//! `['name']`, `[n]` (negative from the end), `[*]`, `..name`, `[start:end:step]`, unions `[0,1]` /
//! `['a','b']`, and `[?(@.x <op> literal)]` filters with `&&`, `||`, `!` and parentheses.
//!
//! Written here rather than taken from `serde_json_path` / `jsonpath-rust`: those follow RFC 9535 and
//! always return a node list, whereas AWS (Jayway) returns the bare value for a *definite* path and a
//! list only for an indefinite one, restricts ResultPath and `...Path` fields to *reference paths*, and
//! needs a setter for ResultPath; all three need the parsed segments anyway, and the evaluator is small.

use serde_json::{Map, Value};

/// A filter operand.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// `@...`: a path relative to the element.
    Current(Vec<Segment>),
    Literal(Value),
}

/// A filter expression inside `[?( )]`.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `@.x` alone: the element has `x`.
    Exists(Vec<Segment>),
    Compare(Operand, CmpOp, Operand),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
}

/// A filter comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    Name(String),
    Index(i64),
    Wildcard,
    Slice(Option<i64>, Option<i64>, Option<i64>),
    Union(Vec<Segment>),
    /// `..` followed by a name, `*` or a bracket.
    Descend(Box<Segment>),
    Filter(Filter),
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    /// Rooted at `$$` (the context object) rather than `$`.
    pub context: bool,
    pub segments: Vec<Segment>,
    /// The text it was parsed from.
    pub text: String,
}

/// A path syntax error, with what went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSONPath '{text}': {reason}")]
pub struct PathError {
    pub text: String,
    pub reason: String,
}

struct Lexer<'a> {
    chars: Vec<char>,
    pos: usize,
    text: &'a str,
    /// Nesting of filters and parentheses, bounded so no input can exhaust the stack.
    depth: usize,
}

/// Deepest nesting of filters, parentheses and `!` a path may have.
const MAX_DEPTH: usize = 32;

const NAME_STOP: &[char] = &[
    '.', '[', ']', '(', ')', '=', '!', '<', '>', '&', '|', ',', ' ', '\t', '\n', '\r',
];

impl Lexer<'_> {
    fn err(&self, reason: impl Into<String>) -> PathError {
        PathError {
            text: self.text.to_string(),
            reason: reason.into(),
        }
    }
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }
    fn peek_at(&self, n: usize) -> Option<char> {
        self.chars.get(self.pos + n).copied()
    }
    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(c) if c.is_whitespace()) {
            self.pos += 1;
        }
    }
    fn name(&mut self) -> Result<String, PathError> {
        let start = self.pos;
        while matches!(self.peek(), Some(c) if !NAME_STOP.contains(&c)) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.err(format!("expected a field name at position {start}")));
        }
        Ok(self.chars[start..self.pos].iter().collect())
    }
    fn quoted(&mut self) -> Result<String, PathError> {
        let q = self.peek().ok_or_else(|| self.err("unexpected end"))?;
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(self.err("unterminated quoted name")),
                Some('\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c) => out.push(c),
                        None => return Err(self.err("unterminated quoted name")),
                    }
                    self.pos += 1;
                }
                Some(c) if c == q => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }
    fn int(&mut self) -> Option<i64> {
        let start = self.pos;
        if self.peek() == Some('-') {
            self.pos += 1;
        }
        while matches!(self.peek(), Some(c) if c.is_ascii_digit()) {
            self.pos += 1;
        }
        let s: String = self.chars[start..self.pos].iter().collect();
        match s.parse() {
            Ok(n) => Some(n),
            Err(_) => {
                self.pos = start;
                None
            }
        }
    }
    fn segments(&mut self, in_filter: bool) -> Result<Vec<Segment>, PathError> {
        let mut segs = Vec::new();
        loop {
            match self.peek() {
                Some('.') if self.peek_at(1) == Some('.') => {
                    self.pos += 2;
                    let inner = match self.peek() {
                        Some('*') => {
                            self.pos += 1;
                            Segment::Wildcard
                        }
                        Some('[') => self.bracket()?,
                        _ => Segment::Name(self.name()?),
                    };
                    segs.push(Segment::Descend(Box::new(inner)));
                }
                Some('.') => {
                    self.pos += 1;
                    if self.eat('*') {
                        segs.push(Segment::Wildcard);
                    } else {
                        segs.push(Segment::Name(self.name()?));
                    }
                }
                Some('[') => segs.push(self.bracket()?),
                None => return Ok(segs),
                Some(_) if in_filter => return Ok(segs),
                Some(c) => {
                    return Err(self.err(format!("unexpected '{c}' at position {}", self.pos)))
                }
            }
        }
    }
    fn bracket(&mut self) -> Result<Segment, PathError> {
        self.pos += 1; // '['
        self.skip_ws();
        let seg = match self.peek() {
            Some('*') => {
                self.pos += 1;
                Segment::Wildcard
            }
            Some('?') => {
                self.pos += 1;
                if !self.eat('(') {
                    return Err(self.err("expected '(' after '?'"));
                }
                let f = self.filter_or()?;
                self.skip_ws();
                if !self.eat(')') {
                    return Err(self.err("expected ')' closing the filter"));
                }
                Segment::Filter(f)
            }
            Some('\'') | Some('"') => {
                let mut names = vec![Segment::Name(self.quoted()?)];
                self.skip_ws();
                while self.eat(',') {
                    self.skip_ws();
                    if !matches!(self.peek(), Some('\'') | Some('"')) {
                        return Err(self.err("expected a quoted name in the union"));
                    }
                    names.push(Segment::Name(self.quoted()?));
                    self.skip_ws();
                }
                if names.len() == 1 {
                    names.pop().unwrap_or(Segment::Wildcard)
                } else {
                    Segment::Union(names)
                }
            }
            _ => {
                let start = self.int();
                self.skip_ws();
                if self.eat(':') {
                    self.skip_ws();
                    let end = self.int();
                    self.skip_ws();
                    let step = if self.eat(':') { self.int() } else { None };
                    if step == Some(0) {
                        return Err(self.err("slice step must not be 0"));
                    }
                    Segment::Slice(start, end, step)
                } else {
                    let first = start.ok_or_else(|| {
                        self.err(format!("unexpected content at position {}", self.pos))
                    })?;
                    let mut idx = vec![Segment::Index(first)];
                    while self.eat(',') {
                        self.skip_ws();
                        idx.push(Segment::Index(
                            self.int()
                                .ok_or_else(|| self.err("expected an index in the union"))?,
                        ));
                        self.skip_ws();
                    }
                    if idx.len() == 1 {
                        idx.pop().unwrap_or(Segment::Wildcard)
                    } else {
                        Segment::Union(idx)
                    }
                }
            }
        };
        self.skip_ws();
        if !self.eat(']') {
            return Err(self.err("expected ']'"));
        }
        Ok(seg)
    }
    fn filter_or(&mut self) -> Result<Filter, PathError> {
        let mut left = self.filter_and()?;
        loop {
            self.skip_ws();
            if self.peek() == Some('|') && self.peek_at(1) == Some('|') {
                self.pos += 2;
                let right = self.filter_and()?;
                left = Filter::Or(Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }
    fn filter_and(&mut self) -> Result<Filter, PathError> {
        let mut left = self.filter_atom()?;
        loop {
            self.skip_ws();
            if self.peek() == Some('&') && self.peek_at(1) == Some('&') {
                self.pos += 2;
                let right = self.filter_atom()?;
                left = Filter::And(Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }
    fn filter_atom(&mut self) -> Result<Filter, PathError> {
        self.depth += 1;
        let f = self.filter_atom_inner();
        self.depth -= 1;
        f
    }

    fn filter_atom_inner(&mut self) -> Result<Filter, PathError> {
        if self.depth > MAX_DEPTH {
            return Err(self.err("filter nested too deep"));
        }
        self.skip_ws();
        if self.peek() == Some('!') && self.peek_at(1) != Some('=') {
            self.pos += 1;
            return Ok(Filter::Not(Box::new(self.filter_atom()?)));
        }
        if self.eat('(') {
            let f = self.filter_or()?;
            self.skip_ws();
            if !self.eat(')') {
                return Err(self.err("expected ')'"));
            }
            return Ok(f);
        }
        let left = self.operand()?;
        self.skip_ws();
        let op = match (self.peek(), self.peek_at(1)) {
            (Some('='), Some('=')) => Some((CmpOp::Eq, 2)),
            (Some('!'), Some('=')) => Some((CmpOp::Ne, 2)),
            (Some('<'), Some('=')) => Some((CmpOp::Le, 2)),
            (Some('>'), Some('=')) => Some((CmpOp::Ge, 2)),
            (Some('<'), _) => Some((CmpOp::Lt, 1)),
            (Some('>'), _) => Some((CmpOp::Gt, 1)),
            _ => None,
        };
        match op {
            Some((op, n)) => {
                self.pos += n;
                self.skip_ws();
                let right = self.operand()?;
                Ok(Filter::Compare(left, op, right))
            }
            None => match left {
                Operand::Current(segs) => Ok(Filter::Exists(segs)),
                Operand::Literal(_) => Err(self.err("a filter needs a comparison or an @ path")),
            },
        }
    }
    fn operand(&mut self) -> Result<Operand, PathError> {
        self.skip_ws();
        match self.peek() {
            Some('@') => {
                self.pos += 1;
                Ok(Operand::Current(self.segments(true)?))
            }
            Some('\'') | Some('"') => Ok(Operand::Literal(Value::String(self.quoted()?))),
            Some(_) => {
                let start = self.pos;
                while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || "+-.eE".contains(c))
                {
                    self.pos += 1;
                }
                let word: String = self.chars[start..self.pos].iter().collect();
                match word.as_str() {
                    "true" => Ok(Operand::Literal(Value::Bool(true))),
                    "false" => Ok(Operand::Literal(Value::Bool(false))),
                    "null" => Ok(Operand::Literal(Value::Null)),
                    _ => serde_json::from_str::<serde_json::Number>(&word)
                        .map(|n| Operand::Literal(Value::Number(n)))
                        .map_err(|_| self.err(format!("bad filter operand '{word}'"))),
                }
            }
            None => Err(self.err("unexpected end of filter")),
        }
    }
}

impl Path {
    /// Parses a path starting with `$` or `$$`.
    pub fn parse(text: &str) -> Result<Path, PathError> {
        let mut lx = Lexer {
            chars: text.chars().collect(),
            pos: 0,
            text,
            depth: 0,
        };
        if !lx.eat('$') {
            return Err(lx.err("a path must start with '$'"));
        }
        let mut context = lx.eat('$');
        let mut segments = Vec::new();
        // `$name...`: a workflow variable. Variables travel in the context value under a key no path
        // can spell (see `variables`), so a variable path is a context path with that key first.
        if !context && matches!(lx.peek(), Some(c) if c.is_alphabetic() || c == '_') {
            let name = lx.name()?;
            context = true;
            segments.push(Segment::Name(crate::variables::VARS_KEY.into()));
            segments.push(Segment::Name(name));
        }
        segments.extend(lx.segments(false)?);
        Ok(Path {
            context,
            segments,
            text: text.to_string(),
        })
    }

    /// Parses a *reference path*: only `.name`, `['name']` and `[n]` (what ResultPath, the `...Path`
    /// fields of Choice rules, Wait, Task timeouts and ItemsPath accept).
    pub fn parse_reference(text: &str) -> Result<Path, PathError> {
        let p = Path::parse(text)?;
        if !p.is_definite() {
            return Err(PathError {
                text: text.into(),
                reason: "a reference path may only use '.name', \"['name']\" and '[n]'".into(),
            });
        }
        Ok(p)
    }

    /// The variable a `$name...` path starts with.
    pub fn variable(&self) -> Option<&str> {
        match self.segments.as_slice() {
            [Segment::Name(k), Segment::Name(v), ..]
                if self.context && k == crate::variables::VARS_KEY =>
            {
                Some(v)
            }
            _ => None,
        }
    }

    /// True if the path names at most one node (only names and indexes).
    pub fn is_definite(&self) -> bool {
        self.segments
            .iter()
            .all(|s| matches!(s, Segment::Name(_) | Segment::Index(_)))
    }

    /// Evaluates against the input (`$`) or the context (`$$`). A definite path gives the one value or
    /// `None` if absent; an indefinite path gives an array of the matches (possibly empty).
    pub fn query(&self, input: &Value, context: &Value) -> Option<Value> {
        let root = if self.context { context } else { input };
        if self.context && self.segments.is_empty() {
            return Some(crate::variables::without_variables(context));
        }
        let found = select(root, &self.segments);
        if self.is_definite() {
            found.into_iter().next().cloned()
        } else {
            Some(Value::Array(found.into_iter().cloned().collect()))
        }
    }

    /// Sets `value` at this reference path inside `root`, creating missing objects on the way (ResultPath).
    /// `None` if a step meets a value that is not an object (or an array with that index).
    pub fn set(&self, root: Value, value: Value) -> Option<Value> {
        fn put(node: &mut Value, segs: &[Segment], value: Value) -> Option<()> {
            let Some((first, rest)) = segs.split_first() else {
                *node = value;
                return Some(());
            };
            match (first, node) {
                (Segment::Name(n), Value::Object(m)) => {
                    let child = m
                        .entry(n.clone())
                        .or_insert_with(|| Value::Object(Map::new()));
                    put(child, rest, value)
                }
                (Segment::Index(i), Value::Array(a)) => {
                    let idx = resolve_index(*i, a.len())?;
                    put(&mut a[idx], rest, value)
                }
                _ => None,
            }
        }
        let mut root = root;
        put(&mut root, &self.segments, value)?;
        Some(root)
    }
}

fn resolve_index(i: i64, len: usize) -> Option<usize> {
    let len = len as i64;
    let idx = if i < 0 { len + i } else { i };
    (0..len).contains(&idx).then_some(idx as usize)
}

fn slice_indexes(
    start: Option<i64>,
    end: Option<i64>,
    step: Option<i64>,
    len: usize,
) -> Vec<usize> {
    let len = len as i64;
    let norm = |v: i64| if v < 0 { (len + v).max(0) } else { v.min(len) };
    let step = step.unwrap_or(1);
    let mut out = Vec::new();
    if step > 0 {
        let (mut i, e) = (norm(start.unwrap_or(0)), norm(end.unwrap_or(len)));
        while i < e {
            out.push(i as usize);
            i += step;
        }
    } else {
        let mut i = start.map(norm).unwrap_or(len - 1).min(len - 1);
        let e = end.map(norm).unwrap_or(-1);
        while i > e && i >= 0 {
            out.push(i as usize);
            i += step;
        }
    }
    out
}

fn children(v: &Value) -> Vec<&Value> {
    match v {
        Value::Object(m) => m.values().collect(),
        Value::Array(a) => a.iter().collect(),
        _ => Vec::new(),
    }
}

fn step<'a>(v: &'a Value, seg: &Segment, out: &mut Vec<&'a Value>) {
    match seg {
        Segment::Name(n) => {
            if let Some(c) = v.as_object().and_then(|m| m.get(n)) {
                out.push(c);
            }
        }
        Segment::Index(i) => {
            if let Some(a) = v.as_array() {
                if let Some(idx) = resolve_index(*i, a.len()) {
                    out.push(&a[idx]);
                }
            }
        }
        Segment::Wildcard => out.extend(children(v)),
        Segment::Slice(s, e, st) => {
            if let Some(a) = v.as_array() {
                out.extend(
                    slice_indexes(*s, *e, *st, a.len())
                        .into_iter()
                        .map(|i| &a[i]),
                );
            }
        }
        Segment::Union(parts) => {
            for p in parts {
                step(v, p, out);
            }
        }
        Segment::Descend(inner) => {
            step(v, inner, out);
            for c in children(v) {
                step(c, seg, out);
            }
        }
        Segment::Filter(f) => match v {
            Value::Array(a) => out.extend(a.iter().filter(|e| eval_filter(f, e))),
            Value::Object(_) if eval_filter(f, v) => out.push(v),
            _ => {}
        },
    }
}

/// All nodes the segments select from `root`, in document order.
pub fn select<'a>(root: &'a Value, segs: &[Segment]) -> Vec<&'a Value> {
    let mut cur = vec![root];
    for seg in segs {
        let mut next = Vec::new();
        for v in cur {
            step(v, seg, &mut next);
        }
        cur = next;
    }
    cur
}

fn operand_value<'a>(o: &'a Operand, elem: &'a Value) -> Option<&'a Value> {
    match o {
        Operand::Literal(v) => Some(v),
        Operand::Current(segs) => select(elem, segs).into_iter().next(),
    }
}

fn eval_filter(f: &Filter, elem: &Value) -> bool {
    match f {
        Filter::Exists(segs) => !select(elem, segs).is_empty(),
        Filter::And(a, b) => eval_filter(a, elem) && eval_filter(b, elem),
        Filter::Or(a, b) => eval_filter(a, elem) || eval_filter(b, elem),
        Filter::Not(a) => !eval_filter(a, elem),
        Filter::Compare(l, op, r) => {
            let (Some(l), Some(r)) = (operand_value(l, elem), operand_value(r, elem)) else {
                return false;
            };
            let ord = match (l, r) {
                (Value::Number(a), Value::Number(b)) => a
                    .as_f64()
                    .zip(b.as_f64())
                    .and_then(|(a, b)| a.partial_cmp(&b)),
                (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
                _ => None,
            };
            match op {
                CmpOp::Eq => ord.map(|o| o.is_eq()).unwrap_or(l == r),
                CmpOp::Ne => !ord.map(|o| o.is_eq()).unwrap_or(l == r),
                CmpOp::Lt => ord.is_some_and(|o| o.is_lt()),
                CmpOp::Le => ord.is_some_and(|o| o.is_le()),
                CmpOp::Gt => ord.is_some_and(|o| o.is_gt()),
                CmpOp::Ge => ord.is_some_and(|o| o.is_ge()),
            }
        }
    }
}

#[cfg(test)]
#[path = "path_test.rs"]
mod path_test;
