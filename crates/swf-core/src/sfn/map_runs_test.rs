//! Table tests of Distributed Map runs (`map_runs`) on `MemState`: children in item order under
//! MaxConcurrency, batches, the failure tolerance, UpdateMapRun, the run's reads, and the parent's
//! MapRun events.

use serde_json::{json, Value};
use swf_types::FaultKind;

use super::children_test::{child_machine, sm_arn, World, ACT};
use super::command::*;
use super::{map_runs, query, SfnOp};

fn distributed(processor: Value, extra: Value) -> Value {
    let mut map = json!({"Type": "Map", "ItemsPath": "$.items",
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": processor["StartAt"], "States": processor["States"]},
        "End": true});
    for (k, v) in extra.as_object().unwrap() {
        map[k] = v.clone();
    }
    json!({"StartAt": "Fan", "States": {"Fan": map}})
}

fn map_run_arn(w: &World, exec: &str) -> String {
    w.details(exec, "MapRunStarted")["mapRunArn"]
        .as_str()
        .unwrap()
        .to_string()
}

fn children(w: &World, run: &str) -> Vec<Value> {
    query::list_executions(&w.state, &w.limits, run, None, Some(1000), None).unwrap()["executions"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn children_run_in_item_order_and_the_outputs_come_back_in_order() {
    let mut w = World::new();
    let pass = json!({"StartAt": "P", "States": {"P": {"Type": "Pass",
        "Parameters": {"v.$": "$.v"}, "End": true}}});
    w.machine("m", distributed(pass, json!({"Label": "fan", "ItemSelector": {"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"}})));
    let exec = w.start("m", "e", json!({"items": [1, 2, 3, 4, 5]}));
    assert_eq!(w.describe(&exec)["status"], "SUCCEEDED");
    let out: Value = serde_json::from_str(w.describe(&exec)["output"].as_str().unwrap()).unwrap();
    assert_eq!(
        out,
        json!([{"v": 1}, {"v": 2}, {"v": 3}, {"v": 4}, {"v": 5}])
    );
    assert_eq!(
        w.types(&exec),
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapRunStarted",
            "MapRunSucceeded",
            "MapStateSucceeded",
            "MapStateExited",
            "ExecutionSucceeded"
        ]
    );
    let run = map_run_arn(&w, &exec);
    assert!(
        run.starts_with("arn:aws:states:us-east-1:000000000000:mapRun:m/fan:"),
        "{run}"
    );
    let d = map_runs::describe(&w.state, &w.limits, &run).unwrap();
    assert_eq!(d["status"], "SUCCEEDED");
    assert_eq!(d["executionArn"], exec);
    assert_eq!(d["itemCounts"]["succeeded"], 5);
    assert_eq!(d["itemCounts"]["total"], 5);
    assert_eq!(d["executionCounts"]["total"], 5);
    let kids = children(&w, &run);
    assert_eq!(kids.len(), 5);
    for k in &kids {
        assert!(k["executionArn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:states:us-east-1:000000000000:execution:m/fan:"));
        assert_eq!(k["mapRunArn"], run);
        assert_eq!(k["stateMachineArn"], sm_arn("m/fan"));
    }
    let list = map_runs::list(&w.state, &w.limits, &exec, None, None).unwrap();
    assert_eq!(list["mapRuns"][0]["mapRunArn"], run);
    assert_eq!(list["mapRuns"][0]["stateMachineArn"], sm_arn("m/fan"));
}

#[test]
fn max_concurrency_holds_children_back_and_update_map_run_lets_more_start() {
    let mut w = World::new();
    w.machine(
        "m",
        distributed(child_machine(), json!({"MaxConcurrency": 2})),
    );
    let exec = w.start("m", "e", json!({"items": [0, 1, 2, 3, 4, 5]}));
    let run = map_run_arn(&w, &exec);
    let running = |w: &World| {
        map_runs::describe(&w.state, &w.limits, &run).unwrap()["itemCounts"]["running"].clone()
    };
    assert_eq!(running(&w), 2);
    let (token, input) = w.take();
    assert!(input == json!(0) || input == json!(1), "{input}");
    w.succeed(&token, json!(format!("done-{input}"))).unwrap();
    assert_eq!(running(&w), 2);
    w.run(SfnOp::UpdateMapRun(UpdateMapRunInput {
        map_run_arn: run.clone(),
        max_concurrency: Some(0),
        tolerated_failure_percentage: None,
        tolerated_failure_count: None,
    }))
    .unwrap();
    assert_eq!(running(&w), 5);
    assert_eq!(
        map_runs::describe(&w.state, &w.limits, &run).unwrap()["maxConcurrency"],
        0
    );
    for _ in 0..5 {
        let (token, input) = w.take();
        w.succeed(&token, json!(format!("done-{input}"))).unwrap();
    }
    assert_eq!(w.describe(&exec)["status"], "SUCCEEDED");
    let out: Value = serde_json::from_str(w.describe(&exec)["output"].as_str().unwrap()).unwrap();
    for (i, o) in out.as_array().unwrap().iter().enumerate() {
        assert_eq!(o, &json!(format!("done-{i}")));
    }
}

#[test]
fn failures_beyond_the_tolerance_fail_the_run_and_the_state() {
    let fail_odd = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.odd", "BooleanEquals": true, "Next": "F"}], "Default": "S"},
        "F": {"Type": "Fail", "Error": "Odd", "Cause": "odd item"},
        "S": {"Type": "Succeed"}}});
    let items = json!({"items": [{"odd": false}, {"odd": true}, {"odd": false}, {"odd": true}]});
    // (tolerance, parent status, run status)
    let cases = [
        (json!({}), "FAILED", "FAILED"),
        (json!({"ToleratedFailureCount": 1}), "FAILED", "FAILED"),
        (
            json!({"ToleratedFailureCount": 2}),
            "SUCCEEDED",
            "SUCCEEDED",
        ),
        (
            json!({"ToleratedFailurePercentage": 50}),
            "SUCCEEDED",
            "SUCCEEDED",
        ),
        (
            json!({"ToleratedFailurePercentage": 25}),
            "FAILED",
            "FAILED",
        ),
        (
            json!({"ToleratedFailureCountPath": "$.tolerate"}),
            "SUCCEEDED",
            "SUCCEEDED",
        ),
    ];
    for (tolerance, parent_status, run_status) in cases {
        let mut w = World::new();
        w.machine("m", distributed(fail_odd.clone(), tolerance.clone()));
        let mut input = items.clone();
        input["tolerate"] = json!(3);
        let exec = w.start("m", "e", input);
        assert_eq!(w.describe(&exec)["status"], parent_status, "{tolerance}");
        let run = map_run_arn(&w, &exec);
        let d = map_runs::describe(&w.state, &w.limits, &run).unwrap();
        assert_eq!(d["status"], run_status, "{tolerance}");
        if parent_status == "FAILED" {
            let failed = w.details(&exec, "MapRunFailed");
            assert_eq!(failed["error"], "States.ExceedToleratedFailureThreshold");
            assert_eq!(
                w.describe(&exec)["error"],
                "States.ExceedToleratedFailureThreshold"
            );
        } else {
            let out: Value =
                serde_json::from_str(w.describe(&exec)["output"].as_str().unwrap()).unwrap();
            assert_eq!(out[1], json!({"Error": "Odd", "Cause": "odd item"}));
            assert_eq!(d["itemCounts"]["failed"], 2);
        }
    }
}

#[test]
fn an_item_batcher_groups_items_with_the_batch_input() {
    let mut w = World::new();
    let echo = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    w.machine(
        "m",
        distributed(
            echo,
            json!({"ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"job.$": "$.job"}}}),
        ),
    );
    let exec = w.start("m", "e", json!({"job": "j1", "items": [1, 2, 3, 4, 5]}));
    let out: Value = serde_json::from_str(w.describe(&exec)["output"].as_str().unwrap()).unwrap();
    assert_eq!(
        out,
        json!([
            {"BatchInput": {"job": "j1"}, "Items": [1, 2]},
            {"BatchInput": {"job": "j1"}, "Items": [3, 4]},
            {"BatchInput": {"job": "j1"}, "Items": [5]}
        ])
    );
    let run = map_run_arn(&w, &exec);
    let d = map_runs::describe(&w.state, &w.limits, &run).unwrap();
    assert_eq!(d["itemCounts"]["total"], 5);
    assert_eq!(d["executionCounts"]["total"], 3);
}

#[test]
fn stopping_the_parent_aborts_the_run_and_its_children() {
    let mut w = World::new();
    w.machine("m", distributed(child_machine(), json!({})));
    let exec = w.start("m", "e", json!({"items": [1, 2, 3]}));
    let run = map_run_arn(&w, &exec);
    w.run(SfnOp::StopExecution(StopExecutionInput {
        execution_arn: exec.clone(),
        error: None,
        cause: None,
    }))
    .unwrap();
    w.settle();
    let d = map_runs::describe(&w.state, &w.limits, &run).unwrap();
    assert_eq!(d["status"], "ABORTED");
    let kids = children(&w, &run);
    for k in &kids {
        assert_eq!(k["status"], "ABORTED");
    }
    assert_eq!(
        w.types(&exec)[w.types(&exec).len() - 2..],
        ["MapRunAborted", "ExecutionAborted"]
    );
    // A child's DescribeStateMachineForExecution names its run and label.
    let child = kids[0]["executionArn"].as_str().unwrap();
    let sm = query::describe_state_machine_for_execution(&w.state, &w.limits, child).unwrap();
    assert_eq!(sm["mapRunArn"], run);
    assert_eq!(sm["label"].as_str().map(str::len), Some(36));
}

#[test]
fn map_run_reads_and_update_faults() {
    let mut w = World::new();
    let missing =
        "arn:aws:states:us-east-1:000000000000:mapRun:m/x:00000000-0000-0000-0000-000000000000";
    let cases: Vec<(&str, FaultKind)> = vec![
        (missing, FaultKind::ResourceNotFound),
        ("nope", FaultKind::InvalidArn),
        (
            "arn:aws:states:us-east-1:000000000000:execution:m:e",
            FaultKind::InvalidArn,
        ),
    ];
    for (arn, kind) in cases {
        assert_eq!(
            map_runs::describe(&w.state, &w.limits, arn)
                .unwrap_err()
                .kind,
            kind,
            "{arn}"
        );
        let r = w.run(SfnOp::UpdateMapRun(UpdateMapRunInput {
            map_run_arn: arn.into(),
            max_concurrency: Some(1),
            tolerated_failure_percentage: None,
            tolerated_failure_count: None,
        }));
        assert_eq!(r.unwrap_err().0, kind, "{arn}");
    }
    let r = w.run(SfnOp::UpdateMapRun(UpdateMapRunInput {
        map_run_arn: missing.into(),
        max_concurrency: None,
        tolerated_failure_percentage: None,
        tolerated_failure_count: None,
    }));
    assert_eq!(r.unwrap_err().0, FaultKind::Validation);
    let _ = ACT;
}

#[test]
fn item_reader_and_result_writer_are_refused_and_distributed_fields_need_distributed_mode() {
    let mut w = World::new();
    let pass = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    let cases = [
        (
            distributed(
                pass.clone(),
                json!({"ItemReader": {"Resource": "arn:aws:states:::s3:getObject"}}),
            ),
            "Amazon S3",
        ),
        (
            distributed(
                pass.clone(),
                json!({"ResultWriter": {"Resource": "arn:aws:states:::s3:putObject"}}),
            ),
            "Amazon S3",
        ),
        (
            json!({"StartAt": "M", "States": {"M": {"Type": "Map", "Label": "x",
                "ItemProcessor": pass.clone(), "End": true}}}),
            "DISTRIBUTED",
        ),
    ];
    for (def, text) in cases {
        let r = w.run(SfnOp::CreateStateMachine(CreateStateMachineInput {
            name: "bad".into(),
            definition: def.to_string(),
            role_arn: "arn:aws:iam::000000000000:role/r".into(),
            kind: None,
            tags: None,
            publish: None,
            version_description: None,
            logging_configuration: None,
            tracing_configuration: None,
        }));
        let (kind, message) = r.unwrap_err();
        assert_eq!(kind, FaultKind::InvalidDefinition);
        assert!(message.contains(text), "{message}");
    }
}

#[test]
fn a_purged_parent_takes_its_map_runs_with_it() {
    let mut w = World::new();
    let pass = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    w.machine("m", distributed(pass, json!({"Label": "fan"})));
    let exec = w.start("m", "e", json!({"items": [1, 2, 3]}));
    assert_eq!(w.describe(&exec)["status"], "SUCCEEDED");
    let run = map_run_arn(&w, &exec);
    assert!(map_runs::describe(&w.state, &w.limits, &run).is_ok());
    let has_run_keys = |w: &World| {
        w.state
            .sfn
            .keys()
            .any(|k| [super::keys::MAP_RUN, super::keys::MAP_RUN_INDEX].contains(&k[0]))
    };
    assert!(has_run_keys(&w));
    // Past every retention (the parent's and its children's), the timer service fires the purges.
    w.now += super::RETENTION_MS + 1_000;
    w.settle();
    assert_eq!(
        map_runs::describe(&w.state, &w.limits, &run)
            .unwrap_err()
            .kind,
        FaultKind::ResourceNotFound
    );
    assert!(!has_run_keys(&w), "a Map Run outlived its execution");
    // Nothing of the executions is left either: only the activity, the machines and the counts.
    assert!(w.state.sfn.keys().all(|k| [
        super::keys::ACTIVITY,
        super::keys::STATE_MACHINE,
        super::keys::COUNTS
    ]
    .contains(&k[0])));
}

#[test]
fn redriving_the_parent_redrives_only_the_unsuccessful_children_of_its_map_run() {
    // AWS, "Redriving Map Runs": a redriven parent redrives its Distributed Map's Map Run (the same
    // run, `MapRunRedriven` with its redriveCount), and only the child workflow executions that did
    // not succeed run again.
    let mut w = World::new();
    let task =
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ACT, "End": true}}});
    w.machine("m", distributed(task, json!({"Label": "fan"})));
    let exec = w.start("m", "e", json!({"items": [1, 2, 3]}));
    let run = map_run_arn(&w, &exec);
    let tasks: Vec<(String, Value)> = (0..3).map(|_| w.take()).collect();
    for (token, input) in &tasks {
        if input != &json!(2) {
            w.succeed(token, json!({"r": input})).unwrap();
        }
    }
    let (bad, _) = tasks.iter().find(|(_, i)| i == &json!(2)).unwrap();
    w.run(SfnOp::SendTaskFailure(SendTaskFailureInput {
        task_token: bad.clone(),
        error: Some("Broken".into()),
        cause: None,
    }))
    .unwrap();
    w.settle();
    assert_eq!(w.describe(&exec)["status"], "FAILED");
    let d = map_runs::describe(&w.state, &w.limits, &run).unwrap();
    assert_eq!(d["status"], "FAILED");
    assert_eq!(d["redriveCount"], 0);
    assert!(d.get("redriveDate").is_none());
    let kids = children(&w, &run);
    let failed_child = kids.iter().find(|k| k["status"] == "FAILED").unwrap()["executionArn"]
        .as_str()
        .unwrap()
        .to_string();
    let d = query::describe_execution(&w.state, &w.limits, &failed_child).unwrap();
    assert_eq!(d["redriveStatus"], "REDRIVABLE_BY_MAP_RUN");

    w.run(SfnOp::RedriveExecution(RedriveExecutionInput {
        execution_arn: exec.clone(),
        client_token: None,
    }))
    .unwrap();
    w.settle();
    let types = w.types(&exec);
    assert_eq!(
        types[types.len() - 2..],
        ["ExecutionRedriven", "MapRunRedriven"]
    );
    let redriven = w.details(&exec, "MapRunRedriven");
    assert_eq!(redriven, json!({"mapRunArn": run, "redriveCount": 1}));
    let d = map_runs::describe(&w.state, &w.limits, &run).unwrap();
    assert_eq!(d["status"], "RUNNING");
    assert_eq!(d["redriveCount"], 1);
    assert!(d.get("redriveDate").is_some());
    assert_eq!(d["itemCounts"]["succeeded"], 2);
    assert_eq!(d["itemCounts"]["running"], 1);
    // The failed child ran again under its own ARN (its history says so); the others did not.
    assert!(w
        .types(&failed_child)
        .contains(&"ExecutionRedriven".to_string()));
    for k in &kids {
        let arn = k["executionArn"].as_str().unwrap();
        if arn != failed_child {
            assert!(!w.types(arn).contains(&"ExecutionRedriven".to_string()));
        }
    }
    let (token, input) = w.take();
    assert_eq!(input, json!(2));
    w.succeed(&token, json!({"r": 2})).unwrap();
    assert_eq!(w.describe(&exec)["status"], "SUCCEEDED");
    let out: Value = serde_json::from_str(w.describe(&exec)["output"].as_str().unwrap()).unwrap();
    assert_eq!(out, json!([{"r": 1}, {"r": 2}, {"r": 3}]));
    let types = w.types(&exec);
    assert_eq!(
        types[types.len() - 4..],
        [
            "MapRunSucceeded",
            "MapStateSucceeded",
            "MapStateExited",
            "ExecutionSucceeded"
        ]
    );
    let d = map_runs::describe(&w.state, &w.limits, &run).unwrap();
    assert_eq!(d["status"], "SUCCEEDED");
    assert_eq!(d["itemCounts"]["succeeded"], 3);
    assert_eq!(d["executionCounts"]["total"], 3);
    // Still one run for the execution.
    let list = map_runs::list(&w.state, &w.limits, &exec, None, None).unwrap();
    assert_eq!(list["mapRuns"].as_array().unwrap().len(), 1);
}

#[test]
fn a_map_run_redrive_also_reruns_the_children_its_failure_stopped() {
    let mut w = World::new();
    let task =
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ACT, "End": true}}});
    w.machine("m", distributed(task, json!({"Label": "fan"})));
    let exec = w.start("m", "e", json!({"items": [1, 2]}));
    let run = map_run_arn(&w, &exec);
    let (token, _) = w.take();
    w.run(SfnOp::SendTaskFailure(SendTaskFailureInput {
        task_token: token,
        error: Some("Broken".into()),
        cause: None,
    }))
    .unwrap();
    w.settle();
    assert_eq!(w.describe(&exec)["status"], "FAILED");
    let statuses: Vec<Value> = children(&w, &run)
        .iter()
        .map(|k| k["status"].clone())
        .collect();
    assert!(statuses.contains(&json!("ABORTED")), "{statuses:?}");
    w.run(SfnOp::RedriveExecution(RedriveExecutionInput {
        execution_arn: exec.clone(),
        client_token: None,
    }))
    .unwrap();
    w.settle();
    let d = map_runs::describe(&w.state, &w.limits, &run).unwrap();
    assert_eq!(d["itemCounts"]["running"], 2);
    for _ in 0..2 {
        let (token, input) = w.take();
        w.succeed(&token, input).unwrap();
    }
    assert_eq!(w.describe(&exec)["status"], "SUCCEEDED");
    let out: Value = serde_json::from_str(w.describe(&exec)["output"].as_str().unwrap()).unwrap();
    assert_eq!(out, json!([1, 2]));
}
