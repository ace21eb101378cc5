//! JSONata and workflow variables through `aws-sdk-sfn` against the real `swfd`: a JSONata machine
//! whose Pass assigns variables, whose Map takes its `Items` from an expression and runs an activity
//! Task (with `Arguments`, an expression `TimeoutSeconds` and `Output`) per item, whose Choice picks by
//! a `Condition` over a variable, and whose last state builds its `Output` from variables; the
//! `assignedVariables` AWS writes into `...StateExited`; a definition AWS refuses (a JSONPath field
//! in a JSONata state) with AWS's message; and an expression that gives nothing failing the execution
//! with `States.QueryEvaluationError` after an `EvaluationFailed` event; DescribeStateMachine's
//! `variableReferences`; and the references AWS refuses at create time (`$`, `$$`, a bare field name
//! at the top level, `$states.errorOutput` outside a catcher).
//!
//! The messages and event shapes are AWS's: the refusal as measured with
//! ValidateStateMachineDefinition (quoted in floci-io/floci#2968), the `assignedVariables` and
//! `EvaluationFailed` details as recorded against AWS in localstack's snapshots
//! (tests/aws/services/stepfunctions/v2/assign/*.snapshot.json).

mod sfn_support;

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent};
use serde_json::{json, Value};
use sfn_support::*;
use swf_e2e::Swfd;

fn assigned(events: &[HistoryEvent], ty: &str) -> Vec<std::collections::HashMap<String, String>> {
    events
        .iter()
        .filter(|e| e.r#type().as_str() == ty)
        .filter_map(|e| e.state_exited_event_details())
        .filter_map(|d| d.assigned_variables().cloned())
        .collect()
}

#[tokio::test]
async fn jsonata_machine_with_variables_over_an_activity() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let client = sfn_client(&swfd);
    let act = activity(&client, "price").await?;
    let definition = json!({
        "QueryLanguage": "JSONata",
        "StartAt": "Setup",
        "States": {
            "Setup": {"Type": "Pass",
                "Assign": {"customer": "{% $states.input.customer %}", "rate": 2},
                "Output": {"items": "{% $states.input.items %}"}, "Next": "Price"},
            "Price": {"Type": "Map", "Items": "{% $states.input.items %}", "MaxConcurrency": 1,
                "ItemSelector": {"sku": "{% $states.context.Map.Item.Value.sku %}",
                    "qty": "{% $states.context.Map.Item.Value.qty %}"},
                "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Quote", "States": {
                    "Quote": {"Type": "Task", "Resource": act,
                        "Arguments": {"sku": "{% $states.input.sku %}", "qty": "{% $states.input.qty %}", "rate": "{% $rate %}"},
                        "TimeoutSeconds": "{% 30 * $rate %}",
                        "Output": "{% $states.result.price * $states.input.qty %}", "End": true}}},
                "Assign": {"total": "{% $sum($states.result) %}"}, "Next": "Decide"},
            "Decide": {"Type": "Choice",
                "Choices": [{"Condition": "{% $total > 100 %}", "Assign": {"tier": "gold"}, "Next": "Done"}],
                "Default": "Done", "Assign": {"tier": "standard"}},
            "Done": {"Type": "Succeed", "Output": {"customer": "{% $customer %}", "total": "{% $total %}",
                "tier": "{% $tier %}", "lines": "{% $states.input %}"}}
        }
    });
    let sm = machine(&client, "quote", &definition).await?;
    // The variables each state reads (states reading none left out), as DescribeStateMachine's
    // `variableReferences` (its shape as recorded against AWS in localstack's
    // test_sfn_api_variable_references snapshots).
    let want_refs: std::collections::HashMap<String, Vec<String>> = [
        ("Quote", vec!["rate"]),
        ("Decide", vec!["total"]),
        ("Done", vec!["customer", "tier", "total"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
    .collect();
    let described = client
        .describe_state_machine()
        .state_machine_arn(&sm)
        .send()
        .await?;
    assert_eq!(described.variable_references(), Some(&want_refs));
    let exec = start(
        &client,
        &sm,
        "run1",
        r#"{"customer": "ana", "items": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 5}]}"#,
    )
    .await?;
    // One item at a time (MaxConcurrency 1): the worker sees each item's Arguments.
    for (want, price) in [
        (json!({"sku": "a", "qty": 2, "rate": 2}), 10),
        (json!({"sku": "b", "qty": 5, "rate": 2}), 20),
    ] {
        let (token, input) = take(&client, &act).await?;
        assert_eq!(serde_json::from_str::<Value>(&input)?, want);
        succeed(&client, token, json!({"price": price}).to_string()).await?;
    }
    assert_eq!(
        wait_closed(&client, &exec).await?,
        ExecutionStatus::Succeeded
    );
    let d = client
        .describe_execution()
        .execution_arn(&exec)
        .send()
        .await?;
    assert_eq!(
        serde_json::from_str::<Value>(d.output().unwrap_or_default())?,
        json!({"customer": "ana", "total": 120, "tier": "gold", "lines": [20, 100]})
    );
    let events = history(&client, &exec).await?;
    let setup = &assigned(&events, "PassStateExited")[0];
    assert_eq!(setup["customer"], "\"ana\"");
    assert_eq!(setup["rate"], "2");
    assert_eq!(assigned(&events, "MapStateExited")[0]["total"], "120");
    assert_eq!(
        assigned(&events, "ChoiceStateExited")[0]["tier"],
        "\"gold\""
    );
    let scheduled: Vec<i64> = events
        .iter()
        .filter_map(|e| e.activity_scheduled_event_details())
        .filter_map(|d| d.timeout_in_seconds())
        .collect();
    assert_eq!(scheduled, [60, 60], "TimeoutSeconds from an expression");
    let for_exec = client
        .describe_state_machine_for_execution()
        .execution_arn(&exec)
        .send()
        .await?;
    assert_eq!(for_exec.variable_references(), Some(&want_refs));
    Ok(())
}

#[tokio::test]
async fn references_aws_refuses_at_create_time() -> anyhow::Result<()> {
    // AWS refuses these definitions at CreateStateMachine and ValidateStateMachineDefinition (the
    // texts as measured against AWS and quoted in floci-io/floci#2699 and #2670 — `Reference to
    // 'phone' at the top level is not supported. at /States/E/Output/v` — and in floci's tests of
    // `$$` and `$states.errorOutput`, run through validate-state-machine-definition).
    let swfd = Swfd::start().await?;
    let client = sfn_client(&swfd);
    let cases = [
        (
            json!({"v": "{% phone %}"}),
            "Reference to 'phone' at the top level is not supported.",
            "/States/E/Output/v",
        ),
        (
            json!("{% $$ %}"),
            "Reference to '$$' is not supported.",
            "/States/E/Output",
        ),
        (
            json!("{% $ %}"),
            "Reference to '$' at the top level is not supported.",
            "/States/E/Output",
        ),
        (
            json!("{% $states.errorOutput %}"),
            "Field '$states.errorOutput' does not exist.",
            "/States/E/Output",
        ),
    ];
    for (output, message, location) in cases {
        let def = json!({"QueryLanguage": "JSONata", "StartAt": "E", "States": {
            "E": {"Type": "Pass", "Output": output, "End": true}}});
        let err = client
            .create_state_machine()
            .name("refused")
            .definition(def.to_string())
            .role_arn(ROLE)
            .send()
            .await
            .expect_err("refused");
        let svc = err.into_service_error();
        assert!(svc.is_invalid_definition(), "{svc:?}");
        assert_eq!(
            aws_sdk_sfn::error::ProvideErrorMetadata::message(&svc),
            Some(format!("Invalid State Machine Definition: 'UNSUPPORTED_JSONATA_EXPRESSION: {message} at {location}'").as_str())
        );
        let v = client
            .validate_state_machine_definition()
            .definition(def.to_string())
            .send()
            .await?;
        assert_eq!(v.result().as_str(), "FAIL");
        let d = &v.diagnostics()[0];
        assert_eq!(
            (d.code(), d.message(), d.location()),
            ("UNSUPPORTED_JSONATA_EXPRESSION", message, Some(location))
        );
    }
    // A Map iteration assigning a variable of the outer scope: refused at create time too (our
    // wording; AWS's text for it was not found).
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "S", "States": {
        "S": {"Type": "Pass", "Assign": {"total": 0}, "Next": "M"},
        "M": {"Type": "Map", "Items": [1, 2], "ItemProcessor": {"StartAt": "I", "States": {
            "I": {"Type": "Pass", "Assign": {"total": "{% $states.input %}"}, "End": true}}}, "End": true}}});
    let err = client
        .create_state_machine()
        .name("scope")
        .definition(def.to_string())
        .role_arn(ROLE)
        .send()
        .await
        .expect_err("refused");
    let svc = err.into_service_error();
    assert_eq!(
        aws_sdk_sfn::error::ProvideErrorMetadata::message(&svc),
        Some("Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The variable 'total' belongs to an outer scope: a Parallel branch or Map iteration cannot assign it at /States/M/ItemProcessor/States/I/Assign/total'")
    );
    // A syntax error: INVALID_JSONATA_EXPRESSION with the parser's message, no code prefix.
    let v = client
        .validate_state_machine_definition()
        .definition(
            json!({"QueryLanguage": "JSONata", "StartAt": "E", "States": {
                "E": {"Type": "Pass", "Output": "{% 1 + %}", "End": true}}})
            .to_string(),
        )
        .send()
        .await?;
    assert_eq!(v.diagnostics()[0].code(), "INVALID_JSONATA_EXPRESSION");
    Ok(())
}

#[tokio::test]
async fn refused_definition_and_query_evaluation_error() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let client = sfn_client(&swfd);
    let bad = json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
        "A": {"Type": "Pass", "Parameters": {"x.$": "$.x"}, "End": true}}});
    let err = client
        .create_state_machine()
        .name("bad")
        .definition(bad.to_string())
        .role_arn(ROLE)
        .send()
        .await
        .expect_err("refused");
    let svc = err.into_service_error();
    assert!(svc.is_invalid_definition(), "{svc:?}");
    assert_eq!(
        aws_sdk_sfn::error::ProvideErrorMetadata::message(&svc),
        Some("Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The QueryLanguage is set to 'JSONata', but field 'Parameters' is only supported for the 'JSONPath' QueryLanguage at /States/A'")
    );
    let v = client
        .validate_state_machine_definition()
        .definition(bad.to_string())
        .send()
        .await?;
    assert_eq!(v.result().as_str(), "FAIL");
    assert_eq!(v.diagnostics()[0].location(), Some("/States/A"));

    // An expression that gives nothing: EvaluationFailed, then the execution fails.
    let sm = machine(
        &client,
        "undefined",
        &json!({"QueryLanguage": "JSONata", "StartAt": "State0", "States": {
            "State0": {"Type": "Pass", "Output": {"result": "{% $doesNotExist %}"}, "End": true}}}),
    )
    .await?;
    let exec = start(&client, &sm, "u", "{}").await?;
    assert_eq!(wait_closed(&client, &exec).await?, ExecutionStatus::Failed);
    let events = history(&client, &exec).await?;
    assert_eq!(
        types(&events),
        [
            "ExecutionStarted",
            "PassStateEntered",
            "EvaluationFailed",
            "ExecutionFailed"
        ]
    );
    let cause = "An error occurred while executing the state 'State0' (entered at the event id #2). The JSONata expression '$doesNotExist' specified for the field 'Output/result' returned nothing (undefined).";
    let ev = events[2]
        .evaluation_failed_event_details()
        .expect("details");
    assert_eq!(
        (ev.error(), ev.cause(), ev.location(), ev.state()),
        (
            Some("States.QueryEvaluationError"),
            Some(cause),
            Some("Output/result"),
            "State0"
        )
    );
    let f = events[3].execution_failed_event_details().expect("details");
    assert_eq!(
        (f.error(), f.cause()),
        (Some("States.QueryEvaluationError"), Some(cause))
    );
    Ok(())
}
