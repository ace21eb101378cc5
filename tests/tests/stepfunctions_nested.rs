//! Nested executions through the real wire (`aws-sdk-sfn` against `swfd`): a parent's
//! `arn:aws:states:::states:startExecution.sync` / `.sync:2` Task running a child that runs an
//! activity, `.waitForTaskToken` completed by SendTaskSuccess with the token the child received,
//! StopExecution of a parent aborting its child, and a nested `.sync` plus a `.waitForTaskToken`
//! callback across kill -9 of the leader of a 3-node cluster.
//!
//! The history events (`TaskScheduled` / `TaskStarted` / `TaskSubmitted` / `TaskSucceeded` with
//! `resourceType` "states" and `resource` "startExecution...") are those AWS records for the
//! integration (localstack's recorded AWS snapshot
//! tests/aws/services/stepfunctions/v2/services/test_sfn_task_service.snapshot.json).

mod sfn_support;

use aws_sdk_sfn::types::ExecutionStatus;
use aws_sdk_sfn::Client;
use serde_json::{json, Value};
use sfn_support::*;
use swf_e2e::{agreed_leader, Swfd};

/// A child machine that hands its input to activity `act` and ends with the activity's output.
fn child_definition(act: &str) -> Value {
    json!({"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": act, "End": true}}})
}

/// A parent machine whose one Task starts `child_sm` with `resource` (after the integration prefix).
fn parent_definition(resource: &str, child_sm: &str, extra: Value) -> Value {
    let mut task = json!({
        "Type": "Task",
        "Resource": format!("arn:aws:states:::states:{resource}"),
        "Parameters": {
            "StateMachineArn": child_sm,
            "Input": {"n.$": "$.n", "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"}
        },
        "End": true
    });
    for (k, v) in extra.as_object().unwrap() {
        task[k] = v.clone();
    }
    json!({"StartAt": "Nested", "States": {"Nested": task}})
}

async fn output(client: &Client, exec: &str) -> anyhow::Result<Value> {
    let d = client
        .describe_execution()
        .execution_arn(exec)
        .send()
        .await?;
    Ok(serde_json::from_str(d.output().unwrap_or("null"))?)
}

/// The ARN of the child a nested task started, from the parent's TaskSubmitted (or TaskSucceeded).
async fn child_of(client: &Client, parent: &str) -> anyhow::Result<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        for e in history(client, parent).await? {
            let out = e
                .task_submitted_event_details()
                .and_then(|d| d.output())
                .or_else(|| e.task_succeeded_event_details().and_then(|d| d.output()));
            if let Some(out) = out {
                let v: Value = serde_json::from_str(out)?;
                return Ok(v["ExecutionArn"].as_str().unwrap_or_default().to_string());
            }
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "the child never started"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn sync_and_sync2_wait_for_a_child_running_an_activity() -> anyhow::Result<()> {
    let swfd = Swfd::start_with(&["--long-poll-secs", "2"]).await?;
    let client = sfn_client(&swfd);
    let act = activity(&client, "add").await?;
    let child = machine(&client, "child", &child_definition(&act)).await?;
    for (resource, parsed) in [
        ("startExecution.sync", false),
        ("startExecution.sync:2", true),
    ] {
        let name = if parsed { "parent2" } else { "parent1" };
        let sm = machine(
            &client,
            name,
            &parent_definition(resource, &child, json!({})),
        )
        .await?;
        let parent = start(&client, &sm, "p", r#"{"n": 41}"#).await?;
        let (token, input) = take(&client, &act).await?;
        // The child's input carries the parent's id, as the parameters asked.
        assert_eq!(
            serde_json::from_str::<Value>(&input)?,
            json!({"n": 41, "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID": parent})
        );
        let child_exec = child_of(&client, &parent).await?;
        assert!(child_exec.starts_with(&format!("{ARN_PREFIX}execution:child:")));
        succeed(&client, &token, r#"{"n": 42}"#).await?;
        assert_eq!(
            wait_closed(&client, &parent).await?,
            ExecutionStatus::Succeeded
        );
        let out = output(&client, &parent).await?;
        assert_eq!(out["ExecutionArn"], json!(child_exec));
        assert_eq!(out["Status"], "SUCCEEDED");
        assert_eq!(out["Input"].as_str().map(|_| ()), Some(()));
        if parsed {
            assert_eq!(out["Output"], json!({"n": 42}));
        } else {
            assert_eq!(out["Output"], json!("{\"n\":42}"));
        }
        let events = history(&client, &parent).await?;
        assert_eq!(
            types(&events),
            [
                "ExecutionStarted",
                "TaskStateEntered",
                "TaskScheduled",
                "TaskStarted",
                "TaskSubmitted",
                "TaskSucceeded",
                "TaskStateExited",
                "ExecutionSucceeded"
            ]
        );
        let scheduled = events[2].task_scheduled_event_details().unwrap();
        assert_eq!(scheduled.resource_type(), "states");
        assert_eq!(scheduled.resource(), resource);
        assert_eq!(scheduled.region(), "us-east-1");
        let params: Value = serde_json::from_str(scheduled.parameters())?;
        assert_eq!(params["StateMachineArn"], json!(child));
        let started = events[3].task_started_event_details().unwrap();
        assert_eq!(started.resource(), resource);
        // The child is an ordinary execution of its state machine.
        let listed = client
            .list_executions()
            .state_machine_arn(&child)
            .send()
            .await?;
        assert!(listed
            .executions()
            .iter()
            .any(|e| e.execution_arn() == child_exec));
    }
    Ok(())
}

#[tokio::test]
async fn wait_for_task_token_is_completed_with_the_token_the_child_received() -> anyhow::Result<()>
{
    let swfd = Swfd::start_with(&["--long-poll-secs", "2"]).await?;
    let client = sfn_client(&swfd);
    let act = activity(&client, "callback").await?;
    let child = machine(&client, "child", &child_definition(&act)).await?;
    let def = json!({"StartAt": "Nested", "States": {"Nested": {
        "Type": "Task",
        "Resource": "arn:aws:states:::states:startExecution.waitForTaskToken",
        "Parameters": {"StateMachineArn": child, "Name": "kid", "Input": {"token.$": "$$.Task.Token"}},
        "HeartbeatSeconds": 600,
        "ResultPath": "$.callback",
        "End": true
    }}});
    let sm = machine(&client, "parent", &def).await?;
    let parent = start(&client, &sm, "p", r#"{"keep": 1}"#).await?;
    let (child_token, input) = take(&client, &act).await?;
    let parent_token = serde_json::from_str::<Value>(&input)?["token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(!parent_token.is_empty());
    // The child ends; the parent still waits for its callback.
    succeed(&client, &child_token, "{}").await?;
    let kid = format!("{ARN_PREFIX}execution:child:kid");
    assert_eq!(
        wait_closed(&client, &kid).await?,
        ExecutionStatus::Succeeded
    );
    let d = client
        .describe_execution()
        .execution_arn(&parent)
        .send()
        .await?;
    assert_eq!(d.status(), &ExecutionStatus::Running);
    client
        .send_task_heartbeat()
        .task_token(&parent_token)
        .send()
        .await?;
    succeed(&client, &parent_token, r#"{"approved": true}"#).await?;
    assert_eq!(
        wait_closed(&client, &parent).await?,
        ExecutionStatus::Succeeded
    );
    assert_eq!(
        output(&client, &parent).await?,
        json!({"keep": 1, "callback": {"approved": true}})
    );
    let kinds = types(&history(&client, &parent).await?);
    assert_eq!(
        kinds[2..],
        [
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    // The task is closed: the token is spent.
    let again = client
        .send_task_success()
        .task_token(&parent_token)
        .output("{}")
        .send()
        .await;
    assert_eq!(code(again), "TaskDoesNotExist");
    Ok(())
}

#[tokio::test]
async fn stopping_the_parent_aborts_its_sync_child() -> anyhow::Result<()> {
    let swfd = Swfd::start_with(&["--long-poll-secs", "2"]).await?;
    let client = sfn_client(&swfd);
    let act = activity(&client, "never").await?;
    let child = machine(&client, "child", &child_definition(&act)).await?;
    let sm = machine(
        &client,
        "parent",
        &parent_definition("startExecution.sync", &child, json!({})),
    )
    .await?;
    let parent = start(&client, &sm, "p", r#"{"n": 1}"#).await?;
    let child_exec = child_of(&client, &parent).await?;
    client
        .stop_execution()
        .execution_arn(&parent)
        .cause("enough")
        .send()
        .await?;
    assert_eq!(
        wait_closed(&client, &parent).await?,
        ExecutionStatus::Aborted
    );
    assert_eq!(
        wait_closed(&client, &child_exec).await?,
        ExecutionStatus::Aborted
    );
    Ok(())
}

#[tokio::test]
async fn nested_sync_and_callback_survive_a_leader_kill() -> anyhow::Result<()> {
    let mut nodes = Swfd::start_cluster(3, &["--long-poll-secs", "3"]).await?;
    let leader = agreed_leader(&nodes.iter().collect::<Vec<_>>(), None).await?;
    let leader_ix = (leader - 1) as usize;
    let followers: Vec<usize> = (0..3).filter(|i| *i != leader_ix).collect();
    let a = sfn_client(&nodes[followers[0]]);
    let act = activity(&a, "ha").await?;
    let child = machine(&a, "child", &child_definition(&act)).await?;
    let sync = machine(
        &a,
        "sync",
        &parent_definition("startExecution.sync:2", &child, json!({})),
    )
    .await?;
    let callback_def = json!({"StartAt": "Nested", "States": {"Nested": {
        "Type": "Task",
        "Resource": "arn:aws:states:::states:startExecution.waitForTaskToken",
        "Parameters": {"StateMachineArn": child, "Input": {"n": 7, "token.$": "$$.Task.Token"}},
        "End": true
    }}});
    let callback = machine(&a, "callback", &callback_def).await?;
    let p1 = start(&a, &sync, "p1", r#"{"n": 1}"#).await?;
    let p2 = start(&a, &callback, "p2", "{}").await?;
    // Both children run their activity: take both tasks before the kill.
    let mut sync_token = None;
    let mut parent_token = None;
    let mut callback_child_token = None;
    for _ in 0..2 {
        let (token, input) = take(&a, &act).await?;
        let input: Value = serde_json::from_str(&input)?;
        match input["token"].as_str() {
            Some(t) => {
                parent_token = Some(t.to_string());
                callback_child_token = Some(token);
            }
            None => sync_token = Some(token),
        }
    }
    let (sync_token, parent_token, callback_child_token) = (
        sync_token.unwrap(),
        parent_token.unwrap(),
        callback_child_token.unwrap(),
    );

    nodes[leader_ix].kill9();
    let survivors: Vec<&Swfd> = followers.iter().map(|i| &nodes[*i]).collect();
    let new_leader = agreed_leader(&survivors, Some(leader)).await?;
    assert_ne!(new_leader, leader);
    let b = sfn_client(survivors[1]);
    // The child's task token and the parent's `$$.Task.Token`, both handed out by the dead leader,
    // still work through a survivor.
    b.send_task_success()
        .task_token(&sync_token)
        .output(r#"{"done": 1}"#)
        .send()
        .await?;
    assert_eq!(wait_closed(&b, &p1).await?, ExecutionStatus::Succeeded);
    assert_eq!(output(&b, &p1).await?["Output"], json!({"done": 1}));
    b.send_task_success()
        .task_token(&callback_child_token)
        .output("{}")
        .send()
        .await?;
    b.send_task_success()
        .task_token(&parent_token)
        .output(r#"{"done": 2}"#)
        .send()
        .await?;
    assert_eq!(wait_closed(&b, &p2).await?, ExecutionStatus::Succeeded);
    assert_eq!(output(&b, &p2).await?, json!({"done": 2}));
    for p in [&p1, &p2] {
        let kinds = types(&history(&b, p).await?);
        assert_eq!(kinds.last().map(String::as_str), Some("ExecutionSucceeded"));
    }
    Ok(())
}

/// A Distributed Map of 20 items, one child execution each running an activity, MaxConcurrency 5
/// raised to 10 by UpdateMapRun, two failures within ToleratedFailureCount; the MapRun APIs and
/// ListExecutions by `mapRunArn` along the way.
#[tokio::test]
async fn distributed_map_of_twenty_items_with_the_map_run_apis() -> anyhow::Result<()> {
    let swfd = Swfd::start_with(&["--long-poll-secs", "2"]).await?;
    let client = sfn_client(&swfd);
    let act = activity(&client, "item").await?;
    let def = json!({"StartAt": "Fan", "States": {"Fan": {
        "Type": "Map",
        "ItemsPath": "$.items",
        "MaxConcurrency": 5,
        "ToleratedFailureCount": 2,
        "Label": "fan",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Work",
            "States": {"Work": {"Type": "Task", "Resource": act, "End": true}}
        },
        "End": true
    }}});
    let sm = machine(&client, "fan", &def).await?;
    let items: Vec<Value> = (0..20)
        .map(|i| json!({"i": i, "fail": i == 2 || i == 7}))
        .collect();
    let exec = start(&client, &sm, "e", &json!({ "items": items }).to_string()).await?;

    // The run's ARN, from MapRunStarted.
    let run = map_run_of(&client, &exec).await?;
    assert!(
        run.starts_with(&format!("{ARN_PREFIX}mapRun:fan/fan:")),
        "{run}"
    );
    let running = |client: Client, run: String| async move {
        let d = client.describe_map_run().map_run_arn(&run).send().await?;
        anyhow::Ok((d.item_counts().map(|c| c.running()).unwrap_or(-1), d))
    };
    // Five children run at once, never more.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while running(client.clone(), run.clone()).await?.0 < 5 {
        anyhow::ensure!(std::time::Instant::now() < deadline, "five never ran");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (_, d) = running(client.clone(), run.clone()).await?;
    assert_eq!(d.execution_arn(), exec);
    assert_eq!(d.max_concurrency(), 5);
    assert_eq!(d.tolerated_failure_count(), 2);
    assert_eq!(d.item_counts().map(|c| c.total()), Some(20));

    let mut done = 0;
    let answer = |token: String, input: String| {
        let client = client.clone();
        async move {
            let v: Value = serde_json::from_str(&input)?;
            if v["fail"] == json!(true) {
                fail(&client, &token, "Item.Failed", format!("item {}", v["i"])).await?;
            } else {
                succeed(&client, &token, json!({"done": v["i"]}).to_string()).await?;
            }
            anyhow::Ok(())
        }
    };
    for _ in 0..5 {
        let (token, input) = take(&client, &act).await?;
        let (now_running, _) = running(client.clone(), run.clone()).await?;
        assert!(now_running <= 5, "{now_running} children running");
        answer(token, input).await?;
        done += 1;
    }
    // UpdateMapRun raises the limit: ten run at once.
    client
        .update_map_run()
        .map_run_arn(&run)
        .max_concurrency(10)
        .send()
        .await?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (now_running, d) = running(client.clone(), run.clone()).await?;
        assert!(now_running <= 10);
        if now_running == 10 {
            assert_eq!(d.max_concurrency(), 10);
            break;
        }
        anyhow::ensure!(std::time::Instant::now() < deadline, "ten never ran");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    while done < 20 {
        let (token, input) = take(&client, &act).await?;
        answer(token, input).await?;
        done += 1;
    }
    assert_eq!(
        wait_closed(&client, &exec).await?,
        ExecutionStatus::Succeeded
    );
    let out = output(&client, &exec).await?;
    let out = out.as_array().cloned().unwrap_or_default();
    assert_eq!(out.len(), 20);
    for (i, o) in out.iter().enumerate() {
        if i == 2 || i == 7 {
            assert_eq!(o["Error"], "Item.Failed");
        } else {
            assert_eq!(o, &json!({"done": i}));
        }
    }
    let (_, d) = running(client.clone(), run.clone()).await?;
    assert_eq!(d.status().as_str(), "SUCCEEDED");
    let counts = d.item_counts().unwrap();
    assert_eq!((counts.succeeded(), counts.failed()), (18, 2));
    assert!(d.stop_date().is_some());
    // ListMapRuns of the execution, and the run's children by ListExecutions.
    let runs = client.list_map_runs().execution_arn(&exec).send().await?;
    assert_eq!(runs.map_runs().len(), 1);
    assert_eq!(runs.map_runs()[0].map_run_arn(), run);
    assert_eq!(
        runs.map_runs()[0].state_machine_arn(),
        format!("{ARN_PREFIX}stateMachine:fan/fan")
    );
    let mut children = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .list_executions()
            .map_run_arn(&run)
            .max_results(7)
            .set_next_token(token)
            .send()
            .await?;
        children.extend(page.executions().iter().cloned());
        token = page.next_token().map(String::from);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(children.len(), 20);
    assert!(children
        .iter()
        .all(|c| c.map_run_arn() == Some(run.as_str())));
    assert_eq!(
        children
            .iter()
            .filter(|c| c.status() == &ExecutionStatus::Failed)
            .count(),
        2
    );
    let kinds = types(&history(&client, &exec).await?);
    assert_eq!(
        kinds,
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapRunStarted",
            "MapRunSucceeded",
            "MapStateSucceeded",
            "MapStateExited",
            "ExecutionSucceeded"
        ]
    );
    // Unknown runs: ResourceNotFound.
    let missing = client
        .describe_map_run()
        .map_run_arn(format!(
            "{ARN_PREFIX}mapRun:fan/fan:00000000-0000-4000-8000-000000000000"
        ))
        .send()
        .await;
    assert_eq!(code(missing), "ResourceNotFound");
    Ok(())
}
