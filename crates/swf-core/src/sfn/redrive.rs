//! RedriveExecution: a FAILED, ABORTED or TIMED_OUT execution of a STANDARD state machine runs again
//! from its unfinished state (`sfn_lang::redrive`), with the definition it started with, within 14
//! days of its stop date and one year of its start (judged against the leader-stamped time of the
//! command). It is open again: it counts against the open executions quota, its retention purge is
//! disarmed (closing again arms a new one), and the machine's TimeoutSeconds starts again. A client
//! token answers again for 15 minutes, for the last 10 tokens (the model's `clientToken`).
//!
//! Also the `redriveStatus` / `redriveStatusReason` DescribeExecution shows, from the same checks.

use serde_json::json;
use sfn_lang::interpret::Stamp;
use sfn_lang::redrive::{self as lang, reason};
use swf_types::FaultKind;

use super::command::RedriveExecutionInput;
use super::executions::{advance, load, StateWorld, EXECUTION_LIMIT};
use super::records::{Execution, RedriveToken, StateMachine};
use super::{deadline, fault, get, keys, reply, SfnDeadline};
use crate::command::Outcome;
use crate::ctx::{fault, Ctx};
use crate::state::{Lookup, ReadError, Write};
use swf_types::Timestamp;

const DAY_MS: i64 = 24 * 3600 * 1000;
/// How long after its stop an execution can be redriven (AWS: 14 days).
pub const REDRIVABLE_PERIOD_MS: i64 = 14 * DAY_MS;
/// The longest an execution may be open (AWS's quota: one year); past it from its start, no redrive.
pub const MAX_EXECUTION_TIME_MS: i64 = 365 * DAY_MS;
/// How long a client token answers again (the model: "valid for up to 15 minutes").
pub const CLIENT_TOKEN_WINDOW_MS: i64 = 15 * 60 * 1000;
/// How many client tokens an execution keeps (the model: "the last 10 client tokens").
pub const CLIENT_TOKENS_KEPT: usize = 10;

/// The name of the state machine an execution belongs to (the last part of its ARN; for a Map
/// Run's child, whose machine is `<machine>/<label>`, the machine of its parent).
pub fn machine_name(x: &Execution) -> &str {
    let name = x.state_machine_arn.rsplit(':').next().unwrap_or_default();
    match x.map_run_arn {
        Some(_) => name.split('/').next().unwrap_or_default(),
        None => name,
    }
}

/// Why `x` cannot be redriven at `now_ms` (AWS's `redriveStatusReason` texts), `None` when it can.
/// `machine_exists`: its state machine was not deleted. Without `now_ms` the time limits are not
/// judged.
pub fn not_redrivable(
    x: &Execution,
    machine_exists: bool,
    now_ms: Option<i64>,
) -> Option<&'static str> {
    if let Some(r) = lang::not_redrivable(&x.state) {
        return Some(r);
    }
    if !machine_exists {
        return Some(reason::STATE_MACHINE_DELETING);
    }
    let now = now_ms?;
    if now.saturating_sub(x.started.0) > MAX_EXECUTION_TIME_MS {
        return Some(reason::MAX_EXECUTION_TIME);
    }
    if x.stopped
        .is_some_and(|t| now.saturating_sub(t.0) > REDRIVABLE_PERIOD_MS)
    {
        return Some(reason::PERIOD_EXCEEDED);
    }
    None
}

/// The `redriveCount`, `redriveDate`, `redriveStatus` and `redriveStatusReason` members of
/// DescribeExecution for `x`.
pub fn describe_members(
    x: &Execution,
    machine_exists: bool,
    now_ms: Option<i64>,
    out: &mut serde_json::Value,
) {
    out["redriveCount"] = json!(x.state.info.redrive_count);
    if let Some(t) = x.state.info.redrive_time_ms {
        out["redriveDate"] = json!(Timestamp(t));
    }
    match not_redrivable(x, machine_exists, now_ms) {
        // A Distributed Map's child is redriven by redriving its Map Run (the parent's redrive).
        None if x.map_run_arn.is_some() => out["redriveStatus"] = json!("REDRIVABLE_BY_MAP_RUN"),
        None => out["redriveStatus"] = json!("REDRIVABLE"),
        Some(r) => {
            out["redriveStatus"] = json!("NOT_REDRIVABLE");
            out["redriveStatusReason"] = json!(r);
        }
    }
}

/// Whether `x` passes ListExecutions' `redriveFilter` (REDRIVEN / NOT_REDRIVEN; anything else was
/// refused at the gateway).
pub fn passes_filter(x: &Execution, filter: Option<&str>) -> bool {
    match filter {
        Some("REDRIVEN") => x.state.info.redrive_count > 0,
        Some("NOT_REDRIVEN") => x.state.info.redrive_count == 0,
        _ => true,
    }
}

/// RedriveExecution.
pub(super) fn redrive<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    i: &RedriveExecutionInput,
) -> Result<Outcome, ReadError> {
    let mut exec = fault!(load(ctx, &i.execution_arn)?);
    let now = ctx.now.0;
    if let Some(token) = &i.client_token {
        let earlier = exec.redrive_tokens.iter().find(|t| {
            &t.token == token && now.saturating_sub(t.first_used_ms) <= CLIENT_TOKEN_WINDOW_MS
        });
        if let Some(t) = earlier {
            return Ok(reply(json!({"redriveDate": t.redrive_date})));
        }
    }
    let machine_exists =
        get::<StateMachine, S>(ctx, &keys::state_machine(machine_name(&exec)))?.is_some();
    if let Some(r) = not_redrivable(&exec, machine_exists, Some(now)) {
        return Ok(Err(fault(FaultKind::ExecutionNotRedrivable, r)));
    }
    if super::counts(ctx)?.open_executions >= ctx.limits.sfn_max_open_executions as u64 {
        return Ok(Err(fault(
            FaultKind::ExecutionLimitExceeded,
            EXECUTION_LIMIT,
        )));
    }
    if let Some(token) = &i.client_token {
        exec.redrive_tokens.push(RedriveToken {
            token: token.clone(),
            first_used_ms: now,
            redrive_date: ctx.now,
        });
        let extra = exec.redrive_tokens.len().saturating_sub(CLIENT_TOKENS_KEPT);
        exec.redrive_tokens.drain(..extra);
    }
    if let Err(f) = run_again(ctx, &mut exec)? {
        return Ok(Err(f));
    }
    Ok(reply(json!({"redriveDate": ctx.now})))
}

/// Redrives a Map Run's child (the run's redrive, `map_runs`): the same as RedriveExecution, minus
/// the client token and the state machine check (the children's `<machine>/<label>` is not a stored
/// machine; the parent's redrive checked the machine). When it cannot be redriven: the child's
/// record as it stands (`None` if there is none).
pub(super) fn redrive_map_run_child<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    arn: &str,
) -> Result<Result<(), Option<Execution>>, ReadError> {
    let Ok(mut exec) = load(ctx, arn)? else {
        return Ok(Err(None));
    };
    if not_redrivable(&exec, true, Some(ctx.now.0)).is_some()
        || super::counts(ctx)?.open_executions >= ctx.limits.sfn_max_open_executions as u64
    {
        return Ok(Err(Some(exec)));
    }
    Ok(match run_again(ctx, &mut exec)? {
        Ok(()) => Ok(()),
        Err(_) => Err(Some(exec)),
    })
}

/// Runs a closed execution again from its unfinished state and opens it again: no retention
/// purge, no stop date, no result; counted as open.
fn run_again<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    exec: &mut Execution,
) -> Result<Result<(), swf_types::Fault>, ReadError> {
    let def = match super::definitions::parse(&exec.definition) {
        Ok(d) => d,
        Err(e) => {
            return Ok(Err(swf_types::Fault::internal(format!(
                "stored definition does not parse: {e}"
            ))))
        }
    };
    let world = StateWorld::new(ctx);
    let out = lang::redrive(&def, &mut exec.state, Stamp { now_ms: ctx.now.0 }, &world);
    world.done()?;
    let Some(out) = out else {
        return Ok(Err(fault(
            FaultKind::ExecutionNotRedrivable,
            reason::RUNNING,
        )));
    };
    if let Some(due) = exec.retention_due.take() {
        let d = deadline(&exec.arn, SfnDeadline::Retention, 0, due);
        ctx.writes.push(Write::Disarm(d));
    }
    exec.status = "RUNNING".into();
    exec.stopped = None;
    exec.output = None;
    exec.error = None;
    exec.cause = None;
    super::count(ctx, |c| c.open_executions += 1)?;
    advance(ctx, exec, out)?;
    Ok(Ok(()))
}
