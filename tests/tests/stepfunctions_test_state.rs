//! TestState through `aws-sdk-sfn` against the real `swfd`: a Pass state's data flow at each
//! inspection level, a Choice state's next state, a Fail state, an activity Task state run with a
//! mocked result and with a mocked error that its Retry and Catch handle, a state picked from a
//! whole machine by `stateName`, and the refusals (an invalid definition, a Task without a mock).
//! The SDK's `sync-` host prefix is undone by the client (`sfn_sync_client`), as users of a custom
//! endpoint do. Which fields AWS reports is as recorded from the real service (localstack's snapshot tests,
//! tests/aws/services/stepfunctions/v2/test_state/test_test_state_scenarios.snapshot.json and
//! test_state_configuration.snapshot.json).

mod sfn_support;

use aws_sdk_sfn::types::{
    InspectionLevel, MockErrorOutput, MockInput, TestExecutionStatus, TestStateConfiguration,
};
use serde_json::{json, Value};
use sfn_support::*;
use swf_e2e::Swfd;

fn parsed(text: Option<&str>) -> Value {
    serde_json::from_str(text.expect("JSON text")).expect("JSON")
}

#[tokio::test]
async fn test_state_runs_one_state() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let client = sfn_sync_client(&swfd);
    let input = json!({"initialData": {"fieldFromInput": "value from input", "otherField": "other"}, "unrelatedData": {"someOtherField": 1234}});
    let pass = json!({"Type": "Pass", "InputPath": "$.initialData",
        "Parameters": {"staticValue": "some value", "inputValue.$": "$.fieldFromInput"},
        "ResultPath": "$.modifiedData", "Next": "After"});
    let out = client
        .test_state()
        .definition(pass.to_string())
        .input(input.to_string())
        .inspection_level(InspectionLevel::Debug)
        .send()
        .await?;
    assert_eq!(out.status(), Some(&TestExecutionStatus::Succeeded));
    assert_eq!(out.next_state(), Some("After"));
    assert_eq!(
        parsed(out.output())["modifiedData"],
        json!({"staticValue": "some value", "inputValue": "value from input"})
    );
    let inspection = out.inspection_data().expect("DEBUG reports the steps");
    assert_eq!(parsed(inspection.after_input_path())["otherField"], "other");
    assert_eq!(
        parsed(inspection.after_parameters()),
        json!({"staticValue": "some value", "inputValue": "value from input"})
    );
    assert!(inspection.after_result_path().is_some());
    // INFO: no inspection data.
    let info = client
        .test_state()
        .definition(pass.to_string())
        .input(input.to_string())
        .send()
        .await?;
    assert!(info.inspection_data().is_none());

    let choice = json!({"Type": "Choice", "Choices": [{"Variable": "$.value", "NumericGreaterThanEquals": 20, "Next": "ValueInTwenties"}], "Default": "Other"});
    let out = client
        .test_state()
        .definition(choice.to_string())
        .input(r#"{"type": "Private", "value": 22}"#)
        .send()
        .await?;
    assert_eq!(out.next_state(), Some("ValueInTwenties"));

    let fail = json!({"Type": "Fail", "Error": "SomeFailure", "Cause": "why"});
    let out = client
        .test_state()
        .definition(fail.to_string())
        .send()
        .await?;
    assert_eq!(out.status(), Some(&TestExecutionStatus::Failed));
    assert_eq!(
        (out.error(), out.cause()),
        (Some("SomeFailure"), Some("why"))
    );

    // An activity task with a mocked result, then a mocked error through Retry and Catch.
    let task = json!({"Type": "Task", "Resource": format!("{ARN_PREFIX}activity:work"),
        "ResultPath": "$.out", "Next": "Done",
        "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 2, "MaxAttempts": 1}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Handle"}]});
    let r = client
        .test_state()
        .definition(task.to_string())
        .send()
        .await;
    assert_eq!(code(r), "ValidationException", "a Task state needs a mock");
    let out = client
        .test_state()
        .definition(task.to_string())
        .input(r#"{"k": 1}"#)
        .mock(MockInput::builder().result(r#"{"n": 5}"#).build())
        .send()
        .await?;
    assert_eq!(out.status(), Some(&TestExecutionStatus::Succeeded));
    assert_eq!(parsed(out.output()), json!({"k": 1, "out": {"n": 5}}));
    let flaky = MockInput::builder()
        .error_output(MockErrorOutput::builder().error("Flaky").cause("c").build())
        .build();
    let out = client
        .test_state()
        .definition(task.to_string())
        .input(r#"{"k": 1}"#)
        .mock(flaky.clone())
        .inspection_level(InspectionLevel::Debug)
        .send()
        .await?;
    assert_eq!(out.status(), Some(&TestExecutionStatus::Retriable));
    let details = out
        .inspection_data()
        .and_then(|i| i.error_details())
        .expect("errorDetails");
    assert_eq!(
        (
            details.retry_index(),
            details.retry_backoff_interval_seconds()
        ),
        (Some(0), Some(2))
    );
    let out = client
        .test_state()
        .definition(task.to_string())
        .input(r#"{"k": 1}"#)
        .mock(flaky)
        .state_configuration(
            TestStateConfiguration::builder()
                .retrier_retry_count(1)
                .build(),
        )
        .send()
        .await?;
    assert_eq!(out.status(), Some(&TestExecutionStatus::CaughtError));
    assert_eq!(out.next_state(), Some("Handle"));
    assert_eq!(
        parsed(out.output())["error"],
        json!({"Error": "Flaky", "Cause": "c"})
    );

    // A state of a whole machine; an invalid definition.
    let machine = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 1, "Next": "B"}, "B": {"Type": "Succeed"}}});
    let out = client
        .test_state()
        .definition(machine.to_string())
        .state_name("A")
        .send()
        .await?;
    assert_eq!((out.output(), out.next_state()), (Some("1"), Some("B")));
    let r = client
        .test_state()
        .definition(r#"{"Type": "Nope"}"#)
        .send()
        .await;
    assert_eq!(code(r), "InvalidDefinition");
    Ok(())
}
