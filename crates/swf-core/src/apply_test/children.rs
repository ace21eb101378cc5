//! Continue-as-new, child workflows and their policies, decisions reaching other runs.

use super::*;

#[test]
fn continue_as_new_starts_a_new_run_with_carried_settings() {
    continue_as_new(H::ready());
}

#[test]
fn child_workflow_lifecycle_reaches_the_parent() {
    child_workflow_lifecycle(H::ready());
}

#[test]
fn child_policies_apply_when_the_parent_closes() {
    // (parent's child policy, expected child close status or cancel request)
    for policy in [
        ChildPolicy::Terminate,
        ChildPolicy::RequestCancel,
        ChildPolicy::Abandon,
    ] {
        let mut h = H::ready();
        let parent = h.start_with(StartWorkflowExecutionInput {
            child_policy: Some(policy),
            ..start_input("p")
        });
        h.round(&parent, vec![start_child("c"), start_child("c2")]);
        let children = [h.open_run("c"), h.open_run("c2")];
        h.round(&parent, vec![complete_wf()]);
        for child in &children {
            let rec = h.rec(child);
            match policy {
                ChildPolicy::Terminate => {
                    assert_eq!(rec.close_status, Some(CloseStatus::Terminated));
                    assert_eq!(attrs(&h.last(child))["cause"], "CHILD_POLICY_APPLIED");
                }
                ChildPolicy::RequestCancel => {
                    assert!(rec.is_open() && rec.cancel_requested);
                    assert_eq!(
                        attrs(&h.last_of(child, EventType::WorkflowExecutionCancelRequested))
                            ["cause"],
                        "CHILD_POLICY_APPLIED"
                    );
                }
                _ => assert!(rec.is_open() && !rec.cancel_requested),
            }
        }
        // The closed parent's history ends with its close event: children closing later add nothing.
        assert_eq!(
            h.last(&parent).event_type,
            EventType::WorkflowExecutionCompleted,
            "{policy:?}"
        );
    }
}

#[test]
fn child_timeout_and_termination_reach_the_parent() {
    let mut h = H::ready();
    let parent = h.start("p");
    h.round(&parent, vec![start_child("c"), start_child("d")]);
    let c = h.open_run("c");
    let d = h.deadline(&c, |k| *k == DeadlineKind::WorkflowStartToClose);
    h.fire(d);
    assert_eq!(
        attrs(&h.last_of(&parent, EventType::ChildWorkflowExecutionTimedOut))["timeoutType"],
        "START_TO_CLOSE"
    );
    h.ok(Op::TerminateWorkflowExecution(
        TerminateWorkflowExecutionInput {
            domain: D.into(),
            workflow_id: "d".into(),
            ..Default::default()
        },
    ));
    assert!(h
        .types(&parent)
        .contains(&EventType::ChildWorkflowExecutionTerminated));
    assert!(h.rec(&parent).children.is_empty());
}

#[test]
fn external_signal_and_cancel_decisions() {
    let mut h = H::ready();
    let a = h.start("a");
    let b = h.start("b");
    let signal = |wid: &str| {
        decision_with(DecisionType::SignalExternalWorkflowExecution, |d| {
            d.signal_external_workflow_execution_decision_attributes = Some(Box::new(
                SignalExternalWorkflowExecutionDecisionAttributes {
                    workflow_id: wid.into(),
                    signal_name: "ping".into(),
                    input: s("hello"),
                    ..Default::default()
                },
            ))
        })
    };
    let cancel = |wid: &str| {
        decision_with(DecisionType::RequestCancelExternalWorkflowExecution, |d| {
            d.request_cancel_external_workflow_execution_decision_attributes = Some(Box::new(
                RequestCancelExternalWorkflowExecutionDecisionAttributes {
                    workflow_id: wid.into(),
                    ..Default::default()
                },
            ))
        })
    };
    h.round(
        &a,
        vec![signal("b"), cancel("b"), signal("nobody"), cancel("nobody")],
    );
    let got = attrs(&h.last_of(&b, EventType::WorkflowExecutionSignaled));
    assert_eq!(
        (got["signalName"].as_str(), got["input"].as_str()),
        (Some("ping"), Some("hello"))
    );
    assert_eq!(got["externalWorkflowExecution"]["runId"], a.as_str());
    assert!(h.rec(&b).cancel_requested);
    let types = h.types(&a);
    for t in [
        EventType::SignalExternalWorkflowExecutionInitiated,
        EventType::ExternalWorkflowExecutionSignaled,
        EventType::RequestCancelExternalWorkflowExecutionInitiated,
        EventType::ExternalWorkflowExecutionCancelRequested,
    ] {
        assert!(types.contains(&t), "{t:?} missing: {types:?}");
    }
    assert_eq!(
        attrs(&h.last_of(&a, EventType::SignalExternalWorkflowExecutionFailed))["cause"],
        "UNKNOWN_EXTERNAL_WORKFLOW_EXECUTION"
    );
    assert_eq!(
        attrs(&h.last_of(&a, EventType::RequestCancelExternalWorkflowExecutionFailed))["cause"],
        "UNKNOWN_EXTERNAL_WORKFLOW_EXECUTION"
    );
    // The outcomes need the decider: a new decision task is scheduled.
    assert!(matches!(h.rec(&a).decision, DecisionSlot::Scheduled { .. }));
}

#[test]
fn external_effects_follow_the_decisions_own_events() {
    // Issue 13, from real histories of a workflow signalling itself: the decision's own events come
    // first (`SignalExternalWorkflowExecutionInitiated, MarkerRecorded, TimerStarted`), then the
    // delivery (the target's WorkflowExecutionSignaled and the decision task it schedules, the
    // sender's ExternalWorkflowExecutionSignaled), all in the one command.
    use EventType as E;
    // (case, decisions, the sender's events after DecisionTaskCompleted, the target b's first new event)
    type Case = (&'static str, Vec<Decision>, Vec<E>, Option<E>);
    let cases: Vec<Case> = vec![
        (
            "signal self",
            vec![signal_decision("a"), marker("m"), start_timer("t", "60")],
            vec![
                E::SignalExternalWorkflowExecutionInitiated,
                E::MarkerRecorded,
                E::TimerStarted,
                E::WorkflowExecutionSignaled,
                E::DecisionTaskScheduled,
                E::ExternalWorkflowExecutionSignaled,
            ],
            None,
        ),
        (
            "signal another run",
            vec![signal_decision("b"), marker("m")],
            vec![
                E::SignalExternalWorkflowExecutionInitiated,
                E::MarkerRecorded,
                E::ExternalWorkflowExecutionSignaled,
                E::DecisionTaskScheduled,
            ],
            Some(E::WorkflowExecutionSignaled),
        ),
        (
            "signal nobody",
            vec![signal_decision("nobody"), marker("m")],
            vec![
                E::SignalExternalWorkflowExecutionInitiated,
                E::MarkerRecorded,
                E::SignalExternalWorkflowExecutionFailed,
                E::DecisionTaskScheduled,
            ],
            None,
        ),
        (
            "cancel self",
            vec![cancel_external_decision("a"), marker("m")],
            vec![
                E::RequestCancelExternalWorkflowExecutionInitiated,
                E::MarkerRecorded,
                E::WorkflowExecutionCancelRequested,
                E::DecisionTaskScheduled,
                E::ExternalWorkflowExecutionCancelRequested,
            ],
            None,
        ),
        (
            "cancel another run",
            vec![cancel_external_decision("b"), marker("m")],
            vec![
                E::RequestCancelExternalWorkflowExecutionInitiated,
                E::MarkerRecorded,
                E::ExternalWorkflowExecutionCancelRequested,
                E::DecisionTaskScheduled,
            ],
            Some(E::WorkflowExecutionCancelRequested),
        ),
        (
            "signal another run, then complete",
            vec![signal_decision("b"), complete_wf()],
            vec![
                E::SignalExternalWorkflowExecutionInitiated,
                E::WorkflowExecutionCompleted,
            ],
            Some(E::WorkflowExecutionSignaled),
        ),
    ];
    for (name, decisions, want, in_b) in cases {
        let mut h = H::ready();
        let a = h.start("a");
        let b = h.start("b");
        let b_before = h.history(&b).len();
        h.round(&a, decisions);
        let events = h.history(&a);
        let completed = events
            .iter()
            .rposition(|e| e.event_type == E::DecisionTaskCompleted)
            .unwrap();
        let got: Vec<E> = events[completed + 1..]
            .iter()
            .map(|e| e.event_type)
            .collect();
        assert_eq!(got, want, "{name}");
        let b_new: Vec<E> = h.types(&b)[b_before..].to_vec();
        assert_eq!(b_new.first().copied(), in_b, "{name}: {b_new:?}");
        // The delivered event names its initiating event.
        if let Some(t) = in_b {
            let delivered = attrs(&h.last_of(&b, t));
            assert_eq!(
                delivered["externalInitiatedEventId"],
                events[completed + 1].event_id,
                "{name}"
            );
        }
    }
}
