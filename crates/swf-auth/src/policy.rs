//! IAM policy documents as IAM writes them — `Version`, `Statement` (one or a list), each with
//! `Sid`, `Effect`, `Action` / `NotAction`, `Resource` / `NotResource` and `Condition` — parsed once
//! into a compiled form, and evaluated as IAM does: an explicit Deny beats any Allow, an Allow beats
//! the implicit deny. Actions match case-insensitively, resources case-sensitively, both with `*` and
//! `?` wildcards.

use serde_json::Value;

use crate::condition::{Condition, Context};
use crate::wildcard::matches;

/// The outcome of evaluating policies for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// A statement denies it.
    ExplicitDeny,
    /// No statement allows it.
    ImplicitDeny,
}

impl Decision {
    pub fn allowed(self) -> bool {
        self == Decision::Allow
    }
}

#[derive(Debug, Clone)]
enum Names {
    /// `Action` / `Resource`.
    Of(Vec<String>),
    /// `NotAction` / `NotResource`.
    NotOf(Vec<String>),
}

impl Names {
    fn matches(&self, value: &str, fold_case: bool) -> bool {
        let hit = |list: &Vec<String>| list.iter().any(|p| matches(p, value, fold_case));
        match self {
            Names::Of(list) => hit(list),
            Names::NotOf(list) => !hit(list),
        }
    }
}

#[derive(Debug, Clone)]
struct Statement {
    allow: bool,
    actions: Names,
    resources: Names,
    conditions: Vec<Condition>,
}

/// A compiled policy document.
#[derive(Debug, Clone)]
pub struct Policy {
    statements: Vec<Statement>,
}

/// One value or a list of them, as strings.
fn strings(v: &Value, what: &str) -> Result<Vec<String>, String> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("{what} must be a string or a list of strings"))
            })
            .collect(),
        _ => Err(format!("{what} must be a string or a list of strings")),
    }
}

fn names(s: &serde_json::Map<String, Value>, of: &str, not_of: &str) -> Result<Names, String> {
    match (s.get(of), s.get(not_of)) {
        (Some(v), None) => Ok(Names::Of(strings(v, of)?)),
        (None, Some(v)) => Ok(Names::NotOf(strings(v, not_of)?)),
        (Some(_), Some(_)) => Err(format!("a statement has both {of} and {not_of}")),
        (None, None) => Err(format!("a statement needs {of} or {not_of}")),
    }
}

impl Policy {
    /// Parses a policy document (JSON text).
    pub fn parse(text: &str) -> Result<Policy, String> {
        let doc: Value =
            serde_json::from_str(text).map_err(|e| format!("policy is not JSON: {e}"))?;
        let Value::Object(doc) = doc else {
            return Err("policy must be a JSON object".into());
        };
        for key in doc.keys() {
            if !matches!(key.as_str(), "Version" | "Id" | "Statement") {
                return Err(format!("unknown policy element {key}"));
            }
        }
        if let Some(v) = doc.get("Version") {
            if !matches!(v.as_str(), Some("2012-10-17" | "2008-10-17")) {
                return Err("Version must be 2012-10-17 or 2008-10-17".into());
            }
        }
        let list = match doc.get("Statement") {
            Some(Value::Array(l)) => l.clone(),
            Some(v @ Value::Object(_)) => vec![v.clone()],
            _ => return Err("policy needs a Statement (an object or a list)".into()),
        };
        let mut statements = Vec::with_capacity(list.len());
        for s in &list {
            let Value::Object(s) = s else {
                return Err("a statement must be an object".into());
            };
            for key in s.keys() {
                if !matches!(
                    key.as_str(),
                    "Sid"
                        | "Effect"
                        | "Action"
                        | "NotAction"
                        | "Resource"
                        | "NotResource"
                        | "Condition"
                ) {
                    return Err(format!(
                        "unknown statement element {key} (identity policies have no Principal)"
                    ));
                }
            }
            let allow = match s.get("Effect").and_then(Value::as_str) {
                Some("Allow") => true,
                Some("Deny") => false,
                _ => return Err("Effect must be Allow or Deny".into()),
            };
            let conditions = match s.get("Condition") {
                None => Vec::new(),
                Some(c) => Condition::parse_block(c)?,
            };
            statements.push(Statement {
                allow,
                actions: names(s, "Action", "NotAction")?,
                resources: names(s, "Resource", "NotResource")?,
                conditions,
            });
        }
        Ok(Policy { statements })
    }

    /// Evaluates this policy alone.
    pub fn evaluate(&self, action: &str, resource: &str, ctx: &dyn Context) -> Decision {
        evaluate(std::slice::from_ref(self), action, resource, ctx)
    }
}

/// Evaluates a principal's policies together: any matching Deny wins, else any matching Allow.
pub fn evaluate(policies: &[Policy], action: &str, resource: &str, ctx: &dyn Context) -> Decision {
    let mut allowed = false;
    for s in policies.iter().flat_map(|p| &p.statements) {
        if !s.actions.matches(action, true) || !s.resources.matches(resource, false) {
            continue;
        }
        if !s.conditions.iter().all(|c| c.holds(ctx)) {
            continue;
        }
        if !s.allow {
            return Decision::ExplicitDeny;
        }
        allowed = true;
    }
    if allowed {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    }
}
