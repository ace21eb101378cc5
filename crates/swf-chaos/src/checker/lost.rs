//! Invariant 1, no acknowledged call lost: every start, signal, cancel request, activity completion
//! and decision completion that was answered ok is in the final state (exactly once, and a decision
//! batch with every one of its decisions).

use serde_json::json;

use super::{attrs, eid, etype, FinalState, Verdict};
use crate::history::{Op, OpKey};

const NAME: &str = "no-lost-acknowledged-call";

/// Events of run `run` (empty if the run is unknown).
fn events<'a>(fs: &'a FinalState, run: &str) -> &'a [serde_json::Value] {
    fs.histories
        .get(run)
        .map(|h| h.events.as_slice())
        .unwrap_or(&[])
}

/// How many events a decision task completion produced (events naming it as their
/// `decisionTaskCompletedEventId`).
pub fn decision_effects(events: &[serde_json::Value], completed_event_id: i64) -> usize {
    events
        .iter()
        .filter(|e| attrs(e)["decisionTaskCompletedEventId"].as_i64() == Some(completed_event_id))
        .count()
}

/// Signals with `input` across every run of `workflow_id`.
pub fn signal_count(fs: &FinalState, workflow_id: &str, input: &str) -> usize {
    fs.histories
        .values()
        .filter(|h| h.workflow_id == workflow_id)
        .flat_map(|h| h.events.iter())
        .filter(|e| etype(e) == "WorkflowExecutionSignaled" && attrs(e)["input"] == input)
        .count()
}

pub fn check(ops: &[Op], fs: &FinalState) -> Verdict {
    let mut v = Verdict::default();
    for op in ops.iter().filter(|o| o.outcome.is_ok()) {
        match &op.key {
            OpKey::Start {
                workflow_id,
                input,
                run_id,
            } => {
                v.checked += 1;
                let found = run_id.as_ref().and_then(|r| fs.histories.get(r));
                let good = found.is_some_and(|h| {
                    h.workflow_id == *workflow_id
                        && h.events.first().is_some_and(|e| {
                            etype(e) == "WorkflowExecutionStarted" && attrs(e)["input"] == *input
                        })
                });
                if !good {
                    v.flag(
                        NAME,
                        json!({"call": op, "problem": "acknowledged start not in the final state"}),
                    );
                }
            }
            OpKey::Signal { workflow_id, input } => {
                v.checked += 1;
                let n = signal_count(fs, workflow_id, input);
                if n != 1 {
                    v.flag(NAME, json!({"call": op, "problem": format!("acknowledged signal found {n} times")}));
                }
            }
            OpKey::RequestCancel { workflow_id } => {
                v.checked += 1;
                let found = fs.histories.values().any(|h| {
                    h.workflow_id == *workflow_id
                        && h.events
                            .iter()
                            .any(|e| etype(e) == "WorkflowExecutionCancelRequested")
                });
                if !found {
                    v.flag(NAME, json!({"call": op, "problem": "acknowledged cancel request not in any run"}));
                }
            }
            OpKey::CompleteActivity {
                run_id,
                started_event_id,
                result,
            } => {
                v.checked += 1;
                let n = events(fs, run_id)
                    .iter()
                    .filter(|e| {
                        etype(e) == "ActivityTaskCompleted"
                            && attrs(e)["startedEventId"] == *started_event_id
                            && attrs(e)["result"] == *result
                    })
                    .count();
                if n != 1 {
                    v.flag(NAME, json!({"call": op, "problem": format!("acknowledged completion found {n} times")}));
                }
            }
            OpKey::CompleteDecision {
                run_id,
                started_event_id,
                decisions,
            } => {
                v.checked += 1;
                let evs = events(fs, run_id);
                let done = evs.iter().find(|e| {
                    etype(e) == "DecisionTaskCompleted"
                        && attrs(e)["startedEventId"] == *started_event_id
                });
                match done {
                    None => v.flag(NAME, json!({"call": op, "problem": "acknowledged decision completion not in the history"})),
                    Some(e) => {
                        let n = decision_effects(evs, eid(e));
                        if n != *decisions {
                            v.flag(NAME, json!({"call": op, "problem": format!("{decisions} decisions sent, {n} applied")}));
                        }
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

    fn completion(result: &str) -> Op {
        op(
            "RespondActivityTaskCompleted",
            Outcome::Ok,
            OpKey::CompleteActivity {
                run_id: "run1".into(),
                started_event_id: 6,
                result: result.into(),
            },
            0.4,
        )
    }

    #[test]
    fn passes_when_everything_acknowledged_is_there() {
        let fs = state_with(vec![("run1", "w1", good_run())]);
        let ops = vec![
            op(
                "StartWorkflowExecution",
                Outcome::Ok,
                OpKey::Start {
                    workflow_id: "w1".into(),
                    input: "{}".into(),
                    run_id: Some("run1".into()),
                },
                0.0,
            ),
            completion("r:run1:6"),
            op(
                "RespondDecisionTaskCompleted",
                Outcome::Ok,
                OpKey::CompleteDecision {
                    run_id: "run1".into(),
                    started_event_id: 3,
                    decisions: 1,
                },
                0.15,
            ),
        ];
        let v = check(&ops, &fs);
        assert_eq!(v.checked, 3);
        assert!(v.anomalies.is_empty(), "{:?}", v.anomalies);
    }

    #[test]
    fn catches_a_lost_start_completion_signal_and_partial_decision() {
        let fs = state_with(vec![("run1", "w1", good_run())]);
        let ops = vec![
            op(
                "StartWorkflowExecution",
                Outcome::Ok,
                OpKey::Start {
                    workflow_id: "w2".into(),
                    input: "{}".into(),
                    run_id: Some("run2".into()),
                },
                0.0,
            ),
            completion("some other result"),
            op(
                "SignalWorkflowExecution",
                Outcome::Ok,
                OpKey::Signal {
                    workflow_id: "w1".into(),
                    input: "sig-1".into(),
                },
                0.3,
            ),
            op(
                "RespondDecisionTaskCompleted",
                Outcome::Ok,
                OpKey::CompleteDecision {
                    run_id: "run1".into(),
                    started_event_id: 3,
                    decisions: 2,
                },
                0.15,
            ),
            op(
                "RequestCancelWorkflowExecution",
                Outcome::Ok,
                OpKey::RequestCancel {
                    workflow_id: "w1".into(),
                },
                0.3,
            ),
        ];
        let v = check(&ops, &fs);
        assert_eq!(v.anomalies.len(), 5, "{:#?}", v.anomalies);
    }

    #[test]
    fn indeterminate_and_faulted_calls_are_not_required() {
        let fs = state_with(vec![]);
        let mut c = completion("x");
        c.outcome = Outcome::Indeterminate("timeout".into());
        let mut d = completion("y");
        d.outcome = Outcome::Fault("UnknownResourceFault".into());
        assert!(check(&[c, d], &fs).anomalies.is_empty());
    }
}
