//! Decision tasks and decision lists as real SWF runs them (issue 13), driven through aws-sdk-swf
//! against the real binary:
//! - the next decision task is scheduled as soon as new work arrives, even while one is started, and
//!   handed out only once the started one completes or times out (simpleflow's recorded
//!   `test_unrequested_signal`, `test_wait_signal` and `test_cancel_requested_refused` histories);
//! - a close decision that is not the last decision is refused with ValidationException "Close must
//!   be last decision in list" and nothing is applied (solambda/swiffer's integration tests against
//!   SWF: `swiffer-api/src/test/java/com/solambda/swiffer/api/retry/MakeDecisionAfterCloseIT.java`
//!   and `RetryWithCancellationIT.java`);
//! - a signal a decision sends is delivered after all the decision's own events (issue 13's reading of
//!   real histories of a workflow signalling itself; we found no public recording of that case).

use aws_sdk_swf::error::ProvideErrorMetadata;
use aws_sdk_swf::types::{
    Decision, DecisionType, EventType, RecordMarkerDecisionAttributes,
    SignalExternalWorkflowExecutionDecisionAttributes, StartTimerDecisionAttributes,
    WorkflowExecution,
};
use swf_e2e::{
    complete_workflow, event_types, full_history, poll_activity, poll_decision, schedule_activity,
    service_error, setup_domain, start_execution, Fixture, Swfd,
};

fn marker(name: &str) -> Decision {
    Decision::builder()
        .decision_type(DecisionType::RecordMarker)
        .record_marker_decision_attributes(
            RecordMarkerDecisionAttributes::builder()
                .marker_name(name)
                .build()
                .expect("marker name set"),
        )
        .build()
        .expect("decision type set")
}

fn timer(id: &str) -> Decision {
    Decision::builder()
        .decision_type(DecisionType::StartTimer)
        .start_timer_decision_attributes(
            StartTimerDecisionAttributes::builder()
                .timer_id(id)
                .start_to_fire_timeout("600")
                .build()
                .expect("members set"),
        )
        .build()
        .expect("decision type set")
}

fn signal(workflow_id: &str) -> Decision {
    Decision::builder()
        .decision_type(DecisionType::SignalExternalWorkflowExecution)
        .signal_external_workflow_execution_decision_attributes(
            SignalExternalWorkflowExecutionDecisionAttributes::builder()
                .workflow_id(workflow_id)
                .signal_name("ping")
                .input("hi")
                .build()
                .expect("members set"),
        )
        .build()
        .expect("decision type set")
}

async fn respond(
    client: &aws_sdk_swf::Client,
    token: &str,
    decisions: Vec<Decision>,
) -> anyhow::Result<()> {
    client
        .respond_decision_task_completed()
        .task_token(token)
        .set_decisions(Some(decisions))
        .send()
        .await?;
    Ok(())
}

async fn pending_decisions(client: &aws_sdk_swf::Client, fx: &Fixture) -> anyhow::Result<i32> {
    Ok(client
        .count_pending_decision_tasks()
        .domain(&fx.domain)
        .task_list(fx.decision_task_list())
        .send()
        .await?
        .count())
}

/// The recorded order of simpleflow's `test_unrequested_signal` cassette (real SWF): an activity
/// completes while decision task 9 is started, and DecisionTaskScheduled (11) follows it at once;
/// task 11 is handed out only after task 9 completed, with previousStartedEventId 9.
#[tokio::test]
async fn next_decision_task_is_scheduled_while_one_is_started() -> anyhow::Result<()> {
    let swfd = Swfd::start_with(&["--long-poll-secs", "1"]).await?;
    let client = swfd.client();
    let fx = setup_domain(&client, "order").await?;
    let run = start_execution(&client, &fx, "w", "in").await?;
    let d = poll_decision(&client, &fx).await?;
    respond(
        &client,
        d.task_token(),
        vec![schedule_activity(&fx, "a", "x")],
    )
    .await?;
    let a = poll_activity(&client, &fx).await?;
    client
        .signal_workflow_execution()
        .domain(&fx.domain)
        .workflow_id("w")
        .signal_name("unexpected")
        .input("Hi there!")
        .send()
        .await?;
    let d = poll_decision(&client, &fx).await?;
    assert_eq!(d.started_event_id(), 9);
    client
        .respond_activity_task_completed()
        .task_token(a.task_token())
        .result("done")
        .send()
        .await?;
    // Scheduled at once, but not pollable while task 9 is started.
    let types = event_types(&full_history(&client, &fx.domain, &run).await?);
    assert_eq!(
        types[8..],
        [
            EventType::DecisionTaskStarted,
            EventType::ActivityTaskCompleted,
            EventType::DecisionTaskScheduled
        ]
    );
    assert_eq!(pending_decisions(&client, &fx).await?, 0);
    let empty = poll_decision(&client, &fx).await?;
    assert!(empty.task_token().is_empty(), "{empty:?}");
    // Task 9 completes: task 11 is handed out next, with no second DecisionTaskScheduled.
    respond(&client, d.task_token(), vec![]).await?;
    assert_eq!(pending_decisions(&client, &fx).await?, 1);
    let next = poll_decision(&client, &fx).await?;
    assert_eq!(
        (next.started_event_id(), next.previous_started_event_id()),
        (13, 9)
    );
    respond(&client, next.task_token(), vec![complete_workflow("ok")]).await?;
    let events = full_history(&client, &fx.domain, &run).await?;
    use EventType as E;
    assert_eq!(
        event_types(&events),
        [
            E::WorkflowExecutionStarted,
            E::DecisionTaskScheduled,
            E::DecisionTaskStarted,
            E::DecisionTaskCompleted,
            E::ActivityTaskScheduled,
            E::ActivityTaskStarted,
            E::WorkflowExecutionSignaled,
            E::DecisionTaskScheduled,
            E::DecisionTaskStarted,
            E::ActivityTaskCompleted,
            E::DecisionTaskScheduled,
            E::DecisionTaskCompleted,
            E::DecisionTaskStarted,
            E::DecisionTaskCompleted,
            E::WorkflowExecutionCompleted,
        ]
    );
    let completed = events[11]
        .decision_task_completed_event_attributes()
        .expect("attributes");
    assert_eq!(
        (completed.scheduled_event_id(), completed.started_event_id()),
        (8, 9)
    );
    let started = events[12]
        .decision_task_started_event_attributes()
        .expect("attributes");
    assert_eq!(started.scheduled_event_id(), 11);
    Ok(())
}

/// When the started task times out, the one scheduled behind it becomes pollable: no second
/// DecisionTaskScheduled, and previousStartedEventId stays 0 (a timed-out task is not "previous").
#[tokio::test]
async fn timed_out_decision_task_hands_out_the_one_scheduled_behind_it() -> anyhow::Result<()> {
    let swfd = Swfd::start_with(&["--long-poll-secs", "10"]).await?;
    let client = swfd.client();
    let fx = setup_domain(&client, "order-timeout").await?;
    let out = client
        .start_workflow_execution()
        .domain(&fx.domain)
        .workflow_id("w")
        .workflow_type(fx.workflow_type.clone())
        .task_start_to_close_timeout("1")
        .send()
        .await?;
    let run = WorkflowExecution::builder()
        .workflow_id("w")
        .set_run_id(out.run_id().map(str::to_string))
        .build()?;
    let d = poll_decision(&client, &fx).await?;
    assert_eq!(d.started_event_id(), 3);
    client
        .signal_workflow_execution()
        .domain(&fx.domain)
        .workflow_id("w")
        .signal_name("s")
        .send()
        .await?;
    // The long poll returns once task 3 timed out and task 5 became pollable.
    let next = poll_decision(&client, &fx).await?;
    assert_eq!(
        (next.started_event_id(), next.previous_started_event_id()),
        (7, 0)
    );
    let events = full_history(&client, &fx.domain, &run).await?;
    use EventType as E;
    assert_eq!(
        event_types(&events),
        [
            E::WorkflowExecutionStarted,
            E::DecisionTaskScheduled,
            E::DecisionTaskStarted,
            E::WorkflowExecutionSignaled,
            E::DecisionTaskScheduled,
            E::DecisionTaskTimedOut,
            E::DecisionTaskStarted,
        ]
    );
    let started = events[6]
        .decision_task_started_event_attributes()
        .expect("attributes");
    assert_eq!(started.scheduled_event_id(), 5);
    // The timed-out task's token is no longer good.
    let e = service_error(
        client
            .respond_decision_task_completed()
            .task_token(d.task_token())
            .send()
            .await,
    );
    assert_eq!(e.code(), Some("UnknownResourceFault"));
    Ok(())
}

/// solambda/swiffer's MakeDecisionAfterCloseIT and RetryWithCancellationIT (run against real SWF):
/// decisions after a close decision get ValidationException "Close must be last decision in list".
/// Nothing of the response is applied and the task stays started, so the decider can answer again.
#[tokio::test]
async fn close_must_be_last_decision_in_list() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let client = swfd.client();
    let fx = setup_domain(&client, "close-last").await?;
    let run = start_execution(&client, &fx, "w", "in").await?;
    let d = poll_decision(&client, &fx).await?;
    for decisions in [
        vec![complete_workflow("x"), marker("after")],
        vec![complete_workflow("x"), complete_workflow("y")],
        vec![marker("before"), complete_workflow("x"), timer("t")],
    ] {
        let e = service_error(
            client
                .respond_decision_task_completed()
                .task_token(d.task_token())
                .set_decisions(Some(decisions))
                .send()
                .await,
        );
        assert_eq!(e.code(), Some("ValidationException"));
        assert_eq!(e.message(), Some("Close must be last decision in list"));
    }
    assert_eq!(full_history(&client, &fx.domain, &run).await?.len(), 3);
    respond(
        &client,
        d.task_token(),
        vec![marker("m"), complete_workflow("x")],
    )
    .await?;
    let types = event_types(&full_history(&client, &fx.domain, &run).await?);
    assert_eq!(
        types[3..],
        [
            EventType::DecisionTaskCompleted,
            EventType::MarkerRecorded,
            EventType::WorkflowExecutionCompleted
        ]
    );
    Ok(())
}

/// A signal a decision sends is delivered after the decision's own events: to itself
/// (`SignalExternalWorkflowExecutionInitiated, MarkerRecorded, TimerStarted`, then the signal, the
/// decision task it schedules and `ExternalWorkflowExecutionSignaled`), and to another run.
#[tokio::test]
async fn signals_are_delivered_after_the_decisions_own_events() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let client = swfd.client();
    let fx = setup_domain(&client, "effects").await?;
    let me = start_execution(&client, &fx, "me", "in").await?;
    let d = poll_decision(&client, &fx).await?;
    respond(
        &client,
        d.task_token(),
        vec![signal("me"), marker("m"), timer("t")],
    )
    .await?;
    use EventType as E;
    let events = full_history(&client, &fx.domain, &me).await?;
    assert_eq!(
        event_types(&events)[3..],
        [
            E::DecisionTaskCompleted,
            E::SignalExternalWorkflowExecutionInitiated,
            E::MarkerRecorded,
            E::TimerStarted,
            E::WorkflowExecutionSignaled,
            E::DecisionTaskScheduled,
            E::ExternalWorkflowExecutionSignaled,
        ]
    );
    let signaled = events[7]
        .workflow_execution_signaled_event_attributes()
        .expect("attributes");
    assert_eq!(signaled.external_initiated_event_id(), 5);

    // To another run: its WorkflowExecutionSignaled, then the sender's outcome after its own events.
    let other = start_execution(&client, &fx, "other", "in").await?;
    let d = poll_decision(&client, &fx).await?;
    assert_eq!(d.workflow_execution().map(|e| e.workflow_id()), Some("me"));
    respond(&client, d.task_token(), vec![signal("other"), marker("n")]).await?;
    let types = event_types(&full_history(&client, &fx.domain, &me).await?);
    assert_eq!(
        types[types.len() - 4..],
        [
            E::SignalExternalWorkflowExecutionInitiated,
            E::MarkerRecorded,
            E::ExternalWorkflowExecutionSignaled,
            E::DecisionTaskScheduled,
        ]
    );
    let types = event_types(&full_history(&client, &fx.domain, &other).await?);
    assert_eq!(types.last(), Some(&E::WorkflowExecutionSignaled));
    Ok(())
}

/// The task scheduled behind a started one is applied state: after a kill -9 and restart it is still
/// not pollable while the started one runs, and is handed out once that one completes.
#[tokio::test]
async fn the_task_scheduled_behind_survives_a_restart() -> anyhow::Result<()> {
    let mut swfd = Swfd::start_with(&["--long-poll-secs", "1"]).await?;
    let client = swfd.client();
    let fx = setup_domain(&client, "order-durable").await?;
    let run = start_execution(&client, &fx, "w", "in").await?;
    let d = poll_decision(&client, &fx).await?;
    client
        .signal_workflow_execution()
        .domain(&fx.domain)
        .workflow_id("w")
        .signal_name("s")
        .send()
        .await?;
    swfd.restart().await?;
    let client = swfd.client();
    assert_eq!(pending_decisions(&client, &fx).await?, 0);
    assert!(poll_decision(&client, &fx).await?.task_token().is_empty());
    respond(&client, d.task_token(), vec![marker("m")]).await?;
    let next = poll_decision(&client, &fx).await?;
    assert_eq!(
        (next.started_event_id(), next.previous_started_event_id()),
        (8, 3)
    );
    use EventType as E;
    assert_eq!(
        event_types(&full_history(&client, &fx.domain, &run).await?),
        [
            E::WorkflowExecutionStarted,
            E::DecisionTaskScheduled,
            E::DecisionTaskStarted,
            E::WorkflowExecutionSignaled,
            E::DecisionTaskScheduled,
            E::DecisionTaskCompleted,
            E::MarkerRecorded,
            E::DecisionTaskStarted,
        ]
    );
    Ok(())
}
