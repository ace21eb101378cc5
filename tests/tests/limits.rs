//! Quotas and retention through aws-sdk-swf: a history reaching the event limit terminates its
//! execution with cause EVENT_LIMIT_EXCEEDED (exactly: the limit's events, then the termination, even
//! when one decision response would have gone far past it), and a closed execution in a domain with
//! retention 0 is purged (record, history and visibility) by the leader right after it closes.

use std::time::Duration;

use aws_sdk_swf::error::ProvideErrorMetadata;
use aws_sdk_swf::types::{
    CloseStatus, Decision, DecisionType, EventType, RecordMarkerDecisionAttributes,
    WorkflowExecutionTerminatedCause,
};
use swf_e2e::{
    complete_workflow, full_history, poll_decision, setup_domain, start_execution, Swfd,
};

#[tokio::test]
async fn event_limit_terminates_the_execution() -> anyhow::Result<()> {
    let swfd = Swfd::start_with(&["--max-history-events", "20"]).await?;
    let c = swfd.client();
    let fx = setup_domain(&c, "limit").await?;
    let run = start_execution(&c, &fx, "chatty", "").await?;
    let mut refused = None;
    for i in 0..40 {
        match c
            .signal_workflow_execution()
            .domain("limit")
            .workflow_id("chatty")
            .signal_name(format!("s{i}"))
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) => {
                refused = Some((i, e.code().map(str::to_string)));
                break;
            }
        }
    }
    // Signals succeed until the execution is terminated, then find no open execution: started and
    // decision task scheduled, 18 signals fill the 20 events, the termination is event 21.
    let (at, code) = refused.expect("the execution was terminated");
    assert_eq!(code.as_deref(), Some("UnknownResourceFault"));
    assert_eq!(at, 18, "terminated after {at} signals");
    let history = full_history(&c, "limit", &run).await?;
    assert_eq!(history.len(), 21);
    let last = history.last().expect("events");
    assert_eq!(last.event_type(), &EventType::WorkflowExecutionTerminated);
    let attrs = last
        .workflow_execution_terminated_event_attributes()
        .expect("attributes");
    assert_eq!(
        attrs.cause(),
        Some(&WorkflowExecutionTerminatedCause::EventLimitExceeded)
    );
    let info = c
        .describe_workflow_execution()
        .domain("limit")
        .execution(run)
        .send()
        .await?;
    assert_eq!(
        info.execution_info().and_then(|i| i.close_status()),
        Some(&CloseStatus::Terminated)
    );
    Ok(())
}

fn marker(name: String) -> Decision {
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

#[tokio::test]
async fn a_decision_list_past_the_limit_ends_exactly_at_it() -> anyhow::Result<()> {
    // One response with 40 markers at a 20-event limit: before the fix it recorded all 40 (44 events
    // and then the termination).
    let swfd = Swfd::start_with(&["--max-history-events", "20"]).await?;
    let c = swfd.client();
    let fx = setup_domain(&c, "markers").await?;
    let run = start_execution(&c, &fx, "noisy", "").await?;
    let task = poll_decision(&c, &fx).await?;
    let token = task.task_token();
    assert!(!token.is_empty(), "a decision task");
    c.respond_decision_task_completed()
        .task_token(token)
        .set_decisions(Some((0..40).map(|i| marker(format!("m{i}"))).collect()))
        .send()
        .await?;
    let history = full_history(&c, "markers", &run).await?;
    assert_eq!(
        history.len(),
        21,
        "the limit's 20 events and the termination"
    );
    let last = history.last().expect("events");
    assert_eq!(last.event_id(), 21);
    assert_eq!(
        last.workflow_execution_terminated_event_attributes()
            .and_then(|a| a.cause()),
        Some(&WorkflowExecutionTerminatedCause::EventLimitExceeded)
    );
    // Started, decision task scheduled, started, completed: 16 markers fit.
    let markers = history
        .iter()
        .filter(|e| e.event_type() == &EventType::MarkerRecorded)
        .count();
    assert_eq!(markers, 16);
    Ok(())
}

#[tokio::test]
async fn zero_retention_purges_closed_executions() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let c = swfd.client();
    let fx = setup_domain(&c, "kept").await?;
    c.register_domain()
        .name("fleeting")
        .workflow_execution_retention_period_in_days("0")
        .send()
        .await?;
    c.register_workflow_type()
        .domain("fleeting")
        .name(fx.workflow_type.name())
        .version(fx.workflow_type.version())
        .default_task_list(fx.decision_task_list())
        .default_execution_start_to_close_timeout("60")
        .default_task_start_to_close_timeout("10")
        .default_child_policy(aws_sdk_swf::types::ChildPolicy::Terminate)
        .send()
        .await?;
    let fleeting = swf_e2e::Fixture {
        domain: "fleeting".into(),
        ..fx.clone()
    };
    let run = start_execution(&c, &fleeting, "gone-soon", "").await?;
    let task = poll_decision(&c, &fleeting).await?;
    c.respond_decision_task_completed()
        .task_token(task.task_token())
        .decisions(complete_workflow("done"))
        .send()
        .await?;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match c
            .describe_workflow_execution()
            .domain("fleeting")
            .execution(run.clone())
            .send()
            .await
        {
            Err(e) if e.code() == Some("UnknownResourceFault") => break,
            Ok(_) => {}
            Err(e) => anyhow::bail!("unexpected error {e:?}"),
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the closed execution was never purged"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let history = c
        .get_workflow_execution_history()
        .domain("fleeting")
        .execution(run)
        .send()
        .await;
    assert_eq!(history.unwrap_err().code(), Some("UnknownResourceFault"));
    let count = c
        .count_closed_workflow_executions()
        .domain("fleeting")
        .close_time_filter(
            aws_sdk_swf::types::ExecutionTimeFilter::builder()
                .oldest_date(aws_sdk_swf::primitives::DateTime::from_secs(0))
                .build()?,
        )
        .send()
        .await?;
    assert_eq!(count.count(), 0, "visibility entries are purged too");
    Ok(())
}
