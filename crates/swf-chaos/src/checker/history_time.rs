//! Invariant 11, history time follows the reference clock: within every history the event times never
//! go backwards, and every event an acknowledged call made (an execution's start, a decision completed)
//! carries a time within that call's invoke and complete times by this process's clock, the single
//! reference no fault touches (within `TOLERANCE_MS`); a task handed to a poller was started no later
//! than the poll answered (it may have been started earlier: a task started for a poller that left is
//! handed to the next one, found by the first campaign, seed 101). A leader stamping
//! its own skewed clock (the `clock` fault moves a node's an hour) breaks the second; one stamping
//! below the last stamp breaks the first.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{attrs, eid, etype, ts_ms, FinalState, Verdict};
use crate::history::{Op, OpKey, TaskKind};

const NAME: &str = "history-time";
/// How far an event's time may lie outside its call's window: the cluster time errs by milliseconds;
/// the skews the nemesis makes are minutes to an hour.
pub const TOLERANCE_MS: f64 = 1_000.0;

/// The event an acknowledged call made or was handed: (run id, how to find it).
enum Made<'a> {
    /// By event id; `handed`: a task start the call was handed, perhaps made before it was sent.
    Event(&'a str, i64, bool),
    /// The DecisionTaskCompleted of the decision task started as this event.
    DecisionCompleted(&'a str, i64),
}

fn made(op: &Op) -> Option<Made<'_>> {
    match &op.key {
        OpKey::Start {
            run_id: Some(r), ..
        } => Some(Made::Event(r, 1, false)),
        OpKey::Delivered {
            kind: TaskKind::Decision | TaskKind::Activity,
            run_id,
            started_event_id,
            ..
        } => Some(Made::Event(run_id, *started_event_id, true)),
        OpKey::CompleteDecision {
            run_id,
            started_event_id,
            ..
        } => Some(Made::DecisionCompleted(run_id, *started_event_id)),
        _ => None,
    }
}

pub fn check(ops: &[Op], fs: &FinalState) -> Verdict {
    let mut v = Verdict::default();
    for (run, h) in &fs.histories {
        v.checked += 1;
        for pair in h.events.windows(2) {
            if ts_ms(&pair[1]) < ts_ms(&pair[0]) {
                v.flag(
                    NAME,
                    json!({"run_id": run, "workflow_id": h.workflow_id, "problem":
                        format!("event {} is {:.0} ms before event {}", eid(&pair[1]),
                            ts_ms(&pair[0]) - ts_ms(&pair[1]), eid(&pair[0])),
                        "events": [pair[0], pair[1]]}),
                );
            }
        }
    }
    // Per run: event id -> event, and decision started id -> its DecisionTaskCompleted.
    let mut by_id: BTreeMap<&str, BTreeMap<i64, &Value>> = BTreeMap::new();
    let mut completed: BTreeMap<&str, BTreeMap<i64, &Value>> = BTreeMap::new();
    for (run, h) in &fs.histories {
        for e in &h.events {
            by_id.entry(run).or_default().insert(eid(e), e);
            if etype(e) == "DecisionTaskCompleted" {
                if let Some(s) = attrs(e)["startedEventId"].as_i64() {
                    completed.entry(run).or_default().insert(s, e);
                }
            }
        }
    }
    // The starter sends every attempt of one start with one invocation id, as an SDK does, and the
    // service answers a later attempt with the run an earlier one made: an acknowledged start's run
    // may have been made by any attempt, so its window opens at the first (campaign of 2026-11-30,
    // seeds 1004 and 1006: the run stamped 3.3 s before the acknowledged attempt, by the attempt
    // that timed out).
    let mut first_attempt: BTreeMap<&str, f64> = BTreeMap::new();
    for op in ops {
        if let OpKey::Start { workflow_id, .. } = &op.key {
            let t = first_attempt.entry(workflow_id).or_insert(f64::MAX);
            *t = t.min(op.invoke_ms);
        }
    }
    for op in ops.iter().filter(|o| o.outcome.is_ok()) {
        let opened = match &op.key {
            OpKey::Start { workflow_id, .. } => first_attempt[workflow_id.as_str()],
            _ => op.invoke_ms,
        };
        let (event, handed) = match made(op) {
            Some(Made::Event(run, id, handed)) => (by_id.get(run).and_then(|m| m.get(&id)), handed),
            Some(Made::DecisionCompleted(run, id)) => {
                (completed.get(run).and_then(|m| m.get(&id)), false)
            }
            None => (None, false),
        };
        let Some(e) = event else { continue };
        v.checked += 1;
        let t = ts_ms(e);
        let too_early = !handed && t < opened - TOLERANCE_MS;
        if too_early || t > op.complete_ms + TOLERANCE_MS {
            v.flag(
                NAME,
                json!({"problem": format!("{} made an event stamped {:.0} ms outside the call's window by the reference clock",
                        op.action, if t < opened { opened - t } else { t - op.complete_ms }),
                    "op": op, "event": e}),
            );
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::testkit::*;
    use crate::history::Outcome;

    fn delivered(run: &str, started: i64, at_s: f64) -> Op {
        op(
            "PollForDecisionTask",
            Outcome::Ok,
            OpKey::Delivered {
                kind: TaskKind::Decision,
                run_id: run.into(),
                started_event_id: started,
                activity_id: None,
            },
            at_s,
        )
    }

    #[test]
    fn times_in_order_and_in_their_calls_windows_pass() {
        let fs = state_with(vec![("r1", "w1", good_run())]);
        let v = check(&[delivered("r1", 3, 0.095)], &fs);
        assert_eq!(v.checked, 2);
        assert!(v.anomalies.is_empty(), "{:?}", v.anomalies);
    }

    #[test]
    fn catches_time_going_back_and_a_skewed_stamp() {
        let mut h = good_run();
        h[6]["eventTimestamp"] = json!(0.25); // before event 6 at 0.3
        let fs = state_with(vec![("r1", "w1", h)]);
        assert_eq!(check(&[], &fs).anomalies.len(), 1);
        // A decision task handed to a poll that answered at 0.1 s, stamped an hour later: a leader
        // an hour ahead stamped it.
        let mut h = good_run();
        h[2]["eventTimestamp"] = json!(3600.1);
        for e in h.iter_mut().skip(3) {
            let t = e["eventTimestamp"].as_f64().unwrap();
            e["eventTimestamp"] = json!(t + 3600.0);
        }
        let fs = state_with(vec![("r1", "w1", h)]);
        let v = check(&[delivered("r1", 3, 0.095)], &fs);
        assert_eq!(v.anomalies.len(), 1, "{:?}", v.anomalies);
        // A decision completed by a call at 0.2 s but stamped an hour ahead.
        let mut h = good_run();
        for e in h.iter_mut().skip(3) {
            let t = e["eventTimestamp"].as_f64().unwrap();
            e["eventTimestamp"] = json!(t + 3600.0);
        }
        let fs = state_with(vec![("r1", "w1", h)]);
        let completed = op(
            "RespondDecisionTaskCompleted",
            Outcome::Ok,
            OpKey::CompleteDecision {
                run_id: "r1".into(),
                started_event_id: 3,
                decisions: 1,
            },
            0.19,
        );
        assert_eq!(check(&[completed], &fs).anomalies.len(), 1);
    }

    /// A start retried with its invocation id is answered with the run its first, timed-out attempt
    /// made, stamped seconds before the acknowledged attempt was sent: within the start's window.
    /// A start acknowledged without such an earlier attempt is still judged by its own window.
    #[test]
    fn a_retried_start_is_judged_from_its_first_attempt() {
        let start = |outcome: Outcome, at_s| {
            let run_id = matches!(outcome, Outcome::Ok).then(|| "r1".into());
            op(
                "StartWorkflowExecution",
                outcome,
                OpKey::Start {
                    workflow_id: "w1".into(),
                    input: "{}".into(),
                    run_id,
                },
                at_s,
            )
        };
        let mut h = good_run();
        for e in h.iter_mut() {
            let t = e["eventTimestamp"].as_f64().unwrap();
            e["eventTimestamp"] = json!(t + 1.0);
        }
        let fs = state_with(vec![("r1", "w1", h)]);
        let first = start(Outcome::Indeterminate("timeout".into()), 0.99);
        let v = check(&[first, start(Outcome::Ok, 4.3)], &fs);
        assert!(v.anomalies.is_empty(), "{:?}", v.anomalies);
        assert_eq!(check(&[start(Outcome::Ok, 4.3)], &fs).anomalies.len(), 1);
    }

    /// A task started for a poller that left is handed to the next poll: its start predates that
    /// poll, which is no anomaly (seed 101 of the first campaign flagged 17 such).
    #[test]
    fn a_task_handed_over_from_a_departed_poller_may_predate_the_poll() {
        let fs = state_with(vec![("r1", "w1", good_run())]);
        let v = check(&[delivered("r1", 3, 3.0)], &fs);
        assert_eq!(v.checked, 2);
        assert!(v.anomalies.is_empty(), "{:?}", v.anomalies);
    }
}
