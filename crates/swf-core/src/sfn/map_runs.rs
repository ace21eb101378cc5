//! Map Runs: the child executions of a Distributed Map over inline items (`sfn_lang::distributed`),
//! the MapRun resource and its APIs (DescribeMapRun, ListMapRuns, UpdateMapRun; ListExecutions with
//! `mapRunArn` lists a run's children, `query::list_executions`).
//!
//! A run is created by the parent's step (`Effect::StartMapRun`) and moved on by its own
//! deadlines, each fired as a command of its own: `MapRunStep` starts children in item order up to
//! `MaxConcurrency` (at most [`STARTS_PER_COMMAND`] per command) and ends the run when every child
//! ended; `MapRunChildClosed` (armed by a child's close, naming its item) records the child's end and
//! steps the run. A run ends SUCCEEDED with the children's outputs in item order, or FAILED with
//! `States.ExceedToleratedFailureThreshold` once more children failed than `ToleratedFailureCount`
//! and `ToleratedFailurePercentage` allow (its running children are stopped); the parent then gets
//! `MapRunEnded`. A parent that stops, fails elsewhere or times out aborts its runs. Children are
//! STANDARD executions of the Map's ItemProcessor, named by UUIDs drawn from the run's leader-seeded
//! entropy, with ARNs `execution:<machine>/<label>:<uuid>`; an `EXPRESS` ExecutionType runs them as
//! STANDARD too (Express executions are another change).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sfn_lang::distributed::{Tolerance, THRESHOLD_CAUSE, THRESHOLD_ERROR};
use sfn_lang::interpret::Event;
use sfn_lang::Entropy;
use swf_types::{Fault, FaultKind, Timestamp};

use super::command::{StartExecutionInput, UpdateMapRunInput};
use super::executions::{launch, load, step, Launch};
use super::query::SfnRead;
use super::records::{Execution, ParentLink};
use super::{deadline, fault, get, keys, put, reply, SfnDeadline};
use crate::command::Outcome;
use crate::ctx::Ctx;
use crate::limits::Limits;
use crate::state::{Deadline, Lookup, ReadError, Write};

/// Most children one command starts (the rest follow in the next `MapRunStep`).
pub const STARTS_PER_COMMAND: usize = 100;

/// Where one item (or batch) of a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ItemStatus {
    Pending,
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

impl ItemStatus {
    /// An item's status from its closed child's `ExecutionStatus`.
    fn ended(execution_status: &str) -> ItemStatus {
        match execution_status {
            "SUCCEEDED" => ItemStatus::Succeeded,
            "TIMED_OUT" => ItemStatus::TimedOut,
            "ABORTED" => ItemStatus::Aborted,
            _ => ItemStatus::Failed,
        }
    }
}

/// One child of a run: its input, the items it carries, its execution and its end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunItem {
    /// JSON text.
    pub input: String,
    /// Items in this child's input (1 without an ItemBatcher).
    pub items: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child: Option<String>,
    pub status: ItemStatus,
    /// The child's output (JSON text), or its error and cause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// Its child ended unsuccessfully and a redrive of the run could not redrive it.
    #[serde(default, skip_serializing_if = "crate::state::is_false")]
    pub not_redrivable: bool,
}

/// A Map Run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapRun {
    pub arn: String,
    pub execution_arn: String,
    /// The parent's MapRunStarted event id.
    pub run_id: u64,
    /// `stateMachine:<machine>/<label>`: the children's state machine.
    pub state_machine_arn: String,
    pub state_machine_name: String,
    /// The ItemProcessor the children run.
    pub definition: String,
    pub role_arn: String,
    pub execution_type: String,
    /// `MapRunStatus`: RUNNING, SUCCEEDED, FAILED, ABORTED.
    pub status: String,
    pub started: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<Timestamp>,
    pub max_concurrency: u64,
    pub tolerated_percentage: f64,
    pub tolerated_count: u64,
    pub items: Vec<RunItem>,
    /// Names and seeds of the children.
    pub entropy: Entropy,
    /// How many times it was redriven, and when last.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub redrive_count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redrive_date: Option<Timestamp>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl MapRun {
    fn running(&self) -> bool {
        self.status == "RUNNING"
    }

    fn count(&self, status: ItemStatus) -> u64 {
        self.items.iter().filter(|i| i.status == status).count() as u64
    }

    fn failed(&self) -> u64 {
        self.count(ItemStatus::Failed) + self.count(ItemStatus::TimedOut)
    }
}

/// What the parent's step asks for (`Effect::StartMapRun`).
pub(crate) struct Start {
    pub run_id: u64,
    pub map_run_arn: String,
    pub state_name: String,
    pub state_machine_name: String,
    pub execution_type: String,
    pub inputs: Vec<Value>,
    pub max_concurrency: u64,
    pub tolerated_percentage: f64,
    pub tolerated_count: u64,
    pub seed: u64,
}

/// The ItemProcessor of Map state `name` anywhere in a definition (state names are unique
/// machine-wide), as a definition of its own.
fn processor(definition: &Value, name: &str) -> Option<Value> {
    let states = definition.get("States")?.as_object()?;
    for (n, s) in states {
        if n == name {
            let mut p = s
                .get("ItemProcessor")
                .or_else(|| s.get("Iterator"))?
                .clone();
            if let Value::Object(m) = &mut p {
                m.remove("ProcessorConfig");
                if let Some(q) = definition.get("QueryLanguage") {
                    m.entry("QueryLanguage").or_insert_with(|| q.clone());
                }
            }
            return Some(p);
        }
        let nested = s
            .get("Branches")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .chain(s.get("ItemProcessor"))
            .chain(s.get("Iterator"));
        for d in nested {
            if let Some(p) = processor(d, name) {
                return Some(p);
            }
        }
    }
    None
}

/// Creates the run and arms its first step.
pub(crate) fn create<S: Lookup + ?Sized>(ctx: &mut Ctx<'_, S>, exec: &Execution, s: Start) {
    let definition = serde_json::from_str::<Value>(&exec.definition)
        .ok()
        .and_then(|d| processor(&d, &s.state_name))
        .map(|p| p.to_string())
        .unwrap_or_default();
    let items = s
        .inputs
        .iter()
        .map(|v| RunItem {
            input: v.to_string(),
            items: v
                .get("Items")
                .filter(|_| v.as_object().is_some_and(|o| o.len() <= 2))
                .and_then(Value::as_array)
                .map(|a| a.len() as u64)
                .unwrap_or(1),
            child: None,
            status: ItemStatus::Pending,
            output: None,
            error: None,
            cause: None,
            not_redrivable: false,
        })
        .collect();
    let run = MapRun {
        arn: s.map_run_arn.clone(),
        execution_arn: exec.arn.clone(),
        run_id: s.run_id,
        state_machine_arn: super::arn::state_machine(ctx.limits, &s.state_machine_name),
        state_machine_name: s.state_machine_name,
        definition,
        role_arn: exec.role_arn.clone(),
        execution_type: s.execution_type,
        status: "RUNNING".into(),
        started: ctx.now,
        stopped: None,
        max_concurrency: s.max_concurrency,
        tolerated_percentage: s.tolerated_percentage,
        tolerated_count: s.tolerated_count,
        items,
        entropy: Entropy::new(s.seed),
        redrive_count: 0,
        redrive_date: None,
    };
    put(ctx, keys::map_run(&run.arn), &run);
    put(ctx, keys::map_run_index(&exec.arn, s.run_id), &run.arn);
    let now = ctx.now.0;
    ctx.writes.push(Write::Arm(deadline(
        &run.arn,
        SfnDeadline::MapRunStep,
        0,
        now,
    )));
}

/// The run an execution started with MapRunStarted event `run_id`: its ARN and record.
fn run_of<S: Lookup + ?Sized>(
    ctx: &Ctx<'_, S>,
    exec: &Execution,
    run_id: u64,
) -> Result<Option<(String, MapRun)>, ReadError> {
    let Some(arn) = get::<String, S>(ctx, &keys::map_run_index(&exec.arn, run_id))? else {
        return Ok(None);
    };
    Ok(get::<MapRun, S>(ctx, &keys::map_run(&arn))?.map(|run| (arn, run)))
}

/// The parent no longer waits for the run of `run_id` (if it is one): the run is aborted and its
/// running children stopped.
pub(crate) fn cancel<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    exec: &Execution,
    run_id: u64,
) -> Result<(), ReadError> {
    let Some((arn, mut run)) = run_of(ctx, exec, run_id)? else {
        return Ok(());
    };
    if run.running() {
        end(ctx, &mut run, "ABORTED");
        put(ctx, keys::map_run(&arn), &run);
    }
    Ok(())
}

/// Redrives the run of `run_id` (the parent's redrive, `Effect::RedriveMapRun`): running again,
/// its successful children kept, the others pending a redrive (children never started pending a
/// start); `MapRunStep` then redrives or starts them under MaxConcurrency as it starts children.
pub(crate) fn redrive<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    exec: &Execution,
    run_id: u64,
) -> Result<(), ReadError> {
    let Some((arn, mut run)) = run_of(ctx, exec, run_id)? else {
        return Ok(());
    };
    run.status = "RUNNING".into();
    run.stopped = None;
    run.redrive_count = run.redrive_count.saturating_add(1);
    run.redrive_date = Some(ctx.now);
    for item in &mut run.items {
        if matches!(item.status, ItemStatus::Succeeded | ItemStatus::Pending) {
            continue;
        }
        // The child's own record says how it ended (a run that failed stopped its running
        // children without hearing back from them).
        if let Some(child) = &item.child {
            if let Ok(c) = load(ctx, child)? {
                match c.status.as_str() {
                    "RUNNING" => {
                        item.status = ItemStatus::Running;
                        continue;
                    }
                    "SUCCEEDED" => {
                        item.status = ItemStatus::Succeeded;
                        item.output = c.output.clone();
                        continue;
                    }
                    _ => {}
                }
            }
        }
        item.status = ItemStatus::Pending;
        item.output = None;
        item.error = None;
        item.cause = None;
        item.not_redrivable = false;
    }
    put(ctx, keys::map_run(&arn), &run);
    let now = ctx.now.0;
    ctx.writes
        .push(Write::Arm(deadline(&arn, SfnDeadline::MapRunStep, 0, now)));
    Ok(())
}

/// Removes the Map Runs of a purged execution (their records and index entries). Their children
/// are executions of their own, purged by their own retention.
pub(crate) fn purge<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    exec: &Execution,
) -> Result<(), ReadError> {
    for &run_id in &exec.map_runs {
        let index = keys::map_run_index(&exec.arn, run_id);
        if let Some(arn) = get::<String, S>(ctx, &index)? {
            super::delete(ctx, keys::map_run(&arn));
        }
        super::delete(ctx, index);
    }
    Ok(())
}

/// Ends a run with `status`: running children are stopped.
fn end<S: Lookup + ?Sized>(ctx: &mut Ctx<'_, S>, run: &mut MapRun, status: &str) {
    run.status = status.into();
    run.stopped = Some(ctx.now);
    let now = ctx.now.0;
    for item in &run.items {
        if let (ItemStatus::Running, Some(child)) = (item.status, &item.child) {
            ctx.writes
                .push(Write::Arm(deadline(child, SfnDeadline::StopChild, 0, now)));
        }
    }
}

/// Fires `MapRunStep` or `MapRunChildClosed`.
pub(crate) fn fire<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    d: &Deadline,
    kind: SfnDeadline,
) -> Result<Outcome, ReadError> {
    let Some(mut run) = get::<MapRun, S>(ctx, &keys::map_run(&d.run_id))? else {
        return Ok(reply(json!({})));
    };
    if !run.running() {
        return Ok(reply(json!({})));
    }
    if kind == SfnDeadline::MapRunChildClosed {
        child_closed(ctx, &mut run, d.event_id as usize)?;
    }
    progress(ctx, &mut run)?;
    Ok(reply(json!({})))
}

/// Records the end of item `index`'s child.
fn child_closed<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    run: &mut MapRun,
    index: usize,
) -> Result<(), ReadError> {
    let Some(item) = run.items.get_mut(index) else {
        return Ok(());
    };
    let (ItemStatus::Running, Some(arn)) = (item.status, item.child.clone()) else {
        return Ok(());
    };
    let Ok(child) = load(ctx, &arn)? else {
        return Ok(());
    };
    if child.status == "RUNNING" {
        return Ok(());
    }
    item.status = ItemStatus::ended(&child.status);
    item.output = child.output.clone();
    item.error = child.error.clone();
    item.cause = child.cause.clone();
    Ok(())
}

/// Starts what may start, ends the run when it is done or failed, and stores it (telling the
/// parent when it ended).
fn progress<S: Lookup + ?Sized>(ctx: &mut Ctx<'_, S>, run: &mut MapRun) -> Result<(), ReadError> {
    let tolerance = Tolerance {
        percentage: run.tolerated_percentage,
        count: run.tolerated_count,
    };
    let total = run.items.len() as u64;
    // A child stopped by anyone but the run counts as failed too.
    let failed = run.failed() + run.count(ItemStatus::Aborted);
    if tolerance.exceeded(failed, total) {
        end(ctx, run, "FAILED");
        put(ctx, keys::map_run(&run.arn), &*run);
        return tell_parent(ctx, run, false);
    }
    let mut running = run.count(ItemStatus::Running);
    let mut started = 0;
    let mut more = false;
    for i in 0..run.items.len() {
        if run.items[i].status != ItemStatus::Pending {
            continue;
        }
        if run.max_concurrency > 0 && running >= run.max_concurrency {
            break;
        }
        if started == STARTS_PER_COMMAND {
            more = true;
            break;
        }
        start_item(ctx, run, i)?;
        started += 1;
        running += 1;
    }
    if more {
        let now = ctx.now.0;
        ctx.writes.push(Write::Arm(deadline(
            &run.arn,
            SfnDeadline::MapRunStep,
            0,
            now,
        )));
    }
    let done = run
        .items
        .iter()
        .all(|i| !matches!(i.status, ItemStatus::Pending | ItemStatus::Running));
    // A child that could not start failed: the tolerance decides again.
    let failed = run.failed() + run.count(ItemStatus::Aborted);
    if tolerance.exceeded(failed, total) {
        end(ctx, run, "FAILED");
        put(ctx, keys::map_run(&run.arn), &*run);
        return tell_parent(ctx, run, false);
    }
    if done {
        end(ctx, run, "SUCCEEDED");
        put(ctx, keys::map_run(&run.arn), &*run);
        return tell_parent(ctx, run, true);
    }
    put(ctx, keys::map_run(&run.arn), &*run);
    Ok(())
}

fn start_item<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    run: &mut MapRun,
    i: usize,
) -> Result<(), ReadError> {
    if let Some(child) = run.items[i].child.clone() {
        // Pending a redrive of the run.
        let item = &mut run.items[i];
        match super::redrive::redrive_map_run_child(ctx, &child)? {
            Ok(()) => item.status = ItemStatus::Running,
            Err(ended) => {
                item.status = ItemStatus::ended(ended.as_ref().map_or("FAILED", |c| &c.status));
                item.error = ended.as_ref().and_then(|c| c.error.clone());
                item.cause = ended.and_then(|c| c.cause);
                item.not_redrivable = true;
            }
        }
        return Ok(());
    }
    let name = run.entropy.uuid();
    let seed = run.entropy.next_u64();
    let target = Launch {
        state_machine_arn: run.state_machine_arn.clone(),
        state_machine_name: run.state_machine_name.clone(),
        state_machine_updated: run.started,
        definition: run.definition.clone(),
        role_arn: run.role_arn.clone(),
        version_arn: None,
        alias_arn: None,
        map_run_arn: Some(run.arn.clone()),
        // `ExecutionType: EXPRESS` children run as STANDARD ones (docs/stepfunctions.md).
        express: false,
    };
    let input = StartExecutionInput {
        state_machine_arn: run.state_machine_arn.clone(),
        name: Some(name.clone()),
        input: Some(run.items[i].input.clone()),
    };
    let link = ParentLink {
        execution_arn: run.arn.clone(),
        task_id: i as u64,
        notify: true,
    };
    let item = &mut run.items[i];
    match launch(ctx, &target, &input, &name, seed, Some(link))? {
        Ok((arn, _)) => {
            item.child = Some(arn);
            item.status = ItemStatus::Running;
        }
        Err(f) => {
            item.status = ItemStatus::Failed;
            item.error = Some(format!("StepFunctions.{}Exception", f.code()));
            item.cause = Some(f.message);
        }
    }
    Ok(())
}

/// The run's result: the children's outputs in item order (a failed child's `{Error, Cause}`).
fn results(run: &MapRun) -> Vec<Value> {
    run.items
        .iter()
        .map(|i| match (&i.output, i.status) {
            (Some(o), ItemStatus::Succeeded) => serde_json::from_str(o).unwrap_or(Value::Null),
            _ => {
                let mut v = serde_json::Map::new();
                if let Some(e) = &i.error {
                    v.insert("Error".into(), json!(e));
                }
                if let Some(c) = &i.cause {
                    v.insert("Cause".into(), json!(c));
                }
                Value::Object(v)
            }
        })
        .collect()
}

fn tell_parent<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    run: &MapRun,
    succeeded: bool,
) -> Result<(), ReadError> {
    let Ok(mut parent) = load(ctx, &run.execution_arn)? else {
        return Ok(());
    };
    if !parent.is_running() {
        return Ok(());
    }
    let (error, cause) = if succeeded {
        (String::new(), String::new())
    } else {
        (THRESHOLD_ERROR.to_string(), THRESHOLD_CAUSE.to_string())
    };
    let event = Event::MapRunEnded {
        run_id: run.run_id,
        succeeded,
        results: if succeeded { results(run) } else { Vec::new() },
        error,
        cause,
    };
    let _ = step(ctx, &mut parent, &event)?;
    Ok(())
}

fn not_found(arn: &str) -> Fault {
    fault(
        FaultKind::ResourceNotFound,
        format!("Resource not found: '{arn}'"),
    )
}

/// Checks a Map Run ARN's form (`InvalidArn` as AWS words it).
fn check_arn(arn: &str) -> Result<(), Fault> {
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    if parts.len() < 7 || parts[0] != "arn" || !parts[1].starts_with("aws") || parts[2] != "states"
    {
        return Err(super::arn::invalid_arn(format_args!(
            "Invalid ARN prefix: {arn}"
        )));
    }
    if parts[5] != "mapRun" {
        return Err(super::arn::invalid_arn(format_args!(
            "Resource type not valid in this context: {}",
            parts[5]
        )));
    }
    if !parts[6].contains('/') || !parts[6].contains(':') {
        return Err(super::arn::invalid_arn(format_args!("Invalid ARN: {arn}")));
    }
    Ok(())
}

/// UpdateMapRun: new concurrency or tolerance; the run moves on under them at once.
pub(crate) fn update<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    i: &UpdateMapRunInput,
) -> Result<Outcome, ReadError> {
    if let Err(f) = check_arn(&i.map_run_arn) {
        return Ok(Err(f));
    }
    if i.max_concurrency.is_none()
        && i.tolerated_failure_percentage.is_none()
        && i.tolerated_failure_count.is_none()
    {
        return Ok(Err(Fault::validation(
            "At least one of the parameters maxConcurrency, toleratedFailurePercentage or toleratedFailureCount must be specified",
        )));
    }
    if i.tolerated_failure_percentage
        .is_some_and(|p| !(0.0..=100.0).contains(&p))
    {
        return Ok(Err(Fault::validation(
            "toleratedFailurePercentage must be between 0 and 100",
        )));
    }
    let Some(mut run) = get::<MapRun, S>(ctx, &keys::map_run(&i.map_run_arn))? else {
        return Ok(Err(not_found(&i.map_run_arn)));
    };
    if let Some(m) = i.max_concurrency {
        run.max_concurrency = m;
    }
    if let Some(p) = i.tolerated_failure_percentage {
        run.tolerated_percentage = p;
    }
    if let Some(c) = i.tolerated_failure_count {
        run.tolerated_count = c;
    }
    if run.running() {
        progress(ctx, &mut run)?;
    } else {
        put(ctx, keys::map_run(&run.arn), &run);
    }
    Ok(reply(json!({})))
}

fn read<S: SfnRead + ?Sized>(s: &S, arn: &str) -> Result<MapRun, Fault> {
    check_arn(arn)?;
    let bytes = s
        .sfn_get(&keys::map_run(arn))
        .map_err(|e| Fault::internal(e.to_string()))?
        .ok_or_else(|| not_found(arn))?;
    serde_json::from_slice(&bytes).map_err(|e| Fault::internal(e.to_string()))
}

/// Whether a Map Run exists (ListExecutions by `mapRunArn`).
pub fn exists<S: SfnRead + ?Sized>(s: &S, arn: &str) -> Result<bool, Fault> {
    match read(s, arn) {
        Ok(_) => Ok(true),
        Err(f) if f.kind == FaultKind::ResourceNotFound => Ok(false),
        Err(f) => Err(f),
    }
}

fn counts(run: &MapRun, weight: impl Fn(&RunItem) -> u64) -> Value {
    let sum = |st: ItemStatus| -> u64 {
        run.items
            .iter()
            .filter(|i| i.status == st)
            .map(&weight)
            .sum()
    };
    json!({
        "pending": sum(ItemStatus::Pending),
        "running": sum(ItemStatus::Running),
        "succeeded": sum(ItemStatus::Succeeded),
        "failed": sum(ItemStatus::Failed),
        "timedOut": sum(ItemStatus::TimedOut),
        "aborted": sum(ItemStatus::Aborted),
        "total": run.items.iter().map(&weight).sum::<u64>(),
        "resultsWritten": 0,
        "failuresNotRedrivable": run.items.iter().filter(|i| i.not_redrivable).map(&weight).sum::<u64>(),
        "pendingRedrive": run.items.iter().filter(|i| i.status == ItemStatus::Pending && i.child.is_some()).map(&weight).sum::<u64>(),
    })
}

/// DescribeMapRun.
pub fn describe<S: SfnRead + ?Sized>(s: &S, _l: &Limits, arn: &str) -> Result<Value, Fault> {
    let run = read(s, arn)?;
    let mut v = json!({
        "mapRunArn": run.arn,
        "executionArn": run.execution_arn,
        "status": run.status,
        "startDate": run.started,
        "maxConcurrency": run.max_concurrency,
        "toleratedFailurePercentage": run.tolerated_percentage,
        "toleratedFailureCount": run.tolerated_count,
        "itemCounts": counts(&run, |i| i.items),
        "executionCounts": counts(&run, |i| u64::from(i.child.is_some() || i.status == ItemStatus::Pending)),
        "redriveCount": run.redrive_count,
    });
    if let Some(t) = run.stopped {
        v["stopDate"] = json!(t);
    }
    if let Some(t) = run.redrive_date {
        v["redriveDate"] = json!(t);
    }
    Ok(v)
}

/// ListMapRuns of an execution, in the order they started.
pub fn list<S: SfnRead + ?Sized>(
    s: &S,
    l: &Limits,
    execution_arn: &str,
    max_results: Option<i64>,
    token: Option<&str>,
) -> Result<Value, Fault> {
    // The execution must exist (ExecutionDoesNotExist, InvalidArn as DescribeExecution answers).
    super::query::execution(s, l, execution_arn)?;
    let prefix = keys::map_run_index_prefix(execution_arn);
    let (rows, next) = super::query::page(
        s,
        ("ListMapRuns", execution_arn),
        &prefix,
        token,
        max_results,
        false,
    )?;
    let mut runs = Vec::new();
    for (_, v) in rows {
        let arn: String = serde_json::from_slice(&v).map_err(|e| Fault::internal(e.to_string()))?;
        let run = read(s, &arn)?;
        let mut item = json!({
            "executionArn": run.execution_arn,
            "mapRunArn": run.arn,
            "stateMachineArn": run.state_machine_arn,
            "startDate": run.started,
        });
        if let Some(t) = run.stopped {
            item["stopDate"] = json!(t);
        }
        runs.push(item);
    }
    Ok(super::query::with_next(json!({ "mapRuns": runs }), next))
}
