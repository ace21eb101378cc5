//! Invariant 2, single delivery: no task attempt is handed to two pollers, every attempt a poller got
//! is the started event of the final history (a start that was handed out and then lost could be
//! handed out again), an execution never has two decision tasks started at once, and an activity task
//! is started at most once per scheduling.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::{attrs, eid, etype, FinalState, Verdict};
use crate::history::{Op, OpKey, TaskKind};

const NAME: &str = "single-delivery";

pub fn check(ops: &[Op], fs: &FinalState) -> Verdict {
    let mut v = Verdict::default();
    let mut seen: BTreeMap<(TaskKind, &str, i64), &Op> = BTreeMap::new();
    for op in ops.iter().filter(|o| o.outcome.is_ok()) {
        let OpKey::Delivered {
            kind,
            run_id,
            started_event_id,
            activity_id,
        } = &op.key
        else {
            continue;
        };
        v.checked += 1;
        if let Some(first) = seen.insert((*kind, run_id.as_str(), *started_event_id), op) {
            v.flag(NAME, json!({"problem": "one task attempt delivered to two pollers", "first": first, "second": op}));
        }
        let events = fs.histories.get(run_id).map(|h| h.events.as_slice());
        let Some(events) = events else {
            v.flag(NAME, json!({"problem": "task delivered for a run missing from the final state", "call": op}));
            continue;
        };
        let started = events.iter().find(|e| eid(e) == *started_event_id);
        let want = match kind {
            TaskKind::Decision => "DecisionTaskStarted",
            TaskKind::Activity => "ActivityTaskStarted",
        };
        let ok = started.is_some_and(|e| {
            etype(e) == want
                && match (kind, activity_id) {
                    (TaskKind::Activity, Some(id)) => {
                        let sched = attrs(e)["scheduledEventId"].as_i64();
                        events
                            .iter()
                            .find(|s| Some(eid(s)) == sched)
                            .is_some_and(|s| attrs(s)["activityId"] == *id)
                    }
                    _ => true,
                }
        });
        if !ok {
            v.flag(NAME, json!({"problem": format!("delivered attempt is not a {want} of the final history"), "call": op, "event": started}));
        }
    }
    for (run, h) in &fs.histories {
        let mut open_decision: Option<i64> = None;
        let mut activity_starts: BTreeSet<i64> = BTreeSet::new();
        for e in &h.events {
            match etype(e) {
                "DecisionTaskStarted" => {
                    if let Some(prev) = open_decision {
                        v.flag(NAME, json!({"problem": "two decision tasks started at once", "run_id": run, "open": prev, "event": e}));
                    }
                    open_decision = Some(eid(e));
                }
                "DecisionTaskCompleted" | "DecisionTaskTimedOut" => open_decision = None,
                "ActivityTaskStarted" => {
                    let sched = attrs(e)["scheduledEventId"].as_i64().unwrap_or(0);
                    if !activity_starts.insert(sched) {
                        v.flag(NAME, json!({"problem": "activity task started twice for one scheduling", "run_id": run, "event": e}));
                    }
                }
                _ => {}
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::testkit::*;
    use crate::history::Outcome;
    use serde_json::json;

    fn delivered(kind: TaskKind, started: i64, activity: Option<&str>) -> Op {
        op(
            "Poll",
            Outcome::Ok,
            OpKey::Delivered {
                kind,
                run_id: "run1".into(),
                started_event_id: started,
                activity_id: activity.map(str::to_string),
            },
            0.1,
        )
    }

    #[test]
    fn clean_deliveries_pass() {
        let fs = state_with(vec![("run1", "w1", good_run())]);
        let ops = vec![
            delivered(TaskKind::Decision, 3, None),
            delivered(TaskKind::Activity, 6, Some("a0")),
            delivered(TaskKind::Decision, 9, None),
        ];
        let v = check(&ops, &fs);
        assert_eq!(v.checked, 3);
        assert!(v.anomalies.is_empty(), "{:?}", v.anomalies);
    }

    #[test]
    fn catches_a_double_delivery() {
        let fs = state_with(vec![("run1", "w1", good_run())]);
        let ops = vec![
            delivered(TaskKind::Activity, 6, Some("a0")),
            delivered(TaskKind::Activity, 6, Some("a0")),
        ];
        assert_eq!(check(&ops, &fs).anomalies.len(), 1);
    }

    #[test]
    fn catches_a_delivery_whose_start_was_lost() {
        let fs = state_with(vec![("run1", "w1", good_run())]);
        // Event 7 is the completion, not a start: the attempt the poller got is not in the history.
        let ops = vec![delivered(TaskKind::Activity, 7, Some("a0"))];
        assert_eq!(check(&ops, &fs).anomalies.len(), 1);
        let ops = vec![delivered(TaskKind::Activity, 6, Some("other"))];
        assert_eq!(check(&ops, &fs).anomalies.len(), 1);
    }

    #[test]
    fn catches_overlapping_decision_tasks_and_double_activity_starts() {
        let mut h = good_run();
        h.truncate(3);
        h.push(ev(
            4,
            "DecisionTaskStarted",
            0.2,
            json!({"scheduledEventId": 2}),
        ));
        h.push(ev(
            5,
            "ActivityTaskStarted",
            0.2,
            json!({"scheduledEventId": 2}),
        ));
        h.push(ev(
            6,
            "ActivityTaskStarted",
            0.2,
            json!({"scheduledEventId": 2}),
        ));
        let fs = state_with(vec![("run1", "w1", h)]);
        assert_eq!(check(&[], &fs).anomalies.len(), 2);
    }
}
