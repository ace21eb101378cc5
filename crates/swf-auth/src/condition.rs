//! The `Condition` block of a statement: operator → condition key → values. Every operator of a block
//! must hold, every key of an operator must hold, and a key holds when any of its values matches
//! (for the negated operators: when none does). Operators: `StringEquals`, `StringNotEquals`,
//! `StringEqualsIgnoreCase`, `StringNotEqualsIgnoreCase`, `StringLike`, `StringNotLike`, each also
//! with `IfExists` (true when the key is absent), and `Null` (`"true"`: the key is absent). A key
//! absent from the request makes a positive operator false and a negated one true, as IAM does.
//! Condition key names are case-insensitive.

use serde_json::Value;

use crate::wildcard::matches;

/// The condition keys of one request (names in lower case).
pub trait Context {
    fn get(&self, key: &str) -> Option<&str>;
}

/// A request's condition keys as a list (names in lower case).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Keys(pub Vec<(String, String)>);

impl Keys {
    /// Adds `key` (any case) = `value`.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.0.push((key.to_ascii_lowercase(), value.into()));
    }
}

impl Context for Keys {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Equals,
    EqualsIgnoreCase,
    Like,
    Null,
}

/// One operator applied to one key.
#[derive(Debug, Clone)]
pub struct Condition {
    op: Op,
    negated: bool,
    if_exists: bool,
    key: String,
    values: Vec<String>,
}

fn value_strings(v: &Value) -> Result<Vec<String>, String> {
    let one = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err("condition values must be strings".to_string()),
    };
    match v {
        Value::Array(items) => items.iter().map(one).collect(),
        v => Ok(vec![one(v)?]),
    }
}

impl Condition {
    /// Parses a statement's `Condition` object.
    pub fn parse_block(block: &Value) -> Result<Vec<Condition>, String> {
        let Value::Object(ops) = block else {
            return Err("Condition must be an object".into());
        };
        let mut out = Vec::new();
        for (name, keys) in ops {
            let (base, if_exists) = match name.strip_suffix("IfExists") {
                Some(b) => (b, true),
                None => (name.as_str(), false),
            };
            let (op, negated) = match base {
                "StringEquals" => (Op::Equals, false),
                "StringNotEquals" => (Op::Equals, true),
                "StringEqualsIgnoreCase" => (Op::EqualsIgnoreCase, false),
                "StringNotEqualsIgnoreCase" => (Op::EqualsIgnoreCase, true),
                "StringLike" => (Op::Like, false),
                "StringNotLike" => (Op::Like, true),
                "Null" if !if_exists => (Op::Null, false),
                _ => return Err(format!("unsupported condition operator {name}")),
            };
            let Value::Object(keys) = keys else {
                return Err(format!("{name} must map condition keys to values"));
            };
            for (key, values) in keys {
                let values = value_strings(values)?;
                if op == Op::Null && values.iter().any(|v| v != "true" && v != "false") {
                    return Err("Null takes \"true\" or \"false\"".into());
                }
                out.push(Condition {
                    op,
                    negated,
                    if_exists,
                    key: key.to_ascii_lowercase(),
                    values,
                });
            }
        }
        Ok(out)
    }

    /// Whether this condition holds for the request.
    pub fn holds(&self, ctx: &dyn Context) -> bool {
        let value = ctx.get(&self.key);
        if self.op == Op::Null {
            return self.values.iter().any(|v| (v == "true") == value.is_none());
        }
        let Some(value) = value else {
            return self.if_exists || self.negated;
        };
        let any = self.values.iter().any(|want| match self.op {
            Op::Equals => want == value,
            Op::EqualsIgnoreCase => want.to_lowercase() == value.to_lowercase(),
            Op::Like => matches(want, value, false),
            Op::Null => false,
        });
        any != self.negated
    }
}
