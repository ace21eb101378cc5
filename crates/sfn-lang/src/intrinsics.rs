//! The 18 intrinsic functions (`States.Format(...)` etc.): a parser for their argument syntax (string
//! literals in single quotes with the escapes `\'`, `\{`, `\}`, `\\`; numbers; `true` / `false` /
//! `null`; `$` and `$$` paths; nested calls) and an evaluator. `States.UUID` and `States.MathRandom`
//! draw from the caller's leader-seeded [`Entropy`]; with a seed argument MathRandom is deterministic
//! in that seed (but not the same numbers as AWS's generator).

use crate::entropy::{mix, Entropy};
use crate::error::{json_text, StatesError};
use crate::path::Path;
use base64::Engine as _;
use serde_json::{Map, Number, Value};

/// The functions, named as in the definition.
pub const FUNCTIONS: [&str; 18] = [
    "States.Format",
    "States.StringToJson",
    "States.JsonToString",
    "States.Array",
    "States.ArrayPartition",
    "States.ArrayContains",
    "States.ArrayRange",
    "States.ArrayGetItem",
    "States.ArrayLength",
    "States.ArrayUnique",
    "States.Base64Encode",
    "States.Base64Decode",
    "States.Hash",
    "States.JsonMerge",
    "States.MathRandom",
    "States.MathAdd",
    "States.StringSplit",
    "States.UUID",
];

/// Largest string States.Base64Encode / Base64Decode / Hash accept, in characters.
pub const MAX_STRING_CHARS: usize = 10_000;
/// Largest array States.ArrayRange produces.
pub const MAX_RANGE_ITEMS: usize = 1_000;

/// One argument.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// A string literal: its value, and the raw text between the quotes (States.Format reads escapes).
    Str {
        value: String,
        raw: String,
    },
    Number(Number),
    Bool(bool),
    Null,
    Path(Path),
    Call(Call),
}

/// A parsed call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub name: String,
    pub args: Vec<Arg>,
}

/// A syntax error in an intrinsic call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid intrinsic function '{text}': {reason}")]
pub struct IntrinsicSyntaxError {
    pub text: String,
    pub reason: String,
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    text: &'a str,
}

impl Parser<'_> {
    fn err(&self, reason: impl Into<String>) -> IntrinsicSyntaxError {
        IntrinsicSyntaxError {
            text: self.text.into(),
            reason: reason.into(),
        }
    }
    fn ws(&mut self) {
        while matches!(self.chars.get(self.pos), Some(c) if c.is_whitespace()) {
            self.pos += 1;
        }
    }
    fn call(&mut self, depth: usize) -> Result<Call, IntrinsicSyntaxError> {
        if depth > 10 {
            return Err(self.err("calls nested too deep"));
        }
        let start = self.pos;
        while matches!(self.chars.get(self.pos), Some(c) if c.is_ascii_alphanumeric() || *c == '.')
        {
            self.pos += 1;
        }
        let name: String = self.chars[start..self.pos].iter().collect();
        if !FUNCTIONS.contains(&name.as_str()) {
            return Err(self.err(format!("unknown function '{name}'")));
        }
        self.ws();
        if self.chars.get(self.pos) != Some(&'(') {
            return Err(self.err(format!("expected '(' after {name}")));
        }
        self.pos += 1;
        let mut args = Vec::new();
        self.ws();
        if self.chars.get(self.pos) == Some(&')') {
            self.pos += 1;
            return Ok(Call { name, args });
        }
        loop {
            self.ws();
            args.push(self.arg(depth)?);
            self.ws();
            match self.chars.get(self.pos) {
                Some(',') => self.pos += 1,
                Some(')') => {
                    self.pos += 1;
                    return Ok(Call { name, args });
                }
                _ => return Err(self.err(format!("expected ',' or ')' at position {}", self.pos))),
            }
        }
    }
    fn arg(&mut self, depth: usize) -> Result<Arg, IntrinsicSyntaxError> {
        match self.chars.get(self.pos) {
            Some('\'') => {
                self.pos += 1;
                let (mut value, mut raw) = (String::new(), String::new());
                loop {
                    match self.chars.get(self.pos) {
                        None => return Err(self.err("unterminated string literal")),
                        Some('\\') => {
                            let Some(&c) = self.chars.get(self.pos + 1) else {
                                return Err(self.err("unterminated string literal"));
                            };
                            if !matches!(c, '\'' | '{' | '}' | '\\') {
                                return Err(self.err(format!("invalid escape '\\{c}'")));
                            }
                            value.push(c);
                            raw.push('\\');
                            raw.push(c);
                            self.pos += 2;
                        }
                        Some('\'') => {
                            self.pos += 1;
                            return Ok(Arg::Str { value, raw });
                        }
                        Some(&c) => {
                            value.push(c);
                            raw.push(c);
                            self.pos += 1;
                        }
                    }
                }
            }
            Some('$') => {
                let start = self.pos;
                let (mut depth_b, mut quote) = (0i32, None::<char>);
                while let Some(&c) = self.chars.get(self.pos) {
                    match quote {
                        Some(q) if c == q => quote = None,
                        Some(_) => {}
                        None => match c {
                            '\'' | '"' => quote = Some(c),
                            '[' | '(' => depth_b += 1,
                            ']' => depth_b -= 1,
                            ')' if depth_b > 0 => depth_b -= 1,
                            ',' | ')' if depth_b == 0 => break,
                            c if c.is_whitespace() && depth_b == 0 => break,
                            _ => {}
                        },
                    }
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                Path::parse(&text)
                    .map(Arg::Path)
                    .map_err(|e| self.err(e.to_string()))
            }
            Some(c) if c.is_ascii_digit() || *c == '-' => {
                let start = self.pos;
                while matches!(self.chars.get(self.pos), Some(c) if c.is_ascii_alphanumeric() || "+-.".contains(*c))
                {
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                serde_json::from_str::<Number>(&text)
                    .map(Arg::Number)
                    .map_err(|_| self.err(format!("bad number '{text}'")))
            }
            Some(_) => {
                let rest: String = self.chars[self.pos..].iter().take(12).collect();
                for (word, arg) in [
                    ("true", Arg::Bool(true)),
                    ("false", Arg::Bool(false)),
                    ("null", Arg::Null),
                ] {
                    if rest.starts_with(word)
                        && !matches!(self.chars.get(self.pos + word.len()), Some(c) if c.is_ascii_alphanumeric())
                    {
                        self.pos += word.len();
                        return Ok(arg);
                    }
                }
                if rest.starts_with("States.") {
                    return self.call(depth + 1).map(Arg::Call);
                }
                Err(self.err(format!("unexpected argument at position {}", self.pos)))
            }
            None => Err(self.err("unexpected end")),
        }
    }
}

/// True if a `.$` value is an intrinsic call rather than a path.
pub fn is_intrinsic(text: &str) -> bool {
    text.trim_start().starts_with("States.")
}

/// Parses `States.Name(args)`; nothing may follow the closing parenthesis.
pub fn parse(text: &str) -> Result<Call, IntrinsicSyntaxError> {
    let mut p = Parser {
        chars: text.chars().collect(),
        pos: 0,
        text,
    };
    p.ws();
    let call = p.call(0)?;
    p.ws();
    if p.pos != p.chars.len() {
        return Err(p.err("unexpected text after the call"));
    }
    Ok(call)
}

fn fail(func: &str, msg: impl std::fmt::Display) -> StatesError {
    StatesError::IntrinsicFailure(format!("Invalid arguments in {func}: {msg}"))
}

fn int_arg(func: &str, v: &Value, what: &str) -> Result<i64, StatesError> {
    v.as_i64()
        .or_else(|| {
            v.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        })
        .ok_or_else(|| {
            fail(
                func,
                format!("{what} must be an integer, got {}", json_text(v)),
            )
        })
}

fn str_arg<'a>(func: &str, v: &'a Value, what: &str) -> Result<&'a str, StatesError> {
    v.as_str().ok_or_else(|| {
        fail(
            func,
            format!("{what} must be a string, got {}", json_text(v)),
        )
    })
}

fn arr_arg<'a>(func: &str, v: &'a Value, what: &str) -> Result<&'a Vec<Value>, StatesError> {
    v.as_array().ok_or_else(|| {
        fail(
            func,
            format!("{what} must be an array, got {}", json_text(v)),
        )
    })
}

fn arity(func: &str, args: &[Value], lo: usize, hi: usize) -> Result<(), StatesError> {
    if args.len() < lo || args.len() > hi {
        let want = if lo == hi {
            lo.to_string()
        } else {
            format!("{lo} to {hi}")
        };
        return Err(fail(
            func,
            format!("expected {want} arguments, got {}", args.len()),
        ));
    }
    Ok(())
}

/// JSON equality with numbers compared by value (1 == 1.0), as AWS compares array members.
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// Evaluates a call against the effective input (`$`) and the context object (`$$`).
pub fn evaluate(
    call: &Call,
    input: &Value,
    context: &Value,
    entropy: &mut Entropy,
) -> Result<Value, StatesError> {
    let f = call.name.as_str();
    if f == "States.Format" {
        return format(call, input, context, entropy);
    }
    let mut args = Vec::with_capacity(call.args.len());
    for a in &call.args {
        args.push(arg_value(f, a, input, context, entropy)?);
    }
    match f {
        "States.StringToJson" => {
            arity(f, &args, 1, 1)?;
            let s = str_arg(f, &args[0], "the argument")?;
            serde_json::from_str(s).map_err(|_| fail(f, format!("'{s}' is not valid JSON")))
        }
        "States.JsonToString" => {
            arity(f, &args, 1, 1)?;
            Ok(Value::String(json_text(&args[0])))
        }
        "States.Array" => Ok(Value::Array(args)),
        "States.ArrayPartition" => {
            arity(f, &args, 2, 2)?;
            let arr = arr_arg(f, &args[0], "the first argument")?;
            let size = int_arg(f, &args[1], "the chunk size")?;
            if size <= 0 {
                return Err(fail(f, "the chunk size must be greater than 0"));
            }
            Ok(Value::Array(
                arr.chunks(size as usize)
                    .map(|c| Value::Array(c.to_vec()))
                    .collect(),
            ))
        }
        "States.ArrayContains" => {
            arity(f, &args, 2, 2)?;
            let arr = arr_arg(f, &args[0], "the first argument")?;
            Ok(Value::Bool(arr.iter().any(|v| json_eq(v, &args[1]))))
        }
        "States.ArrayRange" => {
            arity(f, &args, 3, 3)?;
            let (start, end, step) = (
                int_arg(f, &args[0], "start")?,
                int_arg(f, &args[1], "end")?,
                int_arg(f, &args[2], "step")?,
            );
            if step == 0 {
                return Err(fail(f, "the step must not be 0"));
            }
            let mut out = Vec::new();
            let mut i = start;
            while (step > 0 && i <= end) || (step < 0 && i >= end) {
                if out.len() == MAX_RANGE_ITEMS {
                    return Err(fail(
                        f,
                        format!("the range has more than {MAX_RANGE_ITEMS} items"),
                    ));
                }
                out.push(Value::from(i));
                i = match i.checked_add(step) {
                    Some(n) => n,
                    None => break,
                };
            }
            Ok(Value::Array(out))
        }
        "States.ArrayGetItem" => {
            arity(f, &args, 2, 2)?;
            let arr = arr_arg(f, &args[0], "the first argument")?;
            let idx = int_arg(f, &args[1], "the index")?;
            usize::try_from(idx)
                .ok()
                .and_then(|i| arr.get(i))
                .cloned()
                .ok_or_else(|| {
                    fail(
                        f,
                        format!("index {idx} is out of bounds for an array of {}", arr.len()),
                    )
                })
        }
        "States.ArrayLength" => {
            arity(f, &args, 1, 1)?;
            Ok(Value::from(arr_arg(f, &args[0], "the argument")?.len()))
        }
        "States.ArrayUnique" => {
            arity(f, &args, 1, 1)?;
            let mut out: Vec<Value> = Vec::new();
            for v in arr_arg(f, &args[0], "the argument")? {
                if !out.iter().any(|o| json_eq(o, v)) {
                    out.push(v.clone());
                }
            }
            Ok(Value::Array(out))
        }
        "States.Base64Encode" => {
            arity(f, &args, 1, 1)?;
            let s = limited(f, &args[0])?;
            Ok(Value::String(
                base64::engine::general_purpose::STANDARD.encode(s.as_bytes()),
            ))
        }
        "States.Base64Decode" => {
            arity(f, &args, 1, 1)?;
            let s = limited(f, &args[0])?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(s.as_bytes())
                .map_err(|_| fail(f, "the argument is not valid Base64"))?;
            String::from_utf8(bytes)
                .map(Value::String)
                .map_err(|_| fail(f, "the decoded data is not UTF-8 text"))
        }
        "States.Hash" => {
            arity(f, &args, 2, 2)?;
            let data = match &args[0] {
                Value::String(s) => s.clone(),
                other => json_text(other),
            };
            if data.chars().count() > MAX_STRING_CHARS {
                return Err(fail(
                    f,
                    format!("the data exceeds {MAX_STRING_CHARS} characters"),
                ));
            }
            let algo = str_arg(f, &args[1], "the algorithm")?;
            Ok(Value::String(hash(algo, data.as_bytes()).ok_or_else(|| {
                fail(f, format!("unsupported algorithm '{algo}' (MD5, SHA-1, SHA-256, SHA-384, SHA-512)"))
            })?))
        }
        "States.JsonMerge" => {
            arity(f, &args, 3, 3)?;
            let (Value::Object(a), Value::Object(b)) = (&args[0], &args[1]) else {
                return Err(fail(f, "the first two arguments must be JSON objects"));
            };
            if args[2] != Value::Bool(false) {
                return Err(fail(f, "only a shallow merge (false) is supported"));
            }
            let mut out: Map<String, Value> = a.clone();
            for (k, v) in b {
                out.insert(k.clone(), v.clone());
            }
            Ok(Value::Object(out))
        }
        "States.MathRandom" => {
            arity(f, &args, 2, 3)?;
            let (start, end) = (int_arg(f, &args[0], "start")?, int_arg(f, &args[1], "end")?);
            if end <= start {
                return Err(fail(f, "the end must be greater than the start"));
            }
            let unit = match args.get(2) {
                Some(seed) => {
                    let s = int_arg(f, seed, "the seed")?;
                    (mix(s as u64) >> 11) as f64 / (1u64 << 53) as f64
                }
                None => entropy.unit(),
            };
            // i128: `end - start` may not fit an i64.
            let span = end as i128 - start as i128;
            let offset = ((unit * span as f64) as i128).clamp(0, span - 1);
            Ok(Value::from((start as i128 + offset) as i64))
        }
        "States.MathAdd" => {
            arity(f, &args, 2, 2)?;
            let (a, b) = (
                int_arg(f, &args[0], "the first number")?,
                int_arg(f, &args[1], "the second number")?,
            );
            let range = i32::MIN as i64..=i32::MAX as i64;
            if !range.contains(&a) || !range.contains(&b) {
                return Err(fail(
                    f,
                    "the numbers must be between -2147483648 and 2147483647",
                ));
            }
            Ok(Value::from(a + b))
        }
        "States.StringSplit" => {
            arity(f, &args, 2, 2)?;
            let s = str_arg(f, &args[0], "the string")?;
            let delims: Vec<char> = str_arg(f, &args[1], "the delimiter")?.chars().collect();
            Ok(Value::Array(
                s.split(|c| delims.contains(&c))
                    .filter(|p| !p.is_empty())
                    .map(|p| Value::String(p.into()))
                    .collect(),
            ))
        }
        "States.UUID" => {
            arity(f, &args, 0, 0)?;
            Ok(Value::String(entropy.uuid()))
        }
        other => Err(StatesError::IntrinsicFailure(format!(
            "Unknown intrinsic function {other}"
        ))),
    }
}

fn limited<'a>(f: &str, v: &'a Value) -> Result<&'a str, StatesError> {
    let s = str_arg(f, v, "the argument")?;
    if s.chars().count() > MAX_STRING_CHARS {
        return Err(fail(
            f,
            format!("the argument exceeds {MAX_STRING_CHARS} characters"),
        ));
    }
    Ok(s)
}

pub(crate) fn hash(algo: &str, data: &[u8]) -> Option<String> {
    use sha2::Digest;
    let bytes: Vec<u8> = match algo {
        "MD5" => md5::Md5::digest(data).to_vec(),
        "SHA-1" => sha1::Sha1::digest(data).to_vec(),
        "SHA-256" => sha2::Sha256::digest(data).to_vec(),
        "SHA-384" => sha2::Sha384::digest(data).to_vec(),
        "SHA-512" => sha2::Sha512::digest(data).to_vec(),
        _ => return None,
    };
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn arg_value(
    f: &str,
    a: &Arg,
    input: &Value,
    context: &Value,
    entropy: &mut Entropy,
) -> Result<Value, StatesError> {
    Ok(match a {
        Arg::Str { value, .. } => Value::String(value.clone()),
        Arg::Number(n) => Value::Number(n.clone()),
        Arg::Bool(b) => Value::Bool(*b),
        Arg::Null => Value::Null,
        Arg::Call(c) => evaluate(c, input, context, entropy)?,
        Arg::Path(p) => p.query(input, context).ok_or_else(|| {
            StatesError::IntrinsicFailure(format!(
                "The JsonPath argument '{}' for {f} could not be found in the input '{}'",
                p.text,
                json_text(if p.context { context } else { input })
            ))
        })?,
    })
}

fn format(
    call: &Call,
    input: &Value,
    context: &Value,
    entropy: &mut Entropy,
) -> Result<Value, StatesError> {
    let f = "States.Format";
    let Some(Arg::Str { raw, .. }) = call.args.first() else {
        return Err(fail(
            f,
            "the first argument must be a string literal template",
        ));
    };
    let mut values = Vec::new();
    for a in &call.args[1..] {
        let v = arg_value(f, a, input, context, entropy)?;
        values.push(match v {
            Value::String(s) => s,
            Value::Number(_) | Value::Bool(_) | Value::Null => json_text(&v),
            other => {
                return Err(fail(
                    f,
                    format!(
                        "a value to format must not be an object or array: {}",
                        json_text(&other)
                    ),
                ))
            }
        });
    }
    let mut out = String::new();
    let mut next = values.into_iter();
    let mut used = 0usize;
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                used += 1;
                out.push_str(&next.next().ok_or_else(|| {
                    fail(
                        f,
                        format!(
                            "the template has more placeholders than the {} values given",
                            call.args.len() - 1
                        ),
                    )
                })?);
            }
            '{' | '}' => return Err(fail(f, "an unescaped '{' or '}' in the template")),
            c => out.push(c),
        }
    }
    if next.next().is_some() {
        return Err(fail(
            f,
            format!(
                "the template has {used} placeholders but {} values were given",
                call.args.len() - 1
            ),
        ));
    }
    Ok(Value::String(out))
}

#[cfg(test)]
#[path = "intrinsics_test.rs"]
mod intrinsics_test;
