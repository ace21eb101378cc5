//! Step Functions faults through the real wire: the model's error shapes, AWS's `__type` namespaces
//! and message texts, model validation, long polls answered empty, and the API carried apart from
//! colliding action names.
//!
//! AWS writes Step Functions' service errors as `com.amazonaws.swf.service.v2.model#<Shape>` and
//! model violations as `com.amazon.coral.validate#ValidationException`: AWS's generated SFN clients
//! (aws-sdk-js-v3 `client-sfn`, `protocols/Aws_json1_0`) match `"com.amazonaws.swf.service.v2.model#InvalidArn"`,
//! and a test suite recorded against AWS (Fujitsu's Prolog `aws_api_step_functions` tests) reads
//! `{"__type": "com.amazonaws.swf.service.v2.model#InvalidToken", "message": "Invalid Token: 'Invalid token'"}`
//! and `com.amazon.coral.validate#ValidationException` for a SendTaskSuccess without `output`.

mod sfn_support;

use serde_json::json;
use sfn_support::*;
use swf_e2e::Swfd;

#[tokio::test]
async fn faults_as_aws_writes_them() -> anyhow::Result<()> {
    let swfd = Swfd::start_with(&["--long-poll-secs", "1"]).await?;
    let client = sfn_client(&swfd);

    let (status, body) = raw(
        &swfd,
        "SendTaskHeartbeat",
        r#"{"taskToken":"FakeTaskToken"}"#,
    )
    .await?;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"__type": "com.amazonaws.swf.service.v2.model#InvalidToken", "message": "Invalid Token: 'Invalid token'"})
    );
    let (status, body) = raw(&swfd, "SendTaskSuccess", r#"{"taskToken":"x"}"#).await?;
    assert_eq!(status, 400);
    assert_eq!(
        body["__type"],
        "com.amazon.coral.validate#ValidationException"
    );
    assert_eq!(
        body["message"],
        "1 validation error detected: Value null at 'output' failed to satisfy constraint: Member must not be null"
    );
    // The model's patterns are enforced too (TraceHeader is `\p{ASCII}*`).
    let (status, body) = raw(
        &swfd,
        "StartExecution",
        &json!({"stateMachineArn": format!("{ARN_PREFIX}stateMachine:m"), "traceHeader": "caf\u{e9}"})
            .to_string(),
    )
    .await?;
    assert_eq!(status, 400);
    assert_eq!(
        body["__type"],
        "com.amazon.coral.validate#ValidationException"
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("regular expression pattern"),
        "{body}"
    );
    let (status, body) = raw(&swfd, "NoSuchAction", "{}").await?;
    assert_eq!(
        (
            status,
            body["__type"]
                .as_str()
                .map(|t| t.ends_with("UnknownOperationException"))
        ),
        (400, Some(true))
    );

    let missing_act = format!("{ARN_PREFIX}activity:nope");
    let (status, body) = raw(
        &swfd,
        "GetActivityTask",
        &json!({"activityArn": missing_act}).to_string(),
    )
    .await?;
    assert_eq!(status, 400);
    assert_eq!(
        body["__type"],
        "com.amazonaws.swf.service.v2.model#ActivityDoesNotExist"
    );
    assert_eq!(
        body["message"],
        format!("Activity Does Not Exist: '{missing_act}'")
    );

    assert_eq!(
        code(client.create_activity().name("has space").send().await),
        "InvalidName"
    );
    assert_eq!(
        code(
            client
                .describe_activity()
                .activity_arn("not-an-arn")
                .send()
                .await
        ),
        "InvalidArn"
    );
    let lambda = json!({"StartAt": "L", "States": {"L": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:000000000000:function:f", "End": true}}});
    let r = client
        .create_state_machine()
        .name("l")
        .definition(lambda.to_string())
        .role_arn(ROLE)
        .send()
        .await;
    let err = r.unwrap_err().into_service_error();
    assert!(err.is_invalid_definition(), "{err:?}");
    let msg = aws_sdk_sfn::error::ProvideErrorMetadata::message(&err)
        .unwrap_or_default()
        .to_string();
    assert!(
        msg.starts_with("Invalid State Machine Definition: '"),
        "{msg}"
    );
    assert!(
        msg.contains("arn:aws:lambda:us-east-1:000000000000:function:f"),
        "{msg}"
    );

    let missing_sm = format!("{ARN_PREFIX}stateMachine:nope");
    let r = client
        .start_execution()
        .state_machine_arn(&missing_sm)
        .send()
        .await;
    assert_eq!(code(r), "StateMachineDoesNotExist");
    let missing_exec = format!("{ARN_PREFIX}execution:nope:x");
    let (_, body) = raw(
        &swfd,
        "DescribeExecution",
        &json!({"executionArn": missing_exec}).to_string(),
    )
    .await?;
    assert_eq!(
        body["message"],
        format!("Execution Does Not Exist: '{missing_exec}'")
    );

    // An empty long poll: `{}`, no taskToken (here after 1 s; by default before clients' 60 s).
    let act = activity(&client, "idle").await?;
    let (status, body) = raw(
        &swfd,
        "GetActivityTask",
        &json!({"activityArn": act}).to_string(),
    )
    .await?;
    assert_eq!((status, body), (200, json!({})));

    // Tasks: garbage output, closed tasks, input that is not JSON, a name taken by a closed run.
    let def =
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": act, "End": true}}});
    let sm = machine(&client, "faults", &def).await?;
    let r = client
        .start_execution()
        .state_machine_arn(&sm)
        .input("{not json")
        .send()
        .await;
    assert_eq!(code(r), "InvalidExecutionInput");
    let exec = start(&client, &sm, "e", "{}").await?;
    // Same name, same input while running: the same execution; other input: ExecutionAlreadyExists.
    let again = client
        .start_execution()
        .state_machine_arn(&sm)
        .name("e")
        .input("{}")
        .send()
        .await?;
    assert_eq!(again.execution_arn(), exec);
    let r = client
        .start_execution()
        .state_machine_arn(&sm)
        .name("e")
        .input("[]")
        .send()
        .await;
    assert_eq!(code(r), "ExecutionAlreadyExists");
    let (token, _) = take(&client, &act).await?;
    let r = client
        .send_task_success()
        .task_token(&token)
        .output("{nope")
        .send()
        .await;
    assert_eq!(code(r), "InvalidOutput");
    succeed(&client, &token, "{}").await?;
    let r = client
        .send_task_success()
        .task_token(&token)
        .output("{}")
        .send()
        .await;
    assert_eq!(code(r), "TaskDoesNotExist");
    let r = client.send_task_heartbeat().task_token(&token).send().await;
    assert_eq!(code(r), "TaskDoesNotExist");
    let r = client
        .start_execution()
        .state_machine_arn(&sm)
        .name("e")
        .input("{}")
        .send()
        .await;
    assert_eq!(code(r), "ExecutionAlreadyExists");
    // A default name is a UUID stamped by the leader.
    let unnamed = client
        .start_execution()
        .state_machine_arn(&sm)
        .send()
        .await?;
    let name = unnamed
        .execution_arn()
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_string();
    assert_eq!((name.len(), name.matches('-').count()), (36, 4), "{name}");
    Ok(())
}

#[tokio::test]
async fn colliding_action_names_go_to_their_own_api() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let client = sfn_client(&swfd);
    let act = activity(&client, "tagged").await?;
    let body = json!({"resourceArn": act, "tags": [{"key": "k", "value": "v"}]}).to_string();
    let (status, _) = raw(&swfd, "TagResource", &body).await?;
    assert_eq!(status, 200);
    // The same action name through SWF's target is SWF's TagResource, which knows no such resource
    // (and validates SWF's shape: `tags` of SWF are `{key, value}` too, so the body passes the model).
    let (status, swf) = swfd.raw_call("TagResource", body.clone()).await?;
    assert_eq!(status, 400, "{swf}");
    assert!(
        swf["__type"]
            .as_str()
            .unwrap_or_default()
            .starts_with("com.amazonaws.swf.base.model#"),
        "{swf}"
    );
    let (status, listed) = raw(
        &swfd,
        "ListTagsForResource",
        &json!({"resourceArn": act}).to_string(),
    )
    .await?;
    assert_eq!(
        (status, listed),
        (200, json!({"tags": [{"key": "k", "value": "v"}]}))
    );
    Ok(())
}

/// A Task state whose activity was deleted (or never created) when the state is entered: AWS fails the
/// execution at once, without ActivityScheduled and without an `ActivityScheduleFailed` event. The
/// history recorded against AWS (localstack's
/// tests/aws/services/stepfunctions/v2/activities/test_activities.snapshot.json,
/// `test_activity_task_on_deleted`, marked `aws.validated`) is ExecutionStarted, TaskStateEntered
/// (`previousEventId` 0), ExecutionFailed (`previousEventId` 2) with `error: "States.Runtime"` and
/// `cause: "An error occurred while executing the state 'ActivityTask' (entered at the event id #2).
/// The activity <activity arn> does not exist."`.
#[tokio::test]
async fn a_task_on_a_deleted_activity_fails_the_execution_as_aws_does() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let c = sfn_client(&swfd);
    let act = activity(&c, "deleted").await?;
    c.delete_activity().activity_arn(&act).send().await?;
    let def = json!({"StartAt": "ActivityTask", "States": {
        "ActivityTask": {"Type": "Task", "Resource": act, "End": true,
            "Retry": [{"ErrorEquals": ["States.ALL"]}]}}});
    let sm = machine(&c, "on-deleted", &def).await?;
    let exec = start(&c, &sm, "e", r#"{"Value1":"Hello","Value2":"World"}"#).await?;
    assert_eq!(
        wait_closed(&c, &exec).await?,
        aws_sdk_sfn::types::ExecutionStatus::Failed
    );
    let events = history(&c, &exec).await?;
    assert_eq!(
        types(&events),
        ["ExecutionStarted", "TaskStateEntered", "ExecutionFailed"]
    );
    let failed = events[2]
        .execution_failed_event_details()
        .expect("executionFailedEventDetails");
    let cause = format!("An error occurred while executing the state 'ActivityTask' (entered at the event id #2). The activity {act} does not exist.");
    assert_eq!(
        (failed.error(), failed.cause()),
        (Some("States.Runtime"), Some(cause.as_str()))
    );
    let d = c.describe_execution().execution_arn(&exec).send().await?;
    assert_eq!(
        (d.error(), d.cause()),
        (Some("States.Runtime"), Some(cause.as_str()))
    );
    // An activity never created fails the same way; created again, the task is scheduled.
    let never = format!("{ARN_PREFIX}activity:never");
    let sm2 = machine(
        &c,
        "never",
        &json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": never, "End": true}}}),
    )
    .await?;
    let e2 = start(&c, &sm2, "e", "{}").await?;
    assert_eq!(
        wait_closed(&c, &e2).await?,
        aws_sdk_sfn::types::ExecutionStatus::Failed
    );
    activity(&c, "never").await?;
    let e3 = start(&c, &sm2, "e3", "{}").await?;
    let (token, _) = take(&c, &never).await?;
    c.send_task_success()
        .task_token(token)
        .output("{}")
        .send()
        .await?;
    assert_eq!(
        wait_closed(&c, &e3).await?,
        aws_sdk_sfn::types::ExecutionStatus::Succeeded
    );
    Ok(())
}

/// The quotas, configured small: activities, state machines and open executions are refused past
/// them with the model's error shapes (`ActivityLimitExceeded`, `StateMachineLimitExceeded`,
/// `ExecutionLimitExceeded`, AWS's `__type` namespace; the message is the model's description of
/// the error), idempotent calls still answer, and a delete or a stop makes room again. The quotas
/// survive a restart (they are counted in the replicated state).
#[tokio::test]
async fn quotas_as_configured_with_the_model_error_shapes() -> anyhow::Result<()> {
    let mut swfd = Swfd::start_with(&[
        "--sfn-max-activities",
        "2",
        "--sfn-max-state-machines",
        "1",
        "--sfn-max-open-executions",
        "2",
    ])
    .await?;
    let c = sfn_client(&swfd);
    let act = activity(&c, "a1").await?;
    activity(&c, "a2").await?;
    let (status, body) = raw(&swfd, "CreateActivity", r#"{"name":"a3"}"#).await?;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"__type": "com.amazonaws.swf.service.v2.model#ActivityLimitExceeded",
            "message": "The maximum number of activities has been reached. Existing activities must be deleted before a new activity can be created."})
    );
    assert_eq!(activity(&c, "a2").await.map(|_| ()).ok(), Some(()));
    c.delete_activity()
        .activity_arn(format!("{ARN_PREFIX}activity:a2"))
        .send()
        .await?;
    activity(&c, "a3").await?;
    assert_eq!(
        code(c.create_activity().name("a4").send().await),
        "ActivityLimitExceeded"
    );

    let def =
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": act, "End": true}}});
    let sm = machine(&c, "m1", &def).await?;
    let (status, body) = raw(
        &swfd,
        "CreateStateMachine",
        &json!({"name": "m2", "definition": def.to_string(), "roleArn": ROLE}).to_string(),
    )
    .await?;
    assert_eq!(
        (status, body["__type"].as_str()),
        (
            400,
            Some("com.amazonaws.swf.service.v2.model#StateMachineLimitExceeded")
        )
    );
    assert_eq!(machine(&c, "m1", &def).await?, sm);

    let e1 = start(&c, &sm, "e1", "{}").await?;
    start(&c, &sm, "e2", "{}").await?;
    let (status, body) = raw(
        &swfd,
        "StartExecution",
        &json!({"stateMachineArn": sm, "name": "e3"}).to_string(),
    )
    .await?;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"__type": "com.amazonaws.swf.service.v2.model#ExecutionLimitExceeded",
            "message": "The maximum number of running executions has been reached. Running executions must end or be stopped before a new execution can be started."})
    );
    // The same start again is the same execution, not a new one.
    assert_eq!(start(&c, &sm, "e1", "{}").await?, e1);

    // Counted in the replicated state: still full after a restart.
    swfd.restart().await?;
    let c = sfn_client(&swfd);
    assert_eq!(
        code(
            c.start_execution()
                .state_machine_arn(&sm)
                .name("e3")
                .send()
                .await
        ),
        "ExecutionLimitExceeded"
    );
    c.stop_execution().execution_arn(&e1).send().await?;
    start(&c, &sm, "e3", "{}").await?;
    Ok(())
}
