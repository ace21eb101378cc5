//! Whole workflows driven through swfd with aws-sdk-swf: the one-activity happy path with its exact
//! history and DescribeWorkflowExecution, activity failure + FailWorkflowExecution, activity
//! cancellation + CancelWorkflowExecution + RecordMarker, and ScheduleLambdaFunction, which fails with
//! LAMBDA_SERVICE_NOT_AVAILABLE_IN_REGION since there is no Lambda on-prem.

use aws_sdk_swf::types::{
    CancelWorkflowExecutionDecisionAttributes, ChildPolicy, CloseStatus, Decision, DecisionType,
    EventType, ExecutionStatus, FailWorkflowExecutionDecisionAttributes,
    RecordMarkerDecisionAttributes, RegistrationStatus,
    RequestCancelActivityTaskDecisionAttributes, ScheduleActivityTaskDecisionAttributes,
    ScheduleLambdaFunctionDecisionAttributes, ScheduleLambdaFunctionFailedCause,
};
use swf_e2e::{
    complete_workflow, event_types, full_history, poll_activity, poll_decision, schedule_activity,
    setup_domain, start_execution, task_list, Swfd,
};

#[tokio::test]
async fn full_workflow_with_one_activity() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let client = swfd.client();
    let fx = setup_domain(&client, "happy").await?;
    let exec = start_execution(&client, &fx, "order-1", "hello").await?;
    assert!(!exec.run_id().is_empty());

    // First decision task: the three initial events.
    let d1 = poll_decision(&client, &fx).await?;
    assert!(!d1.task_token().is_empty(), "expected a decision task");
    assert_eq!(d1.workflow_execution(), Some(&exec));
    assert_eq!(d1.workflow_type(), Some(&fx.workflow_type));
    assert_eq!(d1.started_event_id(), 3);
    assert_eq!(d1.previous_started_event_id(), 0);
    assert_eq!(
        event_types(d1.events()),
        [
            EventType::WorkflowExecutionStarted,
            EventType::DecisionTaskScheduled,
            EventType::DecisionTaskStarted,
        ]
    );

    let open = client
        .describe_workflow_execution()
        .domain(&fx.domain)
        .execution(exec.clone())
        .send()
        .await?;
    let info = open.execution_info().expect("executionInfo");
    assert_eq!(info.execution_status(), &ExecutionStatus::Open);
    assert_eq!(info.close_status(), None);
    let counts = open.open_counts().expect("openCounts");
    assert_eq!(counts.open_decision_tasks(), 1);
    assert_eq!(counts.open_activity_tasks(), 0);

    client
        .respond_decision_task_completed()
        .task_token(d1.task_token())
        .decisions(schedule_activity(&fx, "greet-1", "hello"))
        .send()
        .await?;

    let scheduled = client
        .describe_workflow_execution()
        .domain(&fx.domain)
        .execution(exec.clone())
        .send()
        .await?;
    let counts = scheduled.open_counts().expect("openCounts");
    assert_eq!(counts.open_decision_tasks(), 0);
    assert_eq!(counts.open_activity_tasks(), 1);
    assert!(scheduled.latest_activity_task_timestamp().is_some());

    // The worker's side.
    let a = poll_activity(&client, &fx).await?;
    assert!(!a.task_token().is_empty(), "expected an activity task");
    assert_eq!(a.activity_id(), "greet-1");
    assert_eq!(a.input(), Some("hello"));
    assert_eq!(a.started_event_id(), 6);
    assert_eq!(a.workflow_execution(), Some(&exec));
    assert_eq!(a.activity_type(), Some(&fx.activity_type));
    let hb = client
        .record_activity_task_heartbeat()
        .task_token(a.task_token())
        .details("halfway")
        .send()
        .await?;
    assert!(!hb.cancel_requested());
    client
        .respond_activity_task_completed()
        .task_token(a.task_token())
        .result("HELLO")
        .send()
        .await?;

    // Second decision task sees the activity's result.
    let d2 = poll_decision(&client, &fx).await?;
    assert!(!d2.task_token().is_empty());
    assert_ne!(d2.task_token(), d1.task_token());
    assert_eq!(d2.previous_started_event_id(), 3);
    assert_eq!(d2.started_event_id(), 9);
    assert_eq!(d2.events().len(), 9);
    let completed = d2.events()[6]
        .activity_task_completed_event_attributes()
        .expect("event 7 is ActivityTaskCompleted");
    assert_eq!(completed.result(), Some("HELLO"));
    client
        .respond_decision_task_completed()
        .task_token(d2.task_token())
        .decisions(complete_workflow("HELLO"))
        .send()
        .await?;

    // The full history, event by event.
    let events = full_history(&client, &fx.domain, &exec).await?;
    assert_eq!(
        event_types(&events),
        [
            EventType::WorkflowExecutionStarted,
            EventType::DecisionTaskScheduled,
            EventType::DecisionTaskStarted,
            EventType::DecisionTaskCompleted,
            EventType::ActivityTaskScheduled,
            EventType::ActivityTaskStarted,
            EventType::ActivityTaskCompleted,
            EventType::DecisionTaskScheduled,
            EventType::DecisionTaskStarted,
            EventType::DecisionTaskCompleted,
            EventType::WorkflowExecutionCompleted,
        ]
    );
    let ids: Vec<i64> = events.iter().map(|e| e.event_id()).collect();
    assert_eq!(ids, (1..=11).collect::<Vec<_>>());
    for pair in events.windows(2) {
        assert!(pair[0].event_timestamp() <= pair[1].event_timestamp());
    }

    let started = events[0]
        .workflow_execution_started_event_attributes()
        .expect("started attributes");
    assert_eq!(started.input(), Some("hello"));
    assert_eq!(started.workflow_type(), Some(&fx.workflow_type));
    assert_eq!(started.task_list(), Some(&fx.decision_task_list()));
    assert_eq!(started.child_policy(), &ChildPolicy::Terminate);
    assert_eq!(started.execution_start_to_close_timeout(), Some("3600"));
    assert_eq!(started.task_start_to_close_timeout(), Some("60"));

    let dts = events[2]
        .decision_task_started_event_attributes()
        .expect("decision started attributes");
    assert_eq!(dts.scheduled_event_id(), 2);
    assert_eq!(dts.identity(), Some("e2e-decider"));
    let dtc = events[3]
        .decision_task_completed_event_attributes()
        .expect("decision completed attributes");
    assert_eq!((dtc.scheduled_event_id(), dtc.started_event_id()), (2, 3));

    let ats = events[4]
        .activity_task_scheduled_event_attributes()
        .expect("activity scheduled attributes");
    assert_eq!(ats.activity_id(), "greet-1");
    assert_eq!(ats.activity_type(), Some(&fx.activity_type));
    assert_eq!(ats.input(), Some("hello"));
    assert_eq!(ats.task_list(), Some(&fx.activity_task_list()));
    assert_eq!(ats.decision_task_completed_event_id(), 4);
    assert_eq!(ats.schedule_to_start_timeout(), Some("600"));
    assert_eq!(ats.start_to_close_timeout(), Some("600"));
    assert_eq!(ats.schedule_to_close_timeout(), Some("1200"));
    assert_eq!(ats.heartbeat_timeout(), Some("600"));

    let ast = events[5]
        .activity_task_started_event_attributes()
        .expect("activity started attributes");
    assert_eq!(ast.scheduled_event_id(), 5);
    assert_eq!(ast.identity(), Some("e2e-worker"));
    let atc = events[6]
        .activity_task_completed_event_attributes()
        .expect("activity completed attributes");
    assert_eq!(atc.result(), Some("HELLO"));
    assert_eq!((atc.scheduled_event_id(), atc.started_event_id()), (5, 6));

    let dts2 = events[8]
        .decision_task_started_event_attributes()
        .expect("second decision started");
    assert_eq!(dts2.scheduled_event_id(), 8);
    let dtc2 = events[9]
        .decision_task_completed_event_attributes()
        .expect("second decision completed");
    assert_eq!((dtc2.scheduled_event_id(), dtc2.started_event_id()), (8, 9));
    let wec = events[10]
        .workflow_execution_completed_event_attributes()
        .expect("completed attributes");
    assert_eq!(wec.result(), Some("HELLO"));
    assert_eq!(wec.decision_task_completed_event_id(), 10);

    // DescribeWorkflowExecution of the closed execution.
    let closed = client
        .describe_workflow_execution()
        .domain(&fx.domain)
        .execution(exec.clone())
        .send()
        .await?;
    let info = closed.execution_info().expect("executionInfo");
    assert_eq!(info.execution(), Some(&exec));
    assert_eq!(info.workflow_type(), Some(&fx.workflow_type));
    assert_eq!(info.execution_status(), &ExecutionStatus::Closed);
    assert_eq!(info.close_status(), Some(&CloseStatus::Completed));
    assert!(info.close_timestamp().is_some());
    assert!(info.close_timestamp().unwrap() >= info.start_timestamp());
    assert!(!info.cancel_requested());
    let counts = closed.open_counts().expect("openCounts");
    assert_eq!(
        (
            counts.open_decision_tasks(),
            counts.open_activity_tasks(),
            counts.open_timers(),
            counts.open_child_workflow_executions()
        ),
        (0, 0, 0, 0)
    );
    let config = closed
        .execution_configuration()
        .expect("executionConfiguration");
    assert_eq!(config.task_list(), Some(&fx.decision_task_list()));
    assert_eq!(config.task_start_to_close_timeout(), "60");
    assert_eq!(config.execution_start_to_close_timeout(), "3600");
    assert_eq!(config.child_policy(), &ChildPolicy::Terminate);
    assert!(closed.latest_activity_task_timestamp().is_some());
    Ok(())
}

/// Run ids from StartWorkflowExecution: 44 characters of base64 (32 bytes), distinct, the time in ms
/// of the start in their first 6 bytes (so runs started together keep their keys together in the
/// store, `swf-node::executor::new_run_id`).
#[tokio::test]
async fn run_ids_are_32_bytes_of_base64_with_the_start_time_in_front() -> anyhow::Result<()> {
    use base64::Engine;
    let swfd = Swfd::start().await?;
    let client = swfd.client();
    let fx = setup_domain(&client, "run-ids").await?;
    let ms = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64
    };
    let before = ms();
    let a = start_execution(&client, &fx, "run-id-a", "").await?;
    let b = start_execution(&client, &fx, "run-id-b", "").await?;
    let after = ms();
    assert_ne!(a.run_id(), b.run_id());
    for run_id in [a.run_id(), b.run_id()] {
        assert_eq!(run_id.len(), 44, "{run_id}");
        let bytes = base64::engine::general_purpose::STANDARD.decode(run_id)?;
        assert_eq!(bytes.len(), 32, "{run_id}");
        let mut time = [0u8; 8];
        time[2..].copy_from_slice(&bytes[..6]);
        let t = u64::from_be_bytes(time);
        assert!(
            (before..=after).contains(&t),
            "{t} not in {before}..={after}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn activity_failure_then_fail_workflow() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let client = swfd.client();
    let fx = setup_domain(&client, "failing").await?;
    let exec = start_execution(&client, &fx, "doomed", "x").await?;

    let d1 = poll_decision(&client, &fx).await?;
    client
        .respond_decision_task_completed()
        .task_token(d1.task_token())
        .decisions(schedule_activity(&fx, "a1", "x"))
        .send()
        .await?;
    let a = poll_activity(&client, &fx).await?;
    assert_eq!(a.activity_id(), "a1");
    client
        .respond_activity_task_failed()
        .task_token(a.task_token())
        .reason("boom")
        .details("stack trace")
        .send()
        .await?;

    let d2 = poll_decision(&client, &fx).await?;
    let failed = d2
        .events()
        .iter()
        .find_map(|e| e.activity_task_failed_event_attributes())
        .expect("ActivityTaskFailed in the decision task's history");
    assert_eq!(failed.reason(), Some("boom"));
    assert_eq!(failed.details(), Some("stack trace"));
    assert_eq!(
        (failed.scheduled_event_id(), failed.started_event_id()),
        (5, 6)
    );
    client
        .respond_decision_task_completed()
        .task_token(d2.task_token())
        .decisions(
            Decision::builder()
                .decision_type(DecisionType::FailWorkflowExecution)
                .fail_workflow_execution_decision_attributes(
                    FailWorkflowExecutionDecisionAttributes::builder()
                        .reason("activity failed")
                        .details("boom")
                        .build(),
                )
                .build()?,
        )
        .send()
        .await?;

    let events = full_history(&client, &fx.domain, &exec).await?;
    assert_eq!(
        event_types(&events)[6..],
        [
            EventType::ActivityTaskFailed,
            EventType::DecisionTaskScheduled,
            EventType::DecisionTaskStarted,
            EventType::DecisionTaskCompleted,
            EventType::WorkflowExecutionFailed,
        ]
    );
    let wef = events[10]
        .workflow_execution_failed_event_attributes()
        .expect("failed attributes");
    assert_eq!(wef.reason(), Some("activity failed"));
    assert_eq!(wef.details(), Some("boom"));
    assert_eq!(wef.decision_task_completed_event_id(), 10);

    let info = client
        .describe_workflow_execution()
        .domain(&fx.domain)
        .execution(exec)
        .send()
        .await?
        .execution_info
        .expect("executionInfo");
    assert_eq!(info.execution_status(), &ExecutionStatus::Closed);
    assert_eq!(info.close_status(), Some(&CloseStatus::Failed));
    Ok(())
}

fn request_cancel(activity_id: &str) -> anyhow::Result<Decision> {
    Ok(Decision::builder()
        .decision_type(DecisionType::RequestCancelActivityTask)
        .request_cancel_activity_task_decision_attributes(
            RequestCancelActivityTaskDecisionAttributes::builder()
                .activity_id(activity_id)
                .build()?,
        )
        .build()?)
}

#[tokio::test]
async fn cancel_activities_record_marker_and_cancel_workflow() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let client = swfd.client();
    let fx = setup_domain(&client, "canceling").await?;
    let exec = start_execution(&client, &fx, "cancel-me", "x").await?;

    // A and B go to the worker's list; C to a list nobody polls, so it stays queued.
    let d1 = poll_decision(&client, &fx).await?;
    let queued = Decision::builder()
        .decision_type(DecisionType::ScheduleActivityTask)
        .schedule_activity_task_decision_attributes(
            ScheduleActivityTaskDecisionAttributes::builder()
                .activity_id("C")
                .activity_type(fx.activity_type.clone())
                .task_list(task_list("nobody-polls-this"))
                .build()?,
        )
        .build()?;
    client
        .respond_decision_task_completed()
        .task_token(d1.task_token())
        .decisions(schedule_activity(&fx, "A", "a"))
        .decisions(schedule_activity(&fx, "B", "b"))
        .decisions(queued)
        .send()
        .await?;

    let t1 = poll_activity(&client, &fx).await?;
    let t2 = poll_activity(&client, &fx).await?;
    let mut ids = [t1.activity_id(), t2.activity_id()];
    ids.sort();
    assert_eq!(ids, ["A", "B"]);
    let (a, b) = if t1.activity_id() == "A" {
        (t1, t2)
    } else {
        (t2, t1)
    };
    client
        .respond_activity_task_completed()
        .task_token(a.task_token())
        .result("done")
        .send()
        .await?;

    let d2 = poll_decision(&client, &fx).await?;
    assert_eq!(d2.started_event_id(), 12);
    client
        .respond_decision_task_completed()
        .task_token(d2.task_token())
        .decisions(request_cancel("B")?)
        .decisions(request_cancel("C")?)
        .decisions(
            Decision::builder()
                .decision_type(DecisionType::RecordMarker)
                .record_marker_decision_attributes(
                    RecordMarkerDecisionAttributes::builder()
                        .marker_name("checkpoint")
                        .details("after A")
                        .build()?,
                )
                .build()?,
        )
        .send()
        .await?;

    // The started activity B learns about the request through its heartbeat.
    let hb = client
        .record_activity_task_heartbeat()
        .task_token(b.task_token())
        .send()
        .await?;
    assert!(
        hb.cancel_requested(),
        "heartbeat must report cancelRequested"
    );
    client
        .respond_activity_task_canceled()
        .task_token(b.task_token())
        .details("stopped")
        .send()
        .await?;

    let d3 = poll_decision(&client, &fx).await?;
    assert!(!d3.task_token().is_empty());
    client
        .respond_decision_task_completed()
        .task_token(d3.task_token())
        .decisions(
            Decision::builder()
                .decision_type(DecisionType::CancelWorkflowExecution)
                .cancel_workflow_execution_decision_attributes(
                    CancelWorkflowExecutionDecisionAttributes::builder()
                        .details("no longer needed")
                        .build(),
                )
                .build()?,
        )
        .send()
        .await?;

    let events = full_history(&client, &fx.domain, &exec).await?;
    assert_eq!(
        event_types(&events),
        [
            EventType::WorkflowExecutionStarted,    // 1
            EventType::DecisionTaskScheduled,       // 2
            EventType::DecisionTaskStarted,         // 3
            EventType::DecisionTaskCompleted,       // 4
            EventType::ActivityTaskScheduled,       // 5 A
            EventType::ActivityTaskScheduled,       // 6 B
            EventType::ActivityTaskScheduled,       // 7 C
            EventType::ActivityTaskStarted,         // 8
            EventType::ActivityTaskStarted,         // 9
            EventType::ActivityTaskCompleted,       // 10 A
            EventType::DecisionTaskScheduled,       // 11
            EventType::DecisionTaskStarted,         // 12
            EventType::DecisionTaskCompleted,       // 13
            EventType::ActivityTaskCancelRequested, // 14 B
            EventType::ActivityTaskCancelRequested, // 15 C
            EventType::ActivityTaskCanceled,        // 16 C (was queued)
            EventType::MarkerRecorded,              // 17
            EventType::DecisionTaskScheduled,       // 18
            EventType::ActivityTaskCanceled,        // 19 B (worker)
            EventType::DecisionTaskStarted,         // 20
            EventType::DecisionTaskCompleted,       // 21
            EventType::WorkflowExecutionCanceled,   // 22
        ]
    );
    let c_canceled = events[15]
        .activity_task_canceled_event_attributes()
        .expect("C canceled");
    assert_eq!(c_canceled.scheduled_event_id(), 7);
    assert_eq!(c_canceled.latest_cancel_requested_event_id(), 15);
    let marker = events[16]
        .marker_recorded_event_attributes()
        .expect("marker");
    assert_eq!(marker.marker_name(), "checkpoint");
    assert_eq!(marker.details(), Some("after A"));
    assert_eq!(marker.decision_task_completed_event_id(), 13);
    let b_canceled = events[18]
        .activity_task_canceled_event_attributes()
        .expect("B canceled");
    assert_eq!(b_canceled.scheduled_event_id(), 6);
    assert_eq!(b_canceled.details(), Some("stopped"));
    assert_eq!(b_canceled.latest_cancel_requested_event_id(), 14);
    let wc = events[21]
        .workflow_execution_canceled_event_attributes()
        .expect("canceled");
    assert_eq!(wc.details(), Some("no longer needed"));

    let info = client
        .describe_workflow_execution()
        .domain(&fx.domain)
        .execution(exec)
        .send()
        .await?
        .execution_info
        .expect("executionInfo");
    assert_eq!(info.close_status(), Some(&CloseStatus::Canceled));
    Ok(())
}

#[tokio::test]
async fn lambda_decision_records_service_not_available() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let client = swfd.client();
    let fx = setup_domain(&client, "unimplemented").await?;
    let exec = start_execution(&client, &fx, "can-wf", "").await?;

    let d1 = poll_decision(&client, &fx).await?;
    client
        .respond_decision_task_completed()
        .task_token(d1.task_token())
        .decisions(
            Decision::builder()
                .decision_type(DecisionType::ScheduleLambdaFunction)
                .schedule_lambda_function_decision_attributes(
                    ScheduleLambdaFunctionDecisionAttributes::builder()
                        .id("fn-1")
                        .name("resize")
                        .build()?,
                )
                .build()?,
        )
        .send()
        .await?;

    // The failed decision gets the decider a new decision task.
    let d2 = poll_decision(&client, &fx).await?;
    assert!(!d2.task_token().is_empty());
    client
        .respond_decision_task_completed()
        .task_token(d2.task_token())
        .decisions(complete_workflow("ok"))
        .send()
        .await?;

    let events = full_history(&client, &fx.domain, &exec).await?;
    assert_eq!(
        event_types(&events),
        [
            EventType::WorkflowExecutionStarted,
            EventType::DecisionTaskScheduled,
            EventType::DecisionTaskStarted,
            EventType::DecisionTaskCompleted,
            EventType::ScheduleLambdaFunctionFailed,
            EventType::DecisionTaskScheduled,
            EventType::DecisionTaskStarted,
            EventType::DecisionTaskCompleted,
            EventType::WorkflowExecutionCompleted,
        ]
    );
    let failed = events[4]
        .schedule_lambda_function_failed_event_attributes()
        .expect("ScheduleLambdaFunctionFailed attributes");
    assert_eq!((failed.id(), failed.name()), ("fn-1", "resize"));
    assert_eq!(
        failed.cause(),
        &ScheduleLambdaFunctionFailedCause::LambdaServiceNotAvailableInRegion
    );
    assert_eq!(failed.decision_task_completed_event_id(), 4);
    Ok(())
}

#[tokio::test]
async fn registrations_are_described_and_listed() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let client = swfd.client();
    let fx = setup_domain(&client, "described").await?;
    setup_domain(&client, "other").await?;

    let domains = client
        .list_domains()
        .registration_status(RegistrationStatus::Registered)
        .send()
        .await?;
    let mut names: Vec<&str> = domains.domain_infos().iter().map(|d| d.name()).collect();
    names.sort();
    assert_eq!(names, ["described", "other"]);

    let d = client.describe_domain().name("described").send().await?;
    let info = d.domain_info().expect("domainInfo");
    assert_eq!(info.name(), "described");
    assert_eq!(info.status(), &RegistrationStatus::Registered);
    assert_eq!(
        d.configuration()
            .map(|c| c.workflow_execution_retention_period_in_days()),
        Some("1")
    );

    let wt = client
        .describe_workflow_type()
        .domain("described")
        .workflow_type(fx.workflow_type.clone())
        .send()
        .await?;
    assert_eq!(
        wt.type_info().map(|t| t.status()),
        Some(&RegistrationStatus::Registered)
    );
    let cfg = wt.configuration().expect("configuration");
    assert_eq!(cfg.default_task_list(), Some(&fx.decision_task_list()));
    assert_eq!(cfg.default_execution_start_to_close_timeout(), Some("3600"));
    assert_eq!(cfg.default_task_start_to_close_timeout(), Some("60"));
    assert_eq!(cfg.default_child_policy(), Some(&ChildPolicy::Terminate));

    let at = client
        .describe_activity_type()
        .domain("described")
        .activity_type(fx.activity_type.clone())
        .send()
        .await?;
    assert_eq!(
        at.type_info().and_then(|t| t.activity_type()),
        Some(&fx.activity_type)
    );
    let cfg = at.configuration().expect("configuration");
    assert_eq!(cfg.default_task_list(), Some(&fx.activity_task_list()));
    assert_eq!(cfg.default_task_heartbeat_timeout(), Some("600"));

    let types = client
        .list_activity_types()
        .domain("described")
        .registration_status(RegistrationStatus::Registered)
        .send()
        .await?;
    assert_eq!(types.type_infos().len(), 1);
    Ok(())
}
