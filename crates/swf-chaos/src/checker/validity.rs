//! Invariant 4, valid histories: every final history parses as SWF history events and passes
//! `swf_core::validate::validate_history` (contiguous ids, references to earlier events of the right
//! type, no task closed twice, nothing after the close...).

use serde_json::json;
use swf_types::shapes::HistoryEvent;

use super::{FinalState, Verdict};

const NAME: &str = "histories-valid";

pub fn check(fs: &FinalState) -> Verdict {
    let mut v = Verdict::default();
    for (run, h) in &fs.histories {
        v.checked += 1;
        let parsed: Result<Vec<HistoryEvent>, _> = h
            .events
            .iter()
            .map(|e| serde_json::from_value::<HistoryEvent>(e.clone()))
            .collect();
        match parsed {
            Err(e) => v.flag(NAME, json!({"run_id": run, "workflow_id": h.workflow_id, "problem": format!("unparseable event: {e}")})),
            Ok(events) => {
                for bad in swf_core::validate::validate_history(&events) {
                    // The offending event and the one before it, as evidence.
                    let near: Vec<_> = h
                        .events
                        .iter()
                        .filter(|e| {
                            let id = e["eventId"].as_i64().unwrap_or(0);
                            id == bad.event_id || id == bad.event_id - 1
                        })
                        .collect();
                    v.flag(NAME, json!({"run_id": run, "workflow_id": h.workflow_id,
                        "event_id": bad.event_id, "problem": bad.rule, "events": near}));
                }
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::testkit::*;
    use serde_json::json;

    #[test]
    fn a_good_history_passes() {
        let v = check(&state_with(vec![("run1", "w1", good_run())]));
        assert_eq!(v.checked, 1);
        assert!(v.anomalies.is_empty(), "{:?}", v.anomalies);
    }

    /// Real SWF schedules the next decision task while one is started (simpleflow's
    /// `test_unrequested_signal` cassette: `DecisionTaskStarted (9) · ActivityTaskCompleted (10) ·
    /// DecisionTaskScheduled (11) · DecisionTaskCompleted (12)`); a second one scheduled before the
    /// first started is still flagged.
    #[test]
    fn accepts_the_next_decision_task_scheduled_while_one_is_started() {
        let dts = |id: i64| {
            ev(
                id,
                "DecisionTaskScheduled",
                0.5,
                json!({"taskList": {"name": "d"}, "startToCloseTimeout": "10", "scheduleToStartTimeout": "NONE"}),
            )
        };
        // good_run with the activity completing while decision task 9 (scheduled 8) is started.
        let mut h = good_run();
        h.truncate(6);
        h.push(ev(
            7,
            "WorkflowExecutionSignaled",
            0.4,
            json!({"signalName": "go", "externalInitiatedEventId": 0}),
        ));
        h.push(dts(8));
        h.push(ev(
            9,
            "DecisionTaskStarted",
            0.5,
            json!({"scheduledEventId": 8}),
        ));
        h.push(ev(
            10,
            "ActivityTaskCompleted",
            0.5,
            json!({"scheduledEventId": 5, "startedEventId": 6}),
        ));
        h.push(dts(11));
        h.push(ev(
            12,
            "DecisionTaskCompleted",
            0.6,
            json!({"scheduledEventId": 8, "startedEventId": 9}),
        ));
        h.push(ev(
            13,
            "DecisionTaskStarted",
            0.6,
            json!({"scheduledEventId": 11}),
        ));
        let v = check(&state_with(vec![("r1", "w1", h.clone())]));
        assert!(v.anomalies.is_empty(), "{:#?}", v.anomalies);
        // Two scheduled before either started.
        let mut two = h;
        two.truncate(7);
        two.push(dts(8));
        two.push(dts(9));
        let v = check(&state_with(vec![("r1", "w1", two)]));
        assert_eq!(v.anomalies.len(), 1, "{:#?}", v.anomalies);
    }

    #[test]
    fn catches_gaps_and_double_closes() {
        let mut gap = good_run();
        gap.remove(4);
        let mut twice = good_run();
        twice.insert(
            7,
            ev(
                8,
                "ActivityTaskFailed",
                0.5,
                json!({"scheduledEventId": 5, "startedEventId": 6}),
            ),
        );
        for (i, e) in twice.iter_mut().enumerate() {
            e["eventId"] = json!(i + 1);
        }
        let v = check(&state_with(vec![("r1", "w1", gap), ("r2", "w2", twice)]));
        let runs: std::collections::BTreeSet<_> = v
            .anomalies
            .iter()
            .map(|a| a.evidence["run_id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(runs.len(), 2, "{:#?}", v.anomalies);
    }
}
