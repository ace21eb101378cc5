//! The workloads. Each driver is one closed-loop client with its own decision and activity task lists, so a
//! poll finds its own work at once and the figures measure the service, not queueing between drivers. The
//! decider acts on the history it is given (not on what it expects), so a workflow left behind by a failed
//! call is still driven to its end by the next poll.
//!
//! - `simple`: start; decision (schedule one activity); activity completion; decision (complete).
//! - `fanout`: like simple with ten activities scheduled by the first decision.
//! - `timers`: start; decision (start a 1 s timer); decision (complete); records timer lateness.
//! - `heartbeats`: like simple, the worker heartbeats three times before completing.
//! - `idle-pollers`: every driver holds long polls on an empty task list for the whole run.
//! - `sfn`: Step Functions on the same endpoint: StartExecution of a Pass → Task (activity) → Choice →
//!   Succeed machine; GetActivityTask; SendTaskSuccess, which runs the execution to SUCCEEDED (each
//!   driver has its own activity and state machine).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::client::{CallError, SwfClient};
use crate::stats::Stats;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    Simple,
    Fanout,
    Timers,
    Heartbeats,
    IdlePollers,
    Sfn,
}

impl Workload {
    pub fn name(self) -> &'static str {
        match self {
            Workload::Simple => "simple",
            Workload::Fanout => "fanout",
            Workload::Timers => "timers",
            Workload::Heartbeats => "heartbeats",
            Workload::IdlePollers => "idle-pollers",
            Workload::Sfn => "sfn",
        }
    }

    /// Activities the first decision schedules.
    fn activities(self) -> usize {
        match self {
            Workload::Fanout => 10,
            Workload::Timers | Workload::IdlePollers | Workload::Sfn => 0,
            Workload::Simple | Workload::Heartbeats => 1,
        }
    }
}

pub const WORKFLOW_TYPE: &str = "swf-bench-workflow";
pub const ACTIVITY_TYPE: &str = "swf-bench-activity";
pub const TYPE_VERSION: &str = "1";

/// What every driver shares.
pub struct Shared {
    pub domain: String,
    pub workload: Workload,
    pub stats: Arc<Stats>,
    pub stop: AtomicBool,
    /// Open-loop pacing: workflows per second across all drivers (None = as fast as the service allows).
    pub rate: Option<f64>,
    pub started_at: Instant,
    pub next_slot: AtomicU64,
    /// Distinguishes this run's workflow ids from an earlier run's in the same domain.
    pub run_tag: String,
    /// Every endpoint given (a driver turns to the next when its own refuses connections).
    pub endpoints: Vec<String>,
    /// Attempts per call (the AWS SDKs' standard retry mode; 1: no retries).
    pub max_attempts: u32,
}

impl Shared {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Waits for this driver's next start slot when a rate is set.
    async fn pace(&self) {
        if let Some(rate) = self.rate {
            let k = self.next_slot.fetch_add(1, Ordering::Relaxed);
            let at = self.started_at + Duration::from_secs_f64(k as f64 / rate);
            tokio::time::sleep_until(at.into()).await;
        }
    }
}

/// Registers the domain (closed runs kept `retention_days`) and the two types, accepting that they
/// may exist already.
pub async fn setup(
    client: &mut SwfClient,
    domain: &str,
    retention_days: &str,
) -> anyhow::Result<()> {
    let steps = [
        (
            "RegisterDomain",
            json!({"name": domain, "workflowExecutionRetentionPeriodInDays": retention_days}),
        ),
        (
            "RegisterWorkflowType",
            json!({"domain": domain, "name": WORKFLOW_TYPE, "version": TYPE_VERSION,
                   "defaultTaskStartToCloseTimeout": "60", "defaultExecutionStartToCloseTimeout": "3600",
                   "defaultChildPolicy": "TERMINATE"}),
        ),
        (
            "RegisterActivityType",
            json!({"domain": domain, "name": ACTIVITY_TYPE, "version": TYPE_VERSION,
                   "defaultTaskStartToCloseTimeout": "600", "defaultTaskHeartbeatTimeout": "NONE",
                   "defaultTaskScheduleToStartTimeout": "600", "defaultTaskScheduleToCloseTimeout": "1200"}),
        ),
    ];
    for (action, body) in steps {
        match client.call(action, &body).await {
            Ok(_) => {}
            Err(CallError::Fault { kind, .. })
                if kind.ends_with("DomainAlreadyExistsFault")
                    || kind.ends_with("TypeAlreadyExistsFault") => {}
            Err(e) => anyhow::bail!("{action}: {e}"),
        }
    }
    Ok(())
}

/// One driver: runs workflows (or holds polls) until told to stop.
pub async fn drive(id: usize, endpoint: String, shared: Arc<Shared>, timeout: Duration) {
    let pos = shared
        .endpoints
        .iter()
        .position(|e| *e == endpoint)
        .unwrap_or(0);
    let mut others = shared.endpoints[pos + 1..].to_vec();
    others.extend_from_slice(&shared.endpoints[..pos]);
    let client = SwfClient::new(&endpoint, timeout)
        .and_then(|c| c.with_retries(shared.max_attempts, &others));
    let mut client = match client {
        Ok(c) => c,
        Err(e) => {
            eprintln!("driver {id}: {e}");
            return;
        }
    };
    let mut d = Driver {
        id,
        client: &mut client,
        shared: &shared,
        seq: 0,
    };
    if shared.workload == Workload::IdlePollers {
        d.idle_poll().await;
        return;
    }
    let mut machine = None;
    if shared.workload == Workload::Sfn {
        match d.sfn_setup().await {
            Ok(m) => machine = Some(m),
            Err(()) => {
                eprintln!("driver {id}: could not create its activity and state machine");
                return;
            }
        }
    }
    while !shared.stopped() {
        shared.pace().await;
        if shared.stopped() {
            break;
        }
        let done = match &machine {
            Some((sm, activity)) => d.execution(sm, activity).await,
            None => d.workflow().await,
        };
        if done.is_err() {
            // Counted already; give a failing service a moment instead of spinning.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

struct Driver<'a> {
    id: usize,
    client: &'a mut SwfClient,
    shared: &'a Shared,
    seq: u64,
}

/// What the decider decided for one decision task.
enum Decided {
    /// Activities were scheduled (or a timer started): work remains.
    Continue,
    /// The workflow was completed.
    Completed,
}

impl Driver<'_> {
    fn decision_list(&self) -> String {
        format!("d-{}", self.id)
    }

    fn activity_list(&self) -> String {
        format!("a-{}", self.id)
    }

    /// [`call`](Self::call), with the fault `allowed` counted as success.
    async fn call_allowing(
        &mut self,
        action: &'static str,
        allowed: &str,
        body: Value,
    ) -> Result<Value, ()> {
        let (took, r) = self.client.timed(action, &body).await;
        let r = match r {
            Err(CallError::Fault { kind, .. }) if kind.ends_with(allowed) => Ok(Value::Null),
            other => other,
        };
        self.shared
            .stats
            .call(action, took, r.as_ref().err().map(CallError::label));
        r.map_err(|_| ())
    }

    async fn call(&mut self, action: &'static str, body: Value) -> Result<Value, ()> {
        let (took, r) = self.client.timed(action, &body).await;
        self.shared
            .stats
            .call(action, took, r.as_ref().err().map(CallError::label));
        r.map_err(|_| ())
    }

    /// Runs one workflow to completion.
    async fn workflow(&mut self) -> Result<(), ()> {
        self.seq += 1;
        let workflow_id = format!("bench-{}-{}-{}", self.shared.run_tag, self.id, self.seq);
        let domain = self.shared.domain.clone();
        self.call_allowing(
            "StartWorkflowExecution",
            // The id is this driver's alone: "already started" answers a retry whose first attempt
            // started it (the SDKs retry a call whose answer was lost, too).
            "WorkflowExecutionAlreadyStartedFault",
            json!({
                "domain": domain, "workflowId": workflow_id,
                "workflowType": {"name": WORKFLOW_TYPE, "version": TYPE_VERSION},
                "taskList": {"name": self.decision_list()},
                "executionStartToCloseTimeout": "3600", "taskStartToCloseTimeout": "60",
                "childPolicy": "TERMINATE", "input": "bench",
            }),
        )
        .await?;
        // Drive decisions and activities until the decider completes a workflow.
        loop {
            if self.shared.stopped() {
                return Err(());
            }
            if let Decided::Completed = self.decide().await? {
                self.shared.stats.workflow_done();
                return Ok(());
            }
            for _ in 0..self.shared.workload.activities() {
                self.work().await?;
            }
        }
    }

    /// Polls one decision task (retrying empty polls) and answers it from its history.
    async fn decide(&mut self) -> Result<Decided, ()> {
        let domain = self.shared.domain.clone();
        let task = loop {
            let task = self
                .call(
                    "PollForDecisionTask",
                    json!({"domain": domain, "taskList": {"name": self.decision_list()},
                           "identity": format!("decider-{}", self.id)}),
                )
                .await?;
            if task
                .get("taskToken")
                .and_then(Value::as_str)
                .is_some_and(|t| !t.is_empty())
            {
                break task;
            }
            if self.shared.stopped() {
                return Err(());
            }
        };
        let token = task["taskToken"].as_str().unwrap_or_default().to_string();
        let events = task["events"].as_array().cloned().unwrap_or_default();
        let count = |ty: &str| events.iter().filter(|e| e["eventType"] == ty).count();
        let workload = self.shared.workload;
        let (decisions, outcome) = match workload {
            Workload::Timers => {
                if let Some(fired) = events.iter().find(|e| e["eventType"] == "TimerFired") {
                    let started = events.iter().find(|e| e["eventType"] == "TimerStarted");
                    if let (Some(a), Some(b)) = (
                        started.and_then(|e| e["eventTimestamp"].as_f64()),
                        fired["eventTimestamp"].as_f64(),
                    ) {
                        let late = (b - a - 1.0).max(0.0);
                        self.shared
                            .stats
                            .extra("timer_lateness", Duration::from_secs_f64(late));
                    }
                    (vec![complete()], Decided::Completed)
                } else if count("TimerStarted") > 0 {
                    (vec![], Decided::Continue)
                } else {
                    let timer = json!({"decisionType": "StartTimer", "startTimerDecisionAttributes":
                        {"timerId": "t", "startToFireTimeout": "1"}});
                    (vec![timer], Decided::Continue)
                }
            }
            _ => {
                let wanted = workload.activities();
                if count("ActivityTaskCompleted") >= wanted {
                    (vec![complete()], Decided::Completed)
                } else if count("ActivityTaskScheduled") >= wanted {
                    (vec![], Decided::Continue)
                } else {
                    let heartbeat = if workload == Workload::Heartbeats {
                        "60"
                    } else {
                        "NONE"
                    };
                    let list = self.activity_list();
                    let schedule = (0..wanted)
                        .map(|i| {
                            json!({"decisionType": "ScheduleActivityTask",
                                "scheduleActivityTaskDecisionAttributes": {
                                    "activityType": {"name": ACTIVITY_TYPE, "version": TYPE_VERSION},
                                    "activityId": format!("a{i}"), "taskList": {"name": list},
                                    "input": "work", "scheduleToCloseTimeout": "1200",
                                    "scheduleToStartTimeout": "600", "startToCloseTimeout": "600",
                                    "heartbeatTimeout": heartbeat}})
                        })
                        .collect();
                    (schedule, Decided::Continue)
                }
            }
        };
        self.call(
            "RespondDecisionTaskCompleted",
            json!({"taskToken": token, "decisions": decisions}),
        )
        .await?;
        Ok(outcome)
    }

    /// Polls one activity task (retrying empty polls), heartbeats if the workload says so, completes it.
    async fn work(&mut self) -> Result<(), ()> {
        let domain = self.shared.domain.clone();
        let token = loop {
            let task = self
                .call(
                    "PollForActivityTask",
                    json!({"domain": domain, "taskList": {"name": self.activity_list()},
                           "identity": format!("worker-{}", self.id)}),
                )
                .await?;
            if let Some(t) = task.get("taskToken").and_then(Value::as_str) {
                if !t.is_empty() {
                    break t.to_string();
                }
            }
            if self.shared.stopped() {
                return Err(());
            }
        };
        if self.shared.workload == Workload::Heartbeats {
            for i in 0..3 {
                self.call(
                    "RecordActivityTaskHeartbeat",
                    json!({"taskToken": token, "details": format!("{i}")}),
                )
                .await?;
            }
        }
        self.call(
            "RespondActivityTaskCompleted",
            json!({"taskToken": token, "result": "done"}),
        )
        .await?;
        Ok(())
    }

    /// Creates this driver's activity and state machine; returns (state machine ARN, activity ARN).
    async fn sfn_setup(&mut self) -> Result<(String, String), ()> {
        let name = format!("bench-{}-{}", self.shared.run_tag, self.id);
        let act = self
            .call("AWSStepFunctions.CreateActivity", json!({"name": name}))
            .await?;
        let activity = act["activityArn"].as_str().ok_or(())?.to_string();
        let definition = json!({"StartAt": "P", "States": {
            "P": {"Type": "Pass", "Result": {"n": 1}, "ResultPath": "$.p", "Next": "T"},
            "T": {"Type": "Task", "Resource": activity, "ResultPath": "$.r", "Next": "C"},
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.r.ok", "BooleanEquals": true, "Next": "S"}],
                  "Default": "F"},
            "S": {"Type": "Succeed"},
            "F": {"Type": "Fail", "Error": "NotOk"}
        }});
        let sm = self
            .call(
                "AWSStepFunctions.CreateStateMachine",
                json!({"name": name, "definition": definition.to_string(),
                       "roleArn": "arn:aws:iam::000000000000:role/swf-bench"}),
            )
            .await?;
        let sm = sm["stateMachineArn"].as_str().ok_or(())?.to_string();
        Ok((sm, activity))
    }

    /// Runs one Step Functions execution to completion: start, take its activity task, succeed it
    /// (the Choice and Succeed states run in the same applied command).
    async fn execution(&mut self, sm: &str, activity: &str) -> Result<(), ()> {
        self.seq += 1;
        let name = format!("e-{}", self.seq);
        self.call(
            "AWSStepFunctions.StartExecution",
            json!({"stateMachineArn": sm, "name": name, "input": "{\"bench\":true}"}),
        )
        .await?;
        let token = loop {
            let task = self
                .call(
                    "AWSStepFunctions.GetActivityTask",
                    json!({"activityArn": activity, "workerName": format!("worker-{}", self.id)}),
                )
                .await?;
            if let Some(t) = task.get("taskToken").and_then(Value::as_str) {
                break t.to_string();
            }
            if self.shared.stopped() {
                return Err(());
            }
        };
        self.call(
            "AWSStepFunctions.SendTaskSuccess",
            json!({"taskToken": token, "output": "{\"ok\":true}"}),
        )
        .await?;
        self.shared.stats.workflow_done();
        Ok(())
    }

    /// Holds long polls on a list nobody feeds until the run ends.
    async fn idle_poll(&mut self) {
        let domain = self.shared.domain.clone();
        let list = format!("idle-{}-{}", self.shared.run_tag, self.id);
        while !self.shared.stopped() {
            let body = json!({"domain": domain, "taskList": {"name": list}, "identity": "idle"});
            if self.call("PollForActivityTask", body).await.is_err() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

fn complete() -> Value {
    json!({"decisionType": "CompleteWorkflowExecution",
           "completeWorkflowExecutionDecisionAttributes": {"result": "ok"}})
}
