//! Step Functions in the chaos workload: a starter of executions (Pass → Task (activity) → Choice →
//! Succeed, with Retry on the task's timeouts) and activity workers, real HTTP clients over
//! `AWSStepFunctions.<Action>` spread over the nodes like the SWF drivers, and the checker that reads
//! every execution back after healing: no acknowledged StartExecution or SendTaskSuccess lost, no
//! activity task delivered twice, histories valid (ids from 1, `previousEventId` chained, time never
//! going back, nothing after the close), and no activity timeout earlier than its deadline. The calls
//! are kept apart from the SWF recorder, so the SWF checkers and the availability figures are not
//! changed by them; the replica digests cover the Step Functions keyspace anyway.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::task::JoinHandle;

use crate::checker::Verdict;
use crate::workload::Shared;

/// The activity's timeouts in the state machine (a run is 60 s: TimeoutSeconds never fires; heartbeat
/// timeouts fire for tasks whose worker vanished, and the Retry takes the task again).
const HEARTBEAT_SECS: i64 = 10;
const TIMEOUT_SECS: i64 = 120;
const CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// What the clients saw.
#[derive(Default)]
struct Log {
    /// Names of executions whose StartExecution answered 200.
    started: Vec<String>,
    /// Task tokens GetActivityTask handed out.
    delivered: Vec<String>,
    /// Output tags of SendTaskSuccess calls that answered 200.
    succeeded: Vec<String>,
}

/// The running Step Functions load.
pub struct SfnLoad {
    log: Arc<Mutex<Log>>,
    tasks: Vec<JoinHandle<()>>,
    sm_arn: String,
}

/// A reply: the body of a 200, or the error code (`Err(None)`: no answer, maybe applied).
type Answer = Result<Value, Option<String>>;

pub(crate) async fn call(
    http: &reqwest::Client,
    endpoint: &str,
    action: &str,
    body: &Value,
    timeout: Duration,
) -> Answer {
    let res = http
        .post(format!("{endpoint}/"))
        .header("X-Amz-Target", format!("AWSStepFunctions.{action}"))
        .header("Content-Type", "application/x-amz-json-1.0")
        .timeout(timeout)
        .body(body.to_string())
        .send()
        .await
        .map_err(|_| None)?;
    let status = res.status();
    let bytes = res.bytes().await.map_err(|_| None)?;
    let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if status.is_success() {
        Ok(v)
    } else if status.is_server_error() {
        Err(None)
    } else {
        Err(Some(
            v["__type"]
                .as_str()
                .and_then(|t| t.rsplit('#').next())
                .unwrap_or("?")
                .to_string(),
        ))
    }
}

/// A call retried on the next nodes while it gets no answer (up to `attempts`).
pub(crate) async fn call_retried(
    http: &reqwest::Client,
    endpoints: &[String],
    home: usize,
    action: &str,
    body: &Value,
    attempts: usize,
) -> Answer {
    let mut last = Err(None);
    for i in 0..attempts.max(1) {
        last = call(
            http,
            &endpoints[(home + i) % endpoints.len()],
            action,
            body,
            CALL_TIMEOUT,
        )
        .await;
        if !matches!(last, Err(None)) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    last
}

pub(crate) fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(2))
        .build()
        .expect("http client")
}

impl SfnLoad {
    /// Creates the activity and the state machine (retried until the cluster answers) and starts
    /// the starter and `workers` workers.
    pub async fn start(
        endpoints: &[String],
        workers: usize,
        long_poll_secs: u64,
        shared: Arc<Shared>,
    ) -> anyhow::Result<SfnLoad> {
        let h = http();
        let act = call_retried(
            &h,
            endpoints,
            0,
            "CreateActivity",
            &json!({"name": "chaos-sfn"}),
            20,
        )
        .await
        .map_err(|e| anyhow::anyhow!("CreateActivity: {e:?}"))?;
        let act = act["activityArn"].as_str().unwrap_or_default().to_string();
        let definition = json!({"StartAt": "P", "States": {
            "P": {"Type": "Pass", "Result": {"v": 1}, "ResultPath": "$.p", "Next": "T"},
            "T": {"Type": "Task", "Resource": act, "HeartbeatSeconds": HEARTBEAT_SECS,
                  "TimeoutSeconds": TIMEOUT_SECS, "ResultPath": "$.r", "Next": "C",
                  "Retry": [{"ErrorEquals": ["States.Timeout", "States.HeartbeatTimeout"],
                             "IntervalSeconds": 1, "MaxAttempts": 20, "BackoffRate": 1.0}]},
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.r.ok", "BooleanEquals": true, "Next": "S"}],
                  "Default": "F"},
            "S": {"Type": "Succeed"},
            "F": {"Type": "Fail", "Error": "NotOk"}
        }});
        let sm = call_retried(
            &h,
            endpoints,
            0,
            "CreateStateMachine",
            &json!({"name": "chaos-sfn", "definition": definition.to_string(),
                    "roleArn": "arn:aws:iam::000000000000:role/chaos"}),
            20,
        )
        .await
        .map_err(|e| anyhow::anyhow!("CreateStateMachine: {e:?}"))?;
        let sm_arn = sm["stateMachineArn"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let log = Arc::new(Mutex::new(Log::default()));
        let mut tasks = Vec::new();
        let started = log.clone();
        tasks.push(tokio::spawn(starter(
            endpoints.to_vec(),
            sm_arn.clone(),
            "c-",
            Duration::from_millis(500),
            move |name| started.lock().expect("sfn log").started.push(name),
            shared.clone(),
        )));
        for i in 0..workers {
            tasks.push(tokio::spawn(worker(
                i,
                endpoints.to_vec(),
                act.clone(),
                log.clone(),
                shared.clone(),
                long_poll_secs,
            )));
        }
        Ok(SfnLoad { log, tasks, sm_arn })
    }

    /// The main machine's ARN (the nested executions' children run it).
    pub fn state_machine_arn(&self) -> &str {
        &self.sm_arn
    }

    /// Waits for the tasks (they stop with the SWF workload's flags), aborting them after `grace`.
    pub async fn stop(&mut self, grace: Duration) {
        let deadline = tokio::time::Instant::now() + grace;
        for t in self.tasks.drain(..) {
            let abort = t.abort_handle();
            if tokio::time::timeout_at(deadline, t).await.is_err() {
                abort.abort();
            }
        }
    }

    /// Reads every execution back and checks it against what the clients were told.
    pub async fn check(&self, endpoints: &[String]) -> Verdict {
        let mut v = Verdict::default();
        let h = http();
        let (started, delivered, succeeded) = {
            let log = self.log.lock().expect("sfn log");
            (
                log.started.clone(),
                log.delivered.clone(),
                log.succeeded.clone(),
            )
        };
        // Single delivery: a token names one task; handed out twice would be a double delivery.
        let mut seen = BTreeSet::new();
        for t in &delivered {
            if !seen.insert(t) {
                v.flag(
                    "step-functions",
                    json!({"problem": "an activity task was delivered twice", "token": t}),
                );
            }
        }
        // Every execution of the machine, with its history.
        let names: BTreeMap<String, String> =
            match list_executions(&h, endpoints, &self.sm_arn).await {
                Ok(l) => l.into_iter().map(|(name, arn, _)| (name, arn)).collect(),
                Err(e) => {
                    v.flag(
                        "step-functions",
                        json!({"problem": "ListExecutions failed", "error": e}),
                    );
                    return v;
                }
            };
        for name in &started {
            if !names.contains_key(name) {
                v.flag(
                    "step-functions",
                    json!({"problem": "an acknowledged StartExecution is lost", "name": name}),
                );
            }
        }
        let mut outputs = BTreeSet::new();
        for arn in names.values() {
            let events = match history(&h, endpoints, arn).await {
                Ok(e) => e,
                Err(e) => {
                    v.flag("step-functions", json!({"problem": "GetExecutionHistory failed", "execution": arn, "error": e}));
                    continue;
                }
            };
            v.checked += 1;
            check_history(&mut v, arn, &events);
            for e in &events {
                if e["type"] == "ActivitySucceeded" {
                    if let Some(o) = e["activitySucceededEventDetails"]["output"].as_str() {
                        if let Ok(o) = serde_json::from_str::<Value>(o) {
                            if let Some(tag) = o["tag"].as_str() {
                                outputs.insert(tag.to_string());
                            }
                        }
                    }
                }
            }
        }
        for tag in &succeeded {
            if !outputs.contains(tag) {
                v.flag(
                    "step-functions",
                    json!({"problem": "an acknowledged SendTaskSuccess is lost", "tag": tag}),
                );
            }
        }
        v
    }
}

/// Every execution of a state machine: (name, ARN, status).
pub(crate) async fn list_executions(
    h: &reqwest::Client,
    endpoints: &[String],
    sm_arn: &str,
) -> Result<Vec<(String, String, String)>, Option<String>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut body = json!({"stateMachineArn": sm_arn, "maxResults": 1000});
        if let Some(t) = &token {
            body["nextToken"] = json!(t);
        }
        let page = call_retried(h, endpoints, 0, "ListExecutions", &body, 10).await?;
        for e in page["executions"].as_array().into_iter().flatten() {
            let text = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            out.push((text("name"), text("executionArn"), text("status")));
        }
        token = page["nextToken"].as_str().map(String::from);
        if token.is_none() {
            return Ok(out);
        }
    }
}

pub(crate) async fn history(
    h: &reqwest::Client,
    endpoints: &[String],
    arn: &str,
) -> Result<Vec<Value>, Option<String>> {
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut body = json!({"executionArn": arn, "maxResults": 1000});
        if let Some(t) = &token {
            body["nextToken"] = json!(t);
        }
        let page = call_retried(h, endpoints, 0, "GetExecutionHistory", &body, 10).await?;
        events.extend(page["events"].as_array().cloned().unwrap_or_default());
        token = page["nextToken"].as_str().map(String::from);
        if token.is_none() {
            return Ok(events);
        }
    }
}

/// Ids from 1 without gaps, `previousEventId` the event before (0 for event 2, as AWS writes it),
/// ExecutionStarted first, time never going back, nothing after the close event, and no activity
/// timeout before its deadline.
pub(crate) fn check_history(v: &mut Verdict, arn: &str, events: &[Value]) {
    let mut flag = |problem: &str, detail: Value| {
        v.flag(
            "step-functions",
            json!({"problem": problem, "execution": arn, "detail": detail}),
        );
    };
    if events.first().map(|e| &e["type"]) != Some(&json!("ExecutionStarted")) {
        flag(
            "the history does not start with ExecutionStarted",
            json!(events.first()),
        );
    }
    let mut last_ts = f64::MIN;
    let mut closed = false;
    let (mut scheduled_ts, mut started_ts) = (0.0f64, 0.0f64);
    for (i, e) in events.iter().enumerate() {
        let id = e["id"].as_i64().unwrap_or(-1);
        let ts = e["timestamp"].as_f64().unwrap_or(0.0);
        let kind = e["type"].as_str().unwrap_or_default();
        // The first state's entered event (id 2) has previousEventId 0, as AWS writes it.
        let previous = if i == 1 { 0 } else { i as i64 };
        if id != i as i64 + 1 || e["previousEventId"].as_i64() != Some(previous) {
            flag(
                "event ids are not contiguous or previousEventId is not chained",
                e.clone(),
            );
        }
        if ts < last_ts {
            flag("time goes back in the history", e.clone());
        }
        if closed {
            flag("an event after the close", e.clone());
        }
        last_ts = ts;
        match kind {
            "ActivityScheduled" => scheduled_ts = ts,
            "ActivityStarted" => started_ts = ts,
            "ActivityTimedOut" => {
                let error = e["activityTimedOutEventDetails"]["error"]
                    .as_str()
                    .unwrap_or_default();
                let (from, secs) = match error {
                    "States.HeartbeatTimeout" => (started_ts, HEARTBEAT_SECS),
                    _ => (scheduled_ts, TIMEOUT_SECS),
                };
                // Timestamps are epoch seconds with millisecond precision.
                if ts - from < secs as f64 - 0.001 {
                    flag(
                        "an activity timed out early",
                        json!({"event": e, "from": from, "secs": secs}),
                    );
                }
            }
            "ExecutionSucceeded" | "ExecutionFailed" | "ExecutionTimedOut" | "ExecutionAborted" => {
                closed = true
            }
            _ => {}
        }
    }
}

/// Starts executions of `sm` named `{prefix}{n}` with input `{"i": n}`, one every `every`, until the
/// workload stops starting; `acknowledged` gets the name of each start answered 200.
pub(crate) async fn starter(
    endpoints: Vec<String>,
    sm: String,
    prefix: &'static str,
    every: Duration,
    acknowledged: impl Fn(String) + Send,
    shared: Arc<Shared>,
) {
    let h = http();
    let mut seq = 0u64;
    while !shared.stop_new.load(Ordering::Relaxed) {
        seq += 1;
        let name = format!("{prefix}{seq}");
        // The same name and input on every attempt: a retried start is the same execution.
        let body =
            json!({"stateMachineArn": sm, "name": name, "input": json!({"i": seq}).to_string()});
        if call_retried(
            &h,
            &endpoints,
            seq as usize,
            "StartExecution",
            &body,
            endpoints.len() * 2,
        )
        .await
        .is_ok()
        {
            acknowledged(name);
        }
        tokio::time::sleep(every).await;
    }
}

async fn worker(
    id: usize,
    endpoints: Vec<String>,
    act: String,
    log: Arc<Mutex<Log>>,
    shared: Arc<Shared>,
    long_poll_secs: u64,
) {
    let h = http();
    let mut node = id;
    let mut n = 0u64;
    let poll_timeout = Duration::from_secs(long_poll_secs + 10);
    while !shared.stop_all.load(Ordering::Relaxed) {
        let body = json!({"activityArn": act, "workerName": format!("sfn-worker-{id}")});
        let task = match call(
            &h,
            &endpoints[node % endpoints.len()],
            "GetActivityTask",
            &body,
            poll_timeout,
        )
        .await
        {
            Ok(t) => t,
            Err(_) => {
                node += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let Some(token) = task["taskToken"].as_str().map(String::from) else {
            continue;
        };
        log.lock().expect("sfn log").delivered.push(token.clone());
        n += 1;
        let tag = format!("w{id}-{n}");
        let body =
            json!({"taskToken": token, "output": json!({"ok": true, "tag": tag}).to_string()});
        if call_retried(
            &h,
            &endpoints,
            node,
            "SendTaskSuccess",
            &body,
            endpoints.len() * 2,
        )
        .await
        .is_ok()
        {
            log.lock().expect("sfn log").succeeded.push(tag);
        }
    }
}
