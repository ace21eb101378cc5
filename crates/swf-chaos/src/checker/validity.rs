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
