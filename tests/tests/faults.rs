//! Every fault swfd serves, seen through aws-sdk-swf (typed error variants and error codes), plus
//! raw AWS JSON 1.0 requests for what the SDK cannot send: invalid members, malformed JSON, bodies
//! over 1 MB and unknown actions.

use aws_sdk_swf::error::ProvideErrorMetadata;
use aws_sdk_swf::operation::describe_activity_type::DescribeActivityTypeError;
use aws_sdk_swf::operation::describe_domain::DescribeDomainError;
use aws_sdk_swf::operation::describe_workflow_execution::DescribeWorkflowExecutionError;
use aws_sdk_swf::operation::describe_workflow_type::DescribeWorkflowTypeError;
use aws_sdk_swf::operation::get_workflow_execution_history::GetWorkflowExecutionHistoryError;
use aws_sdk_swf::operation::poll_for_decision_task::PollForDecisionTaskError;
use aws_sdk_swf::operation::record_activity_task_heartbeat::RecordActivityTaskHeartbeatError;
use aws_sdk_swf::operation::register_activity_type::RegisterActivityTypeError;
use aws_sdk_swf::operation::register_domain::RegisterDomainError;
use aws_sdk_swf::operation::register_workflow_type::RegisterWorkflowTypeError;
use aws_sdk_swf::operation::respond_activity_task_canceled::RespondActivityTaskCanceledError;
use aws_sdk_swf::operation::respond_activity_task_completed::RespondActivityTaskCompletedError;
use aws_sdk_swf::operation::respond_activity_task_failed::RespondActivityTaskFailedError;
use aws_sdk_swf::operation::respond_decision_task_completed::RespondDecisionTaskCompletedError;
use aws_sdk_swf::operation::start_workflow_execution::StartWorkflowExecutionError;
use aws_sdk_swf::types::{ActivityType, WorkflowExecution, WorkflowType};
use serde_json::{json, Value};
use swf_e2e::{
    complete_workflow, poll_activity, poll_decision, schedule_activity, service_error,
    setup_domain, start_execution, task_list, Swfd,
};

const SWF_FAULT_NS: &str = "com.amazonaws.swf.base.model#";
const VALIDATION: &str = "com.amazon.coral.validate#ValidationException";
const UNKNOWN_OPERATION: &str = "com.amazon.coral.service#UnknownOperationException";

#[tokio::test]
async fn registration_faults() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let client = swfd.client();
    let fx = setup_domain(&client, "reg").await?;

    let e = service_error(
        client
            .register_domain()
            .name("reg")
            .workflow_execution_retention_period_in_days("1")
            .send()
            .await,
    );
    assert!(
        matches!(e, RegisterDomainError::DomainAlreadyExistsFault(_)),
        "{e:?}"
    );
    assert_eq!(e.code(), Some("DomainAlreadyExistsFault"));
    assert!(e.message().is_some_and(|m| !m.is_empty()));

    let e = service_error(
        client
            .register_workflow_type()
            .domain("reg")
            .name("wf")
            .version("1")
            .send()
            .await,
    );
    assert!(
        matches!(e, RegisterWorkflowTypeError::TypeAlreadyExistsFault(_)),
        "{e:?}"
    );
    assert_eq!(e.code(), Some("TypeAlreadyExistsFault"));

    let e = service_error(
        client
            .register_activity_type()
            .domain("reg")
            .name("greet")
            .version("1")
            .send()
            .await,
    );
    assert!(
        matches!(e, RegisterActivityTypeError::TypeAlreadyExistsFault(_)),
        "{e:?}"
    );

    // Registering a type in a domain that does not exist.
    let e = service_error(
        client
            .register_workflow_type()
            .domain("no-such-domain")
            .name("wf")
            .version("1")
            .send()
            .await,
    );
    assert!(
        matches!(e, RegisterWorkflowTypeError::UnknownResourceFault(_)),
        "{e:?}"
    );

    // A new version of an existing type is a different type.
    client
        .register_workflow_type()
        .domain("reg")
        .name("wf")
        .version("2")
        .send()
        .await?;
    let listed = client
        .list_workflow_types()
        .domain("reg")
        .registration_status(aws_sdk_swf::types::RegistrationStatus::Registered)
        .send()
        .await?;
    let mut versions: Vec<&str> = listed
        .type_infos()
        .iter()
        .filter_map(|t| t.workflow_type())
        .map(|t| t.version())
        .collect();
    versions.sort();
    assert_eq!(versions, ["1", "2"]);
    assert_eq!(fx.domain, "reg");
    Ok(())
}

#[tokio::test]
async fn unknown_resource_faults() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let client = swfd.client();
    setup_domain(&client, "known").await?;

    let e = service_error(client.describe_domain().name("nope").send().await);
    assert!(
        matches!(e, DescribeDomainError::UnknownResourceFault(_)),
        "{e:?}"
    );
    assert_eq!(e.code(), Some("UnknownResourceFault"));

    let e = service_error(
        client
            .describe_workflow_type()
            .domain("known")
            .workflow_type(WorkflowType::builder().name("wf").version("9").build()?)
            .send()
            .await,
    );
    assert!(
        matches!(e, DescribeWorkflowTypeError::UnknownResourceFault(_)),
        "{e:?}"
    );

    let e = service_error(
        client
            .describe_activity_type()
            .domain("known")
            .activity_type(ActivityType::builder().name("nope").version("1").build()?)
            .send()
            .await,
    );
    assert!(
        matches!(e, DescribeActivityTypeError::UnknownResourceFault(_)),
        "{e:?}"
    );

    let e = service_error(
        client
            .start_workflow_execution()
            .domain("nope")
            .workflow_id("w")
            .workflow_type(WorkflowType::builder().name("wf").version("1").build()?)
            .send()
            .await,
    );
    assert!(
        matches!(e, StartWorkflowExecutionError::UnknownResourceFault(_)),
        "{e:?}"
    );

    let e = service_error(
        client
            .start_workflow_execution()
            .domain("known")
            .workflow_id("w")
            .workflow_type(WorkflowType::builder().name("other").version("1").build()?)
            .send()
            .await,
    );
    assert!(
        matches!(e, StartWorkflowExecutionError::UnknownResourceFault(_)),
        "{e:?}"
    );

    let ghost = WorkflowExecution::builder()
        .workflow_id("ghost")
        .run_id("00000000000000000000000000000000")
        .build()?;
    let e = service_error(
        client
            .describe_workflow_execution()
            .domain("known")
            .execution(ghost.clone())
            .send()
            .await,
    );
    assert!(
        matches!(e, DescribeWorkflowExecutionError::UnknownResourceFault(_)),
        "{e:?}"
    );
    let e = service_error(
        client
            .get_workflow_execution_history()
            .domain("known")
            .execution(ghost)
            .send()
            .await,
    );
    assert!(
        matches!(e, GetWorkflowExecutionHistoryError::UnknownResourceFault(_)),
        "{e:?}"
    );

    let e = service_error(
        client
            .poll_for_decision_task()
            .domain("nope")
            .task_list(task_list("l"))
            .send()
            .await,
    );
    assert!(
        matches!(e, PollForDecisionTaskError::UnknownResourceFault(_)),
        "{e:?}"
    );
    Ok(())
}

#[tokio::test]
async fn default_undefined_and_already_started() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let client = swfd.client();
    let fx = setup_domain(&client, "defaults").await?;
    // A type without any defaults.
    client
        .register_workflow_type()
        .domain("defaults")
        .name("bare")
        .version("1")
        .send()
        .await?;
    let bare = WorkflowType::builder().name("bare").version("1").build()?;
    let e = service_error(
        client
            .start_workflow_execution()
            .domain("defaults")
            .workflow_id("bare-1")
            .workflow_type(bare.clone())
            .send()
            .await,
    );
    assert!(
        matches!(e, StartWorkflowExecutionError::DefaultUndefinedFault(_)),
        "{e:?}"
    );
    assert_eq!(e.code(), Some("DefaultUndefinedFault"));
    // Everything given explicitly: accepted.
    client
        .start_workflow_execution()
        .domain("defaults")
        .workflow_id("bare-2")
        .workflow_type(bare)
        .task_list(task_list("explicit"))
        .execution_start_to_close_timeout("600")
        .task_start_to_close_timeout("60")
        .child_policy(aws_sdk_swf::types::ChildPolicy::Terminate)
        .send()
        .await?;

    let first = start_execution(&client, &fx, "dup", "").await?;
    let e = service_error(
        client
            .start_workflow_execution()
            .domain("defaults")
            .workflow_id("dup")
            .workflow_type(fx.workflow_type.clone())
            .send()
            .await,
    );
    assert!(
        matches!(
            e,
            StartWorkflowExecutionError::WorkflowExecutionAlreadyStartedFault(_)
        ),
        "{e:?}"
    );
    assert_eq!(e.code(), Some("WorkflowExecutionAlreadyStartedFault"));

    // Once closed, the id can be reused and gets a new run.
    let d = poll_decision(&client, &fx).await?;
    assert_eq!(d.workflow_execution(), Some(&first));
    client
        .respond_decision_task_completed()
        .task_token(d.task_token())
        .decisions(complete_workflow(""))
        .send()
        .await?;
    let second = start_execution(&client, &fx, "dup", "").await?;
    assert_ne!(second.run_id(), first.run_id());
    Ok(())
}

#[tokio::test]
async fn bad_and_replayed_task_tokens() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let client = swfd.client();
    let fx = setup_domain(&client, "tokens").await?;

    for garbage in ["garbage", "AAAA", "x".repeat(1024).as_str()] {
        let e = service_error(
            client
                .respond_decision_task_completed()
                .task_token(garbage)
                .send()
                .await,
        );
        assert!(
            matches!(
                e,
                RespondDecisionTaskCompletedError::UnknownResourceFault(_)
            ),
            "{garbage:?}: {e:?}"
        );
        let e = service_error(
            client
                .record_activity_task_heartbeat()
                .task_token(garbage)
                .send()
                .await,
        );
        assert!(
            matches!(e, RecordActivityTaskHeartbeatError::UnknownResourceFault(_)),
            "{garbage:?}: {e:?}"
        );
        let e = service_error(
            client
                .respond_activity_task_completed()
                .task_token(garbage)
                .send()
                .await,
        );
        assert!(
            matches!(
                e,
                RespondActivityTaskCompletedError::UnknownResourceFault(_)
            ),
            "{garbage:?}: {e:?}"
        );
    }

    start_execution(&client, &fx, "replay", "").await?;
    let d1 = poll_decision(&client, &fx).await?;
    // A decision token is no activity token.
    let e = service_error(
        client
            .respond_activity_task_completed()
            .task_token(d1.task_token())
            .send()
            .await,
    );
    assert!(
        matches!(
            e,
            RespondActivityTaskCompletedError::UnknownResourceFault(_)
        ),
        "{e:?}"
    );
    client
        .respond_decision_task_completed()
        .task_token(d1.task_token())
        .decisions(schedule_activity(&fx, "a", ""))
        .send()
        .await?;
    // The same decision token again.
    let e = service_error(
        client
            .respond_decision_task_completed()
            .task_token(d1.task_token())
            .decisions(complete_workflow("twice"))
            .send()
            .await,
    );
    assert!(
        matches!(
            e,
            RespondDecisionTaskCompletedError::UnknownResourceFault(_)
        ),
        "{e:?}"
    );

    let a = poll_activity(&client, &fx).await?;
    client
        .respond_activity_task_completed()
        .task_token(a.task_token())
        .result("once")
        .send()
        .await?;
    // The completed activity's token, replayed for every activity call.
    let e = service_error(
        client
            .respond_activity_task_completed()
            .task_token(a.task_token())
            .result("twice")
            .send()
            .await,
    );
    assert!(
        matches!(
            e,
            RespondActivityTaskCompletedError::UnknownResourceFault(_)
        ),
        "{e:?}"
    );
    assert_eq!(e.code(), Some("UnknownResourceFault"));
    let e = service_error(
        client
            .record_activity_task_heartbeat()
            .task_token(a.task_token())
            .send()
            .await,
    );
    assert!(
        matches!(e, RecordActivityTaskHeartbeatError::UnknownResourceFault(_)),
        "{e:?}"
    );
    let e = service_error(
        client
            .respond_activity_task_failed()
            .task_token(a.task_token())
            .send()
            .await,
    );
    assert!(
        matches!(e, RespondActivityTaskFailedError::UnknownResourceFault(_)),
        "{e:?}"
    );
    let e = service_error(
        client
            .respond_activity_task_canceled()
            .task_token(a.task_token())
            .send()
            .await,
    );
    assert!(
        matches!(e, RespondActivityTaskCanceledError::UnknownResourceFault(_)),
        "{e:?}"
    );

    // The history holds exactly one completion.
    let d2 = poll_decision(&client, &fx).await?;
    let completions = d2
        .events()
        .iter()
        .filter_map(|e| e.activity_task_completed_event_attributes())
        .map(|a| a.result().unwrap_or_default().to_string())
        .collect::<Vec<_>>();
    assert_eq!(completions, ["once"]);
    Ok(())
}

#[tokio::test]
async fn validation_exception_through_the_sdk() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let client = swfd.client();
    let e = service_error(
        client
            .register_domain()
            .name("d".repeat(257))
            .workflow_execution_retention_period_in_days("1")
            .send()
            .await,
    );
    assert_eq!(e.code(), Some("ValidationException"), "{e:?}");
    assert!(e.message().unwrap_or_default().contains("name"), "{e:?}");
    Ok(())
}

/// Asserts a 400 ValidationException whose message names `member`.
fn assert_validation(status: u16, body: &Value, member: &str) {
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["__type"], VALIDATION, "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(member),
        "message does not name {member:?}: {body}"
    );
}

#[tokio::test]
async fn raw_validation_errors_name_the_member() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;

    // Missing required member.
    let (status, body) = swfd
        .raw_call(
            "RegisterDomain",
            json!({ "workflowExecutionRetentionPeriodInDays": "1" }).to_string(),
        )
        .await?;
    assert_validation(status, &body, "name");

    let (status, body) = swfd
        .raw_call("RegisterDomain", json!({ "name": "d" }).to_string())
        .await?;
    assert_validation(status, &body, "workflowExecutionRetentionPeriodInDays");

    // Value too long.
    let (status, body) = swfd
        .raw_call(
            "RegisterDomain",
            json!({ "name": "n".repeat(300), "workflowExecutionRetentionPeriodInDays": "1" })
                .to_string(),
        )
        .await?;
    assert_validation(status, &body, "name");

    // Bad enum value.
    let (status, body) = swfd
        .raw_call(
            "ListDomains",
            json!({ "registrationStatus": "SOMETIMES" }).to_string(),
        )
        .await?;
    assert_validation(status, &body, "registrationStatus");

    // Wrong JSON type for a member.
    let (status, body) = swfd
        .raw_call(
            "RegisterDomain",
            json!({ "name": 7, "workflowExecutionRetentionPeriodInDays": "1" }).to_string(),
        )
        .await?;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["__type"]
            .as_str()
            .unwrap_or_default()
            .ends_with("Exception"),
        "{body}"
    );

    // Nothing was registered by the rejected calls.
    let (status, body) = swfd
        .raw_call(
            "ListDomains",
            json!({ "registrationStatus": "REGISTERED" }).to_string(),
        )
        .await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["domainInfos"], json!([]), "{body}");
    Ok(())
}

#[tokio::test]
async fn raw_malformed_json_oversized_body_and_unknown_action() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;

    let (status, body) = swfd
        .raw_call("RegisterDomain", r#"{"name": "d", "#.to_string())
        .await?;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["__type"], VALIDATION, "{body}");
    assert!(body["message"].is_string(), "{body}");

    let (status, body) = swfd
        .raw_call("RegisterDomain", "[1, 2]".to_string())
        .await?;
    assert_eq!(status, 400, "{body}");

    // Over 1 MB.
    let big = json!({
        "name": "big",
        "workflowExecutionRetentionPeriodInDays": "1",
        "description": "x".repeat(1_100_000),
    })
    .to_string();
    let (status, body) = swfd.raw_call("RegisterDomain", big).await?;
    assert!((400..500).contains(&status), "status {status}: {body}");
    assert!(body["__type"].is_string(), "{body}");
    assert!(body["message"].is_string(), "{body}");

    let (status, body) = swfd.raw_call("FlyToTheMoon", "{}".to_string()).await?;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["__type"], UNKNOWN_OPERATION, "{body}");

    // A service fault over raw HTTP carries the SWF namespace.
    let (status, body) = swfd
        .raw_call("DescribeDomain", json!({ "name": "nope" }).to_string())
        .await?;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["__type"],
        format!("{SWF_FAULT_NS}UnknownResourceFault"),
        "{body}"
    );
    assert!(body["message"].is_string(), "{body}");

    // The server is still fine afterwards, and unsigned requests are accepted.
    let (status, body) = swfd
        .raw_call(
            "RegisterDomain",
            json!({ "name": "after", "workflowExecutionRetentionPeriodInDays": "1" }).to_string(),
        )
        .await?;
    assert_eq!(status, 200, "{body}");
    let (status, body) = swfd
        .raw_call("DescribeDomain", json!({ "name": "after" }).to_string())
        .await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["domainInfo"]["name"], "after", "{body}");
    assert_eq!(body["domainInfo"]["status"], "REGISTERED", "{body}");
    assert_eq!(
        body["configuration"]["workflowExecutionRetentionPeriodInDays"], "1",
        "{body}"
    );
    Ok(())
}

#[tokio::test]
async fn raw_missing_or_wrong_target_header() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let resp = swfd
        .http()
        .post(format!("{}/", swfd.endpoint()))
        .header("Content-Type", swf_e2e::AMZ_JSON)
        .header("X-Amz-Target", "SomeOtherService.ListDomains")
        .body("{}")
        .send()
        .await?;
    let status = resp.status().as_u16();
    let body: Value = resp.json().await?;
    assert!((400..500).contains(&status), "status {status}: {body}");
    assert!(body["__type"].is_string(), "{body}");
    Ok(())
}

#[tokio::test]
async fn tokens_of_a_closed_execution_are_unknown() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let client = swfd.client();
    let fx = setup_domain(&client, "closed").await?;
    let exec = start_execution(&client, &fx, "closing", "").await?;
    let d1 = poll_decision(&client, &fx).await?;
    client
        .respond_decision_task_completed()
        .task_token(d1.task_token())
        .decisions(schedule_activity(&fx, "A", ""))
        .decisions(schedule_activity(&fx, "B", ""))
        .send()
        .await?;
    let t1 = poll_activity(&client, &fx).await?;
    let t2 = poll_activity(&client, &fx).await?;
    let (a, b) = if t1.activity_id() == "A" {
        (t1, t2)
    } else {
        (t2, t1)
    };
    client
        .respond_activity_task_completed()
        .task_token(a.task_token())
        .send()
        .await?;
    // The workflow completes while B is still running.
    let d2 = poll_decision(&client, &fx).await?;
    client
        .respond_decision_task_completed()
        .task_token(d2.task_token())
        .decisions(complete_workflow("early"))
        .send()
        .await?;
    let info = client
        .describe_workflow_execution()
        .domain(&fx.domain)
        .execution(exec)
        .send()
        .await?;
    assert_eq!(
        info.execution_info().map(|i| i.execution_status()),
        Some(&aws_sdk_swf::types::ExecutionStatus::Closed)
    );

    let e = service_error(
        client
            .record_activity_task_heartbeat()
            .task_token(b.task_token())
            .send()
            .await,
    );
    assert!(
        matches!(e, RecordActivityTaskHeartbeatError::UnknownResourceFault(_)),
        "{e:?}"
    );
    let e = service_error(
        client
            .respond_activity_task_completed()
            .task_token(b.task_token())
            .send()
            .await,
    );
    assert!(
        matches!(
            e,
            RespondActivityTaskCompletedError::UnknownResourceFault(_)
        ),
        "{e:?}"
    );
    let e = service_error(
        client
            .respond_decision_task_completed()
            .task_token(d2.task_token())
            .send()
            .await,
    );
    assert!(
        matches!(
            e,
            RespondDecisionTaskCompletedError::UnknownResourceFault(_)
        ),
        "{e:?}"
    );
    Ok(())
}
