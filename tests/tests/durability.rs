//! Durability: after `kill -9` and a restart on the same data directory every acknowledged event,
//! domain and type is still there and task tokens issued before the restart still work; SIGTERM
//! stops swfd cleanly.

use std::time::Duration;

use aws_sdk_swf::types::{
    CloseStatus, EventType, ExecutionStatus, HistoryEvent, RegistrationStatus,
};
use swf_e2e::{
    complete_workflow, event_types, full_history, poll_activity, poll_decision, schedule_activity,
    setup_domain, start_execution, Swfd,
};

/// Event id, type and timestamp: what must survive a restart unchanged.
fn summary(events: &[HistoryEvent]) -> Vec<(i64, EventType, aws_sdk_swf::primitives::DateTime)> {
    events
        .iter()
        .map(|e| (e.event_id(), e.event_type().clone(), *e.event_timestamp()))
        .collect()
}

#[tokio::test]
async fn kill9_restart_keeps_events_and_tokens() -> anyhow::Result<()> {
    let mut swfd = Swfd::start().await?;
    let client = swfd.client();
    let fx = setup_domain(&client, "durable").await?;
    let exec = start_execution(&client, &fx, "survivor", "in").await?;
    let d1 = poll_decision(&client, &fx).await?;
    client
        .respond_decision_task_completed()
        .task_token(d1.task_token())
        .decisions(schedule_activity(&fx, "a", "in"))
        .send()
        .await?;
    let a = poll_activity(&client, &fx).await?;
    assert!(!a.task_token().is_empty());
    let hb = client
        .record_activity_task_heartbeat()
        .task_token(a.task_token())
        .details("before crash")
        .send()
        .await?;
    assert!(!hb.cancel_requested());
    let before = full_history(&client, &fx.domain, &exec).await?;
    assert_eq!(before.len(), 6);

    let old_endpoint = swfd.endpoint();
    swfd.kill9();
    swfd.restart().await?;
    let client = swfd.client();
    assert_ne!(
        swfd.endpoint(),
        old_endpoint,
        "restart binds new ephemeral ports"
    );

    // Registrations and history are intact.
    client.describe_domain().name("durable").send().await?;
    let types = client
        .list_activity_types()
        .domain("durable")
        .registration_status(RegistrationStatus::Registered)
        .send()
        .await?;
    assert_eq!(types.type_infos().len(), 1);
    let after = full_history(&client, &fx.domain, &exec).await?;
    assert_eq!(summary(&after), summary(&before));
    let ats = after[4]
        .activity_task_scheduled_event_attributes()
        .expect("ActivityTaskScheduled");
    assert_eq!(ats.input(), Some("in"));

    // The activity token issued before the crash still heartbeats and completes.
    let hb = client
        .record_activity_task_heartbeat()
        .task_token(a.task_token())
        .details("after crash")
        .send()
        .await?;
    assert!(!hb.cancel_requested());
    client
        .respond_activity_task_completed()
        .task_token(a.task_token())
        .result("OUT")
        .send()
        .await?;
    let d2 = poll_decision(&client, &fx).await?;
    assert_eq!(d2.started_event_id(), 9);
    client
        .respond_decision_task_completed()
        .task_token(d2.task_token())
        .decisions(complete_workflow("OUT"))
        .send()
        .await?;
    let done = full_history(&client, &fx.domain, &exec).await?;

    // And once more: the completion itself is durable.
    swfd.kill9();
    swfd.restart().await?;
    let client = swfd.client();
    let again = full_history(&client, &fx.domain, &exec).await?;
    assert_eq!(summary(&again), summary(&done));
    assert_eq!(again.len(), 11);
    assert_eq!(
        again[10].event_type(),
        &EventType::WorkflowExecutionCompleted
    );
    let info = client
        .describe_workflow_execution()
        .domain(&fx.domain)
        .execution(exec)
        .send()
        .await?
        .execution_info
        .expect("executionInfo");
    assert_eq!(info.execution_status(), &ExecutionStatus::Closed);
    assert_eq!(info.close_status(), Some(&CloseStatus::Completed));
    Ok(())
}

#[tokio::test]
async fn decision_token_survives_restart() -> anyhow::Result<()> {
    let mut swfd = Swfd::start().await?;
    let client = swfd.client();
    let fx = setup_domain(&client, "durable-decision").await?;
    let exec = start_execution(&client, &fx, "d", "").await?;
    let d1 = poll_decision(&client, &fx).await?;
    assert!(!d1.task_token().is_empty());

    swfd.restart().await?;
    let client = swfd.client();
    client
        .respond_decision_task_completed()
        .task_token(d1.task_token())
        .decisions(complete_workflow("after restart"))
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
            EventType::WorkflowExecutionCompleted,
        ]
    );
    Ok(())
}

#[tokio::test]
async fn sigterm_stops_cleanly_and_data_remains() -> anyhow::Result<()> {
    let mut swfd = Swfd::start().await?;
    let client = swfd.client();
    let fx = setup_domain(&client, "graceful").await?;
    let exec = start_execution(&client, &fx, "g", "kept").await?;

    let status = swfd.terminate(Duration::from_secs(20)).await?;
    assert!(status.success(), "swfd exited with {status} after SIGTERM");

    swfd.restart().await?;
    let client = swfd.client();
    let events = full_history(&client, &fx.domain, &exec).await?;
    assert_eq!(events.len(), 2);
    let started = events[0]
        .workflow_execution_started_event_attributes()
        .expect("WorkflowExecutionStarted");
    assert_eq!(started.input(), Some("kept"));
    // The decision task scheduled before the stop is still handed out.
    let d = poll_decision(&client, &fx).await?;
    assert_eq!(d.workflow_execution(), Some(&exec));
    Ok(())
}

#[tokio::test]
async fn sigterm_does_not_wait_for_held_long_polls() -> anyhow::Result<()> {
    let mut swfd = Swfd::start_with(&["--long-poll-secs", "20"]).await?;
    let client = swfd.client();
    let fx = setup_domain(&client, "held").await?;
    let poller = {
        let (client, fx) = (client.clone(), fx.clone());
        tokio::spawn(async move { poll_decision(&client, &fx).await })
    };
    // Give the poll time to reach the server and be held there.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!poller.is_finished());

    let t = std::time::Instant::now();
    let status = swfd.terminate(Duration::from_secs(10)).await?;
    let took = t.elapsed();
    assert!(status.success(), "swfd exited with {status} after SIGTERM");
    assert!(
        took < Duration::from_secs(5),
        "swfd took {took:?} to stop while a long poll was held"
    );
    poller.abort();
    Ok(())
}
