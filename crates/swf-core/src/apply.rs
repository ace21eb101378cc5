//! `apply`: the pure transition function. Given read access to applied state, the log index and a
//! stamped command, it returns the caller's outcome and the writes to commit. A command that fails
//! returns its fault and no writes, so bad input changes nothing. The node also runs `apply` as a
//! dry run on the leader before it proposes a task start for a waiting poll.

use crate::command::{Command, Op, Outcome, Reply};
use crate::ctx::Ctx;
use crate::limits::Limits;
use crate::state::*;

/// The outcome of applying a command plus the writes it makes (empty when the outcome is a fault).
#[derive(Debug)]
pub struct Applied {
    pub outcome: Outcome,
    pub writes: Vec<Write>,
}

/// Applies `cmd` at log `index` to `state`.
pub fn apply<S: Lookup + ?Sized>(
    state: &S,
    index: u64,
    cmd: &Command,
    limits: &Limits,
) -> Result<Applied, ReadError> {
    // A call applied before (the router sent it again) gets its first answer and writes nothing.
    let apply_version = crate::apply_version::load(state)?;
    let request_id = crate::dedup::key(apply_version, cmd);
    if let Some(id) = request_id {
        if let Some(reply) = crate::dedup::recorded(state, cmd, id)? {
            return Ok(Applied {
                outcome: Ok(reply),
                writes: Vec::new(),
            });
        }
    }
    let mut ctx = Ctx {
        state,
        now: cmd.now,
        index,
        limits,
        writes: Vec::new(),
        fresh_ids: cmd.fresh_ids.iter().cloned().collect(),
        finished: Default::default(),
        record_writes: Default::default(),
        apply_version,
    };
    let result = match &cmd.op {
        Op::RegisterDomain(input) => ctx.register_domain(input),
        Op::RegisterWorkflowType(input) => ctx.register_workflow_type(input),
        Op::RegisterActivityType(input) => ctx.register_activity_type(input),
        Op::StartWorkflowExecution { input, run_id } => ctx.start_workflow_execution(input, run_id),
        Op::StartDecisionTask {
            run_id,
            scheduled_event_id,
            identity,
        } => ctx.start_decision_task(run_id, *scheduled_event_id, identity.clone()),
        Op::StartActivityTask {
            run_id,
            scheduled_event_id,
            identity,
        } => ctx.start_activity_task(run_id, *scheduled_event_id, identity.clone()),
        Op::RespondDecisionTaskCompleted(input) => ctx.respond_decision_task_completed(input, &[]),
        Op::RespondDecisionTaskCompletedChecked {
            input,
            not_permitted,
        } => ctx.respond_decision_task_completed(input, not_permitted),
        Op::RecordActivityTaskHeartbeat(input) => ctx.record_heartbeat(input),
        Op::RespondActivityTaskCompleted(input) => ctx.respond_activity_completed(input),
        Op::RespondActivityTaskFailed(input) => ctx.respond_activity_failed(input),
        Op::RespondActivityTaskCanceled(input) => ctx.respond_activity_canceled(input),
        Op::FireDeadline(d) => ctx.fire(d),
        Op::FireDeadlines(ds) => {
            // Each firing sees the ones before it (through the command's overlay).
            for d in ds {
                // A firing never faults: a stale or early one just changes nothing.
                let _ = ctx.fire(d)?;
            }
            Ok(Ok(Reply::Done))
        }
        Op::SignalWorkflowExecution(i) => ctx.signal(i),
        Op::RequestCancelWorkflowExecution(i) => ctx.request_cancel(i),
        Op::TerminateWorkflowExecution(i) => ctx.terminate(i),
        Op::ChangeDomain { name, action } => ctx.change_domain(name, *action),
        Op::ChangeWorkflowType {
            domain,
            workflow_type,
            action,
        } => ctx.change_workflow_type(domain, workflow_type, *action),
        Op::ChangeActivityType {
            domain,
            activity_type,
            action,
        } => ctx.change_activity_type(domain, activity_type, *action),
        Op::TagResource(i) => ctx.tag_resource(&i.resource_arn, &i.tags),
        Op::UntagResource(i) => ctx.untag_resource(&i.resource_arn, &i.tag_keys),
        Op::Noop => Ok(Ok(Reply::Done)),
        Op::Sfn(op) => crate::sfn::apply(&mut ctx, op),
        Op::TokenKey(op) => ctx.token_key(op),
        Op::RaiseApplyVersion { version } => ctx.raise_apply_version(*version),
    };
    let outcome = result?;
    let writes = match (&outcome, request_id) {
        (Ok(reply), Some(id)) => {
            let mut writes = ctx.writes;
            writes.extend(crate::dedup::record(state, cmd, id, reply)?);
            writes
        }
        (Ok(_), None) => ctx.writes,
        (Err(_), _) => Vec::new(),
    };
    Ok(Applied { outcome, writes })
}
