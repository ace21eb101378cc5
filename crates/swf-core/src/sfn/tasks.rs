//! Activity tasks: StartTask (a GetActivityTask poller takes a queued task), SendTaskSuccess /
//! SendTaskFailure / SendTaskHeartbeat with AWS's faults (`InvalidToken` for garbage,
//! `TaskTimedOut` once the task's timeout fired or its execution stopped, `TaskDoesNotExist` once it
//! closed, `InvalidOutput` for output that is not JSON), and the firing of Step Functions deadlines.

use serde_json::{json, Value};
use sfn_lang::interpret::Event;
use swf_types::{Fault, FaultKind};

use super::arn::{self, Kind};
use super::command::{SendTaskFailureInput, SendTaskHeartbeatInput, SendTaskSuccessInput};
use super::executions::{close_task, load, step, MAX_PAYLOAD};
use super::records::{Execution, TaskEnd};
use super::{deadline, fault, reply, SfnDeadline};
use crate::command::Outcome;
use crate::ctx::{fault, Ctx};
use crate::keyring::Keyring;
use crate::state::{Deadline, Lookup, ReadError, TaskKind, Write};
use crate::token::TaskToken;

/// The token of task `task_id` of execution `exec_arn` (SWF's token scheme: the execution ARN stands
/// for the run id, the ActivityScheduled event id for the scheduled event id), in the unsigned form
/// of a cluster without a keyring.
#[cfg(test)]
pub(super) fn token(exec_arn: &str, task_id: u64) -> String {
    task(exec_arn, task_id).encode()
}

pub(super) fn task(exec_arn: &str, task_id: u64) -> TaskToken {
    TaskToken {
        kind: TaskKind::Activity,
        run_id: exec_arn.to_string(),
        scheduled_event_id: task_id as i64,
        started_event_id: 0,
    }
}

fn invalid_token() -> Fault {
    fault(FaultKind::InvalidToken, "Invalid Token: 'Invalid token'")
}

fn timed_out() -> Fault {
    fault(
        FaultKind::TaskTimedOut,
        "Task Timed Out: 'Provided task does not exist anymore'",
    )
}

fn does_not_exist() -> Fault {
    fault(
        FaultKind::TaskDoesNotExist,
        "Task Does Not Exist: 'Provided task does not exist anymore'",
    )
}

/// The execution and task id a token names, with the task started and open; else the fault AWS
/// answers.
fn open_task<S: Lookup + ?Sized>(
    ctx: &Ctx<'_, S>,
    task_token: &str,
) -> Result<Result<(Execution, u64), Fault>, ReadError> {
    let ring = Keyring::load(ctx.state)?;
    let Some(checked) = TaskToken::check(task_token, ring.as_ref()) else {
        return Ok(Err(invalid_token()));
    };
    let t = checked.token().clone();
    if t.kind != TaskKind::Activity
        || t.scheduled_event_id < 1
        || t.started_event_id != 0
        || arn::parse(ctx.limits, &t.run_id, Kind::Execution).is_err()
    {
        return Ok(Err(invalid_token()));
    }
    let task_id = t.scheduled_event_id as u64;
    let exec = match load(ctx, &t.run_id)? {
        Ok(e) => e,
        Err(_) => return Ok(Err(does_not_exist())),
    };
    if let Some(task) = exec.tasks.get(&task_id).filter(|task| task.started) {
        // A nested execution's task takes a callback only with `.waitForTaskToken`.
        if super::children::refuses_callbacks(task) {
            return Ok(Err(invalid_token()));
        }
        // An unsigned token (anyone can build one from a history) only for a task handed one.
        if checked.for_task(task.token_signed).is_none() {
            return Ok(Err(invalid_token()));
        }
        return Ok(Ok((exec, task_id)));
    }
    Ok(Err(match exec.closed_tasks.get(&task_id) {
        Some(TaskEnd::TimedOut) => timed_out(),
        _ => does_not_exist(),
    }))
}

pub(super) fn start<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    exec_arn: &str,
    task_id: u64,
    worker_name: Option<String>,
) -> Result<Outcome, ReadError> {
    let ring = Keyring::load(ctx.state)?;
    // Taken, closed or gone meanwhile: UnknownResource tells the poller to try the next task.
    let gone = || Fault::unknown_resource("The task is no longer queued");
    let Ok(mut exec) = load(ctx, exec_arn)? else {
        return Ok(Err(gone()));
    };
    let Some(task) = exec.tasks.get_mut(&task_id).filter(|t| !t.started) else {
        return Ok(Err(gone()));
    };
    let (task_token, signed) = self::task(exec_arn, task_id).issue(ring.as_ref());
    task.started = true;
    task.token_signed = signed;
    let input = task.input.clone();
    let hb = task.heartbeat_seconds;
    let task = task.clone();
    ctx.writes.push(Write::Dequeue(super::executions::queued(
        &exec, task_id, &task,
    )));
    if let Some(s) = hb {
        let due = ctx.now.0.saturating_add(s as i64 * 1000);
        ctx.writes.push(Write::Arm(deadline(
            exec_arn,
            SfnDeadline::TaskHeartbeat,
            task_id,
            due,
        )));
        if let Some(t) = exec.tasks.get_mut(&task_id) {
            t.heartbeat_due = Some(due);
        }
    }
    fault!(step(
        ctx,
        &mut exec,
        &Event::ActivityStarted {
            task_id,
            worker_name
        }
    )?);
    Ok(reply(json!({"taskToken": task_token, "input": input})))
}

pub(super) fn success<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    i: &SendTaskSuccessInput,
) -> Result<Outcome, ReadError> {
    let output: Value = match serde_json::from_str(&i.output) {
        Ok(v) if i.output.len() <= MAX_PAYLOAD => v,
        Ok(_) => {
            return Ok(Err(fault(
                FaultKind::InvalidOutput,
                format!("Invalid Output: 'The output is larger than {MAX_PAYLOAD} bytes'"),
            )))
        }
        Err(e) => {
            return Ok(Err(fault(
                FaultKind::InvalidOutput,
                format!("Invalid Output: 'The output is not valid JSON: {e}'"),
            )))
        }
    };
    let (mut exec, task_id) = fault!(open_task(ctx, &i.task_token)?);
    close_task(ctx, &mut exec, task_id, TaskEnd::Done);
    fault!(step(
        ctx,
        &mut exec,
        &Event::ActivitySucceeded { task_id, output }
    )?);
    Ok(reply(json!({})))
}

pub(super) fn failure<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    i: &SendTaskFailureInput,
) -> Result<Outcome, ReadError> {
    let (mut exec, task_id) = fault!(open_task(ctx, &i.task_token)?);
    close_task(ctx, &mut exec, task_id, TaskEnd::Done);
    let event = Event::ActivityFailed {
        task_id,
        error: i.error.clone(),
        cause: i.cause.clone(),
    };
    fault!(step(ctx, &mut exec, &event)?);
    Ok(reply(json!({})))
}

pub(super) fn heartbeat<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    i: &SendTaskHeartbeatInput,
) -> Result<Outcome, ReadError> {
    let (mut exec, task_id) = fault!(open_task(ctx, &i.task_token)?);
    let arn = exec.arn.clone();
    let now = ctx.now.0;
    let Some(task) = exec.tasks.get_mut(&task_id) else {
        return Ok(Err(does_not_exist()));
    };
    // No history event: only the heartbeat deadline moves.
    if let (Some(s), Some(old)) = (task.heartbeat_seconds, task.heartbeat_due) {
        let due = now.saturating_add(s as i64 * 1000);
        if due != old {
            let (old_d, new_d) = (
                deadline(&arn, SfnDeadline::TaskHeartbeat, task_id, old),
                deadline(&arn, SfnDeadline::TaskHeartbeat, task_id, due),
            );
            task.heartbeat_due = Some(due);
            ctx.writes.push(Write::Disarm(old_d));
            ctx.writes.push(Write::Arm(new_d));
            super::stored_definitions::store(ctx, &mut exec);
        }
    }
    Ok(reply(json!({})))
}

/// Fires a due deadline (`sfn::fire` has disarmed it): a stale one (its task, timer or execution moved
/// on) changes nothing.
pub(super) fn fire<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    d: &Deadline,
    kind: SfnDeadline,
) -> Result<Outcome, ReadError> {
    let Some(mut exec) = super::executions::load_any(ctx, &d.run_id)? else {
        return Ok(reply(json!({})));
    };
    if kind == SfnDeadline::Retention {
        if !exec.is_running() && exec.retention_due == Some(d.due.0) {
            super::executions::purge(ctx, &exec)?;
        }
        return Ok(reply(json!({})));
    }
    if !exec.is_running() {
        return Ok(reply(json!({})));
    }
    let id = d.event_id as u64;
    let due = d.due.0;
    let event = match kind {
        SfnDeadline::TaskTimeout | SfnDeadline::TaskHeartbeat => {
            let Some(task) = exec.tasks.get(&id) else {
                return Ok(reply(json!({})));
            };
            let armed = match kind {
                SfnDeadline::TaskTimeout => task.timeout_due,
                _ => task.heartbeat_due,
            };
            if armed != Some(due) {
                return Ok(reply(json!({})));
            }
            close_task(ctx, &mut exec, id, TaskEnd::TimedOut);
            // A nested task that timed out no longer waits for its child.
            super::children::cancel(ctx, &mut exec, id);
            let error = match kind {
                SfnDeadline::TaskTimeout => "States.Timeout",
                _ => "States.HeartbeatTimeout",
            };
            Event::ActivityTimedOut {
                task_id: id,
                error: error.into(),
                cause: None,
            }
        }
        SfnDeadline::Timer => {
            if exec.timers.get(&id) != Some(&due) {
                return Ok(reply(json!({})));
            }
            exec.timers.remove(&id);
            Event::TimerFired { timer_id: id }
        }
        SfnDeadline::ExecutionTimeout => {
            if exec.timeout_due != Some(due) {
                return Ok(reply(json!({})));
            }
            exec.timeout_due = None;
            Event::ExecutionTimedOut
        }
        SfnDeadline::Retention
        | SfnDeadline::StartChild
        | SfnDeadline::ChildClosed
        | SfnDeadline::StopChild
        | SfnDeadline::MapRunStep
        | SfnDeadline::MapRunChildClosed => return Ok(reply(json!({}))),
    };
    // A firing never faults (a burst of firings shares one command).
    let _ = step(ctx, &mut exec, &event)?;
    Ok(reply(json!({})))
}
