//! Visibility through aws-sdk-swf: List/Count Open/Closed WorkflowExecutions with time windows, each
//! filter, ordering and paging, as executions open and close.

use aws_sdk_swf::error::ProvideErrorMetadata;
use aws_sdk_swf::primitives::DateTime;
use aws_sdk_swf::types::{
    CloseStatus, CloseStatusFilter, ExecutionTimeFilter, TagFilter, WorkflowExecutionFilter,
    WorkflowTypeFilter,
};
use swf_e2e::{complete_workflow, poll_decision, setup_domain, Swfd};

fn since_epoch() -> ExecutionTimeFilter {
    ExecutionTimeFilter::builder()
        .oldest_date(DateTime::from_secs(0))
        .build()
        .expect("oldest date")
}

#[tokio::test]
async fn list_and_count_open_and_closed() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let c = swfd.client();
    let fx = setup_domain(&c, "vis").await?;
    for (id, tag) in [("w1", "red"), ("w2", "blue"), ("w3", "red")] {
        c.start_workflow_execution()
            .domain("vis")
            .workflow_id(id)
            .workflow_type(fx.workflow_type.clone())
            .tag_list(tag)
            .send()
            .await?;
    }
    let open_ids = |out: &aws_sdk_swf::operation::list_open_workflow_executions::ListOpenWorkflowExecutionsOutput| {
        out.execution_infos().iter().map(|i| i.execution().map(|e| e.workflow_id().to_string()).unwrap_or_default()).collect::<Vec<_>>()
    };
    let all = c
        .list_open_workflow_executions()
        .domain("vis")
        .start_time_filter(since_epoch())
        .send()
        .await?;
    assert_eq!(open_ids(&all), ["w3", "w2", "w1"], "newest first");
    let reversed = c
        .list_open_workflow_executions()
        .domain("vis")
        .start_time_filter(since_epoch())
        .reverse_order(true)
        .send()
        .await?;
    assert_eq!(open_ids(&reversed), ["w1", "w2", "w3"]);
    let red = c
        .list_open_workflow_executions()
        .domain("vis")
        .start_time_filter(since_epoch())
        .tag_filter(TagFilter::builder().tag("red").build()?)
        .send()
        .await?;
    assert_eq!(open_ids(&red), ["w3", "w1"]);
    let info = &red.execution_infos()[0];
    assert_eq!(info.tag_list(), ["red"]);
    let by_type = c
        .list_open_workflow_executions()
        .domain("vis")
        .start_time_filter(since_epoch())
        .type_filter(
            WorkflowTypeFilter::builder()
                .name("wf")
                .version("1")
                .build()?,
        )
        .send()
        .await?;
    assert_eq!(by_type.execution_infos().len(), 3);

    // Paging one at a time walks all three, newest first.
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = c
            .list_open_workflow_executions()
            .domain("vis")
            .start_time_filter(since_epoch())
            .maximum_page_size(1)
            .set_next_page_token(token)
            .send()
            .await?;
        seen.extend(open_ids(&page));
        token = page.next_page_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen, ["w3", "w2", "w1"]);

    // Close one: it leaves the open lists and appears in the closed ones.
    let task = poll_decision(&c, &fx).await?;
    let closed_id = task
        .workflow_execution()
        .map(|e| e.workflow_id().to_string())
        .expect("execution");
    c.respond_decision_task_completed()
        .task_token(task.task_token())
        .decisions(complete_workflow("ok"))
        .send()
        .await?;
    let open_count = c
        .count_open_workflow_executions()
        .domain("vis")
        .start_time_filter(since_epoch())
        .send()
        .await?;
    assert_eq!((open_count.count(), open_count.truncated()), (2, false));
    let closed = c
        .list_closed_workflow_executions()
        .domain("vis")
        .close_time_filter(since_epoch())
        .send()
        .await?;
    let infos = closed.execution_infos();
    assert_eq!(infos.len(), 1);
    assert_eq!(
        infos[0].execution().map(|e| e.workflow_id()),
        Some(closed_id.as_str())
    );
    assert_eq!(infos[0].close_status(), Some(&CloseStatus::Completed));
    assert!(infos[0].close_timestamp().is_some());
    let completed = c
        .count_closed_workflow_executions()
        .domain("vis")
        .start_time_filter(since_epoch())
        .close_status_filter(
            CloseStatusFilter::builder()
                .status(CloseStatus::Completed)
                .build()?,
        )
        .send()
        .await?;
    assert_eq!(completed.count(), 1);
    let by_id = c
        .count_closed_workflow_executions()
        .domain("vis")
        .close_time_filter(since_epoch())
        .execution_filter(
            WorkflowExecutionFilter::builder()
                .workflow_id("nobody")
                .build()?,
        )
        .send()
        .await?;
    assert_eq!(by_id.count(), 0);

    // SWF's rules: one time filter for closed lists, at most one of the other filters.
    let both = c
        .list_closed_workflow_executions()
        .domain("vis")
        .close_time_filter(since_epoch())
        .start_time_filter(since_epoch())
        .send()
        .await;
    assert_eq!(both.unwrap_err().code(), Some("ValidationException"));
    let two_filters = c
        .list_open_workflow_executions()
        .domain("vis")
        .start_time_filter(since_epoch())
        .tag_filter(TagFilter::builder().tag("red").build()?)
        .execution_filter(
            WorkflowExecutionFilter::builder()
                .workflow_id("w1")
                .build()?,
        )
        .send()
        .await;
    assert_eq!(two_filters.unwrap_err().code(), Some("ValidationException"));
    Ok(())
}
