//! The timer service: on the leader, it reads the earliest armed deadlines from applied state, sleeps
//! until the first is due (or until an applied entry arms a new one, or leadership changes), and fires
//! each due deadline by proposing `Op::FireDeadline`, stamped with the leader's clock, never before the
//! due time. Deadlines live in applied state, so a restarted node or a new leader re-arms everything by
//! reading them, and overdue ones fire at once.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use openraft::Raft;
use swf_store::{StateReader, TypeConfig};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::executor::Executor;

/// Longest sleep between looks at the deadline index.
const MAX_SLEEP: Duration = Duration::from_secs(1);
/// Deadlines read per look.
const BATCH: usize = 256;

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

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
        loop {
            if *stop.borrow() {
                return;
            }
            let notified = wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let sleep = if metrics.borrow().current_leader == Some(node_id) {
                fire_due(&reader, &executor).await
            } else {
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

/// Fires every due deadline (in one command); returns how long to sleep before the next one is due
/// (zero: look again now).
async fn fire_due(reader: &StateReader, executor: &Executor) -> Duration {
    let deadlines = match reader.next_deadlines(BATCH) {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "reading deadlines");
            return MAX_SLEEP;
        }
    };
    let now = wall_ms();
    let (due, later): (Vec<_>, Vec<_>) = deadlines.into_iter().partition(|d| d.due.0 <= now);
    if due.is_empty() {
        return match later.first() {
            Some(next) => Duration::from_millis((next.due.0 - now) as u64).min(MAX_SLEEP),
            None => MAX_SLEEP,
        };
    }
    let count = due.len();
    let latest_ms = now - due[0].due.0;
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
