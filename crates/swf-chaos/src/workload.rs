//! The workload: a starter, a signaller, a canceller, many concurrent deciders and activity workers,
//! and pollers that vanish mid-poll (`vanisher`), each a real HTTP client over the SWF protocol,
//! spread over all nodes, every call recorded.
//! Workflows run activities (with heartbeats), timers, child workflows, wait for signals, and some are
//! cancelled; the decider logic is `decider::decide`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use tokio::task::JoinHandle;

use crate::client::Swf;
use crate::decider::{self, Plan};
use crate::history::{now_ms, OpKey, Outcome, Recorder, TaskKind};

pub const DOMAIN: &str = "chaos";
/// How long one attempt of a non-poll call may take before the driver gives up on that node (and
/// records the call as indeterminate). A production client of a replicated endpoint sets an attempt
/// timeout like this one (the SDKs' `operation_attempt_timeout`, botocore's `read_timeout`): a frozen
/// process (a `pause` fault) accepts connections and answers nothing, and a longer timeout would
/// measure how long the drivers sit on it, not the service. Healthy calls answer in milliseconds; an
/// election takes about a second, and a node cut off from the leader refuses at once.
const CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// A poller that moved off its home node after a failed poll goes back home after this long (as a
/// client behind a load balancer is spread again once the node is healthy): without it every poller
/// ends up on the one node no fault has hit yet, and a fault there then stops them all at once.
const FAIL_BACK: Duration = Duration::from_secs(10);

/// The node a poller polls next: its home, or the node it failed over to.
struct PollTarget {
    home: usize,
    node: usize,
    away_since: Option<tokio::time::Instant>,
}

impl PollTarget {
    fn new(home: usize) -> PollTarget {
        PollTarget {
            home,
            node: home,
            away_since: None,
        }
    }

    /// The node for the next poll.
    fn next(&mut self) -> usize {
        if self.away_since.is_some_and(|t| t.elapsed() >= FAIL_BACK) {
            self.node = self.home;
            self.away_since = None;
        }
        self.node
    }

    /// The last poll failed: try the next node.
    fn failed(&mut self) {
        self.node += 1;
        self.away_since
            .get_or_insert_with(tokio::time::Instant::now);
    }
}

/// Most workflow starts in flight at once (the starter is open-loop: a start waiting on a frozen node
/// does not hold the next ones back).
const MAX_STARTS_IN_FLIGHT: usize = 32;

/// Workload sizes.
#[derive(Debug, Clone)]
pub struct Config {
    pub seed: u64,
    pub deciders: usize,
    pub workers: usize,
    /// Workflow starts per second.
    pub rate: f64,
    pub long_poll_secs: u64,
    /// Pollers that vanish mid-poll (each about two polls a second).
    pub vanishers: usize,
}

/// State the workload tasks share.
pub struct Shared {
    /// Stop starting new workflows (end of the fault phase).
    pub stop_new: AtomicBool,
    /// Stop everything (after the liveness phase).
    pub stop_all: AtomicBool,
    to_signal: Mutex<VecDeque<String>>,
    to_cancel: Mutex<Vec<(f64, String)>>,
    signal_seq: AtomicU64,
    pub started: AtomicU64,
}

/// The running workload.
pub struct Workload {
    pub shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

fn client(endpoints: &[String], rec: &Recorder, name: &str, home: usize) -> Swf {
    Swf::new(endpoints.to_vec(), rec.clone(), name, home)
}

/// Registers the domain and types (retried until the cluster answers).
pub async fn register(endpoints: &[String], rec: &Recorder) -> anyhow::Result<()> {
    let c = client(endpoints, rec, "setup", 0);
    let calls = [
        (
            "RegisterDomain",
            json!({"name": DOMAIN, "workflowExecutionRetentionPeriodInDays": "1"}),
        ),
        (
            "RegisterWorkflowType",
            json!({"domain": DOMAIN, "name": "chaos-wf", "version": "1",
                "defaultTaskList": {"name": "deciders"}, "defaultTaskStartToCloseTimeout": "10",
                "defaultExecutionStartToCloseTimeout": "900", "defaultChildPolicy": "TERMINATE"}),
        ),
        (
            "RegisterActivityType",
            json!({"domain": DOMAIN, "name": "work", "version": "1",
                "defaultTaskList": {"name": "workers"}, "defaultTaskScheduleToStartTimeout": "NONE",
                "defaultTaskStartToCloseTimeout": "30", "defaultTaskHeartbeatTimeout": "8",
                "defaultTaskScheduleToCloseTimeout": "NONE"}),
        ),
    ];
    for (action, body) in calls {
        let r = c.call(action, &body, OpKey::Other, CALL_TIMEOUT, 20).await;
        match &r.outcome {
            Outcome::Ok => {}
            Outcome::Fault(code) if code.contains("AlreadyExists") => {}
            other => anyhow::bail!("{action} failed: {other:?} {}", r.body),
        }
    }
    Ok(())
}

impl Workload {
    /// Starts every workload task.
    pub fn start(cfg: &Config, endpoints: &[String], rec: &Recorder) -> Workload {
        let shared = Arc::new(Shared {
            stop_new: AtomicBool::new(false),
            stop_all: AtomicBool::new(false),
            to_signal: Mutex::new(VecDeque::new()),
            to_cancel: Mutex::new(Vec::new()),
            signal_seq: AtomicU64::new(0),
            started: AtomicU64::new(0),
        });
        let n = endpoints.len();
        let mut tasks = Vec::new();
        let c = client(endpoints, rec, "starter", 0);
        tasks.push(tokio::spawn(starter(c, shared.clone(), cfg.clone())));
        let c = client(endpoints, rec, "signaller", 1 % n);
        tasks.push(tokio::spawn(signaller(c, shared.clone())));
        let c = client(endpoints, rec, "canceller", 2 % n);
        tasks.push(tokio::spawn(canceller(c, shared.clone())));
        let poll_timeout = Duration::from_secs(cfg.long_poll_secs + 10);
        for i in 0..cfg.deciders {
            let c = client(endpoints, rec, &format!("decider-{i}"), i % n);
            tasks.push(tokio::spawn(decider_loop(c, shared.clone(), poll_timeout)));
        }
        for i in 0..cfg.workers {
            let c = client(endpoints, rec, &format!("worker-{i}"), i % n);
            tasks.push(tokio::spawn(worker_loop(c, shared.clone(), poll_timeout)));
        }
        for i in 0..cfg.vanishers {
            tasks.push(tokio::spawn(crate::vanisher::vanisher(
                endpoints.to_vec(),
                rec.clone(),
                i,
                cfg.seed,
                shared.clone(),
            )));
        }
        Workload { shared, tasks }
    }

    /// Stops every task: lets them finish their current call up to `grace`, then aborts.
    pub async fn stop(self, grace: Duration) {
        self.shared.stop_new.store(true, Ordering::SeqCst);
        self.shared.stop_all.store(true, Ordering::SeqCst);
        let deadline = tokio::time::Instant::now() + grace;
        for t in self.tasks {
            let abort = t.abort_handle();
            if tokio::time::timeout_at(deadline, t).await.is_err() {
                abort.abort();
            }
        }
    }
}

/// A seeded plan for the i-th workflow: (plan, cancel it after this many seconds).
pub fn plan_for(rng: &mut StdRng) -> (Plan, Option<f64>) {
    let plan = Plan {
        acts: rng.gen_range(1..=3),
        hb: rng.gen_range(0..=3),
        timer: if rng.gen_bool(0.5) {
            rng.gen_range(1..=4)
        } else {
            0
        },
        child: rng.gen_bool(0.25),
        signal: rng.gen_bool(0.3),
    };
    let cancel = rng.gen_bool(0.1).then(|| rng.gen_range(0.5..5.0));
    (plan, cancel)
}

async fn starter(c: Swf, shared: Arc<Shared>, cfg: Config) {
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let period = Duration::from_secs_f64(1.0 / cfg.rate.max(0.01));
    let mut i = 0u64;
    let mut tick = tokio::time::interval(period);
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_STARTS_IN_FLIGHT));
    let mut in_flight = Vec::new();
    while !shared.stop_new.load(Ordering::SeqCst) {
        tick.tick().await;
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let (plan, cancel) = plan_for(&mut rng);
        let wid = format!("wf-{}-{i}", cfg.seed);
        let node = c.home + i as usize;
        i += 1;
        let (c, shared) = (c.clone(), shared.clone());
        in_flight.push(tokio::spawn(async move {
            start_one(&c, &shared, wid, node, plan, cancel).await;
            drop(slot);
        }));
        in_flight.retain(|t: &JoinHandle<()>| !t.is_finished());
    }
    for t in in_flight {
        let _ = t.await;
    }
}

/// Starts one workflow, trying the next node after a failed or indeterminate attempt.
async fn start_one(
    c: &Swf,
    shared: &Shared,
    wid: String,
    mut node: usize,
    plan: Plan,
    cancel: Option<f64>,
) {
    let input = serde_json::to_string(&plan).expect("plan serializes");
    let body = json!({"domain": DOMAIN, "workflowId": wid,
        "workflowType": {"name": "chaos-wf", "version": "1"}, "input": input});
    let mut key = OpKey::Start {
        workflow_id: wid.clone(),
        input: input.clone(),
        run_id: None,
    };
    // Every attempt is one call, retried as an SDK retries it (one invocation id), so an attempt
    // that was held up and arrives after a later one succeeded does not start a second run.
    let invocation = format!("start-{wid}");
    for _ in 0..5 {
        let r = c
            .call_once_as(
                node,
                "StartWorkflowExecution",
                &body,
                CALL_TIMEOUT,
                Some(&invocation),
            )
            .await;
        if let (Outcome::Ok, OpKey::Start { run_id, .. }) = (&r.outcome, &mut key) {
            *run_id = r.body["runId"].as_str().map(str::to_string);
        }
        c.record("StartWorkflowExecution", &r, key.clone());
        match &r.outcome {
            Outcome::Ok => break,
            // A retry after an indeterminate attempt that finds it started: the first one applied.
            Outcome::Fault(code) if code == "WorkflowExecutionAlreadyStartedFault" => break,
            Outcome::Fault(_) => break,
            _ => {
                node += 1;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
    }
    // Signals and cancellations go to every workflow that may exist.
    shared.started.fetch_add(1, Ordering::SeqCst);
    if plan.signal {
        shared.to_signal.lock().unwrap().push_back(wid.clone());
    }
    if let Some(after) = cancel {
        shared
            .to_cancel
            .lock()
            .unwrap()
            .push((now_ms() + after * 1000.0, wid));
    }
}

/// Sends `go` to every workflow waiting for it until one is acknowledged (or the workflow is gone);
/// each attempt carries a fresh unique input, so an input is applied at most once.
async fn signaller(mut c: Swf, shared: Arc<Shared>) {
    while !shared.stop_all.load(Ordering::SeqCst) {
        let batch: Vec<String> = shared.to_signal.lock().unwrap().drain(..).collect();
        let mut keep = Vec::new();
        for wid in batch {
            let seq = shared.signal_seq.fetch_add(1, Ordering::SeqCst);
            let input = format!("sig-{wid}-{seq}");
            let body = json!({"domain": DOMAIN, "workflowId": wid,
                "signalName": decider::GO_SIGNAL, "input": input});
            let key = OpKey::Signal {
                workflow_id: wid.clone(),
                input,
            };
            let r = c
                .call("SignalWorkflowExecution", &body, key, CALL_TIMEOUT, 1)
                .await;
            match r.outcome {
                Outcome::Ok | Outcome::Fault(_) => {}
                _ => {
                    // The next attempt (with a fresh input) goes to another node.
                    c.home += 1;
                    keep.push(wid)
                }
            }
        }
        shared.to_signal.lock().unwrap().extend(keep);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn canceller(mut c: Swf, shared: Arc<Shared>) {
    while !shared.stop_all.load(Ordering::SeqCst) {
        let now = now_ms();
        let due: Vec<String> = {
            let mut list = shared.to_cancel.lock().unwrap();
            let (due, rest): (Vec<_>, Vec<_>) = list.drain(..).partition(|(t, _)| *t <= now);
            *list = rest;
            due.into_iter().map(|(_, w)| w).collect()
        };
        for wid in due {
            let body = json!({"domain": DOMAIN, "workflowId": wid});
            let key = OpKey::RequestCancel {
                workflow_id: wid.clone(),
            };
            let r = c
                .call(
                    "RequestCancelWorkflowExecution",
                    &body,
                    key,
                    CALL_TIMEOUT,
                    1,
                )
                .await;
            if !matches!(r.outcome, Outcome::Ok | Outcome::Fault(_)) {
                c.home += 1;
                shared
                    .to_cancel
                    .lock()
                    .unwrap()
                    .push((now_ms() + 1000.0, wid));
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// What one decision poll brought.
enum Polled {
    /// A task, its body with all history pages.
    Task(Value),
    /// An empty poll (a success).
    Empty,
    /// The poll (or a history page) failed.
    Failed,
}

/// Polls once; a task comes with all its history pages.
async fn poll_decision(c: &Swf, node: usize, timeout: Duration) -> Polled {
    let body = json!({"domain": DOMAIN, "taskList": {"name": "deciders"},
        "identity": c.process, "maximumPageSize": 1000});
    let r = c
        .call_once(node, "PollForDecisionTask", &body, timeout)
        .await;
    let token = r.body["taskToken"].as_str().map(str::to_string);
    let Some(token) = token.filter(|_| r.outcome.is_ok()) else {
        c.record("PollForDecisionTask", &r, OpKey::Other);
        if !r.outcome.is_ok() {
            tokio::time::sleep(Duration::from_millis(300)).await;
            return Polled::Failed;
        }
        return Polled::Empty;
    };
    let run_id = r.body["workflowExecution"]["runId"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let started = r.body["startedEventId"].as_i64().unwrap_or(0);
    c.record(
        "PollForDecisionTask",
        &r,
        OpKey::Delivered {
            kind: TaskKind::Decision,
            run_id,
            started_event_id: started,
            activity_id: None,
        },
    );
    let mut task = r.body;
    let mut next = task["nextPageToken"].as_str().map(str::to_string);
    while let Some(page) = next {
        let body = json!({"domain": DOMAIN, "taskList": {"name": "deciders"},
            "identity": c.process, "maximumPageSize": 1000, "nextPageToken": page});
        let r = c
            .call_once(node, "PollForDecisionTask", &body, timeout)
            .await;
        c.record("PollForDecisionTask", &r, OpKey::Other);
        if !r.outcome.is_ok() || r.body["taskToken"].as_str() != Some(token.as_str()) {
            return Polled::Failed;
        }
        if let (Some(all), Some(more)) =
            (task["events"].as_array_mut(), r.body["events"].as_array())
        {
            all.extend(more.iter().cloned());
        }
        next = r.body["nextPageToken"].as_str().map(str::to_string);
    }
    Polled::Task(task)
}

async fn decider_loop(c: Swf, shared: Arc<Shared>, poll_timeout: Duration) {
    let mut target = PollTarget::new(c.home);
    while !shared.stop_all.load(Ordering::SeqCst) {
        let task = match poll_decision(&c, target.next(), poll_timeout).await {
            Polled::Task(task) => task,
            Polled::Empty => continue,
            Polled::Failed => {
                target.failed();
                continue;
            }
        };
        let wid = task["workflowExecution"]["workflowId"]
            .as_str()
            .unwrap_or("");
        let run_id = task["workflowExecution"]["runId"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let started = task["startedEventId"].as_i64().unwrap_or(0);
        let events = task["events"].as_array().cloned().unwrap_or_default();
        let decisions = decider::decide(wid, &events);
        let body = json!({"taskToken": task["taskToken"], "decisions": decisions});
        let key = OpKey::CompleteDecision {
            run_id,
            started_event_id: started,
            decisions: decisions.len(),
        };
        c.call("RespondDecisionTaskCompleted", &body, key, CALL_TIMEOUT, 4)
            .await;
    }
}

async fn worker_loop(c: Swf, shared: Arc<Shared>, poll_timeout: Duration) {
    let mut target = PollTarget::new(c.home);
    while !shared.stop_all.load(Ordering::SeqCst) {
        let body =
            json!({"domain": DOMAIN, "taskList": {"name": "workers"}, "identity": c.process});
        let r = c
            .call_once(target.next(), "PollForActivityTask", &body, poll_timeout)
            .await;
        let token = r.body["taskToken"].as_str().map(str::to_string);
        let Some(token) = token.filter(|_| r.outcome.is_ok()) else {
            c.record("PollForActivityTask", &r, OpKey::Other);
            if !r.outcome.is_ok() {
                target.failed();
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            continue;
        };
        let run_id = r.body["workflowExecution"]["runId"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let started = r.body["startedEventId"].as_i64().unwrap_or(0);
        c.record(
            "PollForActivityTask",
            &r,
            OpKey::Delivered {
                kind: TaskKind::Activity,
                run_id: run_id.clone(),
                started_event_id: started,
                activity_id: r.body["activityId"].as_str().map(str::to_string),
            },
        );
        let hb = r.body["input"]
            .as_str()
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
            .and_then(|v| v["hb"].as_u64())
            .unwrap_or(0);
        let mut abandoned = false;
        let mut cancel = false;
        for _ in 0..hb {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let body = json!({"taskToken": token, "details": format!("hb {}", now_ms() as u64)});
            let key = OpKey::Heartbeat {
                run_id: run_id.clone(),
                started_event_id: started,
            };
            let r = c
                .call("RecordActivityTaskHeartbeat", &body, key, CALL_TIMEOUT, 1)
                .await;
            match r.outcome {
                Outcome::Ok if r.body["cancelRequested"] == true => {
                    cancel = true;
                    break;
                }
                Outcome::Fault(_) => {
                    abandoned = true;
                    break;
                }
                _ => {}
            }
        }
        if abandoned {
            continue;
        }
        if cancel {
            let body = json!({"taskToken": token});
            c.call(
                "RespondActivityTaskCanceled",
                &body,
                OpKey::Other,
                CALL_TIMEOUT,
                4,
            )
            .await;
            continue;
        }
        let result = format!("r:{run_id}:{started}");
        let body = json!({"taskToken": token, "result": result});
        let key = OpKey::CompleteActivity {
            run_id,
            started_event_id: started,
            result,
        };
        c.call("RespondActivityTaskCompleted", &body, key, CALL_TIMEOUT, 5)
            .await;
    }
}
