//! The JSONata query language of Step Functions: `{% ... %}` strings in a JSONata state's fields
//! (`Arguments`, `Output`, `Assign`, `Condition`, `Items`, `ItemSelector`, `TimeoutSeconds`,
//! `HeartbeatSeconds`, `MaxConcurrency`, Wait `Seconds` / `Timestamp`, Fail `Error` / `Cause`, a
//! catcher's `Output` / `Assign`), evaluated with the `jsonata-rs` crate and `$states` bound to
//! `{input, result, errorOutput, context}` as AWS documents ("Transforming data with JSONata").
//!
//! Determinism: `$now()`, `$millis()`, `$random()` and `$uuid()` are rebound (the user expression is
//! evaluated inside a block that shadows them) to functions reading the leader-stamped time and the
//! execution's [`Entropy`], never the clock or the OS. AWS's own functions `$partition`, `$range`,
//! `$hash`, `$random([seed])`, `$uuid` and `$parse` are provided the same way. Objects built by an
//! expression come back with their keys sorted (the crate keeps objects in a hash map whose order is
//! not stable across processes; sorting keeps every replica identical), whereas AWS keeps insertion
//! order; JSON written around the expressions keeps its order. The crate recurses on the machine
//! stack, so expressions are parsed and evaluated on a thread of their own with a large stack, their
//! bracket nesting, evaluation depth and result nesting are bounded, and a panic inside the crate is
//! caught and reported as `States.QueryEvaluationError`.
//!
//! Errors are `States.QueryEvaluationError` with AWS's causes (recorded against AWS in localstack's
//! `tests/aws/services/stepfunctions/v2/assign` snapshots), e.g. `The JSONata expression
//! '$doesNotExist' specified for the field 'Assign/result' returned nothing (undefined).`

use crate::entropy::Entropy;
use crate::error::StatesError;
use crate::jsonata_functions::{register, to_jvalue, with_stamp, Stamped, PRELUDE};
use crate::variables::{self, Assigned};
use bumpalo::Bump;
use jsonata_rs::{JsonAta, Value as JValue};
use serde_json::{Map, Number, Value};

pub use crate::jsonata_states::*;

/// The expression fields of a JSONata state (the fixed fields stay in the typed model).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JsonataFields {
    pub arguments: Option<Value>,
    pub output: Option<Value>,
    /// Map: the items (an array, or an expression giving one).
    pub items: Option<Value>,
    pub item_selector: Option<Value>,
    pub timeout_seconds: Option<Value>,
    pub heartbeat_seconds: Option<Value>,
    pub max_concurrency: Option<Value>,
    /// Wait: `Seconds` / `Timestamp` given as expressions.
    pub seconds: Option<Value>,
    pub timestamp: Option<Value>,
    /// Fail: `Error` / `Cause` given as expressions.
    pub error: Option<Value>,
    pub cause: Option<Value>,
}

/// How deep an evaluation may recurse (the crate's count of nested evaluations; a recursive JSONata
/// function uses 3 to 5 per call).
const MAX_DEPTH: usize = 5_000;
/// The stack of the thread an expression is parsed and evaluated on. The crate recurses on the
/// machine stack (about 8 KiB per level in a debug build): 128 MiB holds `MAX_DEPTH` three times
/// over. Only the pages touched are ever committed.
const EVAL_STACK_BYTES: usize = 128 << 20;
/// Most memory one evaluation may use for its values.
const MAX_ARENA_BYTES: usize = 64 << 20;
/// Deepest nesting of arrays and objects an expression's result may have (stored executions are read
/// back with serde_json, whose limit is 128 levels in all).
const MAX_RESULT_NESTING: usize = 64;

/// Runs `f` on a thread with a stack large enough for the crate's recursion, and waits for it. A
/// thread that cannot be started stops the node (evaluating inline instead could overflow, and
/// failing the state would make this replica differ from the others).
fn on_big_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("jsonata".into())
            .stack_size(EVAL_STACK_BYTES)
            .spawn_scoped(scope, f)
            .expect("starting the JSONata evaluation thread");
        match handle.join() {
            Ok(v) => v,
            Err(p) => std::panic::resume_unwind(p),
        }
    })
}

/// The expression inside a `{% ... %}` string.
pub fn expression(s: &str) -> Option<&str> {
    s.trim()
        .strip_prefix("{%")
        .and_then(|r| r.strip_suffix("%}"))
        .map(str::trim)
}

/// Whether a string is an expression.
pub fn is_expression(v: &Value) -> bool {
    v.as_str().and_then(expression).is_some()
}

/// Deepest nesting of brackets an expression may have (the parser recurses once per level).
const MAX_NESTING: usize = 100;
/// Longest expression, in bytes.
const MAX_EXPRESSION_BYTES: usize = 65_536;

/// How deeply `(`, `[` and `{` nest outside string literals.
fn nesting(expr: &str) -> usize {
    let (mut depth, mut max, mut quote) = (0usize, 0usize, None::<char>);
    let mut chars = expr.chars();
    while let Some(c) = chars.next() {
        match quote {
            Some(_) if c == '\\' => {
                chars.next();
            }
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' | '`' => quote = Some(c),
                '(' | '[' | '{' => {
                    depth += 1;
                    max = max.max(depth);
                }
                ')' | ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
    }
    max
}

/// A syntax problem in an expression, for the create-time checks.
pub fn syntax_problem(expr: &str) -> Option<String> {
    if expr.len() > MAX_EXPRESSION_BYTES {
        return Some(format!(
            "the expression is longer than {MAX_EXPRESSION_BYTES} bytes"
        ));
    }
    if nesting(expr) > MAX_NESTING {
        return Some(format!(
            "the expression nests brackets deeper than {MAX_NESTING} levels"
        ));
    }
    on_big_stack(|| parse_problem(expr))
}

/// The crate's verdict on an expression's syntax (on the caller's stack).
fn parse_problem(expr: &str) -> Option<String> {
    let arena = Bump::new();
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        JsonAta::new(expr, &arena).map(|_| ())
    })) {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some("the expression could not be parsed".into()),
    }
}

/// What `$states` holds while a field is evaluated.
pub struct Env<'a> {
    pub input: &'a Value,
    pub result: Option<&'a Value>,
    pub error_output: Option<&'a Value>,
    /// The context value (carrying the variables; see `variables`).
    pub context: &'a Value,
}

pub(crate) fn failure(location: &str, cause: String) -> StatesError {
    StatesError::QueryEvaluation {
        location: location.to_string(),
        cause,
    }
}

/// Evaluates one expression; `Ok(None)` when it gives nothing (undefined).
pub fn evaluate_expression(
    expr: &str,
    env: &Env,
    entropy: &mut Entropy,
) -> Result<Option<Value>, String> {
    evaluate_on(expr, env, None, entropy)
}

/// Evaluates `expr` as a JSONata state would (the prelude with AWS's functions, `bindings` as
/// variables, time `now_ms`), with `input` as `$` (which Step Functions leaves undefined): what the
/// JSONata test-suite runner (`tests/jsonata_suite.rs`) measures.
#[doc(hidden)]
pub fn evaluate_standalone(
    expr: &str,
    input: Option<&Value>,
    bindings: &Map<String, Value>,
    now_ms: i64,
) -> Result<Option<Value>, String> {
    let context = variables::with_variables(Value::Object(Map::new()), bindings, now_ms);
    let env = Env {
        input: &Value::Null,
        result: None,
        error_output: None,
        context: &context,
    };
    evaluate_on(expr, &env, input, &mut Entropy::new(0))
}

fn evaluate_on(
    expr: &str,
    env: &Env,
    dollar: Option<&Value>,
    entropy: &mut Entropy,
) -> Result<Option<Value>, String> {
    if expr.len() > MAX_EXPRESSION_BYTES || nesting(expr) > MAX_NESTING {
        return Err(syntax_problem(expr).unwrap_or_default());
    }
    let now_ms = env
        .context
        .get(variables::NOW_KEY)
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let stamped = Stamped {
        now_ms,
        entropy: entropy.clone(),
    };
    let (out, drawn) = on_big_stack(move || {
        if let Some(p) = parse_problem(expr) {
            return (Err(p), None);
        }
        let (out, drawn) = with_stamp(stamped, || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(expr, env, dollar)))
        });
        let out = match out {
            Ok(r) => r,
            Err(_) => Err(format!(
                "the evaluation failed (it may have used more than {} MiB)",
                MAX_ARENA_BYTES >> 20
            )),
        };
        (out, drawn)
    });
    if let Some(e) = drawn {
        *entropy = e;
    }
    out
}

fn run(expr: &str, env: &Env, dollar: Option<&Value>) -> Result<Option<Value>, String> {
    let arena = Bump::new();
    // The arena holds every value an evaluation makes; its limit is the evaluation's fuel (a loop
    // by tail calls never deepens the stack, but allocates each round). Past it the crate's
    // allocation panics, which is caught: deterministic, unlike a time limit.
    arena.set_allocation_limit(Some(MAX_ARENA_BYTES));
    let vars = variables::visible(env.context).cloned().unwrap_or_default();
    let mut states = Map::new();
    states.insert("input".into(), env.input.clone());
    if let Some(r) = env.result {
        states.insert("result".into(), r.clone());
    }
    if let Some(e) = env.error_output {
        states.insert("errorOutput".into(), e.clone());
    }
    states.insert("context".into(), variables::without_variables(env.context));
    // The user expression runs in a block that binds `$states`, the variables and the functions
    // Step Functions defines, shadowing the crate's own `$now` / `$millis` / `$random` / `$uuid`.
    let mut prelude = String::from(PRELUDE);
    for name in vars.keys() {
        if variables::name_problem(name).is_none() {
            prelude.push_str(&format!("${name} := $__sfn_vars.`{name}`; "));
        }
    }
    let wrapped = format!("{prelude}({expr}\n))");
    // Positions in the crate's messages count from the start of the wrapped text.
    let offset = prelude.chars().count() + 1;
    let message = |e: jsonata_rs::Error| shift_position(&e.to_string(), offset);
    let j = JsonAta::new(&wrapped, &arena).map_err(message)?;
    j.assign_var("__sfn_states", to_jvalue(&arena, &Value::Object(states)));
    j.assign_var("__sfn_vars", to_jvalue(&arena, &Value::Object(vars)));
    register(&j);
    let input_text = dollar.map(|d| serde_json::to_string(d).unwrap_or_default());
    let v = j
        .evaluate_timeboxed(input_text.as_deref(), Some(MAX_DEPTH), None)
        .map_err(message)?;
    from_jvalue(v, 0)
}

/// A value of the crate as JSON (objects with sorted keys); `None` for undefined.
pub(crate) fn json_of<'a>(v: &'a JValue<'a>) -> Result<Option<Value>, String> {
    from_jvalue(v, 0)
}

/// `CODE @ N: text` with N counted from the user expression's start.
fn shift_position(message: &str, offset: usize) -> String {
    let Some((code, rest)) = message.split_once(" @ ") else {
        return message.to_string();
    };
    let Some((pos, text)) = rest.split_once(':') else {
        return message.to_string();
    };
    match pos.trim().parse::<usize>() {
        Ok(p) => format!("{code} @ {}:{text}", p.saturating_sub(offset)),
        Err(_) => message.to_string(),
    }
}

fn number(f: f64) -> Result<Value, String> {
    if !f.is_finite() {
        return Err("the expression gave a number that is not finite".into());
    }
    if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
        return Ok(Value::Number(Number::from(f as i64)));
    }
    Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| "the expression gave an invalid number".into())
}

fn from_jvalue<'a>(v: &'a JValue<'a>, depth: usize) -> Result<Option<Value>, String> {
    if depth > MAX_RESULT_NESTING {
        return Err(format!(
            "the result nests arrays and objects deeper than {MAX_RESULT_NESTING} levels"
        ));
    }
    Ok(Some(match v {
        JValue::Undefined => return Ok(None),
        JValue::Null => Value::Null,
        JValue::Bool(b) => Value::Bool(*b),
        JValue::Number(n) => number(*n)?,
        JValue::String(s) => Value::String(s.to_string()),
        JValue::Array(..) | JValue::Range(..) => {
            let mut out = Vec::new();
            for m in v.members() {
                if let Some(x) = from_jvalue(m, depth + 1)? {
                    out.push(x);
                }
            }
            Value::Array(out)
        }
        JValue::Object(..) => {
            let mut entries: Vec<(String, Value)> = Vec::new();
            for (k, x) in v.entries() {
                if let Some(x) = from_jvalue(x, depth + 1)? {
                    entries.push((k.to_string(), x));
                }
            }
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().collect())
        }
        JValue::Regex(_)
        | JValue::Lambda { .. }
        | JValue::NativeFn { .. }
        | JValue::Transformer { .. } => return Err("unsupported result type".into()),
    }))
}

/// Evaluates a field's value: a `{% %}` string is an expression, objects and arrays are walked (their
/// locations named `Field/key` as AWS names them), other values are constants.
pub fn evaluate_value(
    v: &Value,
    env: &Env,
    location: &str,
    entropy: &mut Entropy,
) -> Result<Value, StatesError> {
    Ok(match v {
        Value::String(s) => match expression(s) {
            Some(expr) => match evaluate_expression(expr, env, entropy) {
                Ok(Some(x)) => x,
                Ok(None) => {
                    return Err(failure(
                        location,
                        format!("The JSONata expression '{expr}' specified for the field '{location}' returned nothing (undefined)."),
                    ))
                }
                Err(e) => {
                    return Err(failure(
                        location,
                        format!("The JSONata expression '{expr}' specified for the field '{location}' threw an error during evaluation: {e}"),
                    ))
                }
            },
            None => v.clone(),
        },
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, x) in m {
                out.insert(
                    k.clone(),
                    evaluate_value(x, env, &format!("{location}/{k}"), entropy)?,
                );
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(
            a.iter()
                .enumerate()
                .map(|(i, x)| evaluate_value(x, env, &format!("{location}/{i}"), entropy))
                .collect::<Result<_, _>>()?,
        ),
        other => other.clone(),
    })
}

/// A JSONata `Assign`: each value evaluated against the same `$states` and variables.
pub fn assign(
    assign: &Value,
    env: &Env,
    location: &str,
    entropy: &mut Entropy,
) -> Result<Assigned, StatesError> {
    match evaluate_value(assign, env, location, entropy)? {
        Value::Object(m) => Ok(m),
        _ => Ok(Map::new()),
    }
}

#[cfg(test)]
#[path = "jsonata_test.rs"]
mod jsonata_test;
