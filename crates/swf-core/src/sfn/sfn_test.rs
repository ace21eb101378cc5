//! Table tests of the Step Functions apply functions, on `MemState`: each case applies commands
//! stamped with a time and checks the outcome (fault kind and message, or reply) and the state.

use serde_json::{json, Value};
use swf_types::{FaultKind, Timestamp};

use super::command::*;
use super::query;
use super::tasks::token;
use super::test_world::{Answer, Core};
use super::SfnOp;
use crate::command::Op;

const ACT: &str = "arn:aws:states:us-east-1:000000000000:activity:work";
const SM: &str = "arn:aws:states:us-east-1:000000000000:stateMachine:m";

fn exec_arn(name: &str) -> String {
    format!("arn:aws:states:us-east-1:000000000000:execution:m:{name}")
}

struct World {
    core: Core,
}

super::test_world::deref_to_core!(World);

impl World {
    fn new() -> World {
        World { core: Core::new() }
    }

    /// Applies `op` at `now_ms`: the reply's JSON, or the fault's (kind, message).
    fn run(&mut self, now_ms: i64, op: SfnOp) -> Answer {
        self.run_op(now_ms, Op::Sfn(op))
    }

    fn run_op(&mut self, now_ms: i64, op: Op) -> Answer {
        self.core.apply(now_ms, op)
    }

    fn fire_all_due(&mut self, now_ms: i64) {
        self.core.fire_due(now_ms);
    }

    /// Whether the only armed deadlines are closed executions' retention.
    fn only_retention(&self) -> bool {
        self.state
            .deadlines
            .iter()
            .all(|d| d.kind == crate::state::DeadlineKind::Sfn(super::SfnDeadline::Retention))
    }

    fn history_types(&self, exec: &str) -> Vec<String> {
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
        h["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_string())
            .collect()
    }

    fn status(&self, exec: &str) -> String {
        query::describe_execution(&self.state, &self.limits, exec).unwrap()["status"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn machine(&mut self, definition: Value) {
        self.run(
            0,
            SfnOp::CreateActivity(CreateActivityInput {
                name: "work".into(),
                tags: None,
            }),
        )
        .unwrap();
        self.run(
            0,
            SfnOp::CreateStateMachine(CreateStateMachineInput {
                name: "m".into(),
                definition: definition.to_string(),
                role_arn: "arn:aws:iam::000000000000:role/r".into(),
                kind: None,
                tags: None,
                publish: None,
                version_description: None,
                logging_configuration: None,
                tracing_configuration: None,
            }),
        )
        .unwrap();
    }

    fn start(&mut self, now: i64, name: &str, input: &str) -> Result<Value, (FaultKind, String)> {
        self.run(
            now,
            SfnOp::StartExecution {
                input: StartExecutionInput {
                    state_machine_arn: SM.into(),
                    name: Some(name.into()),
                    input: Some(input.into()),
                },
                default_name: "uuid".into(),
                seed: 7,
            },
        )
    }

    /// Takes the first queued task of the activity: (token, input).
    fn take(&mut self, now: i64) -> Option<(String, String)> {
        let q = self
            .state
            .queues
            .values()
            .find(|q| q.domain == super::TASKS_DOMAIN)?
            .clone();
        let v = self
            .run(
                now,
                SfnOp::StartTask {
                    execution_arn: q.run_id.clone(),
                    task_id: q.scheduled_event_id as u64,
                    worker_name: Some("w1".into()),
                },
            )
            .unwrap();
        Some((
            v["taskToken"].as_str().unwrap().to_string(),
            v["input"].as_str().unwrap().to_string(),
        ))
    }
}

fn task_machine(extra: Value) -> Value {
    let mut task = json!({"Type": "Task", "Resource": ACT, "Next": "Done"});
    for (k, v) in extra.as_object().unwrap() {
        task[k] = v.clone();
    }
    json!({"StartAt": "T", "States": {"T": task, "Done": {"Type": "Succeed"}}})
}

#[test]
fn activities_and_state_machines_control_plane() {
    let mut w = World::new();
    let create = |name: &str| {
        SfnOp::CreateActivity(CreateActivityInput {
            name: name.into(),
            tags: None,
        })
    };
    let first = w.run(1000, create("work")).unwrap();
    // Idempotent by name: the same ARN and creation date.
    assert_eq!(w.run(5000, create("work")).unwrap(), first);
    assert_eq!(first["activityArn"], ACT);
    assert_eq!(first["creationDate"], json!(1.0));
    let cases: Vec<(SfnOp, FaultKind, &str)> = vec![
        (create("a b"), FaultKind::InvalidName, "Invalid Name: 'a b'"),
        (
            SfnOp::DeleteActivity(ArnInput { arn: "x".into() }),
            FaultKind::InvalidArn,
            "Invalid Arn: 'Invalid ARN prefix: x'",
        ),
        (
            SfnOp::CreateStateMachine(CreateStateMachineInput {
                name: "m".into(),
                definition: json!({"StartAt": "L", "States": {"L": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "End": true}}}).to_string(),
                role_arn: "arn:aws:iam::000000000000:role/r".into(),
                kind: None,
                tags: None,
                publish: None,
                version_description: None,
                logging_configuration: None,
                tracing_configuration: None,
            }),
            FaultKind::InvalidDefinition,
            "arn:aws:lambda:us-east-1:1:function:f",
        ),
        (
            SfnOp::StartExecution {
                input: StartExecutionInput { state_machine_arn: SM.into(), name: None, input: None },
                default_name: "u".into(),
                seed: 1,
            },
            FaultKind::StateMachineDoesNotExist,
            "State Machine Does Not Exist: 'arn:aws:states:us-east-1:000000000000:stateMachine:m'",
        ),
    ];
    for (op, kind, msg) in cases {
        let (k, m) = w.run(2000, op.clone()).unwrap_err();
        assert_eq!(k, kind, "{op:?}");
        assert!(m.contains(msg), "{m} should contain {msg}");
    }
    let list = query::list_activities(&w.state, Some(1), None).unwrap();
    assert_eq!(list["activities"][0]["name"], "work");
    // Deleting twice is fine; then it is gone.
    for _ in 0..2 {
        w.run(3000, SfnOp::DeleteActivity(ArnInput { arn: ACT.into() }))
            .unwrap();
    }
    let f = query::describe_activity(&w.state, &w.limits, ACT).unwrap_err();
    assert_eq!(f.kind, FaultKind::ActivityDoesNotExist);
    assert_eq!(f.message, format!("Activity Does Not Exist: '{ACT}'"));
}

#[test]
fn pass_task_choice_succeed_with_idempotent_start() {
    let mut w = World::new();
    w.machine(json!({
        "StartAt": "P",
        "States": {
            "P": {"Type": "Pass", "Result": {"n": 1}, "ResultPath": "$.p", "Next": "T"},
            "T": {"Type": "Task", "Resource": ACT, "ResultPath": "$.r", "Next": "C"},
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.r.ok", "BooleanEquals": true, "Next": "S"}], "Default": "F"},
            "S": {"Type": "Succeed"},
            "F": {"Type": "Fail", "Error": "E"}
        }
    }));
    let started = w.start(10_000, "e1", r#"{"a":1}"#).unwrap();
    let e1 = exec_arn("e1");
    assert_eq!(started["executionArn"], e1);
    // Same name and input while running: the same execution; other input: ExecutionAlreadyExists.
    assert_eq!(w.start(11_000, "e1", r#"{"a":1}"#).unwrap(), started);
    let (k, m) = w.start(11_000, "e1", r#"{"a":2}"#).unwrap_err();
    assert_eq!(
        (k, m),
        (
            FaultKind::ExecutionAlreadyExists,
            format!("Execution Already Exists: '{e1}'")
        )
    );
    let (tok, input) = w.take(12_000).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&input).unwrap(),
        json!({"a": 1, "p": {"n": 1}})
    );
    w.run(
        13_000,
        SfnOp::SendTaskHeartbeat(SendTaskHeartbeatInput {
            task_token: tok.clone(),
        }),
    )
    .unwrap();
    let (k, _) = w
        .run(
            13_000,
            SfnOp::SendTaskSuccess(SendTaskSuccessInput {
                task_token: tok.clone(),
                output: "not json".into(),
            }),
        )
        .unwrap_err();
    assert_eq!(k, FaultKind::InvalidOutput);
    w.run(
        14_000,
        SfnOp::SendTaskSuccess(SendTaskSuccessInput {
            task_token: tok.clone(),
            output: r#"{"ok":true}"#.into(),
        }),
    )
    .unwrap();
    assert_eq!(w.status(&e1), "SUCCEEDED");
    assert_eq!(
        w.history_types(&e1),
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "TaskStateEntered",
            "ActivityScheduled",
            "ActivityStarted",
            "ActivitySucceeded",
            "TaskStateExited",
            "ChoiceStateEntered",
            "ChoiceStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded"
        ]
    );
    // A closed task: TaskDoesNotExist; garbage: InvalidToken; after close, same name: exists.
    let (k, _) = w
        .run(
            15_000,
            SfnOp::SendTaskSuccess(SendTaskSuccessInput {
                task_token: tok,
                output: "{}".into(),
            }),
        )
        .unwrap_err();
    assert_eq!(k, FaultKind::TaskDoesNotExist);
    let (k, m) = w
        .run(
            15_000,
            SfnOp::SendTaskHeartbeat(SendTaskHeartbeatInput {
                task_token: "garbage".into(),
            }),
        )
        .unwrap_err();
    assert_eq!(
        (k, m.as_str()),
        (FaultKind::InvalidToken, "Invalid Token: 'Invalid token'")
    );
    assert_eq!(
        w.start(16_000, "e1", r#"{"a":1}"#).unwrap_err().0,
        FaultKind::ExecutionAlreadyExists
    );
    assert!(w.only_retention());
    assert!(w.state.queues.is_empty());
}

#[test]
fn timeouts_fire_on_time_never_early() {
    // (task fields, when the worker takes the task, the firing time, the error in the history)
    let cases = [
        (json!({"TimeoutSeconds": 5}), None, 15_000, "States.Timeout"),
        (
            json!({"HeartbeatSeconds": 2, "TimeoutSeconds": 100}),
            Some(11_000),
            13_000,
            "States.HeartbeatTimeout",
        ),
    ];
    for (fields, take_at, fire_at, error) in cases {
        let mut w = World::new();
        w.machine(task_machine(fields));
        w.start(10_000, "e", "{}").unwrap();
        let tok = take_at.map(|t| w.take(t).unwrap().0);
        w.fire_all_due(fire_at - 1);
        assert_eq!(w.status(&exec_arn("e")), "RUNNING", "{error} fired early");
        w.fire_all_due(fire_at);
        let d = query::describe_execution(&w.state, &w.limits, &exec_arn("e")).unwrap();
        assert_eq!(d["status"], "FAILED");
        assert_eq!(d["error"], error);
        assert!(w
            .history_types(&exec_arn("e"))
            .contains(&"ActivityTimedOut".to_string()));
        if let Some(tok) = tok {
            let (k, _) = w
                .run(
                    fire_at + 1,
                    SfnOp::SendTaskSuccess(SendTaskSuccessInput {
                        task_token: tok,
                        output: "{}".into(),
                    }),
                )
                .unwrap_err();
            assert_eq!(k, FaultKind::TaskTimedOut);
        }
        assert!(w.only_retention());
    }
}

#[test]
fn retry_then_catch_with_backoff_deadlines() {
    let mut w = World::new();
    w.machine(json!({
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": ACT, "End": true,
                  "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 2, "MaxAttempts": 1}],
                  "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "H"}]},
            "H": {"Type": "Pass", "End": true}
        }
    }));
    w.start(10_000, "e", r#"{"x":1}"#).unwrap();
    let fail = |tok: String| {
        SfnOp::SendTaskFailure(SendTaskFailureInput {
            task_token: tok,
            error: Some("Boom".into()),
            cause: Some("c".into()),
        })
    };
    let tok = w.take(10_500).unwrap().0;
    w.run(11_000, fail(tok)).unwrap();
    // The back-off is a durable deadline: no task until it fires.
    assert!(w.take(12_000).is_none());
    w.fire_all_due(12_999);
    assert!(w.take(12_999).is_none());
    w.fire_all_due(13_000);
    let tok = w.take(13_100).unwrap().0;
    w.run(14_000, fail(tok)).unwrap();
    let d = query::describe_execution(&w.state, &w.limits, &exec_arn("e")).unwrap();
    assert_eq!(d["status"], "SUCCEEDED");
    let out: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
    assert_eq!(out, json!({"x": 1, "err": {"Error": "Boom", "Cause": "c"}}));
}

#[test]
fn stop_closes_running_tasks() {
    let mut w = World::new();
    w.machine(task_machine(json!({"HeartbeatSeconds": 10})));
    w.start(10_000, "e", "{}").unwrap();
    let tok = w.take(10_100).unwrap().0;
    let stop = SfnOp::StopExecution(StopExecutionInput {
        execution_arn: exec_arn("e"),
        error: Some("E".into()),
        cause: Some("C".into()),
    });
    assert_eq!(w.run(11_000, stop).unwrap(), json!({"stopDate": 11.0}));
    let d = query::describe_execution(&w.state, &w.limits, &exec_arn("e")).unwrap();
    assert_eq!(
        (
            d["status"].as_str(),
            d["error"].as_str(),
            d["cause"].as_str()
        ),
        (Some("ABORTED"), Some("E"), Some("C"))
    );
    assert_eq!(
        w.history_types(&exec_arn("e")).last().unwrap(),
        "ExecutionAborted"
    );
    let (k, _) = w
        .run(
            12_000,
            SfnOp::SendTaskSuccess(SendTaskSuccessInput {
                task_token: tok,
                output: "{}".into(),
            }),
        )
        .unwrap_err();
    assert_eq!(k, FaultKind::TaskTimedOut);
    assert!(w.only_retention());
    let (k, _) = w
        .run(
            12_000,
            SfnOp::StopExecution(StopExecutionInput {
                execution_arn: exec_arn("nope"),
                error: None,
                cause: None,
            }),
        )
        .unwrap_err();
    assert_eq!(k, FaultKind::ExecutionDoesNotExist);
}

#[test]
fn list_executions_newest_first_with_status_filter_and_pages() {
    let mut w = World::new();
    w.machine(task_machine(json!({})));
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        w.start(10_000 + i as i64 * 1000, name, "{}").unwrap();
    }
    w.run(
        20_000,
        SfnOp::StopExecution(StopExecutionInput {
            execution_arn: exec_arn("b"),
            error: None,
            cause: None,
        }),
    )
    .unwrap();
    let names = |v: &Value| -> Vec<String> {
        v["executions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect()
    };
    let p1 = query::list_executions(&w.state, &w.limits, SM, None, Some(2), None).unwrap();
    assert_eq!(names(&p1), ["c", "b"]);
    let p2 = query::list_executions(
        &w.state,
        &w.limits,
        SM,
        None,
        Some(2),
        p1["nextToken"].as_str(),
    )
    .unwrap();
    assert_eq!(names(&p2), ["a"]);
    assert!(p2.get("nextToken").is_none());
    let running =
        query::list_executions(&w.state, &w.limits, SM, Some("RUNNING"), None, None).unwrap();
    assert_eq!(names(&running), ["c", "a"]);
    let f = query::list_executions(&w.state, &w.limits, SM, None, None, Some("@@")).unwrap_err();
    assert_eq!(f.kind, FaultKind::InvalidToken);
    // History pages, reversed.
    let h = query::get_execution_history(
        &w.state,
        &w.limits,
        &exec_arn("b"),
        Some(1),
        true,
        false,
        None,
    )
    .unwrap();
    assert_eq!(h["events"][0]["type"], "ExecutionAborted");
    assert!(h["nextToken"].is_string());
}

#[test]
fn wait_state_and_parallel_over_activities() {
    let mut w = World::new();
    w.machine(json!({
        "StartAt": "W",
        "States": {
            "W": {"Type": "Wait", "Seconds": 3, "Next": "P"},
            "P": {"Type": "Parallel", "End": true, "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": ACT, "End": true}}},
                {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": ACT, "End": true}}}
            ]}
        }
    }));
    w.start(10_000, "e", r#"{"v":1}"#).unwrap();
    w.fire_all_due(12_999);
    assert!(w.take(12_999).is_none());
    w.fire_all_due(13_000);
    let (t1, _) = w.take(13_100).unwrap();
    let (t2, _) = w.take(13_100).unwrap();
    for (t, out) in [(t2, "2"), (t1, "1")] {
        w.run(
            14_000,
            SfnOp::SendTaskSuccess(SendTaskSuccessInput {
                task_token: t,
                output: out.into(),
            }),
        )
        .unwrap();
    }
    let d = query::describe_execution(&w.state, &w.limits, &exec_arn("e")).unwrap();
    assert_eq!(d["status"], "SUCCEEDED");
    let out: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
    assert_eq!(out, json!([1, 2]));
}

#[test]
fn tags_of_activities_and_state_machines() {
    let mut w = World::new();
    w.machine(task_machine(json!({})));
    let tag = |arn: &str| {
        SfnOp::TagResource(TagResourceInput {
            resource_arn: arn.into(),
            tags: vec![super::records::Tag {
                key: "k".into(),
                value: "v".into(),
            }],
        })
    };
    for arn in [ACT, SM] {
        w.run(1, tag(arn)).unwrap();
        assert_eq!(
            query::list_tags(&w.state, &w.limits, arn).unwrap(),
            json!({"tags": [{"key": "k", "value": "v"}]})
        );
        w.run(
            2,
            SfnOp::UntagResource(UntagResourceInput {
                resource_arn: arn.into(),
                tag_keys: vec!["k".into()],
            }),
        )
        .unwrap();
        assert_eq!(
            query::list_tags(&w.state, &w.limits, arn).unwrap(),
            json!({"tags": []})
        );
    }
    let missing = "arn:aws:states:us-east-1:000000000000:activity:none";
    assert_eq!(
        w.run(3, tag(missing)).unwrap_err().0,
        FaultKind::ResourceNotFound
    );
}

#[test]
fn tokens_name_the_execution_and_task() {
    let t = token(&exec_arn("e"), 5);
    let d = crate::token::TaskToken::decode(&t).unwrap();
    assert_eq!(
        (d.run_id.as_str(), d.scheduled_event_id),
        (exec_arn("e").as_str(), 5)
    );
    assert!(t.len() <= 2048);
}

#[test]
fn stored_forms_of_sfn_commands_are_pinned() {
    // What is written to the log is forever: the one new variant of `Op` and its payload, as stored.
    let op = Op::Sfn(SfnOp::StartExecution {
        input: StartExecutionInput {
            state_machine_arn: SM.into(),
            name: None,
            input: Some("{}".into()),
        },
        default_name: "0b0e3c2a-0000-4000-8000-000000000000".into(),
        seed: 42,
    });
    let text = serde_json::to_string(&op).unwrap();
    assert_eq!(
        text,
        r#"{"Sfn":{"StartExecution":{"input":{"stateMachineArn":"arn:aws:states:us-east-1:000000000000:stateMachine:m","input":"{}"},"default_name":"0b0e3c2a-0000-4000-8000-000000000000","seed":42}}}"#
    );
    assert_eq!(serde_json::from_str::<Op>(&text).unwrap(), op);
    let d = super::deadline(&exec_arn("e"), super::SfnDeadline::TaskHeartbeat, 5, 1000);
    assert_eq!(
        serde_json::to_value(&d.kind).unwrap(),
        json!({"Sfn": "TaskHeartbeat"})
    );
    // Existing variants are unchanged by the new one.
    assert_eq!(serde_json::to_string(&Op::Noop).unwrap(), r#""Noop""#);
}

#[test]
fn outputs_match_the_model_shapes() {
    // Every answer and every history event is checked against the Step Functions model's output
    // shapes (required members, types, enums, lengths), as the SWF outputs are.
    let m = swf_types::model::sfn_model();
    let check = |shape: &str, v: &Value| {
        swf_types::model::validate_shape(m, shape, v, "")
            .unwrap_or_else(|f| panic!("{shape}: {} in {v}", f.message));
    };
    let mut w = World::new();
    let created = w
        .run(
            1,
            SfnOp::CreateActivity(CreateActivityInput {
                name: "other".into(),
                tags: None,
            }),
        )
        .unwrap();
    check("CreateActivityOutput", &created);
    w.machine(json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": ACT, "Next": "W", "Retry": [{"ErrorEquals": ["X"], "MaxAttempts": 1}]},
        "W": {"Type": "Wait", "Seconds": 1, "Next": "M"},
        "M": {"Type": "Map", "ItemsPath": "$.items", "End": true,
              "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}}}
    }}));
    let started = w.start(10_000, "e", r#"{"items":[1,2]}"#).unwrap();
    check("StartExecutionOutput", &started);
    let e = exec_arn("e");
    let task = w.take(10_100).unwrap();
    check(
        "GetActivityTaskOutput",
        &json!({"taskToken": task.0, "input": task.1}),
    );
    w.run(
        10_200,
        SfnOp::SendTaskFailure(SendTaskFailureInput {
            task_token: task.0,
            error: Some("X".into()),
            cause: None,
        }),
    )
    .unwrap();
    w.fire_all_due(12_000);
    let task = w.take(12_100).unwrap();
    w.run(
        12_200,
        SfnOp::SendTaskSuccess(SendTaskSuccessInput {
            task_token: task.0,
            output: r#"{"items":[1,2]}"#.into(),
        }),
    )
    .unwrap();
    w.fire_all_due(14_000);
    assert_eq!(w.status(&e), "SUCCEEDED");
    let l = &w.limits;
    check(
        "DescribeActivityOutput",
        &query::describe_activity(&w.state, l, ACT).unwrap(),
    );
    check(
        "ListActivitiesOutput",
        &query::list_activities(&w.state, None, None).unwrap(),
    );
    check(
        "DescribeStateMachineOutput",
        &query::describe_state_machine(&w.state, l, SM).unwrap(),
    );
    check(
        "ListStateMachinesOutput",
        &query::list_state_machines(&w.state, None, None).unwrap(),
    );
    check(
        "DescribeExecutionOutput",
        &query::describe_execution(&w.state, l, &e).unwrap(),
    );
    check(
        "ListExecutionsOutput",
        &query::list_executions(&w.state, l, SM, None, None, None).unwrap(),
    );
    check(
        "DescribeStateMachineForExecutionOutput",
        &query::describe_state_machine_for_execution(&w.state, l, &e).unwrap(),
    );
    check(
        "ListTagsForResourceOutput",
        &query::list_tags(&w.state, l, SM).unwrap(),
    );
    for include in [true, false] {
        let h = query::get_execution_history(&w.state, l, &e, None, false, include, None).unwrap();
        check("GetExecutionHistoryOutput", &h);
        // Each event carries exactly one details member, the one its type names in the model.
        for ev in h["events"].as_array().unwrap() {
            let members: Vec<&String> = ev
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| k.ends_with("EventDetails"))
                .collect();
            assert!(members.len() <= 1, "{ev}");
        }
    }
    let stop = w
        .run(
            20_000,
            SfnOp::StopExecution(StopExecutionInput {
                execution_arn: e,
                error: None,
                cause: None,
            }),
        )
        .unwrap();
    check("StopExecutionOutput", &stop);
}

#[test]
fn a_failed_parallel_branch_closes_the_other_branches_task() {
    let mut w = World::new();
    w.machine(json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": ACT, "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": ACT, "HeartbeatSeconds": 5, "End": true}}}
        ]}
    }}));
    w.start(10_000, "e", "{}").unwrap();
    let (a, _) = w.take(10_100).unwrap();
    let (b, _) = w.take(10_100).unwrap();
    w.run(
        11_000,
        SfnOp::SendTaskFailure(SendTaskFailureInput {
            task_token: a,
            error: Some("Boom".into()),
            cause: None,
        }),
    )
    .unwrap();
    let d = query::describe_execution(&w.state, &w.limits, &exec_arn("e")).unwrap();
    assert_eq!(
        (d["status"].as_str(), d["error"].as_str()),
        (Some("FAILED"), Some("Boom"))
    );
    // The other branch's task was closed with the branch: no deadline left, a late answer is refused.
    assert!(w.only_retention());
    let (k, _) = w
        .run(
            12_000,
            SfnOp::SendTaskSuccess(SendTaskSuccessInput {
                task_token: b,
                output: "{}".into(),
            }),
        )
        .unwrap_err();
    assert_eq!(k, FaultKind::TaskTimedOut);
}

#[test]
fn execution_timeout_and_garbage_inputs() {
    let mut w = World::new();
    let mut def = task_machine(json!({}));
    def["TimeoutSeconds"] = json!(2);
    w.machine(def);
    // (input, expected fault)
    let cases = [
        ("{not json", FaultKind::InvalidExecutionInput),
        ("", FaultKind::InvalidExecutionInput),
    ];
    for (input, kind) in cases {
        assert_eq!(
            w.start(10_000, "bad", input).unwrap_err().0,
            kind,
            "{input:?}"
        );
    }
    w.start(10_000, "e", "[1]").unwrap();
    w.fire_all_due(11_999);
    assert_eq!(w.status(&exec_arn("e")), "RUNNING");
    w.fire_all_due(12_000);
    assert_eq!(w.status(&exec_arn("e")), "TIMED_OUT");
    assert_eq!(
        w.history_types(&exec_arn("e")).last().unwrap(),
        "ExecutionTimedOut"
    );
    assert!(w.state.queues.is_empty() && w.only_retention());
}

#[test]
fn closed_executions_are_removed_after_their_retention() {
    let mut w = World::new();
    w.machine(json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}));
    w.start(10_000, "e", "{}").unwrap();
    assert_eq!(w.status(&exec_arn("e")), "SUCCEEDED");
    let due = 10_000 + super::RETENTION_MS;
    w.fire_all_due(due - 1);
    assert_eq!(
        w.start(due - 1, "e", "{}").unwrap_err().0,
        FaultKind::ExecutionAlreadyExists
    );
    w.fire_all_due(due);
    let f = query::describe_execution(&w.state, &w.limits, &exec_arn("e")).unwrap_err();
    assert_eq!(f.kind, FaultKind::ExecutionDoesNotExist);
    // Nothing of it is left: no record, no index entry, no history, no deadline (the counts say no
    // execution is open).
    assert!(w.state.sfn.keys().all(|k| [
        super::keys::ACTIVITY,
        super::keys::STATE_MACHINE,
        super::keys::COUNTS
    ]
    .contains(&k[0])));
    let counts: super::records::Counts =
        serde_json::from_slice(&w.state.sfn[&super::keys::counts()]).unwrap();
    assert_eq!(
        counts,
        super::records::Counts {
            activities: 1,
            state_machines: 1,
            open_executions: 0
        }
    );
    assert!(w.state.deadlines.is_empty());
    // The name can be used again.
    w.start(due + 1, "e", "{}").unwrap();
    assert_eq!(w.status(&exec_arn("e")), "SUCCEEDED");
}

#[test]
fn garbage_commands_never_panic_and_faults_write_nothing() {
    // A deterministic stream of commands built from hostile pieces: every outcome is a reply or a
    // modelled fault, and a fault writes nothing.
    let mut w = World::new();
    w.machine(task_machine(
        json!({"HeartbeatSeconds": 1, "TimeoutSeconds": 3}),
    ));
    let mut r = Xs(0x9E37_79B9_7F4A_7C15);
    let token = |e: &str, id: u64| super::tasks::token(e, id);
    let texts: Vec<String> = vec![
        String::new(),
        "a b".into(),
        "x".repeat(300),
        "arn:aws:states:us-east-1:000000000000:activity:".into(),
        "arn:aws:states:us-east-1:000000000000:execution:m:".into(),
        "arn:aws:states:us-east-1:000000000000:execution:m:e0".into(),
        "arn:aws:states:eu-west-1:1:execution:m:e0".into(),
        SM.into(),
        ACT.into(),
        "{".into(),
        "null".into(),
        "[1,2".into(),
        "\u{0}\u{7f}".into(),
        token(&exec_arn("e0"), 3),
        token(&exec_arn("e0"), 0),
        token(&exec_arn("nope"), 3),
        token("not an arn", 3),
        json!({"StartAt": "X", "States": {}}).to_string(),
        format!("{SM}:1"),
        format!("{SM}:2"),
        format!("{SM}:PROD"),
        format!("{SM}:0"),
        "PROD".into(),
    ];
    for i in 0..2_000u64 {
        let now = 10_000 + i as i64 * 100;
        let op = match r.next() % 15 {
            0 => SfnOp::StartExecution {
                input: StartExecutionInput {
                    state_machine_arn: if r.next().is_multiple_of(2) {
                        SM.into()
                    } else {
                        r.pick(&texts)
                    },
                    name: Some(format!("e{}", r.next() % 3)),
                    input: Some(if r.next().is_multiple_of(2) {
                        "{}".into()
                    } else {
                        r.pick(&texts)
                    }),
                },
                default_name: r.pick(&texts),
                seed: r.next(),
            },
            1 => SfnOp::SendTaskSuccess(SendTaskSuccessInput {
                task_token: r.pick(&texts),
                output: r.pick(&texts),
            }),
            2 => SfnOp::SendTaskFailure(SendTaskFailureInput {
                task_token: r.pick(&texts),
                error: Some(r.pick(&texts)),
                cause: None,
            }),
            3 => SfnOp::SendTaskHeartbeat(SendTaskHeartbeatInput {
                task_token: r.pick(&texts),
            }),
            4 => SfnOp::StopExecution(StopExecutionInput {
                execution_arn: r.pick(&texts),
                error: None,
                cause: Some(r.pick(&texts)),
            }),
            5 => SfnOp::StartTask {
                execution_arn: r.pick(&texts),
                task_id: r.next() % 5,
                worker_name: None,
            },
            6 => SfnOp::CreateActivity(CreateActivityInput {
                name: r.pick(&texts),
                tags: None,
            }),
            7 => SfnOp::UpdateStateMachine(UpdateStateMachineInput {
                state_machine_arn: r.pick(&texts),
                definition: Some(r.pick(&texts)),
                role_arn: None,
                publish: Some(r.next().is_multiple_of(2)),
                version_description: None,
                stamped_revision_id: Some(r.pick(&texts)),
                logging_configuration: None,
                tracing_configuration: None,
            }),
            10 => SfnOp::PublishStateMachineVersion(PublishStateMachineVersionInput {
                state_machine_arn: r.pick(&texts),
                revision_id: None,
                description: None,
            }),
            11 => SfnOp::CreateStateMachineAlias(CreateStateMachineAliasInput {
                name: r.pick(&texts),
                description: None,
                routing_configuration: vec![super::records::Route {
                    state_machine_version_arn: r.pick(&texts),
                    weight: r.next() % 101,
                }],
            }),
            12 => SfnOp::DeleteStateMachineVersion(VersionArnInput {
                state_machine_version_arn: r.pick(&texts),
            }),
            13 => SfnOp::UpdateStateMachineAlias(UpdateStateMachineAliasInput {
                state_machine_alias_arn: r.pick(&texts),
                description: Some(r.pick(&texts)),
                routing_configuration: None,
            }),
            14 => SfnOp::DeleteStateMachineAlias(AliasArnInput {
                state_machine_alias_arn: r.pick(&texts),
            }),
            8 => SfnOp::TagResource(TagResourceInput {
                resource_arn: r.pick(&texts),
                tags: vec![],
            }),
            _ => {
                w.fire_all_due(now);
                continue;
            }
        };
        let before = w.state.sfn.len();
        if w.run(now, op).is_err() {
            assert_eq!(w.state.sfn.len(), before, "a fault wrote something");
        }
        // Real tasks get taken now and then, so token paths see open tasks too.
        if r.next().is_multiple_of(4) {
            let _ = w.take(now);
        }
    }
}

/// xorshift64: a tiny deterministic stream for the garbage test.
struct Xs(u64);

impl Xs {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick(&mut self, texts: &[String]) -> String {
        texts[(self.next() % texts.len() as u64) as usize].clone()
    }
}

/// A Task state entered while its activity does not exist (never created, or deleted) fails the
/// execution as AWS does (history recorded against AWS: localstack's
/// tests/aws/services/stepfunctions/v2/activities/test_activities.snapshot.json,
/// `test_activity_task_on_deleted`): TaskStateEntered, then ExecutionFailed with `States.Runtime` and
/// the cause naming the state, its entered event and the activity; nothing is queued or armed.
#[test]
fn a_task_whose_activity_is_gone_fails_the_execution() {
    let mut w = World::new();
    w.machine(task_machine(json!({"TimeoutSeconds": 60})));
    w.run(5, SfnOp::DeleteActivity(ArnInput { arn: ACT.into() }))
        .unwrap();
    w.start(10, "e1", "{\"Value1\":\"Hello\"}").unwrap();
    let e1 = exec_arn("e1");
    assert_eq!(
        w.history_types(&e1),
        ["ExecutionStarted", "TaskStateEntered", "ExecutionFailed"]
    );
    let d = query::describe_execution(&w.state, &w.limits, &e1).unwrap();
    assert_eq!(d["status"], "FAILED");
    assert_eq!(d["error"], "States.Runtime");
    assert_eq!(
        d["cause"],
        format!("An error occurred while executing the state 'T' (entered at the event id #2). The activity {ACT} does not exist.")
    );
    assert!(w.state.queues.is_empty());
    assert!(w.only_retention());

    // Created again, the next execution schedules its task.
    w.run(
        20,
        SfnOp::CreateActivity(CreateActivityInput {
            name: "work".into(),
            tags: None,
        }),
    )
    .unwrap();
    w.start(30, "e2", "{}").unwrap();
    assert_eq!(
        w.history_types(&exec_arn("e2")),
        ["ExecutionStarted", "TaskStateEntered", "ActivityScheduled"]
    );
    assert!(w.take(40).is_some());
}

/// The quotas (`Limits::sfn_max_*`): activities, state machines and open executions, each refused with
/// the model's error shape past the limit, idempotent calls still answered, and room made by a
/// delete, a stop or an execution's end. A refused call writes nothing.
#[test]
fn quotas_on_activities_state_machines_and_open_executions() {
    let mut w = World::new();
    w.limits.sfn_max_activities = 2;
    w.limits.sfn_max_state_machines = 2;
    w.limits.sfn_max_open_executions = 2;
    let activity = |name: &str| {
        SfnOp::CreateActivity(CreateActivityInput {
            name: name.into(),
            tags: None,
        })
    };
    let machine = |name: &str, def: &Value| {
        SfnOp::CreateStateMachine(CreateStateMachineInput {
            name: name.into(),
            definition: def.to_string(),
            role_arn: "arn:aws:iam::000000000000:role/r".into(),
            kind: None,
            tags: None,
            publish: None,
            version_description: None,
            logging_configuration: None,
            tracing_configuration: None,
        })
    };
    let refused = |w: &mut World, op: SfnOp| {
        let before = w.state.sfn.clone();
        let err = w.run(9, op).unwrap_err();
        assert_eq!(w.state.sfn, before, "a refused call wrote something");
        err
    };
    w.machine(task_machine(json!({})));
    w.run(1, activity("b")).unwrap();
    assert_eq!(
        refused(&mut w, activity("c")),
        (
            FaultKind::ActivityLimitExceeded,
            "The maximum number of activities has been reached. Existing activities must be deleted before a new activity can be created.".into()
        )
    );
    w.run(2, activity("b")).unwrap(); // idempotent: no new activity
    let b = "arn:aws:states:us-east-1:000000000000:activity:b";
    w.run(3, SfnOp::DeleteActivity(ArnInput { arn: b.into() }))
        .unwrap();
    w.run(3, SfnOp::DeleteActivity(ArnInput { arn: b.into() }))
        .unwrap(); // idempotent: counted once
    w.run(4, activity("c")).unwrap();
    assert_eq!(
        refused(&mut w, activity("d")).0,
        FaultKind::ActivityLimitExceeded
    );

    let pass = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    w.run(5, machine("m2", &pass)).unwrap();
    assert_eq!(
        refused(&mut w, machine("m3", &pass)),
        (
            FaultKind::StateMachineLimitExceeded,
            "The maximum number of state machines has been reached. Existing state machines must be deleted before a new state machine can be created.".into()
        )
    );
    w.run(6, machine("m2", &pass)).unwrap(); // the same request again
    let m2 = "arn:aws:states:us-east-1:000000000000:stateMachine:m2";
    w.run(7, SfnOp::DeleteStateMachine(ArnInput { arn: m2.into() }))
        .unwrap();
    w.run(8, machine("m3", &pass)).unwrap();

    // Open executions: two wait on their task; a third is refused, the same start again is not.
    w.start(10, "e1", "{}").unwrap();
    w.start(10, "e2", "{}").unwrap();
    assert_eq!(
        refused(&mut w, start_op("e3")),
        (
            FaultKind::ExecutionLimitExceeded,
            "The maximum number of running executions has been reached. Running executions must end or be stopped before a new execution can be started.".into()
        )
    );
    w.start(11, "e1", "{}").unwrap();
    // Stopping one makes room; so does one ending through its task.
    w.run(
        12,
        SfnOp::StopExecution(StopExecutionInput {
            execution_arn: exec_arn("e1"),
            error: None,
            cause: None,
        }),
    )
    .unwrap();
    w.start(13, "e3", "{}").unwrap();
    assert_eq!(
        refused(&mut w, start_op("e4")).0,
        FaultKind::ExecutionLimitExceeded
    );
    let (token, _) = w.take(14).unwrap();
    w.run(
        15,
        SfnOp::SendTaskSuccess(SendTaskSuccessInput {
            task_token: token,
            output: "{}".into(),
        }),
    )
    .unwrap();
    w.start(16, "e4", "{}").unwrap();
    // An execution that ends within its start (a Pass machine) never holds a place.
    let m3 = "arn:aws:states:us-east-1:000000000000:stateMachine:m3";
    let mut quick = |name: &str| {
        w.run(
            17,
            SfnOp::StartExecution {
                input: StartExecutionInput {
                    state_machine_arn: m3.into(),
                    name: Some(name.into()),
                    input: None,
                },
                default_name: "uuid".into(),
                seed: 1,
            },
        )
    };
    assert_eq!(
        quick("q1").unwrap_err().0,
        FaultKind::ExecutionLimitExceeded
    );
    w.run(
        18,
        SfnOp::StopExecution(StopExecutionInput {
            execution_arn: exec_arn("e3"),
            error: None,
            cause: None,
        }),
    )
    .unwrap();
    let mut quick = |name: &str| {
        w.run(
            19,
            SfnOp::StartExecution {
                input: StartExecutionInput {
                    state_machine_arn: m3.into(),
                    name: Some(name.into()),
                    input: None,
                },
                default_name: "uuid".into(),
                seed: 1,
            },
        )
    };
    for i in 0..5 {
        quick(&format!("q{i}")).unwrap();
    }
}

fn start_op(name: &str) -> SfnOp {
    SfnOp::StartExecution {
        input: StartExecutionInput {
            state_machine_arn: SM.into(),
            name: Some(name.into()),
            input: Some("{}".into()),
        },
        default_name: "uuid".into(),
        seed: 7,
    }
}

/// Versions and aliases, step by step, with the answers AWS gives (messages as recorded from the
/// real service; see `tests/tests/stepfunctions_versions.rs`).
#[test]
fn versions_and_aliases() {
    let mut w = World::new();
    let pass = |r: &str| {
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": r, "End": true}}})
            .to_string()
    };
    let v = |n: u64| format!("{SM}:{n}");
    let op = |j: Value| -> SfnOp { serde_json::from_value(j).unwrap() };
    let create = |publish: bool| {
        SfnOp::CreateStateMachine(CreateStateMachineInput {
            name: "m".into(),
            definition: pass("one"),
            role_arn: "arn:aws:iam::000000000000:role/r".into(),
            kind: None,
            tags: None,
            publish: Some(publish),
            version_description: Some("first".into()),
            logging_configuration: None,
            tracing_configuration: None,
        })
    };
    let update = |def: &str, publish: bool, rev: &str| {
        SfnOp::UpdateStateMachine(UpdateStateMachineInput {
            state_machine_arn: SM.into(),
            definition: Some(pass(def)),
            role_arn: None,
            publish: Some(publish),
            version_description: None,
            stamped_revision_id: Some(rev.into()),
            logging_configuration: None,
            tracing_configuration: None,
        })
    };
    let publish = |rev: Option<&str>| {
        SfnOp::PublishStateMachineVersion(PublishStateMachineVersionInput {
            state_machine_arn: SM.into(),
            revision_id: rev.map(String::from),
            description: None,
        })
    };
    let alias = |routes: Value| {
        op(json!({"CreateStateMachineAlias": {"name": "PROD", "routingConfiguration": routes}}))
    };
    type Want = Result<Value, (FaultKind, &'static str)>;
    let steps: Vec<(SfnOp, Want)> = vec![
        (create(false), Err((FaultKind::Validation, "Version description can only be set when publish is true"))),
        (create(true), Ok(json!({"stateMachineVersionArn": v(1)}))),
        // The same revision is published once.
        (publish(None), Ok(json!({"stateMachineVersionArn": v(1)}))),
        (publish(Some("INITIAL")), Ok(json!({"stateMachineVersionArn": v(1)}))),
        // An update that changes nothing makes no revision.
        (update("one", true, "r-unused"), Ok(json!({"stateMachineVersionArn": v(1)}))),
        (update("two", false, "r2"), Ok(json!({"revisionId": "r2"}))),
        (publish(Some("INITIAL")), Err((FaultKind::Conflict, "Failed to publish the State Machine version for revision INITIAL. The current State Machine revision is r2."))),
        (publish(Some("r2")), Ok(json!({"stateMachineVersionArn": v(2)}))),
        (alias(json!([{"stateMachineVersionArn": v(1), "weight": 50}, {"stateMachineVersionArn": v(3), "weight": 50}])),
            Err((FaultKind::ResourceNotFound, "Request references a resource that does not exist: 'arn:aws:states:us-east-1:000000000000:stateMachine:m:3'"))),
        (alias(json!([{"stateMachineVersionArn": v(1), "weight": 100}])), Ok(json!({"stateMachineAliasArn": format!("{SM}:PROD")}))),
        // Again with the same routing: the same alias; with another: a conflict.
        (alias(json!([{"stateMachineVersionArn": v(1), "weight": 100}])), Ok(json!({"stateMachineAliasArn": format!("{SM}:PROD")}))),
        (alias(json!([{"stateMachineVersionArn": v(2), "weight": 100}])), Err((FaultKind::Conflict, "Failed to create alias because an alias with the same name and a different routing configuration already exists."))),
        (op(json!({"DeleteStateMachineVersion": {"stateMachineVersionArn": v(1)}})),
            Err((FaultKind::Conflict, "Version to be deleted must not be referenced by an alias. Current list of aliases referencing this version: [PROD]"))),
        (op(json!({"UpdateStateMachineAlias": {"stateMachineAliasArn": format!("{SM}:PROD"), "routingConfiguration": [{"stateMachineVersionArn": v(2), "weight": 100}]}})), Ok(json!({}))),
        (op(json!({"DeleteStateMachineVersion": {"stateMachineVersionArn": v(1)}})), Ok(json!({}))),
        // Idempotent; numbers are not reused.
        (op(json!({"DeleteStateMachineVersion": {"stateMachineVersionArn": v(1)}})), Ok(json!({}))),
        (update("three", true, "r3"), Ok(json!({"revisionId": "r3", "stateMachineVersionArn": v(3)}))),
        (op(json!({"UpdateStateMachineAlias": {"stateMachineAliasArn": format!("{SM}:NOPE"), "description": "x"}})),
            Err((FaultKind::ResourceNotFound, "Request references a resource that does not exist."))),
        (op(json!({"DeleteStateMachineAlias": {"stateMachineAliasArn": format!("{SM}:NOPE")}})), Ok(json!({}))),
    ];
    for (i, (op, want)) in steps.into_iter().enumerate() {
        let got = w.run(1_000 + i as i64, op.clone());
        match (&got, &want) {
            (Ok(out), Ok(fields)) => {
                for (k, v) in fields.as_object().unwrap() {
                    assert_eq!(&out[k], v, "step {i} {op:?}: {out}");
                }
            }
            (Err((kind, msg)), Err((wkind, wmsg))) => {
                assert_eq!((kind, msg.as_str()), (wkind, *wmsg), "step {i} {op:?}");
            }
            _ => panic!("step {i} {op:?}: got {got:?}, want {want:?}"),
        }
    }
    // Executions through a version and through the alias run that version's definition.
    for (name, arn) in [
        ("by-version", v(2)),
        ("by-alias", format!("{SM}:PROD")),
        ("latest", SM.to_string()),
    ] {
        w.run(
            5_000,
            SfnOp::StartExecution {
                input: StartExecutionInput {
                    state_machine_arn: arn,
                    name: Some(name.into()),
                    input: None,
                },
                default_name: "unused".into(),
                seed: 7,
            },
        )
        .unwrap();
    }
    let out = |name: &str| query::describe_execution(&w.state, &w.limits, &exec_arn(name)).unwrap();
    assert_eq!(out("by-version")["output"], json!("\"two\""));
    assert_eq!(out("by-version")["stateMachineVersionArn"], json!(v(2)));
    assert_eq!(
        out("by-alias")["stateMachineAliasArn"],
        json!(format!("{SM}:PROD"))
    );
    assert_eq!(out("by-alias")["output"], json!("\"two\""));
    assert_eq!(out("latest")["output"], json!("\"three\""));
    assert!(out("latest").get("stateMachineVersionArn").is_none());
    let listed = |arn: &str| -> Vec<String> {
        query::list_executions(&w.state, &w.limits, arn, None, None, None).unwrap()["executions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(listed(&v(2)).len(), 2);
    assert_eq!(listed(&format!("{SM}:PROD")), ["by-alias"]);
    assert_eq!(listed(SM).len(), 3);
    let versions = query::list_state_machine_versions(&w.state, &w.limits, SM, None, None).unwrap();
    let arns: Vec<&str> = versions["stateMachineVersions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["stateMachineVersionArn"].as_str().unwrap())
        .collect();
    assert_eq!(arns, [v(3), v(2)], "newest first");
    // Deleting the state machine takes its versions and aliases.
    w.run(
        6_000,
        op(json!({"DeleteStateMachine": {"stateMachineArn": SM}})),
    )
    .unwrap();
    assert!(w
        .state
        .sfn
        .keys()
        .all(|k| k[0] != super::keys::VERSION && k[0] != super::keys::ALIAS));
}

#[test]
fn executions_share_one_stored_copy_of_their_definition() {
    let pass = |r: &str| {
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": r, "Next": "W"},
        "W": {"Type": "Wait", "Seconds": 10, "End": true}}})
    };
    let mut w = World::new();
    w.machine(pass("one"));
    w.start(1_000, "a", "{}").unwrap();
    w.start(1_000, "b", "{}").unwrap();
    let stored = |w: &World| -> Vec<(String, u64)> {
        w.state
            .sfn
            .iter()
            .filter(|(k, _)| k[0] == super::keys::DEFINITION)
            .map(|(_, v)| {
                let d: super::records::StoredDefinition = serde_json::from_slice(v).unwrap();
                (d.text, d.refs)
            })
            .collect()
    };
    assert_eq!(stored(&w), vec![(pass("one").to_string(), 2)]);
    // The execution records name it and do not carry the text.
    for name in ["a", "b"] {
        let raw: Value =
            serde_json::from_slice(&w.state.sfn[&super::keys::execution(&exec_arn(name))]).unwrap();
        assert!(raw.get("definition").is_none() && raw["definition_id"].is_string());
        let d = query::describe_state_machine_for_execution(&w.state, &w.limits, &exec_arn(name))
            .unwrap();
        assert_eq!(d["definition"], pass("one").to_string());
    }
    // An update gives later executions a copy of their own; the running ones keep theirs.
    w.run(
        2_000,
        SfnOp::UpdateStateMachine(UpdateStateMachineInput {
            state_machine_arn: SM.into(),
            definition: Some(pass("two").to_string()),
            role_arn: None,
            publish: None,
            version_description: None,
            stamped_revision_id: Some("5d1b8a4e-0000-4000-8000-000000000009".into()),
            logging_configuration: None,
            tracing_configuration: None,
        }),
    )
    .unwrap();
    w.start(3_000, "c", "{}").unwrap();
    let mut copies = stored(&w);
    copies.sort();
    assert_eq!(
        copies,
        vec![(pass("one").to_string(), 2), (pass("two").to_string(), 1)]
    );
    // They run to their end with their own definitions (the Wait fires), and once their retention is
    // over the last purge removes each copy.
    w.fire_all_due(20_000);
    for (name, result) in [("a", "one"), ("b", "one"), ("c", "two")] {
        let d = query::describe_execution(&w.state, &w.limits, &exec_arn(name)).unwrap();
        assert_eq!(
            (d["status"].as_str(), d["output"].as_str()),
            (Some("SUCCEEDED"), Some(format!("\"{result}\"").as_str()))
        );
    }
    w.fire_all_due(20_000 + super::RETENTION_MS);
    assert!(stored(&w).is_empty());
}

/// RedriveExecution's cases, on this file's `World`.
#[path = "redrive_test.rs"]
mod redrive_test;
