//! The proposer on a paused tokio clock, over a log the test applies by hand (`TestLog`): a lone call
//! is proposed at once, calls that arrive while an entry is in flight go together into the next one
//! (in order, stamped alike, bounded in count), a leader change fails the callers of the lost entry
//! with a retryable fault and frees the way for the next, and a poll's task start is dropped
//! unproposed, or its outcome handed to its orphan handler, once its poller is gone.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use swf_core::{Batch, Command, Op, Outcome, Reply};
use swf_types::{Fault, FaultKind, Timestamp};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::{not_leader, Applied, Log, Orphan, Proposer, MAX_COMMANDS};
use crate::clock::ClusterClock;
use crate::disk::DiskGuard;

/// The test's verdict on an entry in flight: applied (`Ok`) or lost (`Err`).
type Verdict = oneshot::Sender<Result<(), Fault>>;

/// A log whose entries are applied (or lost) when the test says so, oldest first.
#[derive(Clone, Default)]
struct TestLog {
    /// Every entry proposed, in order.
    proposed: Arc<Mutex<Vec<Batch>>>,
    /// Set: proposals are refused with it (this node is not the leader).
    refuse: Arc<Mutex<Option<Fault>>>,
    /// The entries in flight, waiting for the test's verdict.
    in_flight: Arc<Mutex<VecDeque<Verdict>>>,
}

impl Log for TestLog {
    async fn write(&self, batch: Batch) -> Result<Applied, Fault> {
        if let Some(f) = self.refuse.lock().unwrap().clone() {
            return Err(f);
        }
        let n = batch.0.len();
        self.proposed.lock().unwrap().push(batch);
        let (tx, rx) = oneshot::channel();
        self.in_flight.lock().unwrap().push_back(tx);
        Ok(Box::pin(async move {
            match rx.await {
                Ok(Ok(())) => Ok((0..n).map(|_| Ok(Reply::Done)).collect()),
                Ok(Err(f)) => Err(f),
                Err(_) => Err(Fault::internal("the test dropped the entry")),
            }
        }))
    }
}

impl TestLog {
    /// The oldest entry in flight is applied (`Ok`) or lost (`Err`).
    fn settle_oldest(&self, verdict: Result<(), Fault>) {
        let entry = self.in_flight.lock().unwrap().pop_front();
        let _ = entry.expect("an entry in flight").send(verdict);
    }

    /// The request ids of each entry proposed so far.
    fn entries(&self) -> Vec<Vec<String>> {
        self.proposed
            .lock()
            .unwrap()
            .iter()
            .map(|b| {
                b.0.iter()
                    .map(|c| c.request_id.clone().unwrap_or_default())
                    .collect()
            })
            .collect()
    }

    fn stamps(&self) -> Vec<Vec<i64>> {
        self.proposed
            .lock()
            .unwrap()
            .iter()
            .map(|b| b.0.iter().map(|c| c.now.0).collect())
            .collect()
    }
}

fn cmd(id: &str) -> Command {
    Command {
        now: Timestamp(0),
        op: Op::Noop,
        fresh_ids: Vec::new(),
        request_id: Some(id.to_string()),
    }
}

fn start(log: &TestLog) -> Arc<Proposer> {
    Arc::new(Proposer::start(
        log.clone(),
        Arc::new(ClusterClock::single()),
        Arc::new(DiskGuard::new(std::env::temp_dir(), 0)),
    ))
}

/// Lets the spawned tasks (the proposer, the callers) run until `done` holds; a bounded number of
/// turns, so a wrong expectation fails instead of hanging.
async fn run_until(what: &str, done: impl Fn() -> bool) {
    for _ in 0..1_000 {
        if done() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("never happened: {what}");
}

fn call(p: &Arc<Proposer>, id: &str) -> JoinHandle<Result<Outcome, Fault>> {
    let (p, c) = (p.clone(), cmd(id));
    tokio::spawn(async move { p.propose(c, 100).await })
}

fn ids(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("c{i}")).collect()
}

#[tokio::test(start_paused = true)]
async fn a_lone_call_is_proposed_at_once_and_answered_once_applied() {
    let log = TestLog::default();
    let p = start(&log);
    let t0 = tokio::time::Instant::now();
    let a = call(&p, "a");
    run_until("the call is proposed", || log.entries().len() == 1).await;
    assert_eq!(log.entries(), [["a"]]);
    assert_eq!(tokio::time::Instant::now(), t0, "it waited for nothing");
    assert!(!a.is_finished(), "answered before it was applied");
    log.settle_oldest(Ok(()));
    assert_eq!(a.await.unwrap(), Ok(Ok(Reply::Done)));
    assert!(log.stamps()[0][0] > 0, "stamped with the leader's clock");
}

#[tokio::test(start_paused = true)]
async fn calls_that_arrive_while_an_entry_is_in_flight_share_the_next() {
    let log = TestLog::default();
    let p = start(&log);
    let first = call(&p, "first");
    run_until("the first call is proposed", || log.entries().len() == 1).await;
    // 300 calls arrive while it is in flight: nothing more is proposed until it is applied.
    let n = 300;
    let calls: Vec<_> = (0..n).map(|i| call(&p, &format!("c{i}"))).collect();
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    assert_eq!(log.entries().len(), 1, "one entry in flight at most");
    log.settle_oldest(Ok(()));
    run_until("the next entry", || log.entries().len() == 2).await;
    // In their order of arrival, as many as an entry holds; the rest in the one after.
    assert_eq!(log.entries()[1], ids(0..MAX_COMMANDS));
    log.settle_oldest(Ok(()));
    run_until("the last entry", || log.entries().len() == 3).await;
    assert_eq!(log.entries()[2], ids(MAX_COMMANDS..n));
    log.settle_oldest(Ok(()));
    assert_eq!(first.await.unwrap(), Ok(Ok(Reply::Done)));
    for c in calls {
        assert_eq!(c.await.unwrap(), Ok(Ok(Reply::Done)));
    }
    // One stamp per entry, never going back.
    let stamps = log.stamps();
    for entry in &stamps {
        assert!(entry.iter().all(|s| *s == entry[0]));
    }
    assert!(stamps.windows(2).all(|w| w[0][0] <= w[1][0]));
}

#[tokio::test(start_paused = true)]
async fn a_leader_change_fails_the_lost_entrys_callers_and_frees_the_way() {
    let log = TestLog::default();
    let p = start(&log);
    let a = call(&p, "a");
    run_until("a is proposed", || log.entries().len() == 1).await;
    let (b, c) = (call(&p, "b"), call(&p, "c"));
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    // The leader lost its leadership before `a`'s entry committed: its caller is told to try again
    // (503, retried by the router on the new leader); `b` and `c` go on in the next entry.
    log.settle_oldest(Err(not_leader()));
    let lost = a.await.unwrap().unwrap_err();
    assert_eq!(
        (lost.kind, lost.message.as_str()),
        (
            FaultKind::ServiceUnavailable,
            "This node is no longer the leader"
        )
    );
    run_until("b and c are proposed", || log.entries().len() == 2).await;
    assert_eq!(log.entries()[1], ["b", "c"]);
    // That entry is lost too, and this node now follows: proposals are refused at once (the caller
    // gets the fault), and the proposer still serves calls once it leads again.
    *log.refuse.lock().unwrap() = Some(Fault::unavailable("Raft error: forward to node 2"));
    log.settle_oldest(Err(not_leader()));
    for t in [b, c] {
        assert_eq!(
            t.await.unwrap().unwrap_err().kind,
            FaultKind::ServiceUnavailable
        );
    }
    let refused = call(&p, "d").await.unwrap().unwrap_err();
    assert_eq!(refused.message, "Raft error: forward to node 2");
    *log.refuse.lock().unwrap() = None;
    let e = call(&p, "e");
    run_until("e is proposed", || log.entries().len() == 3).await;
    log.settle_oldest(Ok(()));
    assert_eq!(e.await.unwrap(), Ok(Ok(Reply::Done)));
}

#[tokio::test(start_paused = true)]
async fn a_departed_pollers_start_is_dropped_or_handed_to_its_orphan_handler() {
    let log = TestLog::default();
    let p = start(&log);
    let a = call(&p, "a");
    run_until("a is proposed", || log.entries().len() == 1).await;
    let orphaned: Arc<Mutex<Vec<(&str, Outcome)>>> = Arc::default();
    let orphan = |name: &'static str| -> Orphan {
        let orphaned = orphaned.clone();
        Box::new(move |o| orphaned.lock().unwrap().push((name, o)))
    };
    // A poller that left before its start was proposed: never proposed, its handler never called.
    let gone = p
        .propose_unless_gone(cmd("gone"), 10, orphan("gone"))
        .unwrap();
    drop(gone);
    // One that stays until its start is in flight, then leaves: its handler gets the outcome.
    let leaves = p
        .propose_unless_gone(cmd("leaves"), 10, orphan("leaves"))
        .unwrap();
    log.settle_oldest(Ok(()));
    assert_eq!(a.await.unwrap(), Ok(Ok(Reply::Done)));
    run_until("the start is proposed", || log.entries().len() == 2).await;
    assert_eq!(log.entries()[1], ["leaves"]);
    drop(leaves);
    log.settle_oldest(Ok(()));
    run_until("the orphan handler ran", || {
        !orphaned.lock().unwrap().is_empty()
    })
    .await;
    assert_eq!(*orphaned.lock().unwrap(), [("leaves", Ok(Reply::Done))]);
}

/// On a data directory low on space the leader proposes nothing: each call gets a retryable
/// `ServiceUnavailable` at once and the log sees no entry; a cluster time missing gives the same
/// after `CLOCK_WAIT`.
#[tokio::test(start_paused = true)]
async fn nothing_is_proposed_on_a_full_disk_or_without_a_cluster_time() {
    let log = TestLog::default();
    let full = DiskGuard::new(std::env::temp_dir(), u64::MAX);
    assert_eq!(full.check(), (true, true));
    let p = Arc::new(Proposer::start(
        log.clone(),
        Arc::new(ClusterClock::single()),
        Arc::new(full),
    ));
    let f = call(&p, "a").await.unwrap().unwrap_err();
    assert_eq!(f.code(), "ServiceUnavailableException");
    assert!(f.message.contains("low on disk space"), "{}", f.message);
    assert!(log.entries().is_empty());

    let log = TestLog::default();
    let no_time = ClusterClock::new(Arc::default());
    let p = Arc::new(Proposer::start(
        log.clone(),
        Arc::new(no_time),
        Arc::new(DiskGuard::new(std::env::temp_dir(), 0)),
    ));
    let f = call(&p, "b").await.unwrap().unwrap_err();
    assert_eq!(f.code(), "ServiceUnavailableException");
    assert!(f.message.contains("clocks"), "{}", f.message);
    assert!(log.entries().is_empty());
}
