//! Bytes written per history event, measured on the real RocksDB state machine: the write batches of
//! applied entries (`StateMachineStore::bytes_written`, what RocksDB's WAL and memtables receive) while
//! one execution has 1, 100 or 1,000 timers open. An event must cost the same whatever else is open:
//! when the execution record carried its open timers and deadlines, every TimerFired rewrote all of
//! them (about 170 bytes per open timer per event).
//!
//! `bytes_per_event_stay_flat_whatever_is_open` is the regression test (bound: 2 KiB per event at
//! 1,000 open timers). `write_amplification_table` prints the table in `docs/benchmarks.md`
//! (`cargo test -p swf-store --release --test write_amplification -- --ignored --nocapture`).

use openraft::storage::RaftStateMachine;
use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId};
use swf_core::state::{DeadlineKind, Lookup};
use swf_core::token::TaskToken;
use swf_core::{Batch, Command, Limits, Op, Outcome, Reply};
use swf_store::{open_db, StateMachineStore, StateReader, TypeConfig};
use swf_types::shapes::*;
use swf_types::Timestamp;

/// Timers fired (and signals sent) per measurement.
const PROBES: usize = 20;
/// The bound an event must stay under, whatever is open.
const BOUND: f64 = 2048.0;

/// One execution on a fresh RocksDB state machine.
struct Bench {
    _dir: tempfile::TempDir,
    sm: StateMachineStore,
    reader: StateReader,
    index: u64,
    clock: i64,
    run: String,
}

/// What one kind of step cost: entries, events appended, bytes written.
#[derive(Debug, Default, Clone, Copy)]
struct Cost {
    entries: usize,
    events: i64,
    bytes: u64,
}

impl Cost {
    fn per_event(&self) -> f64 {
        self.bytes as f64 / self.events.max(1) as f64
    }
    fn per_entry(&self) -> f64 {
        self.bytes as f64 / self.entries.max(1) as f64
    }
}

impl Bench {
    async fn new() -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let db = open_db(&dir.path().join("db")).unwrap();
        let limits = Limits {
            max_open_timers: 2_000,
            ..Limits::default()
        };
        let sm = StateMachineStore::new(db.clone(), limits, None);
        let mut b = Bench {
            _dir: dir,
            sm,
            reader: StateReader::new(db),
            index: 0,
            clock: 1_700_000_000_000,
            run: "run-1".into(),
        };
        b.ok(Op::RegisterDomain(RegisterDomainInput {
            name: "d".into(),
            workflow_execution_retention_period_in_days: "0".into(),
            ..Default::default()
        }))
        .await;
        b.ok(Op::RegisterWorkflowType(RegisterWorkflowTypeInput {
            domain: "d".into(),
            name: "wf".into(),
            version: "1".into(),
            default_task_list: Some(Box::new(TaskList { name: "t".into() })),
            default_execution_start_to_close_timeout: Some("86400".into()),
            default_task_start_to_close_timeout: Some("3600".into()),
            default_child_policy: Some(ChildPolicy::Terminate),
            ..Default::default()
        }))
        .await;
        b.ok(Op::StartWorkflowExecution {
            input: StartWorkflowExecutionInput {
                domain: "d".into(),
                workflow_id: "w".into(),
                workflow_type: Box::new(WorkflowType {
                    name: "wf".into(),
                    version: "1".into(),
                }),
                ..Default::default()
            },
            run_id: "run-1".into(),
        })
        .await;
        b
    }

    /// Applies `op` as the next entry; returns its outcome and the bytes it wrote.
    async fn apply(&mut self, op: Op) -> (Outcome, u64) {
        self.index += 1;
        self.clock += 1_000;
        let entry = Entry::<TypeConfig> {
            log_id: LogId::new(CommittedLeaderId::new(1, 1), self.index),
            payload: EntryPayload::Normal(Batch(vec![Command {
                now: Timestamp(self.clock),
                op,
                fresh_ids: Vec::new(),
                request_id: None,
            }])),
        };
        let before = self.sm.bytes_written();
        let mut out = self.sm.apply(vec![entry]).await.unwrap();
        let outcome = out.pop().unwrap().0.pop().unwrap();
        (outcome, self.sm.bytes_written() - before)
    }

    async fn ok(&mut self, op: Op) -> u64 {
        let (outcome, bytes) = self.apply(op).await;
        outcome.unwrap();
        bytes
    }

    fn next_event_id(&self) -> i64 {
        self.reader
            .execution(&self.run)
            .unwrap()
            .unwrap()
            .next_event_id
    }

    /// Starts the scheduled decision task and completes it with `decisions`; returns the cost of the
    /// completion.
    async fn decide(&mut self, decisions: Vec<Decision>) -> Cost {
        let rec = self.reader.execution(&self.run).unwrap().unwrap();
        let swf_core::state::DecisionSlot::Scheduled {
            scheduled_event_id, ..
        } = rec.decision
        else {
            panic!("no decision task scheduled: {:?}", rec.decision)
        };
        let started = self
            .ok(Op::StartDecisionTask {
                run_id: self.run.clone(),
                scheduled_event_id,
                identity: None,
            })
            .await;
        assert!(started > 0);
        let token = TaskToken {
            kind: swf_core::state::TaskKind::Decision,
            run_id: self.run.clone(),
            scheduled_event_id,
            started_event_id: self.next_event_id() - 1,
        }
        .encode();
        let first = self.next_event_id();
        let bytes = self
            .ok(Op::RespondDecisionTaskCompleted(
                RespondDecisionTaskCompletedInput {
                    task_token: token,
                    decisions: Some(decisions),
                    ..Default::default()
                },
            ))
            .await;
        Cost {
            entries: 1,
            events: self.next_event_id() - first,
            bytes,
        }
    }

    /// Fires every due timer whose id starts with `prefix`, one entry each.
    async fn fire_timers(&mut self, prefix: &str) -> Cost {
        let rec = self.reader.execution(&self.run).unwrap().unwrap();
        let due: Vec<_> = rec
            .deadlines
            .iter()
            .filter(|d| matches!(&d.kind, DeadlineKind::Timer { timer_id } if timer_id.starts_with(prefix)))
            .cloned()
            .collect();
        let mut cost = Cost::default();
        let first = self.next_event_id();
        for d in due {
            let (outcome, bytes) = self.apply(Op::FireDeadline(d)).await;
            assert_eq!(outcome, Ok(Reply::Done));
            cost.entries += 1;
            cost.bytes += bytes;
        }
        cost.events = self.next_event_id() - first;
        cost
    }

    /// Sends `n` signals, one entry each.
    async fn signal(&mut self, n: usize) -> Cost {
        let first = self.next_event_id();
        let mut cost = Cost::default();
        for i in 0..n {
            cost.bytes += self
                .ok(Op::SignalWorkflowExecution(SignalWorkflowExecutionInput {
                    domain: "d".into(),
                    workflow_id: "w".into(),
                    signal_name: format!("s{i}"),
                    ..Default::default()
                }))
                .await;
            cost.entries += 1;
        }
        cost.events = self.next_event_id() - first;
        cost
    }
}

fn timer(id: String, secs: &str) -> Decision {
    Decision {
        decision_type: DecisionType::StartTimer,
        start_timer_decision_attributes: Some(Box::new(StartTimerDecisionAttributes {
            timer_id: id,
            start_to_fire_timeout: secs.into(),
            control: None,
        })),
        ..Default::default()
    }
}

/// The costs at `open` open timers: starting them (one decision), firing `PROBES` zero-second timers
/// one entry each while they stay open, and `PROBES` signals.
struct Measured {
    start: Cost,
    fire: Cost,
    signal: Cost,
}

async fn measure(open: usize) -> Measured {
    let mut b = Bench::new().await;
    let mut decisions: Vec<Decision> = (0..open)
        .map(|i| timer(format!("open-{i}"), "86400"))
        .collect();
    decisions.extend((0..PROBES).map(|i| timer(format!("now-{i}"), "0")));
    let start = b.decide(decisions).await;
    let fire = b.fire_timers("now-").await;
    assert_eq!(fire.entries, PROBES);
    let rec = b.reader.execution(&b.run).unwrap().unwrap();
    assert_eq!(rec.timers.len(), open, "the long timers stay open");
    let signal = b.signal(PROBES).await;
    Measured {
        start,
        fire,
        signal,
    }
}

#[tokio::test]
async fn bytes_per_event_stay_flat_whatever_is_open() {
    let few = measure(1).await;
    let many = measure(1_000).await;
    for (what, m) in [("1 open", &few), ("1,000 open", &many)] {
        assert!(
            m.fire.per_event() <= BOUND,
            "{what}: {:.0} bytes per TimerFired event",
            m.fire.per_event()
        );
        assert!(
            m.signal.per_event() <= BOUND,
            "{what}: {:.0} bytes per signal event",
            m.signal.per_event()
        );
    }
    // Flat: 1,000 more open timers may add noise (longer keys, batch framing), not a growth.
    assert!(
        many.fire.per_entry() < few.fire.per_entry() + 256.0,
        "a firing costs {:.0} bytes with 1 open timer but {:.0} with 1,000",
        few.fire.per_entry(),
        many.fire.per_entry()
    );
    // Starting timers costs per timer, not per timer squared.
    let per_timer = many.start.bytes as f64 / (1_000 + PROBES) as f64;
    assert!(per_timer <= BOUND, "{per_timer:.0} bytes per StartTimer");
}

#[tokio::test]
#[ignore = "measurement: run explicitly with --nocapture"]
async fn write_amplification_table() {
    println!("| open timers | StartTimer (B/timer) | TimerFired entry (B) | per event (B) | signal entry (B) | per event (B) |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for open in [1, 100, 1_000] {
        let m = measure(open).await;
        println!(
            "| {open} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} |",
            m.start.bytes as f64 / (open + PROBES) as f64,
            m.fire.per_entry(),
            m.fire.per_event(),
            m.signal.per_entry(),
            m.signal.per_event(),
        );
    }
}
