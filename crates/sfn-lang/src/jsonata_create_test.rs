//! The create-time checks AWS makes on JSONata expressions, through `validate` (what
//! ValidateStateMachineDefinition and CreateStateMachine use), and DescribeStateMachine's
//! `variableReferences`.
//!
//! Evidence of AWS's texts: `INVALID_JSONATA_EXPRESSION` with the parser's message, and
//! `UNSUPPORTED_JSONATA_EXPRESSION: Reference to 'phone' at the top level is not supported. at
//! /States/E/Output/v` — measured with `aws stepfunctions validate-state-machine-definition` and
//! quoted in floci-io/floci#2745, #2670 and #2699; `Reference to '$$' is not supported.` and
//! `Field '$states.errorOutput' does not exist.` from floci's tests of the same measurements;
//! `Reference to '$' at the top level is not supported.` as AWS answered a user's definition
//! (quoted in a public write-up of a Step Functions project). `variableReferences` as recorded
//! against AWS in localstack's `test_sfn_api_variable_references` snapshots.

use crate::validate::{validate, Diagnostic};
use crate::variable_references::references;
use serde_json::{json, Value};

fn machine(output: Value) -> Value {
    json!({"QueryLanguage": "JSONata", "StartAt": "Main", "States": {
        "Main": {"Type": "Pass", "Output": output, "End": true}}})
}

fn diags(def: &Value) -> Vec<(String, String, String)> {
    validate(&def.to_string())
        .into_iter()
        .map(
            |Diagnostic {
                 code,
                 message,
                 location,
                 ..
             }| (code, message, location),
        )
        .collect()
}

const UNSUPPORTED: &str = "UNSUPPORTED_JSONATA_EXPRESSION";
const INVALID: &str = "INVALID_JSONATA_EXPRESSION";

#[test]
fn references_aws_refuses() {
    let top = |n: &str| format!("Reference to '{n}' at the top level is not supported.");
    let cases: Vec<(&str, String)> = vec![
        ("$", top("$")),
        ("$$", "Reference to '$$' is not supported.".into()),
        ("phone", top("phone")),
        ("$.a", top("$")),
        ("$$.a", "Reference to '$$' is not supported.".into()),
        ("a.b.c", top("a")),
        ("$count(items)", top("items")),
        ("1 + $", top("$")),
        ("$states.input.x ? $ : 1", top("$")),
        ("[1, total]", top("total")),
        ("{'k': v}", top("v")),
        // A lambda keeps the context it is defined in.
        ("$map($states.input.xs, function($v) { name })", top("name")),
        (
            "$states.errorOutput",
            "Field '$states.errorOutput' does not exist.".into(),
        ),
        (
            "$states.errorOutput.Cause",
            "Field '$states.errorOutput' does not exist.".into(),
        ),
    ];
    for (expr, want) in cases {
        let got = diags(&machine(json!(format!("{{% {expr} %}}"))));
        assert_eq!(
            got,
            vec![(UNSUPPORTED.into(), want, "/States/Main/Output".into())],
            "{expr}"
        );
    }
    // The location names the key inside the field, as AWS's `/States/E/Output/v`.
    let got = diags(&machine(json!({"v": "{% phone %}"})));
    assert_eq!(
        got,
        vec![(
            UNSUPPORTED.into(),
            top("phone"),
            "/States/Main/Output/v".into()
        )]
    );
}

#[test]
fn references_aws_accepts() {
    for expr in [
        "$states.input.a",
        "$states.input.b[$ > 1]",
        "$states.input.list.{'n': name, 'all': $}",
        "$states.input.items[price > 10].name",
        "$sum($states.input.items.price)",
        "$map([1, 2], function($x) { $x * 2 })",
        "$states.input ~> |$|{'z': 1}|",
        "$states.input.list^(name)",
        "$states.input.list{k: v}",
        "($x := $states.input.a; $x + 1)",
        "{'a': 1, 'b': [1, 2]}",
        "$states.context.Execution.Name",
        "$uuid()",
    ] {
        let got = diags(&machine(json!(format!("{{% {expr} %}}"))));
        assert_eq!(got, vec![], "{expr}");
    }
    // A catcher's Output and Assign see `$states.errorOutput`.
    let d = json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:us-east-1:123456789012:activity:a",
              "Catch": [{"ErrorEquals": ["States.ALL"], "Output": "{% $states.errorOutput %}",
                         "Assign": {"e": "{% $states.errorOutput.Error %}"}, "Next": "H"}],
              "End": true},
        "H": {"Type": "Pass", "End": true}}});
    assert_eq!(diags(&d), vec![]);
}

#[test]
fn syntax_errors_are_invalid_jsonata_expressions() {
    for expr in ["1 +", "a[1,2)", "\"unterminated", "{\"a\":}", ""] {
        let got = diags(&machine(json!(format!("{{% {expr} %}}"))));
        assert_eq!(got.len(), 1, "{expr}: {got:?}");
        assert_eq!(got[0].0, INVALID, "{expr}");
        assert_eq!(got[0].2, "/States/Main/Output", "{expr}");
        assert!(
            !got[0].1.starts_with("S0"),
            "no code prefix, as AWS: {}",
            got[0].1
        );
    }
}

#[test]
fn variable_references_as_aws_reports_them() {
    // localstack's BASE_REFERENCE_IN_PARAMETERS, BASE_REFERENCE_IN_CHOICE,
    // BASE_REFERENCE_IN_ITERATOR_OUTER_SCOPE and MAP_STATE_REFERENCE_IN_ITEM_SELECTOR, as AWS
    // answered DescribeStateMachine for them.
    let cases: Vec<(Value, Option<Value>)> = vec![
        (
            json!({"StartAt": "State0", "States": {
                "State0": {"Type": "Pass", "Parameters": {"result": "$result"},
                           "Assign": {"result": "foobar"}, "Next": "State1"},
                "State1": {"Type": "Pass", "ResultPath": "$.result",
                           "Parameters": {"result.$": "$result"}, "End": true}}}),
            Some(json!({"State1": ["result"]})),
        ),
        (
            json!({"StartAt": "Setup", "States": {
                "Setup": {"Type": "Pass", "Assign": {"guess": "the_guess", "answer": "the_answer"},
                          "Next": "CheckAnswer"},
                "CheckAnswer": {"Type": "Choice", "Choices": [{"Variable": "$guess",
                    "StringEqualsPath": "$answer", "Next": "CorrectAnswer"}], "Default": "WrongAnswer"},
                "CorrectAnswer": {"Type": "Pass", "Result": {"state": "CORRECT"}, "End": true},
                "WrongAnswer": {"Type": "Pass", "Assign": {"guess.$": "$answer"},
                                "Result": {"state": "WRONG"}, "Next": "CheckAnswer"}}}),
            Some(json!({"CheckAnswer": ["answer", "guess"], "WrongAnswer": ["answer"]})),
        ),
        (
            json!({"StartAt": "Input", "States": {
                "Input": {"Type": "Pass", "Result": [[9, 44, 6]], "Assign": {"bias": 4.3},
                          "Next": "IterateLevels"},
                "IterateLevels": {"Type": "Map", "MaxConcurrency": 1, "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "AssignCurrentVector", "States": {
                    "AssignCurrentVector": {"Type": "Pass", "Assign": {"xCurrent.$": "$[0]",
                        "yCurrent.$": "$[1]", "zCurrent.$": "$[2]"}, "Next": "Calculate"},
                    "Calculate": {"Type": "Map", "MaxConcurrency": 1, "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Summate", "States": {
                        "Summate": {"Type": "Pass", "Assign": {"Sum.$":
                            "States.MathAdd(States.MathAdd(States.MathAdd($yCurrent, $xCurrent), $zCurrent), $bias)"},
                            "End": true}}}, "End": true}}}, "End": true}}}),
            Some(json!({"Summate": ["bias", "xCurrent", "yCurrent", "zCurrent"]})),
        ),
        (
            json!({"StartAt": "Start", "States": {
                "Start": {"Type": "Pass", "Assign": {"bucket": "test-name"},
                          "Result": {"Values": [1, 2, 3]}, "Next": "MapState"},
                "MapState": {"Type": "Map", "ItemsPath": "$.Values",
                    "ItemSelector": {"value.$": "$$.Map.Item.Value", "bucketName": "$bucket"},
                    "ItemProcessor": {"StartAt": "MapPass", "States": {
                        "MapPass": {"Type": "Pass", "End": true}}}, "End": true}}}),
            None,
        ),
        // JSONata states: the variables their expressions read, not `$states`, names they bind
        // themselves, or functions.
        (
            json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
                "A": {"Type": "Pass", "Assign": {"x": 1, "y": "{% $states.input.y %}"}, "Next": "B"},
                "B": {"Type": "Pass", "Output": {"s": "{% $x + $y %}",
                    "t": "{% ($z := 2; $map([1], function($v) { $v * $z * $x })) %}",
                    "u": "{% $string($states.input) %}"}, "End": true}}}),
            Some(json!({"B": ["x", "y"]})),
        ),
    ];
    for (def, want) in cases {
        assert_eq!(references(&def.to_string()), want, "{def}");
    }
}
