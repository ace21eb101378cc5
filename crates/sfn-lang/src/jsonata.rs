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

use crate::definition::{Catcher, Fail, MapState, State, Task};
use crate::entropy::Entropy;
use crate::error::{json_text, StatesError};
use crate::variables::{self, Assigned};
use crate::wait::{self, WaitSpec};
use bumpalo::Bump;
use jsonata_rs::{ArrayFlags, FunctionContext, JsonAta, Value as JValue};
use serde_json::{Map, Number, Value};
use std::cell::RefCell;

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

struct Stamped {
    now_ms: i64,
    entropy: Entropy,
}

thread_local! {
    /// The stamped time and entropy of the evaluation running on this thread.
    static STAMPED: RefCell<Option<Stamped>> = const { RefCell::new(None) };
}

fn failure(location: &str, cause: String) -> StatesError {
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
        STAMPED.with(|s| *s.borrow_mut() = Some(stamped));
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(expr, env)));
        let st = STAMPED.with(|s| s.borrow_mut().take());
        let out = match out {
            Ok(r) => r,
            Err(_) => Err("the JSONata evaluator failed on this expression".into()),
        };
        (out, st.map(|s| s.entropy))
    });
    if let Some(e) = drawn {
        *entropy = e;
    }
    out
}

fn run(expr: &str, env: &Env) -> Result<Option<Value>, String> {
    let arena = Bump::new();
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
    let mut prelude = String::from(
        "($states := $__sfn_states; \
         $millis := $__sfn_millis; \
         $now := function($p, $t){ $exists($p) ? ($exists($t) ? $fromMillis($__sfn_millis(), $p, $t) : $fromMillis($__sfn_millis(), $p)) : $__sfn_now() }; \
         $random := $__sfn_random; $uuid := $__sfn_uuid; $partition := $__sfn_partition; \
         $range := $__sfn_range; $hash := $__sfn_hash; $parse := $__sfn_parse; ",
    );
    for name in vars.keys() {
        if variables::name_problem(name).is_none() {
            prelude.push_str(&format!("${name} := $__sfn_vars.`{name}`; "));
        }
    }
    let wrapped = format!("{prelude}({expr}\n))");
    let j = JsonAta::new(&wrapped, &arena).map_err(|e| e.to_string())?;
    j.assign_var("__sfn_states", to_jvalue(&arena, &Value::Object(states)));
    j.assign_var("__sfn_vars", to_jvalue(&arena, &Value::Object(vars)));
    j.register_function("__sfn_millis", 0, fn_millis);
    j.register_function("__sfn_now", 0, fn_now);
    j.register_function("__sfn_random", 1, fn_random);
    j.register_function("__sfn_uuid", 0, fn_uuid);
    j.register_function("__sfn_partition", 2, fn_partition);
    j.register_function("__sfn_range", 3, fn_range);
    j.register_function("__sfn_hash", 2, fn_hash);
    j.register_function("__sfn_parse", 1, fn_parse);
    let v = j
        .evaluate_timeboxed(None, Some(MAX_DEPTH), None)
        .map_err(|e| e.to_string())?;
    from_jvalue(v, 0)
}

fn to_jvalue<'a>(arena: &'a Bump, v: &Value) -> &'a JValue<'a> {
    match v {
        Value::Null => JValue::null(arena),
        Value::Bool(b) => JValue::bool(*b),
        Value::Number(n) => JValue::number(arena, n.as_f64().unwrap_or(0.0)),
        Value::String(s) => JValue::string(arena, s),
        Value::Array(a) => {
            let arr = JValue::array_with_capacity(arena, a.len(), ArrayFlags::empty());
            for x in a {
                arr.push(to_jvalue(arena, x));
            }
            arr
        }
        Value::Object(o) => {
            let obj = JValue::object_with_capacity(arena, o.len());
            for (k, x) in o {
                obj.insert(k, to_jvalue(arena, x));
            }
            obj
        }
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

type JResult<'a> = jsonata_rs::Result<&'a JValue<'a>>;

fn stamped<T>(f: impl FnOnce(&mut Stamped) -> T) -> Option<T> {
    STAMPED.with(|s| s.borrow_mut().as_mut().map(f))
}

fn fn_millis<'a>(ctx: FunctionContext<'a, '_>, _args: &[&'a JValue<'a>]) -> JResult<'a> {
    let ms = stamped(|s| s.now_ms).unwrap_or(0);
    Ok(JValue::number(ctx.arena, ms as f64))
}

fn fn_now<'a>(ctx: FunctionContext<'a, '_>, _args: &[&'a JValue<'a>]) -> JResult<'a> {
    let ms = stamped(|s| s.now_ms).unwrap_or(0);
    Ok(JValue::string(ctx.arena, &crate::interpret::rfc3339(ms)))
}

fn fn_random<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let seed = args.first().filter(|a| a.is_number()).map(|a| a.as_f64());
    let r = match seed {
        // AWS: `$random(seed)` gives the same number for the same seed.
        Some(s) => Entropy::new(s.to_bits()).unit(),
        None => stamped(|s| s.entropy.unit()).unwrap_or(0.0),
    };
    Ok(JValue::number(ctx.arena, r))
}

fn fn_uuid<'a>(ctx: FunctionContext<'a, '_>, _args: &[&'a JValue<'a>]) -> JResult<'a> {
    let u = stamped(|s| s.entropy.uuid()).unwrap_or_default();
    Ok(JValue::string(ctx.arena, &u))
}

fn arg_error<'a>(msg: &str) -> JResult<'a> {
    Err(jsonata_rs::Error::D3137Error(msg.to_string()))
}

/// `$range(start, end, step)`: start, start + step, ... up to end inclusive (AWS's example:
/// `$range(0, 10, 2)` is `[0, 2, 4, 6, 8, 10]`), at most 1000 items as `States.ArrayRange`.
fn fn_range<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let num = |i: usize| args.get(i).filter(|a| a.is_number()).map(|a| a.as_f64());
    let (Some(start), Some(end), Some(step)) = (num(0), num(1), num(2)) else {
        return arg_error("$range takes three numbers: start, end and step");
    };
    if step == 0.0 || !step.is_finite() || !start.is_finite() || !end.is_finite() {
        return arg_error("$range: the step must be a non-zero number");
    }
    let arr = JValue::array(ctx.arena, ArrayFlags::empty());
    let mut x = start;
    let mut n = 0;
    while (step > 0.0 && x <= end) || (step < 0.0 && x >= end) {
        n += 1;
        if n > 1000 {
            return arg_error("$range: the range has more than 1000 items");
        }
        arr.push(JValue::number(ctx.arena, x));
        x += step;
    }
    Ok(arr)
}

/// `$partition(array, size)`: the array in chunks of `size` (the last may be shorter), as
/// `States.ArrayPartition`.
fn fn_partition<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let (Some(arr), Some(size)) = (
        args.first().filter(|a| a.is_array()),
        args.get(1).filter(|a| a.is_number()),
    ) else {
        return arg_error("$partition takes an array and a chunk size");
    };
    let size = size.as_f64();
    if size < 1.0 || size.fract() != 0.0 {
        return arg_error("$partition: the chunk size must be a positive integer");
    }
    let size = size as usize;
    let out = JValue::array(ctx.arena, ArrayFlags::empty());
    let mut chunk = JValue::array(ctx.arena, ArrayFlags::empty());
    let mut n = 0;
    for m in arr.members() {
        chunk.push(m);
        n += 1;
        if n == size {
            out.push(chunk);
            chunk = JValue::array(ctx.arena, ArrayFlags::empty());
            n = 0;
        }
    }
    if n > 0 {
        out.push(chunk);
    }
    Ok(out)
}

/// `$hash(data, algorithm)`: the hex digest (MD5, SHA-1, SHA-256, SHA-384, SHA-512).
fn fn_hash<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let (Some(data), Some(alg)) = (
        args.first().filter(|a| a.is_string()),
        args.get(1).filter(|a| a.is_string()),
    ) else {
        return arg_error("$hash takes a string and an algorithm name");
    };
    match crate::intrinsics::hash(&alg.as_str(), data.as_str().as_bytes()) {
        Some(h) => Ok(JValue::string(ctx.arena, &h)),
        None => {
            arg_error("$hash: the algorithm must be one of MD5, SHA-1, SHA-256, SHA-384, SHA-512")
        }
    }
}

/// `$parse(json)`: the JSON value a string holds.
fn fn_parse<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let Some(s) = args.first().filter(|a| a.is_string()) else {
        return arg_error("$parse takes a string");
    };
    match serde_json::from_str::<Value>(&s.as_str()) {
        Ok(v) => Ok(to_jvalue(ctx.arena, &v)),
        Err(_) => arg_error("$parse: the string is not valid JSON"),
    }
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

fn fields(state: &State) -> &JsonataFields {
    static EMPTY: std::sync::OnceLock<JsonataFields> = std::sync::OnceLock::new();
    state
        .jsonata
        .as_deref()
        .unwrap_or_else(|| EMPTY.get_or_init(JsonataFields::default))
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

/// The effective input of a JSONata state: `Arguments` evaluated (Task, Parallel), else the input.
pub fn effective_input(
    state: &State,
    raw_input: &Value,
    context: &Value,
    entropy: &mut Entropy,
) -> Result<Value, StatesError> {
    let env = Env {
        input: raw_input,
        result: None,
        error_output: None,
        context,
    };
    let out = match &fields(state).arguments {
        Some(a) => evaluate_value(a, &env, "Arguments", entropy)?,
        None => raw_input.clone(),
    };
    crate::dataflow::check_size(&out, "input")?;
    Ok(out)
}

/// `Output` (default: the result, or the input when there is none) and `Assign`, both from the same
/// `$states` and variables.
pub fn output_and_assign(
    state: &State,
    raw_input: &Value,
    result: Option<&Value>,
    assign_override: Option<Option<&Value>>,
    context: &Value,
    entropy: &mut Entropy,
) -> Result<(Value, Option<Assigned>), StatesError> {
    let env = Env {
        input: raw_input,
        result,
        error_output: None,
        context,
    };
    let out = match &fields(state).output {
        Some(o) => evaluate_value(o, &env, "Output", entropy)?,
        None => result.unwrap_or(raw_input).clone(),
    };
    let assign_field = assign_override.unwrap_or(state.assign.as_ref());
    let assigned = match assign_field {
        Some(a) => Some(assign(a, &env, "Assign", entropy)?),
        None => None,
    };
    crate::dataflow::check_size(&out, "output")?;
    Ok((out, assigned))
}

/// Choice / Wait in JSONata: `Output` (default: the input) and the given `Assign`.
pub fn pass_through_and_assign(
    state: &State,
    raw_input: &Value,
    assign: Option<&Value>,
    context: &Value,
    entropy: &mut Entropy,
) -> Result<(Value, Option<Assigned>), StatesError> {
    output_and_assign(state, raw_input, None, Some(assign), context, entropy)
}

/// A Choice state's pick: the matched rule's index (None: Default), in either language.
pub fn choose(
    state: &State,
    choices: &[crate::choice::Choice],
    raw_input: &Value,
    effective_input: &Value,
    context: &Value,
    entropy: &mut Entropy,
) -> Result<Option<usize>, StatesError> {
    if state.jsonata.is_none() {
        return crate::choice::choose_index(choices, effective_input, context);
    }
    let env = Env {
        input: raw_input,
        result: None,
        error_output: None,
        context,
    };
    for (i, c) in choices.iter().enumerate() {
        let crate::choice::Rule::Condition(cond) = &c.rule else {
            continue;
        };
        let location = format!("Choices/{i}/Condition");
        match evaluate_value(cond, &env, &location, entropy)? {
            Value::Bool(true) => return Ok(Some(i)),
            Value::Bool(false) => {}
            other => {
                return Err(failure(
                    &location,
                    format!(
                    "The Condition of the choice rule {i} must evaluate to a boolean, but was {}",
                    json_text(&other)
                ),
                ))
            }
        }
    }
    Ok(None)
}

fn positive(v: Value, location: &str, min: u64) -> Result<u64, StatesError> {
    v.as_u64()
        .filter(|n| *n >= min && *n <= crate::validate::MAX_INT_FIELD)
        .ok_or_else(|| {
            failure(
                location,
                format!(
                    "The field '{location}' must evaluate to an integer between {min} and {}, but was {}",
                    crate::validate::MAX_INT_FIELD,
                    json_text(&v)
                ),
            )
        })
}

/// A Task's timeout and heartbeat, with JSONata expressions evaluated.
pub fn task_timeouts(
    state: &State,
    task: &Task,
    raw_input: &Value,
    effective_input: &Value,
    context: &Value,
    entropy: &mut Entropy,
) -> Result<(Option<u64>, Option<u64>), StatesError> {
    if state.jsonata.is_none() {
        return crate::dataflow::task_timeouts(task, effective_input, context);
    }
    let f = fields(state);
    let env = Env {
        input: raw_input,
        result: None,
        error_output: None,
        context,
    };
    let timeout = match &f.timeout_seconds {
        Some(e) => Some(positive(
            evaluate_value(e, &env, "TimeoutSeconds", entropy)?,
            "TimeoutSeconds",
            1,
        )?),
        None => task.timeout_seconds,
    };
    let heartbeat = match &f.heartbeat_seconds {
        Some(e) => Some(positive(
            evaluate_value(e, &env, "HeartbeatSeconds", entropy)?,
            "HeartbeatSeconds",
            1,
        )?),
        None => task.heartbeat_seconds,
    };
    Ok((timeout, heartbeat))
}

/// A Map's items: `Items` (default: the input, which must be an array) in JSONata.
pub fn map_items(
    state: &State,
    map: &MapState,
    raw_input: &Value,
    effective_input: &Value,
    context: &Value,
    entropy: &mut Entropy,
) -> Result<Vec<Value>, StatesError> {
    if state.jsonata.is_none() {
        return crate::dataflow::map_items(map, effective_input, context);
    }
    let env = Env {
        input: raw_input,
        result: None,
        error_output: None,
        context,
    };
    let v = match &fields(state).items {
        Some(i) => evaluate_value(i, &env, "Items", entropy)?,
        None => raw_input.clone(),
    };
    match v {
        Value::Array(a) => Ok(a),
        other => Err(failure(
            "Items",
            format!(
                "The field 'Items' must evaluate to a JSON array, but was '{}'",
                json_text(&other)
            ),
        )),
    }
}

/// A Map's concurrency limit, `MaxConcurrency` possibly an expression.
pub fn max_concurrency(
    state: &State,
    map: &MapState,
    raw_input: &Value,
    effective_input: &Value,
    context: &Value,
    entropy: &mut Entropy,
) -> Result<u64, StatesError> {
    let Some(e) = state
        .jsonata
        .as_ref()
        .and_then(|f| f.max_concurrency.as_ref())
    else {
        return crate::dataflow::max_concurrency(map, effective_input, context);
    };
    let env = Env {
        input: raw_input,
        result: None,
        error_output: None,
        context,
    };
    positive(
        evaluate_value(e, &env, "MaxConcurrency", entropy)?,
        "MaxConcurrency",
        0,
    )
}

/// One Map iteration's input: `ItemSelector` with `$states.context.Map.Item` (JSONata), else the item.
pub fn map_item_input(
    state: &State,
    map: &MapState,
    item: &Value,
    raw_input: &Value,
    effective_input: &Value,
    item_context: &Value,
    entropy: &mut Entropy,
) -> Result<Value, StatesError> {
    if state.jsonata.is_none() {
        return crate::dataflow::map_item_input(map, item, effective_input, item_context, entropy);
    }
    match &fields(state).item_selector {
        None => Ok(item.clone()),
        Some(t) => {
            let env = Env {
                input: raw_input,
                result: None,
                error_output: None,
                context: item_context,
            };
            evaluate_value(t, &env, "ItemSelector", entropy)
        }
    }
}

/// A Wait state's due time, `Seconds` / `Timestamp` possibly expressions.
pub fn due_time(
    state: &State,
    spec: &WaitSpec,
    raw_input: &Value,
    effective_input: &Value,
    context: &Value,
    now_ms: i64,
    entropy: &mut Entropy,
) -> Result<i64, StatesError> {
    let f = fields(state);
    let env = Env {
        input: raw_input,
        result: None,
        error_output: None,
        context,
    };
    if let Some(e) = &f.seconds {
        let s = positive(evaluate_value(e, &env, "Seconds", entropy)?, "Seconds", 0)?;
        return Ok(now_ms.saturating_add(s as i64 * 1000));
    }
    if let Some(e) = &f.timestamp {
        let v = evaluate_value(e, &env, "Timestamp", entropy)?;
        let ms = v.as_str().and_then(wait::timestamp_millis).ok_or_else(|| {
            failure(
                "Timestamp",
                format!(
                    "The field 'Timestamp' must evaluate to an ISO-8601 timestamp, but was {}",
                    json_text(&v)
                ),
            )
        })?;
        return Ok(ms.max(now_ms));
    }
    wait::due_time(spec, effective_input, context, now_ms)
}

/// A Fail state's error and cause, possibly expressions.
pub fn fail_error_cause(
    state: &State,
    fail: &Fail,
    raw_input: &Value,
    context: &Value,
    entropy: &mut Entropy,
) -> Result<(Option<String>, Option<String>), StatesError> {
    let (mut error, mut cause) =
        crate::dataflow::fail_error_cause(fail, raw_input, context, entropy)?;
    let f = fields(state);
    let env = Env {
        input: raw_input,
        result: None,
        error_output: None,
        context,
    };
    for (field, expr, slot) in [
        ("Error", &f.error, &mut error),
        ("Cause", &f.cause, &mut cause),
    ] {
        if let Some(e) = expr {
            match evaluate_value(e, &env, field, entropy)? {
                Value::String(s) => *slot = Some(s),
                other => {
                    return Err(failure(
                        field,
                        format!(
                            "The field '{field}' must evaluate to a string, but was {}",
                            json_text(&other)
                        ),
                    ))
                }
            }
        }
    }
    Ok((error, cause))
}

/// A catcher's handler input and assigned variables: JSONPath applies its ResultPath (and `Assign`
/// with `$` the error output); JSONata evaluates `Output` (default: the error output) and `Assign`
/// with `$states.errorOutput`.
pub fn catch_output_and_assign(
    state: &State,
    catcher: &Catcher,
    raw_input: &Value,
    error: &str,
    cause: &str,
    context: &Value,
    entropy: &mut Entropy,
) -> Result<(Value, Option<Assigned>), StatesError> {
    let error_output = crate::retry::error_output(error, cause);
    if state.jsonata.is_none() {
        let assigned = match &catcher.assign {
            Some(a) => Some(variables::assign_jsonpath(
                a,
                &error_output,
                context,
                entropy,
            )?),
            None => None,
        };
        let out = crate::retry::catch_output(catcher, raw_input, error, cause)?;
        return Ok((out, assigned));
    }
    let env = Env {
        input: raw_input,
        result: None,
        error_output: Some(&error_output),
        context,
    };
    let out = match &catcher.output {
        Some(o) => evaluate_value(o, &env, "Output", entropy)?,
        None => error_output.clone(),
    };
    let assigned = match &catcher.assign {
        Some(a) => Some(assign(a, &env, "Assign", entropy)?),
        None => None,
    };
    Ok((out, assigned))
}

#[cfg(test)]
#[path = "jsonata_test.rs"]
mod jsonata_test;
