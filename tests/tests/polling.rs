//! Long polling: a waiting PollForDecisionTask / PollForActivityTask is answered within a second of
//! the task appearing, and a poll that finds nothing is answered empty (taskToken "") once the
//! server's long-poll time (`--long-poll-secs`) has passed.

use std::time::{Duration, Instant};

use serde_json::json;
use swf_e2e::{
    poll_activity, poll_decision, schedule_activity, setup_domain, start_execution, Swfd,
};

/// Time given to a spawned poll to reach the server before the task is created. The test does not
/// wait for anything here: it only sets up the situation it checks (a poll already waiting).
const POLL_SETTLE: Duration = Duration::from_millis(300);

#[tokio::test]
async fn waiting_decision_poll_wakes_on_start() -> anyhow::Result<()> {
    let swfd = Swfd::start_with(&["--long-poll-secs", "30"]).await?;
    let client = swfd.client();
    let fx = setup_domain(&client, "wake").await?;

    let poller = {
        let (client, fx) = (client.clone(), fx.clone());
        tokio::spawn(async move {
            let out = poll_decision(&client, &fx).await;
            (out, Instant::now())
        })
    };
    tokio::time::sleep(POLL_SETTLE).await;
    assert!(
        !poller.is_finished(),
        "the poll returned before any task existed"
    );

    let started_at = Instant::now();
    let exec = start_execution(&client, &fx, "wake-1", "").await?;
    let (out, returned_at) = tokio::time::timeout(Duration::from_secs(10), poller).await??;
    let out = out?;
    let latency = returned_at.saturating_duration_since(started_at);
    assert!(!out.task_token().is_empty(), "woken poll has no task");
    assert_eq!(out.workflow_execution(), Some(&exec));
    assert!(
        latency < Duration::from_secs(1),
        "poll answered {latency:?} after StartWorkflowExecution"
    );
    Ok(())
}

#[tokio::test]
async fn waiting_activity_poll_wakes_on_schedule() -> anyhow::Result<()> {
    let swfd = Swfd::start_with(&["--long-poll-secs", "30"]).await?;
    let client = swfd.client();
    let fx = setup_domain(&client, "wake-act").await?;
    start_execution(&client, &fx, "wake-2", "").await?;
    let d = poll_decision(&client, &fx).await?;

    let poller = {
        let (client, fx) = (client.clone(), fx.clone());
        tokio::spawn(async move {
            let out = poll_activity(&client, &fx).await;
            (out, Instant::now())
        })
    };
    tokio::time::sleep(POLL_SETTLE).await;
    assert!(
        !poller.is_finished(),
        "the poll returned before any task existed"
    );

    let scheduled_at = Instant::now();
    client
        .respond_decision_task_completed()
        .task_token(d.task_token())
        .decisions(schedule_activity(&fx, "late", "in"))
        .send()
        .await?;
    let (out, returned_at) = tokio::time::timeout(Duration::from_secs(10), poller).await??;
    let out = out?;
    let latency = returned_at.saturating_duration_since(scheduled_at);
    assert_eq!(out.activity_id(), "late");
    assert!(
        latency < Duration::from_secs(1),
        "poll answered {latency:?} after the activity was scheduled"
    );
    Ok(())
}

#[tokio::test]
async fn empty_polls_answer_after_long_poll_time() -> anyhow::Result<()> {
    let swfd = Swfd::start_with(&["--long-poll-secs", "1"]).await?;
    let client = swfd.client();
    let fx = setup_domain(&client, "empty").await?;

    let t = Instant::now();
    let d = poll_decision(&client, &fx).await?;
    let waited = t.elapsed();
    assert_eq!(d.task_token(), "");
    assert!(d.events().is_empty());
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "empty decision poll took {waited:?}"
    );

    let t = Instant::now();
    let a = poll_activity(&client, &fx).await?;
    let waited = t.elapsed();
    assert_eq!(a.task_token(), "");
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "empty activity poll took {waited:?}"
    );

    // On the wire an empty task has no taskToken, as SWF answers it (boto3 code tests
    // `"taskToken" not in task`; the SDKs present the missing token as "").
    for (action, list) in [
        ("PollForDecisionTask", &fx.decision_list),
        ("PollForActivityTask", &fx.activity_list),
    ] {
        let (status, body) = swfd
            .raw_call(
                action,
                json!({ "domain": "empty", "taskList": { "name": list } }).to_string(),
            )
            .await?;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("taskToken").is_none(), "{action}: {body}");
        assert_eq!(body["startedEventId"], 0, "{action}: {body}");
    }
    Ok(())
}

#[tokio::test]
async fn concurrent_pollers_each_get_one_task() -> anyhow::Result<()> {
    let swfd = Swfd::start_with(&["--long-poll-secs", "2"]).await?;
    let client = swfd.client();
    let fx = setup_domain(&client, "fanout").await?;
    for i in 0..3 {
        start_execution(&client, &fx, &format!("fan-{i}"), "").await?;
    }
    let polls = (0..4).map(|_| {
        let (client, fx) = (client.clone(), fx.clone());
        tokio::spawn(async move { poll_decision(&client, &fx).await })
    });
    let mut ids = Vec::new();
    for p in polls {
        let out = p.await??;
        if out.task_token().is_empty() {
            assert!(out.events().is_empty());
        } else {
            let exec = out
                .workflow_execution()
                .expect("a task names its execution");
            ids.push(exec.workflow_id().to_string());
        }
    }
    ids.sort();
    assert_eq!(ids, ["fan-0", "fan-1", "fan-2"]);
    Ok(())
}
