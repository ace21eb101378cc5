//! Table tests of child executions (`children`) on `MemState`: a parent's nested-execution Task
//! starts a child through the `StartChild` deadline, hears of its end through `ChildClosed`, stops
//! it through `StopChild`; the history events and outputs of each mode.

use serde_json::{json, Value};
use swf_types::FaultKind;

use super::command::*;
use super::query;
use super::test_world::{Answer, Core};
use super::SfnOp;
use crate::command::Op;

pub(super) const ACT: &str = "arn:aws:states:us-east-1:000000000000:activity:work";
const ROLE: &str = "arn:aws:iam::000000000000:role/r";

pub(super) fn sm_arn(name: &str) -> String {
    format!("arn:aws:states:us-east-1:000000000000:stateMachine:{name}")
}

pub(super) fn exec_arn(sm: &str, name: &str) -> String {
    format!("arn:aws:states:us-east-1:000000000000:execution:{sm}:{name}")
}

pub(super) struct World {
    core: Core,
    /// The time of the last command; each command is stamped 10 ms after the one before.
    pub(super) now: i64,
}

super::test_world::deref_to_core!(World);

impl World {
    pub(super) fn new() -> World {
        let mut w = World {
            core: Core::new(),
            now: 1_000,
        };
        w.run(SfnOp::CreateActivity(CreateActivityInput {
            name: "work".into(),
            tags: None,
        }))
        .unwrap();
        w
    }

    pub(super) fn run(&mut self, op: SfnOp) -> Answer {
        self.run_op(Op::Sfn(op))
    }

    pub(super) fn run_op(&mut self, op: Op) -> Answer {
        self.now += 10;
        self.core.apply(self.now, op)
    }

    /// Fires every due deadline, one command per round, until none is due (what the timer service
    /// does).
    pub(super) fn settle(&mut self) {
        for _ in 0..20 {
            let due = self.core.due(self.now);
            if due.is_empty() {
                return;
            }
            self.run_op(Op::FireDeadlines(due)).unwrap();
        }
        panic!("deadlines keep coming");
    }

    pub(super) fn machine(&mut self, name: &str, definition: Value) {
        self.run(SfnOp::CreateStateMachine(CreateStateMachineInput {
            name: name.into(),
            definition: definition.to_string(),
            role_arn: ROLE.into(),
            kind: None,
            tags: None,
            publish: None,
            version_description: None,
            logging_configuration: None,
            tracing_configuration: None,
        }))
        .unwrap();
    }

    pub(super) fn start(&mut self, sm: &str, name: &str, input: Value) -> String {
        self.run(SfnOp::StartExecution {
            input: StartExecutionInput {
                state_machine_arn: sm_arn(sm),
                name: Some(name.into()),
                input: Some(input.to_string()),
            },
            default_name: "uuid".into(),
            seed: 7,
        })
        .unwrap();
        self.settle();
        exec_arn(sm, name)
    }

    /// Takes the first queued activity task: (token, input).
    pub(super) fn take(&mut self) -> (String, Value) {
        let q = self
            .state
            .queues
            .values()
            .find(|q| q.domain == super::TASKS_DOMAIN)
            .expect("a queued task")
            .clone();
        let v = self
            .run(SfnOp::StartTask {
                execution_arn: q.run_id.clone(),
                task_id: q.scheduled_event_id as u64,
                worker_name: None,
            })
            .unwrap();
        (
            v["taskToken"].as_str().unwrap().to_string(),
            serde_json::from_str(v["input"].as_str().unwrap()).unwrap(),
        )
    }

    pub(super) fn succeed(
        &mut self,
        token: &str,
        output: Value,
    ) -> Result<Value, (FaultKind, String)> {
        let r = self.run(SfnOp::SendTaskSuccess(SendTaskSuccessInput {
            task_token: token.into(),
            output: output.to_string(),
        }));
        self.settle();
        r
    }

    pub(super) fn history(&self, exec: &str) -> Vec<Value> {
        let h = query::get_execution_history(
            &self.state,
            &self.limits,
            exec,
            Some(1000),
            false,
            true,
            None,
        )
        .unwrap();
        h["events"].as_array().unwrap().clone()
    }

    pub(super) fn types(&self, exec: &str) -> Vec<String> {
        self.history(exec)
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_string())
            .collect()
    }

    /// The details member of the first event of type `ty`.
    pub(super) fn details(&self, exec: &str, ty: &str) -> Value {
        let e = self
            .history(exec)
            .into_iter()
            .find(|e| e["type"] == ty)
            .unwrap_or_else(|| panic!("no {ty} in {:?}", self.types(exec)));
        let member = e
            .as_object()
            .unwrap()
            .keys()
            .find(|k| k.ends_with("EventDetails"))
            .cloned()
            .unwrap();
        e[&member].clone()
    }

    pub(super) fn describe(&self, exec: &str) -> Value {
        query::describe_execution(&self.state, &self.limits, exec).unwrap()
    }
}

/// A child that runs the activity on its input.
pub(super) fn child_machine() -> Value {
    json!({"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": ACT, "End": true}}})
}

fn parent_machine(resource: &str, parameters: Value, extra: Value) -> Value {
    let mut task = json!({"Type": "Task", "Resource": format!("arn:aws:states:::states:{resource}"),
        "Parameters": parameters, "End": true});
    for (k, v) in extra.as_object().unwrap() {
        task[k] = v.clone();
    }
    json!({"StartAt": "Nested", "States": {"Nested": task}})
}

fn start_child_params() -> Value {
    json!({"StateMachineArn": sm_arn("child"), "Name": "kid", "Input": {"n.$": "$.n",
        "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"}})
}

#[test]
fn sync_waits_for_the_child_and_returns_its_description() {
    for (resource, parsed) in [
        ("startExecution.sync", false),
        ("startExecution.sync:2", true),
    ] {
        let mut w = World::new();
        w.machine("child", child_machine());
        w.machine(
            "parent",
            parent_machine(resource, start_child_params(), json!({})),
        );
        let parent = w.start("parent", "p", json!({"n": 5}));
        let child = exec_arn("child", "kid");
        assert_eq!(
            w.types(&parent),
            [
                "ExecutionStarted",
                "TaskStateEntered",
                "TaskScheduled",
                "TaskStarted",
                "TaskSubmitted"
            ]
        );
        let scheduled = w.details(&parent, "TaskScheduled");
        assert_eq!(scheduled["resourceType"], "states");
        assert_eq!(scheduled["resource"], resource);
        assert_eq!(scheduled["region"], "us-east-1");
        let params: Value =
            serde_json::from_str(scheduled["parameters"].as_str().unwrap()).unwrap();
        assert_eq!(params["StateMachineArn"], sm_arn("child"));
        let submitted: Value = serde_json::from_str(
            w.details(&parent, "TaskSubmitted")["output"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(submitted["ExecutionArn"], child);
        assert!(submitted["StartDate"].is_i64());
        // The child got the input, with the parent's id as AWS passes it.
        let (token, input) = w.take();
        assert_eq!(
            input,
            json!({"n": 5, "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID": parent})
        );
        assert_eq!(w.describe(&parent)["status"], "RUNNING");
        w.succeed(&token, json!({"sum": 6})).unwrap();
        assert_eq!(w.describe(&child)["status"], "SUCCEEDED");
        assert_eq!(w.describe(&parent)["status"], "SUCCEEDED", "{resource}");
        let out: Value =
            serde_json::from_str(w.describe(&parent)["output"].as_str().unwrap()).unwrap();
        assert_eq!(out["ExecutionArn"], child);
        assert_eq!(out["Status"], "SUCCEEDED");
        assert_eq!(out["Name"], "kid");
        assert_eq!(out["InputDetails"], json!({"Included": true}));
        assert!(out["StopDate"].is_i64());
        if parsed {
            assert_eq!(out["Output"], json!({"sum": 6}));
        } else {
            assert_eq!(out["Output"], json!("{\"sum\":6}"));
        }
        assert_eq!(
            w.types(&parent)[5..],
            ["TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"]
        );
        assert!(w
            .state
            .deadlines
            .iter()
            .all(|d| d.kind == crate::state::DeadlineKind::Sfn(super::SfnDeadline::Retention)));
    }
}

#[test]
fn fire_and_forget_succeeds_once_the_child_started() {
    let mut w = World::new();
    w.machine("child", child_machine());
    w.machine(
        "parent",
        parent_machine("startExecution", start_child_params(), json!({})),
    );
    let parent = w.start("parent", "p", json!({"n": 1}));
    assert_eq!(
        w.types(&parent),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    let out: Value = serde_json::from_str(w.describe(&parent)["output"].as_str().unwrap()).unwrap();
    assert_eq!(out["ExecutionArn"], exec_arn("child", "kid"));
    assert_eq!(w.describe(&exec_arn("child", "kid"))["status"], "RUNNING");
}

#[test]
fn wait_for_task_token_takes_the_callback_with_the_token_the_child_got() {
    let mut w = World::new();
    w.machine("child", child_machine());
    let params = json!({"StateMachineArn": sm_arn("child"), "Name": "kid",
        "Input": {"token.$": "$$.Task.Token"}});
    w.machine(
        "parent",
        parent_machine(
            "startExecution.waitForTaskToken",
            params,
            json!({"HeartbeatSeconds": 60}),
        ),
    );
    let parent = w.start("parent", "p", json!({}));
    assert_eq!(w.types(&parent).last().unwrap(), "TaskSubmitted");
    assert_eq!(
        w.details(&parent, "TaskScheduled")["heartbeatInSeconds"],
        60
    );
    // The child's activity is handed the parent's token in its input.
    let (child_token, input) = w.take();
    let parent_token = input["token"].as_str().unwrap().to_string();
    assert_ne!(parent_token, child_token);
    // A heartbeat with the parent's token is taken.
    w.run(SfnOp::SendTaskHeartbeat(SendTaskHeartbeatInput {
        task_token: parent_token.clone(),
    }))
    .unwrap();
    w.succeed(&child_token, json!({})).unwrap();
    // The child's end does not end the task: the callback does.
    assert_eq!(w.describe(&parent)["status"], "RUNNING");
    w.succeed(&parent_token, json!({"done": true})).unwrap();
    assert_eq!(w.describe(&parent)["status"], "SUCCEEDED");
    assert_eq!(w.describe(&parent)["output"], "{\"done\":true}");
    assert_eq!(
        w.types(&parent)[4..],
        [
            "TaskSubmitted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    // A second callback: the task is gone.
    let again = w.succeed(&parent_token, json!({}));
    assert_eq!(again.unwrap_err().0, FaultKind::TaskDoesNotExist);
}

#[test]
fn a_sync_task_takes_no_callback() {
    let mut w = World::new();
    w.machine("child", child_machine());
    w.machine(
        "parent",
        parent_machine("startExecution.sync", start_child_params(), json!({})),
    );
    let parent = w.start("parent", "p", json!({"n": 1}));
    // The token anyone can build from the history (unsigned: MemState has no keyring).
    let forged = super::tasks::token(&parent, 3);
    let r = w.succeed(&forged, json!({}));
    assert_eq!(r.unwrap_err().0, FaultKind::InvalidToken);
}

#[test]
fn a_failed_child_fails_the_task_with_states_task_failed_and_catch_applies() {
    let mut w = World::new();
    w.machine(
        "child",
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "bad"}}}),
    );
    w.machine(
        "parent",
        json!({"StartAt": "Nested", "States": {
            "Nested": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync",
                "Parameters": {"StateMachineArn": sm_arn("child"), "Name": "kid"},
                "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.err", "Next": "Caught"}],
                "End": true},
            "Caught": {"Type": "Pass", "End": true}}}),
    );
    let parent = w.start("parent", "p", json!({}));
    assert_eq!(w.describe(&parent)["status"], "SUCCEEDED");
    let failed = w.details(&parent, "TaskFailed");
    assert_eq!(failed["error"], "States.TaskFailed");
    let cause: Value = serde_json::from_str(failed["cause"].as_str().unwrap()).unwrap();
    assert_eq!(cause["Status"], "FAILED");
    assert_eq!(cause["Error"], "Boom");
    assert_eq!(cause["Cause"], "bad");
}

#[test]
fn a_child_that_cannot_start_fails_the_task_with_the_integration_error() {
    let mut w = World::new();
    w.machine(
        "parent",
        parent_machine(
            "startExecution.sync",
            json!({"StateMachineArn": sm_arn("nothing")}),
            json!({}),
        ),
    );
    let parent = w.start("parent", "p", json!({}));
    assert_eq!(w.describe(&parent)["status"], "FAILED");
    let failed = w.details(&parent, "TaskFailed");
    assert_eq!(
        failed["error"],
        "StepFunctions.StateMachineDoesNotExistException"
    );
    assert!(failed["cause"]
        .as_str()
        .unwrap()
        .contains("State Machine Does Not Exist"));
    assert_eq!(w.describe(&parent)["error"], failed["error"]);
}

#[test]
fn stopping_the_parent_stops_its_sync_child_and_a_timeout_gives_it_up() {
    let mut w = World::new();
    w.machine("child", child_machine());
    w.machine(
        "parent",
        parent_machine("startExecution.sync", start_child_params(), json!({})),
    );
    let parent = w.start("parent", "p", json!({"n": 1}));
    let child = exec_arn("child", "kid");
    assert_eq!(w.describe(&child)["status"], "RUNNING");
    w.run(SfnOp::StopExecution(StopExecutionInput {
        execution_arn: parent.clone(),
        error: None,
        cause: None,
    }))
    .unwrap();
    w.settle();
    assert_eq!(w.describe(&parent)["status"], "ABORTED");
    assert_eq!(w.describe(&child)["status"], "ABORTED");

    // TimeoutSeconds: TaskTimedOut, and the child is stopped.
    let mut w = World::new();
    w.machine("child", child_machine());
    w.machine(
        "parent",
        parent_machine(
            "startExecution.sync:2",
            start_child_params(),
            json!({"TimeoutSeconds": 5}),
        ),
    );
    let parent = w.start("parent", "p", json!({"n": 1}));
    w.now += 6_000;
    w.settle();
    assert_eq!(w.describe(&parent)["status"], "FAILED");
    let timed_out = w.details(&parent, "TaskTimedOut");
    assert_eq!(timed_out["error"], "States.Timeout");
    assert_eq!(timed_out["resource"], "startExecution.sync:2");
    assert_eq!(w.describe(&child)["status"], "ABORTED");
}

#[test]
fn default_child_names_come_from_the_parents_seed() {
    let run = || {
        let mut w = World::new();
        w.machine("child", child_machine());
        w.machine(
            "parent",
            parent_machine(
                "startExecution",
                json!({"StateMachineArn": sm_arn("child")}),
                json!({}),
            ),
        );
        let parent = w.start("parent", "p", json!({}));
        let out: Value =
            serde_json::from_str(w.describe(&parent)["output"].as_str().unwrap()).unwrap();
        out["ExecutionArn"].as_str().unwrap().to_string()
    };
    let (a, b) = (run(), run());
    assert_eq!(a, b);
    let name = a.rsplit(':').next().unwrap();
    assert_eq!(name.len(), 36, "a UUID: {name}");
}
