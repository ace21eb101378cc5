//! The applied state the core reads and writes: records, the read interface a store provides
//! (`StateRead`), and the writes an applied command produces (`Write`). The store (RocksDB in
//! production, a `BTreeMap` in unit tests) decides how keys and values are laid out.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use swf_types::shapes::{
    ActivityType, ActivityTypeDetail, ChildPolicy, CloseStatus, DomainDetail, HistoryEvent,
    ResourceTag, WorkflowExecutionInfo, WorkflowType, WorkflowTypeDetail,
};
use swf_types::Timestamp;

/// A failure to read the store. Fatal for the node (the store is broken), never a client error.
#[derive(Debug, Clone, thiserror::Error)]
#[error("state read failed: {0}")]
pub struct ReadError(pub String);

/// Point reads of applied state: all that applying a command needs (`apply` is generic over this, so a
/// batch of commands can be applied through an overlay of the earlier commands' writes, see `overlay`).
pub trait Lookup {
    /// A domain by name.
    fn domain(&self, name: &str) -> Result<Option<DomainRecord>, ReadError>;
    /// Number of registered domains (deprecated ones included).
    fn domain_count(&self) -> Result<usize, ReadError>;
    /// A workflow type.
    fn workflow_type(
        &self,
        domain: &str,
        t: &WorkflowType,
    ) -> Result<Option<WorkflowTypeDetail>, ReadError>;
    /// An activity type.
    fn activity_type(
        &self,
        domain: &str,
        t: &ActivityType,
    ) -> Result<Option<ActivityTypeDetail>, ReadError>;
    /// The run id of the open execution with this workflow id, if any.
    fn open_run(&self, domain: &str, workflow_id: &str) -> Result<Option<String>, ReadError>;
    /// An execution by run id.
    fn execution(&self, run_id: &str) -> Result<Option<ExecutionRecord>, ReadError>;
    /// One history event of a run.
    fn event(&self, run_id: &str, event_id: i64) -> Result<Option<HistoryEvent>, ReadError>;
    /// The recorded outcome of the call `request_id` applied in the time bucket `bucket` (see `dedup`).
    fn request(&self, bucket: u64, request_id: &str) -> Result<Option<RequestRecord>, ReadError>;
    /// The bucket below which recorded calls have been forgotten (0: none yet).
    fn requests_forgotten_below(&self) -> Result<u64, ReadError>;
    /// A record of the Step Functions keyspace (`crate::sfn::keys`), as stored.
    fn sfn_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, ReadError>;
}

/// What the de-duplication table keeps of an applied call: enough to answer it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// The operation's name (`Op::name`): a request id reused for another operation is not a retry.
    pub op: String,
    pub reply: crate::command::Reply,
}

/// Read access to applied state: point reads plus the lists, scans and counts queries need.
pub trait StateRead: Lookup {
    /// All domains, sorted by name.
    fn domains(&self) -> Result<Vec<DomainRecord>, ReadError>;
    /// All workflow types of a domain, sorted by name then version.
    fn workflow_types(&self, domain: &str) -> Result<Vec<WorkflowTypeDetail>, ReadError>;
    /// All activity types of a domain, sorted by name then version.
    fn activity_types(&self, domain: &str) -> Result<Vec<ActivityTypeDetail>, ReadError>;
    /// Visibility rows with keys in `[lower, upper)`, up to `limit`, highest keys first when `reverse`.
    fn scan_visibility(
        &self,
        lower: &[u8],
        upper: &[u8],
        reverse: bool,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, WorkflowExecutionInfo)>, ReadError>;
    /// How many visibility rows have keys in `[lower, upper)`, counting at most `limit`.
    fn count_visibility(
        &self,
        lower: &[u8],
        upper: &[u8],
        limit: usize,
    ) -> Result<usize, ReadError>;
    /// How many tasks are queued on a task list, counting at most `limit`.
    fn count_queued(
        &self,
        domain: &str,
        kind: TaskKind,
        task_list: &str,
        limit: usize,
    ) -> Result<usize, ReadError>;
    /// Up to `limit` history events of a run, from `from` (inclusive) upward, or downward when `reverse`.
    fn history(
        &self,
        run_id: &str,
        from: i64,
        reverse: bool,
        limit: usize,
    ) -> Result<Vec<HistoryEvent>, ReadError>;
}

/// A registered domain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainRecord {
    /// What DescribeDomain returns.
    pub detail: DomainDetail,
    pub tags: Vec<ResourceTag>,
    pub created: Timestamp,
    /// Registered workflow types (for the per-domain quota).
    pub workflow_types: u32,
    /// Registered activity types (for the per-domain quota).
    pub activity_types: u32,
}

/// Which kind of worker a task is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TaskKind {
    Decision,
    Activity,
}

/// A scheduled, not yet started task in a task list's queue. Queues are ordered by priority (higher
/// first), then by the log index that scheduled the task (older first).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct QueuedTask {
    pub domain: String,
    pub kind: TaskKind,
    pub task_list: String,
    pub priority: i32,
    /// Log index of the entry that queued the task.
    pub seq: u64,
    pub run_id: String,
    pub scheduled_event_id: i64,
}

/// The settings an execution runs with (resolved from the start request and the type's defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionConfig {
    pub task_list: String,
    pub task_priority: i32,
    pub execution_start_to_close_timeout: String,
    pub task_start_to_close_timeout: String,
    pub child_policy: ChildPolicy,
    pub lambda_role: Option<String>,
}

/// The decision task of an execution: none, one scheduled (queued), or one started, which may have the
/// next one already scheduled behind it (`pending`).
///
/// As real SWF records it, an event that needs a decision while a task is started appends
/// `DecisionTaskScheduled` at once (unless one is already pending) and sets `unhandled_events`; the
/// pending task is queued (pollable) only when the started one completes or times out. Records
/// written before `pending` existed may have `unhandled_events` without `pending`: a new task is then
/// scheduled when the started one ends, as those releases did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum DecisionSlot {
    #[default]
    None,
    Scheduled {
        scheduled_event_id: i64,
        queued: QueuedTask,
    },
    Started {
        scheduled_event_id: i64,
        started_event_id: i64,
        unhandled_events: bool,
        /// The DecisionTaskScheduled event of the next decision task, recorded while this one is
        /// started and not queued until it ends.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pending: Option<i64>,
    },
}

/// An open activity task (scheduled, maybe started).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityState {
    pub activity_id: String,
    pub activity_type: ActivityType,
    pub scheduled_event_id: i64,
    pub started_event_id: Option<i64>,
    pub input: Option<String>,
    /// Place in the task list queue while not started.
    pub queued: Option<QueuedTask>,
    pub cancel_requested: bool,
    pub latest_cancel_requested_event_id: Option<i64>,
    pub heartbeat_details: Option<String>,
    pub last_heartbeat: Option<Timestamp>,
    /// Start-to-close timeout in seconds (None: unlimited), armed when a worker starts the task.
    #[serde(default)]
    pub start_to_close_secs: Option<u64>,
    /// Heartbeat timeout in seconds (None: unlimited), re-armed by every heartbeat.
    #[serde(default)]
    pub heartbeat_secs: Option<u64>,
    /// Whether the started attempt's token was signed (see the `token` module). False for a task started
    /// before the cluster had a token keyring (an earlier release): only such a task still takes
    /// the unsigned token it was handed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub token_signed: bool,
}

/// For `skip_serializing_if`: a flag that is off is left out, so records read as they were written.
pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

/// For `skip_serializing_if`: a count that is zero is left out, as [`is_false`].
pub(crate) fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

/// An open timer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimerState {
    pub started_event_id: i64,
    pub control: Option<String>,
}

/// What a deadline does when it fires.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum DeadlineKind {
    /// A StartTimer timer (`event_id` is its TimerStarted event).
    Timer {
        timer_id: String,
    },
    /// Activity timeouts (`event_id` is the ActivityTaskScheduled event).
    ActivityScheduleToStart,
    ActivityScheduleToClose,
    ActivityStartToClose,
    ActivityHeartbeat,
    /// A started decision task's start-to-close timeout (`event_id` is its DecisionTaskStarted event).
    DecisionStartToClose,
    /// The execution's start-to-close timeout (`event_id` 0).
    WorkflowStartToClose,
    /// The end of a closed execution's retention period: it is purged (`event_id` 0).
    Retention,
    /// A Step Functions deadline (`run_id` is the execution ARN; see `crate::sfn`).
    Sfn(crate::sfn::SfnDeadline),
}

/// A durable deadline, indexed by due time in applied state. The leader fires it by proposing
/// `Op::FireDeadline`; applying checks it is still armed, so a stale firing changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Deadline {
    pub due: Timestamp,
    pub run_id: String,
    pub kind: DeadlineKind,
    pub event_id: i64,
}

/// One workflow execution (run) with everything its transitions need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionRecord {
    pub domain: String,
    pub workflow_id: String,
    pub run_id: String,
    pub workflow_type: WorkflowType,
    pub config: ExecutionConfig,
    pub tag_list: Vec<String>,
    pub started: Timestamp,
    pub closed: Option<Timestamp>,
    pub close_status: Option<CloseStatus>,
    pub cancel_requested: bool,
    /// The id the next history event gets.
    pub next_event_id: i64,
    pub decision: DecisionSlot,
    /// The started event id of the last completed decision task (`previousStartedEventId`).
    pub previous_started_event_id: i64,
    /// Open activities by scheduled event id. Like `timers`, `deadlines` and `children`, this is an open
    /// item: stored under a key of its own (`Write::Item`, see `items`), never in the stored record, so
    /// a change costs the same whatever else is open. Records written before that carry them inline;
    /// they are still read (`items_keyed` false) and move to their own keys when next changed.
    #[serde(default, skip_serializing)]
    pub activities: BTreeMap<i64, ActivityState>,
    pub latest_activity_task_timestamp: Option<Timestamp>,
    pub latest_execution_context: Option<String>,
    /// Open timers by timer id (an open item).
    #[serde(default, skip_serializing)]
    pub timers: BTreeMap<String, TimerState>,
    /// Every deadline armed for this execution, in `Deadline` order once a change is finished (an open
    /// item).
    #[serde(default, skip_serializing)]
    pub deadlines: Vec<Deadline>,
    /// The parent, for a child execution.
    #[serde(default)]
    pub parent: Option<ParentRef>,
    /// Open child executions by workflow id (an open item).
    #[serde(default, skip_serializing)]
    pub children: BTreeMap<String, ChildRef>,
    /// Whether the open items live under keys of their own. False only for a record stored by an
    /// earlier release, whose items are embedded in the stored record; the first change rewrites them.
    #[serde(default)]
    pub items_keyed: bool,
    /// Whether the started decision task's token was signed (see `ActivityState::token_signed`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub decision_token_signed: bool,
}

/// A child's link to its parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentRef {
    pub workflow_id: String,
    pub run_id: String,
    /// The parent's StartChildWorkflowExecutionInitiated event.
    pub initiated_event_id: i64,
}

/// A parent's record of an open child.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildRef {
    pub run_id: String,
    pub workflow_type: WorkflowType,
    pub initiated_event_id: i64,
    pub started_event_id: i64,
}

impl ExecutionRecord {
    /// A minimal open record for tests (the service never builds one this way): run `run_id`,
    /// workflow id `wf-<run_id>`, domain `d`, type `wf`/`1`, task list `t`, started at 1 ms, three
    /// events so far, nothing open. Tests change what they need with struct-update syntax.
    #[doc(hidden)]
    pub fn sample(run_id: &str) -> ExecutionRecord {
        ExecutionRecord {
            domain: "d".into(),
            workflow_id: format!("wf-{run_id}"),
            run_id: run_id.into(),
            workflow_type: WorkflowType {
                name: "wf".into(),
                version: "1".into(),
            },
            config: ExecutionConfig {
                task_list: "t".into(),
                task_priority: 0,
                execution_start_to_close_timeout: "3600".into(),
                task_start_to_close_timeout: "60".into(),
                child_policy: ChildPolicy::Terminate,
                lambda_role: None,
            },
            tag_list: Vec::new(),
            started: Timestamp(1),
            closed: None,
            close_status: None,
            cancel_requested: false,
            next_event_id: 3,
            decision: DecisionSlot::None,
            previous_started_event_id: 0,
            activities: Default::default(),
            latest_activity_task_timestamp: None,
            latest_execution_context: None,
            timers: Default::default(),
            deadlines: Vec::new(),
            parent: None,
            children: Default::default(),
            items_keyed: true,
            decision_token_signed: false,
        }
    }

    /// Whether the execution is still open.
    pub fn is_open(&self) -> bool {
        self.closed.is_none()
    }
}

/// One change to applied state. A command's writes go to the store in one atomic batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Write {
    Domain(DomainRecord),
    WorkflowType {
        domain: String,
        detail: WorkflowTypeDetail,
    },
    ActivityType {
        domain: String,
        detail: ActivityTypeDetail,
    },
    Execution(ExecutionRecord),
    /// Sets (or clears, with `None`) the open run of a workflow id.
    OpenRun {
        domain: String,
        workflow_id: String,
        run_id: Option<String>,
    },
    /// Visibility index entries of an execution, all with the same value.
    Index {
        keys: Vec<Vec<u8>>,
        info: WorkflowExecutionInfo,
    },
    /// Arms a deadline (adds it to the due-time index).
    Arm(Deadline),
    /// Disarms a deadline.
    Disarm(Deadline),
    /// Removes a closed execution: its record, its history (events 1 to `last_event_id`) and its
    /// visibility entries. Its open items are removed by `Write::Item` deletions written before it
    /// (`items::remove_all`); a store may drop whatever else is left under the run's items too.
    Purge {
        run_id: String,
        last_event_id: i64,
        visibility_keys: Vec<Vec<u8>>,
    },
    /// Removes visibility index entries.
    Unindex {
        keys: Vec<Vec<u8>>,
    },
    DeleteWorkflowType {
        domain: String,
        workflow_type: WorkflowType,
    },
    DeleteActivityType {
        domain: String,
        activity_type: ActivityType,
    },
    Event {
        run_id: String,
        event: HistoryEvent,
    },
    Enqueue(QueuedTask),
    Dequeue(QueuedTask),
    /// Sets (`Some`) or deletes (`None`) a record of the Step Functions keyspace.
    Sfn {
        key: Vec<u8>,
        value: Option<Vec<u8>>,
    },
    /// Sets (`Some`) or removes (`None`) one open item of an execution (see `items`).
    Item {
        run_id: String,
        key: crate::items::ItemKey,
        item: Option<crate::items::OpenItem>,
    },
    /// Records the outcome of the call `request_id`, applied in time bucket `bucket` (see `dedup`).
    Request {
        bucket: u64,
        request_id: String,
        record: RequestRecord,
    },
    /// Forgets every recorded call of the buckets below `below`, and remembers `below`.
    ForgetRequests {
        below: u64,
    },
}
