//! Helpers shared by the Step Functions end-to-end tests: an `aws-sdk-sfn` client for a running
//! swfd, raw AWS JSON 1.0 calls with `X-Amz-Target: AWSStepFunctions.<Action>`, and small waits
//! that poll (never sleep as synchronization).

#![allow(dead_code)]

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sfn::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent};
use aws_sdk_sfn::Client;
use serde_json::Value;
use swf_e2e::Swfd;

/// The account and region of every ARN swfd makes with its default flags.
pub const ARN_PREFIX: &str = "arn:aws:states:us-east-1:000000000000:";
pub const ROLE: &str = "arn:aws:iam::000000000000:role/sfn";

/// A Step Functions client for `swfd` (region us-east-1, dummy static credentials), built as the
/// harness builds its SWF client.
pub fn sfn_client(swfd: &Swfd) -> Client {
    let config = aws_sdk_sfn::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(swfd.endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDE2E",
            "e2e-secret",
            None,
            None,
            "sfn-e2e",
        ))
        .build();
    Client::from_conf(config)
}

/// The service error code of a failed call (the name after `#` in `__type`), or a description of
/// what else went wrong.
pub fn code<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    r: Result<T, SdkError<E, R>>,
) -> String {
    match r {
        Ok(v) => format!("unexpected success: {v:?}"),
        Err(SdkError::ServiceError(e)) => e.err().code().unwrap_or("<no code>").to_string(),
        Err(other) => format!("not a service error: {other:?}"),
    }
}

/// One raw call: status and JSON body.
pub async fn raw(swfd: &Swfd, action: &str, body: &str) -> Result<(u16, Value)> {
    let resp = swf_e2e::signed_post(
        swfd.http(),
        &swfd.endpoint(),
        &format!("AWSStepFunctions.{action}"),
        body.as_bytes().to_vec(),
    )
    .await?;
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await?;
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)?
    };
    Ok((status, json))
}

/// Creates the activity `name` and returns its ARN.
pub async fn activity(client: &Client, name: &str) -> Result<String> {
    Ok(client
        .create_activity()
        .name(name)
        .send()
        .await?
        .activity_arn()
        .to_string())
}

/// Creates the state machine `name` with `definition` and returns its ARN.
pub async fn machine(client: &Client, name: &str, definition: &Value) -> Result<String> {
    Ok(client
        .create_state_machine()
        .name(name)
        .definition(definition.to_string())
        .role_arn(ROLE)
        .send()
        .await?
        .state_machine_arn()
        .to_string())
}

/// Starts an execution and returns its ARN.
pub async fn start(client: &Client, sm: &str, name: &str, input: &str) -> Result<String> {
    Ok(client
        .start_execution()
        .state_machine_arn(sm)
        .name(name)
        .input(input)
        .send()
        .await?
        .execution_arn()
        .to_string())
}

/// Polls the activity until a task comes: (token, input).
pub async fn take(client: &Client, activity_arn: &str) -> Result<(String, String)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let t = client
            .get_activity_task()
            .activity_arn(activity_arn)
            .worker_name("e2e-worker")
            .send()
            .await?;
        if let Some(token) = t.task_token() {
            return Ok((token.to_string(), t.input().unwrap_or_default().to_string()));
        }
    }
    bail!("no activity task within 60 s")
}

/// SendTaskSuccess with `output`.
pub async fn succeed(
    client: &Client,
    token: impl Into<String>,
    output: impl Into<String>,
) -> Result<()> {
    client
        .send_task_success()
        .task_token(token)
        .output(output)
        .send()
        .await?;
    Ok(())
}

/// SendTaskFailure with `error` and `cause`.
pub async fn fail(
    client: &Client,
    token: impl Into<String>,
    error: impl Into<String>,
    cause: impl Into<String>,
) -> Result<()> {
    client
        .send_task_failure()
        .task_token(token)
        .error(error)
        .cause(cause)
        .send()
        .await?;
    Ok(())
}

/// The ARN of the Map Run an execution started, from its MapRunStarted event (polled until there is
/// one, 30 s at most).
pub async fn map_run_of(client: &Client, exec: &str) -> Result<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let events = history(client, exec).await?;
        if let Some(arn) = events.iter().find_map(|e| {
            e.map_run_started_event_details()
                .and_then(|d| d.map_run_arn())
                .map(String::from)
        }) {
            return Ok(arn);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bail!("no MapRunStarted in {exec} within 30 s")
}

/// Polls DescribeExecution until the execution is no longer RUNNING; returns the final status.
pub async fn wait_closed(client: &Client, exec: &str) -> Result<ExecutionStatus> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let d = client
            .describe_execution()
            .execution_arn(exec)
            .send()
            .await?;
        if d.status() != &ExecutionStatus::Running {
            return Ok(d.status().clone());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bail!("{exec} still running after 60 s")
}

/// The whole history, checked as AWS writes it: ids from 1 without gaps, each event's
/// `previousEventId` the one before except the first state's entered event (id 2), whose
/// `previousEventId` is 0 (every history recorded against AWS in localstack's Step Functions
/// snapshots, e.g. tests/aws/services/stepfunctions/v2/activities/test_activities.snapshot.json),
/// ExecutionStarted first.
pub async fn history(client: &Client, exec: &str) -> Result<Vec<HistoryEvent>> {
    let mut events = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .get_execution_history()
            .execution_arn(exec)
            .max_results(3)
            .set_next_token(token)
            .send()
            .await?;
        events.extend(page.events().iter().cloned());
        token = page.next_token().map(String::from);
        if token.is_none() {
            break;
        }
    }
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.id(), i as i64 + 1, "event ids from 1 without gaps");
        let previous = if i == 1 { 0 } else { i as i64 };
        assert_eq!(e.previous_event_id(), previous, "previousEventId chains");
    }
    assert_eq!(
        events.first().map(|e| e.r#type().as_str()),
        Some("ExecutionStarted")
    );
    Ok(events)
}

/// The event types of a history.
pub fn types(events: &[HistoryEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| e.r#type().as_str().to_string())
        .collect()
}

/// Undoes the `sync-` host prefix the SDK puts in front of the endpoint's host for TestState and
/// StartSyncExecution (as AWS's `sync-states.<region>.amazonaws.com`): against a custom endpoint such
/// as `http://127.0.0.1:PORT` the prefixed name does not resolve. boto3's `inject_host_prefix=False`
/// does the same; the Rust SDK has no switch, so a user adds an interceptor like this one (before
/// signing, so the signed `host` is the one sent).
#[derive(Debug)]
struct NoHostPrefix;

impl aws_sdk_sfn::config::Intercept for NoHostPrefix {
    fn name(&self) -> &'static str {
        "NoHostPrefix"
    }

    fn modify_before_signing(
        &self,
        context: &mut aws_sdk_sfn::config::interceptors::BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &aws_sdk_sfn::config::RuntimeComponents,
        _cfg: &mut aws_sdk_sfn::config::ConfigBag,
    ) -> Result<(), aws_sdk_sfn::error::BoxError> {
        let request = context.request_mut();
        let uri = request.uri().replacen("://sync-", "://", 1);
        request.set_uri(uri)?;
        Ok(())
    }
}

/// A Step Functions client for the `sync-` actions (TestState, StartSyncExecution): the harness's
/// client with the host prefix undone.
pub fn sfn_sync_client(swfd: &Swfd) -> Client {
    let config = sfn_client(swfd)
        .config()
        .to_builder()
        .interceptor(NoHostPrefix)
        .build();
    Client::from_conf(config)
}
