//! Signals, cancel requests and termination from outside a run.

use super::*;

#[test]
fn signal_schedules_a_decision_or_marks_the_started_one() {
    let mut h = H::ready();
    let run = h.start("w");
    // A decision task is already scheduled: the signal adds its event only.
    h.ok(signal_op("w", Some(&run)));
    assert_eq!(
        h.types(&run),
        [
            EventType::WorkflowExecutionStarted,
            EventType::DecisionTaskScheduled,
            EventType::WorkflowExecutionSignaled
        ]
    );
    let signaled = attrs(&h.last(&run));
    assert_eq!(
        (signaled["signalName"].as_str(), signaled["input"].as_str()),
        (Some("go"), Some("payload"))
    );
    // While a decision task runs, a signal schedules the next one at once (real SWF: simpleflow's
    // `test_unrequested_signal` cassette), which makes the decider's close decision fail; that
    // pending task is the one queued next.
    let token = h.start_decision(&run);
    h.ok(signal_op("w", None));
    let n = h.history(&run).len();
    assert_eq!(
        h.types(&run)[n - 2..],
        [
            EventType::WorkflowExecutionSignaled,
            EventType::DecisionTaskScheduled
        ]
    );
    h.ok(signal_op("w", None));
    assert_eq!(
        h.last(&run).event_type,
        EventType::WorkflowExecutionSignaled
    );
    h.respond(&token, vec![complete_wf()]);
    assert_eq!(
        h.last(&run).event_type,
        EventType::CompleteWorkflowExecutionFailed
    );
    assert_eq!(h.queue(TaskKind::Decision, DECISIONS).len(), 1);

    for (wid, run_id, code) in [
        ("nobody", None, "UnknownResourceFault"),
        ("w", Some("other-run"), "UnknownResourceFault"),
    ] {
        assert_eq!(h.fault(signal_op(wid, run_id)).code(), code);
    }
}

#[test]
fn request_cancel_is_recorded_once_and_shown() {
    let mut h = H::ready();
    let run = h.start("w");
    let op = || {
        Op::RequestCancelWorkflowExecution(RequestCancelWorkflowExecutionInput {
            domain: D.into(),
            workflow_id: "w".into(),
            run_id: None,
        })
    };
    h.ok(op());
    h.ok(op());
    let cancels = h
        .types(&run)
        .iter()
        .filter(|t| **t == EventType::WorkflowExecutionCancelRequested)
        .count();
    assert_eq!(cancels, 1);
    assert!(h.rec(&run).cancel_requested);
    let described = query::describe_execution(
        &h.s,
        D,
        &WorkflowExecution {
            workflow_id: "w".into(),
            run_id: run.clone(),
        },
    )
    .unwrap();
    assert_eq!(described.execution_info.cancel_requested, Some(true));
}

#[test]
fn terminate_closes_the_run_and_frees_the_workflow_id() {
    let mut h = H::ready();
    let run = h.start("w");
    h.round(&run, vec![schedule("a")]);
    let activity_token = h.start_activity(&run, "a");
    h.ok(Op::TerminateWorkflowExecution(
        TerminateWorkflowExecutionInput {
            domain: D.into(),
            workflow_id: "w".into(),
            run_id: Some(run.clone()),
            reason: s("operator"),
            details: None,
            child_policy: Some(ChildPolicy::Abandon),
        },
    ));
    let rec = h.rec(&run);
    assert_eq!(rec.close_status, Some(CloseStatus::Terminated));
    let terminated = attrs(&h.last(&run));
    assert_eq!(terminated["childPolicy"], "ABANDON");
    assert_eq!(terminated["cause"], "OPERATOR_INITIATED");
    assert_eq!(
        h.fault(complete_op(&activity_token)).code(),
        "UnknownResourceFault"
    );
    let again = Op::TerminateWorkflowExecution(TerminateWorkflowExecutionInput {
        domain: D.into(),
        workflow_id: "w".into(),
        ..Default::default()
    });
    assert_eq!(h.fault(again).code(), "UnknownResourceFault");
    h.start("w");
}
