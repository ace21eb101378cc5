//! Choice rules: every comparison operator (String / Numeric / Boolean / Timestamp, with their `...Path`
//! forms), `StringMatches`, the type tests `IsNull` / `IsPresent` / `IsNumeric` / `IsString` /
//! `IsBoolean` / `IsTimestamp`, and `And` / `Or` / `Not`; and picking the next state.

use crate::error::{json_text, StatesError};
use crate::path::Path;
use crate::wait::parse_timestamp;
use serde_json::Value;
use std::cmp::Ordering;

/// The value type a comparison works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

/// The comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Equals,
    LessThan,
    GreaterThan,
    LessThanEquals,
    GreaterThanEquals,
}

/// The type tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Test {
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

/// What a comparison compares the variable with.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Value(Value),
    /// The `...Path` forms.
    Path(Path),
}

/// A Boolean expression of a Choice rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Compare {
        variable: Path,
        kind: Kind,
        cmp: Cmp,
        operand: Operand,
    },
    /// `StringMatches` with its pattern (`*` any run of characters, `\*` and `\\` literal).
    Matches {
        variable: Path,
        pattern: String,
    },
    Test {
        variable: Path,
        test: Test,
        expected: bool,
    },
    /// A JSONata `Condition` (the whole field value, `{% ... %}` or a boolean), evaluated by `jsonata`.
    Condition(Value),
}

/// A top-level rule and where it leads.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub rule: Rule,
    pub next: String,
    /// Variables the rule sets when it matches.
    pub assign: Option<Value>,
    /// JSONata: the state's output when this rule matches.
    pub output: Option<Value>,
}

/// The comparison operator names, with what they mean (the `...Path` form is the name plus `Path`).
pub const COMPARISONS: [(&str, Kind, Cmp); 17] = [
    ("StringEquals", Kind::String, Cmp::Equals),
    ("StringLessThan", Kind::String, Cmp::LessThan),
    ("StringGreaterThan", Kind::String, Cmp::GreaterThan),
    ("StringLessThanEquals", Kind::String, Cmp::LessThanEquals),
    (
        "StringGreaterThanEquals",
        Kind::String,
        Cmp::GreaterThanEquals,
    ),
    ("NumericEquals", Kind::Numeric, Cmp::Equals),
    ("NumericLessThan", Kind::Numeric, Cmp::LessThan),
    ("NumericGreaterThan", Kind::Numeric, Cmp::GreaterThan),
    ("NumericLessThanEquals", Kind::Numeric, Cmp::LessThanEquals),
    (
        "NumericGreaterThanEquals",
        Kind::Numeric,
        Cmp::GreaterThanEquals,
    ),
    ("BooleanEquals", Kind::Boolean, Cmp::Equals),
    ("TimestampEquals", Kind::Timestamp, Cmp::Equals),
    ("TimestampLessThan", Kind::Timestamp, Cmp::LessThan),
    ("TimestampGreaterThan", Kind::Timestamp, Cmp::GreaterThan),
    (
        "TimestampLessThanEquals",
        Kind::Timestamp,
        Cmp::LessThanEquals,
    ),
    (
        "TimestampGreaterThanEquals",
        Kind::Timestamp,
        Cmp::GreaterThanEquals,
    ),
    // Listed for lookup only; StringMatches has its own Rule variant.
    ("StringMatches", Kind::String, Cmp::Equals),
];

/// The type tests by name.
pub const TESTS: [(&str, Test); 6] = [
    ("IsNull", Test::IsNull),
    ("IsPresent", Test::IsPresent),
    ("IsNumeric", Test::IsNumeric),
    ("IsString", Test::IsString),
    ("IsBoolean", Test::IsBoolean),
    ("IsTimestamp", Test::IsTimestamp),
];

fn missing(p: &Path) -> StatesError {
    StatesError::Runtime(format!(
        "Invalid path '{}': The choice state's condition path references an invalid value.",
        p.text
    ))
}

/// Java's `String.compareTo` order (UTF-16 code units), which AWS's comparisons follow.
fn utf16_cmp(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// `StringMatches`: `*` matches any run of characters; `\*` a literal star, `\\` a literal backslash.
pub fn string_matches(text: &str, pattern: &str) -> bool {
    // Tokens: Some(c) a literal character, None a wildcard.
    let mut toks = Vec::new();
    let mut it = pattern.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => toks.push(Some(it.next().unwrap_or('\\'))),
            '*' => toks.push(None),
            c => toks.push(Some(c)),
        }
    }
    let t: Vec<char> = text.chars().collect();
    // Greedy matching with backtracking to the last star: linear-ish, no recursion.
    let (mut ti, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match toks.get(pi) {
            Some(Some(c)) if *c == t[ti] => {
                ti += 1;
                pi += 1;
            }
            Some(None) => {
                star = Some((pi, ti));
                pi += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    toks[pi..].iter().all(Option::is_none)
}

fn compare(kind: Kind, a: &Value, b: &Value) -> Option<Ordering> {
    match kind {
        Kind::String => Some(utf16_cmp(a.as_str()?, b.as_str()?)),
        Kind::Numeric => a.as_f64()?.partial_cmp(&b.as_f64()?),
        Kind::Boolean => (a.as_bool()? == b.as_bool()?)
            .then_some(Ordering::Equal)
            .or(Some(Ordering::Less)),
        Kind::Timestamp => Some(parse_timestamp(a.as_str()?)?.cmp(&parse_timestamp(b.as_str()?)?)),
    }
}

/// Evaluates a rule against the state's effective input and the context object.
pub fn evaluate(rule: &Rule, input: &Value, context: &Value) -> Result<bool, StatesError> {
    Ok(match rule {
        Rule::And(rules) => {
            for r in rules {
                if !evaluate(r, input, context)? {
                    return Ok(false);
                }
            }
            true
        }
        Rule::Or(rules) => {
            for r in rules {
                if evaluate(r, input, context)? {
                    return Ok(true);
                }
            }
            false
        }
        Rule::Not(r) => !evaluate(r, input, context)?,
        Rule::Test {
            variable,
            test,
            expected,
        } => {
            let v = variable.query(input, context);
            let result = match (test, &v) {
                (Test::IsPresent, v) => v.is_some(),
                (_, None) => return Err(missing(variable)),
                (Test::IsNull, Some(v)) => v.is_null(),
                (Test::IsNumeric, Some(v)) => v.is_number(),
                (Test::IsString, Some(v)) => v.is_string(),
                (Test::IsBoolean, Some(v)) => v.is_boolean(),
                (Test::IsTimestamp, Some(v)) => v.as_str().and_then(parse_timestamp).is_some(),
            };
            result == *expected
        }
        Rule::Matches { variable, pattern } => {
            let v = variable
                .query(input, context)
                .ok_or_else(|| missing(variable))?;
            v.as_str().is_some_and(|s| string_matches(s, pattern))
        }
        Rule::Condition(_) => {
            return Err(StatesError::Runtime(
                "A JSONata Condition is evaluated in a JSONata state only".into(),
            ))
        }
        Rule::Compare {
            variable,
            kind,
            cmp,
            operand,
        } => {
            let v = variable
                .query(input, context)
                .ok_or_else(|| missing(variable))?;
            let other = match operand {
                Operand::Value(x) => x.clone(),
                Operand::Path(p) => p.query(input, context).ok_or_else(|| missing(p))?,
            };
            match compare(*kind, &v, &other) {
                None => false,
                Some(o) => match cmp {
                    Cmp::Equals => o.is_eq(),
                    Cmp::LessThan => o.is_lt(),
                    Cmp::GreaterThan => o.is_gt(),
                    Cmp::LessThanEquals => o.is_le(),
                    Cmp::GreaterThanEquals => o.is_ge(),
                },
            }
        }
    })
}

/// The next state of a Choice state: the first matching rule's `Next`, else `Default`, else
/// `States.NoChoiceMatched`.
pub fn choose<'a>(
    choices: &'a [Choice],
    default: Option<&'a str>,
    input: &Value,
    context: &Value,
) -> Result<&'a str, StatesError> {
    if let Some(i) = choose_index(choices, input, context)? {
        return Ok(&choices[i].next);
    }
    default.ok_or_else(|| no_choice_matched(input))
}

/// The index of the first rule that matches, if any.
pub fn choose_index(
    choices: &[Choice],
    input: &Value,
    context: &Value,
) -> Result<Option<usize>, StatesError> {
    for (i, c) in choices.iter().enumerate() {
        if evaluate(&c.rule, input, context)? {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

/// `States.NoChoiceMatched` for `input`.
pub fn no_choice_matched(input: &Value) -> StatesError {
    StatesError::NoChoiceMatched(format!(
        "No Choice Rules matched the input '{}' and no Default was given.",
        json_text(input)
    ))
}

#[cfg(test)]
#[path = "choice_test.rs"]
mod choice_test;
