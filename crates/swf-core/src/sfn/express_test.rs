//! Table tests of EXPRESS state machines on `MemState`: the create-time refusals with AWS's texts,
//! Describe / List showing the type and the logging and tracing configurations, StartSyncExecution's
//! start (refused on STANDARD), asynchronous Express executions refused by the execution APIs as AWS
//! refuses them, no history stored, the five-minute limit, the short retention, and the answer
//! StartSyncExecution builds from the closed record.

use serde_json::{json, Value};
use swf_types::{FaultKind, Timestamp};

use super::command::*;
use super::records::Execution;
use super::test_world::{Answer, Core};
use super::{express, keys, query, SfnOp};
use crate::command::Op;
use crate::state::Lookup;

const SM: &str = "arn:aws:states:us-east-1:000000000000:stateMachine:m";
const ROLE: &str = "arn:aws:iam::000000000000:role/r";

struct World {
    core: Core,
}

super::test_world::deref_to_core!(World);

impl World {
    fn new() -> World {
        World { core: Core::new() }
    }

    fn run_op(&mut self, now_ms: i64, op: Op) -> Answer {
        self.core.apply(now_ms, op)
    }

    fn run(&mut self, now_ms: i64, op: SfnOp) -> Answer {
        self.run_op(now_ms, Op::Sfn(op))
    }

    fn create(&mut self, name: &str, kind: &str, definition: &Value) -> Answer {
        self.run(
            0,
            SfnOp::CreateStateMachine(CreateStateMachineInput {
                name: name.into(),
                definition: definition.to_string(),
                role_arn: ROLE.into(),
                kind: Some(kind.into()),
                tags: None,
                publish: None,
                version_description: None,
                logging_configuration: None,
                tracing_configuration: None,
            }),
        )
    }

    fn start(&mut self, now: i64, sm: &str, input: &str, sync: bool) -> Answer {
        let input = StartExecutionInput {
            state_machine_arn: sm.into(),
            name: Some("run".into()),
            input: Some(input.into()),
        };
        let (default_name, seed) = ("d3f4a1e0-0000-4000-8000-000000000000".to_string(), 7);
        self.run(
            now,
            if sync {
                SfnOp::StartSyncExecution {
                    input,
                    default_name,
                    seed,
                }
            } else {
                SfnOp::StartExecution {
                    input,
                    default_name,
                    seed,
                }
            },
        )
    }

    fn record(&self, arn: &str) -> Option<Execution> {
        self.state
            .sfn_get(&keys::execution(arn))
            .unwrap()
            .map(|b| serde_json::from_slice(&b).unwrap())
    }

    fn fire_all_due(&mut self, now_ms: i64) {
        self.core.fire_due(now_ms);
    }
}

fn pass() -> Value {
    json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"a": 1}, "End": true}}})
}

fn task(resource: &str) -> Value {
    json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": true}}})
}

#[test]
fn express_create_refusals_are_aws_texts() {
    let activity = "arn:aws:states:us-east-1:000000000000:activity:work";
    let nested = json!({"StartAt": "Par", "States": {"Par": {"Type": "Parallel", "End": true,
        "Branches": [{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": activity, "End": true}}}]}}});
    let cases: Vec<(&str, Value, Option<&str>)> = vec![
        // As AWS answers (localstack's test_sfn_api_express snapshot, recorded against AWS).
        ("activity", task(activity), Some("Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Express state machine does not support Activity ARN at /States/T/Resource'")),
        ("callback", task("arn:aws:states:::sns:publish.waitForTaskToken"), Some("Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Express state machine does not support '.waitForTaskToken' service integration  at /States/T/Resource'")),
        ("sync", task("arn:aws:states:::states:startExecution.sync"), Some("Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Express state machine does not support '.sync' service integration at /States/T/Resource'")),
        ("sync2", task("arn:aws:states:::states:startExecution.sync:2"), Some("Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Express state machine does not support '.sync' service integration at /States/T/Resource'")),
        ("nested", nested, Some("Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Express state machine does not support Activity ARN at /States/Par/Branches/0/States/A/Resource'")),
        ("pass", pass(), None),
    ];
    for (name, def, want) in cases {
        let mut w = World::new();
        let got = w.create(name, "EXPRESS", &def);
        match want {
            Some(msg) => assert_eq!(
                got,
                Err((FaultKind::InvalidDefinition, msg.into())),
                "{name}"
            ),
            None => assert!(got.is_ok(), "{name}: {got:?}"),
        }
        // ValidateStateMachineDefinition with type EXPRESS reports the same faults.
        assert_eq!(
            express::diagnostics(&def.to_string()).len(),
            usize::from(want.is_some())
        );
    }
    // The same activity machine is fine as STANDARD.
    let mut w = World::new();
    assert!(w.create("std", "STANDARD", &task(activity)).is_ok());
}

#[test]
fn describe_and_list_show_the_type_and_echo_the_configurations() {
    let mut w = World::new();
    let logging = json!({"level": "ALL", "includeExecutionData": true,
        "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": "arn:aws:logs:us-east-1:000000000000:log-group:g:*"}}]});
    w.run(
        0,
        SfnOp::CreateStateMachine(CreateStateMachineInput {
            name: "m".into(),
            definition: pass().to_string(),
            role_arn: ROLE.into(),
            kind: Some("EXPRESS".into()),
            tags: None,
            publish: None,
            version_description: None,
            logging_configuration: Some(logging.clone()),
            tracing_configuration: Some(json!({"enabled": true})),
        }),
    )
    .unwrap();
    w.create("s", "STANDARD", &pass()).unwrap();
    let d = query::describe_state_machine(&w.state, &w.limits, SM).unwrap();
    assert_eq!(d["type"], "EXPRESS");
    assert_eq!(d["loggingConfiguration"], logging);
    assert_eq!(d["tracingConfiguration"], json!({"enabled": true}));
    let s = query::describe_state_machine(&w.state, &w.limits, &SM.replace(":m", ":s")).unwrap();
    assert_eq!(s["type"], "STANDARD");
    assert_eq!(
        s["loggingConfiguration"],
        json!({"level": "OFF", "includeExecutionData": false})
    );
    let l = query::list_state_machines(&w.state, None, None).unwrap();
    let types: Vec<&str> = l["stateMachines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["EXPRESS", "STANDARD"]);
    // UpdateStateMachine with only a configuration replaces it (no new revision).
    let off = json!({"level": "OFF", "includeExecutionData": false});
    let updated = w.run(
        5,
        SfnOp::UpdateStateMachine(UpdateStateMachineInput {
            state_machine_arn: SM.into(),
            definition: None,
            role_arn: None,
            publish: None,
            version_description: None,
            stamped_revision_id: Some("r-1".into()),
            logging_configuration: Some(off.clone()),
            tracing_configuration: Some(json!({"enabled": false})),
        }),
    );
    assert!(updated.unwrap().get("revisionId").is_none());
    let d = query::describe_state_machine(&w.state, &w.limits, SM).unwrap();
    assert_eq!(d["loggingConfiguration"], off);
    assert_eq!(d["tracingConfiguration"], json!({"enabled": false}));
    // The same name again as the other type is another state machine.
    assert_eq!(
        w.create("m", "STANDARD", &pass()).unwrap_err().0,
        FaultKind::StateMachineAlreadyExists
    );
}

#[test]
fn sync_start_runs_to_the_end_in_one_command_and_keeps_no_history() {
    let mut w = World::new();
    w.create("m", "EXPRESS", &pass()).unwrap();
    w.create("s", "STANDARD", &pass()).unwrap();
    let refused = w.start(1_000, &SM.replace(":m", ":s"), "{}", true);
    assert_eq!(
        refused,
        Err((
            FaultKind::StateMachineTypeNotSupported,
            "This operation is not supported by this type of state machine".into()
        ))
    );
    let started = w.start(1_000, SM, r#"{"x": 1}"#, true).unwrap();
    let arn = started["executionArn"].as_str().unwrap().to_string();
    assert!(
        arn.starts_with("arn:aws:states:us-east-1:000000000000:express:m:run:"),
        "{arn}"
    );
    assert_eq!(
        arn.len(),
        "arn:aws:states:us-east-1:000000000000:express:m:run:".len() + 36
    );
    let x = w.record(&arn).expect("the record");
    assert!(x.express);
    assert_eq!(x.status, "SUCCEEDED");
    assert_eq!(x.output.as_deref(), Some(r#"{"a":1}"#));
    assert!(
        w.state
            .sfn
            .keys()
            .all(|k| k[0] != keys::HISTORY && k[0] != keys::EXECUTION_INDEX),
        "no history and no list entry"
    );
    let out = express::sync_output(&x, false);
    assert_eq!(
        out,
        json!({"executionArn": arn, "stateMachineArn": SM, "name": "run", "startDate": 1.0,
            "stopDate": 1.0, "status": "SUCCEEDED", "input": r#"{"x": 1}"#,
            "inputDetails": {"included": true}, "output": r#"{"a":1}"#,
            "outputDetails": {"included": true},
            "billingDetails": {"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": 100}})
    );
    let meta = express::sync_output(&x, true);
    assert!(meta.get("input").is_none() && meta.get("output").is_none());
    assert_eq!(meta["inputDetails"], json!({"included": false}));
    // Removed once its short retention ends.
    w.fire_all_due(1_000 + express::RETENTION_MS - 1);
    assert!(w.record(&arn).is_some());
    w.fire_all_due(1_000 + express::RETENTION_MS);
    assert!(w.record(&arn).is_none());
    assert!(w.state.deadlines.is_empty());
}

#[test]
fn async_express_executions_are_refused_by_the_execution_apis_as_aws_refuses_them() {
    let mut w = World::new();
    w.create("m", "EXPRESS", &pass()).unwrap();
    let started = w.start(1_000, SM, "{}", false).unwrap();
    let arn = started["executionArn"].as_str().unwrap().to_string();
    assert_eq!(started["startDate"], json!(1.0));
    assert_eq!(w.record(&arn).unwrap().status, "SUCCEEDED");
    // As recorded from AWS (localstack's test_sfn_api_express snapshot).
    let invalid = (
        FaultKind::InvalidArn,
        "Invalid Arn: 'Resource type not valid in this context: express'".to_string(),
    );
    let fault = |r: Result<Value, swf_types::Fault>| r.map_err(|f| (f.kind, f.message));
    assert_eq!(
        fault(query::describe_execution(&w.state, &w.limits, &arn)),
        Err(invalid.clone())
    );
    assert_eq!(
        fault(query::get_execution_history(
            &w.state, &w.limits, &arn, None, false, true, None
        )),
        Err(invalid.clone())
    );
    let stop = SfnOp::StopExecution(StopExecutionInput {
        execution_arn: arn.clone(),
        error: None,
        cause: None,
    });
    assert_eq!(w.run(2_000, stop), Err(invalid));
    assert_eq!(
        fault(query::list_executions(
            &w.state, &w.limits, SM, None, None, None
        )),
        Err((
            FaultKind::StateMachineTypeNotSupported,
            "This operation is not supported by this type of state machine".into()
        ))
    );
    // Two starts with the same name are two executions (Express is not idempotent).
    let again = w.start(1_000, SM, "{}", false);
    assert!(
        again.is_err(),
        "the same seed makes the same ARN: {again:?}"
    );
}

#[test]
fn express_executions_time_out_after_five_minutes() {
    let waits =
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": true}}});
    let short = json!({"TimeoutSeconds": 10, "StartAt": "W",
        "States": {"W": {"Type": "Wait", "Seconds": 600, "End": true}}});
    let quick =
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 2, "End": true}}});
    // (definition, time it closes, status)
    let cases = [
        (waits, express::MAX_DURATION_MS, "TIMED_OUT"),
        (short, 10_000, "TIMED_OUT"),
        (quick, 2_000, "SUCCEEDED"),
    ];
    for (def, closes, status) in cases {
        let mut w = World::new();
        w.create("m", "EXPRESS", &def).unwrap();
        let arn = w.start(0, SM, "{}", true).unwrap()["executionArn"]
            .as_str()
            .unwrap()
            .to_string();
        w.fire_all_due(closes - 1);
        assert_eq!(w.record(&arn).unwrap().status, "RUNNING", "{def}");
        w.fire_all_due(closes);
        let x = w.record(&arn).unwrap();
        assert_eq!(x.status, status, "{def}");
        assert_eq!(x.stopped, Some(Timestamp(closes)));
        if status == "TIMED_OUT" {
            assert_eq!(x.error.as_deref(), Some("States.Timeout"));
        }
        let out = express::sync_output(&x, false);
        assert_eq!(
            out["billingDetails"]["billedDurationInMilliseconds"],
            closes
        );
    }
}

#[test]
fn billed_duration_rounds_up_to_100_ms() {
    for (ran, billed) in [(0, 100), (1, 100), (100, 100), (101, 200), (2_345, 2_400)] {
        assert_eq!(
            express::billed_duration_ms(5_000, 5_000 + ran),
            billed,
            "{ran}"
        );
    }
}

#[test]
fn express_executions_do_not_count_against_the_open_executions_quota() {
    // AWS's open executions quota is a STANDARD quota; Express is limited by start rate.
    let waits =
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": true}}});
    let mut w = World::new();
    w.limits.sfn_max_open_executions = 1;
    w.create("m", "EXPRESS", &waits).unwrap();
    w.create("s", "STANDARD", &waits).unwrap();
    let standard = SM.replace(":m", ":s");
    let open = |w: &World| -> u64 {
        serde_json::from_slice::<super::records::Counts>(&w.state.sfn[&keys::counts()])
            .unwrap()
            .open_executions
    };
    for i in 0..3 {
        let input = StartExecutionInput {
            state_machine_arn: SM.into(),
            name: Some(format!("x{i}")),
            input: None,
        };
        w.run(
            0,
            SfnOp::StartExecution {
                input,
                default_name: "unused".into(),
                seed: i,
            },
        )
        .unwrap();
    }
    assert_eq!(open(&w), 0);
    w.start(0, &standard, "{}", false).unwrap();
    assert_eq!(open(&w), 1);
    let input = StartExecutionInput {
        state_machine_arn: standard.clone(),
        name: Some("second".into()),
        input: None,
    };
    let refused = w
        .run(
            0,
            SfnOp::StartExecution {
                input,
                default_name: "unused".into(),
                seed: 9,
            },
        )
        .unwrap_err();
    assert_eq!(refused.0, FaultKind::ExecutionLimitExceeded);
    // Express runs still start, and their end does not touch the STANDARD count.
    w.start(0, SM, "{}", true).unwrap();
    w.fire_all_due(60_000);
    assert_eq!(open(&w), 0);
}
