//! What real SWF records and answers, compared with public recordings of it: the members its history
//! events always carry, what DescribeWorkflowExecution reports for a closed run, and the wording of its
//! faults. Each test names its evidence.

use super::*;

fn cancel_request(wid: &str) -> Op {
    Op::RequestCancelWorkflowExecution(RequestCancelWorkflowExecutionInput {
        domain: D.into(),
        workflow_id: wid.into(),
        run_id: None,
    })
}

/// simpleflow's `test_cancel_requested` cassette (botify-labs/simpleflow,
/// tests/integration/cassettes/test_cancel_requested.yaml, recorded against us-east-1): a run whose
/// activity is started gets a cancel request from outside and its decider cancels it. The history
/// there reads WorkflowExecutionStarted `{parentInitiatedEventId: 0}` (no `taskPriority`),
/// ActivityTaskScheduled without `taskPriority`, WorkflowExecutionCancelRequested
/// `{externalInitiatedEventId: 0}`, and DescribeWorkflowExecution of the closed run answers
/// `cancelRequested: false`, `openActivityTasks: 1`, `openDecisionTasks: 0`, and an
/// `executionConfiguration` without `taskPriority`. `scheduleToStartTimeout: "NONE"` on
/// DecisionTaskScheduled is from the 2017 cassettes of the same suite (e.g. test_wait_signal.yaml).
#[test]
fn cancel_requested_run_as_recorded() {
    use EventType as E;
    let mut h = H::ready();
    // An activity type without a default priority, as in the recording.
    h.ok(Op::RegisterActivityType(RegisterActivityTypeInput {
        default_task_priority: None,
        ..act_type_input("plain", "1")
    }));
    let run = h.start("w");
    h.round(
        &run,
        vec![schedule_with("a", |a| {
            a.activity_type.name = "plain".into()
        })],
    );
    h.start_activity(&run, "a");
    h.ok(cancel_request("w"));
    h.round(&run, vec![cancel_wf()]);
    assert_eq!(
        h.types(&run),
        [
            E::WorkflowExecutionStarted,
            E::DecisionTaskScheduled,
            E::DecisionTaskStarted,
            E::DecisionTaskCompleted,
            E::ActivityTaskScheduled,
            E::ActivityTaskStarted,
            E::WorkflowExecutionCancelRequested,
            E::DecisionTaskScheduled,
            E::DecisionTaskStarted,
            E::DecisionTaskCompleted,
            E::WorkflowExecutionCanceled,
        ]
    );
    let started = attrs(&h.event(&run, 1));
    assert_eq!(started["parentInitiatedEventId"], 0, "{started}");
    assert!(started.get("taskPriority").is_none(), "{started}");
    for id in [2, 8] {
        let scheduled = attrs(&h.event(&run, id));
        assert_eq!(scheduled["scheduleToStartTimeout"], "NONE", "{scheduled}");
        assert!(scheduled.get("taskPriority").is_none(), "{scheduled}");
    }
    let activity = attrs(&h.event(&run, 5));
    assert!(activity.get("taskPriority").is_none(), "{activity}");
    let requested = attrs(&h.event(&run, 7));
    assert_eq!(
        requested,
        serde_json::json!({"externalInitiatedEventId": 0}),
        "{requested}"
    );

    let d = query::describe_execution(
        &h.s,
        D,
        &WorkflowExecution {
            workflow_id: "w".into(),
            run_id: run.clone(),
        },
    )
    .unwrap();
    assert_eq!(d.execution_info.close_status, Some(CloseStatus::Canceled));
    assert_eq!(d.execution_info.cancel_requested, Some(false));
    let c = &d.open_counts;
    assert_eq!(
        (
            c.open_activity_tasks,
            c.open_decision_tasks,
            c.open_timers,
            c.open_child_workflow_executions,
            c.open_lambda_functions
        ),
        (1, 0, 0, 0, Some(0))
    );
    assert_eq!(d.execution_configuration.task_priority, None);
}

/// A priority that was set is written where SWF writes it.
#[test]
fn a_set_priority_is_written() {
    let mut h = H::ready();
    let run = h.start_with(StartWorkflowExecutionInput {
        task_priority: s("7"),
        ..start_input("w")
    });
    assert_eq!(attrs(&h.event(&run, 1))["taskPriority"], "7");
    assert_eq!(attrs(&h.event(&run, 2))["taskPriority"], "7");
    let d = query::describe_execution(
        &h.s,
        D,
        &WorkflowExecution {
            workflow_id: "w".into(),
            run_id: run,
        },
    )
    .unwrap();
    assert_eq!(
        d.execution_configuration.task_priority.as_deref(),
        Some("7")
    );
}

/// A signal from outside any workflow: `externalInitiatedEventId: 0` (simpleflow's
/// `test_unrequested_signal` and `test_wait_signal` cassettes).
#[test]
fn outside_signal_as_recorded() {
    let mut h = H::ready();
    let run = h.start("w");
    h.ok(signal_op("w", None));
    assert_eq!(
        attrs(&h.last(&run)),
        serde_json::json!({"signalName": "go", "input": "payload", "externalInitiatedEventId": 0})
    );
}

/// Fault messages in SWF's words. Evidence: "Unknown type: WorkflowType=[name=basic, version=example]"
/// (botify-labs/simpleflow#372, amazon-archives/aws-flow-ruby#69); "Unknown execution, workflowId = W"
/// (an AWS CLI transcript quoting TerminateWorkflowExecution; Eucalyptus's SWF and moto's SWF tests use
/// the same two forms with and without a run id); "Unknown decision task, scheduledEventId = 2" (moto's
/// SWF tests); "Unknown activity, scheduledEventId = N" (floci-io/floci#2257, checked against real
/// SWF); "Unknown domain: NAME" and TypeAlreadyExistsFault's `WorkflowType=[name=N, version=V]` as the
/// issue quotes them. DomainAlreadyExistsFault and WorkflowExecutionAlreadyStartedFault have no
/// recording we could find: their messages are ours (unverified).
#[test]
fn fault_messages_as_swf_words_them() {
    let mut h = H::ready();
    let run = h.start("w");
    let token = h.start_decision(&run);
    h.respond(&token, vec![schedule("a")]);
    let activity = h.start_activity(&run, "a");
    h.ok(complete_op(&activity));
    let other_domain = StartWorkflowExecutionInput {
        domain: "nope".into(),
        ..start_input("x")
    };
    let other_type = StartWorkflowExecutionInput {
        workflow_type: Box::new(WorkflowType {
            name: "other".into(),
            version: "9".into(),
        }),
        ..start_input("x")
    };
    let start_other_domain = h.start_op(other_domain);
    let start_other_type = h.start_op(other_type);
    let start_again = h.start_op(start_input("w"));
    let cases: Vec<(Op, &str, String)> = vec![
        (
            start_other_domain,
            "UnknownResourceFault",
            "Unknown domain: nope".into(),
        ),
        (
            start_other_type,
            "UnknownResourceFault",
            "Unknown type: WorkflowType=[name=other, version=9]".into(),
        ),
        (
            Op::RegisterWorkflowType(wf_type_input("wf", "1")),
            "TypeAlreadyExistsFault",
            "WorkflowType=[name=wf, version=1]".into(),
        ),
        (
            Op::RegisterActivityType(act_type_input("act", "1")),
            "TypeAlreadyExistsFault",
            "ActivityType=[name=act, version=1]".into(),
        ),
        (
            signal_op("nobody", None),
            "UnknownResourceFault",
            "Unknown execution, workflowId = nobody".into(),
        ),
        (
            signal_op("w", Some("other-run")),
            "UnknownResourceFault",
            "Unknown execution: WorkflowExecution=[workflowId=w, runId=other-run]".into(),
        ),
        (
            respond_op(&token, vec![]),
            "UnknownResourceFault",
            "Unknown decision task, scheduledEventId = 2".into(),
        ),
        (
            complete_op(&activity),
            "UnknownResourceFault",
            "Unknown activity, scheduledEventId = 5".into(),
        ),
        (
            heartbeat_op(&activity),
            "UnknownResourceFault",
            "Unknown activity, scheduledEventId = 5".into(),
        ),
        // Unverified wordings (no recording found).
        (
            Op::RegisterDomain(domain_input(D)),
            "DomainAlreadyExistsFault",
            format!("Domain already exists: {D}"),
        ),
        (
            start_again,
            "WorkflowExecutionAlreadyStartedFault",
            "Workflow execution already started: w".into(),
        ),
    ];
    for (op, code, message) in cases {
        let f = h.fault(op);
        assert_eq!((f.code(), f.message.as_str()), (code, message.as_str()));
    }
    // The reads say the same.
    let f = query::describe_activity_type(
        &h.s,
        D,
        &ActivityType {
            name: "x".into(),
            version: "1".into(),
        },
    )
    .unwrap_err();
    assert_eq!(f.message, "Unknown type: ActivityType=[name=x, version=1]");
    let f = query::describe_domain(&h.s, "nope").unwrap_err();
    assert_eq!(f.message, "Unknown domain: nope");
}
