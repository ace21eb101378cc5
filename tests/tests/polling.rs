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

#[tokio::test]
async fn task_priority_orders_delivery() -> anyhow::Result<()> {
    let swfd = Swfd::start_with(&["--long-poll-secs", "2"]).await?;
    let client = swfd.client();
    let fx = setup_domain(&client, "prio").await?;
    start_execution(&client, &fx, "prio-wf", "").await?;
    let task = poll_decision(&client, &fx).await?;
    let decisions: Vec<_> = [
        ("low", "1"),
        ("high", "10"),
        ("mid", "5"),
        ("negative", "-3"),
    ]
    .into_iter()
    .map(|(id, p)| {
        aws_sdk_swf::types::Decision::builder()
            .decision_type(aws_sdk_swf::types::DecisionType::ScheduleActivityTask)
            .schedule_activity_task_decision_attributes(
                aws_sdk_swf::types::ScheduleActivityTaskDecisionAttributes::builder()
                    .activity_type(fx.activity_type.clone())
                    .activity_id(id)
                    .task_priority(p)
                    .build()
                    .expect("attributes"),
            )
            .build()
            .expect("decision")
    })
    .collect();
    client
        .respond_decision_task_completed()
        .task_token(task.task_token())
        .set_decisions(Some(decisions))
        .send()
        .await?;
    let mut order = Vec::new();
    for _ in 0..4 {
        order.push(poll_activity(&client, &fx).await?.activity_id().to_string());
    }
    assert_eq!(
        order,
        ["high", "mid", "low", "negative"],
        "higher priority first"
    );
    Ok(())
}

#[tokio::test]
async fn pollers_beyond_the_limit_get_limit_exceeded() -> anyhow::Result<()> {
    use aws_sdk_swf::error::ProvideErrorMetadata;
    let swfd =
        Swfd::start_with(&["--long-poll-secs", "2", "--max-pollers-per-task-list", "2"]).await?;
    let client = swfd.client();
    let fx = setup_domain(&client, "crowd").await?;
    // Three pollers on a list that holds two: exactly one is refused, the two held end empty.
    let polls: Vec<_> = (0..3)
        .map(|_| {
            let c = client.clone();
            let list = fx.activity_task_list();
            tokio::spawn(async move {
                c.poll_for_activity_task()
                    .domain("crowd")
                    .task_list(list)
                    .send()
                    .await
            })
        })
        .collect();
    let (mut held, mut refused) = (0, 0);
    for p in polls {
        match p.await? {
            Ok(out) => {
                assert_eq!(out.task_token(), "", "held polls end empty");
                held += 1;
            }
            Err(e) => {
                assert_eq!(e.code(), Some("LimitExceededFault"));
                refused += 1;
            }
        }
    }
    assert_eq!((held, refused), (2, 1));
    Ok(())
}
