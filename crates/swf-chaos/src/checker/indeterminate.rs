//! Invariant 7, indeterminate calls resolve consistently: a call whose outcome the client never
//! learned (timeout, lost connection, 5xx) is in the final state entirely or not at all, and at most
//! once: a start made at most one run of its workflow id, a signal's unique input arrived at most once,
//! an activity result at most once and for its own attempt, and a decision batch applied with all of
//! its decisions or none.

use std::collections::BTreeSet;

use serde_json::json;

use super::lost::{decision_effects, signal_count};
use super::{attrs, eid, etype, FinalState, Verdict};
use crate::history::{Op, OpKey};

const NAME: &str = "indeterminate-consistent";

pub fn check(ops: &[Op], fs: &FinalState) -> Verdict {
    let mut v = Verdict::default();
    let mut starts_seen = BTreeSet::new();
    for op in ops.iter().filter(|o| o.outcome.is_indeterminate()) {
        match &op.key {
            OpKey::Start {
                workflow_id, input, ..
            } => {
                v.checked += 1;
                if !starts_seen.insert(workflow_id.clone()) {
                    continue;
                }
                let runs: Vec<_> = fs
                    .histories
                    .iter()
                    .filter(|(_, h)| h.workflow_id == *workflow_id)
                    .collect();
                if runs.len() > 1 {
                    v.flag(
                        NAME,
                        json!({"call": op, "problem": format!("{} runs for one start", runs.len()),
                        "runs": runs.iter().map(|(r, _)| r).collect::<Vec<_>>()}),
                    );
                }
                for (run, h) in runs {
                    let first = h.events.first();
                    if !first.is_some_and(|e| attrs(e)["input"] == *input) {
                        v.flag(NAME, json!({"call": op, "problem": "run started with another input", "run_id": run}));
                    }
                }
            }
            OpKey::Signal { workflow_id, input } => {
                v.checked += 1;
                let n = signal_count(fs, workflow_id, input);
                if n > 1 {
                    v.flag(
                        NAME,
                        json!({"call": op, "problem": format!("signal applied {n} times")}),
                    );
                }
            }
            OpKey::CompleteActivity {
                run_id,
                started_event_id,
                result,
            } => {
                v.checked += 1;
                let events = fs
                    .histories
                    .get(run_id)
                    .map(|h| h.events.as_slice())
                    .unwrap_or(&[]);
                let found: Vec<_> = events
                    .iter()
                    .filter(|e| {
                        etype(e) == "ActivityTaskCompleted" && attrs(e)["result"] == *result
                    })
                    .collect();
                if found.len() > 1
                    || found
                        .iter()
                        .any(|e| attrs(e)["startedEventId"] != *started_event_id)
                {
                    v.flag(NAME, json!({"call": op, "problem": "completion applied more than once or to another attempt", "events": found}));
                }
            }
            OpKey::CompleteDecision {
                run_id,
                started_event_id,
                decisions,
            } => {
                v.checked += 1;
                let events = fs
                    .histories
                    .get(run_id)
                    .map(|h| h.events.as_slice())
                    .unwrap_or(&[]);
                let done: Vec<_> = events
                    .iter()
                    .filter(|e| {
                        etype(e) == "DecisionTaskCompleted"
                            && attrs(e)["startedEventId"] == *started_event_id
                    })
                    .collect();
                if done.len() > 1 {
                    v.flag(NAME, json!({"call": op, "problem": "decision task completed twice", "events": done}));
                }
                if let Some(e) = done.first() {
                    let n = decision_effects(events, eid(e));
                    if n != *decisions {
                        v.flag(NAME, json!({"call": op, "problem": format!("partially applied: {decisions} decisions sent, {n} applied")}));
                    }
                }
            }
            _ => {}
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

    fn indet(key: OpKey) -> Op {
        op("X", Outcome::Indeterminate("timeout".into()), key, 0.1)
    }

    #[test]
    fn applied_or_not_at_all_passes() {
        let fs = state_with(vec![("run1", "w1", good_run())]);
        let ops = vec![
            // Applied entirely.
            indet(OpKey::CompleteDecision {
                run_id: "run1".into(),
                started_event_id: 3,
                decisions: 1,
            }),
            indet(OpKey::CompleteActivity {
                run_id: "run1".into(),
                started_event_id: 6,
                result: "r:run1:6".into(),
            }),
            // Not applied at all.
            indet(OpKey::Start {
                workflow_id: "w9".into(),
                input: "{}".into(),
                run_id: None,
            }),
            indet(OpKey::Signal {
                workflow_id: "w1".into(),
                input: "never".into(),
            }),
        ];
        let v = check(&ops, &fs);
        assert_eq!(v.checked, 4);
        assert!(v.anomalies.is_empty(), "{:?}", v.anomalies);
    }

    #[test]
    fn catches_partial_and_double_application() {
        let mut two_signals = good_run();
        two_signals.truncate(10);
        two_signals.push(ev(
            11,
            "WorkflowExecutionSignaled",
            0.8,
            json!({"signalName": "go", "input": "s1"}),
        ));
        two_signals.push(ev(
            12,
            "WorkflowExecutionSignaled",
            0.8,
            json!({"signalName": "go", "input": "s1"}),
        ));
        let fs = state_with(vec![
            ("run1", "w1", two_signals),
            ("run2", "w2", good_run()),
            ("run3", "w2", good_run()),
        ]);
        let ops = vec![
            indet(OpKey::CompleteDecision {
                run_id: "run1".into(),
                started_event_id: 3,
                decisions: 3,
            }),
            indet(OpKey::Signal {
                workflow_id: "w1".into(),
                input: "s1".into(),
            }),
            indet(OpKey::Start {
                workflow_id: "w2".into(),
                input: "{}".into(),
                run_id: None,
            }),
        ];
        assert_eq!(check(&ops, &fs).anomalies.len(), 3);
    }
}
