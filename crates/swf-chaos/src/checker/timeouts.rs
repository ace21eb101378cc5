//! Invariant 6, no timeout fires early: every ActivityTaskTimedOut, DecisionTaskTimedOut, TimerFired
//! and WorkflowExecutionTimedOut comes at least its timeout after the event that armed it (event
//! timestamps are the leader's clock). A heartbeat timeout also comes at least the heartbeat timeout
//! after the invoke time of every heartbeat the worker had acknowledged for that attempt. The same is
//! judged by the reference clock too (`timeouts_reference`), so a leader whose clock is ahead cannot
//! hide an early firing behind its own timestamps.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{attrs, eid, etype, ts_ms, FinalState, Verdict};
use crate::history::{Op, OpKey};

const NAME: &str = "no-early-timeout";
/// Rounding slack on timestamps (they travel as fractional seconds).
const SLACK_MS: f64 = 2.0;

fn secs(v: &Value) -> Option<f64> {
    v.as_str().and_then(|s| s.parse::<f64>().ok())
}

pub fn check(ops: &[Op], fs: &FinalState) -> Verdict {
    let mut v = Verdict::default();
    // Acknowledged heartbeats: (run, started event) -> latest invoke time.
    let mut beats: BTreeMap<(&str, i64), f64> = BTreeMap::new();
    for op in ops.iter().filter(|o| o.outcome.is_ok()) {
        if let OpKey::Heartbeat {
            run_id,
            started_event_id,
        } = &op.key
        {
            let t = beats
                .entry((run_id.as_str(), *started_event_id))
                .or_insert(0.0);
            *t = t.max(op.invoke_ms);
        }
    }
    for (run, h) in &fs.histories {
        let by_id: BTreeMap<i64, &Value> = h.events.iter().map(|e| (eid(e), e)).collect();
        let at = |id: &Value| id.as_i64().and_then(|i| by_id.get(&i).copied());
        let start = h.events.first();
        let mut early = |e: &Value, armed_ms: f64, timeout_s: f64, what: &str| {
            let due = armed_ms + timeout_s * 1000.0;
            if ts_ms(e) + SLACK_MS < due {
                v.flag(
                    NAME,
                    json!({"run_id": run, "workflow_id": h.workflow_id, "problem":
                    format!("{what} fired {:.0} ms early", due - ts_ms(e)), "event": e}),
                );
            }
        };
        let mut checked = 0u64;
        for e in &h.events {
            let a = attrs(e);
            match etype(e) {
                "ActivityTaskTimedOut" => {
                    checked += 1;
                    let Some(sched) = at(&a["scheduledEventId"]) else {
                        continue;
                    };
                    let sa = attrs(sched);
                    let started = at(&a["startedEventId"]);
                    match a["timeoutType"].as_str().unwrap_or("") {
                        "START_TO_CLOSE" => {
                            if let (Some(s), Some(t)) = (started, secs(&sa["startToCloseTimeout"]))
                            {
                                early(e, ts_ms(s), t, "activity START_TO_CLOSE");
                            }
                        }
                        "HEARTBEAT" => {
                            if let (Some(s), Some(t)) = (started, secs(&sa["heartbeatTimeout"])) {
                                let beat =
                                    beats.get(&(run.as_str(), eid(s))).copied().unwrap_or(0.0);
                                early(e, ts_ms(s).max(beat), t, "activity HEARTBEAT");
                            }
                        }
                        "SCHEDULE_TO_START" => {
                            if let Some(t) = secs(&sa["scheduleToStartTimeout"]) {
                                early(e, ts_ms(sched), t, "activity SCHEDULE_TO_START");
                            }
                        }
                        "SCHEDULE_TO_CLOSE" => {
                            if let Some(t) = secs(&sa["scheduleToCloseTimeout"]) {
                                early(e, ts_ms(sched), t, "activity SCHEDULE_TO_CLOSE");
                            }
                        }
                        _ => {}
                    }
                }
                "DecisionTaskTimedOut" => {
                    checked += 1;
                    let sched = at(&a["scheduledEventId"]);
                    let started = at(&a["startedEventId"]);
                    if let (Some(sc), Some(st)) = (sched, started) {
                        if let Some(t) = secs(&attrs(sc)["startToCloseTimeout"]) {
                            early(e, ts_ms(st), t, "decision START_TO_CLOSE");
                        }
                    }
                }
                "TimerFired" => {
                    checked += 1;
                    if let Some(s) = at(&a["startedEventId"]) {
                        if let Some(t) = secs(&attrs(s)["startToFireTimeout"]) {
                            early(e, ts_ms(s), t, "timer");
                        }
                    }
                }
                "WorkflowExecutionTimedOut" => {
                    checked += 1;
                    if let Some(s) = start {
                        if let Some(t) = secs(&attrs(s)["executionStartToCloseTimeout"]) {
                            early(e, ts_ms(s), t, "workflow execution");
                        }
                    }
                }
                _ => {}
            }
        }
        v.checked += checked;
    }
    super::timeouts_reference::check(ops, fs, &mut v);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::testkit::*;
    use crate::history::Outcome;

    fn run_with_timeout(timed_out_at: f64, kind: &str) -> Vec<Value> {
        let mut h = good_run();
        h.truncate(6); // ... ActivityTaskScheduled (5, s2c 30, hb 8), ActivityTaskStarted (6) at 0.3
        h.push(ev(
            7,
            "ActivityTaskTimedOut",
            timed_out_at,
            json!({"scheduledEventId": 5, "startedEventId": 6, "timeoutType": kind}),
        ));
        h
    }

    #[test]
    fn timeouts_on_time_pass() {
        let fs = state_with(vec![
            ("r1", "w1", run_with_timeout(8.3, "HEARTBEAT")),
            ("r2", "w2", run_with_timeout(31.0, "START_TO_CLOSE")),
        ]);
        let v = check(&[], &fs);
        assert_eq!(v.checked, 2);
        assert!(v.anomalies.is_empty(), "{:?}", v.anomalies);
    }

    #[test]
    fn catches_early_timeouts_and_timers() {
        let mut timer = good_run();
        timer.truncate(4);
        timer.push(ev(
            5,
            "TimerStarted",
            1.0,
            json!({"timerId": "t1", "startToFireTimeout": "5", "decisionTaskCompletedEventId": 4}),
        ));
        timer.push(ev(
            6,
            "TimerFired",
            5.0,
            json!({"timerId": "t1", "startedEventId": 5}),
        ));
        let fs = state_with(vec![
            ("r1", "w1", run_with_timeout(5.0, "HEARTBEAT")),
            ("r2", "w2", run_with_timeout(20.0, "START_TO_CLOSE")),
            ("r3", "w3", timer),
        ]);
        assert_eq!(check(&[], &fs).anomalies.len(), 3);
    }

    #[test]
    fn a_heartbeat_timeout_soon_after_an_acknowledged_heartbeat_is_early() {
        let fs = state_with(vec![("r1", "w1", run_with_timeout(9.0, "HEARTBEAT"))]);
        assert!(check(&[], &fs).anomalies.is_empty());
        let beat = op(
            "RecordActivityTaskHeartbeat",
            Outcome::Ok,
            OpKey::Heartbeat {
                run_id: "r1".into(),
                started_event_id: 6,
            },
            4.0,
        );
        assert_eq!(check(&[beat], &fs).anomalies.len(), 1);
    }
}
