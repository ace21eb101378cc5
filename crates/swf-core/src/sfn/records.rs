//! The stored forms of Step Functions resources: activities, state machines and executions (with the
//! interpreter's `ExecutionState`, the execution's open activity tasks, timers and closed tasks), and
//! the counts the quotas are checked against.
//! Stored as JSON in the `sfn` keyspace (`keys`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sfn_lang::interpret::ExecutionState;
use swf_types::Timestamp;

/// A resource tag (`Tag` of the model).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub value: String,
}

/// An activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    pub arn: String,
    pub name: String,
    pub created: Timestamp,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// A state machine (STANDARD or EXPRESS).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateMachine {
    pub arn: String,
    pub name: String,
    pub definition: String,
    pub role_arn: String,
    pub created: Timestamp,
    /// Last UpdateStateMachine (the creation date before any).
    pub updated: Timestamp,
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// The current revision: none until the first UpdateStateMachine that changes something (AWS's
    /// `INITIAL`), then a UUID stamped by the leader for each change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_id: Option<String>,
    /// Published versions still there, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<u64>,
    /// The number the next published version gets (numbers are never reused); 0 means 1.
    #[serde(default, skip_serializing_if = "crate::state::is_zero_u64")]
    pub next_version: u64,
    /// Names of its aliases.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Whether it is an EXPRESS state machine (`type: EXPRESS`; absent: STANDARD).
    #[serde(default, skip_serializing_if = "crate::state::is_false")]
    pub express: bool,
    /// The `loggingConfiguration` it was created with, echoed by DescribeStateMachine (absent:
    /// level `OFF`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<serde_json::Value>,
    /// The `tracingConfiguration` it was created with (absent: disabled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<serde_json::Value>,
}

impl StateMachine {
    /// Its `type` as the API shows it.
    pub fn type_name(&self) -> &'static str {
        if self.express {
            "EXPRESS"
        } else {
            "STANDARD"
        }
    }
}

/// A published version of a state machine: the definition and role of one revision, immutable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Version {
    pub arn: String,
    pub state_machine_arn: String,
    pub number: u64,
    pub definition: String,
    pub role_arn: String,
    /// The revision it was published from (`None`: the initial one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub created: Timestamp,
}

/// One version an alias routes to, with its share of the executions (percent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    pub state_machine_version_arn: String,
    pub weight: u64,
}

/// An alias of a state machine: one or two versions with weights that add up to 100.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alias {
    pub arn: String,
    pub name: String,
    pub state_machine_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub routing: Vec<Route>,
    pub created: Timestamp,
    pub updated: Timestamp,
}

/// How a closed activity task ended, for the answer to a late Send* call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskEnd {
    /// Succeeded or failed through SendTaskSuccess / SendTaskFailure.
    Done,
    /// Its timeout or heartbeat timeout fired, or the execution stopped or moved on without it.
    TimedOut,
}

/// An activity task scheduled and not closed yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenTask {
    pub activity_arn: String,
    /// The effective input, as JSON text.
    pub input: String,
    /// Log index that queued it (its place in the queue).
    pub seq: u64,
    pub started: bool,
    /// Due time (ms) of the task's TimeoutSeconds, if any.
    pub timeout_due: Option<i64>,
    pub heartbeat_seconds: Option<u64>,
    /// Due time (ms) of the heartbeat timeout, armed at start and moved by each heartbeat.
    pub heartbeat_due: Option<i64>,
    /// Whether the token handed out at start was signed (see `ActivityState::token_signed`).
    #[serde(default, skip_serializing_if = "crate::state::is_false")]
    pub token_signed: bool,
}

/// An execution (of a STANDARD or an EXPRESS state machine).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    pub arn: String,
    pub name: String,
    pub state_machine_arn: String,
    /// The definition it runs (UpdateStateMachine does not change a running execution). In memory
    /// always the text; stored empty when `definition_id` names the shared stored copy
    /// (`stored_definitions`), as every execution started since that form exists does.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub definition: String,
    /// The content id of the stored definition it runs (`keys::definition`), if it is stored apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition_id: Option<String>,
    pub role_arn: String,
    /// The state machine's update date when the execution started.
    pub state_machine_updated: Timestamp,
    pub input: String,
    /// `ExecutionStatus`: RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED.
    pub status: String,
    pub started: Timestamp,
    pub stopped: Option<Timestamp>,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// The interpreter's position.
    pub state: ExecutionState,
    /// Open activity tasks by task id (the ActivityScheduled event id).
    #[serde(default)]
    pub tasks: BTreeMap<u64, OpenTask>,
    /// Closed activity tasks, for the answer to a late Send* call.
    #[serde(default)]
    pub closed_tasks: BTreeMap<u64, TaskEnd>,
    /// Armed timers (Wait states, retry back-offs): id → due (ms).
    #[serde(default)]
    pub timers: BTreeMap<u64, i64>,
    /// Due time (ms) of the machine's TimeoutSeconds.
    #[serde(default)]
    pub timeout_due: Option<i64>,
    /// When a closed execution is removed (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_due: Option<i64>,
    /// The version it runs, when started by a version or alias ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_arn: Option<String>,
    /// The alias it was started through, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias_arn: Option<String>,
    /// The client tokens of its last successful redrives, newest last (RedriveExecution's
    /// idempotency; `redrive`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redrive_tokens: Vec<RedriveToken>,
    /// An execution of an EXPRESS state machine (`express:` ARN): no history is stored, it is not
    /// indexed for ListExecutions, and it is removed soon after it closes (`express::RETENTION_MS`).
    #[serde(default, skip_serializing_if = "crate::state::is_false")]
    pub express: bool,
    /// The execution whose nested-execution Task started it (`sfn::children`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<ParentLink>,
    /// The children of its `.sync` / `.sync:2` tasks still waited for: task id → child ARN.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub children: BTreeMap<u64, String>,
    /// Child starts asked for and not carried out yet: task id → what to start.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pending_children: BTreeMap<u64, PendingChild>,
    /// The Map Run that started it (a Distributed Map's child), listed under that ARN too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map_run_arn: Option<String>,
    /// The Map Runs it started, by run id (their MapRunStarted event ids): removed with it when it
    /// is purged. Records written before this field name none, and their runs stay.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub map_runs: Vec<u64>,
}

/// A client token RedriveExecution succeeded with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedriveToken {
    pub token: String,
    /// When it was first used (ms): it answers for 15 minutes from then.
    pub first_used_ms: i64,
    /// The redrive date it answers with.
    pub redrive_date: Timestamp,
}

/// The parent of a child execution: its ARN and the id of the task that started the child.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentLink {
    pub execution_arn: String,
    pub task_id: u64,
    /// Whether the parent waits for the child's end (`.sync`, `.sync:2`).
    #[serde(default)]
    pub notify: bool,
}

/// A child execution to start (from the interpreter's `Effect::StartChild`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingChild {
    pub mode: sfn_lang::nested::Mode,
    pub state_machine_arn: String,
    pub name: String,
    /// JSON text.
    pub input: String,
    pub seed: u64,
}

impl Execution {
    /// The ARNs whose ListExecutions lists it: the state machine's, and the version's and alias's it
    /// was started through.
    /// An Express execution is in no index (ListExecutions refuses EXPRESS state machines).
    pub fn index_scopes(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.state_machine_arn.as_str())
            .filter(|_| !self.express)
            .chain(self.version_arn.as_deref().filter(|_| !self.express))
            .chain(self.alias_arn.as_deref().filter(|_| !self.express))
            .chain(self.map_run_arn.as_deref())
    }

    /// Whether the execution still runs.
    pub fn is_running(&self) -> bool {
        self.status == "RUNNING"
    }
}

/// A definition stored once for every execution that runs it, with the number of executions (open or
/// kept closed) that refer to it; removed when the last of them is purged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredDefinition {
    pub text: String,
    pub refs: u64,
}

/// How many activities and state machines exist and how many executions are open, kept with every
/// change so the quotas (`Limits::sfn_max_*`) are checked without a scan. A data directory written
/// before the counts existed starts them at zero (the quotas then count from there).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Counts {
    pub activities: u64,
    pub state_machines: u64,
    pub open_executions: u64,
}
