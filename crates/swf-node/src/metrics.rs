//! The node's Prometheus metrics (process-wide default registry; `docs/observability.md` lists every
//! one): calls the leader runs, the work in applied state, long polls, schedule-to-start latency,
//! deadline lateness, the proposer's group commit, and — computed when scraped — Raft's view of the
//! cluster, the task lists' backlog and pollers, and RocksDB's sizes.
//!
//! Where each value comes from, so that none slows the apply path:
//! - counters and histograms are recorded where things happen (an atomic add or a bucket increment),
//!   in the leader's executor and proposer, the timer service, and the apply hook, which sees every
//!   applied entry's writes on every node (executions started and closed, history events,
//!   schedule-to-start, Step Functions executions);
//! - open executions and per-task-list backlog are kept by the store's in-memory mirror as entries
//!   are applied (an add per start / close / enqueue / dequeue), and read at scrape;
//! - Raft's figures, pollers and RocksDB properties are read at scrape (`Node::refresh_metrics`).
//!
//! Nothing here is read by the state machine (`swf-core` records nothing), so metrics never change
//! what is applied.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use prometheus::{Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge};
use prometheus::{IntGaugeVec, Opts};
use swf_core::state::{TaskKind, Write};
use swf_store::metrics::{counter, gauge, histogram, register};
use swf_types::shapes::{EventType, HistoryEvent};

/// Most task lists given a label of their own in the backlog and pollers gauges (the largest
/// first); the rest are summed under `domain="other", task_list="other"`.
pub const MAX_TASK_LIST_LABELS: usize = 100;

/// The domain label of Step Functions activity task lists (`:` is never in an SWF domain name).
pub const SFN_DOMAIN_LABEL: &str = "sfn:activities";

/// Latency buckets, in seconds, for calls and waits (1 ms to 2 min).
pub const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0, 120.0,
];

/// Buckets for latencies that can be long (schedule-to-start: seconds to hours).
const WAIT_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
];

/// Most scheduled tasks remembered for schedule-to-start (tasks that never start — cancelled, timed
/// out, their run closed — would otherwise accumulate); past it the memory is cleared and those
/// samples are lost.
const MAX_TRACKED_SCHEDULED: usize = 100_000;

fn counter_vec(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    register(IntCounterVec::new(Opts::new(name, help), labels).expect("valid counter"))
}

fn gauge_vec(name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    register(IntGaugeVec::new(Opts::new(name, help), labels).expect("valid gauge"))
}

fn histogram_vec(name: &str, help: &str, labels: &[&str], buckets: &[f64]) -> HistogramVec {
    register(
        HistogramVec::new(
            HistogramOpts::new(name, help).buckets(buckets.to_vec()),
            labels,
        )
        .expect("valid histogram"),
    )
}

/// The node's metrics.
pub struct NodeMetrics {
    pub leader_calls: IntCounterVec,
    pub leader_call_seconds: HistogramVec,
    pub executions_started: IntCounter,
    pub executions_closed: IntCounterVec,
    pub history_events: IntCounter,
    pub sfn_executions: IntCounterVec,
    pub schedule_to_start: HistogramVec,
    pub poll_wait: HistogramVec,
    pub deadline_lateness: HistogramVec,
    pub deadlines_fired: IntCounter,
    pub proposer_batch: Histogram,
    pub proposer_entries: IntCounter,
    pub proposer_queue_seconds: Histogram,
    pub proposer_commit_seconds: Histogram,
    pub term_changes: IntCounter,
    pub leader_changes: IntCounter,
    pub open_executions: IntGauge,
    pub sfn_open_executions: IntGauge,
    pub task_backlog: IntGaugeVec,
    pub task_pollers: IntGaugeVec,
    pub long_polls_held: IntGauge,
    pub node_id: IntGauge,
    pub serving: IntGauge,
    pub raft_role: IntGaugeVec,
    pub raft_term: IntGauge,
    pub raft_leader_id: IntGauge,
    pub raft_last_log_index: IntGauge,
    pub raft_applied_index: IntGauge,
    pub raft_snapshot_index: IntGauge,
    pub raft_purged_index: IntGauge,
    pub raft_voters: IntGauge,
    pub raft_millis_since_quorum_ack: IntGauge,
    pub raft_replication_lag: IntGaugeVec,
    pub rocksdb_sst_bytes: IntGaugeVec,
    pub rocksdb_live_data_bytes: IntGaugeVec,
    pub rocksdb_pending_compaction_bytes: IntGaugeVec,
    pub rocksdb_memtable_bytes: IntGaugeVec,
    pub rocksdb_estimated_keys: IntGaugeVec,
}

/// The node's metrics, registered on first use (`init` at start).
pub static METRICS: LazyLock<NodeMetrics> = LazyLock::new(|| {
    NodeMetrics {
    leader_calls: counter_vec(
        "swfd_leader_calls_total",
        "Calls this node ran as the leader, by API, action, outcome (ok or the fault's code) and \
         source (local: taken by this node; peer: forwarded by another node)",
        &["api", "action", "outcome", "source"],
    ),
    leader_call_seconds: histogram_vec(
        "swfd_leader_call_duration_seconds",
        "Time the leader took to run a call (long polls include their wait), by API and action",
        &["api", "action"],
        LATENCY_BUCKETS,
    ),
    executions_started: counter(
        "swfd_executions_started_total",
        "SWF workflow executions started (applied on this node)",
    ),
    executions_closed: counter_vec(
        "swfd_executions_closed_total",
        "SWF workflow executions closed, by close status (applied on this node)",
        &["status"],
    ),
    history_events: counter(
        "swfd_history_events_total",
        "SWF history events appended (applied on this node)",
    ),
    sfn_executions: counter_vec(
        "swfd_sfn_executions_total",
        "Step Functions executions by event: started, succeeded, failed, aborted, timed_out \
         (applied on this node)",
        &["status"],
    ),
    schedule_to_start: histogram_vec(
        "swfd_schedule_to_start_seconds",
        "From a task's Scheduled event to its Started event (leader-stamped times), by kind \
         (activity, decision)",
        &["kind"],
        WAIT_BUCKETS,
    ),
    poll_wait: histogram_vec(
        "swfd_poll_wait_seconds",
        "How long a long poll was held on the leader, by kind (decision, activity) and outcome \
         (task, empty)",
        &["kind", "outcome"],
        LATENCY_BUCKETS,
    ),
    deadline_lateness: histogram_vec(
        "swfd_deadline_lateness_seconds",
        "How late the timer service fired a deadline (its proposal time minus its due time), by \
         kind (timer, activity_schedule_to_start, ..., retention, sfn)",
        &["kind"],
        WAIT_BUCKETS,
    ),
    deadlines_fired: counter(
        "swfd_deadlines_fired_total",
        "Deadlines (timers and timeouts) the timer service proposed to fire on this node as leader",
    ),
    proposer_batch: histogram(
        "swfd_proposer_batch_commands",
        "Commands per proposed log entry (group commit)",
        &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0],
    ),
    proposer_entries: counter(
        "swfd_proposer_entries_total",
        "Log entries the proposer proposed (its rate is entries per second)",
    ),
    proposer_queue_seconds: histogram(
        "swfd_proposer_queue_seconds",
        "Time a command waited for the proposer (behind the entry in flight)",
        LATENCY_BUCKETS,
    ),
    proposer_commit_seconds: histogram(
        "swfd_proposer_commit_seconds",
        "From proposing an entry to its outcomes (append, replication, commit and apply)",
        LATENCY_BUCKETS,
    ),
    term_changes: counter(
        "swfd_raft_term_changes_total",
        "Times this node saw the Raft term change (one per election it took part in or heard of)",
    ),
    leader_changes: counter(
        "swfd_raft_leader_changes_total",
        "Times this node's view of the leader changed (to another node or to none)",
    ),
    open_executions: gauge(
        "swfd_open_executions",
        "SWF workflow executions open (in this node's applied state)",
    ),
    sfn_open_executions: gauge(
        "swfd_sfn_open_executions",
        "Step Functions executions running (in this node's applied state)",
    ),
    task_backlog: gauge_vec(
        "swfd_task_backlog",
        "Tasks queued and not started, by domain, kind and task list (the largest lists; the rest \
         under domain=\"other\", task_list=\"other\"; Step Functions activities under domain \
         \"sfn:activities\")",
        &["domain", "kind", "task_list"],
    ),
    task_pollers: gauge_vec(
        "swfd_task_pollers",
        "Long polls waiting on a task list (held by the leader), labelled like swfd_task_backlog",
        &["domain", "kind", "task_list"],
    ),
    long_polls_held: gauge(
        "swfd_long_polls_held",
        "Long polls this node holds (only the leader holds any)",
    ),
    node_id: gauge("swfd_node_id", "This node's Raft id"),
    serving: gauge(
        "swfd_serving",
        "1 while this node serves calls (a leader is known and reachable), else 0",
    ),
    raft_role: gauge_vec(
        "swfd_raft_role",
        "1 for this node's Raft role (leader, follower, candidate, learner, shutdown), 0 for the others",
        &["role"],
    ),
    raft_term: gauge("swfd_raft_term", "The current Raft term"),
    raft_leader_id: gauge(
        "swfd_raft_leader_id",
        "The leader this node knows (0: none)",
    ),
    raft_last_log_index: gauge(
        "swfd_raft_last_log_index",
        "The index of the last entry in this node's log",
    ),
    raft_applied_index: gauge(
        "swfd_raft_applied_index",
        "The index of the last entry applied to this node's state",
    ),
    raft_snapshot_index: gauge(
        "swfd_raft_snapshot_index",
        "The last log index the newest snapshot includes",
    ),
    raft_purged_index: gauge(
        "swfd_raft_purged_index",
        "The last log index purged from this node's log",
    ),
    raft_voters: gauge("swfd_raft_voters", "Voters in the cluster's configuration"),
    raft_millis_since_quorum_ack: gauge(
        "swfd_raft_millis_since_quorum_ack",
        "On the leader: milliseconds since a majority last acknowledged it (-1 elsewhere)",
    ),
    raft_replication_lag: gauge_vec(
        "swfd_raft_replication_lag_entries",
        "On the leader: entries each other member is behind its last log index",
        &["follower"],
    ),
    rocksdb_sst_bytes: gauge_vec(
        "swfd_rocksdb_sst_bytes",
        "Size of the SST files of each column family (rocksdb.total-sst-files-size)",
        &["cf"],
    ),
    rocksdb_live_data_bytes: gauge_vec(
        "swfd_rocksdb_live_data_bytes",
        "Estimated live data of each column family (rocksdb.estimate-live-data-size)",
        &["cf"],
    ),
    rocksdb_pending_compaction_bytes: gauge_vec(
        "swfd_rocksdb_pending_compaction_bytes",
        "Bytes compaction still has to rewrite, per column family \
         (rocksdb.estimate-pending-compaction-bytes)",
        &["cf"],
    ),
    rocksdb_memtable_bytes: gauge_vec(
        "swfd_rocksdb_memtable_bytes",
        "Memory of the memtables of each column family (rocksdb.cur-size-all-mem-tables)",
        &["cf"],
    ),
    rocksdb_estimated_keys: gauge_vec(
        "swfd_rocksdb_estimated_keys",
        "Estimated keys of each column family (rocksdb.estimate-num-keys; deletes make it rough)",
        &["cf"],
    ),
}
});

/// Registers every metric of the process (the store's, the node's, the process collector's), so a
/// scrape shows them all before anything happened.
pub fn init() {
    static PROCESS: std::sync::Once = std::sync::Once::new();
    swf_store::metrics::init();
    LazyLock::force(&METRICS);
    PROCESS.call_once(|| {
        // The standard process collector: RSS, CPU, threads, open file descriptors.
        let _ = prometheus::register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ));
    });
}

/// The label of a task kind.
pub fn kind_label(kind: TaskKind) -> &'static str {
    match kind {
        TaskKind::Decision => "decision",
        TaskKind::Activity => "activity",
    }
}

/// The label of an SWF close event's status, if it is one.
fn close_status(t: EventType) -> Option<&'static str> {
    Some(match t {
        EventType::WorkflowExecutionCompleted => "COMPLETED",
        EventType::WorkflowExecutionFailed => "FAILED",
        EventType::WorkflowExecutionCanceled => "CANCELED",
        EventType::WorkflowExecutionTerminated => "TERMINATED",
        EventType::WorkflowExecutionTimedOut => "TIMED_OUT",
        EventType::WorkflowExecutionContinuedAsNew => "CONTINUED_AS_NEW",
        _ => return None,
    })
}

/// The Step Functions execution events counted, by the wire event type.
const SFN_EXECUTION_EVENTS: &[(&str, &str)] = &[
    ("ExecutionStarted", "started"),
    ("ExecutionSucceeded", "succeeded"),
    ("ExecutionFailed", "failed"),
    ("ExecutionAborted", "aborted"),
    ("ExecutionTimedOut", "timed_out"),
];

/// The status an Step Functions history record is about, when it is an execution event: its wire
/// form starts `{"timestamp":...,"type":"Execution...` (`sfn_lang::HistoryEvent::to_wire`), so the
/// type is found without parsing the event.
fn sfn_execution_status(key: &[u8], value: &[u8]) -> Option<&'static str> {
    if key.first() != Some(&swf_core::sfn::keys::HISTORY) {
        return None;
    }
    let head = &value[..value.len().min(96)];
    let at = head
        .windows(8)
        .position(|w| w == b"\"type\":\"")
        .map(|p| p + 8)?;
    let rest = &head[at..];
    SFN_EXECUTION_EVENTS.iter().find_map(|(t, status)| {
        (rest.starts_with(t.as_bytes()) && rest.get(t.len()) == Some(&b'"')).then_some(*status)
    })
}

/// Counts an applied entry's writes (called by the apply hook, on every node).
pub struct ApplyRecorder {
    /// Scheduled tasks not yet started: (run id, scheduled event id) → scheduled time (ms).
    scheduled: Mutex<HashMap<(String, i64), i64>>,
}

impl Default for ApplyRecorder {
    fn default() -> Self {
        ApplyRecorder {
            scheduled: Mutex::new(HashMap::new()),
        }
    }
}

impl ApplyRecorder {
    /// Records what one applied entry did.
    pub fn record(&self, writes: &[Write]) {
        let m = &*METRICS;
        let mut events = 0;
        for w in writes {
            match w {
                Write::Event { run_id, event } => {
                    events += 1;
                    self.event(m, run_id, event);
                }
                Write::Sfn {
                    key,
                    value: Some(value),
                } => {
                    if let Some(status) = sfn_execution_status(key, value) {
                        m.sfn_executions.with_label_values(&[status]).inc();
                    }
                }
                _ => {}
            }
        }
        if events > 0 {
            m.history_events.inc_by(events);
        }
    }

    fn event(&self, m: &NodeMetrics, run_id: &str, e: &HistoryEvent) {
        let at = e.event_timestamp.0;
        let started = |kind: &str, scheduled_id: i64| {
            let mut scheduled = self.scheduled.lock().expect("scheduled lock");
            if let Some(from) = scheduled.remove(&(run_id.to_string(), scheduled_id)) {
                m.schedule_to_start
                    .with_label_values(&[kind])
                    .observe((at - from).max(0) as f64 / 1000.0);
            }
        };
        match e.event_type {
            EventType::WorkflowExecutionStarted => m.executions_started.inc(),
            EventType::ActivityTaskScheduled | EventType::DecisionTaskScheduled => {
                let mut scheduled = self.scheduled.lock().expect("scheduled lock");
                if scheduled.len() >= MAX_TRACKED_SCHEDULED {
                    scheduled.clear();
                }
                scheduled.insert((run_id.to_string(), e.event_id), at);
            }
            EventType::ActivityTaskStarted => {
                if let Some(a) = &e.activity_task_started_event_attributes {
                    started("activity", a.scheduled_event_id);
                }
            }
            EventType::DecisionTaskStarted => {
                if let Some(a) = &e.decision_task_started_event_attributes {
                    started("decision", a.scheduled_event_id);
                }
            }
            t => {
                if let Some(status) = close_status(t) {
                    m.executions_closed.with_label_values(&[status]).inc();
                }
            }
        }
    }
}

/// Sets a labelled gauge family to `rows` (domain, kind, task list, value): the
/// `MAX_TASK_LIST_LABELS` largest by value with their own labels, the rest summed per kind under
/// `other`. Label sets not in `rows` are removed.
pub fn set_task_lists(gauge: &IntGaugeVec, mut rows: Vec<(String, &'static str, String, i64)>) {
    gauge.reset();
    rows.sort_by_key(|r| std::cmp::Reverse(r.3));
    let mut other: HashMap<&'static str, i64> = HashMap::new();
    for (i, (domain, kind, list, n)) in rows.into_iter().enumerate() {
        if i < MAX_TASK_LIST_LABELS {
            gauge
                .with_label_values(&[domain.as_str(), kind, list.as_str()])
                .set(n);
        } else {
            *other.entry(kind).or_insert(0) += n;
        }
    }
    for (kind, n) in other {
        gauge.with_label_values(&["other", kind, "other"]).set(n);
    }
}

/// The domain label of a task list's domain.
pub fn domain_label(domain: &str) -> String {
    if domain == swf_core::sfn::TASKS_DOMAIN {
        SFN_DOMAIN_LABEL.to_string()
    } else {
        domain.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sfn_execution_events_are_found_without_parsing() {
        let key = [swf_core::sfn::keys::HISTORY, 0, 1];
        let cases: &[(&[u8], &[u8], Option<&str>)] = &[
            (
                &key,
                br#"{"timestamp":1.5,"type":"ExecutionSucceeded","id":3}"#,
                Some("succeeded"),
            ),
            (
                &key,
                br#"{"timestamp":1.5,"type":"ExecutionStarted","id":1}"#,
                Some("started"),
            ),
            (
                &key,
                br#"{"timestamp":1.5,"type":"ExecutionStartedX","id":1}"#,
                None,
            ),
            (
                &key,
                br#"{"timestamp":1.5,"type":"TaskStateEntered","id":2}"#,
                None,
            ),
            (
                b"e123",
                br#"{"timestamp":1.5,"type":"ExecutionFailed"}"#,
                None,
            ),
            (&key, b"", None),
        ];
        for (k, v, want) in cases {
            assert_eq!(
                sfn_execution_status(k, v),
                *want,
                "{}",
                String::from_utf8_lossy(v)
            );
        }
    }

    #[test]
    fn task_lists_past_the_cap_are_summed_as_other() {
        let gauge =
            IntGaugeVec::new(Opts::new("t", "t"), &["domain", "kind", "task_list"]).unwrap();
        let rows = (0..MAX_TASK_LIST_LABELS + 5)
            .map(|i| ("d".to_string(), "activity", format!("l{i}"), i as i64 + 1))
            .collect();
        set_task_lists(&gauge, rows);
        // The five smallest (1..=5) are summed.
        assert_eq!(
            gauge
                .with_label_values(&["other", "activity", "other"])
                .get(),
            15
        );
        assert_eq!(
            gauge
                .with_label_values(&[
                    "d",
                    "activity",
                    format!("l{}", MAX_TASK_LIST_LABELS + 4).as_str()
                ])
                .get(),
            MAX_TASK_LIST_LABELS as i64 + 5
        );
    }
}
