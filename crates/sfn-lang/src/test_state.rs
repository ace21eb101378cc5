//! TestState: runs one state against an input, as AWS's `TestState` action does, and reports the
//! outcome (`SUCCEEDED`, `FAILED`, `RETRIABLE`, `CAUGHT_ERROR`), the output, the next state and, at
//! `DEBUG` and `TRACE`, the data after each processing step (`inspectionData`).
//!
//! The state is either a whole state machine with `stateName`, or one state's JSON (made into a
//! one-state machine for validation, its `Next` targets stand-ins). Task states (activities here),
//! Parallel and Map run nothing: they need a `mock` — a result, or an error that goes through the
//! state's Retry (with `retrierRetryCount` retries already made) and Catch. Which fields appear in
//! `inspectionData` follows AWS's answers as recorded from the real service (a Pass state with
//! `Result` reports `result` and no `afterInputPath` / `afterParameters`; Choice, Wait, Succeed and
//! Fail report `afterInputPath`). Pure: the caller gives the time and the random draw.

use serde_json::{json, Map, Value};

use crate::choice;
use crate::context::Context;
use crate::dataflow::{self, apply_path, apply_result_path, apply_template};
use crate::definition::{Definition, State, StateKind, Transition};
use crate::entropy::Entropy;
use crate::error::{json_text, StatesError};
use crate::retry::{self, RetryDecision};
use crate::wait;

/// How much TestState reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Debug,
    Trace,
}

/// A mocked outcome of a Task, Parallel or Map state.
#[derive(Debug, Clone, PartialEq)]
pub enum Mock {
    /// The result, as JSON text.
    Result(String),
    /// An error and its cause.
    Error { error: String, cause: String },
}

/// What TestState is asked.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub definition: &'a str,
    pub state_name: Option<&'a str>,
    /// The state's input, JSON text (`{}` when absent).
    pub input: Option<&'a str>,
    pub level: Level,
    pub mock: Option<Mock>,
    /// The context object (`$$`) to use, JSON text; a made-up execution's when absent.
    pub context: Option<&'a str>,
    /// Retries already made by the retrier that matches the (mocked) error.
    pub retrier_retry_count: u32,
    pub now_ms: i64,
    /// The workflow variables the state sees, JSON text of an object (`variables`).
    pub variables: Option<&'a str>,
}

/// A request TestState refuses, with the error code AWS answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    InvalidDefinition(String),
    InvalidExecutionInput(String),
    Validation(String),
}

/// The name a lone state is tested under.
const LONE_STATE: &str = "TestState";

/// Finds the state to test: `state_name` in a whole machine, or the one state given.
fn the_state(req: &Request<'_>) -> Result<State, Refusal> {
    let refuse = |e: crate::InvalidDefinition| Refusal::InvalidDefinition(e.to_string());
    if let Some(name) = req.state_name {
        let def = Definition::parse(req.definition).map_err(refuse)?;
        return def.state(name).cloned().ok_or_else(|| {
            Refusal::Validation(format!(
                "State '{name}' does not exist in the state machine definition"
            ))
        });
    }
    let state: Value = serde_json::from_str(req.definition).map_err(|e| {
        Refusal::InvalidDefinition(format!(
            "Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: {e}'"
        ))
    })?;
    let Some(obj) = state.as_object() else {
        return Err(Refusal::InvalidDefinition(
            "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: the state must be a JSON object'".into(),
        ));
    };
    // Every state it can go to exists, as a stand-in, so the one-state machine validates.
    let mut targets: Vec<String> = Vec::new();
    let mut push = |v: Option<&Value>| {
        if let Some(t) = v.and_then(Value::as_str) {
            targets.push(t.to_string());
        }
    };
    push(obj.get("Next"));
    push(obj.get("Default"));
    for key in ["Choices", "Catch"] {
        for item in obj.get(key).and_then(Value::as_array).into_iter().flatten() {
            push(item.get("Next"));
        }
    }
    let mut states = Map::new();
    states.insert(LONE_STATE.into(), state.clone());
    for t in targets {
        if t != LONE_STATE {
            states.insert(t, json!({"Type": "Succeed"}));
        }
    }
    let machine = json!({"StartAt": LONE_STATE, "States": states});
    let def = Definition::parse(&machine.to_string()).map_err(refuse)?;
    def.state(LONE_STATE)
        .cloned()
        .ok_or_else(|| Refusal::Validation("no state to test".into()))
}

/// The outcome, in the shape of `TestStateOutput`.
struct Report {
    level: Level,
    inspection: Map<String, Value>,
    /// The variables after the state (given ones, then what it assigned).
    variables: Map<String, Value>,
}

impl Report {
    /// Records what the state assigned (`inspectionData.variables`: every variable after the state).
    fn assigned(
        &mut self,
        assigned: Option<crate::variables::Assigned>,
    ) -> Result<(), StatesError> {
        let Some(a) = assigned else { return Ok(()) };
        crate::variables::check_sizes(&a, &self.variables, &Map::new())?;
        self.variables.extend(a);
        let all = Value::Object(self.variables.clone());
        self.note("variables", &all);
        Ok(())
    }

    fn note(&mut self, field: &str, v: &Value) {
        self.inspection.insert(field.into(), json!(json_text(v)));
    }

    fn finish(self, mut out: Value) -> Value {
        if self.level != Level::Info {
            out["inspectionData"] = Value::Object(self.inspection);
        }
        out
    }
}

/// Runs TestState.
pub fn test_state(req: &Request<'_>, entropy: &mut Entropy) -> Result<Value, Refusal> {
    let state = the_state(req)?;
    let input: Value = serde_json::from_str(req.input.unwrap_or("{}")).map_err(|_| {
        Refusal::InvalidExecutionInput(
            "Invalid State Machine Execution Input: 'Invalid execution input.'".into(),
        )
    })?;
    let context = match req.context {
        Some(text) => serde_json::from_str(text)
            .map_err(|_| Refusal::Validation("The context must be a JSON object".into()))?,
        None => Context {
            execution_id: "arn:aws:states:us-east-1:000000000000:execution:TestState:test".into(),
            execution_input: input.clone(),
            execution_name: "test".into(),
            execution_role_arn: String::new(),
            execution_start_time: crate::interpret::rfc3339(req.now_ms),
            state_name: req.state_name.unwrap_or(LONE_STATE).into(),
            state_entered_time: crate::interpret::rfc3339(req.now_ms),
            state_retry_count: req.retrier_retry_count,
            state_machine_id: "arn:aws:states:us-east-1:000000000000:stateMachine:TestState".into(),
            state_machine_name: "TestState".into(),
            task_token: None,
            map_item: None,
            ..Context::default()
        }
        .to_value(),
    };
    let variables = match req.variables {
        None => Map::new(),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => m,
            _ => {
                return Err(Refusal::Validation(
                    "The variables must be a JSON object".into(),
                ))
            }
        },
    };
    if let Some(bad) = variables
        .keys()
        .find_map(|k| crate::variables::name_problem(k))
    {
        return Err(Refusal::Validation(bad));
    }
    let context = crate::variables::with_variables(context, &variables, req.now_ms);
    let mocked = matches!(
        state.kind,
        StateKind::Task(_) | StateKind::Parallel { .. } | StateKind::Map(_)
    );
    if mocked && req.mock.is_none() {
        return Err(Refusal::Validation(format!(
            "TestState runs a {} state only with a mock (this server runs no service integrations, and activity tasks need a worker)",
            state.type_name()
        )));
    }
    let mut report = Report {
        level: req.level,
        inspection: Map::new(),
        variables,
    };
    report.note("input", &input);
    let outcome = if state.jsonata.is_some() {
        run_jsonata(&state, &input, &context, req, entropy, &mut report)
    } else {
        run(&state, &input, &context, req, entropy, &mut report)
    };
    let out = match outcome {
        Ok(Ran::Done {
            output,
            next,
            error,
        }) => {
            let mut out = json!({"status": if error.is_some() { "FAILED" } else { "SUCCEEDED" }});
            if let Some(o) = output {
                out["output"] = json!(json_text(&o));
            }
            if let Some(n) = next {
                out["nextState"] = json!(n);
            }
            if let Some((e, c)) = error {
                out["error"] = json!(e);
                out["cause"] = json!(c);
            }
            out
        }
        Ok(Ran::Errored { error, cause }) => on_error(
            &state,
            &input,
            &error,
            &cause,
            req,
            &context,
            entropy,
            &mut report,
        ),
        Err(e) => on_error(
            &state,
            &input,
            e.name(),
            e.cause(),
            req,
            &context,
            entropy,
            &mut report,
        ),
    };
    Ok(report.finish(out))
}

/// How the state ran.
enum Ran {
    /// It ended: an output and a next state, or a Fail state's error and cause.
    Done {
        output: Option<Value>,
        next: Option<String>,
        error: Option<(String, String)>,
    },
    /// A mocked error, for Retry and Catch.
    Errored { error: String, cause: String },
}

fn next_of(state: &State) -> Option<String> {
    match &state.transition {
        Transition::Next(n) => Some(n.clone()),
        _ => None,
    }
}

fn done(output: Value, next: Option<String>) -> Ran {
    Ran::Done {
        output: Some(output),
        next,
        error: None,
    }
}

fn run(
    state: &State,
    input: &Value,
    context: &Value,
    req: &Request<'_>,
    entropy: &mut Entropy,
    report: &mut Report,
) -> Result<Ran, StatesError> {
    match &state.kind {
        StateKind::Pass { result } => {
            let result = match result {
                Some(r) => {
                    report.note("result", r);
                    r.clone()
                }
                None => {
                    let after = apply_path(&state.input_path, "InputPath", input, context)?;
                    report.note("afterInputPath", &after);
                    let params = match &state.parameters {
                        Some(t) => apply_template(t, &after, context, entropy)?,
                        None => after,
                    };
                    report.note("afterParameters", &params);
                    params
                }
            };
            report.note("afterResultSelector", &result);
            if let Some(a) = &state.assign {
                let assigned = crate::variables::assign_jsonpath(a, &result, context, entropy)?;
                report.assigned(Some(assigned))?;
            }
            let merged = apply_result_path(&state.result_path, input, result)?;
            report.note("afterResultPath", &merged);
            let out = apply_path(&state.output_path, "OutputPath", &merged, context)?;
            Ok(done(out, next_of(state)))
        }
        StateKind::Task(_) | StateKind::Parallel { .. } | StateKind::Map(_) => {
            let after = apply_path(&state.input_path, "InputPath", input, context)?;
            report.note("afterInputPath", &after);
            let effective = match &state.parameters {
                Some(t) => apply_template(t, &after, context, entropy)?,
                None => after,
            };
            report.note("afterParameters", &effective);
            let result = match &req.mock {
                Some(Mock::Result(text)) => serde_json::from_str::<Value>(text).map_err(|_| {
                    StatesError::Runtime(format!("The mocked result is not JSON: {text}"))
                })?,
                Some(Mock::Error { error, cause }) => {
                    return Ok(Ran::Errored {
                        error: error.clone(),
                        cause: cause.clone(),
                    })
                }
                None => return Err(StatesError::Runtime("no mock".into())),
            };
            report.note("result", &result);
            let selected = match &state.result_selector {
                Some(t) => apply_template(t, &result, context, entropy)?,
                None => result,
            };
            report.note("afterResultSelector", &selected);
            if let Some(a) = &state.assign {
                let assigned = crate::variables::assign_jsonpath(a, &selected, context, entropy)?;
                report.assigned(Some(assigned))?;
            }
            let merged = apply_result_path(&state.result_path, input, selected)?;
            report.note("afterResultPath", &merged);
            let out = apply_path(&state.output_path, "OutputPath", &merged, context)?;
            dataflow::check_size(&out, "output")?;
            Ok(done(out, next_of(state)))
        }
        StateKind::Choice { choices, default } => {
            let after = apply_path(&state.input_path, "InputPath", input, context)?;
            report.note("afterInputPath", &after);
            let (next, assign) = match choice::choose_index(choices, &after, context)? {
                Some(i) => (choices[i].next.clone(), choices[i].assign.as_ref()),
                None => match default {
                    Some(d) => (d.clone(), state.assign.as_ref()),
                    None => return Err(choice::no_choice_matched(&after)),
                },
            };
            if let Some(a) = assign {
                let assigned = crate::variables::assign_jsonpath(a, &after, context, entropy)?;
                report.assigned(Some(assigned))?;
            }
            let out = apply_path(&state.output_path, "OutputPath", &after, context)?;
            Ok(done(out, Some(next)))
        }
        StateKind::Wait(spec) => {
            let after = apply_path(&state.input_path, "InputPath", input, context)?;
            report.note("afterInputPath", &after);
            wait::due_time(spec, &after, context, req.now_ms)?;
            if let Some(a) = &state.assign {
                let assigned = crate::variables::assign_jsonpath(a, &after, context, entropy)?;
                report.assigned(Some(assigned))?;
            }
            let out = apply_path(&state.output_path, "OutputPath", &after, context)?;
            Ok(done(out, next_of(state)))
        }
        StateKind::Succeed => {
            let after = apply_path(&state.input_path, "InputPath", input, context)?;
            report.note("afterInputPath", &after);
            let out = apply_path(&state.output_path, "OutputPath", &after, context)?;
            Ok(done(out, None))
        }
        StateKind::Fail(fail) => {
            let after = apply_path(&state.input_path, "InputPath", input, context)?;
            report.note("afterInputPath", &after);
            let (error, cause) = dataflow::fail_error_cause(fail, &after, context, entropy)?;
            Ok(Ran::Done {
                output: None,
                next: None,
                error: Some((error.unwrap_or_default(), cause.unwrap_or_default())),
            })
        }
    }
}

/// A JSONata state: `Arguments` (reported as `afterArguments`), the mocked result for Task,
/// Parallel and Map, then `Output` and `Assign` (`variables`).
fn run_jsonata(
    state: &State,
    input: &Value,
    context: &Value,
    req: &Request<'_>,
    entropy: &mut Entropy,
    report: &mut Report,
) -> Result<Ran, StatesError> {
    use crate::jsonata;
    use crate::variables;
    match &state.kind {
        StateKind::Task(_) | StateKind::Parallel { .. } | StateKind::Map(_) => {
            if matches!(state.kind, StateKind::Map(_)) {
                if let StateKind::Map(map) = &state.kind {
                    let items = jsonata::map_items(state, map, input, input, context, entropy)?;
                    report.note("afterItemsPath", &Value::Array(items));
                }
            } else {
                let args = dataflow::effective_input(state, input, context, entropy)?;
                report.note("afterArguments", &args);
            }
            let result = match &req.mock {
                Some(Mock::Result(text)) => serde_json::from_str::<Value>(text).map_err(|_| {
                    StatesError::Runtime(format!("The mocked result is not JSON: {text}"))
                })?,
                Some(Mock::Error { error, cause }) => {
                    return Ok(Ran::Errored {
                        error: error.clone(),
                        cause: cause.clone(),
                    })
                }
                None => return Err(StatesError::Runtime("no mock".into())),
            };
            report.note("result", &result);
            let (out, assigned) =
                variables::output_and_assign(state, input, &result, context, entropy)?;
            report.assigned(assigned)?;
            Ok(done(out, next_of(state)))
        }
        StateKind::Pass { .. } => {
            let (out, assigned) =
                variables::output_and_assign(state, input, input, context, entropy)?;
            report.assigned(assigned)?;
            Ok(done(out, next_of(state)))
        }
        StateKind::Choice { choices, default } => {
            let (next, rule) =
                match jsonata::choose(state, choices, input, input, context, entropy)? {
                    Some(i) => (choices[i].next.clone(), Some(&choices[i])),
                    None => match default {
                        Some(d) => (d.clone(), None),
                        None => return Err(choice::no_choice_matched(input)),
                    },
                };
            let (out, assigned) = variables::pass_through_and_assign(
                state,
                input,
                input,
                jsonata::step_fields(state, rule),
                context,
                entropy,
            )?;
            report.assigned(assigned)?;
            Ok(done(out, Some(next)))
        }
        StateKind::Wait(spec) => {
            jsonata::due_time(state, spec, input, input, context, req.now_ms, entropy)?;
            let (out, assigned) = variables::pass_through_and_assign(
                state,
                input,
                input,
                jsonata::step_fields(state, None),
                context,
                entropy,
            )?;
            report.assigned(assigned)?;
            Ok(done(out, next_of(state)))
        }
        StateKind::Succeed => {
            let out = dataflow::state_output(state, input, input, context, entropy)?;
            Ok(done(out, None))
        }
        StateKind::Fail(fail) => {
            let (error, cause) = jsonata::fail_error_cause(state, fail, input, context, entropy)?;
            Ok(Ran::Done {
                output: None,
                next: None,
                error: Some((error.unwrap_or_default(), cause.unwrap_or_default())),
            })
        }
    }
}

/// An error in the state: retried (`RETRIABLE`), caught (`CAUGHT_ERROR`, the catcher's next state
/// and output) or not (`FAILED`).
#[allow(clippy::too_many_arguments)]
fn on_error(
    state: &State,
    input: &Value,
    error: &str,
    cause: &str,
    req: &Request<'_>,
    context: &Value,
    entropy: &mut Entropy,
    report: &mut Report,
) -> Value {
    let mut out = json!({"error": error, "cause": cause});
    let attempts = vec![req.retrier_retry_count; state.retry.len()];
    if let RetryDecision::Retry { retrier, delay_ms } =
        retry::next_retry(&state.retry, &attempts, error, 1.0)
    {
        report.inspection.insert(
            "errorDetails".into(),
            json!({"retryIndex": retrier, "retryBackoffIntervalSeconds": delay_ms / 1000}),
        );
        out["status"] = json!("RETRIABLE");
        return out;
    }
    if let Some((i, c)) = state
        .catch
        .iter()
        .enumerate()
        .find(|(_, c)| retry::error_matches(&c.error_equals, error))
    {
        let caught = crate::jsonata::catch_output_and_assign(
            state, c, input, error, cause, context, entropy,
        )
        .and_then(|(v, assigned)| report.assigned(assigned).map(|_| v));
        if let Ok(v) = caught {
            report
                .inspection
                .insert("errorDetails".into(), json!({"catchIndex": i}));
            out["status"] = json!("CAUGHT_ERROR");
            out["nextState"] = json!(c.next);
            out["output"] = json!(json_text(&v));
            return out;
        }
    }
    out["status"] = json!("FAILED");
    out
}

#[cfg(test)]
#[path = "test_state_test.rs"]
mod test_state_test;
