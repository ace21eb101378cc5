//! The recorded history of a run: every client call with its invoke and complete times, the node it
//! went to, its outcome, and the facts the checkers need about it (`OpKey`). Recording is append-only
//! and shared by all workload tasks.

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// How a call ended, from the client's point of view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "detail", rename_all = "snake_case")]
pub enum Outcome {
    /// HTTP 200: the call was committed and applied.
    Ok,
    /// A modelled SWF fault (HTTP 4xx with `__type`): nothing was applied.
    Fault(String),
    /// The request never reached a server (connection refused): nothing was applied.
    Fail(String),
    /// Timeout, lost connection or 5xx: it may or may not have been applied.
    Indeterminate(String),
}

impl Outcome {
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok)
    }
    pub fn is_indeterminate(&self) -> bool {
        matches!(self, Outcome::Indeterminate(_))
    }
    /// The short name used in the report's counts.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Fault(_) => "fault",
            Outcome::Fail(_) => "fail",
            Outcome::Indeterminate(_) => "indeterminate",
        }
    }
}

/// What a call was about: the facts the checkers match against the final state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "key", rename_all = "snake_case")]
pub enum OpKey {
    /// Anything the checkers do not look at (registrations, empty polls, reads).
    Other,
    /// StartWorkflowExecution; `run_id` is known when it answered ok.
    Start {
        workflow_id: String,
        input: String,
        run_id: Option<String>,
    },
    /// SignalWorkflowExecution with a unique input.
    Signal { workflow_id: String, input: String },
    /// RequestCancelWorkflowExecution.
    RequestCancel { workflow_id: String },
    /// A poll that returned a task (decision or activity): the attempt it was handed.
    Delivered {
        kind: TaskKind,
        run_id: String,
        started_event_id: i64,
        /// The activity id (activity tasks only).
        activity_id: Option<String>,
    },
    /// RespondDecisionTaskCompleted for the attempt `started_event_id`, with `decisions` decisions.
    CompleteDecision {
        run_id: String,
        started_event_id: i64,
        decisions: usize,
    },
    /// RespondActivityTaskCompleted with a unique result.
    CompleteActivity {
        run_id: String,
        started_event_id: i64,
        result: String,
    },
    /// RecordActivityTaskHeartbeat.
    Heartbeat {
        run_id: String,
        started_event_id: i64,
    },
}

/// Decision or activity task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    Decision,
    Activity,
}

/// One client call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Op {
    /// The workload task that made it (`decider-2`, `worker-0`, `starter` ...).
    pub process: String,
    pub action: String,
    /// Index of the node it was sent to (0-based).
    pub node: usize,
    /// Epoch milliseconds.
    pub invoke_ms: f64,
    pub complete_ms: f64,
    pub outcome: Outcome,
    #[serde(flatten)]
    pub key: OpKey,
}

/// Milliseconds since the Unix epoch, as a float.
pub fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

/// The shared, append-only recorder.
#[derive(Clone, Default)]
pub struct Recorder {
    ops: Arc<Mutex<Vec<Op>>>,
}

impl Recorder {
    pub fn record(&self, op: Op) {
        self.ops.lock().expect("recorder lock").push(op);
    }

    /// A copy of everything recorded so far, in completion order.
    pub fn snapshot(&self) -> Vec<Op> {
        self.ops.lock().expect("recorder lock").clone()
    }
}
