//! Child workflows, continue-as-new and decisions that reach other runs, through aws-sdk-swf: a child
//! started by a decision whose completion reaches the parent, each child policy when the parent closes,
//! continue-as-new handing the workflow id to a new run, and external signal / cancel requests.

use aws_sdk_swf::types::{
    ChildPolicy, CloseStatus, ContinueAsNewWorkflowExecutionDecisionAttributes, Decision,
    DecisionType, EventType, RequestCancelExternalWorkflowExecutionDecisionAttributes,
    SignalExternalWorkflowExecutionDecisionAttributes,
    StartChildWorkflowExecutionDecisionAttributes, WorkflowExecution,
};
use aws_sdk_swf::Client;
use swf_e2e::{
    complete_workflow, full_history, poll_decision, setup_domain, start_execution, Fixture, Swfd,
};

fn start_child(fx: &Fixture, wid: &str) -> Decision {
    Decision::builder()
        .decision_type(DecisionType::StartChildWorkflowExecution)
        .start_child_workflow_execution_decision_attributes(
            StartChildWorkflowExecutionDecisionAttributes::builder()
                .workflow_type(fx.workflow_type.clone())
                .workflow_id(wid)
                .input("for the child")
                .build()
                .expect("attributes"),
        )
        .build()
        .expect("decision")
}

/// Answers the next decision task (whichever run it is for) with `decisions`; returns its run.
async fn decide(
    c: &Client,
    fx: &Fixture,
    decisions: Vec<Decision>,
) -> anyhow::Result<WorkflowExecution> {
    let task = poll_decision(c, fx).await?;
    anyhow::ensure!(!task.task_token().is_empty(), "no decision task");
    let run = task.workflow_execution().cloned().expect("execution");
    c.respond_decision_task_completed()
        .task_token(task.task_token())
        .set_decisions(Some(decisions))
        .send()
        .await?;
    Ok(run)
}

async fn describe_status(
    c: &Client,
    fx: &Fixture,
    run: &WorkflowExecution,
) -> anyhow::Result<(Option<CloseStatus>, bool)> {
    let d = c
        .describe_workflow_execution()
        .domain(&fx.domain)
        .execution(run.clone())
        .send()
        .await?;
    let info = d.execution_info().expect("info");
    Ok((info.close_status().cloned(), info.cancel_requested()))
}

#[tokio::test]
async fn child_completes_and_the_parent_hears() -> anyhow::Result<()> {
    let swfd = Swfd::start_with(&["--long-poll-secs", "2"]).await?;
    let c = swfd.client();
    let fx = setup_domain(&c, "kids").await?;
    let parent = start_execution(&c, &fx, "parent", "").await?;
    decide(&c, &fx, vec![start_child(&fx, "child")]).await?;

    // Both the child's first task and the parent's (ChildWorkflowExecutionStarted) are queued; answer
    // the child's with completion and the parent's with nothing until the child is done.
    let mut child_done = false;
    for _ in 0..4 {
        let task = poll_decision(&c, &fx).await?;
        let run = task.workflow_execution().cloned().expect("execution");
        let decisions = if run.workflow_id() == "child" {
            vec![complete_workflow("child result")]
        } else {
            vec![]
        };
        child_done |= run.workflow_id() == "child";
        c.respond_decision_task_completed()
            .task_token(task.task_token())
            .set_decisions(Some(decisions))
            .send()
            .await?;
        let history = full_history(&c, "kids", &parent).await?;
        if child_done
            && history
                .iter()
                .any(|e| e.event_type() == &EventType::ChildWorkflowExecutionCompleted)
        {
            let done = history
                .iter()
                .find_map(|e| e.child_workflow_execution_completed_event_attributes())
                .expect("attributes");
            assert_eq!(done.result(), Some("child result"));
            assert_eq!(
                done.workflow_execution().map(|e| e.workflow_id()),
                Some("child")
            );
            let child_history =
                full_history(&c, "kids", done.workflow_execution().expect("child")).await?;
            let started = child_history[0]
                .workflow_execution_started_event_attributes()
                .expect("started");
            assert_eq!(
                started.parent_workflow_execution().map(|p| p.run_id()),
                Some(parent.run_id())
            );
            assert_eq!(started.input(), Some("for the child"));
            return Ok(());
        }
    }
    anyhow::bail!("the parent never heard of its child's completion")
}

#[tokio::test]
async fn child_policies() -> anyhow::Result<()> {
    let swfd = Swfd::start_with(&["--long-poll-secs", "2"]).await?;
    let c = swfd.client();
    let fx = setup_domain(&c, "policy").await?;
    for policy in [
        ChildPolicy::Terminate,
        ChildPolicy::RequestCancel,
        ChildPolicy::Abandon,
    ] {
        let pid = format!("parent-{}", policy.as_str());
        let cid = format!("child-{}", policy.as_str());
        c.start_workflow_execution()
            .domain("policy")
            .workflow_id(&pid)
            .workflow_type(fx.workflow_type.clone())
            .child_policy(policy.clone())
            .send()
            .await?;
        decide(&c, &fx, vec![start_child(&fx, &cid)]).await?;
        // Close the parent at its next task (the child's first task may come first: leave it pending).
        loop {
            let task = poll_decision(&c, &fx).await?;
            let run = task.workflow_execution().cloned().expect("execution");
            if run.workflow_id() == pid {
                c.respond_decision_task_completed()
                    .task_token(task.task_token())
                    .decisions(complete_workflow("bye"))
                    .send()
                    .await?;
                break;
            }
            c.respond_decision_task_completed()
                .task_token(task.task_token())
                .send()
                .await?;
        }
        let child_run = c
            .list_open_workflow_executions()
            .domain("policy")
            .start_time_filter(
                aws_sdk_swf::types::ExecutionTimeFilter::builder()
                    .oldest_date(aws_sdk_swf::primitives::DateTime::from_secs(0))
                    .build()?,
            )
            .execution_filter(
                aws_sdk_swf::types::WorkflowExecutionFilter::builder()
                    .workflow_id(&cid)
                    .build()?,
            )
            .send()
            .await?
            .execution_infos()
            .first()
            .and_then(|i| i.execution().cloned());
        match policy {
            ChildPolicy::Terminate => assert!(child_run.is_none(), "the child was terminated"),
            ChildPolicy::RequestCancel => {
                let run = child_run.expect("still open");
                assert_eq!(describe_status(&c, &fx, &run).await?, (None, true));
                c.terminate_workflow_execution()
                    .domain("policy")
                    .workflow_id(&cid)
                    .send()
                    .await?;
            }
            _ => {
                let run = child_run.expect("still open");
                assert_eq!(describe_status(&c, &fx, &run).await?, (None, false));
                c.terminate_workflow_execution()
                    .domain("policy")
                    .workflow_id(&cid)
                    .send()
                    .await?;
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn continue_as_new_and_external_decisions() -> anyhow::Result<()> {
    let swfd = Swfd::start_with(&["--long-poll-secs", "2"]).await?;
    let c = swfd.client();
    let fx = setup_domain(&c, "can").await?;
    let first = start_execution(&c, &fx, "looping", "").await?;
    let can = Decision::builder()
        .decision_type(DecisionType::ContinueAsNewWorkflowExecution)
        .continue_as_new_workflow_execution_decision_attributes(
            ContinueAsNewWorkflowExecutionDecisionAttributes::builder()
                .input("round 2")
                .build(),
        )
        .build()?;
    decide(&c, &fx, vec![can]).await?;
    let (status, _) = describe_status(&c, &fx, &first).await?;
    assert_eq!(status, Some(CloseStatus::ContinuedAsNew));
    let history = full_history(&c, "can", &first).await?;
    let continued = history
        .last()
        .and_then(|e| e.workflow_execution_continued_as_new_event_attributes())
        .expect("continued");
    let second = WorkflowExecution::builder()
        .workflow_id("looping")
        .run_id(continued.new_execution_run_id())
        .build()?;
    let started = full_history(&c, "can", &second).await?;
    let attrs = started[0]
        .workflow_execution_started_event_attributes()
        .expect("started");
    assert_eq!(
        (attrs.continued_execution_run_id(), attrs.input()),
        (Some(first.run_id()), Some("round 2"))
    );

    // The new run signals and cancels another execution.
    let other = start_execution(&c, &fx, "other", "").await?;
    let signal = Decision::builder()
        .decision_type(DecisionType::SignalExternalWorkflowExecution)
        .signal_external_workflow_execution_decision_attributes(
            SignalExternalWorkflowExecutionDecisionAttributes::builder()
                .workflow_id("other")
                .signal_name("ping")
                .input("hi")
                .build()?,
        )
        .build()?;
    let cancel = Decision::builder()
        .decision_type(DecisionType::RequestCancelExternalWorkflowExecution)
        .request_cancel_external_workflow_execution_decision_attributes(
            RequestCancelExternalWorkflowExecutionDecisionAttributes::builder()
                .workflow_id("other")
                .build()?,
        )
        .build()?;
    loop {
        let task = poll_decision(&c, &fx).await?;
        let run = task.workflow_execution().cloned().expect("execution");
        let decisions = if run.workflow_id() == "looping" {
            vec![signal.clone(), cancel.clone()]
        } else {
            vec![]
        };
        c.respond_decision_task_completed()
            .task_token(task.task_token())
            .set_decisions(Some(decisions.clone()))
            .send()
            .await?;
        if !decisions.is_empty() {
            break;
        }
    }
    let other_history = full_history(&c, "can", &other).await?;
    let signaled = other_history
        .iter()
        .find_map(|e| e.workflow_execution_signaled_event_attributes())
        .expect("signaled");
    assert_eq!(
        (signaled.signal_name(), signaled.input()),
        ("ping", Some("hi"))
    );
    assert_eq!(
        signaled.external_workflow_execution().map(|e| e.run_id()),
        Some(second.run_id())
    );
    assert_eq!(describe_status(&c, &fx, &other).await?, (None, true));
    let second_history = full_history(&c, "can", &second).await?;
    for t in [
        EventType::ExternalWorkflowExecutionSignaled,
        EventType::ExternalWorkflowExecutionCancelRequested,
    ] {
        assert!(second_history.iter().any(|e| e.event_type() == &t), "{t:?}");
    }
    Ok(())
}
