//! Decision validation and apply: an arbitrary decision list (JSON, as a decider sends it) is
//! validated against the model as the leader does, then applied by RespondDecisionTaskCompleted to a
//! live execution in `MemState`. Any list gives a reply or a modelled fault, never a panic; a fault
//! writes nothing; and the history stays what SWF guarantees (`validate_history`). Two rounds, so the
//! second list meets the state the first one left (timers, activities, children, markers).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use swf_core::command::{Command, Op, Reply};
use swf_core::memstate::MemState;
use swf_core::state::{DecisionSlot, StateRead};
use swf_core::validate::validate_history;
use swf_core::Limits;
use swf_types::shapes::{DecisionType, RespondDecisionTaskCompletedInput};
use swf_types::Timestamp;

struct World {
    state: MemState,
    limits: Limits,
    index: u64,
    clock: i64,
}

impl World {
    fn run(&mut self, op: Op, fresh: usize) -> swf_core::Outcome {
        self.index += 1;
        self.clock += 1000;
        let cmd = Command {
            now: Timestamp(self.clock),
            op,
            fresh_ids: (0..fresh)
                .map(|i| format!("fresh-{}-{i}", self.index))
                .collect(),
            request_id: None,
        };
        let applied = swf_core::apply(&self.state, self.index, &cmd, &self.limits)
            .expect("MemState never fails a read");
        if applied.outcome.is_err() {
            assert!(applied.writes.is_empty(), "a fault wrote something");
        }
        self.state.write(applied.writes);
        applied.outcome
    }

    fn op(v: Value) -> Op {
        serde_json::from_value(v).expect("a valid setup command")
    }
}

fn setup() -> (World, String) {
    let mut w = World {
        state: MemState::default(),
        limits: Limits {
            max_history_events: 200,
            ..Limits::default()
        },
        index: 0,
        clock: 1_700_000_000_000,
    };
    for op in [
        json!({"RegisterDomain": {"name": "d", "workflowExecutionRetentionPeriodInDays": "1"}}),
        json!({"RegisterWorkflowType": {"domain": "d", "name": "wf", "version": "1",
            "defaultTaskList": {"name": "decisions"}, "defaultTaskStartToCloseTimeout": "60",
            "defaultExecutionStartToCloseTimeout": "3600", "defaultChildPolicy": "TERMINATE"}}),
        json!({"RegisterActivityType": {"domain": "d", "name": "act", "version": "1",
            "defaultTaskList": {"name": "activities"}, "defaultTaskScheduleToCloseTimeout": "300",
            "defaultTaskScheduleToStartTimeout": "100", "defaultTaskStartToCloseTimeout": "200",
            "defaultTaskHeartbeatTimeout": "30"}}),
        json!({"StartWorkflowExecution": {"input": {"domain": "d", "workflowId": "w",
            "workflowType": {"name": "wf", "version": "1"}, "input": "in"}, "run_id": "run-1"}}),
        json!({"StartWorkflowExecution": {"input": {"domain": "d", "workflowId": "other",
            "workflowType": {"name": "wf", "version": "1"}}, "run_id": "run-2"}}),
    ] {
        w.run(World::op(op), 0).expect("setup");
    }
    (w, "run-1".to_string())
}

/// Starts the run's queued decision task, if any; returns its token.
fn start_decision(w: &mut World, run: &str) -> Option<String> {
    let rec = w.state.record(run)?;
    let DecisionSlot::Scheduled {
        scheduled_event_id, ..
    } = rec.decision
    else {
        return None;
    };
    match w.run(
        Op::StartDecisionTask {
            run_id: run.into(),
            scheduled_event_id,
            identity: None,
        },
        0,
    ) {
        Ok(Reply::DecisionTaskStarted { task_token, .. }) => Some(task_token),
        other => panic!("starting a queued decision task: {other:?}"),
    }
}

fn check_histories(w: &World) {
    for run in w.state.records().keys() {
        let events = w.state.history(run, 1, false, usize::MAX).unwrap();
        let violations = validate_history(&events);
        assert!(violations.is_empty(), "{run}: {violations:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(decisions) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let (mut w, run) = setup();
    for _ in 0..2 {
        let Some(token) = start_decision(&mut w, &run) else {
            break;
        };
        let body = json!({"taskToken": token, "decisions": decisions.clone()});
        let body = serde_json::to_vec(&body).unwrap();
        // The leader's path: model validation, then the typed input, then apply.
        let Ok(value) = swf_types::model::parse_request("RespondDecisionTaskCompleted", &body)
        else {
            return;
        };
        let Ok(input) = serde_json::from_value::<RespondDecisionTaskCompletedInput>(value) else {
            return;
        };
        // One run id per run a decision may start, as the leader stamps them.
        let fresh = input
            .decisions
            .iter()
            .flatten()
            .filter(|d| {
                matches!(
                    d.decision_type,
                    DecisionType::ContinueAsNewWorkflowExecution
                        | DecisionType::StartChildWorkflowExecution
                )
            })
            .count();
        let _ = w.run(Op::RespondDecisionTaskCompleted(input), fresh);
        check_histories(&w);
    }
});
