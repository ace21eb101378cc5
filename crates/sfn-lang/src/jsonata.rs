//! The JSONata query language of Step Functions: `{% ... %}` strings in a JSONata state's fields
//! (`Arguments`, `Output`, `Assign`, `Condition`, `Items`, `ItemSelector`, `TimeoutSeconds`,
//! `HeartbeatSeconds`, `MaxConcurrency`, Wait `Seconds` / `Timestamp`, Fail `Error` / `Cause`, a
//! catcher's `Output` / `Assign`), evaluated with the `seuil` crate and `$states` bound to
//! `{input, result, errorOutput, context}` as AWS documents ("Transforming data with JSONata").
//!
//! Determinism (every replica applies the same entry and must write the same bytes): the evaluator
//! keeps objects in insertion order (`IndexMap`), as AWS does, and has no process-random state; its
//! `$now()`, `$millis()`, `$random()` and `$uuid()` come from an injected environment reading the
//! leader-stamped time and the execution's [`Entropy`], never the clock or the OS, and its time
//! limit is not used. AWS's own functions `$partition`, `$range`, `$hash`, `$random([seed])`,
//! `$uuid` and `$parse` (and the few JSONata functions the crate lacks) are bound in the
//! evaluator's scope, and the variables after them (they shadow functions of the same name). The
//! crate recurses on the machine stack, so expressions are parsed and evaluated on a thread of their
//! own with a large stack; their bracket nesting, operator chains, evaluation depth and result
//! nesting are bounded, and a panic inside the crate is caught and reported as
//! `States.QueryEvaluationError`.
//!
//! Errors are `States.QueryEvaluationError` with AWS's causes (recorded against AWS in localstack's
//! `tests/aws/services/stepfunctions/v2/assign` snapshots), e.g. `The JSONata expression
//! '$doesNotExist' specified for the field 'Assign/result' returned nothing (undefined).`

use crate::entropy::Entropy;
use crate::error::StatesError;
use crate::jsonata_functions::{bind, to_jvalue, with_stamp, Stamped, StampedEnv};
use crate::variables::{self, Assigned};
use bumpalo::Bump;
use serde_json::{Map, Number, Value};
use seuil::evaluator::engine::Evaluator;
use seuil::evaluator::Value as JValue;

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

/// How deep an evaluation may recurse (the crate's count of nested evaluations, past which it fails
/// with `U1001`).
const MAX_DEPTH: usize = 5_000;
/// The stack of the thread an expression is parsed and evaluated on. The crate recurses on the
/// machine stack (measured in a debug build: `MAX_DEPTH` nested calls need between 64 and 128 MiB,
/// 100 nested brackets more than 2 MiB; the parser up to ~40 KiB per level). Only the pages touched
/// are ever committed.
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

/// Most operators in one run of an expression (between `,` / `;` at one bracket level, counting the
/// runs of the brackets around it): a bound on how deep the parser recurses, which bracket nesting
/// alone is not (`1 + 1 + ...`, `- - ... 1`, `a ? b : c ? ...` nest without brackets). The parser
/// takes up to about 40 KiB of stack per level in a debug build.
const MAX_OPERATOR_DEPTH: usize = 300;

/// How deeply `(`, `[` and `{` nest outside string literals, and the most operators (counted per
/// character, and `and` / `or` / `in`) on a path from the top through nested runs.
fn nesting_and_operators(expr: &str) -> (usize, usize) {
    // One frame per open bracket: the operators counted in the brackets around it, and in its run.
    let mut frames: Vec<(usize, usize)> = vec![(0, 0)];
    let (mut max_nest, mut max_ops, mut quote) = (0usize, 0usize, None::<char>);
    let mut word = String::new();
    let mut chars = expr.chars().peekable();
    while let Some(c) = chars.next() {
        if let Some(q) = quote {
            if c == '\\' {
                chars.next();
            } else if c == q {
                quote = None;
            }
            continue;
        }
        if c.is_alphanumeric() || c == '_' || c == '$' {
            word.push(c);
            let ends = chars
                .peek()
                .is_none_or(|n| !(n.is_alphanumeric() || *n == '_' || *n == '$'));
            let is_op = ends && matches!(word.as_str(), "and" | "or" | "in");
            if ends {
                word.clear();
            }
            if !is_op {
                continue;
            }
        }
        let top = frames.len() - 1;
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            '(' | '[' | '{' => {
                let (base, run) = frames[top];
                frames.push((base + run + 1, 0));
                max_nest = max_nest.max(frames.len() - 1);
            }
            ')' | ']' | '}' => {
                if frames.len() > 1 {
                    frames.pop();
                }
                // `f(a)(b)...`, `a[0][0]...`: each bracketed group is a step of the run around it.
                let top = frames.len() - 1;
                frames[top].1 += 1;
            }
            ',' | ';' => frames[top].1 = 0,
            c if c.is_whitespace() => {}
            _ => frames[top].1 += 1,
        }
        let (base, run) = frames[frames.len() - 1];
        max_ops = max_ops.max(base + run);
    }
    (max_nest, max_ops)
}

/// A syntax problem in an expression, for the create-time checks.
pub fn syntax_problem(expr: &str) -> Option<String> {
    if expr.len() > MAX_EXPRESSION_BYTES {
        return Some(format!(
            "the expression is longer than {MAX_EXPRESSION_BYTES} bytes"
        ));
    }
    let (nest, operators) = nesting_and_operators(expr);
    if nest > MAX_NESTING {
        return Some(format!(
            "the expression nests brackets deeper than {MAX_NESTING} levels"
        ));
    }
    if operators > MAX_OPERATOR_DEPTH {
        return Some(format!(
            "the expression chains more than {MAX_OPERATOR_DEPTH} operators"
        ));
    }
    on_big_stack(|| parse_problem(expr))
}

/// The crate's verdict on an expression's syntax (on the caller's stack).
fn parse_problem(expr: &str) -> Option<String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        seuil::parser::parse(expr).map(|_| ())
    })) {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some("the expression could not be parsed".into()),
    }
}

/// A create-time problem of an expression beyond the size limits, as `(code, message)` in AWS's
/// words: `INVALID_JSONATA_EXPRESSION` with the parser's message, or `UNSUPPORTED_JSONATA_EXPRESSION`
/// for references AWS refuses (see `jsonata_refs`); `in_catcher`: the expression is a catcher's
/// `Output` / `Assign`.
pub fn create_time_problem(expr: &str, in_catcher: bool) -> Option<(&'static str, String)> {
    if expr.len() > MAX_EXPRESSION_BYTES || {
        let (nest, operators) = nesting_and_operators(expr);
        nest > MAX_NESTING || operators > MAX_OPERATOR_DEPTH
    } {
        return syntax_problem(expr).map(|p| (INVALID_EXPRESSION, p));
    }
    on_big_stack(|| {
        let parsed = std::panic::catch_unwind(|| seuil::parser::parse(expr));
        match parsed {
            Ok(Ok(ast)) => crate::jsonata_refs::problem(&ast, in_catcher)
                .map(|m| (crate::jsonata_refs::UNSUPPORTED, m)),
            // AWS gives the parser's message without its code and position.
            Ok(Err(e)) => Some((INVALID_EXPRESSION, parser_message(&e.to_string()))),
            Err(_) => Some((
                INVALID_EXPRESSION,
                "the expression could not be parsed".into(),
            )),
        }
    })
}

/// The code of a refused expression's diagnostic (AWS's).
pub const INVALID_EXPRESSION: &str = "INVALID_JSONATA_EXPRESSION";

/// `S0202 @ 3..4: Expected ...` without `S0202 @ 3..4: `.
fn parser_message(m: &str) -> String {
    match m.split_once(": ") {
        Some((code, text)) if code.starts_with('S') => text.to_string(),
        _ => m.to_string(),
    }
}

/// The workflow variables an expression reads (empty when it does not parse).
pub fn referenced_variables(expr: &str) -> Vec<String> {
    if syntax_problem(expr).is_some() {
        return Vec::new();
    }
    on_big_stack(|| {
        std::panic::catch_unwind(|| seuil::parser::parse(expr))
            .ok()
            .and_then(Result::ok)
            .map(|ast| crate::jsonata_refs::variables(&ast).into_iter().collect())
            .unwrap_or_default()
    })
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
    let (nest, operators) = nesting_and_operators(expr);
    if expr.len() > MAX_EXPRESSION_BYTES || nest > MAX_NESTING || operators > MAX_OPERATOR_DEPTH {
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
    let ast = seuil::parser::parse(expr).map_err(|e| e.to_string())?;
    let arena = Bump::new();
    // The arena holds every value an evaluation makes; its limit is the evaluation's fuel (a loop
    // that never deepens the recursion still allocates each round). Past it the arena's allocation
    // panics, which is caught: deterministic, unlike a time limit.
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
    // No time limit (it would differ between replicas); the clock and randomness are the stamp's.
    let ev = Evaluator::new(&arena, &StampedEnv, None, MAX_DEPTH, None);
    ev.bind_natives();
    bind(&ev, &arena);
    let input = match dollar {
        Some(d) => to_jvalue(&arena, d),
        None => JValue::undefined(&arena),
    };
    ev.bind("$", input);
    ev.bind("states", to_jvalue(&arena, &Value::Object(states)));
    // Variables are bound last: they shadow the functions of the same name, as on AWS.
    for (name, value) in &vars {
        if variables::name_problem(name).is_none() {
            ev.bind(arena.alloc_str(name), to_jvalue(&arena, value));
        }
    }
    let v = ev.evaluate(&ast, input).map_err(|e| e.to_string())?;
    from_jvalue(v, 0)
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
            let mut out = Map::new();
            for (k, x) in v.entries() {
                if let Some(x) = from_jvalue(x, depth + 1)? {
                    out.insert(k.to_string(), x);
                }
            }
            Value::Object(out)
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
