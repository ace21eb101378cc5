//! Step Functions versions and aliases through `aws-sdk-sfn` against the real `swfd`: publish on
//! create and update, PublishStateMachineVersion (idempotent per revision, `revisionId` checked),
//! ListStateMachineVersions newest first with pages, DescribeStateMachine of a version, an alias
//! with weighted routing between two versions, executions started by version and alias ARN (their
//! definitions, the version and alias ARNs in DescribeExecution, ListExecutions and the
//! ExecutionStarted event), DeleteStateMachineVersion refused while an alias routes to it, and
//! DeleteStateMachine taking its versions and aliases along.
//!
//! The answers are AWS's as recorded from the real service in localstack's snapshot tests
//! (tests/aws/services/stepfunctions/v2/test_sfn_api_versioning.snapshot.json and
//! test_sfn_api_aliasing.snapshot.json, `recorded-content` of runs against AWS): the messages of
//! ConflictException, ValidationException and ResourceNotFound, version numbers never reused, and the
//! fields DescribeExecution and ListExecutions add for a version or alias.

mod sfn_support;

use aws_sdk_sfn::types::{ExecutionStatus, RoutingConfigurationListItem};
use serde_json::{json, Value};
use sfn_support::*;
use swf_e2e::Swfd;

fn pass(result: &str) -> Value {
    json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": result, "End": true}}})
}

fn route(version_arn: &str, weight: i32) -> RoutingConfigurationListItem {
    RoutingConfigurationListItem::builder()
        .state_machine_version_arn(version_arn)
        .weight(weight)
        .build()
        .expect("a complete routing item")
}

/// The error code and message of a failed call.
fn fault<
    T: std::fmt::Debug,
    E: aws_sdk_sfn::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
>(
    r: Result<T, aws_sdk_sfn::error::SdkError<E, R>>,
) -> (String, String) {
    match r {
        Err(aws_sdk_sfn::error::SdkError::ServiceError(e)) => (
            e.err().code().unwrap_or_default().to_string(),
            e.err().message().unwrap_or_default().to_string(),
        ),
        other => panic!("expected a service error, got {other:?}"),
    }
}

#[tokio::test]
async fn versions_aliases_and_executions_through_them() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let client = sfn_client(&swfd);
    let sm = format!("{ARN_PREFIX}stateMachine:versioned");
    let v = |n: u32| format!("{sm}:{n}");

    // versionDescription without publish is refused (AWS: "Version description can only be set when
    // publish is true").
    let (code, message) = fault(
        client
            .create_state_machine()
            .name("versioned")
            .definition(pass("one").to_string())
            .role_arn(ROLE)
            .version_description("v1")
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "Version description can only be set when publish is true"
    );

    let created = client
        .create_state_machine()
        .name("versioned")
        .definition(pass("one").to_string())
        .role_arn(ROLE)
        .publish(true)
        .version_description("first")
        .send()
        .await?;
    assert_eq!(created.state_machine_arn(), sm);
    assert_eq!(created.state_machine_version_arn(), Some(v(1).as_str()));

    // Publishing the same revision again answers version 1; INITIAL names the first revision.
    let again = client
        .publish_state_machine_version()
        .state_machine_arn(&sm)
        .revision_id("INITIAL")
        .send()
        .await?;
    assert_eq!(again.state_machine_version_arn(), v(1));

    // An update makes a revision; publishing with a stale revision id is a conflict.
    let updated = client
        .update_state_machine()
        .state_machine_arn(&sm)
        .definition(pass("two").to_string())
        .send()
        .await?;
    let rev2 = updated.revision_id().expect("a new revision").to_string();
    assert!(updated.state_machine_version_arn().is_none());
    let (code, message) = fault(
        client
            .publish_state_machine_version()
            .state_machine_arn(&sm)
            .revision_id("INITIAL")
            .send()
            .await,
    );
    assert_eq!(code, "ConflictException");
    assert_eq!(
        message,
        format!("Failed to publish the State Machine version for revision INITIAL. The current State Machine revision is {rev2}.")
    );
    let published = client
        .publish_state_machine_version()
        .state_machine_arn(&sm)
        .revision_id(&rev2)
        .description("second")
        .send()
        .await?;
    assert_eq!(published.state_machine_version_arn(), v(2));

    // DescribeStateMachine of a version: its ARN, definition, revision and description.
    let d1 = client
        .describe_state_machine()
        .state_machine_arn(v(1))
        .send()
        .await?;
    assert_eq!(d1.state_machine_arn(), v(1));
    assert_eq!(d1.definition(), pass("one").to_string());
    assert_eq!(d1.description(), Some("first"));
    assert!(d1.revision_id().is_none());
    let d2 = client
        .describe_state_machine()
        .state_machine_arn(v(2))
        .send()
        .await?;
    assert_eq!(d2.revision_id(), Some(rev2.as_str()));
    assert_eq!(d2.description(), Some("second"));
    let latest = client
        .describe_state_machine()
        .state_machine_arn(&sm)
        .send()
        .await?;
    assert_eq!(latest.state_machine_arn(), sm);
    assert_eq!(latest.revision_id(), Some(rev2.as_str()));

    // UpdateStateMachine on a version ARN: StateMachineDoesNotExist naming it (as AWS answers).
    let (code, message) = fault(
        client
            .update_state_machine()
            .state_machine_arn(v(2))
            .definition(pass("x").to_string())
            .send()
            .await,
    );
    assert_eq!(code, "StateMachineDoesNotExist");
    assert_eq!(message, format!("State Machine Does Not Exist: '{}'", v(2)));

    // Versions newest first, one per page.
    let page1 = client
        .list_state_machine_versions()
        .state_machine_arn(&sm)
        .max_results(1)
        .send()
        .await?;
    assert_eq!(
        page1.state_machine_versions()[0].state_machine_version_arn(),
        v(2)
    );
    let page2 = client
        .list_state_machine_versions()
        .state_machine_arn(&sm)
        .max_results(1)
        .next_token(page1.next_token().expect("a second page"))
        .send()
        .await?;
    assert_eq!(
        page2.state_machine_versions()[0].state_machine_version_arn(),
        v(1)
    );
    assert!(page2.next_token().is_none());

    // An alias over both versions; the routing rules as AWS words their faults.
    let (code, message) = fault(
        client
            .create_state_machine_alias()
            .name("live")
            .routing_configuration(route(&v(1), 70))
            .routing_configuration(route(&v(2), 29))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "Sum of routing configuration weights must equal 100. Received: [70, 29]"
    );
    let (code, message) = fault(
        client
            .create_state_machine_alias()
            .name("live")
            .routing_configuration(route(&sm, 100))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        format!("Routing configuration must contain state machine version ARNs. Received: [{sm}]")
    );
    let (code, _) = fault(
        client
            .create_state_machine_alias()
            .name("123")
            .routing_configuration(route(&v(1), 100))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException", "an all-digit alias name");
    let alias = client
        .create_state_machine_alias()
        .name("live")
        .description("the live one")
        .routing_configuration(route(&v(1), 50))
        .routing_configuration(route(&v(2), 50))
        .send()
        .await?;
    let alias_arn = alias.state_machine_alias_arn().to_string();
    assert_eq!(alias_arn, format!("{sm}:live"));
    let described = client
        .describe_state_machine_alias()
        .state_machine_alias_arn(&alias_arn)
        .send()
        .await?;
    assert_eq!(described.name(), Some("live"));
    assert_eq!(described.description(), Some("the live one"));
    assert_eq!(described.routing_configuration().len(), 2);
    let aliases = client
        .list_state_machine_aliases()
        .state_machine_arn(&sm)
        .send()
        .await?;
    assert_eq!(
        aliases.state_machine_aliases()[0].state_machine_alias_arn(),
        alias_arn
    );

    // Executions through the alias split between the versions by weight; each runs its version.
    let mut outputs = std::collections::BTreeMap::<String, usize>::new();
    for i in 0..40 {
        let exec = client
            .start_execution()
            .state_machine_arn(&alias_arn)
            .name(format!("through-alias-{i}"))
            .send()
            .await?
            .execution_arn()
            .to_string();
        assert_eq!(
            wait_closed(&client, &exec).await?,
            ExecutionStatus::Succeeded
        );
        let d = client
            .describe_execution()
            .execution_arn(&exec)
            .send()
            .await?;
        assert_eq!(d.state_machine_arn(), sm, "the state machine's own ARN");
        assert_eq!(d.state_machine_alias_arn(), Some(alias_arn.as_str()));
        let version = d
            .state_machine_version_arn()
            .expect("the version it ran")
            .to_string();
        let want = if version == v(1) {
            "\"one\""
        } else {
            "\"two\""
        };
        assert_eq!(d.output(), Some(want), "{version}");
        *outputs.entry(version).or_default() += 1;
    }
    assert_eq!(outputs.len(), 2, "both versions ran: {outputs:?}");
    let by_version = client
        .start_execution()
        .state_machine_arn(v(1))
        .name("by-version")
        .send()
        .await?
        .execution_arn()
        .to_string();
    wait_closed(&client, &by_version).await?;
    let events = history(&client, &by_version).await?;
    let started = events[0]
        .execution_started_event_details()
        .expect("ExecutionStarted");
    assert_eq!(started.state_machine_version_arn(), Some(v(1).as_str()));
    assert!(started.state_machine_alias_arn().is_none());
    let listed = client
        .list_executions()
        .state_machine_arn(v(1))
        .send()
        .await?;
    assert!(listed
        .executions()
        .iter()
        .all(|e| e.state_machine_version_arn() == Some(v(1).as_str())));
    assert_eq!(listed.executions()[0].name(), "by-version");
    let all = client
        .list_executions()
        .state_machine_arn(&sm)
        .max_results(1000)
        .send()
        .await?;
    assert_eq!(all.executions().len(), 41);

    // A version an alias routes to cannot go; after the alias moves away it can, once (idempotent),
    // and its number is not used again.
    let (code, message) = fault(
        client
            .delete_state_machine_version()
            .state_machine_version_arn(v(1))
            .send()
            .await,
    );
    assert_eq!(code, "ConflictException");
    assert_eq!(
        message,
        "Version to be deleted must not be referenced by an alias. Current list of aliases referencing this version: [live]"
    );
    client
        .update_state_machine_alias()
        .state_machine_alias_arn(&alias_arn)
        .routing_configuration(route(&v(2), 100))
        .send()
        .await?;
    for _ in 0..2 {
        client
            .delete_state_machine_version()
            .state_machine_version_arn(v(1))
            .send()
            .await?;
    }
    let v3 = client
        .update_state_machine()
        .state_machine_arn(&sm)
        .definition(pass("three").to_string())
        .publish(true)
        .send()
        .await?;
    assert_eq!(v3.state_machine_version_arn(), Some(v(3).as_str()));
    let (code, message) = fault(
        client
            .update_state_machine_alias()
            .state_machine_alias_arn(format!("{sm}:nope"))
            .description("x")
            .send()
            .await,
    );
    assert_eq!(
        (code.as_str(), message.as_str()),
        (
            "ResourceNotFound",
            "Request references a resource that does not exist."
        )
    );

    // DeleteStateMachine takes the versions and aliases along.
    client
        .delete_state_machine()
        .state_machine_arn(&sm)
        .send()
        .await?;
    let (code, _) = fault(
        client
            .describe_state_machine()
            .state_machine_arn(v(3))
            .send()
            .await,
    );
    assert_eq!(code, "StateMachineDoesNotExist");
    let (code, _) = fault(
        client
            .describe_state_machine_alias()
            .state_machine_alias_arn(&alias_arn)
            .send()
            .await,
    );
    assert_eq!(code, "ResourceNotFound");
    Ok(())
}
