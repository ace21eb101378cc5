//! JSONata states, driven through the interpreter. Expected values are AWS's documentation examples
//! ("Transforming data with JSONata in Step Functions", its JSONata functions section, the Choice /
//! Map / Wait / Fail state pages) and histories recorded against AWS in localstack's
//! `tests/aws/services/stepfunctions/v2` snapshots (named per test).

use super::*;
use crate::definition::Definition;
use crate::interpret::{handle, start, Effect, Event, Outcome, Stamp, Status};
use crate::test_fixtures::{def, info, refused, ACT, T0};
use serde_json::json;

fn machine(states: Value) -> Value {
    let start = states.as_object().unwrap().keys().next().unwrap().clone();
    json!({"QueryLanguage": "JSONata", "StartAt": start, "States": states})
}

fn run(states: Value, input: Value) -> (crate::interpret::ExecutionState, Outcome) {
    start(&def(machine(states)), info(input), 7, Stamp { now_ms: T0 })
}

/// The execution's output (parsed) or its error and cause.
fn result(out: &Outcome) -> Result<Value, (String, String)> {
    let e = out.events.last().unwrap();
    match e.event_type.as_str() {
        "ExecutionSucceeded" => {
            Ok(serde_json::from_str(e.details["output"].as_str().unwrap()).unwrap())
        }
        _ => Err((
            e.details["error"].as_str().unwrap_or_default().into(),
            e.details["cause"].as_str().unwrap_or_default().into(),
        )),
    }
}

/// Evaluates one Output expression against `input`.
fn eval(expr: &str, input: Value) -> Result<Value, (String, String)> {
    let (_, out) = run(
        json!({"P": {"Type": "Pass", "Output": format!("{{% {expr} %}}"), "End": true}}),
        input,
    );
    result(&out)
}

#[test]
fn arguments_with_variables_as_the_conversion_example() {
    // transforming-data: with input {"title": "Doctor"} and customerName "María", both dialects give
    // {"static": "Hello", "title": "Doctor", "name": "María", "not-evaluated": "$customerName"}.
    let (_, out) = run(
        json!({
            "Set": {"Type": "Pass", "Assign": {"customerName": "María"}, "Next": "Go"},
            "Go": {"Type": "Pass", "Output": {"static": "Hello", "title": "{% $states.input.title %}",
                "name": "{% $customerName %}", "not-evaluated": "$customerName"}, "End": true}}),
        json!({"title": "Doctor"}),
    );
    assert_eq!(
        result(&out),
        Ok(
            json!({"static": "Hello", "title": "Doctor", "name": "María", "not-evaluated": "$customerName"})
        )
    );
    assert_eq!(
        out.events.last().unwrap().details["output"],
        json!(
            r#"{"static":"Hello","title":"Doctor","name":"María","not-evaluated":"$customerName"}"#
        ),
        "the JSON around the expressions keeps its key order"
    );
}

#[test]
fn expressions_and_functions() {
    let cases: Vec<(&str, Value, Value)> = vec![
        ("$states.input.a + 1", json!({"a": 41}), json!(42)),
        (
            "$sum($states.input.n)",
            json!({"n": [1, 2, 3.5]}),
            json!(6.5),
        ),
        (
            "$states.input.items[price > 10].name",
            json!({"items": [{"name": "a", "price": 5}, {"name": "b", "price": 20}]}),
            json!("b"),
        ),
        (
            "$uppercase($states.input.s) & '!'",
            json!({"s": "hi"}),
            json!("HI!"),
        ),
        (
            "$count($states.input.xs) > 2 ? 'many' : 'few'",
            json!({"xs": [1, 2, 3]}),
            json!("many"),
        ),
        (
            "$map([1, 2, 3], function($v) { $v * 2 })",
            json!({}),
            json!([2, 4, 6]),
        ),
        ("$states.context.Execution.Name", json!({}), json!("run")),
        // AWS's functions (transforming-data, "JSONata functions provided by Step Functions").
        (
            "$partition([1, 2, 3, 4, 5, 6, 7, 8, 9], 3)",
            json!({}),
            json!([[1, 2, 3], [4, 5, 6], [7, 8, 9]]),
        ),
        (
            "$partition([1, 2, 3, 4], 3)",
            json!({}),
            json!([[1, 2, 3], [4]]),
        ),
        ("$range(0, 10, 2)", json!({}), json!([0, 2, 4, 6, 8, 10])),
        ("$range(5, 1, -2)", json!({}), json!([5, 3, 1])),
        (
            "$hash('input data', 'SHA-256')",
            json!({}),
            json!("b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3"),
        ),
        (
            "$parse($states.input.s).a",
            json!({"s": "{\"a\": [1, 2]}"}),
            json!([1, 2]),
        ),
        ("$random(7) = $random(7)", json!({}), json!(true)),
        ("$now()", json!({}), json!("2023-11-14T22:13:20.000Z")),
        ("$millis()", json!({}), json!(T0)),
        (
            "$fromMillis($millis())",
            json!({}),
            json!("2023-11-14T22:13:20.000Z"),
        ),
    ];
    for (expr, input, want) in cases {
        assert_eq!(eval(expr, input), Ok(want), "{expr}");
    }
    let r = eval("$random()", json!({})).unwrap().as_f64().unwrap();
    assert!((0.0..1.0).contains(&r));
    let u = eval("$uuid()", json!({})).unwrap();
    assert_eq!(
        u,
        eval("$uuid()", json!({})).unwrap(),
        "same seed, same uuid"
    );
    assert_eq!(u.as_str().unwrap().len(), 36);
}

#[test]
fn variables_shadow_builtin_names() {
    let (_, out) = run(
        json!({
            "A": {"Type": "Pass", "Assign": {"count": 3, "sum": "s"}, "Next": "B"},
            "B": {"Type": "Pass", "Output": "{% [$count, $sum] %}", "End": true}}),
        json!({}),
    );
    assert_eq!(result(&out), Ok(json!([3, "s"])));
}

#[test]
fn undefined_results_fail_with_evaluation_failed() {
    // BASE_UNDEFINED_OUTPUT_FIELD / BASE_UNDEFINED_ASSIGN, recorded against AWS.
    for (state, location) in [
        (
            json!({"Type": "Pass", "Output": {"result": "{% $doesNotExist %}"}, "End": true}),
            "Output/result",
        ),
        (
            json!({"Type": "Pass", "Assign": {"result": "{% $doesNotExist %}"}, "End": true}),
            "Assign/result",
        ),
        (
            json!({"Type": "Pass", "Output": "{% $doesNotExist %}", "End": true}),
            "Output",
        ),
    ] {
        let (ex, out) = run(json!({"State0": state}), json!({}));
        assert_eq!(ex.status, Status::Failed);
        let cause = format!("An error occurred while executing the state 'State0' (entered at the event id #2). The JSONata expression '$doesNotExist' specified for the field '{location}' returned nothing (undefined).");
        let ev = &out.events[2];
        assert_eq!(ev.event_type, "EvaluationFailed");
        assert_eq!(
            ev.details,
            json!({"error": "States.QueryEvaluationError", "cause": cause, "location": location, "state": "State0"})
        );
        assert_eq!(
            result(&out),
            Err(("States.QueryEvaluationError".into(), cause))
        );
    }
}

#[test]
fn task_arguments_timeouts_output_and_assign() {
    let d = def(machine(json!({
        "T": {"Type": "Task", "Resource": ACT,
            "Arguments": {"id": "{% $states.input.id %}", "fixed": 1},
            "TimeoutSeconds": "{% $states.input.t %}", "HeartbeatSeconds": 5,
            "Output": {"got": "{% $states.result.v %}", "was": "{% $states.input.id %}"},
            "Assign": {"last": "{% $states.result.v %}"}, "Next": "Use"},
        "Use": {"Type": "Pass", "Output": "{% $last & '!' %}", "End": true}})));
    let (mut ex, out) = start(
        &d,
        info(json!({"id": "a1", "t": 30})),
        1,
        Stamp { now_ms: T0 },
    );
    assert!(out.effects.iter().any(|e| matches!(e, Effect::ScheduleActivity { input, timeout_seconds: Some(30), heartbeat_seconds: Some(5), .. } if *input == json!({"id": "a1", "fixed": 1}))), "{:?}", out.effects);
    let out = handle(
        &d,
        &mut ex,
        &Event::ActivitySucceeded {
            task_id: 3,
            output: json!({"v": "done"}),
        },
        Stamp { now_ms: T0 + 5 },
    );
    let exited = out
        .events
        .iter()
        .find(|e| e.event_type == "TaskStateExited")
        .unwrap();
    assert_eq!(
        exited.details["output"],
        json!(r#"{"got":"done","was":"a1"}"#)
    );
    assert_eq!(
        exited.details["assignedVariables"],
        json!({"last": "\"done\""})
    );
    assert_eq!(result(&out), Ok(json!("done!")));
}

#[test]
fn choice_conditions_with_assign() {
    // The Choice state page: rules carry `Condition`; a matched rule's Assign applies.
    let states = json!({
        "C": {"Type": "Choice", "Choices": [
            {"Condition": "{% $states.input.age >= 18 %}", "Assign": {"kind": "adult"}, "Next": "Done"},
            {"Condition": false, "Next": "Done"}],
            "Default": "Done", "Assign": {"kind": "minor"}},
        "Done": {"Type": "Pass", "Output": "{% $kind %}", "End": true}});
    assert_eq!(
        result(&run(states.clone(), json!({"age": 20})).1),
        Ok(json!("adult"))
    );
    assert_eq!(
        result(&run(states, json!({"age": 3})).1),
        Ok(json!("minor"))
    );
    // A matched rule's Output replaces the state's input; the state's own Output is for Default.
    let states2 = json!({
        "C": {"Type": "Choice", "Choices": [
            {"Condition": "{% $states.input.n > 1 %}", "Output": {"big": "{% $states.input.n %}"}, "Next": "Done"}],
            "Default": "Done", "Output": "{% 'small' %}"},
        "Done": {"Type": "Succeed"}});
    assert_eq!(
        result(&run(states2.clone(), json!({"n": 5})).1),
        Ok(json!({"big": 5}))
    );
    assert_eq!(result(&run(states2, json!({"n": 0})).1), Ok(json!("small")));
    let (_, out) = run(
        json!({"C": {"Type": "Choice", "Choices": [{"Condition": "{% 'yes' %}", "Next": "D"}]},
               "D": {"Type": "Succeed"}}),
        json!({}),
    );
    assert_eq!(result(&out).unwrap_err().0, "States.QueryEvaluationError");
}

#[test]
fn map_items_and_item_selector() {
    // The Map example of ChristopheBougere/asl-validator#173 (runs on AWS, per its reporter).
    let (_, out) = run(
        json!({
            "SetupAnimals": {"Type": "Pass", "Output": {"animals": ["Lion", "Cheetah", "Elephant"]}, "Next": "ProcessAnimals"},
            "ProcessAnimals": {"Type": "Map", "Items": "{% $states.input.animals %}",
                "ItemSelector": {"animalName": "{% $states.context.Map.Item.Value %}", "i": "{% $states.context.Map.Item.Index %}"},
                "ItemProcessor": {"StartAt": "NoOp", "States": {"NoOp": {"Type": "Pass", "End": true}}},
                "Output": {"processResults": "{% $states.result %}"}, "End": true}}),
        json!({}),
    );
    assert_eq!(
        result(&out),
        Ok(json!({"processResults": [
            {"animalName": "Lion", "i": 0}, {"animalName": "Cheetah", "i": 1}, {"animalName": "Elephant", "i": 2}]}))
    );
}

#[test]
fn wait_and_fail_take_expressions() {
    let (_, out) = run(
        json!({"W": {"Type": "Wait", "Seconds": "{% $states.input.s * 2 %}", "End": true}}),
        json!({"s": 5}),
    );
    assert!(out.effects.contains(&Effect::ArmTimer {
        timer_id: 2,
        due_ms: T0 + 10_000
    }));
    let (_, out) = run(
        json!({"F": {"Type": "Fail", "Error": "{% 'E.' & $states.input.code %}", "Cause": "{% $string($states.input) %}"}}),
        json!({"code": 7}),
    );
    assert_eq!(result(&out), Err(("E.7".into(), "{\"code\":7}".into())));
}

#[test]
fn catch_output_and_assign_see_the_error_output() {
    let d = def(machine(json!({
        "T": {"Type": "Task", "Resource": ACT, "Catch": [{"ErrorEquals": ["States.ALL"],
            "Output": {"e": "{% $states.errorOutput.Error %}", "in": "{% $states.input.x %}"},
            "Assign": {"cause": "{% $states.errorOutput.Cause %}"}, "Next": "H"}], "End": true},
        "H": {"Type": "Pass", "Output": "{% $merge([$states.input, {'cause': $cause}]) %}", "End": true}})));
    let (mut ex, _) = start(&d, info(json!({"x": 1})), 1, Stamp { now_ms: T0 });
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
    assert_eq!(
        result(&out),
        Ok(json!({"cause": "bad", "e": "Oops", "in": 1}))
    );
}

#[test]
fn jsonata_and_jsonpath_states_mix() {
    // A JSONata state in a JSONPath machine reads variables assigned by a JSONPath state.
    let d = def(json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"v.$": "$.in"}, "Next": "B"},
        "B": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $v * 2 %}", "End": true}}}));
    let (_, out) = start(&d, info(json!({"in": 21})), 1, Stamp { now_ms: T0 });
    assert_eq!(result(&out), Ok(json!(42)));
}

#[test]
fn create_time_refusals() {
    // Measured against AWS with ValidateStateMachineDefinition (floci-io/floci#2968).
    let m = refused(
        json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
        "A": {"Type": "Pass", "QueryLanguage": "JSONPath", "End": true}}}),
    );
    assert_eq!(m, "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: 'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine at /States/A'");
    for f in [
        "InputPath",
        "Parameters",
        "ResultPath",
        "ResultSelector",
        "OutputPath",
    ] {
        let mut st = json!({"Type": "Task", "Resource": ACT, "End": true});
        st[f] = json!("$");
        let m = refused(machine(json!({"A": st})));
        assert!(m.contains(&format!("The QueryLanguage is set to 'JSONata', but field '{f}' is only supported for the 'JSONPath' QueryLanguage at /States/A")), "{m}");
    }
    let m = refused(machine(
        json!({"A": {"Type": "Pass", "Output": "{% $states.input. %}", "End": true}}),
    ));
    assert!(
        m.contains("INVALID_JSONATA_EXPRESSION") && m.contains("/States/A/Output"),
        "{m}"
    );
    let m = refused(machine(
        json!({"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": true, "Next": "B"}]}, "B": {"Type": "Succeed"}}),
    ));
    assert!(m.contains("These fields are required: [Condition]"), "{m}");
    assert!(Definition::parse(&machine(json!({"A": {"Type": "Task", "Resource": ACT, "TimeoutSeconds": "{% 3 %}", "End": true}})).to_string()).is_ok());
}

#[test]
fn deep_expressions_fail_cleanly_on_a_small_stack() {
    // Definitions are network input: neither deep nesting nor deep recursion may overflow the stack
    // of the thread applying commands (checked here on a 2 MiB one, a tokio worker's size).
    let t = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let nested = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
            assert!(syntax_problem(&nested).is_some());
            let arr = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
            assert!(syntax_problem(&arr).is_some());
            let r = eval(
                "($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(100000))",
                json!({}),
            );
            assert_eq!(r.unwrap_err().0, "States.QueryEvaluationError");
            assert_eq!(
                eval(
                    "($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(50))",
                    json!({})
                ),
                Ok(json!(50))
            );
            // Endless tail calls and huge ranges stop at the arena's limit, the same way everywhere.
            for endless in [
                "($f := function($x){ $x > 0 ? $f($x, -1) : 0 }; $f(3))",
                "$count([1..10000000])",
            ] {
                assert_eq!(
                    eval(endless, json!({})).unwrap_err().0,
                    "States.QueryEvaluationError",
                    "{endless}"
                );
            }
        })
        .unwrap();
    t.join().expect("no overflow");
}
