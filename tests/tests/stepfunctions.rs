//! AWS Step Functions through the real wire: `aws-sdk-sfn` against the real `swfd`. An activity
//! worker runs Pass → Task(activity) → Choice → Succeed with a heartbeat; a heartbeat timeout;
//! Retry then Catch; StopExecution while a task runs (a late SendTaskSuccess gets TaskTimedOut);
//! Parallel and Map over activities; the control plane (activities, state machines, tags, lists and
//! pages); a restart of swfd mid-execution keeps the execution and the task token.

mod sfn_support;

use aws_sdk_sfn::types::{ExecutionStatus, Tag};
use serde_json::{json, Value};
use sfn_support::*;
use swf_e2e::Swfd;

fn task_then_choice(act: &str) -> Value {
    json!({
        "Comment": "Pass -> Task -> Choice -> Succeed",
        "StartAt": "Prepare",
        "States": {
            "Prepare": {"Type": "Pass", "Result": {"greeting": "hello"}, "ResultPath": "$.prep", "Next": "Work"},
            "Work": {"Type": "Task", "Resource": act, "HeartbeatSeconds": 30, "ResultPath": "$.result", "Next": "Decide"},
            "Decide": {"Type": "Choice", "Choices": [
                {"Variable": "$.result.ok", "BooleanEquals": true, "Next": "Done"}
            ], "Default": "Bad"},
            "Done": {"Type": "Succeed"},
            "Bad": {"Type": "Fail", "Error": "NotOk", "Cause": "the worker said no"}
        }
    })
}

#[tokio::test]
async fn worker_runs_pass_task_choice_succeed() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let client = sfn_client(&swfd);
    let act = activity(&client, "greeter").await?;
    assert_eq!(act, format!("{ARN_PREFIX}activity:greeter"));
    let sm = machine(&client, "hello", &task_then_choice(&act)).await?;
    assert_eq!(sm, format!("{ARN_PREFIX}stateMachine:hello"));

    // The worker polls first: its poll is held until the execution schedules the task.
    let worker = {
        let (client, act) = (client.clone(), act.clone());
        tokio::spawn(async move {
            let (token, input) = take(&client, &act).await?;
            let input: Value = serde_json::from_str(&input)?;
            client
                .send_task_heartbeat()
                .task_token(&token)
                .send()
                .await?;
            let output = json!({"ok": true, "echo": input["prep"]["greeting"]});
            succeed(&client, &token, output.to_string()).await?;
            anyhow::Ok(input)
        })
    };
    let exec = start(&client, &sm, "run-1", r#"{"who":"world"}"#).await?;
    assert_eq!(exec, format!("{ARN_PREFIX}execution:hello:run-1"));
    let input = worker.await??;
    assert_eq!(
        input,
        json!({"who": "world", "prep": {"greeting": "hello"}})
    );
    assert_eq!(
        wait_closed(&client, &exec).await?,
        ExecutionStatus::Succeeded
    );

    let d = client
        .describe_execution()
        .execution_arn(&exec)
        .send()
        .await?;
    assert_eq!(d.name(), Some("run-1"));
    assert_eq!(d.state_machine_arn(), sm);
    assert!(d.stop_date().is_some());
    let out: Value = serde_json::from_str(d.output().unwrap_or("null"))?;
    assert_eq!(out["result"], json!({"ok": true, "echo": "hello"}));

    let events = history(&client, &exec).await?;
    assert_eq!(
        types(&events),
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "TaskStateEntered",
            "ActivityScheduled",
            "ActivityStarted",
            "ActivitySucceeded",
            "TaskStateExited",
            "ChoiceStateEntered",
            "ChoiceStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded",
        ]
    );
    let scheduled = events[4]
        .activity_scheduled_event_details()
        .expect("details");
    assert_eq!(scheduled.resource(), act);
    assert_eq!(scheduled.heartbeat_in_seconds(), Some(30));
    let started = events[5].activity_started_event_details().expect("details");
    assert_eq!(started.worker_name(), Some("e2e-worker"));
    let entered = events[3].state_entered_event_details().expect("details");
    assert_eq!(entered.name(), "Work");

    // Newest first, filtered, paged; the history backwards without data.
    let second = start(&client, &sm, "run-2", "{}").await?;
    let list = client
        .list_executions()
        .state_machine_arn(&sm)
        .max_results(1)
        .send()
        .await?;
    assert_eq!(list.executions()[0].execution_arn(), second);
    let next = client
        .list_executions()
        .state_machine_arn(&sm)
        .max_results(1)
        .set_next_token(list.next_token().map(String::from))
        .send()
        .await?;
    assert_eq!(next.executions()[0].execution_arn(), exec);
    let running = client
        .list_executions()
        .state_machine_arn(&sm)
        .status_filter(ExecutionStatus::Running)
        .send()
        .await?;
    assert_eq!(running.executions().len(), 1);
    let back = client
        .get_execution_history()
        .execution_arn(&exec)
        .reverse_order(true)
        .include_execution_data(false)
        .max_results(1)
        .send()
        .await?;
    let last = &back.events()[0];
    assert_eq!(last.r#type().as_str(), "ExecutionSucceeded");
    let details = last.execution_succeeded_event_details().expect("details");
    assert_eq!(details.output(), None);
    let for_exec = client
        .describe_state_machine_for_execution()
        .execution_arn(&exec)
        .send()
        .await?;
    assert_eq!(for_exec.name(), "hello");
    assert_eq!(for_exec.definition(), task_then_choice(&act).to_string());
    Ok(())
}

#[tokio::test]
async fn heartbeat_timeout_then_late_success_is_task_timed_out() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let client = sfn_client(&swfd);
    let act = activity(&client, "slow").await?;
    let def = json!({"StartAt": "W", "States": {
        "W": {"Type": "Task", "Resource": act, "HeartbeatSeconds": 1, "TimeoutSeconds": 60, "End": true}
    }});
    let sm = machine(&client, "hb", &def).await?;
    let exec = start(&client, &sm, "e", "{}").await?;
    let (token, _) = take(&client, &act).await?;
    // No heartbeat: the heartbeat timeout fires (a durable deadline).
    assert_eq!(wait_closed(&client, &exec).await?, ExecutionStatus::Failed);
    let d = client
        .describe_execution()
        .execution_arn(&exec)
        .send()
        .await?;
    assert_eq!(d.error(), Some("States.HeartbeatTimeout"));
    let events = history(&client, &exec).await?;
    let timed_out = events
        .iter()
        .find(|e| e.r#type().as_str() == "ActivityTimedOut")
        .expect("ActivityTimedOut");
    assert_eq!(
        timed_out
            .activity_timed_out_event_details()
            .and_then(|d| d.error()),
        Some("States.HeartbeatTimeout")
    );
    let late = client
        .send_task_success()
        .task_token(&token)
        .output("{}")
        .send()
        .await;
    assert_eq!(code(late), "TaskTimedOut");
    let late = client.send_task_heartbeat().task_token(&token).send().await;
    assert_eq!(code(late), "TaskTimedOut");
    Ok(())
}

#[tokio::test]
async fn retry_then_catch() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let client = sfn_client(&swfd);
    let act = activity(&client, "flaky").await?;
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": act, "End": true,
              "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 1, "BackoffRate": 2.0}],
              "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Recover"}]},
        "Recover": {"Type": "Pass", "End": true}
    }});
    let sm = machine(&client, "retry", &def).await?;
    let exec = start(&client, &sm, "e", r#"{"n":1}"#).await?;
    for _ in 0..2 {
        let (token, _) = take(&client, &act).await?;
        fail(&client, &token, "Flaky", "try again").await?;
    }
    assert_eq!(
        wait_closed(&client, &exec).await?,
        ExecutionStatus::Succeeded
    );
    let d = client
        .describe_execution()
        .execution_arn(&exec)
        .send()
        .await?;
    let out: Value = serde_json::from_str(d.output().unwrap_or("null"))?;
    assert_eq!(
        out,
        json!({"n": 1, "error": {"Error": "Flaky", "Cause": "try again"}})
    );
    let kinds = types(&history(&client, &exec).await?);
    assert_eq!(kinds.iter().filter(|k| *k == "ActivityFailed").count(), 2);
    assert_eq!(
        kinds.iter().filter(|k| *k == "ActivityScheduled").count(),
        2
    );
    assert_eq!(kinds.last().map(String::as_str), Some("ExecutionSucceeded"));
    Ok(())
}

#[tokio::test]
async fn stop_while_a_task_runs() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let client = sfn_client(&swfd);
    let act = activity(&client, "long").await?;
    let def =
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": act, "End": true}}});
    let sm = machine(&client, "stoppable", &def).await?;
    let exec = start(&client, &sm, "e", "{}").await?;
    let (token, _) = take(&client, &act).await?;
    let stopped = client
        .stop_execution()
        .execution_arn(&exec)
        .error("Operator")
        .cause("no longer needed")
        .send()
        .await?;
    let d = client
        .describe_execution()
        .execution_arn(&exec)
        .send()
        .await?;
    assert_eq!(d.status(), &ExecutionStatus::Aborted);
    assert_eq!(d.stop_date(), Some(stopped.stop_date()));
    assert_eq!(
        (d.error(), d.cause()),
        (Some("Operator"), Some("no longer needed"))
    );
    let events = history(&client, &exec).await?;
    assert_eq!(
        types(&events).last().map(String::as_str),
        Some("ExecutionAborted")
    );
    let late = client
        .send_task_success()
        .task_token(&token)
        .output("{}")
        .send()
        .await;
    assert_eq!(code(late), "TaskTimedOut");
    let late = client.send_task_failure().task_token(&token).send().await;
    assert_eq!(code(late), "TaskTimedOut");
    Ok(())
}

#[tokio::test]
async fn parallel_and_map_over_activities() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let client = sfn_client(&swfd);
    let act = activity(&client, "square").await?;
    let def = json!({"StartAt": "Fan", "States": {
        "Fan": {"Type": "Parallel", "Next": "Each", "ResultPath": "$.parallel", "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": act, "Parameters": {"n": 10}, "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": act, "Parameters": {"n": 20}, "End": true}}}
        ]},
        "Each": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2, "ResultPath": "$.squares",
                 "ItemSelector": {"n.$": "$$.Map.Item.Value"},
                 "ItemProcessor": {"StartAt": "Sq", "States": {"Sq": {"Type": "Task", "Resource": act, "End": true}}},
                 "End": true}
    }});
    let sm = machine(&client, "fan", &def).await?;
    let exec = start(&client, &sm, "e", r#"{"items":[1,2,3]}"#).await?;
    // The worker squares whatever comes, until the execution ends.
    let worker = {
        let (client, act) = (client.clone(), act.clone());
        tokio::spawn(async move {
            let mut served = 0;
            while served < 5 {
                let (token, input) = take(&client, &act).await?;
                let n = serde_json::from_str::<Value>(&input)?["n"]
                    .as_i64()
                    .unwrap_or(0);
                succeed(&client, &token, (n * n).to_string()).await?;
                served += 1;
            }
            anyhow::Ok(served)
        })
    };
    assert_eq!(
        wait_closed(&client, &exec).await?,
        ExecutionStatus::Succeeded
    );
    assert_eq!(worker.await??, 5);
    let d = client
        .describe_execution()
        .execution_arn(&exec)
        .send()
        .await?;
    let out: Value = serde_json::from_str(d.output().unwrap_or("null"))?;
    assert_eq!(out["parallel"], json!([100, 400]));
    assert_eq!(out["squares"], json!([1, 4, 9]));
    let kinds = types(&history(&client, &exec).await?);
    for k in [
        "ParallelStateStarted",
        "ParallelStateSucceeded",
        "MapStateStarted",
        "MapIterationSucceeded",
        "MapStateSucceeded",
    ] {
        assert!(kinds.iter().any(|x| x == k), "{k} missing from {kinds:?}");
    }
    Ok(())
}

#[tokio::test]
async fn control_plane_activities_machines_tags() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let client = sfn_client(&swfd);
    let first = client.create_activity().name("a1").send().await?;
    let again = client.create_activity().name("a1").send().await?;
    assert_eq!(first.activity_arn(), again.activity_arn());
    assert_eq!(first.creation_date(), again.creation_date());
    activity(&client, "a2").await?;
    activity(&client, "a3").await?;
    let page = client.list_activities().max_results(2).send().await?;
    assert_eq!(page.activities().len(), 2);
    let rest = client
        .list_activities()
        .set_next_token(page.next_token().map(String::from))
        .send()
        .await?;
    assert_eq!(rest.activities().len(), 1);
    assert_eq!(rest.next_token(), None);
    let d = client
        .describe_activity()
        .activity_arn(first.activity_arn())
        .send()
        .await?;
    assert_eq!(d.name(), "a1");
    for _ in 0..2 {
        client
            .delete_activity()
            .activity_arn(first.activity_arn())
            .send()
            .await?;
    }
    let gone = client
        .describe_activity()
        .activity_arn(first.activity_arn())
        .send()
        .await;
    assert_eq!(code(gone), "ActivityDoesNotExist");

    let act = format!("{ARN_PREFIX}activity:a2");
    let def =
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": act, "End": true}}});
    let sm = machine(&client, "m1", &def).await?;
    let d = client
        .describe_state_machine()
        .state_machine_arn(&sm)
        .send()
        .await?;
    assert_eq!(
        (d.name(), d.role_arn(), d.r#type().as_str()),
        ("m1", ROLE, "STANDARD")
    );
    assert_eq!(d.definition(), def.to_string());
    let def2 = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    client
        .update_state_machine()
        .state_machine_arn(&sm)
        .definition(def2.to_string())
        .send()
        .await?;
    let d = client
        .describe_state_machine()
        .state_machine_arn(&sm)
        .send()
        .await?;
    assert_eq!(d.definition(), def2.to_string());
    let listed = client.list_state_machines().send().await?;
    assert_eq!(listed.state_machines().len(), 1);

    // Tags: the colliding action names reach Step Functions, not SWF.
    client
        .tag_resource()
        .resource_arn(&sm)
        .tags(Tag::builder().key("team").value("core").build())
        .send()
        .await?;
    let tags = client
        .list_tags_for_resource()
        .resource_arn(&sm)
        .send()
        .await?;
    assert_eq!(tags.tags().len(), 1);
    assert_eq!(tags.tags()[0].key(), Some("team"));
    client
        .untag_resource()
        .resource_arn(&sm)
        .tag_keys("team")
        .send()
        .await?;
    let tags = client
        .list_tags_for_resource()
        .resource_arn(&sm)
        .send()
        .await?;
    assert!(tags.tags().is_empty());

    let ok = client
        .validate_state_machine_definition()
        .definition(def2.to_string())
        .send()
        .await?;
    assert_eq!(ok.result().as_str(), "OK");
    let bad = json!({"StartAt": "X", "States": {"P": {"Type": "Pass", "End": true}}});
    let v = client
        .validate_state_machine_definition()
        .definition(bad.to_string())
        .send()
        .await?;
    assert_eq!(v.result().as_str(), "FAIL");
    assert!(!v.diagnostics().is_empty());

    client
        .delete_state_machine()
        .state_machine_arn(&sm)
        .send()
        .await?;
    let gone = client
        .describe_state_machine()
        .state_machine_arn(&sm)
        .send()
        .await;
    assert_eq!(code(gone), "StateMachineDoesNotExist");
    Ok(())
}

#[tokio::test]
async fn restart_keeps_the_execution_and_its_token() -> anyhow::Result<()> {
    let mut swfd = Swfd::start().await?;
    let client = sfn_client(&swfd);
    let act = activity(&client, "durable").await?;
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": act, "Next": "W"},
        "W": {"Type": "Wait", "Seconds": 1, "End": true}
    }});
    let sm = machine(&client, "durable", &def).await?;
    let exec = start(&client, &sm, "e", r#"{"k":"v"}"#).await?;
    let (token, input) = take(&client, &act).await?;
    assert_eq!(serde_json::from_str::<Value>(&input)?, json!({"k": "v"}));

    swfd.restart().await?;
    let client = sfn_client(&swfd);
    client
        .send_task_heartbeat()
        .task_token(&token)
        .send()
        .await?;
    succeed(&client, &token, r#"{"done":true}"#).await?;
    // The Wait state's deadline is durable too; restart again while it is armed.
    swfd.restart().await?;
    let client = sfn_client(&swfd);
    assert_eq!(
        wait_closed(&client, &exec).await?,
        ExecutionStatus::Succeeded
    );
    let kinds = types(&history(&client, &exec).await?);
    assert!(kinds.contains(&"WaitStateExited".to_string()), "{kinds:?}");
    Ok(())
}
