//! Invariant 6 judged by the reference clock (this process's, which no fault touches) instead of the
//! event timestamps, which are the cluster's: a timer or timeout fired early if a call saw it fired
//! (a decision task whose history includes it, answered at `complete_ms`) sooner than its length after
//! the call that armed it was first sent (`invoke_ms`). Both bounds are sound: the arming happened
//! after some attempt of its call was sent, and the firing before the task that shows it was handed
//! out. Timestamps from a leader whose clock runs ahead would pass the timestamp check and fail this.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{attrs, eid, etype, FinalState, Verdict};
use crate::history::{Op, OpKey, TaskKind};

const NAME: &str = "no-early-timeout";
/// Rounding slack (ms).
const SLACK_MS: f64 = 2.0;

fn secs(v: &Value) -> Option<f64> {
    v.as_str().and_then(|s| s.parse::<f64>().ok())
}

/// What armed a deadline: the call's kind and its (run, started event id) key.
#[derive(PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum Arm {
    /// A RespondDecisionTaskCompleted for the decision task started as this event.
    Decided(i64),
    /// A poll that handed out the decision / activity task started as this event.
    Handed(TaskKind, i64),
}

pub fn check(ops: &[Op], fs: &FinalState, v: &mut Verdict) {
    // (run, arm) -> earliest invoke of any attempt, whatever its outcome.
    let mut armed: BTreeMap<(&str, Arm), f64> = BTreeMap::new();
    // run -> (started event id, complete time) of decision tasks handed out.
    let mut seen: BTreeMap<&str, Vec<(i64, f64)>> = BTreeMap::new();
    for op in ops {
        let key = match &op.key {
            OpKey::CompleteDecision {
                run_id,
                started_event_id,
                ..
            } => Some((run_id.as_str(), Arm::Decided(*started_event_id))),
            OpKey::Delivered {
                kind,
                run_id,
                started_event_id,
                ..
            } => {
                if *kind == TaskKind::Decision && op.outcome.is_ok() {
                    seen.entry(run_id)
                        .or_default()
                        .push((*started_event_id, op.complete_ms));
                }
                Some((run_id.as_str(), Arm::Handed(*kind, *started_event_id)))
            }
            _ => None,
        };
        if let Some(k) = key {
            let t = armed.entry(k).or_insert(f64::MAX);
            *t = t.min(op.invoke_ms);
        }
    }
    for (run, h) in &fs.histories {
        let by_id: BTreeMap<i64, &Value> = h.events.iter().map(|e| (eid(e), e)).collect();
        let at = |id: &Value| id.as_i64().and_then(|i| by_id.get(&i).copied());
        // The decision started event that completed decision event `id` was started as.
        let decided = |id: &Value| {
            at(id).and_then(|dc| attrs(dc)["startedEventId"].as_i64().map(Arm::Decided))
        };
        for e in &h.events {
            let a = attrs(e);
            // (what armed it, its length in seconds)
            let arm: Option<(Arm, f64)> = match etype(e) {
                "TimerFired" => at(&a["startedEventId"]).and_then(|s| {
                    let sa = attrs(s);
                    Some((
                        decided(&sa["decisionTaskCompletedEventId"])?,
                        secs(&sa["startToFireTimeout"])?,
                    ))
                }),
                "DecisionTaskTimedOut" => {
                    let started = a["startedEventId"].as_i64();
                    let len = at(&a["scheduledEventId"])
                        .and_then(|s| secs(&attrs(s)["startToCloseTimeout"]));
                    started
                        .zip(len)
                        .map(|(s, l)| (Arm::Handed(TaskKind::Decision, s), l))
                }
                "ActivityTaskTimedOut" => at(&a["scheduledEventId"]).and_then(|s| {
                    let sa = attrs(s);
                    match a["timeoutType"].as_str().unwrap_or("") {
                        "START_TO_CLOSE" => Some((
                            Arm::Handed(TaskKind::Activity, a["startedEventId"].as_i64()?),
                            secs(&sa["startToCloseTimeout"])?,
                        )),
                        "SCHEDULE_TO_START" => Some((
                            decided(&sa["decisionTaskCompletedEventId"])?,
                            secs(&sa["scheduleToStartTimeout"])?,
                        )),
                        "SCHEDULE_TO_CLOSE" => Some((
                            decided(&sa["decisionTaskCompletedEventId"])?,
                            secs(&sa["scheduleToCloseTimeout"])?,
                        )),
                        // A heartbeat timeout is armed again by every heartbeat.
                        _ => None,
                    }
                }),
                _ => None,
            };
            let Some((arm, len_s)) = arm else { continue };
            let Some(&sent) = armed.get(&(run.as_str(), arm)) else {
                continue;
            };
            let fired = eid(e);
            let witness = seen
                .get(run.as_str())
                .into_iter()
                .flatten()
                .filter(|(started, _)| *started > fired)
                .map(|(_, t)| *t)
                .fold(f64::MAX, f64::min);
            if witness == f64::MAX {
                continue;
            }
            v.checked += 1;
            let due = sent + len_s * 1000.0;
            if witness + SLACK_MS < due {
                v.flag(
                    NAME,
                    json!({"run_id": run, "workflow_id": h.workflow_id, "problem":
                        format!("{} seen fired {:.0} ms early by the reference clock", etype(e), due - witness),
                        "event": e}),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::testkit::*;
    use crate::history::Outcome;

    /// A timer of 5 s armed by the decision completed at 0.2 s (reference), whose firing a decider
    /// saw at `seen_s` (reference); event times all say 5 s later, as a leader ahead would stamp.
    fn timer_seen_at(seen_s: f64) -> (FinalState, Vec<Op>) {
        let mut h = good_run();
        h.truncate(4);
        h.push(ev(
            5,
            "TimerStarted",
            0.2,
            json!({"timerId": "t1", "startToFireTimeout": "5", "decisionTaskCompletedEventId": 4}),
        ));
        h.push(ev(
            6,
            "TimerFired",
            5.3,
            json!({"timerId": "t1", "startedEventId": 5}),
        ));
        let ops = vec![
            op(
                "RespondDecisionTaskCompleted",
                Outcome::Ok,
                OpKey::CompleteDecision {
                    run_id: "r1".into(),
                    started_event_id: 3,
                    decisions: 1,
                },
                0.19,
            ),
            op(
                "PollForDecisionTask",
                Outcome::Ok,
                OpKey::Delivered {
                    kind: TaskKind::Decision,
                    run_id: "r1".into(),
                    started_event_id: 8,
                    activity_id: None,
                },
                seen_s - 0.01,
            ),
        ];
        (state_with(vec![("r1", "w1", h)]), ops)
    }

    #[test]
    fn a_timer_seen_after_its_length_passes() {
        let (fs, ops) = timer_seen_at(5.3);
        let mut v = Verdict::default();
        check(&ops, &fs, &mut v);
        assert_eq!(v.checked, 1);
        assert!(v.anomalies.is_empty(), "{:?}", v.anomalies);
    }

    #[test]
    fn a_timer_seen_before_its_length_by_the_reference_clock_is_early() {
        // The timestamps say 5.1 s, but the decider saw it fired 1 s after it was armed.
        let (fs, ops) = timer_seen_at(1.2);
        let mut v = Verdict::default();
        check(&ops, &fs, &mut v);
        assert_eq!(v.anomalies.len(), 1, "{:?}", v.anomalies);
    }
}
