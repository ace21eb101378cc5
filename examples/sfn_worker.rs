//! Example Step Functions activity worker for swfd: creates the `greet` activity (idempotent), polls
//! it with GetActivityTask, and answers each task's input `{"name": ...}` with
//! `{"greeting": "Hello, <name>!"}` (SendTaskSuccess; a task without a name gets SendTaskFailure with
//! error `NoName`). With `--demo` it also creates a state machine Pass → Task(greet) → Choice →
//! Succeed, starts one execution and prints how it ended.
//!
//! Start swfd, then:
//!
//! ```text
//! cargo run -p swf-examples --bin sfn-worker -- --endpoint http://127.0.0.1:7950 --demo --once
//! ```
//!
//! Any credentials are accepted by swfd; the example uses dummy static ones.

use std::time::Duration;

use anyhow::{Context, Result};
use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sfn::types::ExecutionStatus;
use aws_sdk_sfn::Client;
use clap::Parser;
use serde_json::{json, Value};

/// Runs the `greet` activity of Step Functions state machines on swfd.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// swfd's HTTP endpoint.
    #[arg(long, default_value = "http://127.0.0.1:7950")]
    endpoint: String,
    /// The activity to work for (created if missing).
    #[arg(long, default_value = "greet")]
    activity: String,
    /// Worker name recorded in ActivityStarted events.
    #[arg(long, default_value = "example-sfn-worker")]
    worker_name: String,
    /// Also create the demo state machine and start one execution.
    #[arg(long)]
    demo: bool,
    /// Exit after one task.
    #[arg(long)]
    once: bool,
}

/// A Step Functions client for swfd at `endpoint` (credentials from the environment, see `credentials`).
fn client(endpoint: &str) -> Client {
    let config = aws_sdk_sfn::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials())
        .build();
    Client::from_conf(config)
}

/// The `greet` activity: `Ok(output)` or `Err((error, cause))`.
fn greet(input: &str) -> Result<String, (String, String)> {
    let input: Value = serde_json::from_str(input).unwrap_or(Value::Null);
    match input.get("name").and_then(Value::as_str) {
        Some(name) => Ok(json!({"greeting": format!("Hello, {name}!")}).to_string()),
        None => Err(("NoName".into(), format!("no \"name\" in {input}"))),
    }
}

/// Creates the demo machine and starts one execution; returns its ARN.
async fn start_demo(client: &Client, activity_arn: &str) -> Result<String> {
    let definition = json!({
        "StartAt": "Prepare",
        "States": {
            "Prepare": {"Type": "Pass", "Parameters": {"name.$": "$.who"}, "Next": "Greet"},
            "Greet": {"Type": "Task", "Resource": activity_arn, "TimeoutSeconds": 300,
                      "HeartbeatSeconds": 60, "Next": "Check"},
            "Check": {"Type": "Choice", "Choices": [
                {"Variable": "$.greeting", "IsPresent": true, "Next": "Done"}
            ], "Default": "Failed"},
            "Done": {"Type": "Succeed"},
            "Failed": {"Type": "Fail", "Error": "NoGreeting"}
        }
    });
    let sm = client
        .create_state_machine()
        .name("greet-demo")
        .definition(definition.to_string())
        .role_arn("arn:aws:iam::000000000000:role/example")
        .send()
        .await
        .context("CreateStateMachine")?;
    let exec = client
        .start_execution()
        .state_machine_arn(sm.state_machine_arn())
        .input(json!({"who": "world"}).to_string())
        .send()
        .await
        .context("StartExecution")?;
    println!("started {}", exec.execution_arn());
    Ok(exec.execution_arn().to_string())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let client = client(&args.endpoint);
    let activity_arn = client
        .create_activity()
        .name(&args.activity)
        .send()
        .await
        .context("CreateActivity (is swfd running?)")?
        .activity_arn()
        .to_string();
    let demo = match args.demo {
        true => Some(start_demo(&client, &activity_arn).await?),
        false => None,
    };
    println!(
        "sfn-worker polling {} activity={activity_arn}",
        args.endpoint
    );
    loop {
        // Held by swfd until a task comes, or answered without a token before clients' 60 s timeout.
        let task = client
            .get_activity_task()
            .activity_arn(&activity_arn)
            .worker_name(&args.worker_name)
            .send()
            .await
            .context("GetActivityTask")?;
        let Some(token) = task.task_token() else {
            continue;
        };
        match greet(task.input().unwrap_or("{}")) {
            Ok(output) => {
                println!("task done: {output}");
                client
                    .send_task_success()
                    .task_token(token)
                    .output(output)
                    .send()
                    .await
                    .context("SendTaskSuccess")?;
            }
            Err((error, cause)) => {
                println!("task failed: {error}: {cause}");
                client
                    .send_task_failure()
                    .task_token(token)
                    .error(error)
                    .cause(cause)
                    .send()
                    .await
                    .context("SendTaskFailure")?;
            }
        }
        if args.once {
            break;
        }
    }
    if let Some(exec) = demo {
        loop {
            let d = client
                .describe_execution()
                .execution_arn(&exec)
                .send()
                .await?;
            if d.status() != &ExecutionStatus::Running {
                println!(
                    "execution {}: {}",
                    d.status().as_str(),
                    d.output().unwrap_or("")
                );
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(())
}

/// The keys to sign with: `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`)
/// when set, as swfd with `--auth-config` needs; otherwise placeholders a swfd without auth accepts.
fn credentials() -> Credentials {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    Credentials::new(
        var("AWS_ACCESS_KEY_ID").unwrap_or_else(|| "example".into()),
        var("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|| "example".into()),
        var("AWS_SESSION_TOKEN"),
        None,
        "example",
    )
}
