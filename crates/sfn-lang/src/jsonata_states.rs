//! What each JSONata state does with its expression fields, next to the JSONPath path for the same
//! step (the interpreter calls these for either language): `Arguments`, `Output` and `Assign`, Choice
//! `Condition`s, Task `TimeoutSeconds` / `HeartbeatSeconds`, Map `Items` / `ItemSelector` /
//! `MaxConcurrency`, Wait `Seconds` / `Timestamp`, Fail `Error` / `Cause`, and a catcher's `Output` /
//! `Assign` with `$states.errorOutput`.

use crate::definition::{Catcher, Fail, MapState, State, Task};
use crate::entropy::Entropy;
use crate::error::{json_text, StatesError};
use crate::jsonata::{assign, evaluate_value, failure, Env, JsonataFields};
use crate::variables::{self, Assigned};
use crate::wait::{self, WaitSpec};
use serde_json::Value;

fn fields(state: &State) -> &JsonataFields {
    static EMPTY: std::sync::OnceLock<JsonataFields> = std::sync::OnceLock::new();
    state
        .jsonata
        .as_deref()
        .unwrap_or_else(|| EMPTY.get_or_init(JsonataFields::default))
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
    let fields = Fields {
        output: fields(state).output.as_ref(),
        assign: assign_override.unwrap_or(state.assign.as_ref()),
    };
    evaluate_output_and_assign(raw_input, result, fields, context, entropy)
}

/// The `Output` and `Assign` that apply to a step (a matched Choice rule has its own).
#[derive(Clone, Copy, Default)]
pub struct Fields<'a> {
    pub output: Option<&'a Value>,
    pub assign: Option<&'a Value>,
}

fn evaluate_output_and_assign(
    raw_input: &Value,
    result: Option<&Value>,
    fields: Fields,
    context: &Value,
    entropy: &mut Entropy,
) -> Result<(Value, Option<Assigned>), StatesError> {
    let env = Env {
        input: raw_input,
        result,
        error_output: None,
        context,
    };
    let out = match fields.output {
        Some(o) => evaluate_value(o, &env, "Output", entropy)?,
        None => result.unwrap_or(raw_input).clone(),
    };
    let assigned = match fields.assign {
        Some(a) => Some(assign(a, &env, "Assign", entropy)?),
        None => None,
    };
    crate::dataflow::check_size(&out, "output")?;
    Ok((out, assigned))
}

/// Choice / Wait in JSONata: the given `Output` (default: the input) and `Assign`.
pub fn pass_through_and_assign(
    raw_input: &Value,
    fields: Fields,
    context: &Value,
    entropy: &mut Entropy,
) -> Result<(Value, Option<Assigned>), StatesError> {
    evaluate_output_and_assign(raw_input, None, fields, context, entropy)
}

/// The Output and Assign of a Choice state that picked `rule` (`None`: its Default), or of a Wait
/// state: a matched rule's own, else the state's. (localstack's model of AWS: the state's `Assign`
/// and `Output` apply only with `Default`.)
pub fn step_fields<'a>(state: &'a State, rule: Option<&'a crate::choice::Choice>) -> Fields<'a> {
    match rule {
        Some(r) => Fields {
            output: r.output.as_ref(),
            assign: r.assign.as_ref(),
        },
        None => Fields {
            output: fields(state).output.as_ref(),
            assign: state.assign.as_ref(),
        },
    }
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
