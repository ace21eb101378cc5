//! History paging: GetWorkflowExecutionHistory with maximumPageSize 2 forward and in reverse, and a
//! paged PollForDecisionTask whose every page belongs to the same decision task (same taskToken).

use aws_sdk_swf::types::WorkflowExecution;
use aws_sdk_swf::Client;
use swf_e2e::{
    complete_workflow, full_history, poll_activity, poll_decision, schedule_activity, setup_domain,
    start_execution, Fixture, Swfd,
};

/// Runs the one-activity workflow to completion (11 events).
async fn completed_workflow(client: &Client, fx: &Fixture) -> anyhow::Result<WorkflowExecution> {
    let exec = start_execution(client, fx, "paged", "in").await?;
    let d1 = poll_decision(client, fx).await?;
    client
        .respond_decision_task_completed()
        .task_token(d1.task_token())
        .decisions(schedule_activity(fx, "a", "in"))
        .send()
        .await?;
    let a = poll_activity(client, fx).await?;
    client
        .respond_activity_task_completed()
        .task_token(a.task_token())
        .result("out")
        .send()
        .await?;
    let d2 = poll_decision(client, fx).await?;
    client
        .respond_decision_task_completed()
        .task_token(d2.task_token())
        .decisions(complete_workflow("out"))
        .send()
        .await?;
    Ok(exec)
}

/// Pages of event ids from GetWorkflowExecutionHistory with `maximumPageSize` 2.
async fn history_pages(
    client: &Client,
    domain: &str,
    exec: &WorkflowExecution,
    reverse: bool,
) -> anyhow::Result<Vec<Vec<i64>>> {
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = client
            .get_workflow_execution_history()
            .domain(domain)
            .execution(exec.clone())
            .maximum_page_size(2)
            .reverse_order(reverse)
            .set_next_page_token(token.clone())
            .send()
            .await?;
        pages.push(out.events().iter().map(|e| e.event_id()).collect());
        anyhow::ensure!(pages.len() <= 20, "paging does not end: {pages:?}");
        match out.next_page_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(pages),
        }
    }
}

#[tokio::test]
async fn get_history_pages_forward_and_reverse() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let client = swfd.client();
    let fx = setup_domain(&client, "paging").await?;
    let exec = completed_workflow(&client, &fx).await?;
    assert_eq!(full_history(&client, &fx.domain, &exec).await?.len(), 11);

    let forward = history_pages(&client, &fx.domain, &exec, false).await?;
    assert_eq!(
        forward,
        [
            vec![1, 2],
            vec![3, 4],
            vec![5, 6],
            vec![7, 8],
            vec![9, 10],
            vec![11]
        ]
    );
    let reverse = history_pages(&client, &fx.domain, &exec, true).await?;
    assert_eq!(
        reverse,
        [
            vec![11, 10],
            vec![9, 8],
            vec![7, 6],
            vec![5, 4],
            vec![3, 2],
            vec![1]
        ]
    );
    Ok(())
}

#[tokio::test]
async fn paged_decision_task_keeps_its_token() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let client = swfd.client();
    let fx = setup_domain(&client, "paged-poll").await?;
    let exec = start_execution(&client, &fx, "paged-poll", "in").await?;
    let d1 = poll_decision(&client, &fx).await?;
    client
        .respond_decision_task_completed()
        .task_token(d1.task_token())
        .decisions(schedule_activity(&fx, "a", "in"))
        .send()
        .await?;
    let a = poll_activity(&client, &fx).await?;
    client
        .respond_activity_task_completed()
        .task_token(a.task_token())
        .result("out")
        .send()
        .await?;

    // The second decision task has 9 events: pages of 2 in reverse order, all with one token.
    let mut ids: Vec<Vec<i64>> = Vec::new();
    let mut token: Option<String> = None;
    let mut task_token: Option<String> = None;
    loop {
        let page = client
            .poll_for_decision_task()
            .domain(&fx.domain)
            .task_list(fx.decision_task_list())
            .maximum_page_size(2)
            .reverse_order(true)
            .set_next_page_token(token.clone())
            .send()
            .await?;
        assert!(
            !page.task_token().is_empty(),
            "page {} has no task",
            ids.len() + 1
        );
        match &task_token {
            None => task_token = Some(page.task_token().to_string()),
            Some(t) => assert_eq!(
                page.task_token(),
                t,
                "page {} changed the token",
                ids.len() + 1
            ),
        }
        assert_eq!(page.workflow_execution(), Some(&exec));
        assert_eq!(page.started_event_id(), 9);
        assert_eq!(page.previous_started_event_id(), 3);
        ids.push(page.events().iter().map(|e| e.event_id()).collect());
        anyhow::ensure!(ids.len() <= 20, "paging does not end: {ids:?}");
        match page.next_page_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    assert_eq!(
        ids,
        [vec![9, 8], vec![7, 6], vec![5, 4], vec![3, 2], vec![1]]
    );

    // Paging started no other decision task: the token completes the workflow.
    client
        .respond_decision_task_completed()
        .task_token(task_token.expect("at least one page"))
        .decisions(complete_workflow("out"))
        .send()
        .await?;
    let events = full_history(&client, &fx.domain, &exec).await?;
    assert_eq!(events.len(), 11);
    Ok(())
}

#[tokio::test]
async fn paged_decision_task_forward() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let client = swfd.client();
    let fx = setup_domain(&client, "paged-fwd").await?;
    start_execution(&client, &fx, "fwd", "").await?;

    let first = client
        .poll_for_decision_task()
        .domain(&fx.domain)
        .task_list(fx.decision_task_list())
        .maximum_page_size(2)
        .send()
        .await?;
    let ids: Vec<i64> = first.events().iter().map(|e| e.event_id()).collect();
    assert_eq!(ids, [1, 2]);
    let next = first.next_page_token().expect("a second page");
    let second = client
        .poll_for_decision_task()
        .domain(&fx.domain)
        .task_list(fx.decision_task_list())
        .maximum_page_size(2)
        .next_page_token(next)
        .send()
        .await?;
    assert_eq!(second.task_token(), first.task_token());
    let ids: Vec<i64> = second.events().iter().map(|e| e.event_id()).collect();
    assert_eq!(ids, [3]);
    assert!(second.next_page_token().is_none_or(str::is_empty));
    Ok(())
}
