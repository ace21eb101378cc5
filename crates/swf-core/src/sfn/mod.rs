//! Step Functions on the same replicated state machine as SWF: activities, state machines (STANDARD
//! and EXPRESS, `express`) with their published versions and aliases,
//! executions run by `sfn-lang`'s interpreter (and redriven, `redrive`), and activity tasks. Every transition is applied from
//! an `Op::Sfn` command stamped by the leader (time, execution names, the seed of an execution's
//! randomness), so replicas agree; nothing here reads a clock or draws a random number.
//!
//! Records live in a keyspace of their own (`keys`, the store's `sfn` column family). Activity tasks
//! reuse SWF's queues (under the reserved domain [`TASKS_DOMAIN`], one task list per activity ARN),
//! and therefore the node's task matcher and long polls; timeouts, heartbeats, Wait states and retry
//! back-offs are SWF's durable deadlines (`DeadlineKind::Sfn`); task tokens are SWF's token scheme
//! naming the execution ARN and the task's ActivityScheduled event id.

mod activities;
pub mod aliases;
pub mod arn;
mod children;
pub mod command;
mod definitions;
mod executions;
pub mod express;
pub mod keys;
pub mod map_runs;
pub mod query;
pub mod records;
pub mod redrive;
mod state_machines;
mod stored_definitions;
mod tasks;
pub mod versions;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use swf_types::Fault;

use crate::command::{Outcome, Reply};
use crate::ctx::Ctx;
use crate::state::{Deadline, DeadlineKind, Lookup, ReadError, Write};

pub use command::SfnOp;

/// The queue "domain" of Step Functions activity tasks. SWF domain names cannot hold control
/// characters, so no SWF task list can share a queue with these.
pub const TASKS_DOMAIN: &str = "\u{1}sfn";

/// Most tags on one resource (Step Functions' quota).
pub const MAX_TAGS: usize = 50;

/// What a Step Functions deadline does when it fires (`event_id` of the deadline names the task or
/// timer; `run_id` is the execution ARN).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SfnDeadline {
    /// A Task state's TimeoutSeconds (from ActivityScheduled).
    TaskTimeout,
    /// A Task state's HeartbeatSeconds (from ActivityStarted, moved by each heartbeat).
    TaskHeartbeat,
    /// A Wait state or a retry back-off.
    Timer,
    /// The machine's TimeoutSeconds.
    ExecutionTimeout,
    /// The end of a closed execution's retention ([`RETENTION_MS`]): its record, index entry and
    /// history are removed, and its name can be used again.
    Retention,
    /// Start the child execution of nested task `event_id` of execution `run_id` (due at once).
    StartChild,
    /// The child of `.sync` task `event_id` of execution `run_id` ended: tell the parent.
    ChildClosed,
    /// Stop execution `run_id`: its parent stopped or no longer waits for it.
    StopChild,
    /// Move Map Run `run_id` on: start children up to its concurrency, end it when all are done.
    MapRunStep,
    /// Item `event_id`'s child of Map Run `run_id` ended.
    MapRunChildClosed,
}

/// How long a closed execution stays (AWS keeps closed STANDARD executions 90 days).
pub const RETENTION_MS: i64 = 90 * 24 * 3600 * 1000;

/// A deadline of execution `arn`.
pub(crate) fn deadline(arn: &str, kind: SfnDeadline, id: u64, due_ms: i64) -> Deadline {
    Deadline {
        due: swf_types::Timestamp(due_ms),
        run_id: arn.to_string(),
        kind: DeadlineKind::Sfn(kind),
        event_id: id as i64,
    }
}

/// Applies one Step Functions command.
pub(crate) fn apply<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    op: &SfnOp,
) -> Result<Outcome, ReadError> {
    match op {
        SfnOp::CreateActivity(i) => activities::create(ctx, i),
        SfnOp::DeleteActivity(i) => activities::delete(ctx, &i.arn),
        SfnOp::CreateStateMachine(i) => state_machines::create(ctx, i),
        SfnOp::UpdateStateMachine(i) => state_machines::update(ctx, i),
        SfnOp::DeleteStateMachine(i) => state_machines::delete(ctx, &i.arn),
        SfnOp::StartExecution {
            input,
            default_name,
            seed,
        } => executions::start(ctx, input, default_name, *seed),
        SfnOp::StopExecution(i) => executions::stop(ctx, i),
        SfnOp::StartTask {
            execution_arn,
            task_id,
            worker_name,
        } => tasks::start(ctx, execution_arn, *task_id, worker_name.clone()),
        SfnOp::SendTaskSuccess(i) => tasks::success(ctx, i),
        SfnOp::SendTaskFailure(i) => tasks::failure(ctx, i),
        SfnOp::SendTaskHeartbeat(i) => tasks::heartbeat(ctx, i),
        SfnOp::TagResource(i) => activities::tag(ctx, &i.resource_arn, &i.tags),
        SfnOp::UntagResource(i) => activities::untag(ctx, &i.resource_arn, &i.tag_keys),
        SfnOp::PublishStateMachineVersion(i) => versions::publish(ctx, i),
        SfnOp::DeleteStateMachineVersion(i) => versions::delete(ctx, &i.state_machine_version_arn),
        SfnOp::CreateStateMachineAlias(i) => aliases::create(ctx, i),
        SfnOp::UpdateStateMachineAlias(i) => aliases::update(ctx, i),
        SfnOp::DeleteStateMachineAlias(i) => aliases::delete(ctx, &i.state_machine_alias_arn),
        SfnOp::RedriveExecution(i) => redrive::redrive(ctx, i),
        SfnOp::StartSyncExecution {
            input,
            default_name,
            seed,
        } => express::start_sync(ctx, input, default_name, *seed),
        SfnOp::UpdateMapRun(i) => map_runs::update(ctx, i),
    }
}

/// Fires a Step Functions deadline (from `FireDeadline(s)`).
pub(crate) fn fire<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    d: &Deadline,
    kind: SfnDeadline,
) -> Result<Outcome, ReadError> {
    // An early deadline changes nothing; a due one leaves the index whatever it finds.
    if ctx.now < d.due {
        return Ok(reply(serde_json::json!({})));
    }
    ctx.writes.push(Write::Disarm(d.clone()));
    match kind {
        SfnDeadline::StartChild | SfnDeadline::ChildClosed | SfnDeadline::StopChild => {
            children::fire(ctx, d, kind)
        }
        SfnDeadline::MapRunStep | SfnDeadline::MapRunChildClosed => map_runs::fire(ctx, d, kind),
        _ => tasks::fire(ctx, d, kind),
    }
}

/// A successful reply carrying the action's JSON output.
pub(crate) fn reply(v: serde_json::Value) -> Outcome {
    Ok(Reply::Sfn(v))
}

/// Reads a record, seeing the writes this command already made.
pub(crate) fn get<T: DeserializeOwned, S: Lookup + ?Sized>(
    ctx: &Ctx<'_, S>,
    key: &[u8],
) -> Result<Option<T>, ReadError> {
    let bytes = ctx.writes.iter().rev().find_map(|w| match w {
        Write::Sfn { key: k, value } if k == key => Some(value.clone()),
        _ => None,
    });
    let bytes = match bytes {
        Some(b) => b,
        None => ctx.state.sfn_get(key)?,
    };
    bytes
        .map(|b| serde_json::from_slice(&b).map_err(|e| ReadError(e.to_string())))
        .transpose()
}

/// Writes a record.
pub(crate) fn put<T: Serialize, S: Lookup + ?Sized>(ctx: &mut Ctx<'_, S>, key: Vec<u8>, v: &T) {
    let value = serde_json::to_vec(v).expect("records serialize");
    ctx.writes.push(Write::Sfn {
        key,
        value: Some(value),
    });
}

/// Deletes a record.
pub(crate) fn delete<S: Lookup + ?Sized>(ctx: &mut Ctx<'_, S>, key: Vec<u8>) {
    ctx.writes.push(Write::Sfn { key, value: None });
}

/// The resource counts the quotas are checked against.
pub(crate) fn counts<S: Lookup + ?Sized>(ctx: &Ctx<'_, S>) -> Result<records::Counts, ReadError> {
    Ok(get(ctx, &keys::counts())?.unwrap_or_default())
}

/// Changes the resource counts with `change`.
pub(crate) fn count<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    change: impl FnOnce(&mut records::Counts),
) -> Result<(), ReadError> {
    let mut c = counts(ctx)?;
    change(&mut c);
    put(ctx, keys::counts(), &c);
    Ok(())
}

/// A fault of `kind` with `message`.
pub(crate) fn fault(kind: swf_types::FaultKind, message: impl Into<String>) -> Fault {
    Fault {
        kind,
        message: message.into(),
    }
}

#[cfg(test)]
mod test_world;

#[cfg(test)]
mod sfn_test;

#[cfg(test)]
mod express_test;

#[cfg(test)]
mod children_test;

#[cfg(test)]
mod map_runs_test;
