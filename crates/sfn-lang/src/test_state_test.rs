//! TestState against AWS's recorded answers (localstack's snapshot tests of the real service,
//! tests/aws/services/stepfunctions/v2/test_state/*.snapshot.json): the status, output, next state
//! and which `inspectionData` fields each state type reports.

use serde_json::{json, Value};

use super::*;

fn ask(definition: Value, input: Value, level: Level, mock: Option<Mock>, retries: u32) -> Value {
    let text = definition.to_string();
    let input = input.to_string();
    let req = Request {
        definition: &text,
        state_name: None,
        input: Some(&input),
        level,
        mock,
        context: None,
        retrier_retry_count: retries,
        now_ms: 1_700_000_000_000,
        variables: None,
    };
    test_state(&req, &mut Entropy::new(1)).expect("answered")
}

/// The inspection fields reported, by name.
fn fields(out: &Value) -> Vec<String> {
    let mut f: Vec<String> = out["inspectionData"]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    f.sort();
    f
}

fn parsed(v: &Value) -> Value {
    serde_json::from_str(v.as_str().expect("JSON text")).expect("JSON")
}

#[test]
fn states_report_as_aws_does() {
    let hello = json!({"Value": "HelloWorld"});
    let io_input = json!({"initialData": {"fieldFromInput": "value from input", "otherField": "other"}, "unrelatedData": {"someOtherField": 1234}});
    // (what, state, input, status, output, next state, inspection fields)
    type Case = (
        &'static str,
        Value,
        Value,
        &'static str,
        Value,
        Option<&'static str>,
        Vec<&'static str>,
    );
    let cases: Vec<Case> = vec![
        (
            "pass",
            json!({"Type": "Pass", "End": true}),
            hello.clone(),
            "SUCCEEDED",
            hello.clone(),
            None,
            vec![
                "afterInputPath",
                "afterParameters",
                "afterResultPath",
                "afterResultSelector",
                "input",
            ],
        ),
        (
            "pass with Result",
            json!({"Type": "Pass", "Result": {"resultKey": "result value"}, "End": true}),
            hello.clone(),
            "SUCCEEDED",
            json!({"resultKey": "result value"}),
            None,
            vec!["afterResultPath", "afterResultSelector", "input", "result"],
        ),
        (
            "pass with InputPath, Parameters, ResultPath",
            json!({"Type": "Pass", "InputPath": "$.initialData", "Parameters": {"staticValue": "some value", "inputValue.$": "$.fieldFromInput"}, "ResultPath": "$.modifiedData", "End": true}),
            io_input.clone(),
            "SUCCEEDED",
            json!({"initialData": {"fieldFromInput": "value from input", "otherField": "other"}, "unrelatedData": {"someOtherField": 1234}, "modifiedData": {"staticValue": "some value", "inputValue": "value from input"}}),
            None,
            vec![
                "afterInputPath",
                "afterParameters",
                "afterResultPath",
                "afterResultSelector",
                "input",
            ],
        ),
        (
            "succeed",
            json!({"Type": "Succeed"}),
            hello.clone(),
            "SUCCEEDED",
            hello.clone(),
            None,
            vec!["afterInputPath", "input"],
        ),
        (
            "choice",
            json!({"Type": "Choice", "Choices": [{"Variable": "$.value", "NumericGreaterThanEquals": 20, "Next": "ValueInTwenties"}], "Default": "Other"}),
            json!({"type": "Private", "value": 22}),
            "SUCCEEDED",
            json!({"type": "Private", "value": 22}),
            Some("ValueInTwenties"),
            vec!["afterInputPath", "input"],
        ),
        (
            "wait",
            json!({"Type": "Wait", "Seconds": 10, "Next": "After"}),
            hello.clone(),
            "SUCCEEDED",
            hello.clone(),
            Some("After"),
            vec!["afterInputPath", "input"],
        ),
    ];
    for (what, def, input, status, output, next, inspected) in cases {
        let out = ask(def.clone(), input.clone(), Level::Debug, None, 0);
        assert_eq!(out["status"], json!(status), "{what}: {out}");
        assert_eq!(parsed(&out["output"]), output, "{what}");
        assert_eq!(out["nextState"].as_str(), next, "{what}");
        assert_eq!(fields(&out), inspected, "{what}");
        assert_eq!(parsed(&out["inspectionData"]["input"]), input, "{what}");
        // INFO reports no inspection data.
        let info = ask(def, input, Level::Info, None, 0);
        assert!(info.get("inspectionData").is_none(), "{what}");
    }
}

#[test]
fn a_fail_state_fails_with_its_error_and_cause() {
    let out = ask(
        json!({"Type": "Fail", "Error": "SomeFailure", "Cause": "This state machines raises a 'SomeFailure' failure."}),
        json!({"Value": "HelloWorld"}),
        Level::Debug,
        None,
        0,
    );
    assert_eq!(out["status"], "FAILED");
    assert_eq!(out["error"], "SomeFailure");
    assert_eq!(
        out["cause"],
        "This state machines raises a 'SomeFailure' failure."
    );
    assert!(out.get("output").is_none());
    assert_eq!(fields(&out), ["afterInputPath", "input"]);
}

#[test]
fn a_mocked_activity_task_runs_its_data_flow_retry_and_catch() {
    let act = "arn:aws:states:us-east-1:000000000000:activity:work";
    let task = json!({
        "Type": "Task", "Resource": act,
        "ResultSelector": {"total.$": "$.n"}, "ResultPath": "$.out", "Next": "Done",
        "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 2, "MaxAttempts": 2, "BackoffRate": 3.0}],
        "Catch": [{"ErrorEquals": ["Other"], "Next": "Elsewhere"}, {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Handle"}]
    });
    let input = json!({"k": 1});
    let ok = ask(
        task.clone(),
        input.clone(),
        Level::Debug,
        Some(Mock::Result(r#"{"n": 5}"#.into())),
        0,
    );
    assert_eq!(ok["status"], "SUCCEEDED");
    assert_eq!(parsed(&ok["output"]), json!({"k": 1, "out": {"total": 5}}));
    assert_eq!(ok["nextState"], "Done");
    assert_eq!(
        fields(&ok),
        [
            "afterInputPath",
            "afterParameters",
            "afterResultPath",
            "afterResultSelector",
            "input",
            "result"
        ]
    );
    let flaky = |retries| {
        Some(Mock::Error {
            error: "Flaky".into(),
            cause: "c".into(),
        })
        .map(|m| (m, retries))
    };
    // First failure: retried after 2 s; second: after 2 × 3 = 6 s; then the retrier is spent and
    // States.ALL catches it (the second catcher).
    for (retries, status, delay) in [
        (0, "RETRIABLE", Some(2)),
        (1, "RETRIABLE", Some(6)),
        (2, "CAUGHT_ERROR", None),
    ] {
        let (mock, n) = flaky(retries).unwrap();
        let out = ask(task.clone(), input.clone(), Level::Debug, Some(mock), n);
        assert_eq!(out["status"], status, "{out}");
        assert_eq!(
            (out["error"].as_str(), out["cause"].as_str()),
            (Some("Flaky"), Some("c"))
        );
        match delay {
            Some(d) => {
                assert_eq!(
                    out["inspectionData"]["errorDetails"],
                    json!({"retryIndex": 0, "retryBackoffIntervalSeconds": d})
                );
                assert!(out.get("nextState").is_none());
            }
            None => {
                assert_eq!(
                    out["inspectionData"]["errorDetails"],
                    json!({"catchIndex": 1})
                );
                assert_eq!(out["nextState"], "Handle");
                assert_eq!(
                    parsed(&out["output"]),
                    json!({"k": 1, "error": {"Error": "Flaky", "Cause": "c"}})
                );
            }
        }
    }
    // States.Runtime is neither retried nor caught.
    let bad = ask(
        task.clone(),
        input.clone(),
        Level::Info,
        Some(Mock::Result("not json".into())),
        0,
    );
    assert_eq!(
        (bad["status"].as_str(), bad["error"].as_str()),
        (Some("FAILED"), Some("States.Runtime"))
    );
}

#[test]
fn refusals() {
    let req = |definition: &'static str, mock: Option<Mock>, input: &'static str| Request {
        definition,
        state_name: None,
        input: Some(input),
        level: Level::Info,
        mock,
        context: None,
        retrier_retry_count: 0,
        now_ms: 0,
        variables: None,
    };
    let e = &mut Entropy::new(1);
    assert!(matches!(
        test_state(&req("{", None, "{}"), e),
        Err(Refusal::InvalidDefinition(_))
    ));
    assert!(matches!(
        test_state(&req(r#"{"Type": "Nope"}"#, None, "{}"), e),
        Err(Refusal::InvalidDefinition(_))
    ));
    assert!(matches!(
        test_state(
            &req(
                r#"{"Type": "Task", "Resource": "arn:aws:states:us-east-1:000000000000:activity:a", "End": true}"#,
                None,
                "{}"
            ),
            e
        ),
        Err(Refusal::Validation(_))
    ));
    assert!(matches!(
        test_state(&req(r#"{"Type": "Pass", "End": true}"#, None, "{x"), e),
        Err(Refusal::InvalidExecutionInput(_))
    ));
    // A whole machine and the state to run.
    let machine = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 1, "Next": "B"}, "B": {"Type": "Succeed"}}}).to_string();
    let r = Request {
        definition: &machine,
        state_name: Some("A"),
        ..req("", None, "{}")
    };
    let out = test_state(&r, e).unwrap();
    assert_eq!(
        (out["output"].as_str(), out["nextState"].as_str()),
        (Some("1"), Some("B"))
    );
    let r = Request {
        definition: &machine,
        state_name: Some("Z"),
        ..req("", None, "{}")
    };
    assert!(matches!(test_state(&r, e), Err(Refusal::Validation(_))));
}

#[test]
fn jsonata_states_and_variables() {
    // A JSONata Task with a mocked result: `afterArguments`, `result`, and `variables` (every
    // variable after the state: the given ones and what it assigned).
    let state = json!({"Type": "Task", "QueryLanguage": "JSONata",
        "Resource": "arn:aws:states:us-east-1:123456789012:activity:a",
        "Arguments": {"id": "{% $states.input.id %}", "who": "{% $user %}"},
        "Output": "{% $states.result.n + 1 %}",
        "Assign": {"seen": "{% $states.result.n %}"}, "End": true})
    .to_string();
    let req = Request {
        definition: &state,
        state_name: None,
        input: Some(r#"{"id": 7}"#),
        level: Level::Debug,
        mock: Some(Mock::Result(r#"{"n": 41}"#.into())),
        context: None,
        retrier_retry_count: 0,
        now_ms: 1_700_000_000_000,
        variables: Some(r#"{"user": "ana"}"#),
    };
    let out = test_state(&req, &mut Entropy::new(1)).unwrap();
    assert_eq!(out["status"], json!("SUCCEEDED"));
    assert_eq!(out["output"], json!("42"));
    let d = &out["inspectionData"];
    assert_eq!(parsed(&d["afterArguments"]), json!({"id": 7, "who": "ana"}));
    assert_eq!(parsed(&d["variables"]), json!({"user": "ana", "seen": 41}));
    // A JSONPath Pass with Assign reading a given variable.
    let state = json!({"Type": "Pass", "Assign": {"copy.$": "$user"}, "End": true}).to_string();
    let req = Request {
        definition: &state,
        mock: None,
        ..req
    };
    let out = test_state(&req, &mut Entropy::new(1)).unwrap();
    assert_eq!(
        parsed(&out["inspectionData"]["variables"]),
        json!({"user": "ana", "copy": "ana"})
    );
    let bad = Request {
        variables: Some("[1]"),
        ..req
    };
    assert!(matches!(
        test_state(&bad, &mut Entropy::new(1)),
        Err(Refusal::Validation(_))
    ));
}
