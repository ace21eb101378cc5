//! RedriveExecution through the real wire: `aws-sdk-sfn` against the real `swfd`. An activity fails
//! (no Catch) and the execution fails; RedriveExecution runs the failed Task again with the input it
//! had, the worker now succeeds and the execution SUCCEEDS, its history going on with an
//! `ExecutionRedriven` event; a SUCCEEDED execution is not redrivable (AWS's reason text); in a
//! Parallel only the failed branch runs again; a stopped (ABORTED) execution is redriven; a client
//! token answers again; ListExecutions' `redriveFilter`.

mod sfn_support;

use aws_sdk_sfn::error::ProvideErrorMetadata;
use aws_sdk_sfn::types::{ExecutionRedriveFilter, ExecutionRedriveStatus, ExecutionStatus};
use serde_json::{json, Value};
use sfn_support::*;
use swf_e2e::Swfd;

/// Pass → Task → Succeed.
fn pass_task(act: &str) -> Value {
    json!({"StartAt": "Prepare", "States": {
        "Prepare": {"Type": "Pass", "Result": "prepared", "ResultPath": "$.prep", "Next": "Work"},
        "Work": {"Type": "Task", "Resource": act, "ResultPath": "$.out", "Next": "Done"},
        "Done": {"Type": "Succeed"}}})
}

async fn fail_task(client: &aws_sdk_sfn::Client, token: &str) -> anyhow::Result<()> {
    fail(client, token, "Flaky", "the first attempt broke").await?;
    Ok(())
}

#[tokio::test]
async fn failed_activity_redriven_then_succeeds() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let client = sfn_client(&swfd);
    let act = activity(&client, "flaky").await?;
    let sm = machine(&client, "redrive-task", &pass_task(&act)).await?;
    let exec = start(&client, &sm, "run-1", r#"{"n":1}"#).await?;
    let (first_token, first_input) = take(&client, &act).await?;
    fail_task(&client, &first_token).await?;
    assert_eq!(wait_closed(&client, &exec).await?, ExecutionStatus::Failed);
    let d = client
        .describe_execution()
        .execution_arn(&exec)
        .send()
        .await?;
    assert_eq!(d.redrive_count(), Some(0));
    assert_eq!(
        d.redrive_status(),
        Some(&ExecutionRedriveStatus::Redrivable)
    );
    assert_eq!(d.redrive_status_reason(), None);
    assert!(d.redrive_date().is_none());
    let before = history(&client, &exec).await?.len();

    let r = client
        .redrive_execution()
        .execution_arn(&exec)
        .send()
        .await?;
    let d = client
        .describe_execution()
        .execution_arn(&exec)
        .send()
        .await?;
    assert_eq!(d.status(), &ExecutionStatus::Running);
    assert_eq!(d.redrive_count(), Some(1));
    assert_eq!(d.redrive_date(), Some(r.redrive_date()));
    assert_eq!(
        d.redrive_status(),
        Some(&ExecutionRedriveStatus::NotRedrivable)
    );
    assert_eq!(
        d.redrive_status_reason(),
        Some("Execution is RUNNING and cannot be redriven")
    );
    assert!(d.stop_date().is_none() && d.error().is_none());

    // The worker gets the Task again with the same input; the old token stays dead.
    let (token, input) = take(&client, &act).await?;
    assert_eq!(input, first_input);
    let late = client
        .send_task_success()
        .task_token(&first_token)
        .output("{}")
        .send()
        .await;
    assert_eq!(code(late), "TaskDoesNotExist");
    succeed(&client, &token, r#"{"ok":true}"#).await?;
    assert_eq!(
        wait_closed(&client, &exec).await?,
        ExecutionStatus::Succeeded
    );
    let d = client
        .describe_execution()
        .execution_arn(&exec)
        .send()
        .await?;
    assert_eq!(
        d.output(),
        Some(r#"{"n":1,"prep":"prepared","out":{"ok":true}}"#)
    );
    assert_eq!(d.redrive_count(), Some(1));

    // The history goes on (ids without a gap, checked by `history`): the Pass state is not run
    // again.
    let events = history(&client, &exec).await?;
    let t = types(&events);
    assert_eq!(
        t[before..],
        [
            "ExecutionRedriven",
            "TaskStateEntered",
            "ActivityScheduled",
            "ActivityStarted",
            "ActivitySucceeded",
            "TaskStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(t.iter().filter(|x| *x == "PassStateEntered").count(), 1);
    let redriven = &events[before];
    assert_eq!(
        redriven
            .execution_redriven_event_details()
            .and_then(|x| x.redrive_count()),
        Some(1)
    );
    assert_eq!(redriven.previous_event_id(), before as i64);

    // A SUCCEEDED execution cannot be redriven: ExecutionNotRedrivable with AWS's reason text (the
    // DescribeExecution redriveStatusReason AWS documents for it; a Distributed Map result file
    // recorded in the AWS docs shows the same text for a SUCCEEDED child execution).
    let err = client
        .redrive_execution()
        .execution_arn(&exec)
        .send()
        .await
        .unwrap_err();
    let err = err.into_service_error();
    assert!(err.is_execution_not_redrivable(), "{err:?}");
    assert_eq!(
        err.message(),
        Some("Execution is SUCCEEDED and cannot be redriven")
    );
    let d = client
        .describe_execution()
        .execution_arn(&exec)
        .send()
        .await?;
    assert_eq!(
        d.redrive_status_reason(),
        Some("Execution is SUCCEEDED and cannot be redriven")
    );
    // Unknown execution.
    let missing = client
        .redrive_execution()
        .execution_arn(format!("{ARN_PREFIX}execution:redrive-task:nope"))
        .send()
        .await;
    assert_eq!(code(missing), "ExecutionDoesNotExist");
    Ok(())
}

#[tokio::test]
async fn parallel_reruns_only_the_failed_branch() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let client = sfn_client(&swfd);
    let good = activity(&client, "good").await?;
    let bad = activity(&client, "bad").await?;
    let branch = |state: &str, act: &str| json!({"StartAt": state, "States": {state: {"Type": "Task", "Resource": act, "End": true}}});
    let def = json!({"StartAt": "Both", "States": {"Both": {"Type": "Parallel", "End": true,
        "Branches": [branch("Good", &good), branch("Bad", &bad)]}}});
    let sm = machine(&client, "redrive-parallel", &def).await?;
    let exec = start(&client, &sm, "par", r#"{"x":1}"#).await?;
    let (g, _) = take(&client, &good).await?;
    succeed(&client, &g, r#""good result""#).await?;
    let (b, _) = take(&client, &bad).await?;
    fail_task(&client, &b).await?;
    assert_eq!(wait_closed(&client, &exec).await?, ExecutionStatus::Failed);
    let before = history(&client, &exec).await?.len();

    client
        .redrive_execution()
        .execution_arn(&exec)
        .send()
        .await?;
    // Only the Bad branch's task comes again.
    let (b, input) = take(&client, &bad).await?;
    assert_eq!(input, r#"{"x":1}"#);
    succeed(&client, &b, r#""bad now good""#).await?;
    assert_eq!(
        wait_closed(&client, &exec).await?,
        ExecutionStatus::Succeeded
    );
    let d = client
        .describe_execution()
        .execution_arn(&exec)
        .send()
        .await?;
    // The Good branch's first result is kept.
    assert_eq!(d.output(), Some(r#"["good result","bad now good"]"#));
    let events = history(&client, &exec).await?;
    let after = types(&events)[before..].to_vec();
    assert_eq!(
        after.iter().filter(|t| *t == "ActivityScheduled").count(),
        1,
        "{after:?}"
    );
    assert_eq!(
        after.iter().filter(|t| *t == "TaskStateEntered").count(),
        1,
        "only the Bad branch's state is entered again: {after:?}"
    );
    Ok(())
}

#[tokio::test]
async fn stopped_execution_redriven_with_a_client_token_and_listed_by_redrive_filter(
) -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let client = sfn_client(&swfd);
    let act = activity(&client, "slow").await?;
    let sm = machine(&client, "redrive-stop", &pass_task(&act)).await?;
    let exec = start(&client, &sm, "stopped", "{}").await?;
    let plain = start(&client, &sm, "plain", "{}").await?;
    let (old, _) = take(&client, &act).await?;
    client
        .stop_execution()
        .execution_arn(&exec)
        .error("Manual")
        .send()
        .await?;
    assert_eq!(wait_closed(&client, &exec).await?, ExecutionStatus::Aborted);

    let first = client
        .redrive_execution()
        .execution_arn(&exec)
        .client_token("redrive-once")
        .send()
        .await?;
    // The same client token: the same answer, not a second redrive.
    let again = client
        .redrive_execution()
        .execution_arn(&exec)
        .client_token("redrive-once")
        .send()
        .await?;
    assert_eq!(again.redrive_date(), first.redrive_date());
    let d = client
        .describe_execution()
        .execution_arn(&exec)
        .send()
        .await?;
    assert_eq!(d.redrive_count(), Some(1));
    assert_eq!(d.status(), &ExecutionStatus::Running);
    // Another token while it runs again: refused.
    let other = client
        .redrive_execution()
        .execution_arn(&exec)
        .client_token("another")
        .send()
        .await;
    assert_eq!(code(other), "ExecutionNotRedrivable");

    let listed = |filter: ExecutionRedriveFilter| {
        let client = client.clone();
        let sm = sm.clone();
        async move {
            let out = client
                .list_executions()
                .state_machine_arn(sm)
                .redrive_filter(filter)
                .send()
                .await?;
            anyhow::Ok(
                out.executions()
                    .iter()
                    .map(|e| {
                        (
                            e.name().to_string(),
                            e.redrive_count(),
                            e.redrive_date().is_some(),
                        )
                    })
                    .collect::<Vec<_>>(),
            )
        }
    };
    assert_eq!(
        listed(ExecutionRedriveFilter::Redriven).await?,
        [("stopped".to_string(), Some(1), true)]
    );
    assert_eq!(
        listed(ExecutionRedriveFilter::NotRedriven).await?,
        [("plain".to_string(), Some(0), false)]
    );
    // The old attempt's token is dead (its execution was stopped: TaskTimedOut, as AWS).
    let late = client
        .send_task_success()
        .task_token(&old)
        .output("{}")
        .send()
        .await;
    assert_eq!(code(late), "TaskTimedOut");
    // Finish both: the plain one's task and the redriven one's new task (in queue order).
    for _ in 0..2 {
        let (t, _) = take(&client, &act).await?;
        succeed(&client, &t, "{}").await?;
    }
    assert_eq!(
        wait_closed(&client, &exec).await?,
        ExecutionStatus::Succeeded
    );
    assert_eq!(
        wait_closed(&client, &plain).await?,
        ExecutionStatus::Succeeded
    );
    Ok(())
}

/// AWS, "Redriving Map Runs": redriving the parent of a failed Distributed Map redrives the same
/// Map Run (`MapRunRedriven`, DescribeMapRun's `redriveCount` / `redriveDate`); only the children
/// that did not succeed run again, each under its own ARN with an `ExecutionRedriven` event; a
/// failed child says `REDRIVABLE_BY_MAP_RUN`.
#[tokio::test]
async fn a_failed_map_run_is_redriven_with_its_parent() -> anyhow::Result<()> {
    let swfd = Swfd::start_with(&["--long-poll-secs", "2"]).await?;
    let client = sfn_client(&swfd);
    let act = activity(&client, "item").await?;
    let def = json!({"StartAt": "Fan", "States": {"Fan": {
        "Type": "Map", "ItemsPath": "$.items", "Label": "fan",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Work",
            "States": {"Work": {"Type": "Task", "Resource": act, "End": true}}
        },
        "End": true}}});
    let sm = machine(&client, "fan", &def).await?;
    let exec = start(&client, &sm, "e", r#"{"items": [1, 2, 3]}"#).await?;
    // Answer the three items: 1 and 3 succeed, then 2 fails (no tolerance: the run fails).
    let mut tasks = Vec::new();
    for _ in 0..3 {
        tasks.push(take(&client, &act).await?);
    }
    for (token, input) in &tasks {
        if input != "2" {
            succeed(&client, token, format!("{{\"r\": {input}}}")).await?;
        }
    }
    let (bad, _) = tasks.iter().find(|(_, i)| i == "2").unwrap();
    fail(&client, bad, "Item.Failed", "item 2").await?;
    assert_eq!(wait_closed(&client, &exec).await?, ExecutionStatus::Failed);
    let run = map_run_of(&client, &exec).await?;
    let d = client.describe_map_run().map_run_arn(&run).send().await?;
    assert_eq!(d.status().as_str(), "FAILED");
    assert_eq!(d.redrive_count(), Some(0));
    let kids = client
        .list_executions()
        .map_run_arn(&run)
        .send()
        .await?
        .executions()
        .to_vec();
    let failed_child = kids
        .iter()
        .find(|k| k.status() == &ExecutionStatus::Failed)
        .unwrap()
        .execution_arn()
        .to_string();
    let fc = client
        .describe_execution()
        .execution_arn(&failed_child)
        .send()
        .await?;
    assert_eq!(
        fc.redrive_status(),
        Some(&ExecutionRedriveStatus::RedrivableByMapRun)
    );

    client
        .redrive_execution()
        .execution_arn(&exec)
        .send()
        .await?;
    let (token, input) = take(&client, &act).await?;
    assert_eq!(input, "2");
    let d = client.describe_map_run().map_run_arn(&run).send().await?;
    assert_eq!(d.status().as_str(), "RUNNING");
    assert_eq!(d.redrive_count(), Some(1));
    assert!(d.redrive_date().is_some());
    assert_eq!(d.item_counts().map(|c| c.succeeded()), Some(2));
    succeed(&client, &token, r#"{"r": 2}"#).await?;
    assert_eq!(
        wait_closed(&client, &exec).await?,
        ExecutionStatus::Succeeded
    );
    let out = client
        .describe_execution()
        .execution_arn(&exec)
        .send()
        .await?
        .output()
        .map(String::from)
        .unwrap_or_default();
    assert_eq!(
        serde_json::from_str::<Value>(&out)?,
        json!([{"r": 1}, {"r": 2}, {"r": 3}])
    );
    let events = history(&client, &exec).await?;
    let redriven = events
        .iter()
        .find_map(|e| e.map_run_redriven_event_details())
        .expect("a MapRunRedriven event");
    assert_eq!(redriven.map_run_arn(), Some(run.as_str()));
    assert_eq!(redriven.redrive_count(), Some(1));
    // Only the failed child ran again.
    for k in &kids {
        let h = history(&client, k.execution_arn()).await?;
        let again = types(&h).contains(&"ExecutionRedriven".to_string());
        assert_eq!(
            again,
            k.execution_arn() == failed_child,
            "{}",
            k.execution_arn()
        );
    }
    Ok(())
}
