//! RedriveExecution in the interpreter: a FAILED, ABORTED or TIMED_OUT execution runs again from the
//! state that did not finish, with the input that state had, appending to the same history.
//!
//! What AWS documents (API reference, RedriveExecution; developer guide, "Restarting state machine
//! executions with redrive"): the successful states keep their results and are not run again; an
//! inline Map or a Parallel re-runs only its iterations and branches that failed or were aborted;
//! the definition is the one the execution started with; the machine's TimeoutSeconds starts
//! again from the redrive; the history gets an `ExecutionRedriven` event (`redriveCount`) and the ids
//! go on from the last one; `$$.Execution.RedriveCount` / `RedriveTime` say so. A state re-run here
//! is entered afresh (a new `...StateEntered`, retry counters at 0, activity tasks and timers
//! scheduled anew under new ids, so tokens of the earlier attempt stay dead).
//!
//! A child module of `interpret`, so it drives the same `Engine`.

use serde_json::json;

use super::{
    finish, limit_history, Engine, ExecutionState, Flow, Outcome, Stamp, Status, Thread, Waiting,
    World,
};
use crate::definition::{Definition, StateKind};

/// Events an execution may have and still be redriven: AWS wants room for `ExecutionRedriven` and
/// at least one more event ("less than 24,999").
pub const MAX_EVENTS_TO_REDRIVE: u64 = 24_999;

/// AWS's `redriveStatusReason` texts (DescribeExecution), also the messages of
/// `ExecutionNotRedrivable` here.
pub mod reason {
    pub const RUNNING: &str = "Execution is RUNNING and cannot be redriven";
    pub const SUCCEEDED: &str = "Execution is SUCCEEDED and cannot be redriven";
    pub const EVENT_LIMIT: &str = "Execution history event limit exceeded";
    pub const MAX_EXECUTION_TIME: &str = "Execution has exceeded the max execution time";
    pub const PERIOD_EXCEEDED: &str = "Execution redrivable period exceeded";
    pub const STATE_MACHINE_DELETING: &str = "State machine is in DELETING status";
}

/// Why the interpreter cannot redrive `exec` (status, history size); `None` when it can. The
/// engine adds the checks that need time or other records (the 14-day window, a deleted machine).
pub fn not_redrivable(exec: &ExecutionState) -> Option<&'static str> {
    match exec.status {
        Status::Running => Some(reason::RUNNING),
        Status::Succeeded => Some(reason::SUCCEEDED),
        _ if exec.last_event_id >= MAX_EVENTS_TO_REDRIVE => Some(reason::EVENT_LIMIT),
        _ => None,
    }
}

/// Redrives `exec` at `stamp`: `ExecutionRedriven`, then the unfinished states run again until
/// something blocks. `None` (nothing changed) when [`not_redrivable`] says so.
pub fn redrive(
    def: &Definition,
    exec: &mut ExecutionState,
    stamp: Stamp,
    world: &dyn World,
) -> Option<Outcome> {
    if not_redrivable(exec).is_some() {
        return None;
    }
    exec.status = Status::Running;
    exec.info.redrive_count = exec.info.redrive_count.saturating_add(1);
    exec.info.redrive_time_ms = Some(stamp.now_ms);
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
    eng.push(
        "ExecutionRedriven",
        "executionRedrivenEventDetails",
        json!({"redriveCount": info.redrive_count}),
    );
    if let Some(t) = def.timeout_seconds {
        eng.out.effects.push(super::Effect::ArmExecutionTimeout {
            due_ms: stamp.now_ms.saturating_add(t as i64 * 1000),
        });
    }
    let flow = if exec.root.state.is_empty() {
        // Never got into a state: start over.
        eng.enter(def, &mut exec.root, &def.start_at, info.input.clone())
    } else {
        resume(&mut eng, def, &mut exec.root)
    };
    finish(&mut eng, &mut exec.status, flow);
    let mut out = eng.out;
    limit_history(exec, &mut out, first_id, stamp.now_ms);
    Some(out)
}

/// Runs a thread again from where it stopped: a Parallel or Map that has its children re-runs those
/// without a result (and starts those never started); any other state is entered again with its
/// input.
fn resume(eng: &mut Engine, def: &Definition, th: &mut Thread) -> Flow {
    let Some(state) = def.state(&th.state) else {
        let (name, input) = (th.state.clone(), th.raw_input.clone());
        return eng.enter(def, th, &name, input);
    };
    // A Distributed Map whose run did not succeed: that run is redriven (AWS: "Redriving Map
    // Runs"), its successful children kept.
    if matches!(&state.kind, StateKind::Map(m) if m.distributed.is_some()) {
        th.retry_counts = vec![0; state.retry.len()];
        if let Some(flow) = eng.map_run_redrive(th) {
            return flow;
        }
    }
    let fanout_kept =
        th.fanout.is_some() && matches!(state.kind, StateKind::Parallel { .. } | StateKind::Map(_));
    if !fanout_kept {
        let (name, input) = (th.state.clone(), th.raw_input.clone());
        return eng.enter(def, th, &name, input);
    }
    th.retry_counts = vec![0; state.retry.len()];
    th.waiting = Waiting::Children;
    let n = th.fanout.as_ref().map_or(0, |f| f.children.len());
    for i in 0..n {
        let sub: &Definition = match &state.kind {
            StateKind::Parallel { branches } => match branches.get(i) {
                Some(b) => b,
                None => continue,
            },
            StateKind::Map(map) => &map.processor,
            _ => continue,
        };
        let Some(fan) = th.fanout.as_mut() else {
            break;
        };
        if fan.results.get(i).is_none_or(Option::is_some) {
            continue;
        }
        // A child never started stays `None`: `start_children` starts it from the beginning.
        let Some(mut child) = fan.children.get_mut(i).and_then(Option::take) else {
            continue;
        };
        let flow = resume(eng, sub, &mut child);
        if let Some(fan) = th.fanout.as_mut() {
            fan.children[i] = Some(child);
        }
        if let Some(done) = eng.child_flow(state, th, i, flow) {
            return eng.run(def, th, done);
        }
    }
    let flow = eng.start_children(state, th);
    eng.run(def, th, flow)
}

#[cfg(test)]
#[path = "redrive_test.rs"]
mod redrive_test;
