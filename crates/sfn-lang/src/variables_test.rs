//! Variables (`Assign`, `$name`) in JSONPath states, driven through the interpreter. Expected values
//! come from AWS's documentation ("Passing data between states with variables") and from histories
//! recorded against AWS in localstack's `tests/aws/services/stepfunctions/v2/assign` snapshots (named
//! per test).

use crate::interpret::{handle, start, Effect, Event, Outcome, Stamp, Status};
use crate::test_fixtures::{def, info, refused, ACT, T0};
use serde_json::{json, Value};

fn run(d: Value, input: Value) -> (crate::interpret::ExecutionState, Outcome) {
    start(&def(d), info(input), 7, Stamp { now_ms: T0 })
}

/// The `stateExitedEventDetails` of the events of type `ty`.
fn exits<'a>(out: &'a Outcome, ty: &str) -> Vec<&'a Value> {
    out.events
        .iter()
        .filter(|e| e.event_type == ty)
        .map(|e| &e.details)
        .collect()
}

fn last(out: &Outcome) -> (&str, &Value) {
    let e = out.events.last().unwrap();
    (e.event_type.as_str(), &e.details)
}

#[test]
fn assign_sees_the_result_and_the_old_values() {
    // BASE_EVALUATION_ORDER_PASS_STATE: OutputPath `$answer` reads 42, the value before this state's
    // Assign; the first state's Assign reads its Result.
    let (ex, out) = run(
        json!({"StartAt": "State0", "States": {
            "State0": {"Type": "Pass", "Result": {"theQuestion": "What is the answer to life the universe and everything?"},
                "Assign": {"question.$": "$.theQuestion", "answer": 42}, "Next": "State1"},
            "State1": {"Type": "Pass", "InputPath": "$answer", "ResultPath": "$.theAnswer",
                "OutputPath": "$answer", "Assign": {"answer": "<omitted>"}, "End": true}}}),
        json!({}),
    );
    let e = exits(&out, "PassStateExited");
    assert_eq!(
        e[0]["assignedVariables"],
        json!({"question": "\"What is the answer to life the universe and everything?\"", "answer": "42"})
    );
    assert_eq!(
        e[0]["assignedVariablesDetails"],
        json!({"truncated": false})
    );
    assert_eq!(
        e[1]["assignedVariables"],
        json!({"answer": "\"<omitted>\""})
    );
    assert_eq!(e[1]["output"], json!("42"));
    assert_eq!(ex.status, Status::Succeeded);
    assert_eq!(ex.root.variables["answer"], json!("<omitted>"));
}

#[test]
fn assignments_of_one_state_do_not_see_each_other() {
    // AWS: every value of an Assign is computed from the variables as they were; a swap works.
    let (_, out) = run(
        json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Assign": {"x": 1, "y": 2}, "Next": "B"},
            "B": {"Type": "Pass", "Assign": {"x.$": "$y", "y.$": "$x"}, "Next": "C"},
            "C": {"Type": "Pass", "Parameters": {"x.$": "$x", "y.$": "$y"}, "End": true}}}),
        json!({}),
    );
    assert_eq!(
        last(&out).1["output"],
        json!(r#"{"x":2,"y":1}"#),
        "swapped from the same snapshot"
    );
}

#[test]
fn constants_paths_context_and_intrinsics() {
    // BASE_CONSTANT_LITERALS / BASE_PATHS: strings without `.$` are constants, even when they look
    // like paths or expressions; `.$` values take paths, `$$` and intrinsics (with variables).
    let (_, out) = run(
        json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Assign": {
                "constant_str_path": "$.no.such.path",
                "constant_str_jsonata_expr": "{% $varname.varfield %}",
                "constant_null": null,
                "str_path.$": "$.input_value",
                "str_contextpath.$": "$$.Execution.Id"}, "Next": "B"},
            "B": {"Type": "Pass", "Assign": {"fmt.$": "States.Format('Format Func {}', $str_path)"}, "End": true}}}),
        json!({"input_value": "input_value_literal"}),
    );
    let e = exits(&out, "PassStateExited");
    assert_eq!(
        e[0]["assignedVariables"],
        json!({
            "constant_str_path": "\"$.no.such.path\"",
            "constant_str_jsonata_expr": "\"{% $varname.varfield %}\"",
            "constant_null": "null",
            "str_path": "\"input_value_literal\"",
            "str_contextpath": "\"arn:aws:states:us-east-1:123456789012:execution:sm:run\""})
    );
    assert_eq!(
        e[1]["assignedVariables"],
        json!({"fmt": "\"Format Func input_value_literal\""})
    );
}

#[test]
fn variables_in_parameters_choice_wait_and_fail() {
    let (mut ex, out) = run(
        json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Assign": {"n": 5, "secs": 3, "err": "Boom", "obj": {"k": [1, 2]}}, "Next": "C"},
            "C": {"Type": "Choice", "Choices": [{"Variable": "$n", "NumericGreaterThan": 4, "Next": "W"}], "Default": "F"},
            "W": {"Type": "Wait", "SecondsPath": "$secs", "Next": "P"},
            "P": {"Type": "Pass", "Parameters": {"k.$": "$obj.k[1]", "all.$": "$obj"}, "Next": "F"},
            "F": {"Type": "Fail", "ErrorPath": "$err", "Cause": "c"}}}),
        json!({}),
    );
    assert!(out.effects.contains(&Effect::ArmTimer {
        timer_id: 6,
        due_ms: T0 + 3000
    }));
    let out = handle(
        &def(json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Assign": {"n": 5, "secs": 3, "err": "Boom", "obj": {"k": [1, 2]}}, "Next": "C"},
            "C": {"Type": "Choice", "Choices": [{"Variable": "$n", "NumericGreaterThan": 4, "Next": "W"}], "Default": "F"},
            "W": {"Type": "Wait", "SecondsPath": "$secs", "Next": "P"},
            "P": {"Type": "Pass", "Parameters": {"k.$": "$obj.k[1]", "all.$": "$obj"}, "Next": "F"},
            "F": {"Type": "Fail", "ErrorPath": "$err", "Cause": "c"}}})),
        &mut ex,
        &Event::TimerFired { timer_id: 6 },
        Stamp { now_ms: T0 + 3000 },
    );
    assert_eq!(
        exits(&out, "PassStateExited")[0]["output"],
        json!(r#"{"k":2,"all":{"k":[1,2]}}"#)
    );
    assert_eq!(
        last(&out),
        ("ExecutionFailed", &json!({"error": "Boom", "cause": "c"}))
    );
}

#[test]
fn choice_uses_the_matched_rules_assign_or_its_own_for_default() {
    // BASE_ASSIGN_IN_CHOICE (CORRECT / INCORRECT): the state's Assign only with Default.
    let d = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [
            {"Variable": "$.input_value", "NumericEquals": 42, "Assign": {"status": "CORRECT"}, "Next": "Final"}],
            "Assign": {"status": "INCORRECT", "guess.$": "$.input_value"}, "Default": "Final"},
        "Final": {"Type": "Pass", "Parameters": {"result.$": "$status"}, "End": true}}});
    let (_, out) = run(d.clone(), json!({"input_value": 42}));
    assert_eq!(
        exits(&out, "ChoiceStateExited")[0]["assignedVariables"],
        json!({"status": "\"CORRECT\""})
    );
    assert_eq!(last(&out).1["output"], json!(r#"{"result":"CORRECT"}"#));
    let (_, out) = run(d, json!({"input_value": "0"}));
    assert_eq!(
        exits(&out, "ChoiceStateExited")[0]["assignedVariables"],
        json!({"status": "\"INCORRECT\"", "guess": "\"0\""})
    );
}

#[test]
fn map_and_parallel_read_outer_variables_and_keep_their_own() {
    // BASE_SCOPE_MAP / BASE_SCOPE_PARALLEL: iterations and branches read `$x`; what they assign does
    // not leak out.
    let (ex, out) = run(
        json!({"StartAt": "S0", "States": {
            "S0": {"Type": "Pass", "Assign": {"x": 42, "items": [1, 2, 3]}, "Next": "M"},
            "M": {"Type": "Map", "ItemsPath": "$items", "MaxConcurrency": 1, "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Inner", "States": {
                "Inner": {"Type": "Pass", "Assign": {"innerX.$": "$x"}, "End": true}}}, "Next": "P"},
            "P": {"Type": "Parallel", "Branches": [
                {"StartAt": "B1", "States": {"B1": {"Type": "Pass", "Assign": {"value.$": "$", "seen.$": "$x"}, "End": true}}}],
                "ResultSelector": {"outer.$": "$x"}, "Next": "S2"},
            "S2": {"Type": "Pass", "Assign": {"final.$": "$x"}, "End": true}}}),
        json!({}),
    );
    let inner = exits(&out, "PassStateExited");
    assert_eq!(inner[1]["assignedVariables"], json!({"innerX": "42"}));
    assert_eq!(inner[3]["assignedVariables"], json!({"innerX": "42"}));
    assert_eq!(
        inner[4]["assignedVariables"],
        json!({"value": "[1,2,3]", "seen": "42"})
    );
    assert_eq!(
        exits(&out, "ParallelStateExited")[0]["output"],
        json!(r#"{"outer":42}"#),
        "ResultSelector sees the outer scope only"
    );
    assert_eq!(inner[5]["assignedVariables"], json!({"final": "42"}));
    assert!(!ex.root.variables.contains_key("innerX"));
    assert!(!ex.root.variables.contains_key("seen"));
    // Assigning an outer variable inside an iteration or a branch is refused at create time (as AWS
    // does; the wording is ours)...
    let m = refused(json!({"StartAt": "S0", "States": {
        "S0": {"Type": "Pass", "Assign": {"x": 42}, "Next": "M"},
        "M": {"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": {"StartAt": "Inner", "States": {
            "Inner": {"Type": "Pass", "Assign": {"x": 0}, "End": true}}}, "Next": "P"},
        "P": {"Type": "Parallel", "Branches": [{"StartAt": "B", "States": {
            "B": {"Type": "Pass", "Assign": {"y.$": "$x"}, "Next": "C"},
            "C": {"Type": "Choice", "Choices": [{"Variable": "$y", "IsPresent": true,
                "Assign": {"later": 1}, "Next": "D"}], "Default": "D"},
            "D": {"Type": "Pass", "End": true}}}], "End": true},
        "L": {"Type": "Pass", "Assign": {"later": 2}, "End": true}}}));
    assert!(m.contains("SCHEMA_VALIDATION_FAILED: The variable 'x' belongs to an outer scope: a Parallel branch or Map iteration cannot assign it at /States/M/ItemProcessor/States/Inner/Assign/x"), "{m}");
    assert!(m.contains("The variable 'later' belongs to an outer scope: a Parallel branch or Map iteration cannot assign it at /States/P/Branches/0/States/C/Choices/0/Assign/later"), "{m}");
    assert!(!m.contains("'y'"), "{m}");
    // ... a Distributed Map's iterations are child executions with a scope of their own ...
    assert!(crate::definition::Definition::parse(&json!({"StartAt": "S0", "States": {
        "S0": {"Type": "Pass", "Assign": {"x": 42}, "Next": "M"},
        "M": {"Type": "Map", "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Inner", "States": {"Inner": {"Type": "Pass", "Assign": {"x": 0}, "End": true}}}, "End": true}}})
    .to_string())
    .is_ok());
    // ... and a stored definition from before still fails the state at run time.
    let mut assigned = serde_json::Map::new();
    assigned.insert("x".into(), json!(0));
    let mut outer = serde_json::Map::new();
    outer.insert("x".into(), json!(42));
    assert!(crate::variables::check_scope(&assigned, &outer).is_err());
}

#[test]
fn catcher_assign_sees_the_error_output_and_writes_state_exited() {
    // test_assign_in_catch_state: a catcher with Assign makes AWS write `TaskStateExited` with the
    // variables before the handler is entered.
    let d = def(json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": ACT, "Catch": [{"ErrorEquals": ["States.ALL"],
            "Assign": {"err.$": "$.Error", "whole.$": "$"}, "Next": "H"}], "End": true},
        "H": {"Type": "Pass", "Parameters": {"e.$": "$err"}, "End": true}}}));
    let (mut ex, _) = start(&d, info(json!({})), 1, Stamp { now_ms: T0 });
    let out = handle(
        &d,
        &mut ex,
        &Event::ActivityFailed {
            task_id: 3,
            error: Some("Oops".into()),
            cause: Some("bad".into()),
        },
        Stamp { now_ms: T0 + 1 },
    );
    let types: Vec<&str> = out.events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "ActivityFailed",
            "TaskStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(
        out.events[1].details["assignedVariables"],
        json!({"err": "\"Oops\"", "whole": "{\"Error\":\"Oops\",\"Cause\":\"bad\"}"})
    );
    assert_eq!(last(&out).1["output"], json!(r#"{"e":"Oops"}"#));
}

#[test]
fn context_object_never_shows_the_variables() {
    let (_, out) = run(
        json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Assign": {"x": 1}, "Next": "B"},
            "B": {"Type": "Pass", "Parameters": {"c.$": "$$"}, "End": true}}}),
        json!({}),
    );
    let text = last(&out).1["output"].as_str().unwrap().to_string();
    assert!(
        !text.contains("\\u0000") && !text.contains('\u{0}'),
        "{text}"
    );
    assert!(text.contains("\"Execution\""));
}

#[test]
fn undefined_variable_is_a_runtime_error() {
    let (ex, out) = run(
        json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Parameters": {"v.$": "$nope"}, "End": true}}}),
        json!({}),
    );
    assert_eq!(ex.status, Status::Failed);
    assert_eq!(last(&out).1["error"], json!("States.Runtime"));
}

#[test]
fn size_limits() {
    // AWS: a variable's value at most 256 KiB; over it the state fails with States.DataLimitExceeded.
    let big = "x".repeat(200_000);
    let (ex, out) = run(
        json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Assign": {"a.$": "$.big", "b.$": "$.big"}, "End": true}}}),
        json!({"big": big}),
    );
    assert_eq!(ex.status, Status::Failed);
    assert_eq!(last(&out).1["error"], json!("States.DataLimitExceeded"));
    let (ex, _) = run(
        json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Assign": {"a.$": "$.big"}, "End": true}}}),
        json!({"big": big}),
    );
    assert_eq!(
        ex.status,
        Status::Succeeded,
        "one value under 256 KiB is fine"
    );
}

#[test]
fn create_time_checks() {
    for (assign, why) in [
        (json!({"states": 1}), "reserved"),
        (json!({"1x": 1}), "starts with a digit"),
        (json!({"a-b": 1}), "a dash"),
        (json!({"x.$": "not a path"}), "bad path"),
        (json!([1]), "not an object"),
    ] {
        let m = refused(json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Assign": assign, "End": true}}}));
        assert!(m.contains("SCHEMA_VALIDATION_FAILED"), "{why}: {m}");
    }
    let m = refused(json!({"StartAt": "A", "States": {
        "A": {"Type": "Succeed", "Assign": {"x": 1}}}}));
    assert!(
        m.contains("The field \"Assign\" is not supported by Step Functions"),
        "{m}"
    );
    // A JSONata-only field in a JSONPath state (measured against AWS, quoted in floci-io/floci#2968).
    let m = refused(json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Output": {"x": 1}, "End": true}}}));
    assert_eq!(m, "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The QueryLanguage is set to 'JSONPath', but field 'Output' is only supported for the 'JSONata' QueryLanguage at /States/A'");
}
