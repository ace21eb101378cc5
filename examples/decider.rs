//! Example decider for swfd: registers the `demo` domain and its types if they are missing, then
//! drives every `greeting` workflow: it schedules one `greet` activity with the workflow's input and
//! completes the workflow with the activity's result.
//!
//! Start swfd and the worker (see `worker.rs`), then:
//!
//! ```text
//! cargo run -p swf-examples --bin decider -- --endpoint http://127.0.0.1:7950 --domain demo --start --once
//! ```
//!
//! `--start` starts one workflow (input `--input`); `--once` exits as soon as that workflow is
//! complete, printing its result. Without `--once` the decider serves workflows until stopped.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use aws_sdk_swf::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_swf::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_swf::types::{
    ActivityType, ChildPolicy, CompleteWorkflowExecutionDecisionAttributes, Decision, DecisionType,
    EventType, FailWorkflowExecutionDecisionAttributes, HistoryEvent,
    ScheduleActivityTaskDecisionAttributes, TaskList, WorkflowExecution, WorkflowType,
};
use aws_sdk_swf::Client;
use clap::Parser;

const WORKFLOW_NAME: &str = "greeting";
const ACTIVITY_NAME: &str = "greet";
const VERSION: &str = "1.0";

/// Decides `greeting` workflows of an swfd domain.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// swfd's HTTP endpoint.
    #[arg(long, default_value = "http://127.0.0.1:7950")]
    endpoint: String,
    /// The SWF domain (registered if missing).
    #[arg(long, default_value = "demo")]
    domain: String,
    /// Task list of the decision tasks.
    #[arg(long, default_value = "greet-decisions")]
    decision_task_list: String,
    /// Task list the `greet` activities are scheduled on (the worker's --task-list).
    #[arg(long, default_value = "greet-activities")]
    activity_task_list: String,
    /// Start one workflow execution.
    #[arg(long)]
    start: bool,
    /// Workflow id of the execution started with --start (default: greeting-<unix millis>).
    #[arg(long)]
    workflow_id: Option<String>,
    /// Input of the execution started with --start.
    #[arg(long, default_value = "hello, world")]
    input: String,
    /// Exit once the workflow started with --start is complete.
    #[arg(long, requires = "start")]
    once: bool,
    /// Identity reported to swfd (recorded in DecisionTaskStarted events).
    #[arg(long, default_value = "example-decider")]
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

/// Treats an `...AlreadyExists` fault as success: the resource is there.
fn ignore_exists<T, E>(res: Result<T, aws_sdk_swf::error::SdkError<E>>, what: &str) -> Result<()>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match res {
        Ok(_) => {
            println!("decider: registered {what}");
            Ok(())
        }
        Err(e) => {
            let code = e.code().unwrap_or_default();
            if code == "DomainAlreadyExistsFault" || code == "TypeAlreadyExistsFault" {
                Ok(())
            } else {
                bail!("registering {what}: {}", DisplayErrorContext(&e))
            }
        }
    }
}

/// Registers the domain, the workflow type and the activity type unless they exist.
async fn register(client: &Client, args: &Args) -> Result<()> {
    ignore_exists(
        client
            .register_domain()
            .name(&args.domain)
            .description("swf-examples demo domain")
            .workflow_execution_retention_period_in_days("1")
            .send()
            .await,
        &format!("domain {}", args.domain),
    )?;
    ignore_exists(
        client
            .register_workflow_type()
            .domain(&args.domain)
            .name(WORKFLOW_NAME)
            .version(VERSION)
            .default_task_list(TaskList::builder().name(&args.decision_task_list).build()?)
            .default_execution_start_to_close_timeout("3600")
            .default_task_start_to_close_timeout("60")
            .default_child_policy(ChildPolicy::Terminate)
            .send()
            .await,
        "workflow type greeting/1.0",
    )?;
    ignore_exists(
        client
            .register_activity_type()
            .domain(&args.domain)
            .name(ACTIVITY_NAME)
            .version(VERSION)
            .default_task_list(TaskList::builder().name(&args.activity_task_list).build()?)
            .default_task_schedule_to_start_timeout("300")
            .default_task_start_to_close_timeout("300")
            .default_task_schedule_to_close_timeout("600")
            .default_task_heartbeat_timeout("NONE")
            .send()
            .await,
        "activity type greet/1.0",
    )?;
    Ok(())
}

/// What to do next, given a workflow's whole history.
fn decide(events: &[HistoryEvent], activity_task_list: &str) -> Result<Vec<Decision>> {
    // The newest event that matters wins.
    for event in events.iter().rev() {
        match event.event_type() {
            EventType::ActivityTaskCompleted => {
                let result = event
                    .activity_task_completed_event_attributes()
                    .and_then(|a| a.result())
                    .unwrap_or_default();
                return Ok(vec![Decision::builder()
                    .decision_type(DecisionType::CompleteWorkflowExecution)
                    .complete_workflow_execution_decision_attributes(
                        CompleteWorkflowExecutionDecisionAttributes::builder()
                            .result(result)
                            .build(),
                    )
                    .build()?]);
            }
            EventType::ActivityTaskFailed
            | EventType::ActivityTaskTimedOut
            | EventType::ActivityTaskCanceled
            | EventType::ScheduleActivityTaskFailed => {
                return Ok(vec![Decision::builder()
                    .decision_type(DecisionType::FailWorkflowExecution)
                    .fail_workflow_execution_decision_attributes(
                        FailWorkflowExecutionDecisionAttributes::builder()
                            .reason(format!("greet: {}", event.event_type().as_str()))
                            .build(),
                    )
                    .build()?]);
            }
            // The activity is under way: nothing to decide.
            EventType::ActivityTaskScheduled | EventType::ActivityTaskStarted => {
                return Ok(Vec::new())
            }
            EventType::WorkflowExecutionStarted => {
                let input = event
                    .workflow_execution_started_event_attributes()
                    .and_then(|a| a.input())
                    .unwrap_or_default();
                return Ok(vec![Decision::builder()
                    .decision_type(DecisionType::ScheduleActivityTask)
                    .schedule_activity_task_decision_attributes(
                        ScheduleActivityTaskDecisionAttributes::builder()
                            .activity_id("greet-1")
                            .activity_type(
                                ActivityType::builder()
                                    .name(ACTIVITY_NAME)
                                    .version(VERSION)
                                    .build()?,
                            )
                            .task_list(TaskList::builder().name(activity_task_list).build()?)
                            .input(input)
                            .build()?,
                    )
                    .build()?]);
            }
            _ => {}
        }
    }
    bail!("history has no WorkflowExecutionStarted event")
}

/// One decision task with its whole history (all pages).
struct DecisionTask {
    token: String,
    execution: Option<WorkflowExecution>,
    events: Vec<HistoryEvent>,
}

/// Polls for a decision task; `None` when the long poll ended empty.
async fn poll(client: &Client, args: &Args, task_list: &TaskList) -> Result<Option<DecisionTask>> {
    let mut page = client
        .poll_for_decision_task()
        .domain(&args.domain)
        .task_list(task_list.clone())
        .identity(&args.identity)
        .send()
        .await
        .context("PollForDecisionTask")?;
    if page.task_token().is_empty() {
        return Ok(None);
    }
    let mut task = DecisionTask {
        token: page.task_token().to_string(),
        execution: page.workflow_execution().cloned(),
        events: page.events().to_vec(),
    };
    while let Some(next) = page.next_page_token().filter(|t| !t.is_empty()) {
        page = client
            .poll_for_decision_task()
            .domain(&args.domain)
            .task_list(task_list.clone())
            .identity(&args.identity)
            .next_page_token(next)
            .send()
            .await
            .context("PollForDecisionTask (next page)")?;
        task.events.extend_from_slice(page.events());
    }
    Ok(Some(task))
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let client = client(&args.endpoint);
    register(&client, &args).await?;

    let mut mine: Option<WorkflowExecution> = None;
    if args.start {
        let workflow_id = args.workflow_id.clone().unwrap_or_else(|| {
            let millis = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis();
            format!("greeting-{millis}")
        });
        let started = client
            .start_workflow_execution()
            .domain(&args.domain)
            .workflow_id(&workflow_id)
            .workflow_type(
                WorkflowType::builder()
                    .name(WORKFLOW_NAME)
                    .version(VERSION)
                    .build()?,
            )
            .input(&args.input)
            .send()
            .await
            .context("StartWorkflowExecution")?;
        let run_id = started.run_id().unwrap_or_default().to_string();
        println!("decider: started workflow {workflow_id} run {run_id}");
        mine = Some(
            WorkflowExecution::builder()
                .workflow_id(workflow_id)
                .run_id(run_id)
                .build()?,
        );
    }

    let task_list = TaskList::builder().name(&args.decision_task_list).build()?;
    println!(
        "decider polling {} domain={} taskList={}",
        args.endpoint, args.domain, args.decision_task_list
    );
    loop {
        let task = match poll(&client, &args, &task_list).await {
            Ok(Some(task)) => task,
            Ok(None) => continue,
            Err(e) => {
                eprintln!("decider: {e:#}; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let decisions = decide(&task.events, &args.activity_task_list)?;
        let completes = decisions
            .iter()
            .find(|d| d.decision_type() == &DecisionType::CompleteWorkflowExecution)
            .and_then(|d| d.complete_workflow_execution_decision_attributes())
            .map(|a| a.result().unwrap_or_default().to_string());
        let fails = decisions
            .iter()
            .find_map(|d| d.fail_workflow_execution_decision_attributes())
            .map(|a| a.reason().unwrap_or_default().to_string());
        client
            .respond_decision_task_completed()
            .task_token(&task.token)
            .set_decisions(Some(decisions))
            .send()
            .await
            .context("RespondDecisionTaskCompleted")?;
        let id = task
            .execution
            .as_ref()
            .map(|e| e.workflow_id().to_string())
            .unwrap_or_default();
        let is_mine = task.execution.as_ref() == mine.as_ref();
        if let Some(result) = completes {
            println!("decider: workflow {id} completed with result {result:?}");
            if args.once && is_mine {
                return Ok(());
            }
        } else if let Some(reason) = fails {
            eprintln!("decider: workflow {id} failed: {reason}");
            if args.once && is_mine {
                bail!("workflow {id} failed: {reason}");
            }
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
