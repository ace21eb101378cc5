//! Where a call's time went, and the slow-call log.
//!
//! The node that runs a call as leader keeps a `CallTimes` in task-local scope while it runs; the
//! proposer adds to it how long the call's commands waited in its queue (`queue`), how long their
//! entry took from proposal to applied outcome less the apply itself (`commit`: append, WAL sync,
//! replication, commit), and the apply (`apply`, the entry's state-machine apply and write batch);
//! a long poll adds the time it was held waiting for a task (`poll_wait`). A forwarded call's
//! times travel back to the node that took it (`ExecuteResponse.timing`), which adds the forward
//! (its own total less the leader's) and logs a call slower than the threshold (`--slow-call-ms`,
//! long-poll wait excluded) at WARN; the leader of a forwarded call logs its side too. Both lines
//! carry the call's request id (the `call` span).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The slow-call threshold in milliseconds (`--slow-call-ms`); `u64::MAX`: never.
static SLOW_CALL_MS: AtomicU64 = AtomicU64::new(DEFAULT_SLOW_CALL_MS);

/// The default slow-call threshold.
pub const DEFAULT_SLOW_CALL_MS: u64 = 1_000;

/// Sets the slow-call threshold (once, at start).
pub fn set_slow_call_threshold(threshold: Duration) {
    SLOW_CALL_MS.store(threshold.as_millis() as u64, Ordering::Relaxed);
}

/// Whether a call that took `took` (long-poll wait excluded) is slow.
pub fn is_slow(took: Duration) -> bool {
    took.as_millis() as u64 >= SLOW_CALL_MS.load(Ordering::Relaxed)
}

/// The stages of one call on its leader, accumulated while it runs (a call may propose more than
/// one command, e.g. a key initialisation before a task start).
#[derive(Default, Debug)]
pub struct CallTimes {
    queue: AtomicU64,
    commit: AtomicU64,
    apply: AtomicU64,
    poll_wait: AtomicU64,
    /// For a forwarded call: the time the node it was forwarded to took, by that node's count.
    leader: AtomicU64,
}

/// A copy of a call's stages, in microseconds.
#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stages {
    pub queue_us: u64,
    pub commit_us: u64,
    pub apply_us: u64,
    pub poll_wait_us: u64,
    /// For a forwarded call: the time the node it was forwarded to took (0: not forwarded).
    pub leader_us: u64,
}

impl CallTimes {
    fn add(slot: &AtomicU64, d: Duration) {
        slot.fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }

    /// Time the call's command waited for the proposer.
    pub fn add_queue(&self, d: Duration) {
        Self::add(&self.queue, d);
    }

    /// Time from proposal to outcome less the apply.
    pub fn add_commit(&self, d: Duration) {
        Self::add(&self.commit, d);
    }

    /// Time the entry's apply took.
    pub fn add_apply(&self, d: Duration) {
        Self::add(&self.apply, d);
    }

    /// Time a long poll waited for a task.
    pub fn add_poll_wait(&self, d: Duration) {
        Self::add(&self.poll_wait, d);
    }

    /// The stages so far.
    pub fn stages(&self) -> Stages {
        Stages {
            queue_us: self.queue.load(Ordering::Relaxed),
            commit_us: self.commit.load(Ordering::Relaxed),
            apply_us: self.apply.load(Ordering::Relaxed),
            poll_wait_us: self.poll_wait.load(Ordering::Relaxed),
            leader_us: self.leader.load(Ordering::Relaxed),
        }
    }

    /// Takes in the stages the node a call was forwarded to reported.
    pub fn absorb(&self, remote: &swf_proto::CallTiming) {
        self.queue.fetch_add(remote.queue_us, Ordering::Relaxed);
        self.commit.fetch_add(remote.commit_us, Ordering::Relaxed);
        self.apply.fetch_add(remote.apply_us, Ordering::Relaxed);
        self.poll_wait
            .fetch_add(remote.poll_wait_us, Ordering::Relaxed);
        self.leader.fetch_add(remote.leader_us, Ordering::Relaxed);
    }
}

tokio::task_local! {
    static TIMES: Arc<CallTimes>;
}

/// Runs `fut` (a call) with `times` collecting its stages. (Not an `async fn`: one that awaits a
/// future it was given keeps room for it twice, see `request::with_request_id`.)
pub fn with_times<F: Future>(times: Arc<CallTimes>, fut: F) -> impl Future<Output = F::Output> {
    TIMES.scope(times, fut)
}

/// The stages of the call running on this task, if any is being timed.
pub(crate) fn current() -> Option<Arc<CallTimes>> {
    TIMES.try_with(|t| t.clone()).ok()
}

/// Milliseconds, with three decimals, for a log field.
pub fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

impl Stages {
    /// The wire form, for a call that took `took` on this node.
    pub fn to_wire(self, took: Duration) -> swf_proto::CallTiming {
        swf_proto::CallTiming {
            queue_us: self.queue_us,
            commit_us: self.commit_us,
            apply_us: self.apply_us,
            poll_wait_us: self.poll_wait_us,
            leader_us: took.as_micros() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stages_add_up_within_the_scope_only() {
        assert!(current().is_none());
        let times = Arc::new(CallTimes::default());
        with_times(times.clone(), async {
            let t = current().expect("in scope");
            t.add_queue(Duration::from_micros(5));
            t.add_queue(Duration::from_micros(7));
            t.add_commit(Duration::from_millis(2));
            t.add_apply(Duration::from_micros(300));
            t.add_poll_wait(Duration::from_secs(1));
        })
        .await;
        assert_eq!(
            times.stages(),
            Stages {
                queue_us: 12,
                commit_us: 2_000,
                apply_us: 300,
                poll_wait_us: 1_000_000,
                leader_us: 0,
            }
        );
    }
}
