//! Table tests of the data flow; inputs and expected outputs from the AWS guide's pages on input and
//! output processing unless said otherwise.

use super::*;
use crate::context::{Context, MapItem};
use crate::definition::{Definition, StateKind};
use serde_json::json;

const ACT: &str = "arn:aws:states:us-east-1:123456789012:activity:work";

fn state(mut fields: Value) -> State {
    let ty = fields["Type"].as_str().unwrap().to_string();
    if !matches!(ty.as_str(), "Succeed" | "Fail" | "Choice") {
        fields["End"] = json!(true);
    }
    let def = Definition::parse(&json!({"StartAt": "S", "States": {"S": fields}}).to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    def.state("S").unwrap().clone()
}

fn ctx() -> Value {
    Context {
        execution_id: "arn:aws:states:us-east-1:123456789012:execution:sm:run".into(),
        state_name: "S".into(),
        ..Context::default()
    }
    .to_value()
}

#[test]
fn input_to_output() {
    // (state, raw input, result, effective input, output)
    let cases: Vec<(Value, Value, Value, Value, Value)> = vec![
        // "Example: Manipulating state data with paths": InputPath, ResultPath and OutputPath together.
        (
            json!({"Type": "Task", "Resource": ACT, "InputPath": "$.lambda", "ResultPath": "$.data.lambdaresult", "OutputPath": "$.data"}),
            json!({"comment": "An input comment.", "data": {"val1": 23, "val2": 17}, "extra": "foo", "lambda": {"who": "AWS Step Functions"}}),
            json!("Hello, AWS Step Functions!"),
            json!({"who": "AWS Step Functions"}),
            json!({"val1": 23, "val2": 17, "lambdaresult": "Hello, AWS Step Functions!"}),
        ),
        // ResultPath page: a Pass state's Result placed at $.coords.
        (
            json!({"Type": "Pass", "ResultPath": "$.coords"}),
            json!({"georefOf": "Home"}),
            json!({"x-datum": 0.381018, "y-datum": 622.2269926397355}),
            json!({"georefOf": "Home"}),
            json!({"georefOf": "Home", "coords": {"x-datum": 0.381018, "y-datum": 622.2269926397355}}),
        ),
        // ResultPath null keeps the input; default ResultPath replaces it.
        (
            json!({"Type": "Pass", "ResultPath": null}),
            json!({"a": 1}),
            json!({"b": 2}),
            json!({"a": 1}),
            json!({"a": 1}),
        ),
        (
            json!({"Type": "Pass"}),
            json!({"a": 1}),
            json!({"b": 2}),
            json!({"a": 1}),
            json!({"b": 2}),
        ),
        // InputPath / OutputPath null give {}.
        (
            json!({"Type": "Pass", "InputPath": null, "OutputPath": null}),
            json!({"a": 1}),
            json!(1),
            json!({}),
            json!({}),
        ),
        // The spec's Parameters example, with the context object and an intrinsic.
        (
            json!({"Type": "Task", "Resource": ACT, "Parameters": {"flagged": true, "parts": {"first.$": "$.vals[0]", "last3.$": "$.vals[3:]"},
                   "exec.$": "$$.Execution.Id", "n.$": "States.ArrayLength($.vals)", "list": [{"x.$": "$.flagged"}]}}),
            json!({"flagged": 7, "vals": [0, 10, 20, 30, 40, 50]}),
            json!(null),
            json!({"flagged": true, "parts": {"first": 0, "last3": [30, 40, 50]}, "exec": "arn:aws:states:us-east-1:123456789012:execution:sm:run", "n": 6, "list": [{"x": 7}]}),
            json!(null),
        ),
        // ResultSelector page: keep two fields of a verbose result, put them at $.EMROutput.
        (
            json!({"Type": "Task", "Resource": ACT, "ResultSelector": {"ClusterId.$": "$.output.ClusterId", "ResourceType.$": "$.resourceType"}, "ResultPath": "$.EMROutput"}),
            json!({"in": 1}),
            json!({"resourceType": "elasticmapreduce", "resource": "createCluster.sync", "output": {"SdkHttpMetadata": {"HttpStatusCode": 200}, "ClusterId": "AKIAIOSFODNN7EXAMPLE"}}),
            json!({"in": 1}),
            json!({"in": 1, "EMROutput": {"ClusterId": "AKIAIOSFODNN7EXAMPLE", "ResourceType": "elasticmapreduce"}}),
        ),
        // Key order is kept as written (AWS keeps it): z before a.
        (
            json!({"Type": "Pass", "Parameters": {"z": 1, "a.$": "$.a"}}),
            json!({"a": 2}),
            json!({"z": 1, "a": 2}),
            json!({"z": 1, "a": 2}),
            json!({"z": 1, "a": 2}),
        ),
    ];
    for (s, raw, result, want_in, want_out) in cases {
        let st = state(s.clone());
        let mut e = Entropy::new(1);
        assert_eq!(
            effective_input(&st, &raw, &ctx(), &mut e),
            Ok(want_in.clone()),
            "effective input of {s}"
        );
        assert_eq!(
            state_output(&st, &raw, &result, &ctx(), &mut e),
            Ok(want_out.clone()),
            "output of {s}"
        );
    }
    let out = state_output(
        &state(json!({"Type": "Pass", "ResultPath": "$.r"})),
        &json!({"z": 1, "a": 2}),
        &json!(3),
        &ctx(),
        &mut Entropy::new(1),
    )
    .unwrap();
    assert_eq!(
        serde_json::to_string(&out).unwrap(),
        r#"{"z":1,"a":2,"r":3}"#
    );
}

#[test]
fn failures() {
    // (state, raw input, result, which step fails, error name)
    let big = "x".repeat(MAX_PAYLOAD_BYTES);
    let cases: Vec<(Value, Value, Value, &str, &str)> = vec![
        (
            json!({"Type": "Pass", "InputPath": "$.missing"}),
            json!({"a": 1}),
            json!(null),
            "input",
            "States.Runtime",
        ),
        (
            json!({"Type": "Pass", "Parameters": {"x.$": "$.missing"}}),
            json!({"a": 1}),
            json!(null),
            "input",
            "States.Runtime",
        ),
        (
            json!({"Type": "Pass", "Parameters": {"x.$": "States.ArrayLength($.a)"}}),
            json!({"a": 1}),
            json!(null),
            "input",
            "States.IntrinsicFailure",
        ),
        (
            json!({"Type": "Pass", "Parameters": {"x.$": "$.a"}}),
            json!({ "a": big }),
            json!(null),
            "input",
            "States.DataLimitExceeded",
        ),
        (
            json!({"Type": "Pass", "ResultPath": "$.a.b"}),
            json!({"a": "text"}),
            json!(1),
            "output",
            "States.ResultPathMatchFailure",
        ),
        (
            json!({"Type": "Pass", "ResultPath": "$.r"}),
            json!("text"),
            json!(1),
            "output",
            "States.ResultPathMatchFailure",
        ),
        (
            json!({"Type": "Pass", "OutputPath": "$.missing"}),
            json!({}),
            json!({}),
            "output",
            "States.Runtime",
        ),
        (
            json!({"Type": "Task", "Resource": ACT, "ResultSelector": {"x.$": "$.missing"}}),
            json!({}),
            json!({}),
            "output",
            "States.Runtime",
        ),
        (
            json!({"Type": "Pass"}),
            json!({}),
            json!({ "r": big }),
            "output",
            "States.DataLimitExceeded",
        ),
    ];
    for (s, raw, result, step, want) in cases {
        let st = state(s.clone());
        let mut e = Entropy::new(1);
        let got = match step {
            "input" => effective_input(&st, &raw, &ctx(), &mut e).map(|_| ()),
            _ => state_output(&st, &raw, &result, &ctx(), &mut e).map(|_| ()),
        };
        assert_eq!(got.map_err(|e| e.name()), Err(want), "{s}");
    }
    // The wording AWS uses for InputPath (as quoted in public troubleshooting notes).
    let st = state(json!({"Type": "Pass", "InputPath": "$.user.id"}));
    let err = effective_input(&st, &json!({"user": {}}), &ctx(), &mut Entropy::new(1)).unwrap_err();
    assert_eq!(err.cause(), "The JSONPath '$.user.id' specified for the field 'InputPath' could not be found in the input '{\"user\":{}}'");
    // A recorded AWS failure (AWS Step Functions workshop, "Check the workflow"): same error and cause.
    let st = state(json!({"Type": "Pass", "Parameters": {"address.$": "$.application.address"}}));
    let err = effective_input(
        &st,
        &json!({"flagged": false}),
        &ctx(),
        &mut Entropy::new(1),
    )
    .unwrap_err();
    assert_eq!(err.name(), "States.Runtime");
    assert_eq!(
        err.cause_in_state("Check Address", 7),
        "An error occurred while executing the state 'Check Address' (entered at the event id #7). The JSONPath '$.application.address' specified for the field 'address.$' could not be found in the input '{\"flagged\":false}'"
    );
    let err = state_output(
        &state(json!({"Type": "Pass", "ResultPath": "$.r"})),
        &json!("text"),
        &json!(1),
        &ctx(),
        &mut Entropy::new(1),
    )
    .unwrap_err();
    assert_eq!(err.cause_in_state("S", 2), "An error occurred while executing the state 'S' (entered at the event id #2). Unable to apply ReferencePath $.r to input \"text\"");
}

#[test]
fn map_items_and_selector() {
    // The Map state page's shipping example: ItemsPath and ItemSelector with $$.Map.Item.Value.
    let st = state(json!({"Type": "Map", "ItemsPath": "$.detail.shipped",
        "ItemSelector": {"parcel.$": "$$.Map.Item.Value", "courier.$": "$.detail.delivery-partner", "i.$": "$$.Map.Item.Index"},
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}));
    let StateKind::Map(map) = &st.kind else {
        unreachable!()
    };
    let input = json!({"ship-date": "2016-03-14T01:59:00Z", "detail": {"delivery-partner": "UQS", "shipped": [
        {"prod": "R31", "dest-code": 9511, "quantity": 1344}, {"prod": "S39", "dest-code": 9511, "quantity": 40}]}});
    let items = map_items(map, &input, &ctx()).unwrap();
    assert_eq!(items.len(), 2);
    let c = Context {
        map_item: Some(MapItem {
            index: 1,
            value: items[1].clone(),
        }),
        ..Context::default()
    };
    let got = map_item_input(map, &items[1], &input, &c.to_value(), &mut Entropy::new(1)).unwrap();
    assert_eq!(
        got,
        json!({"parcel": {"prod": "S39", "dest-code": 9511, "quantity": 40}, "courier": "UQS", "i": 1})
    );
    assert_eq!(
        map_items(map, &json!({"detail": {"shipped": 3}}), &ctx()).map_err(|e| e.name()),
        Err("States.Runtime")
    );
    let plain = state(
        json!({"Type": "Map", "MaxConcurrencyPath": "$.mc", "Iterator": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}),
    );
    let StateKind::Map(plain) = &plain.kind else {
        unreachable!()
    };
    assert_eq!(
        map_item_input(
            plain,
            &json!(5),
            &json!([5]),
            &json!({}),
            &mut Entropy::new(1)
        ),
        Ok(json!(5))
    );
    assert_eq!(max_concurrency(plain, &json!({"mc": 3}), &json!({})), Ok(3));
    assert_eq!(
        max_concurrency(plain, &json!({"mc": "3"}), &json!({})).map_err(|e| e.name()),
        Err("States.Runtime")
    );
}

#[test]
fn task_timeouts_and_fail_fields() {
    let st = state(
        json!({"Type": "Task", "Resource": ACT, "TimeoutSecondsPath": "$.t", "HeartbeatSeconds": 5}),
    );
    let StateKind::Task(task) = &st.kind else {
        unreachable!()
    };
    assert_eq!(
        task_timeouts(task, &json!({"t": 30}), &json!({})),
        Ok((Some(30), Some(5)))
    );
    for bad in [json!({"t": 0}), json!({"t": "30"}), json!({})] {
        assert_eq!(
            task_timeouts(task, &bad, &json!({})).map_err(|e| e.name()),
            Err("States.Runtime"),
            "{bad}"
        );
    }
    // The Fail state page: ErrorPath / CausePath from the input, or an intrinsic.
    let st = state(
        json!({"Type": "Fail", "ErrorPath": "$.Error", "CausePath": "States.Format('This is a custom error message for {}, caused by {}.', $.Error, $.Cause)"}),
    );
    let StateKind::Fail(fail) = &st.kind else {
        unreachable!()
    };
    let got = fail_error_cause(
        fail,
        &json!({"Error": "ErrorA", "Cause": "Kaiju attack"}),
        &json!({}),
        &mut Entropy::new(1),
    );
    assert_eq!(
        got,
        Ok((
            Some("ErrorA".into()),
            Some("This is a custom error message for ErrorA, caused by Kaiju attack.".into())
        ))
    );
    let got = fail_error_cause(
        fail,
        &json!({"Error": 1, "Cause": "c"}),
        &json!({}),
        &mut Entropy::new(1),
    );
    assert_eq!(got.map_err(|e| e.name()), Err("States.Runtime"));
    let st = state(json!({"Type": "Fail", "Error": "E", "Cause": "C"}));
    let StateKind::Fail(fail) = &st.kind else {
        unreachable!()
    };
    assert_eq!(
        fail_error_cause(fail, &json!({}), &json!({}), &mut Entropy::new(1)),
        Ok((Some("E".into()), Some("C".into())))
    );
}
