//! The checkers: pure functions over the recorded client history (`Op`s) and the final state read
//! after healing (every execution's history, the replicas' digests, when healing ended). Each
//! invariant has its own module with unit tests on synthetic histories that show it catches its
//! violation.

pub mod availability;
pub mod delivery;
pub mod history_time;
pub mod indeterminate;
pub mod liveness;
pub mod lost;
pub mod replicas;
pub mod timeouts;
pub mod timeouts_reference;
pub mod validity;
pub mod vanished;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::history::Op;

/// One execution's final history.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunHistory {
    pub workflow_id: String,
    pub events: Vec<Value>,
}

/// One node's digest answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeDigest {
    pub node: usize,
    pub last_applied: Option<u64>,
    pub digest: Option<String>,
    /// The full answer (per column family counts and hashes), for evidence.
    pub raw: Value,
}

/// Everything read after healing.
#[derive(Debug, Clone, Default)]
pub struct FinalState {
    /// By run id.
    pub histories: BTreeMap<String, RunHistory>,
    /// The last digest read from every node (taken when all agreed on an index, or the last try).
    pub digests: Vec<NodeDigest>,
    /// When healing and quiescence ended (epoch ms).
    pub healed_ms: f64,
    /// How long after healing every workflow must have closed.
    pub liveness_bound_s: f64,
    /// Reads that failed (the state could not be fully checked).
    pub read_errors: Vec<String>,
}

/// A violation of an invariant, with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    pub invariant: String,
    pub evidence: Value,
}

/// What one checker looked at and found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub checked: u64,
    pub anomalies: Vec<Anomaly>,
}

impl Verdict {
    pub fn flag(&mut self, invariant: &str, evidence: Value) {
        self.anomalies.push(Anomaly {
            invariant: invariant.to_string(),
            evidence,
        });
    }
}

/// Names of the invariants, in report order.
pub const INVARIANTS: &[&str] = &[
    "no-lost-acknowledged-call",
    "single-delivery",
    "replicas-identical",
    "histories-valid",
    "liveness",
    "no-early-timeout",
    "indeterminate-consistent",
    "vanished-poll-recovered",
    "availability",
    "step-functions",
    "history-time",
];

/// Runs every checker; `availability` holds the fault windows' figures (see `availability::measure`).
pub fn check_all(
    ops: &[Op],
    fs: &FinalState,
    availability: &availability::Availability,
) -> BTreeMap<String, Verdict> {
    let mut out = BTreeMap::new();
    out.insert(INVARIANTS[0].to_string(), lost::check(ops, fs));
    out.insert(INVARIANTS[1].to_string(), delivery::check(ops, fs));
    out.insert(INVARIANTS[2].to_string(), replicas::check(fs));
    out.insert(INVARIANTS[3].to_string(), validity::check(fs));
    out.insert(INVARIANTS[4].to_string(), liveness::check(fs));
    out.insert(INVARIANTS[5].to_string(), timeouts::check(ops, fs));
    out.insert(INVARIANTS[6].to_string(), indeterminate::check(ops, fs));
    out.insert(INVARIANTS[7].to_string(), vanished::check(ops, fs));
    out.insert(INVARIANTS[8].to_string(), availability::check(availability));
    out.insert(INVARIANTS[10].to_string(), history_time::check(ops, fs));
    out
}

/// An event's type.
pub fn etype(e: &Value) -> &str {
    e["eventType"].as_str().unwrap_or("")
}

/// An event's attributes member (`<type>EventAttributes`).
pub fn attrs(e: &Value) -> &Value {
    let t = etype(e);
    let mut name = t.to_string();
    if let Some(first) = name.get_mut(0..1) {
        first.make_ascii_lowercase();
    }
    e.as_object()
        .and_then(|o| o.get(&format!("{name}EventAttributes")))
        .unwrap_or(&Value::Null)
}

/// Event timestamp in epoch milliseconds.
pub fn ts_ms(e: &Value) -> f64 {
    e["eventTimestamp"].as_f64().unwrap_or(0.0) * 1000.0
}

pub fn eid(e: &Value) -> i64 {
    e["eventId"].as_i64().unwrap_or(0)
}

/// Whether an event closes the execution.
pub fn is_close(t: &str) -> bool {
    matches!(
        t,
        "WorkflowExecutionCompleted"
            | "WorkflowExecutionFailed"
            | "WorkflowExecutionCanceled"
            | "WorkflowExecutionTerminated"
            | "WorkflowExecutionTimedOut"
            | "WorkflowExecutionContinuedAsNew"
    )
}

/// Synthetic histories for the checkers' tests.
#[cfg(test)]
pub mod testkit {
    use serde_json::{json, Value};

    use super::*;
    use crate::history::{OpKey, Outcome};

    /// An event with attributes, timestamp in seconds.
    pub fn ev(id: i64, t: &str, at: f64, a: Value) -> Value {
        let mut name = t.to_string();
        name[0..1].make_ascii_lowercase();
        let mut e = json!({"eventId": id, "eventType": t, "eventTimestamp": at});
        e[format!("{name}EventAttributes")] = a;
        e
    }

    pub fn op(action: &str, outcome: Outcome, key: OpKey, invoke_s: f64) -> Op {
        Op {
            process: "test".into(),
            action: action.into(),
            node: 0,
            invoke_ms: invoke_s * 1000.0,
            complete_ms: invoke_s * 1000.0 + 10.0,
            outcome,
            key,
        }
    }

    /// A small complete, valid history: start, a decision that schedules one activity, the activity
    /// completed, a decision that completes the workflow.
    pub fn good_run() -> Vec<Value> {
        vec![
            ev(
                1,
                "WorkflowExecutionStarted",
                0.0,
                json!({"input": "{}", "taskStartToCloseTimeout": "10", "executionStartToCloseTimeout": "900",
                    "childPolicy": "TERMINATE", "taskList": {"name": "d"}, "workflowType": {"name": "w", "version": "1"},
                    "parentInitiatedEventId": 0}),
            ),
            ev(
                2,
                "DecisionTaskScheduled",
                0.0,
                json!({"taskList": {"name": "d"}, "startToCloseTimeout": "10", "scheduleToStartTimeout": "NONE"}),
            ),
            ev(
                3,
                "DecisionTaskStarted",
                0.1,
                json!({"scheduledEventId": 2}),
            ),
            ev(
                4,
                "DecisionTaskCompleted",
                0.2,
                json!({"scheduledEventId": 2, "startedEventId": 3}),
            ),
            ev(
                5,
                "ActivityTaskScheduled",
                0.2,
                json!({"activityId": "a0", "activityType": {"name": "work", "version": "1"},
                    "decisionTaskCompletedEventId": 4, "taskList": {"name": "w"},
                    "startToCloseTimeout": "30", "heartbeatTimeout": "8"}),
            ),
            ev(
                6,
                "ActivityTaskStarted",
                0.3,
                json!({"scheduledEventId": 5}),
            ),
            ev(
                7,
                "ActivityTaskCompleted",
                0.5,
                json!({"scheduledEventId": 5, "startedEventId": 6, "result": "r:run1:6"}),
            ),
            ev(
                8,
                "DecisionTaskScheduled",
                0.5,
                json!({"taskList": {"name": "d"}, "startToCloseTimeout": "10", "scheduleToStartTimeout": "NONE"}),
            ),
            ev(
                9,
                "DecisionTaskStarted",
                0.6,
                json!({"scheduledEventId": 8}),
            ),
            ev(
                10,
                "DecisionTaskCompleted",
                0.7,
                json!({"scheduledEventId": 8, "startedEventId": 9}),
            ),
            ev(
                11,
                "WorkflowExecutionCompleted",
                0.7,
                json!({"decisionTaskCompletedEventId": 10, "result": "done"}),
            ),
        ]
    }

    pub fn state_with(runs: Vec<(&str, &str, Vec<Value>)>) -> FinalState {
        let mut fs = FinalState {
            healed_ms: 0.0,
            liveness_bound_s: 60.0,
            ..FinalState::default()
        };
        for (run, wid, events) in runs {
            fs.histories.insert(
                run.to_string(),
                RunHistory {
                    workflow_id: wid.to_string(),
                    events,
                },
            );
        }
        fs
    }
}
