//! Child executions: a running execution starting an execution of a state machine on the same cluster
//! from a nested-execution Task (`sfn_lang::nested`), and the links between the two.
//!
//! Nothing crosses from one execution to another inside the step that asks for it: each crossing is a
//! Step Functions deadline due at once, fired by the leader's timer service as its own command, so no
//! execution is changed while another one's step is half done, nesting depth costs no stack, and a
//! leader change in between loses nothing (deadlines are replicated state):
//!
//! - `StartChild` (on the parent, id = task id): starts the child from the parent's
//!   `pending_children` (its name and seed drawn by the parent's leader-seeded entropy), then tells
//!   the parent (`ChildStarted`, or `ChildStartFailed` with StartExecution's fault);
//! - `ChildClosed` (on the parent): a `.sync` child ended; the parent gets its description;
//! - `StopChild` (on the child): its parent stopped, ended, or gave up the task (timeout, a caught
//!   error elsewhere); the child is stopped as StopExecution would.
//!
//! A nested task is an open task of the parent (`Execution::tasks`), so its TimeoutSeconds and (for
//! `.waitForTaskToken`) HeartbeatSeconds are the activity deadlines, and a `.waitForTaskToken` task
//! takes SendTaskSuccess / Failure / Heartbeat with its token, MAC'd by the cluster's keyring like an
//! activity task's; the other nested tasks refuse callbacks.

use serde_json::{json, Map, Value};
use sfn_lang::interpret::Event;
use sfn_lang::nested::{Mode, PREFIX};

use super::command::StartExecutionInput;
use super::executions::{close_task, load, start_with, step};
use super::records::{Execution, OpenTask, ParentLink, PendingChild, TaskEnd};
use super::{deadline, reply, SfnDeadline};
use crate::command::Outcome;
use crate::ctx::Ctx;
use crate::keyring::Keyring;
use crate::state::{Deadline, Lookup, ReadError, Write};

/// The token of task `task_id` of `execution_arn`, signed when the cluster has a keyring.
pub(crate) fn task_token<S: Lookup + ?Sized>(
    ctx: &Ctx<'_, S>,
    execution_arn: &str,
    task_id: u64,
) -> Result<String, ReadError> {
    let ring = Keyring::load(ctx.state)?;
    Ok(super::tasks::task(execution_arn, task_id)
        .issue(ring.as_ref())
        .0)
}

/// Whether an open task is a nested task that takes no SendTask* call (all but
/// `.waitForTaskToken`).
pub(crate) fn refuses_callbacks(task: &OpenTask) -> bool {
    task.activity_arn
        .strip_prefix(PREFIX)
        .is_some_and(|r| r != Mode::WaitForTaskToken.resource())
}

/// Opens nested task `task_id` (the interpreter wrote TaskScheduled and TaskStarted): its deadlines,
/// and the child's start, due at once.
pub(crate) fn schedule<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    exec: &mut Execution,
    task_id: u64,
    child: PendingChild,
    (timeout_seconds, heartbeat_seconds): (Option<u64>, Option<u64>),
) -> Result<(), ReadError> {
    let now = ctx.now.0;
    let callback = child.mode == Mode::WaitForTaskToken;
    let heartbeat_seconds = heartbeat_seconds.filter(|_| callback);
    let task = OpenTask {
        activity_arn: format!("{PREFIX}{}", child.mode.resource()),
        input: child.input.clone(),
        seq: ctx.index,
        started: true,
        timeout_due: timeout_seconds.map(|s| now.saturating_add(s as i64 * 1000)),
        heartbeat_seconds,
        heartbeat_due: heartbeat_seconds.map(|s| now.saturating_add(s as i64 * 1000)),
        token_signed: callback && Keyring::load(ctx.state)?.is_some(),
    };
    if let Some(due) = task.timeout_due {
        let d = deadline(&exec.arn, SfnDeadline::TaskTimeout, task_id, due);
        ctx.writes.push(Write::Arm(d));
    }
    if let Some(due) = task.heartbeat_due {
        let d = deadline(&exec.arn, SfnDeadline::TaskHeartbeat, task_id, due);
        ctx.writes.push(Write::Arm(d));
    }
    exec.tasks.insert(task_id, task);
    exec.pending_children.insert(task_id, child);
    let d = deadline(&exec.arn, SfnDeadline::StartChild, task_id, now);
    ctx.writes.push(Write::Arm(d));
    Ok(())
}

/// The execution no longer waits for nested task `task_id`: a child not started yet never starts,
/// a running `.sync` child is stopped.
pub(crate) fn cancel<S: Lookup + ?Sized>(ctx: &mut Ctx<'_, S>, exec: &mut Execution, task_id: u64) {
    exec.pending_children.remove(&task_id);
    if let Some(child) = exec.children.remove(&task_id) {
        let now = ctx.now.0;
        ctx.writes
            .push(Write::Arm(deadline(&child, SfnDeadline::StopChild, 0, now)));
    }
}

/// The execution just ended: its `.sync` children are stopped, and a parent waiting for it is told.
pub(crate) fn closed<S: Lookup + ?Sized>(ctx: &mut Ctx<'_, S>, exec: &mut Execution) {
    let now = ctx.now.0;
    exec.pending_children.clear();
    for child in std::mem::take(&mut exec.children).into_values() {
        ctx.writes
            .push(Write::Arm(deadline(&child, SfnDeadline::StopChild, 0, now)));
    }
    if let Some(p) = exec.parent.as_ref().filter(|p| p.notify) {
        // A Map Run's child names the run and its item.
        let kind = if exec.map_run_arn.as_deref() == Some(p.execution_arn.as_str()) {
            SfnDeadline::MapRunChildClosed
        } else {
            SfnDeadline::ChildClosed
        };
        let d = deadline(&p.execution_arn, kind, p.task_id, now);
        ctx.writes.push(Write::Arm(d));
    }
}

/// A child's DescribeExecution as the `.sync` integration returns it: members in the integration's
/// (alphabetical) order, `Input` / `Output` as JSON text, dates in epoch milliseconds.
pub(crate) fn description(child: &Execution) -> Value {
    let mut d = Map::new();
    if let Some(c) = &child.cause {
        d.insert("Cause".into(), json!(c));
    }
    if let Some(e) = &child.error {
        d.insert("Error".into(), json!(e));
    }
    d.insert("ExecutionArn".into(), json!(child.arn));
    d.insert("Input".into(), json!(child.input));
    d.insert("InputDetails".into(), json!({"Included": true}));
    d.insert("Name".into(), json!(child.name));
    if let Some(o) = &child.output {
        d.insert("Output".into(), json!(o));
        d.insert("OutputDetails".into(), json!({"Included": true}));
    }
    d.insert("StartDate".into(), json!(child.started.0));
    d.insert("StateMachineArn".into(), json!(child.state_machine_arn));
    d.insert("Status".into(), json!(child.status));
    if let Some(t) = child.stopped {
        d.insert("StopDate".into(), json!(t.0));
    }
    Value::Object(d)
}

/// Fires `StartChild`, `ChildClosed` or `StopChild` (a stale one changes nothing).
pub(crate) fn fire<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    d: &Deadline,
    kind: SfnDeadline,
) -> Result<Outcome, ReadError> {
    let task_id = d.event_id as u64;
    match kind {
        SfnDeadline::StartChild => start_child(ctx, &d.run_id, task_id)?,
        SfnDeadline::ChildClosed => child_closed(ctx, &d.run_id, task_id)?,
        SfnDeadline::StopChild => {
            if let Ok(mut child) = load(ctx, &d.run_id)? {
                if child.is_running() {
                    let stop = Event::Stop {
                        error: None,
                        cause: None,
                    };
                    // A firing never faults (a burst of firings shares one command).
                    let _ = step(ctx, &mut child, &stop)?;
                }
            }
        }
        _ => {}
    }
    Ok(reply(json!({})))
}

fn start_child<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    parent_arn: &str,
    task_id: u64,
) -> Result<(), ReadError> {
    let Ok(mut parent) = load(ctx, parent_arn)? else {
        return Ok(());
    };
    if !parent.is_running() {
        return Ok(());
    }
    let Some(child) = parent.pending_children.remove(&task_id) else {
        return Ok(());
    };
    let input = StartExecutionInput {
        state_machine_arn: child.state_machine_arn.clone(),
        name: Some(child.name.clone()),
        input: Some(child.input.clone()),
    };
    let link = ParentLink {
        execution_arn: parent.arn.clone(),
        task_id,
        notify: child.mode.waits_for_child(),
    };
    let event = match start_with(ctx, &input, &child.name, child.seed, Some(link))? {
        Ok((arn, started)) => {
            match child.mode {
                Mode::Sync | Mode::Sync2 => {
                    parent.children.insert(task_id, arn.clone());
                }
                Mode::FireAndForget => close_task(ctx, &mut parent, task_id, TaskEnd::Done),
                Mode::WaitForTaskToken => {}
            }
            Event::ChildStarted {
                task_id,
                execution_arn: arn,
                start_date_ms: started.0,
            }
        }
        Err(f) => {
            close_task(ctx, &mut parent, task_id, TaskEnd::Done);
            // The integration's error names: `StepFunctions.<code>Exception`, the cause AWS's SDK
            // message form.
            Event::ChildStartFailed {
                task_id,
                error: format!("StepFunctions.{}Exception", f.code()),
                cause: format!(
                    "{} (Service: AWSStepFunctions; Status Code: {}; Error Code: {})",
                    f.message,
                    f.kind.http_status(),
                    f.code()
                ),
            }
        }
    };
    let _ = step(ctx, &mut parent, &event)?;
    Ok(())
}

fn child_closed<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    parent_arn: &str,
    task_id: u64,
) -> Result<(), ReadError> {
    let Ok(mut parent) = load(ctx, parent_arn)? else {
        return Ok(());
    };
    if !parent.is_running() {
        return Ok(());
    }
    let Some(child_arn) = parent.children.get(&task_id).cloned() else {
        return Ok(());
    };
    let Ok(child) = load(ctx, &child_arn)? else {
        return Ok(());
    };
    if child.is_running() {
        return Ok(());
    }
    parent.children.remove(&task_id);
    close_task(ctx, &mut parent, task_id, TaskEnd::Done);
    let event = Event::ChildClosed {
        task_id,
        succeeded: child.status == "SUCCEEDED",
        description: description(&child),
    };
    let _ = step(ctx, &mut parent, &event)?;
    Ok(())
}
