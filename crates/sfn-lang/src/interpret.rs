//! A pure interpreter step: given a definition, an execution's stored position ([`ExecutionState`]) and
//! one incoming [`Event`] (start, activity started / succeeded / failed / timed out, timer fired, stop),
//! it moves the execution on and returns the history events AWS writes (types and `*EventDetails` as in
//! the model) and the [`Effect`]s the engine must carry out (schedule or cancel an activity task, arm or
//! cancel a timer).
//!
//! Parallel branches and Map iterations are nested [`Thread`]s inside one `ExecutionState`, a plain
//! serde structure with a `format` number so stored forms can be versioned. Time comes in the
//! [`Stamp`]; randomness (retry jitter, `States.UUID`, `States.MathRandom`) from the execution's
//! [`Entropy`], seeded by the leader at start, so every replica computes the same step.

use crate::context::{Context, MapItem};
use crate::dataflow::{self, check_size};
use crate::definition::{Definition, State, StateKind, Transition};
use crate::entropy::Entropy;
use crate::error::{json_text, StatesError};
use crate::retry::{next_retry, RetryDecision};
use crate::{choice, jsonata, variables};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The stored form's version.
pub const FORMAT: u32 = 1;
/// Events per execution; past it the execution fails.
pub const MAX_HISTORY_EVENTS: u64 = 25_000;

/// The leader-stamped time of the command being applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub now_ms: i64,
}

/// What the execution knows about itself (`$$.Execution`, `$$.StateMachine`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionInfo {
    pub execution_arn: String,
    pub name: String,
    pub role_arn: String,
    pub start_time_ms: i64,
    pub state_machine_arn: String,
    pub state_machine_name: String,
    pub input: Value,
    /// The version the execution runs, when it was started by a version or alias ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_arn: Option<String>,
    /// The alias it was started through, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias_arn: Option<String>,
    /// Times redriven (`redrive`); `$$.Execution.RedriveCount`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub redrive_count: u32,
    /// The last redrive's leader-stamped time (ms); `$$.Execution.RedriveTime`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redrive_time_ms: Option<i64>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The execution's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

/// What a thread is waiting for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Waiting {
    Nothing,
    /// An activity task, named by its ActivityScheduled event id.
    Activity {
        task_id: u64,
        started: bool,
    },
    /// A Wait state's timer.
    Timer {
        timer_id: u64,
    },
    /// The back-off before a retry.
    Retry {
        timer_id: u64,
    },
    /// The child threads of a Parallel or Map state.
    Children,
    /// A nested execution started by a `states:startExecution` Task (`task_id` is its TaskScheduled
    /// event id): its start, its end (`.sync`) or the callback with its token (`.waitForTaskToken`).
    Nested {
        task_id: u64,
        mode: crate::nested::Mode,
    },
    /// The Map Run of a Distributed Map (`run_id` is its MapRunStarted event id).
    MapRun {
        run_id: u64,
    },
}

/// The children of a Parallel or Map state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fanout {
    pub is_map: bool,
    pub effective_input: Value,
    /// Map items (empty for Parallel).
    pub items: Vec<Value>,
    /// One per branch / item; `None` until started (Map concurrency).
    pub children: Vec<Option<Thread>>,
    pub results: Vec<Option<Value>>,
    /// 0 = no limit.
    pub max_concurrency: u64,
}

/// One line of control: the top level, a Parallel branch or a Map iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thread {
    pub state: String,
    pub raw_input: Value,
    pub entered_event_id: u64,
    pub entered_ms: i64,
    /// Retries made, per retrier of the current state.
    pub retry_counts: Vec<u32>,
    pub waiting: Waiting,
    pub fanout: Option<Box<Fanout>>,
    /// The workflow variables this thread assigned (a branch or iteration also reads its outer
    /// scopes', which are not copied here: see `Engine::outer`).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub variables: serde_json::Map<String, Value>,
    /// The Map Run this state's entry started (a Distributed Map), kept after the run ends so a
    /// redrive of the execution redrives that run instead of starting a new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map_run: Option<MapRunRef>,
}

/// The Map Run a Distributed Map's thread started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapRunRef {
    /// Its MapRunStarted event id.
    pub run_id: u64,
    pub arn: String,
    /// How many times it was redriven (MapRunRedriven's `redriveCount`).
    #[serde(default)]
    pub redrives: u64,
}

/// The stored position of an execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionState {
    pub format: u32,
    pub info: ExecutionInfo,
    pub status: Status,
    /// Id of the last event written.
    pub last_event_id: u64,
    /// Source of timer ids that are not event ids (retry back-offs): counts down from u64::MAX.
    pub next_private_id: u64,
    pub entropy: Entropy,
    pub root: Thread,
}

/// An incoming event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    ActivityStarted {
        task_id: u64,
        worker_name: Option<String>,
    },
    ActivitySucceeded {
        task_id: u64,
        output: Value,
    },
    ActivityFailed {
        task_id: u64,
        error: Option<String>,
        cause: Option<String>,
    },
    /// `error` is `States.Timeout` or `States.HeartbeatTimeout`.
    ActivityTimedOut {
        task_id: u64,
        error: String,
        cause: Option<String>,
    },
    TimerFired {
        timer_id: u64,
    },
    /// The execution's own TimeoutSeconds expired.
    ExecutionTimedOut,
    Stop {
        error: Option<String>,
        cause: Option<String>,
    },
    /// The child execution of nested task `task_id` started.
    ChildStarted {
        task_id: u64,
        execution_arn: String,
        start_date_ms: i64,
    },
    /// StartExecution of nested task `task_id` failed (`error` e.g.
    /// `StepFunctions.StateMachineDoesNotExistException`).
    ChildStartFailed {
        task_id: u64,
        error: String,
        cause: String,
    },
    /// The child execution of `.sync` task `task_id` ended; `description` is its DescribeExecution
    /// shape as the integration returns it (`Output` a JSON string, dates in epoch milliseconds).
    ChildClosed {
        task_id: u64,
        succeeded: bool,
        description: Value,
    },
    /// Map Run `run_id` ended: the children's outputs in item order, or the run's error.
    MapRunEnded {
        run_id: u64,
        succeeded: bool,
        results: Vec<Value>,
        error: String,
        cause: String,
    },
}

/// Work for the engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Effect {
    ScheduleActivity {
        task_id: u64,
        resource: String,
        input: Value,
        timeout_seconds: Option<u64>,
        heartbeat_seconds: Option<u64>,
    },
    CancelActivity {
        task_id: u64,
    },
    ArmTimer {
        timer_id: u64,
        due_ms: i64,
    },
    CancelTimer {
        timer_id: u64,
    },
    /// Arm the execution's TimeoutSeconds.
    ArmExecutionTimeout {
        due_ms: i64,
    },
    /// Start a child execution for nested task `task_id` (already TaskStarted); its timeout and
    /// heartbeat are armed like an activity task's (the heartbeat at once: the task runs from now).
    StartChild {
        task_id: u64,
        mode: crate::nested::Mode,
        state_machine_arn: String,
        /// The child's name: the `Name` parameter, or a UUID drawn from the execution's entropy.
        name: String,
        /// JSON text.
        input: String,
        /// The seed of the child's randomness, drawn from the execution's entropy.
        seed: u64,
        timeout_seconds: Option<u64>,
        heartbeat_seconds: Option<u64>,
    },
    /// Start the Map Run of a Distributed Map (already MapRunStarted): one child execution of the
    /// Map's ItemProcessor per input.
    StartMapRun {
        run_id: u64,
        map_run_arn: String,
        /// The Map state (state names are unique machine-wide: the engine finds its ItemProcessor).
        state_name: String,
        /// `<state machine name>/<label>`: the children's state machine name.
        state_machine_name: String,
        execution_type: String,
        inputs: Vec<Value>,
        /// 0 = no limit.
        max_concurrency: u64,
        tolerated_percentage: f64,
        tolerated_count: u64,
        seed: u64,
    },
    /// Redrive the Map Run of a Distributed Map (already MapRunRedriven): its unsuccessful children
    /// run again (redriven, or started if they never were), its successful ones are kept.
    RedriveMapRun {
        run_id: u64,
        map_run_arn: String,
    },
}

/// A history event as AWS writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEvent {
    pub id: u64,
    pub previous_event_id: u64,
    pub timestamp_ms: i64,
    /// `HistoryEventType`, e.g. `TaskStateEntered`.
    pub event_type: String,
    /// The details member name, e.g. `stateEnteredEventDetails` (empty when there is none).
    pub details_member: String,
    pub details: Value,
}

impl HistoryEvent {
    /// The event in the wire shape of GetExecutionHistory (timestamp in epoch seconds).
    pub fn to_wire(&self) -> Value {
        let mut v = json!({
            "timestamp": self.timestamp_ms as f64 / 1000.0,
            "type": self.event_type,
            "id": self.id,
            "previousEventId": self.previous_event_id,
        });
        if !self.details_member.is_empty() {
            v[&self.details_member] = self.details.clone();
        }
        v
    }
}

/// What the engine knows of the world outside the execution, asked while a step runs (answers come
/// from the replicated state, so every replica gets the same ones).
pub trait World {
    /// Whether the activity `arn` exists now. A Task state entered for one that does not fails the
    /// execution with `States.Runtime` before anything is scheduled, as AWS does.
    fn activity_exists(&self, arn: &str) -> bool;

    /// The task token of task `task_id` of execution `execution_arn` (`$$.Task.Token` of a
    /// `.waitForTaskToken` task); `None`: no token can be issued (`$$.Task.Token` is then absent).
    fn task_token(&self, _execution_arn: &str, _task_id: u64) -> Option<String> {
        None
    }
}

/// A world where every activity exists (the interpreter's tests, tools).
pub struct EveryActivityExists;

impl World for EveryActivityExists {
    fn activity_exists(&self, _arn: &str) -> bool {
        true
    }
}

/// What one step produced.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub events: Vec<HistoryEvent>,
    pub effects: Vec<Effect>,
}

enum Flow {
    Blocked,
    /// Enter this state next (returned instead of recursing, so long chains of states need no stack).
    Goto(String, Value),
    Done(Value),
    Failed(String, String),
}

struct Engine<'a> {
    now_ms: i64,
    world: &'a dyn World,
    info: &'a ExecutionInfo,
    entropy: &'a mut Entropy,
    last_event_id: &'a mut u64,
    next_private_id: &'a mut u64,
    out: Outcome,
    /// The variables of the scopes around the thread being run (its Parallel / Map parents'): read
    /// but never assigned by it.
    outer: serde_json::Map<String, Value>,
}

impl<'a> Engine<'a> {
    /// An engine that writes `exec`'s next events at `stamp`: it borrows the execution's counters
    /// and entropy (its threads are passed to each call apart).
    fn over(
        stamp: Stamp,
        world: &'a dyn World,
        info: &'a ExecutionInfo,
        entropy: &'a mut Entropy,
        last_event_id: &'a mut u64,
        next_private_id: &'a mut u64,
    ) -> Engine<'a> {
        Engine {
            now_ms: stamp.now_ms,
            world,
            info,
            entropy,
            last_event_id,
            next_private_id,
            out: Outcome::default(),
            outer: serde_json::Map::new(),
        }
    }
}

pub(crate) fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn io_details(key: &str, name: Option<&str>, value: &Value) -> Value {
    let mut d = serde_json::Map::new();
    if let Some(n) = name {
        d.insert("name".into(), json!(n));
    }
    d.insert(key.into(), json!(json_text(value)));
    d.insert(format!("{key}Details"), json!({"truncated": false}));
    Value::Object(d)
}

impl Engine<'_> {
    fn push(&mut self, event_type: &str, member: &str, details: Value) -> u64 {
        *self.last_event_id += 1;
        let id = *self.last_event_id;
        self.out.events.push(HistoryEvent {
            id,
            previous_event_id: id - 1,
            timestamp_ms: self.now_ms,
            event_type: event_type.into(),
            details_member: member.into(),
            details,
        });
        id
    }

    fn private_id(&mut self) -> u64 {
        *self.next_private_id -= 1;
        *self.next_private_id
    }

    fn context(&self, th: &Thread, map_item: Option<MapItem>) -> Value {
        let ctx = Context {
            execution_id: self.info.execution_arn.clone(),
            execution_input: self.info.input.clone(),
            execution_name: self.info.name.clone(),
            execution_role_arn: self.info.role_arn.clone(),
            execution_start_time: rfc3339(self.info.start_time_ms),
            state_name: th.state.clone(),
            state_entered_time: rfc3339(th.entered_ms),
            state_retry_count: th.retry_counts.iter().sum(),
            state_machine_id: self.info.state_machine_arn.clone(),
            state_machine_name: self.info.state_machine_name.clone(),
            task_token: None,
            map_item,
            execution_redrive_count: self.info.redrive_count,
            execution_redrive_time: self.info.redrive_time_ms.map(rfc3339),
        }
        .to_value();
        if self.outer.is_empty() {
            return variables::with_variables(ctx, &th.variables, self.now_ms);
        }
        let mut all = self.outer.clone();
        all.extend(th.variables.clone());
        variables::with_variables(ctx, &all, self.now_ms)
    }

    /// Makes `th`'s variables part of the outer scope for its children; returns the scope to restore.
    fn enter_scope(&mut self, th: &Thread) -> serde_json::Map<String, Value> {
        let saved = self.outer.clone();
        self.outer.extend(th.variables.clone());
        saved
    }

    /// Enters `name` and runs on until the thread blocks or ends.
    fn enter(&mut self, def: &Definition, th: &mut Thread, name: &str, input: Value) -> Flow {
        self.run(def, th, Flow::Goto(name.to_string(), input))
    }

    /// Follows `Goto`s in this thread.
    fn run(&mut self, def: &Definition, th: &mut Thread, mut flow: Flow) -> Flow {
        while let Flow::Goto(name, input) = flow {
            if *self.last_event_id >= MAX_HISTORY_EVENTS {
                return Flow::Failed(
                    "States.Runtime".into(),
                    "The execution reached the maximum number of history events.".into(),
                );
            }
            flow = self.enter_one(def, th, &name, input);
        }
        flow
    }

    fn enter_one(&mut self, def: &Definition, th: &mut Thread, name: &str, input: Value) -> Flow {
        let Some(state) = def.state(name) else {
            return Flow::Failed(
                "States.Runtime".into(),
                format!("State '{name}' does not exist"),
            );
        };
        *th = Thread {
            state: name.into(),
            raw_input: input,
            entered_event_id: 0,
            entered_ms: self.now_ms,
            retry_counts: vec![0; state.retry.len()],
            waiting: Waiting::Nothing,
            fanout: None,
            variables: std::mem::take(&mut th.variables),
            map_run: None,
        };
        let ty = format!("{}StateEntered", state.type_name());
        th.entered_event_id = self.push(
            &ty,
            "stateEnteredEventDetails",
            io_details("input", Some(name), &th.raw_input),
        );
        self.execute(def, th)
    }

    fn runtime(&mut self, th: &Thread, e: StatesError) -> (String, String) {
        let cause = e.cause_in_state(&th.state, th.entered_event_id);
        if let StatesError::QueryEvaluation { location, .. } = &e {
            // AWS records a JSONata failure as EvaluationFailed before the state fails (localstack's
            // snapshots recorded against AWS, v2/assign/test_assign_reference_variables).
            self.push(
                "EvaluationFailed",
                "evaluationFailedEventDetails",
                json!({"error": e.name(), "cause": cause, "location": location, "state": th.state}),
            );
        }
        (e.name().to_string(), cause)
    }

    /// Runs the current state from its start (on entry, and again on a retry).
    fn execute(&mut self, def: &Definition, th: &mut Thread) -> Flow {
        let Some(state) = def.state(&th.state) else {
            return Flow::Failed(
                "States.Runtime".into(),
                format!("State '{}' does not exist", th.state),
            );
        };
        match self.try_execute(state, th) {
            Ok(flow) => flow,
            Err(e) => {
                let (error, cause) = self.runtime(th, e);
                self.state_failed(state, th, error, cause)
            }
        }
    }

    fn try_execute(&mut self, state: &State, th: &mut Thread) -> Result<Flow, StatesError> {
        let ctx = self.context(th, None);
        let raw = th.raw_input.clone();
        Ok(match &state.kind {
            StateKind::Pass { result } => {
                let eff = dataflow::effective_input(state, &raw, &ctx, self.entropy)?;
                let result = result.clone().unwrap_or(eff);
                let (out, assigned) =
                    variables::output_and_assign(state, &raw, &result, &ctx, self.entropy)?;
                self.exit_assigning(state, th, out, assigned)?
            }
            StateKind::Task(task) if crate::nested::Mode::of(&task.resource).is_some() => {
                self.nested_start(state, th, task)?
            }
            StateKind::Task(task) => {
                let eff = dataflow::effective_input(state, &raw, &ctx, self.entropy)?;
                let (timeout, heartbeat) =
                    jsonata::task_timeouts(state, task, &raw, &eff, &ctx, self.entropy)?;
                // A missing activity: no ActivityScheduled; the state fails with States.Runtime (never
                // retried or caught), so the execution fails right after TaskStateEntered.
                if !self.world.activity_exists(&task.resource) {
                    return Err(StatesError::Runtime(format!(
                        "The activity {} does not exist.",
                        task.resource
                    )));
                }
                let mut d = json!({"resource": task.resource, "input": json_text(&eff), "inputDetails": {"truncated": false}});
                if let Some(t) = timeout {
                    d["timeoutInSeconds"] = json!(t);
                }
                if let Some(h) = heartbeat {
                    d["heartbeatInSeconds"] = json!(h);
                }
                let task_id = self.push("ActivityScheduled", "activityScheduledEventDetails", d);
                th.waiting = Waiting::Activity {
                    task_id,
                    started: false,
                };
                self.out.effects.push(Effect::ScheduleActivity {
                    task_id,
                    resource: task.resource.clone(),
                    input: eff,
                    timeout_seconds: timeout,
                    heartbeat_seconds: heartbeat,
                });
                Flow::Blocked
            }
            StateKind::Choice { choices, default } => {
                let eff = dataflow::effective_input(state, &raw, &ctx, self.entropy)?;
                // A matched rule's Assign applies, or the state's own when it goes to Default.
                let (next, rule) =
                    match jsonata::choose(state, choices, &raw, &eff, &ctx, self.entropy)? {
                        Some(i) => (choices[i].next.clone(), Some(&choices[i])),
                        None => match default {
                            Some(d) => (d.clone(), None),
                            None => return Err(choice::no_choice_matched(&eff)),
                        },
                    };
                let (out, assigned) = variables::pass_through_and_assign(
                    state,
                    &raw,
                    &eff,
                    jsonata::step_fields(state, rule),
                    &ctx,
                    self.entropy,
                )?;
                let mut d = io_details("output", Some(&th.state), &out);
                if let Some(a) = &assigned {
                    self.assign(th, a)?;
                    variables::add_to_exit_details(&mut d, a);
                }
                self.push("ChoiceStateExited", "stateExitedEventDetails", d);
                Flow::Goto(next, out)
            }
            StateKind::Wait(spec) => {
                let eff = dataflow::effective_input(state, &raw, &ctx, self.entropy)?;
                let due_ms =
                    jsonata::due_time(state, spec, &raw, &eff, &ctx, self.now_ms, self.entropy)?;
                let timer_id = th.entered_event_id;
                th.waiting = Waiting::Timer { timer_id };
                self.out.effects.push(Effect::ArmTimer { timer_id, due_ms });
                Flow::Blocked
            }
            StateKind::Succeed => {
                let eff = dataflow::effective_input(state, &raw, &ctx, self.entropy)?;
                let out = dataflow::state_output(
                    &no_result_fields(state),
                    &eff,
                    &eff,
                    &ctx,
                    self.entropy,
                )?;
                self.push(
                    "SucceedStateExited",
                    "stateExitedEventDetails",
                    io_details("output", Some(&th.state), &out),
                );
                Flow::Done(out)
            }
            StateKind::Fail(fail) => {
                let (error, cause) =
                    jsonata::fail_error_cause(state, fail, &raw, &ctx, self.entropy)?;
                Flow::Failed(error.unwrap_or_default(), cause.unwrap_or_default())
            }
            StateKind::Parallel { branches } => {
                let eff = dataflow::effective_input(state, &raw, &ctx, self.entropy)?;
                self.push("ParallelStateStarted", "", Value::Null);
                let n = branches.len();
                th.fanout = Some(Box::new(Fanout {
                    is_map: false,
                    effective_input: eff,
                    items: Vec::new(),
                    children: vec![None; n],
                    results: vec![None; n],
                    max_concurrency: 0,
                }));
                th.waiting = Waiting::Children;
                self.start_children(state, th)
            }
            StateKind::Map(map) if map.distributed.is_some() => {
                self.map_run_start(state, th, map)?
            }
            StateKind::Map(map) => {
                let eff = dataflow::effective_input(state, &raw, &ctx, self.entropy)?;
                let items = jsonata::map_items(state, map, &raw, &eff, &ctx, self.entropy)?;
                let max_concurrency =
                    jsonata::max_concurrency(state, map, &raw, &eff, &ctx, self.entropy)?;
                self.push(
                    "MapStateStarted",
                    "mapStateStartedEventDetails",
                    json!({"length": items.len()}),
                );
                let n = items.len();
                th.fanout = Some(Box::new(Fanout {
                    is_map: true,
                    effective_input: eff,
                    items,
                    children: vec![None; n],
                    results: vec![None; n],
                    max_concurrency,
                }));
                th.waiting = Waiting::Children;
                self.start_children(state, th)
            }
        })
    }

    /// Starts children not yet started, within the Map's concurrency limit, and settles the state if
    /// they are all done.
    fn start_children(&mut self, state: &State, th: &mut Thread) -> Flow {
        loop {
            let Some(fan) = th.fanout.as_mut() else {
                return Flow::Blocked;
            };
            let running = fan
                .children
                .iter()
                .zip(&fan.results)
                .filter(|(c, r)| c.is_some() && r.is_none())
                .count() as u64;
            let next = fan.children.iter().position(Option::is_none);
            let Some(i) =
                next.filter(|_| fan.max_concurrency == 0 || running < fan.max_concurrency)
            else {
                break;
            };
            let (sub, input) = match &state.kind {
                StateKind::Parallel { branches } => match branches.get(i) {
                    Some(b) => (b, fan.effective_input.clone()),
                    None => break,
                },
                StateKind::Map(map) => {
                    let item = fan.items[i].clone();
                    self.push(
                        "MapIterationStarted",
                        "mapIterationStartedEventDetails",
                        json!({"name": th.state, "index": i}),
                    );
                    let ctx = self.context(
                        th,
                        Some(MapItem {
                            index: i as u64,
                            value: item.clone(),
                        }),
                    );
                    let fan = th
                        .fanout
                        .as_ref()
                        .map(|f| f.effective_input.clone())
                        .unwrap_or(Value::Null);
                    let raw = th.raw_input.clone();
                    match jsonata::map_item_input(state, map, &item, &raw, &fan, &ctx, self.entropy)
                    {
                        Ok(input) => (&*map.processor, input),
                        Err(e) => {
                            let (error, cause) = self.runtime(th, e);
                            return self.children_failed(state, th, Some(i), error, cause);
                        }
                    }
                }
                _ => break,
            };
            let mut child = Thread {
                state: String::new(),
                raw_input: Value::Null,
                entered_event_id: 0,
                entered_ms: self.now_ms,
                retry_counts: Vec::new(),
                waiting: Waiting::Nothing,
                fanout: None,
                variables: serde_json::Map::new(),
                map_run: None,
            };
            let saved = self.enter_scope(th);
            let flow = self.enter(sub, &mut child, &sub.start_at, input);
            self.outer = saved;
            if let Some(fan) = th.fanout.as_mut() {
                fan.children[i] = Some(child);
            }
            if let Some(done) = self.child_flow(state, th, i, flow) {
                return done;
            }
        }
        self.settle_children(state, th)
    }

    /// Records a child's flow; `Some` when the parent state is finished with (failed).
    fn child_flow(&mut self, state: &State, th: &mut Thread, i: usize, flow: Flow) -> Option<Flow> {
        match flow {
            // Children's flows arrive resolved (`enter` / `deliver` follow their Gotos).
            Flow::Blocked | Flow::Goto(..) => None,
            Flow::Done(v) => {
                let is_map = th.fanout.as_ref().is_some_and(|f| f.is_map);
                if let Some(fan) = th.fanout.as_mut() {
                    fan.results[i] = Some(v);
                }
                if is_map {
                    self.push(
                        "MapIterationSucceeded",
                        "mapIterationSucceededEventDetails",
                        json!({"name": th.state, "index": i}),
                    );
                }
                None
            }
            Flow::Failed(error, cause) => {
                Some(self.children_failed(state, th, Some(i), error, cause))
            }
        }
    }

    fn settle_children(&mut self, state: &State, th: &mut Thread) -> Flow {
        let Some(fan) = th.fanout.as_ref() else {
            return Flow::Blocked;
        };
        if fan.results.iter().any(Option::is_none) {
            return Flow::Blocked;
        }
        let result = Value::Array(
            fan.results
                .iter()
                .map(|r| r.clone().unwrap_or(Value::Null))
                .collect(),
        );
        let ty = if fan.is_map {
            "MapStateSucceeded"
        } else {
            "ParallelStateSucceeded"
        };
        self.push(ty, "", Value::Null);
        th.fanout = None;
        th.waiting = Waiting::Nothing;
        let ctx = self.context(th, None);
        match variables::output_and_assign(
            state,
            &th.raw_input.clone(),
            &result,
            &ctx,
            self.entropy,
        )
        .and_then(|(out, assigned)| self.exit_assigning(state, th, out, assigned))
        {
            Ok(flow) => flow,
            Err(e) => {
                let (error, cause) = self.runtime(th, e);
                self.state_failed(state, th, error, cause)
            }
        }
    }

    fn children_failed(
        &mut self,
        state: &State,
        th: &mut Thread,
        failed: Option<usize>,
        error: String,
        cause: String,
    ) -> Flow {
        let is_map = th.fanout.as_ref().is_some_and(|f| f.is_map);
        if let (true, Some(i)) = (is_map, failed) {
            self.push(
                "MapIterationFailed",
                "mapIterationFailedEventDetails",
                json!({"name": th.state, "index": i}),
            );
        }
        // The fanout stays (a retry or a catch replaces it): RedriveExecution re-runs only the
        // branches / iterations without a result (`redrive`).
        if let Some(fan) = th.fanout.as_ref() {
            for (i, c) in fan.children.iter().enumerate() {
                if let (Some(c), None) = (c, &fan.results[i]) {
                    if Some(i) != failed {
                        self.cancel(c);
                        if is_map {
                            self.push(
                                "MapIterationAborted",
                                "mapIterationAbortedEventDetails",
                                json!({"name": th.state, "index": i}),
                            );
                        }
                    }
                }
            }
        }
        th.waiting = Waiting::Nothing;
        self.push(
            if is_map {
                "MapStateFailed"
            } else {
                "ParallelStateFailed"
            },
            "",
            Value::Null,
        );
        self.state_failed(state, th, error, cause)
    }

    /// Cancels whatever a thread (and its children) waits for.
    fn cancel(&mut self, th: &Thread) {
        cancels(th, &mut self.out.effects);
        self.map_runs_aborted(th);
    }

    /// The state raised `error`: retry, catch, or fail the thread.
    fn state_failed(
        &mut self,
        state: &State,
        th: &mut Thread,
        error: String,
        cause: String,
    ) -> Flow {
        th.waiting = Waiting::Nothing;
        let random = self.entropy.unit();
        if let RetryDecision::Retry { retrier, delay_ms } =
            next_retry(&state.retry, &th.retry_counts, &error, random)
        {
            if let Some(c) = th.retry_counts.get_mut(retrier) {
                *c += 1;
            }
            let timer_id = self.private_id();
            th.waiting = Waiting::Retry { timer_id };
            self.out.effects.push(Effect::ArmTimer {
                timer_id,
                due_ms: self.now_ms.saturating_add(delay_ms as i64),
            });
            return Flow::Blocked;
        }
        if let Some(catcher) = crate::retry::find_catcher(&state.catch, &error) {
            let ctx = self.context(th, None);
            let raw = th.raw_input.clone();
            let caught = jsonata::catch_output_and_assign(
                state,
                catcher,
                &raw,
                &error,
                &cause,
                &ctx,
                self.entropy,
            )
            .and_then(|(out, assigned)| {
                // A catcher with Assign: AWS writes the state's `...StateExited` with the variables
                // (localstack's snapshot of `test_assign_in_catch_state`, recorded against AWS).
                if let Some(a) = &assigned {
                    self.assign(th, a)?;
                    let mut d = io_details("output", Some(&th.state), &out);
                    variables::add_to_exit_details(&mut d, a);
                    self.push(
                        &format!("{}StateExited", state.type_name()),
                        "stateExitedEventDetails",
                        d,
                    );
                }
                Ok(out)
            });
            return match caught {
                // No `...StateExited` for a caught error: AWS goes straight to the handler's
                // `...StateEntered` (e.g. TaskStateEntered, TaskFailed, FailStateEntered, as a
                // recorded history in aws-solutions-library-samples/...#1139 shows).
                Ok(out) => Flow::Goto(catcher.next.clone(), out),
                Err(e) => {
                    let (error, cause) = self.runtime(th, e);
                    Flow::Failed(error, cause)
                }
            };
        }
        Flow::Failed(error, cause)
    }

    /// Sets assigned variables in the thread, within AWS's size limits.
    fn assign(
        &mut self,
        th: &mut Thread,
        assigned: &variables::Assigned,
    ) -> Result<(), StatesError> {
        variables::check_scope(assigned, &self.outer)?;
        variables::check_sizes(assigned, &th.variables, &self.outer)?;
        for (k, v) in assigned {
            th.variables.insert(k.clone(), v.clone());
        }
        Ok(())
    }

    /// [`Engine::exit`], first setting the variables the state assigned.
    fn exit_assigning(
        &mut self,
        state: &State,
        th: &mut Thread,
        out: Value,
        assigned: Option<variables::Assigned>,
    ) -> Result<Flow, StatesError> {
        if let Some(a) = &assigned {
            self.assign(th, a)?;
        }
        Ok(self.exit_with(state, th, out, assigned.as_ref()))
    }

    /// Exits without assigning variables.
    #[allow(dead_code)]
    fn exit(&mut self, state: &State, th: &mut Thread, out: Value) -> Flow {
        self.exit_with(state, th, out, None)
    }

    fn exit_with(
        &mut self,
        state: &State,
        th: &mut Thread,
        out: Value,
        assigned: Option<&variables::Assigned>,
    ) -> Flow {
        let ty = format!("{}StateExited", state.type_name());
        let mut d = io_details("output", Some(&th.state), &out);
        if let Some(a) = assigned {
            variables::add_to_exit_details(&mut d, a);
        }
        self.push(&ty, "stateExitedEventDetails", d);
        match &state.transition {
            Transition::Next(n) => Flow::Goto(n.clone(), out),
            Transition::End | Transition::None => Flow::Done(out),
        }
    }

    /// Delivers an event to the thread that waits for it and runs that thread on; `None` if no thread
    /// in this subtree waits for it.
    fn deliver(&mut self, def: &Definition, th: &mut Thread, ev: &Event) -> Option<Flow> {
        let flow = self.deliver_here(def, th, ev)?;
        Some(self.run(def, th, flow))
    }

    fn deliver_here(&mut self, def: &Definition, th: &mut Thread, ev: &Event) -> Option<Flow> {
        let state = def.state(&th.state)?;
        match (&th.waiting, ev) {
            (
                Waiting::Activity { task_id, .. },
                Event::ActivityStarted {
                    task_id: t,
                    worker_name,
                },
            ) if task_id == t => {
                let d = match worker_name {
                    Some(w) => json!({"workerName": w}),
                    None => json!({}),
                };
                self.push("ActivityStarted", "activityStartedEventDetails", d);
                th.waiting = Waiting::Activity {
                    task_id: *t,
                    started: true,
                };
                Some(Flow::Blocked)
            }
            (
                Waiting::Activity { task_id, .. },
                Event::ActivitySucceeded { task_id: t, output },
            ) if task_id == t => {
                self.push(
                    "ActivitySucceeded",
                    "activitySucceededEventDetails",
                    json!({"output": json_text(output), "outputDetails": {"truncated": false}}),
                );
                th.waiting = Waiting::Nothing;
                let ctx = self.context(th, None);
                let raw = th.raw_input.clone();
                Some(
                    match check_size(output, "output")
                        .and_then(|_| {
                            variables::output_and_assign(state, &raw, output, &ctx, self.entropy)
                        })
                        .and_then(|(out, assigned)| self.exit_assigning(state, th, out, assigned))
                    {
                        Ok(flow) => flow,
                        Err(e) => {
                            let (error, cause) = self.runtime(th, e);
                            self.state_failed(state, th, error, cause)
                        }
                    },
                )
            }
            (
                Waiting::Activity { task_id, .. },
                Event::ActivityFailed {
                    task_id: t,
                    error,
                    cause,
                },
            ) if task_id == t => {
                let mut d = serde_json::Map::new();
                if let Some(e) = error {
                    d.insert("error".into(), json!(e));
                }
                if let Some(c) = cause {
                    d.insert("cause".into(), json!(c));
                }
                self.push(
                    "ActivityFailed",
                    "activityFailedEventDetails",
                    Value::Object(d),
                );
                Some(self.state_failed(
                    state,
                    th,
                    error.clone().unwrap_or_default(),
                    cause.clone().unwrap_or_default(),
                ))
            }
            (
                Waiting::Activity { task_id, .. },
                Event::ActivityTimedOut {
                    task_id: t,
                    error,
                    cause,
                },
            ) if task_id == t => {
                let mut d = json!({"error": error});
                if let Some(c) = cause {
                    d["cause"] = json!(c);
                }
                self.push("ActivityTimedOut", "activityTimedOutEventDetails", d);
                Some(self.state_failed(state, th, error.clone(), cause.clone().unwrap_or_default()))
            }
            (Waiting::Timer { timer_id }, Event::TimerFired { timer_id: t }) if timer_id == t => {
                th.waiting = Waiting::Nothing;
                let ctx = self.context(th, None);
                let raw = th.raw_input.clone();
                let res = dataflow::effective_input(state, &raw, &ctx, self.entropy)
                    .and_then(|eff| {
                        variables::pass_through_and_assign(
                            state,
                            &raw,
                            &eff,
                            jsonata::step_fields(state, None),
                            &ctx,
                            self.entropy,
                        )
                    })
                    .and_then(|(out, assigned)| self.exit_assigning(state, th, out, assigned));
                Some(match res {
                    Ok(flow) => flow,
                    Err(e) => {
                        let (error, cause) = self.runtime(th, e);
                        Flow::Failed(error, cause)
                    }
                })
            }
            (Waiting::Retry { timer_id }, Event::TimerFired { timer_id: t }) if timer_id == t => {
                th.waiting = Waiting::Nothing;
                th.fanout = None;
                Some(self.execute(def, th))
            }
            (Waiting::Children, _) => {
                let n = th.fanout.as_ref().map(|f| f.children.len()).unwrap_or(0);
                for i in 0..n {
                    let sub: &Definition = match &state.kind {
                        StateKind::Parallel { branches } => branches.get(i)?,
                        StateKind::Map(map) => &map.processor,
                        _ => return None,
                    };
                    let Some(mut child) = th
                        .fanout
                        .as_mut()
                        .and_then(|f| f.children.get_mut(i))
                        .and_then(Option::take)
                    else {
                        continue;
                    };
                    let flow = if th.fanout.as_ref().is_some_and(|f| f.results[i].is_none()) {
                        let saved = self.enter_scope(th);
                        let flow = self.deliver(sub, &mut child, ev);
                        self.outer = saved;
                        flow
                    } else {
                        None
                    };
                    if let Some(fan) = th.fanout.as_mut() {
                        fan.children[i] = Some(child);
                    }
                    if let Some(flow) = flow {
                        if let Some(done) = self.child_flow(state, th, i, flow) {
                            return Some(done);
                        }
                        return Some(self.start_children(state, th));
                    }
                }
                None
            }
            (Waiting::MapRun { run_id }, ev) => {
                let run_id = *run_id;
                self.map_run_deliver(state, th, run_id, ev)
            }
            (Waiting::Nested { task_id, mode }, ev) => {
                let (task_id, mode) = (*task_id, *mode);
                self.nested_deliver(state, th, task_id, mode, ev)
            }
            _ => None,
        }
    }
}

/// The effects that cancel whatever a thread (and its running children) waits for.
fn cancels(th: &Thread, effects: &mut Vec<Effect>) {
    match th.waiting {
        Waiting::Activity { task_id, .. } => effects.push(Effect::CancelActivity { task_id }),
        Waiting::Timer { timer_id } | Waiting::Retry { timer_id } => {
            effects.push(Effect::CancelTimer { timer_id })
        }
        Waiting::Nested { task_id, .. } => effects.push(Effect::CancelActivity { task_id }),
        Waiting::MapRun { run_id } => effects.push(Effect::CancelActivity { task_id: run_id }),
        Waiting::Children | Waiting::Nothing => {}
    }
    if let Some(fan) = &th.fanout {
        for (c, r) in fan.children.iter().zip(&fan.results) {
            if let (Some(c), None) = (c, r) {
                cancels(c, effects);
            }
        }
    }
}

/// A copy of the state without ResultSelector / ResultPath (Choice, Wait and Succeed states pass
/// their effective input through OutputPath only).
fn no_result_fields(state: &State) -> State {
    State {
        result_selector: None,
        result_path: crate::definition::PathField::Default,
        ..state.clone()
    }
}

fn finish(eng: &mut Engine, status: &mut Status, flow: Flow) {
    match flow {
        Flow::Blocked | Flow::Goto(..) => {}
        Flow::Done(out) => {
            eng.push(
                "ExecutionSucceeded",
                "executionSucceededEventDetails",
                json!({"output": json_text(&out), "outputDetails": {"truncated": false}}),
            );
            *status = Status::Succeeded;
        }
        Flow::Failed(error, cause) => {
            eng.push(
                "ExecutionFailed",
                "executionFailedEventDetails",
                json!({"error": error, "cause": cause}),
            );
            *status = Status::Failed;
        }
    }
}

fn limit_history(exec: &mut ExecutionState, out: &mut Outcome, first_id: u64, now_ms: i64) {
    let over = exec.last_event_id > MAX_HISTORY_EVENTS
        || (exec.last_event_id == MAX_HISTORY_EVENTS && exec.status == Status::Running);
    if !over {
        return;
    }
    // Nothing this step asked for happens; whatever the execution still waits for is cancelled.
    out.effects.clear();
    cancels(&exec.root, &mut out.effects);
    // Keep events up to the limit minus one, then fail the execution with the last one.
    let keep = (MAX_HISTORY_EVENTS - 1).saturating_sub(first_id - 1) as usize;
    out.events.truncate(keep);
    let id = MAX_HISTORY_EVENTS;
    out.events.push(HistoryEvent {
        id,
        previous_event_id: id - 1,
        timestamp_ms: now_ms,
        event_type: "ExecutionFailed".into(),
        details_member: "executionFailedEventDetails".into(),
        details: json!({"error": "States.Runtime", "cause": format!("The execution reached the maximum number of history events ({MAX_HISTORY_EVENTS}).")}),
    });
    exec.last_event_id = id;
    exec.status = Status::Failed;
}

/// Starts an execution: ExecutionStarted, then the first state(s) until something blocks.
/// `seed` is the leader-stamped seed of the execution's randomness.
pub fn start(
    def: &Definition,
    info: ExecutionInfo,
    seed: u64,
    stamp: Stamp,
) -> (ExecutionState, Outcome) {
    start_in(def, info, seed, stamp, &EveryActivityExists)
}

/// [`start`], asking `world` what it needs to know (whether activities exist).
pub fn start_in(
    def: &Definition,
    info: ExecutionInfo,
    seed: u64,
    stamp: Stamp,
    world: &dyn World,
) -> (ExecutionState, Outcome) {
    let mut exec = ExecutionState {
        format: FORMAT,
        status: Status::Running,
        last_event_id: 0,
        next_private_id: u64::MAX,
        entropy: Entropy::new(seed),
        root: Thread {
            state: String::new(),
            raw_input: Value::Null,
            entered_event_id: 0,
            entered_ms: stamp.now_ms,
            retry_counts: Vec::new(),
            waiting: Waiting::Nothing,
            fanout: None,
            variables: serde_json::Map::new(),
            map_run: None,
        },
        info,
    };
    let info = exec.info.clone();
    let mut eng = Engine::over(
        stamp,
        world,
        &info,
        &mut exec.entropy,
        &mut exec.last_event_id,
        &mut exec.next_private_id,
    );
    let mut d = json!({"input": json_text(&info.input), "inputDetails": {"truncated": false}, "roleArn": info.role_arn});
    if let Some(a) = &info.alias_arn {
        d["stateMachineAliasArn"] = json!(a);
    }
    if let Some(v) = &info.version_arn {
        d["stateMachineVersionArn"] = json!(v);
    }
    eng.push("ExecutionStarted", "executionStartedEventDetails", d);
    if let Some(t) = def.timeout_seconds {
        eng.out.effects.push(Effect::ArmExecutionTimeout {
            due_ms: stamp.now_ms.saturating_add(t as i64 * 1000),
        });
    }
    let flow = eng.enter(def, &mut exec.root, &def.start_at, info.input.clone());
    finish(&mut eng, &mut exec.status, flow);
    let mut out = eng.out;
    // AWS writes the first state's `...StateEntered` (event 2) with `previousEventId: 0`, not 1 (every
    // history recorded against AWS in localstack's tests/aws/services/stepfunctions snapshots, e.g.
    // v2/activities/test_activities.snapshot.json); the events after it chain as usual.
    if let Some(e) = out.events.get_mut(1) {
        e.previous_event_id = 0;
    }
    limit_history(&mut exec, &mut out, 1, stamp.now_ms);
    (exec, out)
}

/// Applies one event. Events for tasks or timers no longer waited for change nothing (empty outcome).
pub fn handle(def: &Definition, exec: &mut ExecutionState, event: &Event, stamp: Stamp) -> Outcome {
    handle_in(def, exec, event, stamp, &EveryActivityExists)
}

/// [`handle`], asking `world` what it needs to know (whether activities exist).
pub fn handle_in(
    def: &Definition,
    exec: &mut ExecutionState,
    event: &Event,
    stamp: Stamp,
    world: &dyn World,
) -> Outcome {
    if exec.status != Status::Running {
        return Outcome::default();
    }
    let first_id = exec.last_event_id + 1;
    let info = exec.info.clone();
    let mut eng = Engine::over(
        stamp,
        world,
        &info,
        &mut exec.entropy,
        &mut exec.last_event_id,
        &mut exec.next_private_id,
    );
    match event {
        Event::Stop { error, cause } => {
            eng.cancel(&exec.root);
            let mut d = serde_json::Map::new();
            if let Some(e) = error {
                d.insert("error".into(), json!(e));
            }
            if let Some(c) = cause {
                d.insert("cause".into(), json!(c));
            }
            eng.push(
                "ExecutionAborted",
                "executionAbortedEventDetails",
                Value::Object(d),
            );
            exec.status = Status::Aborted;
        }
        Event::ExecutionTimedOut => {
            eng.cancel(&exec.root);
            eng.push(
                "ExecutionTimedOut",
                "executionTimedOutEventDetails",
                json!({"error": "States.Timeout", "cause": "The execution timed out."}),
            );
            exec.status = Status::TimedOut;
        }
        ev => {
            if let Some(flow) = eng.deliver(def, &mut exec.root, ev) {
                finish(&mut eng, &mut exec.status, flow);
            }
        }
    }
    let mut out = eng.out;
    limit_history(exec, &mut out, first_id, stamp.now_ms);
    out
}

#[path = "redrive.rs"]
pub mod redrive;

#[path = "interpret_nested.rs"]
mod interpret_nested;

#[path = "interpret_distributed.rs"]
mod interpret_distributed;

#[cfg(test)]
#[path = "interpret_test.rs"]
mod interpret_test;
