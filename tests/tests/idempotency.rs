//! Calls an AWS SDK sends again (one `amz-sdk-invocation-id` for every attempt of one call) are
//! applied at most once, through the real swfd: a second attempt of a StartWorkflowExecution gets the
//! first one's run instead of starting another or failing, a second attempt of a signal does not
//! signal twice; another invocation id, another body or no id at all is another call, answered as
//! AWS answers it. (What makes this matter: an attempt held up in a partition can arrive after the
//! SDK's next attempt succeeded and the run closed, and would then start a second run; the chaos
//! campaign's `indeterminate-consistent` checker found it, seeds 1024 and 1029 of 2026-11-30.)

use anyhow::Result;
use aws_sdk_swf::types::{EventType, WorkflowExecution};
use serde_json::{json, Value};
use swf_e2e::{full_history, setup_domain, signed_post_with, Swfd};

const PREFIX: &str = "SimpleWorkflowService.";

/// One call with `amz-sdk-invocation-id: invocation` (none when `None`): (status, body).
async fn call(
    node: &Swfd,
    action: &str,
    body: &Value,
    invocation: Option<&str>,
) -> Result<(u16, Value)> {
    let extra: Vec<(&str, &str)> = invocation
        .map(|id| ("amz-sdk-invocation-id", id))
        .into_iter()
        .collect();
    let resp = signed_post_with(
        node.http(),
        &node.endpoint(),
        &format!("{PREFIX}{action}"),
        body.to_string().into_bytes(),
        &extra,
    )
    .await?;
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await?;
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

#[tokio::test]
async fn a_call_sent_again_by_its_sdk_applies_once() -> Result<()> {
    let node = Swfd::start().await?;
    // A new cluster moves to the newest apply version (which de-duplicates by invocation id) as soon
    // as its leader has asked its members: at once, on one node.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let status = node.cluster_status().await?;
        if status["apply_version"] == status["max_apply_version"] {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "apply version not raised"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let client = node.client();
    let fx = setup_domain(&client, "retries").await?;
    let start = json!({"domain": "retries", "workflowId": "w1",
        "workflowType": {"name": "wf", "version": "1"},
        "taskList": {"name": fx.decision_list}, "input": "once"});

    // The SDK's second attempt of one start: the first attempt's run, not a fault.
    let (status, first) = call(&node, "StartWorkflowExecution", &start, Some("inv-1")).await?;
    assert_eq!(status, 200, "{first}");
    let run_id = first["runId"].as_str().expect("runId").to_string();
    let (status, again) = call(&node, "StartWorkflowExecution", &start, Some("inv-1")).await?;
    assert_eq!((status, &again), (200, &first));

    // Another call for the same workflow id is refused as AWS refuses it: another invocation id,
    // the same invocation id with another body, or none at all.
    let other_body = {
        let mut b = start.clone();
        b["input"] = json!("twice");
        b
    };
    for (body, invocation) in [
        (&start, Some("inv-2")),
        (&other_body, Some("inv-1")),
        (&start, None),
    ] {
        let (status, out) = call(&node, "StartWorkflowExecution", body, invocation).await?;
        assert_eq!(status, 400, "{invocation:?}: {out}");
        assert_eq!(
            out["__type"], "com.amazonaws.swf.base.model#WorkflowExecutionAlreadyStartedFault",
            "{invocation:?}: {out}"
        );
    }

    // A signal sent twice by its SDK is one signal; the same signal as another call is another.
    let signal = json!({"domain": "retries", "workflowId": "w1", "signalName": "go",
        "input": "s"});
    for invocation in ["sig-1", "sig-1", "sig-2"] {
        let (status, out) =
            call(&node, "SignalWorkflowExecution", &signal, Some(invocation)).await?;
        assert_eq!(status, 200, "{out}");
    }
    let execution = WorkflowExecution::builder()
        .workflow_id("w1")
        .run_id(run_id)
        .build()?;
    let history = full_history(&client, "retries", &execution).await?;
    let signals = history
        .iter()
        .filter(|e| e.event_type == EventType::WorkflowExecutionSignaled)
        .count();
    assert_eq!(signals, 2, "sig-1 once, sig-2 once");
    Ok(())
}
