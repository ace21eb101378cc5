//! The data flow of a state (JSONPath query language; JSONata states are handed to `jsonata`): InputPath then Parameters give the *effective
//! input*; ResultSelector, ResultPath and OutputPath turn a result into the *state output*. Also the
//! payload templates (`.$` keys with paths or intrinsic calls, nested objects and arrays), Map items
//! (ItemsPath, ItemSelector with `$$.Map.Item`), and the dynamic fields of Task (`TimeoutSecondsPath`,
//! `HeartbeatSecondsPath`), Map (`MaxConcurrencyPath`) and Fail (`ErrorPath`, `CausePath`).
//!
//! `context` is the `$$` object (`Context::to_value`); `entropy` feeds States.UUID / MathRandom.
//! AWS raises `States.Runtime` for a payload-template path that does not resolve (that is what real
//! executions report; `States.ParameterPathFailure` is named by the spec but not what AWS writes).

use crate::definition::{Fail, MapState, PathField, State, Task};
use crate::entropy::Entropy;
use crate::error::{json_text, StatesError};
use crate::intrinsics;
use crate::path::Path;
use serde_json::{Map, Value};

/// Largest state input / output / result, in bytes of UTF-8 JSON (256 KiB).
pub const MAX_PAYLOAD_BYTES: usize = 262_144;

/// The `States.Runtime` cause AWS gives for a path that selects nothing, e.g. `The JSONPath '$.user.id'
/// specified for the field 'InputPath' could not be found in the input '{...}'`.
fn no_results(p: &Path, input: &Value, field: &str) -> StatesError {
    StatesError::Runtime(format!(
        "The JSONPath '{}' specified for the field '{field}' could not be found in the input '{}'",
        p.text,
        json_text(input)
    ))
}

/// `States.DataLimitExceeded` if `v` is larger than 256 KiB.
pub fn check_size(v: &Value, what: &str) -> Result<(), StatesError> {
    let n = json_text(v).len();
    if n > MAX_PAYLOAD_BYTES {
        return Err(StatesError::DataLimitExceeded(format!(
            "The state/task returned a {what} of {n} bytes, which exceeds the maximum size limit of {MAX_PAYLOAD_BYTES} bytes."
        )));
    }
    Ok(())
}

/// InputPath or OutputPath: `$` (default) is the input, `null` an empty object, a path its value.
pub fn apply_path(
    field: &PathField,
    name: &str,
    input: &Value,
    context: &Value,
) -> Result<Value, StatesError> {
    match field {
        PathField::Default => Ok(input.clone()),
        PathField::Null => Ok(Value::Object(Map::new())),
        PathField::Path(p) => p
            .query(input, context)
            .ok_or_else(|| no_results(p, if p.context { context } else { input }, name)),
    }
}

/// Resolves a payload template against `input` (`$`) and `context` (`$$`).
pub fn apply_template(
    template: &Value,
    input: &Value,
    context: &Value,
    entropy: &mut Entropy,
) -> Result<Value, StatesError> {
    Ok(match template {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                match (k.strip_suffix(".$"), v) {
                    (Some(name), Value::String(expr)) => {
                        let value = if intrinsics::is_intrinsic(expr) {
                            let call = intrinsics::parse(expr)
                                .map_err(|e| StatesError::IntrinsicFailure(e.to_string()))?;
                            intrinsics::evaluate(&call, input, context, entropy)?
                        } else {
                            let p = Path::parse(expr)
                                .map_err(|e| StatesError::Runtime(e.to_string()))?;
                            p.query(input, context).ok_or_else(|| {
                                StatesError::Runtime(format!(
                                    "The JSONPath '{expr}' specified for the field '{k}' could not be found in the input '{}'",
                                    json_text(if p.context { context } else { input })
                                ))
                            })?
                        };
                        out.insert(name.to_string(), value);
                    }
                    _ => {
                        out.insert(k.clone(), apply_template(v, input, context, entropy)?);
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|v| apply_template(v, input, context, entropy))
                .collect::<Result<_, _>>()?,
        ),
        other => other.clone(),
    })
}

/// InputPath, then Parameters: what the state works on (the activity's input for a Task).
pub fn effective_input(
    state: &State,
    raw_input: &Value,
    context: &Value,
    entropy: &mut Entropy,
) -> Result<Value, StatesError> {
    if state.jsonata.is_some() {
        return crate::jsonata::effective_input(state, raw_input, context, entropy);
    }
    let selected = apply_path(&state.input_path, "InputPath", raw_input, context)?;
    let out = match &state.parameters {
        Some(t) => apply_template(t, &selected, context, entropy)?,
        None => selected,
    };
    check_size(&out, "input")?;
    Ok(out)
}

/// ResultSelector, ResultPath (into the *raw* input), OutputPath: the state's output for `result`.
pub fn state_output(
    state: &State,
    raw_input: &Value,
    result: &Value,
    context: &Value,
    entropy: &mut Entropy,
) -> Result<Value, StatesError> {
    if state.jsonata.is_some() {
        return crate::jsonata::output_and_assign(
            state,
            raw_input,
            Some(result),
            Some(None),
            context,
            entropy,
        )
        .map(|(out, _)| out);
    }
    let selected = match &state.result_selector {
        Some(t) => apply_template(t, result, context, entropy)?,
        None => result.clone(),
    };
    let merged = apply_result_path(&state.result_path, raw_input, selected)?;
    let out = apply_path(&state.output_path, "OutputPath", &merged, context)?;
    check_size(&out, "output")?;
    Ok(out)
}

/// ResultPath alone (a Catch uses its own): `$` (default) is the result, `null` keeps the input, a
/// reference path puts the result into a copy of the input.
pub fn apply_result_path(
    field: &PathField,
    raw_input: &Value,
    result: Value,
) -> Result<Value, StatesError> {
    match field {
        PathField::Default => Ok(result),
        PathField::Null => Ok(raw_input.clone()),
        PathField::Path(p) => p.set(raw_input.clone(), result).ok_or_else(|| {
            StatesError::ResultPathMatchFailure(format!(
                "Unable to apply ReferencePath {} to input {}",
                p.text,
                json_text(raw_input)
            ))
        }),
    }
}

/// The items a Map state iterates over: ItemsPath (default `$`) of its effective input, an array.
pub fn map_items(
    map: &MapState,
    effective_input: &Value,
    context: &Value,
) -> Result<Vec<Value>, StatesError> {
    let v = match &map.items_path {
        None => effective_input.clone(),
        Some(p) => p
            .query(effective_input, context)
            .ok_or_else(|| no_results(p, effective_input, "ItemsPath"))?,
    };
    match v {
        Value::Array(a) => Ok(a),
        other => Err(StatesError::Runtime(format!(
            "Item list must be a JSON array, but was '{}' (ItemsPath {})",
            json_text(&other),
            map.items_path
                .as_ref()
                .map(|p| p.text.as_str())
                .unwrap_or("$")
        ))),
    }
}

/// The input of one Map iteration: the item, or ItemSelector applied to the Map's effective input
/// with `$$.Map.Item` set in `item_context` (the caller's context for this iteration).
pub fn map_item_input(
    map: &MapState,
    item: &Value,
    effective_input: &Value,
    item_context: &Value,
    entropy: &mut Entropy,
) -> Result<Value, StatesError> {
    match &map.item_selector {
        None => Ok(item.clone()),
        Some(t) => apply_template(t, effective_input, item_context, entropy),
    }
}

fn positive_int(p: &Path, input: &Value, context: &Value, field: &str) -> Result<u64, StatesError> {
    let v = p
        .query(input, context)
        .ok_or_else(|| no_results(p, input, field))?;
    v.as_u64()
        .filter(|n| *n >= 1 && *n <= crate::validate::MAX_INT_FIELD)
        .ok_or_else(|| {
            StatesError::Runtime(format!(
                "The value of {field} '{}' must be a positive integer, but was {}",
                p.text,
                json_text(&v)
            ))
        })
}

/// A Task's timeout and heartbeat (seconds), with the `...Path` forms read from its effective input.
pub fn task_timeouts(
    task: &Task,
    input: &Value,
    context: &Value,
) -> Result<(Option<u64>, Option<u64>), StatesError> {
    let timeout = match &task.timeout_seconds_path {
        Some(p) => Some(positive_int(p, input, context, "TimeoutSecondsPath")?),
        None => task.timeout_seconds,
    };
    let heartbeat = match &task.heartbeat_seconds_path {
        Some(p) => Some(positive_int(p, input, context, "HeartbeatSecondsPath")?),
        None => task.heartbeat_seconds,
    };
    Ok((timeout, heartbeat))
}

/// A Map's concurrency limit (0 = none), MaxConcurrencyPath read from its effective input.
pub fn max_concurrency(map: &MapState, input: &Value, context: &Value) -> Result<u64, StatesError> {
    match &map.max_concurrency_path {
        None => Ok(map.max_concurrency),
        Some(p) => {
            let v = p
                .query(input, context)
                .ok_or_else(|| no_results(p, input, "MaxConcurrencyPath"))?;
            v.as_u64().ok_or_else(|| {
                StatesError::Runtime(format!(
                    "MaxConcurrencyPath '{}' must reference a non-negative integer, but was {}",
                    p.text,
                    json_text(&v)
                ))
            })
        }
    }
}

/// A Fail state's error and cause, with ErrorPath / CausePath (paths or intrinsics) resolved against
/// its input; each must give a string.
pub fn fail_error_cause(
    fail: &Fail,
    input: &Value,
    context: &Value,
    entropy: &mut Entropy,
) -> Result<(Option<String>, Option<String>), StatesError> {
    let mut dynamic = |expr: &Option<String>, field: &str| -> Result<Option<String>, StatesError> {
        let Some(expr) = expr else { return Ok(None) };
        let v = if intrinsics::is_intrinsic(expr) {
            let call = intrinsics::parse(expr)
                .map_err(|e| StatesError::IntrinsicFailure(e.to_string()))?;
            intrinsics::evaluate(&call, input, context, entropy)?
        } else {
            let p = Path::parse(expr).map_err(|e| StatesError::Runtime(e.to_string()))?;
            p.query(input, context)
                .ok_or_else(|| no_results(&p, input, field))?
        };
        match v {
            Value::String(s) => Ok(Some(s)),
            other => Err(StatesError::Runtime(format!(
                "The {field} '{expr}' must resolve to a string, but was {}",
                json_text(&other)
            ))),
        }
    };
    let error = match dynamic(&fail.error_path, "ErrorPath")? {
        Some(e) => Some(e),
        None => fail.error.clone(),
    };
    let cause = match dynamic(&fail.cause_path, "CausePath")? {
        Some(c) => Some(c),
        None => fail.cause.clone(),
    };
    Ok((error, cause))
}

#[cfg(test)]
#[path = "dataflow_test.rs"]
mod dataflow_test;
