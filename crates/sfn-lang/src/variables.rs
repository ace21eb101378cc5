//! Workflow variables (`Assign`, `$name` references), both query languages.
//!
//! Where they live: each [`Thread`](crate::interpret::Thread) keeps the variables it assigned. A
//! Parallel branch or Map iteration also reads those of the scopes around it (the interpreter passes
//! them down while it runs the child; they are not copied into it), but may not assign them
//! (`States.Runtime`, as localstack's model of AWS refuses an outer-scope write); what it assigns
//! stays in its own thread, so nothing leaks out. While a state
//! runs, the variables ride inside the context value (`$$`) under [`VARS_KEY`], a key no path or
//! expression can spell: a JSONPath `$name.x` is parsed as a context path starting with that key (see
//! `path`), `$$` itself is shown without it, and the JSONata glue binds each variable by name.
//!
//! Semantics, as AWS documents them ("Passing data between states with variables") and as recorded
//! against AWS in localstack's `tests/aws/services/stepfunctions/v2/assign` snapshots: `Assign` is
//! evaluated after the state's result is known; in JSONPath states `$` is the result after
//! ResultSelector (a Pass state's `Result` or its effective input; a Choice or Wait state's effective
//! input; a catcher's error output), in JSONata states `$states.result` / `$states.errorOutput` are
//! bound. Every value of one `Assign` (and the state's `Output` / OutputPath) is computed from the
//! variables as they were when the state started: assignments never see each other, and OutputPath
//! `$answer` reads the old value (`BASE_EVALUATION_ORDER_PASS_STATE`). A Choice state uses the matched
//! rule's `Assign`, or its own when it goes to `Default`.

use crate::dataflow::{self, apply_template};
use crate::definition::State;
use crate::entropy::Entropy;
use crate::error::{json_text, StatesError};
use serde_json::{json, Map, Value};

/// The key of the context object under which the visible variables travel. It starts with NUL, which
/// no JSONPath name, `$$` member or JSONata field name in a definition can contain.
pub const VARS_KEY: &str = "\u{0}variables";

/// Largest value of one variable, in bytes of JSON (AWS: 256 KiB).
pub const MAX_VARIABLE_BYTES: usize = 262_144;
/// Largest total of the values one `Assign` sets (AWS: 256 KiB).
pub const MAX_ASSIGN_BYTES: usize = 262_144;
/// Largest total of all variables an execution holds at once (AWS: 10 MiB).
pub const MAX_TOTAL_BYTES: usize = 10 * 1024 * 1024;
/// Longest variable name (AWS: 80 characters).
pub const MAX_NAME_CHARS: usize = 80;

/// Variables a state assigned, in `Assign` order.
pub type Assigned = Map<String, Value>;

/// The key under which the leader-stamped time of the step rides along (JSONata's `$now()`).
pub const NOW_KEY: &str = "\u{0}now_ms";

/// The context value with `vars` and the stamped time attached.
pub fn with_variables(mut context: Value, vars: &Map<String, Value>, now_ms: i64) -> Value {
    if let Value::Object(m) = &mut context {
        if !vars.is_empty() {
            m.insert(VARS_KEY.into(), Value::Object(vars.clone()));
        }
        m.insert(NOW_KEY.into(), Value::from(now_ms));
    }
    context
}

/// The context value as a user sees it (`$$`, `$states.context`): without the hidden keys.
pub fn without_variables(context: &Value) -> Value {
    match context {
        Value::Object(m) if m.keys().any(|k| k.starts_with('\u{0}')) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with('\u{0}'))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The variables riding in a context value.
pub fn visible(context: &Value) -> Option<&Map<String, Value>> {
    context.get(VARS_KEY).and_then(Value::as_object)
}

/// A variable name AWS accepts: a letter or `_`, then letters, digits or `_`, at most 80 characters;
/// `states` is reserved.
pub fn name_problem(name: &str) -> Option<String> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_alphabetic() || c == '_');
    if !first_ok || !chars.all(|c| c.is_alphanumeric() || c == '_') {
        return Some(format!("The variable name '{name}' is invalid: a name starts with a letter or '_' and contains only letters, digits and '_'"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Some(format!(
            "The variable name '{name}' is longer than {MAX_NAME_CHARS} characters"
        ));
    }
    if name == "states" {
        return Some("The variable name 'states' is reserved".into());
    }
    None
}

/// Evaluates a JSONPath-dialect `Assign` object: `.$` keys take a path, `$name` or intrinsic against
/// `input` (`$`) and `context` (`$$`, carrying the variables); other values are constants.
pub fn assign_jsonpath(
    assign: &Value,
    input: &Value,
    context: &Value,
    entropy: &mut Entropy,
) -> Result<Assigned, StatesError> {
    match apply_template(assign, input, context, entropy)? {
        Value::Object(m) => Ok(m),
        _ => Ok(Map::new()),
    }
}

/// The size rules: each value at most 256 KiB, one Assign at most 256 KiB in all, and all the
/// variables the thread sees after it (its own and its outer scopes') at most 10 MiB.
pub fn check_sizes(
    assigned: &Assigned,
    current: &Map<String, Value>,
    outer: &Map<String, Value>,
) -> Result<(), StatesError> {
    let mut total = 0;
    for (name, v) in assigned {
        let n = json_text(v).len();
        if n > MAX_VARIABLE_BYTES {
            return Err(StatesError::DataLimitExceeded(format!(
                "The variable '{name}' has a value of {n} bytes, which exceeds the maximum size limit of {MAX_VARIABLE_BYTES} bytes."
            )));
        }
        total += n;
    }
    if total > MAX_ASSIGN_BYTES {
        return Err(StatesError::DataLimitExceeded(format!(
            "The variables assigned by the state have a total of {total} bytes, which exceeds the maximum size limit of {MAX_ASSIGN_BYTES} bytes."
        )));
    }
    let all: usize = current
        .iter()
        .chain(outer)
        .filter(|(k, _)| !assigned.contains_key(*k))
        .map(|(_, v)| json_text(v).len())
        .sum::<usize>()
        + total;
    if all > MAX_TOTAL_BYTES {
        return Err(StatesError::DataLimitExceeded(format!(
            "The variables of the execution would have a total of {all} bytes, which exceeds the maximum size limit of {MAX_TOTAL_BYTES} bytes."
        )));
    }
    Ok(())
}

/// A Parallel branch or Map iteration reads its outer scope's variables but may not assign them.
pub fn check_scope(assigned: &Assigned, outer: &Map<String, Value>) -> Result<(), StatesError> {
    match assigned.keys().find(|k| outer.contains_key(*k)) {
        Some(name) => Err(StatesError::Runtime(format!(
            "The variable '{name}' belongs to an outer scope: a Parallel branch or Map iteration cannot assign it."
        ))),
        None => Ok(()),
    }
}

/// Adds `assignedVariables` (each value as JSON text) and `assignedVariablesDetails` to a
/// `stateExitedEventDetails` object, as AWS writes them.
pub fn add_to_exit_details(details: &mut Value, assigned: &Assigned) {
    if let Value::Object(d) = details {
        let texts: Map<String, Value> = assigned
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(json_text(v))))
            .collect();
        d.insert("assignedVariables".into(), Value::Object(texts));
        d.insert(
            "assignedVariablesDetails".into(),
            json!({"truncated": false}),
        );
    }
}

/// A state's output and the variables it assigns, for a state with a result (Pass, Task, Parallel,
/// Map) in either language: JSONPath runs ResultSelector, `Assign` on the selected result, then
/// ResultPath and OutputPath; JSONata evaluates `Output` and `Assign` with `$states.result`.
pub fn output_and_assign(
    state: &State,
    raw_input: &Value,
    result: &Value,
    context: &Value,
    entropy: &mut Entropy,
) -> Result<(Value, Option<Assigned>), StatesError> {
    if state.jsonata.is_some() {
        return crate::jsonata::output_and_assign(
            state,
            raw_input,
            Some(result),
            None,
            context,
            entropy,
        );
    }
    let selected = match &state.result_selector {
        Some(t) => apply_template(t, result, context, entropy)?,
        None => result.clone(),
    };
    let assigned = match &state.assign {
        Some(a) => Some(assign_jsonpath(a, &selected, context, entropy)?),
        None => None,
    };
    let merged = dataflow::apply_result_path(&state.result_path, raw_input, selected)?;
    let out = dataflow::apply_path(&state.output_path, "OutputPath", &merged, context)?;
    dataflow::check_size(&out, "output")?;
    Ok((out, assigned))
}

/// A Choice or Wait state's output and assigned variables, from its effective input (JSONPath) or raw
/// input (JSONata). `fields` are the Assign (and JSONata Output) that apply: the state's own, or a
/// matched Choice rule's (`jsonata::step_fields`).
pub fn pass_through_and_assign(
    state: &State,
    raw_input: &Value,
    effective_input: &Value,
    fields: crate::jsonata::Fields,
    context: &Value,
    entropy: &mut Entropy,
) -> Result<(Value, Option<Assigned>), StatesError> {
    if state.jsonata.is_some() {
        return crate::jsonata::pass_through_and_assign(raw_input, fields, context, entropy);
    }
    let assigned = match fields.assign {
        Some(a) => Some(assign_jsonpath(a, effective_input, context, entropy)?),
        None => None,
    };
    let out = dataflow::apply_path(&state.output_path, "OutputPath", effective_input, context)?;
    dataflow::check_size(&out, "output")?;
    Ok((out, assigned))
}

#[cfg(test)]
#[path = "variables_test.rs"]
mod variables_test;
