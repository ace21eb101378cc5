//! Executions: StartExecution (STANDARD idempotency, the open executions quota; Express runs, see
//! `express`), StopExecution, and `advance`, which carries out
//! one interpreter step — stores its history events, queues and closes activity tasks, arms and
//! disarms deadlines, and closes the execution when the interpreter says it ended.

use std::cell::RefCell;

use serde_json::{json, Value};
use sfn_lang::interpret::{self, Effect, Event, ExecutionInfo, Stamp, Status, World};
use swf_types::{Fault, FaultKind, Timestamp};

use super::arn::{self, Kind};
use super::command::{StartExecutionInput, StopExecutionInput};
use super::records::{
    Activity, Alias, Execution, OpenTask, ParentLink, StateMachine, TaskEnd, Version,
};
use super::state_machines::does_not_exist;
use super::{
    deadline, fault, get, keys, put, reply, stored_definitions, SfnDeadline, TASKS_DOMAIN,
};
use crate::command::Outcome;
use crate::ctx::{fault, Ctx};
use crate::state::{Lookup, QueuedTask, ReadError, TaskKind, Write};

/// `ExecutionLimitExceeded`'s message: the model's description of the error.
pub(crate) const EXECUTION_LIMIT: &str = "The maximum number of running executions has been reached. Running executions must end or be stopped before a new execution can be started.";

/// Largest input or output (256 KiB, UTF-8 bytes).
pub const MAX_PAYLOAD: usize = 262_144;

/// `Execution Does Not Exist: '<arn>'`.
pub(crate) fn does_not_exist_execution(exec_arn: &str) -> Fault {
    fault(
        FaultKind::ExecutionDoesNotExist,
        format!("Execution Does Not Exist: '{exec_arn}'"),
    )
}

/// The interpreter's view of the replicated state (seeing this command's own writes): whether an
/// activity exists. A read error is kept and returned once the step is done (the activity is taken to
/// exist meanwhile; the command fails as a whole).
pub(super) struct StateWorld<'c, 'a, S: Lookup + ?Sized> {
    ctx: &'c Ctx<'a, S>,
    error: RefCell<Option<ReadError>>,
}

impl<'c, 'a, S: Lookup + ?Sized> StateWorld<'c, 'a, S> {
    pub(super) fn new(ctx: &'c Ctx<'a, S>) -> Self {
        StateWorld {
            ctx,
            error: RefCell::new(None),
        }
    }

    pub(super) fn done(self) -> Result<(), ReadError> {
        self.error.into_inner().map_or(Ok(()), Err)
    }
}

impl<S: Lookup + ?Sized> World for StateWorld<'_, '_, S> {
    fn activity_exists(&self, activity_arn: &str) -> bool {
        // An ARN of another region or account names nothing here.
        let Ok(Some(names)) = arn::parse(self.ctx.limits, activity_arn, Kind::Activity) else {
            return false;
        };
        match get::<Activity, S>(self.ctx, &keys::activity(&names[0])) {
            Ok(found) => found.is_some(),
            Err(e) => {
                self.error.borrow_mut().get_or_insert(e);
                true
            }
        }
    }

    fn task_token(&self, execution_arn: &str, task_id: u64) -> Option<String> {
        match super::children::task_token(self.ctx, execution_arn, task_id) {
            Ok(t) => Some(t),
            Err(e) => {
                self.error.borrow_mut().get_or_insert(e);
                None
            }
        }
    }
}

/// The execution an ARN names, or `ExecutionDoesNotExist` (`InvalidArn` for a malformed ARN).
pub(crate) fn load<S: Lookup + ?Sized>(
    ctx: &Ctx<'_, S>,
    exec_arn: &str,
) -> Result<Result<Execution, Fault>, ReadError> {
    if let Err(f) = arn::parse(ctx.limits, exec_arn, Kind::Execution) {
        return Ok(Err(f));
    }
    let Some(mut exec) = get::<Execution, S>(ctx, &keys::execution(exec_arn))? else {
        return Ok(Err(does_not_exist_execution(exec_arn)));
    };
    stored_definitions::fill(ctx, &mut exec)?;
    Ok(Ok(exec))
}

/// The execution stored under `exec_arn`, whatever its kind (`load` refuses an `express:` ARN, as
/// the API does): for the engine's own work, such as a deadline firing.
pub(crate) fn load_any<S: Lookup + ?Sized>(
    ctx: &Ctx<'_, S>,
    exec_arn: &str,
) -> Result<Option<Execution>, ReadError> {
    let Some(mut exec) = get::<Execution, S>(ctx, &keys::execution(exec_arn))? else {
        return Ok(None);
    };
    stored_definitions::fill(ctx, &mut exec)?;
    Ok(Some(exec))
}

/// What an execution runs, from the ARN StartExecution was given: the state machine, and the
/// definition and role of its current revision, of a version, or of the version an alias chose.
pub(crate) struct Run {
    pub machine: StateMachine,
    pub definition: String,
    pub role_arn: String,
    pub version_arn: Option<String>,
    pub alias_arn: Option<String>,
}

/// Resolves a state machine, version or alias ARN for StartExecution (`None`: nothing by that
/// name); an alias picks one of its versions from `seed`.
pub(crate) fn resolve<S: Lookup + ?Sized>(
    ctx: &Ctx<'_, S>,
    sm_arn: &str,
    seed: u64,
) -> Result<Result<Option<Run>, Fault>, ReadError> {
    let (name, qualifier) = match arn::parse_qualified(ctx.limits, sm_arn) {
        Err(f) => return Ok(Err(f)),
        Ok(None) => return Ok(Ok(None)),
        Ok(Some(x)) => x,
    };
    let Some(machine) = get::<StateMachine, S>(ctx, &keys::state_machine(&name))? else {
        return Ok(Ok(None));
    };
    let (version_number, alias_arn) = match qualifier {
        arn::Qualifier::Latest => {
            return Ok(Ok(Some(Run {
                definition: machine.definition.clone(),
                role_arn: machine.role_arn.clone(),
                machine,
                version_arn: None,
                alias_arn: None,
            })))
        }
        arn::Qualifier::Version(n) => (n, None),
        arn::Qualifier::Alias(a) => {
            let Some(alias) = get::<Alias, S>(ctx, &keys::alias(&name, &a))? else {
                return Ok(Ok(None));
            };
            match arn::parse_qualified(ctx.limits, super::aliases::choose(&alias, seed)) {
                Ok(Some((_, arn::Qualifier::Version(n)))) => (n, Some(alias.arn.clone())),
                _ => return Ok(Ok(None)),
            }
        }
    };
    let Some(v) = get::<Version, S>(ctx, &keys::version(&name, version_number))? else {
        return Ok(Ok(None));
    };
    Ok(Ok(Some(Run {
        definition: v.definition,
        role_arn: v.role_arn,
        machine,
        version_arn: Some(v.arn),
        alias_arn,
    })))
}

pub(super) fn start<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    i: &StartExecutionInput,
    default_name: &str,
    seed: u64,
) -> Result<Outcome, ReadError> {
    start_run(ctx, i, default_name, seed, false)
}

/// StartExecution (`sync`: StartSyncExecution's start, refused on STANDARD). An execution of an
/// EXPRESS state machine gets an `express:` ARN, no ListExecutions index entry and the five-minute
/// limit (`express`).
pub(super) fn start_run<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    i: &StartExecutionInput,
    default_name: &str,
    seed: u64,
    sync: bool,
) -> Result<Outcome, ReadError> {
    let Some(run) = fault!(resolve(ctx, &i.state_machine_arn, seed)?) else {
        return Ok(Err(does_not_exist(&i.state_machine_arn)));
    };
    if sync && !run.machine.express {
        return Ok(Err(super::express::not_supported()));
    }
    let (exec_arn, started) = fault!(launch(ctx, &Launch::of(run), i, default_name, seed, None)?);
    Ok(reply(
        json!({"executionArn": exec_arn, "startDate": started}),
    ))
}

/// Starts a nested-execution Task's child (`parent`): its ARN and start date, or StartExecution's
/// fault.
pub(crate) fn start_with<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    i: &StartExecutionInput,
    default_name: &str,
    seed: u64,
    parent: Option<ParentLink>,
) -> Result<Result<(String, Timestamp), Fault>, ReadError> {
    let Some(run) = fault!(resolve(ctx, &i.state_machine_arn, seed)?) else {
        return Ok(Err(does_not_exist(&i.state_machine_arn)));
    };
    launch(ctx, &Launch::of(run), i, default_name, seed, parent)
}

/// What an execution runs, resolved: a state machine (or its version or alias), or a Map Run's
/// ItemProcessor (`map_run_arn`; its state machine name is `<machine>/<label>`).
pub(crate) struct Launch {
    pub state_machine_arn: String,
    pub state_machine_name: String,
    pub state_machine_updated: Timestamp,
    pub definition: String,
    pub role_arn: String,
    pub version_arn: Option<String>,
    pub alias_arn: Option<String>,
    pub map_run_arn: Option<String>,
    /// An EXPRESS state machine's run (`express`).
    pub express: bool,
}

impl Launch {
    /// What StartExecution of a resolved ARN runs.
    fn of(run: Run) -> Launch {
        Launch {
            state_machine_arn: run.machine.arn.clone(),
            state_machine_name: run.machine.name.clone(),
            state_machine_updated: run.machine.updated,
            express: run.machine.express,
            definition: run.definition,
            role_arn: run.role_arn,
            version_arn: run.version_arn,
            alias_arn: run.alias_arn,
            map_run_arn: None,
        }
    }
}

/// Starts an execution of `run` with `i`'s name and input.
pub(crate) fn launch<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    run: &Launch,
    i: &StartExecutionInput,
    default_name: &str,
    seed: u64,
    parent: Option<ParentLink>,
) -> Result<Result<(String, Timestamp), Fault>, ReadError> {
    let name = i.name.clone().unwrap_or_else(|| default_name.to_string());
    if !arn::valid_name(&name) {
        return Ok(Err(arn::invalid_name(&name)));
    }
    let input_text = i.input.clone().unwrap_or_else(|| "{}".to_string());
    let input: Value = match serde_json::from_str(&input_text) {
        Ok(v) if input_text.len() <= MAX_PAYLOAD => v,
        _ => {
            return Ok(Err(fault(
                FaultKind::InvalidExecutionInput,
                "Invalid State Machine Execution Input: 'Invalid execution input.'",
            )))
        }
    };
    let exec_arn = if run.express {
        super::express::execution_arn(ctx.limits, &run.state_machine_name, &name, seed)
    } else {
        arn::execution(ctx.limits, &run.state_machine_name, &name)
    };
    let key = keys::execution(&exec_arn);
    if let Some(e) = get::<Execution, S>(ctx, &key)? {
        // STANDARD idempotency: the same name and input while it runs is the same execution.
        if e.is_running() && e.input == input_text {
            return Ok(Ok((e.arn, e.started)));
        }
        return Ok(Err(fault(
            FaultKind::ExecutionAlreadyExists,
            format!("Execution Already Exists: '{exec_arn}'"),
        )));
    }
    let def = match super::definitions::parse(&run.definition) {
        Ok(d) => d,
        Err(e) => return Ok(Err(fault(FaultKind::InvalidDefinition, e.to_string()))),
    };
    // The open executions quota is a STANDARD one (AWS limits Express by start rate instead).
    if !run.express
        && super::counts(ctx)?.open_executions >= ctx.limits.sfn_max_open_executions as u64
    {
        return Ok(Err(fault(
            FaultKind::ExecutionLimitExceeded,
            EXECUTION_LIMIT,
        )));
    }
    let info = ExecutionInfo {
        execution_arn: exec_arn.clone(),
        name: name.clone(),
        role_arn: run.role_arn.clone(),
        start_time_ms: ctx.now.0,
        state_machine_arn: run.state_machine_arn.clone(),
        state_machine_name: run.state_machine_name.clone(),
        input,
        version_arn: run.version_arn.clone(),
        alias_arn: run.alias_arn.clone(),
        redrive_count: 0,
        redrive_time_ms: None,
    };
    let world = StateWorld::new(ctx);
    let (state, mut out) =
        interpret::start_in(&def, info, seed, Stamp { now_ms: ctx.now.0 }, &world);
    world.done()?;
    if run.express {
        super::express::cap_duration(&mut out, ctx.now.0);
    }
    let mut exec = Execution {
        arn: exec_arn.clone(),
        name: name.clone(),
        state_machine_arn: run.state_machine_arn.clone(),
        definition: run.definition.clone(),
        definition_id: None,
        role_arn: run.role_arn.clone(),
        state_machine_updated: run.state_machine_updated,
        input: input_text,
        status: "RUNNING".into(),
        started: ctx.now,
        stopped: None,
        output: None,
        error: None,
        cause: None,
        state,
        tasks: Default::default(),
        closed_tasks: Default::default(),
        timers: Default::default(),
        timeout_due: None,
        retention_due: None,
        version_arn: run.version_arn.clone(),
        alias_arn: run.alias_arn.clone(),
        redrive_tokens: Vec::new(),
        express: run.express,
        parent: parent.clone(),
        children: Default::default(),
        pending_children: Default::default(),
        map_run_arn: run.map_run_arn.clone(),
        map_runs: Vec::new(),
    };
    for scope in exec.index_scopes() {
        put(
            ctx,
            keys::execution_index(scope, ctx.now.0, &name),
            &exec_arn,
        );
    }
    if !exec.express {
        super::count(ctx, |c| c.open_executions += 1)?;
    }
    stored_definitions::attach(ctx, &mut exec)?;
    advance(ctx, &mut exec, out)?;
    Ok(Ok((exec_arn, exec.started)))
}

pub(super) fn stop<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    i: &StopExecutionInput,
) -> Result<Outcome, ReadError> {
    let mut exec = fault!(load(ctx, &i.execution_arn)?);
    if exec.is_running() {
        let event = Event::Stop {
            error: i.error.clone(),
            cause: i.cause.clone(),
        };
        fault!(step(ctx, &mut exec, &event)?);
    }
    Ok(reply(json!({"stopDate": exec.stopped.unwrap_or(ctx.now)})))
}

/// Delivers `event` to a running execution and carries out the step.
pub(crate) fn step<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    exec: &mut Execution,
    event: &Event,
) -> Result<Result<(), Fault>, ReadError> {
    let def = match super::definitions::parse(&exec.definition) {
        Ok(d) => d,
        Err(e) => {
            return Ok(Err(Fault::internal(format!(
                "stored definition does not parse: {e}"
            ))))
        }
    };
    let stamp = Stamp { now_ms: ctx.now.0 };
    let world = StateWorld::new(ctx);
    let out = interpret::handle_in(&def, &mut exec.state, event, stamp, &world);
    world.done()?;
    advance(ctx, exec, out)?;
    Ok(Ok(()))
}

/// Closes open task `task_id`: out of the queue if not started, its deadlines disarmed.
pub(crate) fn close_task<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    exec: &mut Execution,
    task_id: u64,
    end: TaskEnd,
) {
    let Some(task) = exec.tasks.remove(&task_id) else {
        return;
    };
    if !task.started {
        ctx.writes
            .push(Write::Dequeue(queued(exec, task_id, &task)));
    }
    if let Some(due) = task.timeout_due {
        let d = deadline(&exec.arn, SfnDeadline::TaskTimeout, task_id, due);
        ctx.writes.push(Write::Disarm(d));
    }
    if let Some(due) = task.heartbeat_due {
        let d = deadline(&exec.arn, SfnDeadline::TaskHeartbeat, task_id, due);
        ctx.writes.push(Write::Disarm(d));
    }
    exec.closed_tasks.insert(task_id, end);
}

/// The queue entry of an open task.
pub(crate) fn queued(exec: &Execution, task_id: u64, task: &OpenTask) -> QueuedTask {
    QueuedTask {
        domain: TASKS_DOMAIN.to_string(),
        kind: TaskKind::Activity,
        task_list: task.activity_arn.clone(),
        priority: 0,
        seq: task.seq,
        run_id: exec.arn.clone(),
        scheduled_event_id: task_id as i64,
    }
}

/// Carries out one interpreter step and stores the execution.
pub(crate) fn advance<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    exec: &mut Execution,
    out: interpret::Outcome,
) -> Result<(), ReadError> {
    // An Express execution keeps no history (AWS has none to show for it).
    for e in out.events.iter().filter(|_| !exec.express) {
        put(ctx, keys::history(&exec.arn, e.id), &e.to_wire());
    }
    for effect in out.effects {
        match effect {
            Effect::ScheduleActivity {
                task_id,
                resource,
                input,
                timeout_seconds,
                heartbeat_seconds,
            } => {
                let timeout_due =
                    timeout_seconds.map(|s| ctx.now.0.saturating_add(s as i64 * 1000));
                let task = OpenTask {
                    activity_arn: resource,
                    input: serde_json::to_string(&input).unwrap_or_else(|_| "{}".into()),
                    seq: ctx.index,
                    started: false,
                    timeout_due,
                    heartbeat_seconds,
                    heartbeat_due: None,
                    token_signed: false,
                };
                ctx.writes
                    .push(Write::Enqueue(queued(exec, task_id, &task)));
                if let Some(due) = timeout_due {
                    let d = deadline(&exec.arn, SfnDeadline::TaskTimeout, task_id, due);
                    ctx.writes.push(Write::Arm(d));
                }
                exec.tasks.insert(task_id, task);
            }
            Effect::CancelActivity { task_id } => {
                close_task(ctx, exec, task_id, TaskEnd::TimedOut);
                super::children::cancel(ctx, exec, task_id);
                super::map_runs::cancel(ctx, exec, task_id)?;
            }
            Effect::ArmTimer { timer_id, due_ms } => {
                let d = deadline(&exec.arn, SfnDeadline::Timer, timer_id, due_ms);
                ctx.writes.push(Write::Arm(d));
                exec.timers.insert(timer_id, due_ms);
            }
            Effect::CancelTimer { timer_id } => {
                if let Some(due) = exec.timers.remove(&timer_id) {
                    let d = deadline(&exec.arn, SfnDeadline::Timer, timer_id, due);
                    ctx.writes.push(Write::Disarm(d));
                }
            }
            Effect::ArmExecutionTimeout { due_ms } => {
                let d = deadline(&exec.arn, SfnDeadline::ExecutionTimeout, 0, due_ms);
                ctx.writes.push(Write::Arm(d));
                exec.timeout_due = Some(due_ms);
            }
            Effect::StartChild {
                task_id,
                mode,
                state_machine_arn,
                name,
                input,
                seed,
                timeout_seconds,
                heartbeat_seconds,
            } => {
                let child = super::records::PendingChild {
                    mode,
                    state_machine_arn,
                    name,
                    input,
                    seed,
                };
                let times = (timeout_seconds, heartbeat_seconds);
                super::children::schedule(ctx, exec, task_id, child, times)?;
            }
            Effect::StartMapRun {
                run_id,
                map_run_arn,
                state_name,
                state_machine_name,
                execution_type,
                inputs,
                max_concurrency,
                tolerated_percentage,
                tolerated_count,
                seed,
            } => {
                let start = super::map_runs::Start {
                    run_id,
                    map_run_arn,
                    state_name,
                    state_machine_name,
                    execution_type,
                    inputs,
                    max_concurrency,
                    tolerated_percentage,
                    tolerated_count,
                    seed,
                };
                exec.map_runs.push(run_id);
                super::map_runs::create(ctx, exec, start);
            }
            Effect::RedriveMapRun {
                run_id,
                map_run_arn: _,
            } => super::map_runs::redrive(ctx, exec, run_id)?,
        }
    }
    if exec.is_running() && exec.state.status != Status::Running {
        close(ctx, exec, &out.events)?;
        super::children::closed(ctx, exec);
    }
    stored_definitions::store(ctx, exec);
    Ok(())
}

/// Records the end of an execution: status, stop date, output or error; every open task, timer and
/// the execution timeout are dropped (a late Send* for a task gets `TaskTimedOut`); it no longer
/// counts as open.
fn close<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    exec: &mut Execution,
    events: &[interpret::HistoryEvent],
) -> Result<(), ReadError> {
    if !exec.express {
        super::count(ctx, |c| {
            c.open_executions = c.open_executions.saturating_sub(1)
        })?;
    }
    exec.status = match exec.state.status {
        Status::Running => "RUNNING",
        Status::Succeeded => "SUCCEEDED",
        Status::Failed => "FAILED",
        Status::TimedOut => "TIMED_OUT",
        Status::Aborted => "ABORTED",
    }
    .into();
    exec.stopped = Some(ctx.now);
    if let Some(last) = events.last() {
        let text = |k: &str| {
            last.details
                .get(k)
                .and_then(Value::as_str)
                .map(String::from)
        };
        match exec.state.status {
            Status::Succeeded => exec.output = text("output"),
            _ => {
                exec.error = text("error");
                exec.cause = text("cause");
            }
        }
    }
    let open: Vec<u64> = exec.tasks.keys().copied().collect();
    for task_id in open {
        close_task(ctx, exec, task_id, TaskEnd::TimedOut);
    }
    for (timer_id, due) in std::mem::take(&mut exec.timers) {
        let d = deadline(&exec.arn, SfnDeadline::Timer, timer_id, due);
        ctx.writes.push(Write::Disarm(d));
    }
    if let Some(due) = exec.timeout_due.take() {
        let d = deadline(&exec.arn, SfnDeadline::ExecutionTimeout, 0, due);
        ctx.writes.push(Write::Disarm(d));
    }
    let retention = if exec.express {
        super::express::RETENTION_MS
    } else {
        super::RETENTION_MS
    };
    let due = ctx.now.0.saturating_add(retention);
    ctx.writes.push(Write::Arm(deadline(
        &exec.arn,
        SfnDeadline::Retention,
        0,
        due,
    )));
    exec.retention_due = Some(due);
    Ok(())
}

/// Removes a closed execution whose retention ended: its record, its index entries and its history.
pub(crate) fn purge<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    exec: &Execution,
) -> Result<(), ReadError> {
    let stored_history = if exec.express {
        0
    } else {
        exec.state.last_event_id
    };
    for id in 1..=stored_history {
        super::delete(ctx, keys::history(&exec.arn, id));
    }
    for scope in exec.index_scopes() {
        super::delete(
            ctx,
            keys::execution_index(scope, exec.started.0, &exec.name),
        );
    }
    super::delete(ctx, keys::execution(&exec.arn));
    super::map_runs::purge(ctx, exec)?;
    stored_definitions::release(ctx, exec)
}
