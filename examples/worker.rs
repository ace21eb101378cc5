//! Example activity worker for swfd: polls the activity task list of a domain and runs the `greet`
//! activity, which answers its input in upper case.
//!
//! Start swfd, then (in two terminals):
//!
//! ```text
//! cargo run -p swf-examples --bin worker  -- --endpoint http://127.0.0.1:7950 --domain demo
//! cargo run -p swf-examples --bin decider -- --endpoint http://127.0.0.1:7950 --domain demo --start --once
//! ```
//!
//! The worker runs until it is stopped (Ctrl-C). Any credentials are accepted by swfd; the example
//! uses dummy static ones, so no AWS configuration is needed.

use std::time::Duration;

use anyhow::{Context, Result};
use aws_sdk_swf::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_swf::error::ProvideErrorMetadata;
use aws_sdk_swf::types::TaskList;
use aws_sdk_swf::Client;
use clap::Parser;

/// Runs the `greet` activity for workflows of an swfd domain.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// swfd's HTTP endpoint.
    #[arg(long, default_value = "http://127.0.0.1:7950")]
    endpoint: String,
    /// The SWF domain to work in.
    #[arg(long, default_value = "demo")]
    domain: String,
    /// Task list the activities are scheduled on.
    #[arg(long, default_value = "greet-activities")]
    task_list: String,
    /// Identity reported to swfd (recorded in ActivityTaskStarted events).
    #[arg(long, default_value = "example-worker")]
    identity: String,
}

/// An SWF client for swfd at `endpoint` (credentials from the environment, see `credentials`).
fn client(endpoint: &str) -> Client {
    let config = aws_sdk_swf::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials())
        .build();
    Client::from_conf(config)
}

/// The `greet` activity.
fn greet(input: &str) -> String {
    input.to_uppercase()
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let client = client(&args.endpoint);
    let task_list = TaskList::builder().name(&args.task_list).build()?;
    println!(
        "worker polling {} domain={} taskList={}",
        args.endpoint, args.domain, args.task_list
    );
    loop {
        let task = match client
            .poll_for_activity_task()
            .domain(&args.domain)
            .task_list(task_list.clone())
            .identity(&args.identity)
            .send()
            .await
        {
            Ok(task) => task,
            Err(e) => {
                // Typically the domain is not registered yet (the decider registers it) or swfd
                // is not up yet: report and try again shortly.
                let e = e.into_service_error();
                eprintln!(
                    "worker: poll failed ({}): {}; retrying",
                    e.code().unwrap_or("error"),
                    e.message().unwrap_or("no message")
                );
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if task.task_token().is_empty() {
            continue; // long poll ended without a task
        }
        let name = task.activity_type().map(|t| t.name()).unwrap_or_default();
        let input = task.input().unwrap_or_default();
        if name == "greet" {
            let result = greet(input);
            println!("worker: greet({input:?}) = {result:?}");
            client
                .respond_activity_task_completed()
                .task_token(task.task_token())
                .result(result)
                .send()
                .await
                .context("RespondActivityTaskCompleted")?;
        } else {
            eprintln!("worker: unknown activity {name:?}");
            client
                .respond_activity_task_failed()
                .task_token(task.task_token())
                .reason("unknown activity")
                .details(name)
                .send()
                .await
                .context("RespondActivityTaskFailed")?;
        }
    }
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
