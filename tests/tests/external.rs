//! Acting on an execution from outside, through aws-sdk-swf: SignalWorkflowExecution,
//! RequestCancelWorkflowExecution and TerminateWorkflowExecution, and their faults; and concurrent calls
//! that the leader proposes together in one Raft entry.

use aws_sdk_swf::error::ProvideErrorMetadata;
use aws_sdk_swf::types::{ChildPolicy, CloseStatus, EventType};
use swf_e2e::{
    full_history, poll_activity, poll_decision, schedule_activity, setup_domain, start_execution,
    Swfd,
};

#[tokio::test]
async fn signal_cancel_request_and_terminate() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let c = swfd.client();
    let fx = setup_domain(&c, "ext").await?;
    let run = start_execution(&c, &fx, "w", "").await?;

    c.signal_workflow_execution()
        .domain("ext")
        .workflow_id("w")
        .signal_name("go")
        .input("payload")
        .send()
        .await?;
    c.request_cancel_workflow_execution()
        .domain("ext")
        .workflow_id("w")
        .run_id(run.run_id())
        .send()
        .await?;
    let described = c
        .describe_workflow_execution()
        .domain("ext")
        .execution(run.clone())
        .send()
        .await?;
    assert_eq!(
        described.execution_info().map(|i| i.cancel_requested()),
        Some(true)
    );

    // The decider sees both in its task; it schedules an activity that a worker starts.
    let task = poll_decision(&c, &fx).await?;
    let types: Vec<_> = task
        .events()
        .iter()
        .map(|e| e.event_type().clone())
        .collect();
    assert!(
        types.contains(&EventType::WorkflowExecutionSignaled)
            && types.contains(&EventType::WorkflowExecutionCancelRequested),
        "{types:?}"
    );
    let signaled = task
        .events()
        .iter()
        .find_map(|e| e.workflow_execution_signaled_event_attributes())
        .expect("signal event");
    assert_eq!(
        (signaled.signal_name(), signaled.input()),
        ("go", Some("payload"))
    );
    c.respond_decision_task_completed()
        .task_token(task.task_token())
        .decisions(schedule_activity(&fx, "a", "x"))
        .send()
        .await?;
    let activity = poll_activity(&c, &fx).await?;

    c.terminate_workflow_execution()
        .domain("ext")
        .workflow_id("w")
        .reason("operator")
        .child_policy(ChildPolicy::Abandon)
        .send()
        .await?;
    let history = full_history(&c, "ext", &run).await?;
    let last = history.last().expect("events");
    assert_eq!(last.event_type(), &EventType::WorkflowExecutionTerminated);
    let terminated = last
        .workflow_execution_terminated_event_attributes()
        .expect("attributes");
    assert_eq!(
        (terminated.reason(), terminated.child_policy()),
        (Some("operator"), &ChildPolicy::Abandon)
    );
    let described = c
        .describe_workflow_execution()
        .domain("ext")
        .execution(run.clone())
        .send()
        .await?;
    assert_eq!(
        described.execution_info().and_then(|i| i.close_status()),
        Some(&CloseStatus::Terminated)
    );

    // The worker's token died with the run; the workflow id is free again.
    let late = c
        .respond_activity_task_completed()
        .task_token(activity.task_token())
        .send()
        .await;
    assert_eq!(late.unwrap_err().code(), Some("UnknownResourceFault"));
    for result in [
        c.signal_workflow_execution()
            .domain("ext")
            .workflow_id("w")
            .signal_name("late")
            .send()
            .await
            .map(|_| ())
            .map_err(|e| e.code().map(str::to_string)),
        c.terminate_workflow_execution()
            .domain("ext")
            .workflow_id("w")
            .send()
            .await
            .map(|_| ())
            .map_err(|e| e.code().map(str::to_string)),
        c.request_cancel_workflow_execution()
            .domain("ext")
            .workflow_id("w")
            .send()
            .await
            .map(|_| ())
            .map_err(|e| e.code().map(str::to_string)),
    ] {
        assert_eq!(result, Err(Some("UnknownResourceFault".to_string())));
    }
    start_execution(&c, &fx, "w", "").await?;
    Ok(())
}

/// Many signals racing into one execution: the history's times never go backwards (the leader once
/// stamped a command before proposing it, so two racing calls could enter the log in the opposite order
/// of their times; swf-chaos found it, seed 1). `full_history` also runs the history validator.
#[tokio::test]
async fn racing_signals_keep_history_time_ordered() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let c = swfd.client();
    let fx = setup_domain(&c, "race").await?;
    let run = start_execution(&c, &fx, "w", "").await?;
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..64 {
        let c = c.clone();
        calls.spawn(async move {
            for j in 0..5 {
                c.signal_workflow_execution()
                    .domain("race")
                    .workflow_id("w")
                    .signal_name(format!("s{i}-{j}"))
                    .send()
                    .await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = calls.join_next().await {
        done??;
    }
    let history = full_history(&c, "race", &run).await?;
    let signals = history
        .iter()
        .filter(|e| e.event_type() == &EventType::WorkflowExecutionSignaled)
        .count();
    assert_eq!(signals, 320, "every acknowledged signal is in the history");
    for pair in history.windows(2) {
        assert!(
            pair[1].event_timestamp().as_nanos() >= pair[0].event_timestamp().as_nanos(),
            "event {} at {:?} is earlier than event {} at {:?}",
            pair[1].event_id(),
            pair[1].event_timestamp(),
            pair[0].event_id(),
            pair[0].event_timestamp()
        );
    }
    Ok(())
}

/// Concurrent calls are proposed together (several per Raft entry), yet each sees what the calls before
/// it in the entry did: every workflow id started twice at once opens exactly one run, the other start
/// gets WorkflowExecutionAlreadyStartedFault, and the log grows by fewer entries than there were calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_duplicate_starts_batch_and_open_one_run_each() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let c = swfd.client();
    let fx = setup_domain(&c, "batch").await?;
    let index = |status: serde_json::Value| status["last_log_index"].as_u64().unwrap_or(0);
    let before = index(swfd.cluster_status().await?);
    const IDS: usize = 100;
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..2 * IDS {
        let (c, fx) = (c.clone(), fx.clone());
        calls.spawn(async move {
            match start_execution(&c, &fx, &format!("w{}", i % IDS), "").await {
                Ok(_) => anyhow::Ok(true),
                Err(e) => {
                    let text = format!("{e:?}");
                    anyhow::ensure!(
                        text.contains("WorkflowExecutionAlreadyStartedFault"),
                        "unexpected failure: {text}"
                    );
                    Ok(false)
                }
            }
        });
    }
    let mut started = 0;
    while let Some(done) = calls.join_next().await {
        started += usize::from(done??);
    }
    assert_eq!(started, IDS, "exactly one start per workflow id succeeds");
    let open = c
        .count_open_workflow_executions()
        .domain("batch")
        .start_time_filter(
            aws_sdk_swf::types::ExecutionTimeFilter::builder()
                .oldest_date(aws_sdk_swf::primitives::DateTime::from_secs(0))
                .build()?,
        )
        .send()
        .await?;
    assert_eq!(open.count() as usize, IDS);
    let entries = index(swfd.cluster_status().await?) - before;
    assert!(
        (entries as usize) < 2 * IDS,
        "{} calls took {entries} log entries: none were batched",
        2 * IDS
    );
    Ok(())
}
