//! The timer service: on the leader, it reads the earliest armed deadlines from applied state, sleeps
//! until the first is due (or until an applied entry arms a new one, or leadership changes), and fires
//! each due deadline by proposing `Op::FireDeadline`, stamped with the cluster time (`clock`), never
//! before the due time: what is due is judged by the cluster time too, never by this node's own clock
//! (which may be ahead). Deadlines live in applied state, so a restarted node or a new leader re-arms everything by
//! reading them, and overdue ones fire at once — except heartbeat timeouts, which a new leader holds for
//! one heartbeat period after taking over (the worker's heartbeats could not land during the election).

use std::sync::Arc;
use std::time::Duration;

use openraft::Raft;
use swf_core::state::{Deadline, DeadlineKind, Lookup};
use swf_store::{StateReader, TypeConfig};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::executor::Executor;

/// Longest sleep between looks at the deadline index.
const MAX_SLEEP: Duration = Duration::from_secs(1);
/// Deadlines read per look.
const BATCH: usize = 256;

/// How long to wait before looking again when there is no cluster time (no majority of clock readings).
const NO_CLOCK_RETRY: Duration = Duration::from_millis(100);

/// Starts the timer service of node `node_id`; it stops when `stop` turns true.
pub fn spawn(
    node_id: u64,
    raft: Raft<TypeConfig>,
    reader: StateReader,
    executor: Arc<Executor>,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut metrics = raft.metrics();
        // When this node last became leader (cluster time, ms), for the heartbeat grace.
        let mut leader_since: Option<i64> = None;
        loop {
            if *stop.borrow() {
                return;
            }
            let notified = wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let is_leader = metrics.borrow().current_leader == Some(node_id);
            let sleep = if is_leader {
                if leader_since.is_none() {
                    // A cluster without a token keyring (new, or just upgraded) gets one now; a
                    // failure is retried by the next poll.
                    if let Err(e) = executor.ensure_token_key().await {
                        tracing::warn!(error = %e, "creating the token key");
                    }
                }
                match leader_since.or_else(|| executor.clock().now().map(|t| t.0)) {
                    Some(since) => {
                        leader_since = Some(since);
                        fire_due(&reader, &executor, since).await
                    }
                    None => NO_CLOCK_RETRY,
                }
            } else {
                leader_since = None;
                MAX_SLEEP
            };
            if sleep.is_zero() {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {}
                _ = &mut notified => {}
                _ = metrics.changed() => {}
                _ = stop.changed() => {}
            }
        }
    })
}

/// When a deadline may fire on a leader that took over at `leader_since`: its due time, except that a
/// heartbeat timeout waits one heartbeat period from the takeover, so a worker whose heartbeats could not
/// land during the election is not timed out while it keeps heartbeating.
fn fire_at(reader: &StateReader, d: &Deadline, leader_since: i64) -> i64 {
    // Step Functions activity tasks get the same grace.
    if d.kind == DeadlineKind::Sfn(swf_core::sfn::SfnDeadline::TaskHeartbeat) {
        let period_ms =
            swf_core::sfn::query::heartbeat_period_ms(reader, &d.run_id, d.event_id as u64);
        return d.due.0.max(leader_since + period_ms);
    }
    if d.kind != DeadlineKind::ActivityHeartbeat {
        return d.due.0;
    }
    let period_ms = reader
        .execution(&d.run_id)
        .ok()
        .flatten()
        .and_then(|rec| {
            rec.activities
                .get(&d.event_id)
                .and_then(|a| a.heartbeat_secs)
        })
        .map(|secs| secs as i64 * 1000)
        .unwrap_or(0);
    d.due.0.max(leader_since + period_ms)
}

/// Fires every due deadline (in one command); returns how long to sleep before the next one is due
/// (zero: look again now).
async fn fire_due(reader: &StateReader, executor: &Executor, leader_since: i64) -> Duration {
    // Only deadlines already due are read (a wake-up for a newly armed deadline, usually far ahead,
    // costs one index lookup); the first one not yet due says how long to sleep.
    let Some(now) = executor.clock().now().map(|t| t.0) else {
        return NO_CLOCK_RETRY;
    };
    // What is due is judged with the clock's margin (`ClusterClock::uncertainty_ms`): a deadline
    // armed under a reading that erred later than today's must not fire early by the difference.
    let now = now - executor.clock().uncertainty_ms();
    let (deadlines, later) = match reader.due_deadlines(now, BATCH) {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "reading deadlines");
            return MAX_SLEEP;
        }
    };
    let mut due = Vec::new();
    let mut next = later.unwrap_or(i64::MAX);
    for d in deadlines {
        let at = fire_at(reader, &d, leader_since);
        if at <= now {
            due.push(d);
        } else {
            next = next.min(at);
        }
    }
    if due.is_empty() {
        return if next == i64::MAX {
            MAX_SLEEP
        } else {
            Duration::from_millis((next - now).max(1) as u64).min(MAX_SLEEP)
        };
    }
    let count = due.len();
    let latest_ms = now - due[0].due.0;
    let m = &crate::metrics::METRICS;
    for d in &due {
        m.deadline_lateness
            .with_label_values(&[deadline_label(&d.kind)])
            .observe((now - d.due.0).max(0) as f64 / 1000.0);
    }
    m.deadlines_fired.inc_by(count as u64);
    match executor.fire(due).await {
        Ok(()) => {
            tracing::debug!(count, latest_ms, "deadlines fired");
            Duration::ZERO
        }
        Err(f) => {
            tracing::warn!(count, code = f.code(), message = %f.message, "firing deadlines failed");
            Duration::from_millis(100)
        }
    }
}

/// The `kind` label of a deadline in `swfd_deadline_lateness_seconds`.
fn deadline_label(kind: &swf_core::state::DeadlineKind) -> &'static str {
    use swf_core::state::DeadlineKind as K;
    match kind {
        K::Timer { .. } => "timer",
        K::ActivityScheduleToStart => "activity_schedule_to_start",
        K::ActivityScheduleToClose => "activity_schedule_to_close",
        K::ActivityStartToClose => "activity_start_to_close",
        K::ActivityHeartbeat => "activity_heartbeat",
        K::DecisionStartToClose => "decision_start_to_close",
        K::WorkflowStartToClose => "workflow_start_to_close",
        K::Retention => "retention",
        K::Sfn(_) => "sfn",
    }
}
