//! `Proposer`: the leader's single path into the Raft log, with group commit of commands.
//!
//! Every state change goes through one proposer task. It stamps each command with the cluster time
//! (`clock`) right before proposing it, so log order is time order (two racing calls could otherwise enter the log
//! in the opposite order of their stamps and an execution's history would go back in time; found by
//! swf-chaos). At most `IN_FLIGHT` entries (one) are proposed and not yet applied; the calls that arrive
//! meanwhile are proposed together as one entry (`swf_core::Batch`), applied in order as if each were its
//! own entry. Under load this turns many Raft entries, log appends, fsyncs and applies into one each;
//! a lone call is proposed at once, so it waits for nothing.
//!
//! A task start for a long poll is wanted only while its poller waits (`propose_unless_gone`): it is
//! dropped unproposed if the poller has gone by the time the proposer takes it, and if the poller goes
//! while it is in flight its outcome goes to the caller's `Orphan` handler instead (which hands the
//! started task to another poller).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft::error::ClientWriteError;
use openraft::Raft;
use swf_core::{Batch, Command, Outcome};
use swf_store::TypeConfig;
use swf_types::{Fault, Timestamp};
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::call_timing::CallTimes;
use crate::clock::ClusterClock;
use crate::disk::DiskGuard;
use crate::metrics::METRICS;

/// An entry's outcomes, once it is applied.
pub(crate) type Applied = Pin<Box<dyn Future<Output = Result<Vec<Outcome>, Fault>> + Send>>;

/// Where the proposer puts its entries: the Raft log (or, in tests, a log the test applies).
pub(crate) trait Log: Send + Sync + 'static {
    /// Proposes one entry: an error if it was refused, else the future of its applied outcomes.
    fn write(&self, batch: Batch) -> impl Future<Output = Result<Applied, Fault>> + Send;
}

impl Log for Raft<TypeConfig> {
    async fn write(&self, batch: Batch) -> Result<Applied, Fault> {
        let applied = self
            .client_write_ff(batch)
            .await
            .map_err(|e| unavailable(&e))?;
        Ok(Box::pin(async move {
            match applied.await {
                Ok(Ok(resp)) => Ok(resp.data.0),
                Ok(Err(ClientWriteError::ForwardToLeader(_))) => Err(not_leader()),
                Ok(Err(e)) => Err(unavailable(&e)),
                Err(e) => Err(unavailable(&e)),
            }
        }))
    }
}

/// The fault of a call proposed by a leader that lost its leadership before the entry committed.
fn not_leader() -> Fault {
    Fault::unavailable("This node is no longer the leader")
}

/// Entries proposed and not yet applied, at most. One lets the most calls gather behind it: measured on
/// one node at 32 drivers (a loaded machine), 1 in flight gave 545 / 422 workflows/s at 1.14 ms of CPU
/// per workflow, 2 gave 373 / 287 at 1.37 ms, 4 and 8 less still; on 3 nodes 1 and 2 were even on
/// a loaded machine, and on a quiet one 2 and 3 gave 0.91× and 0.87× the workflows/s of 1
/// (`docs/benchmarks.md`, session 20).
const IN_FLIGHT: usize = 1;

/// Most commands in one entry.
const MAX_COMMANDS: usize = 256;

/// Most request bytes in one entry (an entry is replicated in one message; calls carry up to 1 MiB).
const MAX_BYTES: usize = 4 << 20;

/// What becomes of the outcome of a command whose caller went away while it was in flight.
pub(crate) type Orphan = Box<dyn FnOnce(Outcome) + Send>;

/// A command waiting to be proposed.
struct Pending {
    cmd: Command,
    /// Size of the call's input, to bound an entry's size.
    size: usize,
    reply: oneshot::Sender<Result<Outcome, Fault>>,
    /// Set for a command wanted only while its caller waits: see `propose_unless_gone`.
    orphan: Option<Orphan>,
    /// The stages of the call this command is for, if it is being timed (`call_timing`).
    times: Option<Arc<CallTimes>>,
    /// When the command was queued.
    queued_at: Instant,
}

impl Pending {
    /// Whether the command is no longer wanted: its caller, who wanted it only while waiting, is gone.
    fn withdrawn(&self) -> bool {
        self.orphan.is_some() && self.reply.is_closed()
    }
}

/// How long the proposer waits for a cluster time (a majority of the voters' clock readings, see
/// `clock`) before it refuses the entry as `ServiceUnavailable`.
const CLOCK_WAIT: Duration = Duration::from_secs(2);

/// The stamp for the next entry: the cluster time, waited for up to `CLOCK_WAIT`.
async fn stamp_time(clock: &ClusterClock) -> Result<Timestamp, Fault> {
    let deadline = tokio::time::Instant::now() + CLOCK_WAIT;
    loop {
        if let Some(t) = clock.now() {
            return Ok(t);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Fault::unavailable(
                "The leader cannot read the clocks of a majority of the cluster",
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Proposes commands to Raft in batches; see the module doc.
pub(crate) struct Proposer {
    tx: mpsc::UnboundedSender<Pending>,
}

impl Proposer {
    /// Starts the proposer task (on the current tokio runtime) for `log` (the Raft log), stamping with
    /// `clock`, refusing every entry while `disk` says the data directory is low on space.
    pub(crate) fn start(log: impl Log, clock: Arc<ClusterClock>, disk: Arc<DiskGuard>) -> Proposer {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(log, clock, disk, rx));
        Proposer { tx }
    }

    /// Proposes `cmd` (its time is stamped at proposal) and returns its applied outcome. `size` is the
    /// size of the call's input.
    pub(crate) async fn propose(&self, cmd: Command, size: usize) -> Result<Outcome, Fault> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Pending {
                cmd,
                size,
                reply,
                orphan: None,
                times: crate::call_timing::current(),
                queued_at: Instant::now(),
            })
            .map_err(|_| Fault::unavailable("The node is shutting down"))?;
        answer
            .await
            .map_err(|_| Fault::unavailable("The node is shutting down"))?
    }

    /// Queues `cmd` for a caller that wants it only while it waits on the returned receiver: if the
    /// receiver is dropped before the proposer gets to the command, it is never proposed; if it is
    /// dropped while the command is in flight, `orphan` gets the outcome. `orphan` is dropped when the
    /// proposer is done with the command either way.
    pub(crate) fn propose_unless_gone(
        &self,
        cmd: Command,
        size: usize,
        orphan: Orphan,
    ) -> Result<oneshot::Receiver<Result<Outcome, Fault>>, Fault> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Pending {
                cmd,
                size,
                reply,
                orphan: Some(orphan),
                times: crate::call_timing::current(),
                queued_at: Instant::now(),
            })
            .map_err(|_| Fault::unavailable("The node is shutting down"))?;
        Ok(answer)
    }
}

fn unavailable(e: &dyn std::fmt::Display) -> Fault {
    Fault::unavailable(format!("Raft error: {e}"))
}

/// The proposer loop: waits for a command and a free in-flight slot, gathers what queued meanwhile,
/// stamps and proposes it as one entry, and hands each caller its outcome once the entry is applied.
async fn run(
    log: impl Log,
    clock: Arc<ClusterClock>,
    disk: Arc<DiskGuard>,
    mut rx: mpsc::UnboundedReceiver<Pending>,
) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    // A command taken off the queue that did not fit in the previous entry.
    let mut carried: Option<Pending> = None;
    loop {
        let first = match carried.take() {
            Some(p) => p,
            None => match rx.recv().await {
                Some(p) => p,
                None => return,
            },
        };
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut bytes = first.size;
        let mut batch = vec![first];
        while batch.len() < MAX_COMMANDS {
            match rx.try_recv() {
                Ok(p) if bytes + p.size > MAX_BYTES => {
                    carried = Some(p);
                    break;
                }
                Ok(p) => {
                    bytes += p.size;
                    batch.push(p);
                }
                Err(_) => break,
            }
        }
        // Right before proposing: what only a departed caller wanted is dropped unproposed.
        batch.retain(|p| !p.withdrawn());
        if batch.is_empty() {
            continue;
        }
        let stamped = match disk.refusal() {
            Some(f) => Err(f),
            None => stamp_time(&clock).await,
        };
        let now = match stamped {
            Ok(now) => now,
            Err(f) => {
                drop(slot);
                for p in batch {
                    let _ = p.reply.send(Err(f.clone()));
                }
                continue;
            }
        };
        let proposed_at = Instant::now();
        let mut timed: Vec<Arc<CallTimes>> = Vec::new();
        let (cmds, replies): (Vec<Command>, Vec<_>) = batch
            .into_iter()
            .map(|mut p| {
                p.cmd.now = now;
                let waited = proposed_at.saturating_duration_since(p.queued_at);
                METRICS.proposer_queue_seconds.observe(waited.as_secs_f64());
                if let Some(t) = p.times {
                    t.add_queue(waited);
                    timed.push(t);
                }
                (p.cmd, (p.reply, p.orphan))
            })
            .unzip();
        let count = cmds.len();
        METRICS.proposer_batch.observe(count as f64);
        METRICS.proposer_entries.inc();
        match log.write(Batch(cmds)).await {
            Err(f) => {
                drop(slot);
                for (r, _) in replies {
                    let _ = r.send(Err(f.clone()));
                }
            }
            Ok(applied) => {
                tokio::spawn(async move {
                    let outcomes = applied.await;
                    drop(slot);
                    // One entry is in flight at a time, so the store's latest apply is this one's.
                    let took = proposed_at.elapsed();
                    let apply = swf_store::metrics::METRICS.last_apply().min(took);
                    METRICS.proposer_commit_seconds.observe(took.as_secs_f64());
                    for t in timed {
                        t.add_commit(took - apply);
                        t.add_apply(apply);
                    }
                    match outcomes {
                        Ok(outcomes) => {
                            if outcomes.len() != count {
                                tracing::error!(
                                    expected = count,
                                    got = outcomes.len(),
                                    "an applied entry returned the wrong number of outcomes"
                                );
                            }
                            let mut outcomes = outcomes.into_iter();
                            for (r, orphan) in replies {
                                let o = outcomes.next().unwrap_or_else(|| {
                                    Err(Fault::internal("no outcome for an applied command"))
                                });
                                if let (Err(Ok(o)), Some(orphan)) = (r.send(Ok(o)), orphan) {
                                    // The caller left while its command was in flight.
                                    orphan(o);
                                }
                            }
                        }
                        Err(f) => {
                            for (r, _) in replies {
                                let _ = r.send(Err(f.clone()));
                            }
                        }
                    }
                });
            }
        }
    }
}

#[cfg(test)]
#[path = "proposer_test.rs"]
mod proposer_test;

#[cfg(test)]
mod tests {
    use super::*;
    use swf_core::Op;

    /// Only a command its caller wanted while waiting (a poll's task start) is dropped unproposed,
    /// and only once that caller is gone: (wanted only while waiting, caller gone) → withdrawn.
    #[test]
    fn only_a_departed_pollers_start_is_withdrawn() {
        let cases = [
            (false, false, false),
            (false, true, false),
            (true, false, false),
            (true, true, true),
        ];
        for (while_waiting, gone, withdrawn) in cases {
            let (reply, answer) = oneshot::channel();
            let pending = Pending {
                cmd: Command {
                    now: Timestamp(0),
                    op: Op::Noop,
                    fresh_ids: Vec::new(),
                    request_id: None,
                },
                size: 0,
                reply,
                orphan: while_waiting.then(|| Box::new(|_: Outcome| {}) as Orphan),
                times: None,
                queued_at: Instant::now(),
            };
            if gone {
                drop(answer);
            }
            assert_eq!(
                pending.withdrawn(),
                withdrawn,
                "wanted only while waiting: {while_waiting}, caller gone: {gone}"
            );
        }
    }
}
