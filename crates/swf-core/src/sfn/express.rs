//! EXPRESS state machines and their executions: the create-time refusals AWS makes for them
//! (activities, `.sync` and `.waitForTaskToken` integrations), the `express:` execution ARN, the
//! five-minute limit on an execution's duration, the short retention of a closed one,
//! StartSyncExecution's start (`StateMachineTypeNotSupported` on STANDARD) and the answer it gives
//! once the execution closed (`sync_output`, built on the node that took the call).
//!
//! An Express execution is the same replicated record and interpreter as a STANDARD one (so a leader
//! change loses nothing acknowledged), with three differences: no history events are stored (AWS
//! keeps none: DescribeExecution, StopExecution and GetExecutionHistory refuse an `express:` ARN with
//! `InvalidArn`, as `arn::parse` already does), it is not indexed for ListExecutions (which refuses
//! an EXPRESS state machine), and its record is removed [`RETENTION_MS`] after it closes.

use serde_json::{json, Map, Value};
use sfn_lang::interpret::{self, Effect};
use sfn_lang::validate::{invalid_definition_message, Diagnostic, Severity};
use sfn_lang::Entropy;
use swf_types::{Fault, FaultKind};

use super::command::StartExecutionInput;
use super::records::Execution;
use super::{executions, fault};
use crate::command::Outcome;
use crate::ctx::Ctx;
use crate::limits::Limits;
use crate::state::{Lookup, ReadError};

/// The longest an Express execution runs (AWS: five minutes); past it, it times out
/// (`States.Timeout`), durably, like a machine's TimeoutSeconds.
pub const MAX_DURATION_MS: i64 = 5 * 60 * 1000;

/// How long a closed Express execution's record stays: long enough for a StartSyncExecution
/// waiting on any node to read its outcome, after which it is removed (no API shows it).
pub const RETENTION_MS: i64 = 60 * 1000;

/// What StartSyncExecution on STANDARD, and ListExecutions of an EXPRESS state machine, answer
/// (ListExecutions' text as recorded from AWS in localstack's `test_sfn_api_express` snapshot;
/// AWS's text for StartSyncExecution was not found in any recording, it is taken to be the same).
pub fn not_supported() -> Fault {
    fault(
        FaultKind::StateMachineTypeNotSupported,
        "This operation is not supported by this type of state machine",
    )
}

/// The ARN of an Express execution: `express:<state machine>:<name>:<uuid>`, the UUID drawn from
/// the leader-stamped seed of its start (a stream apart from the execution's own randomness).
pub fn execution_arn(limits: &Limits, sm_name: &str, name: &str, seed: u64) -> String {
    let uuid = Entropy::new(seed ^ 0x5EED_E4E5_0000_0001).uuid();
    format!(
        "arn:aws:states:{}:{}:express:{sm_name}:{name}:{uuid}",
        limits.region, limits.account_id
    )
}

/// Whether `arn` names an Express execution (its resource type is `express`).
pub fn is_execution_arn(arn: &str) -> bool {
    arn.split(':').nth(5) == Some("express")
}

/// Bounds an Express execution's first step by [`MAX_DURATION_MS`]: the machine's TimeoutSeconds
/// when shorter, else a timeout at the limit.
pub(crate) fn cap_duration(out: &mut interpret::Outcome, now_ms: i64) {
    let limit = now_ms.saturating_add(MAX_DURATION_MS);
    for e in &mut out.effects {
        if let Effect::ArmExecutionTimeout { due_ms } = e {
            *due_ms = (*due_ms).min(limit);
            return;
        }
    }
    out.effects
        .push(Effect::ArmExecutionTimeout { due_ms: limit });
}

/// The faults AWS reports for a definition run as EXPRESS: an activity, a `.sync` or a
/// `.waitForTaskToken` Task resource anywhere (branches and Map processors included), as
/// `SCHEMA_VALIDATION_FAILED` at the resource's JSON pointer. Texts as recorded from AWS in
/// localstack's `test_sfn_api_express` snapshot (`test_illegal_activity_task`,
/// `test_illegal_callbacks`), including the two spaces of the `.waitForTaskToken` one. A text that
/// is not a JSON object has none (the definition's own check reports it).
pub fn diagnostics(text: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if let Ok(Value::Object(top)) = serde_json::from_str::<Value>(text) {
        if let Some(Value::Object(states)) = top.get("States") {
            walk(states, "/States", &mut out);
        }
    }
    out
}

fn walk(states: &Map<String, Value>, at: &str, out: &mut Vec<Diagnostic>) {
    for (name, state) in states {
        let here = format!("{at}/{}", pointer_escape(name));
        let Some(state) = state.as_object() else {
            continue;
        };
        match state.get("Type").and_then(Value::as_str) {
            Some("Task") => {
                if let Some(r) = state.get("Resource").and_then(Value::as_str) {
                    if let Some(message) = refusal(r) {
                        out.push(Diagnostic {
                            severity: Severity::Error,
                            code: "SCHEMA_VALIDATION_FAILED".into(),
                            message: message.into(),
                            location: format!("{here}/Resource"),
                        });
                    }
                }
            }
            Some("Parallel") => {
                if let Some(Value::Array(branches)) = state.get("Branches") {
                    for (i, b) in branches.iter().enumerate() {
                        if let Some(Value::Object(s)) = b.get("States") {
                            walk(s, &format!("{here}/Branches/{i}/States"), out);
                        }
                    }
                }
            }
            Some("Map") => {
                for field in ["ItemProcessor", "Iterator"] {
                    if let Some(Value::Object(s)) = state.get(field).and_then(|p| p.get("States")) {
                        walk(s, &format!("{here}/{field}/States"), out);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Why a Task resource cannot run in an Express state machine, if it cannot.
fn refusal(resource: &str) -> Option<&'static str> {
    if sfn_lang::validate::is_activity_arn(resource) {
        Some("Express state machine does not support Activity ARN")
    } else if resource.ends_with(".waitForTaskToken") {
        Some("Express state machine does not support '.waitForTaskToken' service integration ")
    } else if resource.ends_with(".sync") || resource.contains(".sync:") {
        Some("Express state machine does not support '.sync' service integration")
    } else {
        None
    }
}

/// A JSON pointer component (RFC 6901).
fn pointer_escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// The `InvalidDefinition` fault for a definition created or updated as EXPRESS, if refused.
pub(crate) fn check_definition(text: &str) -> Result<(), Fault> {
    let diags = diagnostics(text);
    if diags.is_empty() {
        Ok(())
    } else {
        Err(fault(
            FaultKind::InvalidDefinition,
            invalid_definition_message(&diags),
        ))
    }
}

/// StartSyncExecution's start: as StartExecution, for EXPRESS state machines only.
pub(super) fn start_sync<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    i: &StartExecutionInput,
    default_name: &str,
    seed: u64,
) -> Result<Outcome, ReadError> {
    executions::start_run(ctx, i, default_name, seed, true)
}

/// AWS's billed duration: the run time rounded up to the next 100 ms, at least 100 ms.
pub fn billed_duration_ms(start_ms: i64, stop_ms: i64) -> i64 {
    let ran = (stop_ms - start_ms).max(1);
    (ran + 99) / 100 * 100
}

/// StartSyncExecution's answer for a closed Express execution (`StartSyncExecutionOutput`):
/// `input` / `output` left out under `includedData: METADATA_ONLY`. The billed memory is AWS's
/// smallest unit (64 MB, as recorded from AWS for a small execution).
pub fn sync_output(x: &Execution, metadata_only: bool) -> Value {
    let stopped = x.stopped.unwrap_or(x.started);
    let mut v = json!({
        "executionArn": x.arn,
        "stateMachineArn": x.state_machine_arn,
        "name": x.name,
        "startDate": x.started,
        "stopDate": stopped,
        "status": x.status,
        "inputDetails": {"included": !metadata_only},
        "billingDetails": {
            "billedMemoryUsedInMB": 64,
            "billedDurationInMilliseconds": billed_duration_ms(x.started.0, stopped.0),
        },
    });
    if !metadata_only {
        v["input"] = json!(x.input);
    }
    if let Some(o) = &x.output {
        v["outputDetails"] = json!({"included": !metadata_only});
        if !metadata_only {
            v["output"] = json!(o);
        }
    }
    if let Some(e) = &x.error {
        v["error"] = json!(e);
    }
    if let Some(c) = &x.cause {
        v["cause"] = json!(c);
    }
    v
}
