//! Table tests of definition validation: each bad definition with the (code, location) AWS-style
//! diagnostics expected; good definitions (the AWS guide's examples) with none.

use super::*;
use serde_json::json;

const ACT: &str = "arn:aws:states:us-east-1:123456789012:activity:work";

fn errors(def: &Value) -> Vec<(String, String)> {
    validate(&def.to_string())
        .into_iter()
        .map(|d| (d.code, d.location))
        .collect()
}

fn one(states: Value) -> Value {
    json!({"StartAt": "A", "States": states})
}

#[test]
fn accepted_definitions() {
    let good = vec![
        // The "Hello World" of the AWS guide's States Language page.
        json!({"Comment": "A Hello World example of the Amazon States Language using a Pass state",
               "StartAt": "HelloWorld", "States": {"HelloWorld": {"Type": "Pass", "Result": "Hello World!", "End": true}}}),
        json!({"StartAt": "A", "TimeoutSeconds": 300, "Version": "1.0", "QueryLanguage": "JSONPath", "States": {
            "A": {"Type": "Task", "Resource": ACT, "TimeoutSeconds": 60, "HeartbeatSeconds": 10,
                  "Parameters": {"flagged": true, "parts": {"first.$": "$.vals[0]", "last3.$": "$.vals[3:]"},
                                 "id.$": "$$.Execution.Id", "msg.$": "States.Format('Hi {}', $.name)"},
                  "ResultSelector": {"r.$": "$.x"}, "ResultPath": "$.out", "InputPath": "$", "OutputPath": null,
                  "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 3, "MaxAttempts": 0, "BackoffRate": 1.5,
                             "MaxDelaySeconds": 10, "JitterStrategy": "FULL"},
                            {"ErrorEquals": ["States.ALL"]}],
                  "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "C", "ResultPath": "$.err"},
                            {"ErrorEquals": ["States.ALL"], "Next": "F"}],
                  "Next": "C"},
            "C": {"Type": "Choice", "Default": "W", "Choices": [
                {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "P"},
                {"And": [{"Variable": "$.value", "IsPresent": true}, {"Variable": "$.value", "NumericGreaterThanEqualsPath": "$.min"}], "Next": "M"},
                {"Variable": "$.when", "TimestampLessThan": "2016-03-14T01:59:00Z", "Next": "W"},
                {"Variable": "$.name", "StringMatches": "log-*.txt", "Next": "S"}]},
            "W": {"Type": "Wait", "TimestampPath": "$.when", "Next": "P"},
            "P": {"Type": "Parallel", "Branches": [
                {"StartAt": "B1", "States": {"B1": {"Type": "Wait", "Seconds": 1, "End": true}}},
                {"StartAt": "B2", "States": {"B2": {"Type": "Pass", "End": true}}}], "Next": "M"},
            "M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2,
                  "ItemSelector": {"item.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"},
                  "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "I", "States": {"I": {"Type": "Task", "Resource": ACT, "End": true}}},
                  "Next": "M2"},
            "M2": {"Type": "Map", "Parameters": {"x.$": "$"}, "Iterator": {"StartAt": "J", "States": {"J": {"Type": "Succeed"}}}, "Next": "S"},
            "S": {"Type": "Succeed"},
            "F": {"Type": "Fail", "ErrorPath": "$.err.Error", "CausePath": "States.Format('cause: {}', $.err.Cause)"}
        }}),
    ];
    for def in good {
        assert_eq!(errors(&def), Vec::<(String, String)>::new(), "{def}");
        assert!(Definition::parse(&def.to_string()).is_ok());
    }
}

#[test]
fn refused_definitions() {
    let s = |c: &str, l: &str| (c.to_string(), l.to_string());
    let cases: Vec<(Value, Vec<(String, String)>)> = vec![
        (
            json!({"Coment": "x", "StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}),
            vec![s(SCHEMA, "/")],
        ),
        (
            json!({"States": {"A": {"Type": "Pass", "End": true}}}),
            vec![s(SCHEMA, "/"), s("MISSING_TRANSITION_TARGET", "/States/A")],
        ),
        (
            one(json!({"A": {"Type": "Pass", "Next": "Nope"}})),
            vec![s("MISSING_TRANSITION_TARGET", "/States/A/Next")],
        ),
        (
            json!({"StartAt": "Z", "States": {"A": {"Type": "Pass", "End": true}}}),
            vec![
                s("MISSING_TRANSITION_TARGET", "/StartAt"),
                s("MISSING_TRANSITION_TARGET", "/States/A"),
            ],
        ),
        (
            one(json!({"A": {"Type": "Pass", "End": true}, "B": {"Type": "Pass", "End": true}})),
            vec![s("MISSING_TRANSITION_TARGET", "/States/B")],
        ),
        (
            one(json!({"A": {"Type": "Pass"}})),
            vec![s(SCHEMA, "/States/A")],
        ),
        (
            one(json!({"A": {"Type": "Pass", "Next": "A", "End": true}})),
            vec![s(SCHEMA, "/States/A")],
        ),
        (
            one(json!({"A": {"Type": "Succeed", "End": true}})),
            vec![s(SCHEMA, "/States/A")],
        ),
        (
            one(json!({"A": {"Type": "Nope"}})),
            vec![s(SCHEMA, "/States/A/Type")],
        ),
        (
            one(json!({"A": {"Type": "Pass", "End": true, "InputPath": "foo"}})),
            vec![s(SCHEMA, "/States/A/InputPath")],
        ),
        (
            one(json!({"A": {"Type": "Pass", "End": true, "ResultPath": "$.a[*]"}})),
            vec![s(SCHEMA, "/States/A/ResultPath")],
        ),
        (
            one(json!({"A": {"Type": "Pass", "End": true, "Parameters": {"a.$": "$.["}}})),
            vec![s(SCHEMA, "/States/A/Parameters/a.$")],
        ),
        (
            one(
                json!({"A": {"Type": "Pass", "End": true, "Parameters": {"n": {"a.$": "States.Nope(1)"}}}}),
            ),
            vec![s(SCHEMA, "/States/A/Parameters/n/a.$")],
        ),
        (
            one(json!({"A": {"Type": "Pass", "End": true, "Parameters": {"a.$": 1}}})),
            vec![s(SCHEMA, "/States/A/Parameters/a.$")],
        ),
        (
            one(
                json!({"A": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f", "End": true}}),
            ),
            vec![s(SCHEMA, "/States/A/Resource")],
        ),
        (
            one(
                json!({"A": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": true}}),
            ),
            vec![s(SCHEMA, "/States/A/Resource")],
        ),
        (
            one(json!({"A": {"Type": "Task", "End": true}})),
            vec![s(SCHEMA, "/States/A")],
        ),
        (
            one(json!({"A": {"Type": "Task", "Resource": ACT, "TimeoutSeconds": 0, "End": true}})),
            vec![s(SCHEMA, "/States/A/TimeoutSeconds")],
        ),
        (
            one(
                json!({"A": {"Type": "Task", "Resource": ACT, "TimeoutSeconds": 5, "HeartbeatSeconds": 5, "End": true}}),
            ),
            vec![s(SCHEMA, "/States/A/HeartbeatSeconds")],
        ),
        (
            one(
                json!({"A": {"Type": "Task", "Resource": ACT, "TimeoutSeconds": 5, "TimeoutSecondsPath": "$.t", "End": true}}),
            ),
            vec![s(SCHEMA, "/States/A")],
        ),
        (
            one(
                json!({"A": {"Type": "Task", "Resource": ACT, "End": true, "Retry": [{"ErrorEquals": ["States.ALL", "X"]}]}}),
            ),
            vec![s(SCHEMA, "/States/A/Retry/0/ErrorEquals")],
        ),
        (
            one(
                json!({"A": {"Type": "Task", "Resource": ACT, "End": true, "Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]}}),
            ),
            vec![s(SCHEMA, "/States/A/Retry/0/ErrorEquals")],
        ),
        (
            one(
                json!({"A": {"Type": "Task", "Resource": ACT, "End": true, "Retry": [{"ErrorEquals": []}]}}),
            ),
            vec![s(SCHEMA, "/States/A/Retry/0/ErrorEquals")],
        ),
        (
            one(
                json!({"A": {"Type": "Task", "Resource": ACT, "End": true, "Retry": [{"ErrorEquals": ["X"], "BackoffRate": 0.5, "JitterStrategy": "HALF", "MaxAttempts": -1}]}}),
            ),
            vec![
                s(SCHEMA, "/States/A/Retry/0/BackoffRate"),
                s(SCHEMA, "/States/A/Retry/0/JitterStrategy"),
                s(SCHEMA, "/States/A/Retry/0/MaxAttempts"),
            ],
        ),
        (
            one(
                json!({"A": {"Type": "Task", "Resource": ACT, "End": true, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "A"}, {"ErrorEquals": ["X"], "Next": "B"}]}}),
            ),
            vec![
                s(SCHEMA, "/States/A/Catch/0/ErrorEquals"),
                s("MISSING_TRANSITION_TARGET", "/States/A/Catch/1/Next"),
            ],
        ),
        (
            one(json!({"A": {"Type": "Choice", "Choices": []}})),
            vec![s(SCHEMA, "/States/A/Choices")],
        ),
        (
            one(
                json!({"A": {"Type": "Choice", "Choices": [{"Variable": "$.a", "StringEquals": 1, "Next": "B"}]}, "B": {"Type": "Succeed"}}),
            ),
            vec![s(SCHEMA, "/States/A/Choices/0/StringEquals")],
        ),
        (
            one(
                json!({"A": {"Type": "Choice", "Choices": [{"Variable": "$.a", "NumericEquals": 1, "BooleanEquals": true, "Next": "B"}]}, "B": {"Type": "Succeed"}}),
            ),
            vec![s(SCHEMA, "/States/A/Choices/0")],
        ),
        (
            one(
                json!({"A": {"Type": "Choice", "Choices": [{"Not": {"Variable": "$.a", "IsNull": true, "Next": "B"}, "Next": "B"}]}, "B": {"Type": "Succeed"}}),
            ),
            vec![s(SCHEMA, "/States/A/Choices/0/Not")],
        ),
        (
            one(
                json!({"A": {"Type": "Choice", "Choices": [{"Variable": "$.a", "TimestampEquals": "yesterday", "Next": "B"}]}, "B": {"Type": "Succeed"}}),
            ),
            vec![s(SCHEMA, "/States/A/Choices/0/TimestampEquals")],
        ),
        (
            one(
                json!({"A": {"Type": "Choice", "Choices": [{"Variable": "$.a", "StringEqualsPath": "$.b[*]", "Next": "B"}]}, "B": {"Type": "Succeed"}}),
            ),
            vec![s(SCHEMA, "/States/A/Choices/0/StringEqualsPath")],
        ),
        (
            one(
                json!({"A": {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsPresent": true, "Next": "B"}], "Default": "Z"}, "B": {"Type": "Succeed"}}),
            ),
            vec![s("MISSING_TRANSITION_TARGET", "/States/A/Default")],
        ),
        (
            one(json!({"A": {"Type": "Wait", "End": true}})),
            vec![s(SCHEMA, "/States/A")],
        ),
        (
            one(
                json!({"A": {"Type": "Wait", "Seconds": 1, "Timestamp": "2016-03-14T01:59:00Z", "End": true}}),
            ),
            vec![s(SCHEMA, "/States/A")],
        ),
        (
            one(json!({"A": {"Type": "Wait", "Timestamp": "2016-03-14 01:59:00", "End": true}})),
            vec![s(SCHEMA, "/States/A/Timestamp")],
        ),
        (
            one(json!({"A": {"Type": "Fail", "Error": "E", "ErrorPath": "$.e"}})),
            vec![s(SCHEMA, "/States/A")],
        ),
        (
            one(
                json!({"A": {"Type": "Parallel", "Branches": [{"StartAt": "X", "States": {"X": {"Type": "Pass", "Next": "A"}}}], "End": true}}),
            ),
            vec![s(
                "MISSING_TRANSITION_TARGET",
                "/States/A/Branches/0/States/X/Next",
            )],
        ),
        (
            one(
                json!({"A": {"Type": "Parallel", "Branches": [{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}], "End": true}}),
            ),
            vec![s("DUPLICATE_STATE_NAME", "/States/A/Branches/0/States/A")],
        ),
        (
            one(json!({"A": {"Type": "Map", "End": true}})),
            vec![s(SCHEMA, "/States/A")],
        ),
        (
            one(
                json!({"A": {"Type": "Map", "ItemsPath": "$.i[*]", "MaxConcurrency": -1, "Iterator": {"StartAt": "X", "States": {"X": {"Type": "Succeed"}}}, "End": true}}),
            ),
            vec![
                s(SCHEMA, "/States/A/ItemsPath"),
                s(SCHEMA, "/States/A/MaxConcurrency"),
            ],
        ),
        (
            one(
                json!({"A": {"Type": "Map", "ItemReader": {}, "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"}, "StartAt": "X", "States": {"X": {"Type": "Succeed"}}}, "End": true}}),
            ),
            // DISTRIBUTED is served; ItemReader needs S3.
            vec![s(SCHEMA, "/States/A/ItemReader")],
        ),
        (
            json!({"StartAt": "A", "QueryLanguage": "JSONpath", "States": {"A": {"Type": "Pass", "End": true}}}),
            vec![s(SCHEMA, "/QueryLanguage")],
        ),
        (
            json!({"StartAt": "A", "States": {}}),
            vec![
                s(SCHEMA, "/States"),
                s("MISSING_TRANSITION_TARGET", "/StartAt"),
            ],
        ),
        (json!([1]), vec![s(SCHEMA, "/")]),
    ];
    for (def, want) in cases {
        assert_eq!(errors(&def), want, "{def}");
        assert!(Definition::parse(&def.to_string()).is_err());
    }
}

#[test]
fn messages_as_aws_words_them() {
    let err = Definition::parse(&one(json!({"A": {"Type": "Pass", "Next": "B"}})).to_string())
        .unwrap_err();
    assert_eq!(err.to_string(), "Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: B at /States/A/Next'");
    // The answer AWS gave for this machine, recorded in localstack/localstack#12487.
    let recorded = json!({"StartAt": "pass1", "States": {
        "pass1": {"Type": "Pass", "Next": "pass3"},
        "pass2": {"Type": "Pass", "End": true}}});
    let err = Definition::parse(&recorded.to_string()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: pass3 at /States/pass1/Next, MISSING_TRANSITION_TARGET: State \"pass2\" is not reachable. at /States/pass2'"
    );
    let err = Definition::parse("{not json").unwrap_err();
    assert_eq!(err.diagnostics[0].code, "INVALID_JSON_DESCRIPTION");
    assert_eq!(err.diagnostics[0].severity, Severity::Error);
    let lambda = "arn:aws:lambda:us-east-1:123456789012:function:f";
    let err = Definition::parse(
        &one(json!({"A": {"Type": "Task", "Resource": lambda, "End": true}})).to_string(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains(lambda),
        "the refusal names the resource: {err}"
    );
    let d = serde_json::to_value(&err.diagnostics[0]).unwrap();
    assert_eq!(d["severity"], "ERROR");
}

#[test]
fn garbage_never_panics() {
    let inputs = ["", "null", "1", "\"x\"", "{}", "{\"States\": 1}", "{\"StartAt\": 1, \"States\": {\"A\": 1}}",
        "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Choice\",\"Choices\":[{\"And\":[]},{\"Not\":1},{\"Variable\":1}]}}}",
        "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Map\",\"ItemProcessor\":1,\"Parameters\":[],\"End\":true}}}"];
    for text in inputs {
        assert!(Definition::parse(text).is_err(), "{text}");
    }
}
