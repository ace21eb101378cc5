//! EXPRESS state machines through `aws-sdk-sfn` against the real `swfd`: StartSyncExecution of a
//! Choice / Pass machine answering its output and billing details, of a failing machine answering
//! FAILED with the error and cause, of a machine with a Wait state (the close comes in a later log
//! entry), of one timing out (TIMED_OUT), with `includedData: METADATA_ONLY`; StartSyncExecution on
//! STANDARD or on a missing state machine refused; the create-time refusal of an activity Task;
//! asynchronous Express executions and the execution APIs' refusals of them; and, on a 3-node
//! cluster, StartSyncExecution sent to a follower, answered even though the leader is killed -9
//! while the execution runs. What AWS answers is as recorded from the real service (localstack's
//! tests/aws/services/stepfunctions/v2/test_sfn_api_express.snapshot.json). The SDK's `sync-` host
//! prefix is undone by the client (`sfn_sync_client`), as users of a custom endpoint do.

mod sfn_support;

use std::time::{Duration, Instant};

use aws_sdk_sfn::error::ProvideErrorMetadata;
use aws_sdk_sfn::types::{
    CloudWatchLogsLogGroup, LogDestination, LogLevel, LoggingConfiguration, StateMachineType,
    SyncExecutionStatus, TracingConfiguration,
};
use serde_json::{json, Value};
use sfn_support::*;
use swf_e2e::{agreed_leader, Swfd};

async fn express(client: &aws_sdk_sfn::Client, name: &str, definition: &Value) -> String {
    client
        .create_state_machine()
        .name(name)
        .r#type(StateMachineType::Express)
        .definition(definition.to_string())
        .role_arn(ROLE)
        .send()
        .await
        .expect("create an EXPRESS state machine")
        .state_machine_arn()
        .to_string()
}

fn parsed(text: Option<&str>) -> Value {
    serde_json::from_str(text.expect("JSON text")).expect("JSON")
}

#[tokio::test]
async fn express_machines_sync_and_async() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let client = sfn_sync_client(&swfd);
    let choose = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 3, "Next": "Big"}],
              "Default": "Small"},
        "Big": {"Type": "Pass", "Result": "big", "ResultPath": "$.size", "End": true},
        "Small": {"Type": "Pass", "Result": "small", "ResultPath": "$.size", "End": true}
    }});
    let sm = express(&client, "choose", &choose).await;
    let d = client
        .describe_state_machine()
        .state_machine_arn(&sm)
        .send()
        .await?;
    assert_eq!(d.r#type(), &StateMachineType::Express);
    // The logging and tracing configurations are echoed as given.
    let group = "arn:aws:logs:us-east-1:000000000000:log-group:sfn:*";
    let logged = client
        .create_state_machine()
        .name("logged")
        .r#type(StateMachineType::Express)
        .definition(choose.to_string())
        .role_arn(ROLE)
        .logging_configuration(
            LoggingConfiguration::builder()
                .level(LogLevel::Error)
                .include_execution_data(true)
                .destinations(
                    LogDestination::builder()
                        .cloud_watch_logs_log_group(
                            CloudWatchLogsLogGroup::builder()
                                .log_group_arn(group)
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .tracing_configuration(TracingConfiguration::builder().enabled(true).build())
        .send()
        .await?;
    let d = client
        .describe_state_machine()
        .state_machine_arn(logged.state_machine_arn())
        .send()
        .await?;
    let l = d.logging_configuration().expect("loggingConfiguration");
    assert_eq!(
        (l.level(), l.include_execution_data()),
        (Some(&LogLevel::Error), true)
    );
    assert_eq!(
        l.destinations()[0]
            .cloud_watch_logs_log_group()
            .and_then(|g| g.log_group_arn()),
        Some(group)
    );
    assert_eq!(d.tracing_configuration().map(|t| t.enabled()), Some(true));
    let listed = client.list_state_machines().send().await?;
    assert!(listed
        .state_machines()
        .iter()
        .all(|m| m.r#type() == &StateMachineType::Express));

    let out = client
        .start_sync_execution()
        .state_machine_arn(&sm)
        .name("sync-1")
        .input(r#"{"n": 5}"#)
        .trace_header("Root=1-5759e988-bd862e3fe1be46a994272793")
        .send()
        .await?;
    assert_eq!(
        out.trace_header(),
        Some("Root=1-5759e988-bd862e3fe1be46a994272793")
    );
    assert_eq!(out.status(), &SyncExecutionStatus::Succeeded);
    assert_eq!(parsed(out.output()), json!({"n": 5, "size": "big"}));
    assert_eq!(parsed(out.input()), json!({"n": 5}));
    assert_eq!(out.name(), Some("sync-1"));
    assert_eq!(out.state_machine_arn(), Some(sm.as_str()));
    let prefix = format!("{ARN_PREFIX}express:choose:sync-1:");
    assert!(out.execution_arn().starts_with(&prefix), "{out:?}");
    assert!(out.stop_date() >= out.start_date());
    assert_eq!(out.input_details().map(|d| d.included()), Some(true));
    assert_eq!(out.output_details().map(|d| d.included()), Some(true));
    // AWS answered 64 MB and 100 ms for a small execution (recorded).
    let billing = out.billing_details().expect("billingDetails");
    assert_eq!(billing.billed_memory_used_in_mb(), 64);
    assert_eq!(billing.billed_duration_in_milliseconds() % 100, 0);
    assert!(billing.billed_duration_in_milliseconds() >= 100);
    assert!(out.error().is_none() && out.cause().is_none());

    // A failing machine answers 200 with FAILED and the error and cause.
    let fail = json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "it broke"}}});
    let failing = express(&client, "failing", &fail).await;
    let out = client
        .start_sync_execution()
        .state_machine_arn(&failing)
        .send()
        .await?;
    assert_eq!(out.status(), &SyncExecutionStatus::Failed);
    assert_eq!((out.error(), out.cause()), (Some("Boom"), Some("it broke")));
    assert!(out.output().is_none());

    // A Wait state: the close is applied in a later entry than the start.
    let wait = json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 1, "Next": "P"},
        "P": {"Type": "Pass", "Result": {"waited": true}, "End": true}}});
    let waiting = express(&client, "waiting", &wait).await;
    let t0 = Instant::now();
    let out = client
        .start_sync_execution()
        .state_machine_arn(&waiting)
        .input("{}")
        .send()
        .await?;
    assert_eq!(out.status(), &SyncExecutionStatus::Succeeded);
    assert_eq!(parsed(out.output()), json!({"waited": true}));
    assert!(t0.elapsed() >= Duration::from_secs(1));
    assert!(
        out.billing_details()
            .unwrap()
            .billed_duration_in_milliseconds()
            >= 1000
    );

    // TimeoutSeconds under the five-minute limit: TIMED_OUT, with `States.Timeout`.
    let slow = json!({"TimeoutSeconds": 1, "StartAt": "W",
        "States": {"W": {"Type": "Wait", "Seconds": 30, "End": true}}});
    let timing_out = express(&client, "timing-out", &slow).await;
    let out = client
        .start_sync_execution()
        .state_machine_arn(&timing_out)
        .send()
        .await?;
    assert_eq!(out.status(), &SyncExecutionStatus::TimedOut);
    assert_eq!(out.error(), Some("States.Timeout"));

    // METADATA_ONLY leaves the input and output out.
    let out = client
        .start_sync_execution()
        .state_machine_arn(&sm)
        .input(r#"{"n": 1}"#)
        .included_data(aws_sdk_sfn::types::IncludedData::MetadataOnly)
        .send()
        .await?;
    assert_eq!(out.status(), &SyncExecutionStatus::Succeeded);
    assert!(out.input().is_none() && out.output().is_none(), "{out:?}");
    assert_eq!(out.input_details().map(|d| d.included()), Some(false));

    // A state machine that does not exist.
    let missing = format!("{ARN_PREFIX}stateMachine:missing");
    let e = client
        .start_sync_execution()
        .state_machine_arn(&missing)
        .send()
        .await
        .expect_err("no such state machine")
        .into_service_error();
    assert_eq!(
        (e.code(), e.message()),
        (
            Some("StateMachineDoesNotExist"),
            Some(format!("State Machine Does Not Exist: '{missing}'").as_str())
        )
    );

    // StartSyncExecution on STANDARD.
    let standard = machine(&client, "standard", &choose).await?;
    let err = client
        .start_sync_execution()
        .state_machine_arn(&standard)
        .send()
        .await
        .expect_err("STANDARD is refused");
    let e = err.into_service_error();
    assert_eq!(e.code(), Some("StateMachineTypeNotSupported"));
    assert_eq!(
        e.message(),
        Some("This operation is not supported by this type of state machine")
    );

    // Activities are refused in an Express machine, as AWS refuses them (recorded).
    let act = activity(&client, "work").await?;
    let task = json!({"StartAt": "ActivityTask", "States": {"ActivityTask": {"Type": "Task", "Resource": act, "End": true}}});
    let err = client
        .create_state_machine()
        .name("with-activity")
        .r#type(StateMachineType::Express)
        .definition(task.to_string())
        .role_arn(ROLE)
        .send()
        .await
        .expect_err("an activity in an Express machine is refused");
    let e = err.into_service_error();
    assert_eq!(e.code(), Some("InvalidDefinition"));
    assert_eq!(e.message(), Some("Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Express state machine does not support Activity ARN at /States/ActivityTask/Resource'"));

    // Asynchronous Express executions: started, then invisible to the execution APIs, as on AWS.
    let started = client
        .start_execution()
        .state_machine_arn(&sm)
        .input(r#"{"n": 1}"#)
        .send()
        .await?;
    let exec = started.execution_arn().to_string();
    assert!(
        exec.starts_with(&format!("{ARN_PREFIX}express:choose:")),
        "{exec}"
    );
    let invalid = "Invalid Arn: 'Resource type not valid in this context: express'";
    let e = client
        .describe_execution()
        .execution_arn(&exec)
        .send()
        .await
        .expect_err("DescribeExecution refuses an Express ARN")
        .into_service_error();
    assert_eq!((e.code(), e.message()), (Some("InvalidArn"), Some(invalid)));
    let e = client
        .get_execution_history()
        .execution_arn(&exec)
        .send()
        .await
        .expect_err("GetExecutionHistory refuses an Express ARN")
        .into_service_error();
    assert_eq!((e.code(), e.message()), (Some("InvalidArn"), Some(invalid)));
    let e = client
        .stop_execution()
        .execution_arn(&exec)
        .send()
        .await
        .expect_err("StopExecution refuses an Express ARN")
        .into_service_error();
    assert_eq!((e.code(), e.message()), (Some("InvalidArn"), Some(invalid)));
    let e = client
        .list_executions()
        .state_machine_arn(&sm)
        .send()
        .await
        .expect_err("ListExecutions refuses an EXPRESS machine")
        .into_service_error();
    assert_eq!(
        (e.code(), e.message()),
        (
            Some("StateMachineTypeNotSupported"),
            Some("This operation is not supported by this type of state machine")
        )
    );
    Ok(())
}

/// StartSyncExecution sent to a follower of a 3-node cluster is answered by that follower, which
/// waits for its own replica to apply the close; the leader is killed -9 while the execution sits in
/// a Wait state, and the new leader finishes it.
#[tokio::test]
async fn sync_execution_through_a_follower_survives_a_leader_kill() -> anyhow::Result<()> {
    let mut nodes = Swfd::start_cluster(3, &[]).await?;
    let leader = agreed_leader(&nodes.iter().collect::<Vec<_>>(), None).await?;
    let leader_ix = (leader - 1) as usize;
    let followers: Vec<usize> = (0..3).filter(|i| *i != leader_ix).collect();
    let client = sfn_sync_client(&nodes[followers[0]]);

    let pass = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"got.$": "$.x"}, "End": true}}});
    let quick = express(&client, "quick", &pass).await;
    let out = client
        .start_sync_execution()
        .state_machine_arn(&quick)
        .input(r#"{"x": 7}"#)
        .send()
        .await?;
    assert_eq!(out.status(), &SyncExecutionStatus::Succeeded);
    assert_eq!(parsed(out.output()), json!({"got": 7}));

    let wait = json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 3, "Next": "P"},
        "P": {"Type": "Pass", "Result": "done", "End": true}}});
    let slow = express(&client, "slow", &wait).await;
    let applied = |d: &Value| d["last_applied"].as_u64().unwrap_or(0);
    let (_, before) = nodes[followers[0]].admin_get("/cluster/digest").await?;
    let call = {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .start_sync_execution()
                .state_machine_arn(&slow)
                .send()
                .await
        })
    };
    // Once the follower applied a later entry (the start), the leader goes.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, now) = nodes[followers[0]].admin_get("/cluster/digest").await?;
        if applied(&now) > applied(&before) {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "the start was never applied");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    nodes[leader_ix].kill9();
    let survivors: Vec<&Swfd> = followers.iter().map(|i| &nodes[*i]).collect();
    agreed_leader(&survivors, Some(leader)).await?;
    let out = call.await??;
    assert_eq!(out.status(), &SyncExecutionStatus::Succeeded, "{out:?}");
    assert_eq!(parsed(out.output()), json!("done"));
    Ok(())
}

/// Measures StartSyncExecution of a one-state Pass machine against StartExecution of the same
/// machine as STANDARD, on one node, one call at a time (printed; `docs/stepfunctions.md`).
#[tokio::test]
async fn sync_execution_latency_measure() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let client = sfn_sync_client(&swfd);
    let pass = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    let exp = express(&client, "exp", &pass).await;
    let std = machine(&client, "std", &pass).await?;
    let n = 200;
    let mut sync_ms = Vec::new();
    let mut start_ms = Vec::new();
    for i in 0..n {
        let t = Instant::now();
        let out = client
            .start_sync_execution()
            .state_machine_arn(&exp)
            .send()
            .await?;
        assert_eq!(out.status(), &SyncExecutionStatus::Succeeded);
        sync_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        start(&client, &std, &format!("s{i}"), "{}").await?;
        start_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let pct = |v: &mut Vec<f64>, p: f64| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[((v.len() as f64 * p) as usize).min(v.len() - 1)]
    };
    println!(
        "MEASURE {n} calls each: StartSyncExecution p50 {:.2} ms p99 {:.2} ms; StartExecution (STANDARD) p50 {:.2} ms p99 {:.2} ms",
        pct(&mut sync_ms, 0.5),
        pct(&mut sync_ms, 0.99),
        pct(&mut start_ms, 0.5),
        pct(&mut start_ms, 0.99)
    );
    Ok(())
}
