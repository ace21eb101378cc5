//! Domain and type lifecycle, domain tags and pending-task counts through aws-sdk-swf: deprecate,
//! undeprecate and delete with their faults and effects, TagResource / UntagResource /
//! ListTagsForResource on the domain ARN, and CountPending{Decision,Activity}Tasks.

use aws_sdk_swf::error::ProvideErrorMetadata;
use aws_sdk_swf::types::{RegistrationStatus, ResourceTag};
use swf_e2e::{poll_decision, schedule_activity, setup_domain, start_execution, Swfd};

fn code<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    r: Result<T, aws_sdk_swf::error::SdkError<E, R>>,
) -> String {
    swf_e2e::service_error(r)
        .code()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn type_and_domain_lifecycle() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let c = swfd.client();
    let fx = setup_domain(&c, "life").await?;
    let wt = fx.workflow_type.clone();
    let at = fx.activity_type.clone();

    // Delete before deprecate is refused; undeprecate of a registered type too.
    assert_eq!(
        code(
            c.delete_workflow_type()
                .domain("life")
                .workflow_type(wt.clone())
                .send()
                .await
        ),
        "TypeNotDeprecatedFault"
    );
    assert_eq!(
        code(
            c.undeprecate_activity_type()
                .domain("life")
                .activity_type(at.clone())
                .send()
                .await
        ),
        "TypeAlreadyExistsFault"
    );

    // A run started before deprecation keeps running; new starts are refused.
    let run = start_execution(&c, &fx, "before-deprecation", "").await?;
    c.deprecate_workflow_type()
        .domain("life")
        .workflow_type(wt.clone())
        .send()
        .await?;
    assert_eq!(
        code(
            c.deprecate_workflow_type()
                .domain("life")
                .workflow_type(wt.clone())
                .send()
                .await
        ),
        "TypeDeprecatedFault"
    );
    let detail = c
        .describe_workflow_type()
        .domain("life")
        .workflow_type(wt.clone())
        .send()
        .await?;
    let info = detail.type_info().expect("type info");
    assert_eq!(info.status(), &RegistrationStatus::Deprecated);
    assert!(info.deprecation_date().is_some());
    let refused = c
        .start_workflow_execution()
        .domain("life")
        .workflow_id("after-deprecation")
        .workflow_type(wt.clone())
        .send()
        .await;
    assert_eq!(code(refused), "TypeDeprecatedFault");
    let listed = c
        .list_workflow_types()
        .domain("life")
        .registration_status(RegistrationStatus::Deprecated)
        .send()
        .await?;
    assert_eq!(listed.type_infos().len(), 1);
    let listed = c
        .list_workflow_types()
        .domain("life")
        .registration_status(RegistrationStatus::Registered)
        .send()
        .await?;
    assert!(listed.type_infos().is_empty());

    // The open run still gets its decision task, and a deprecated activity type cannot be scheduled.
    c.deprecate_activity_type()
        .domain("life")
        .activity_type(at.clone())
        .send()
        .await?;
    let task = poll_decision(&c, &fx).await?;
    assert_eq!(
        task.workflow_execution().map(|e| e.run_id()),
        Some(run.run_id())
    );
    c.respond_decision_task_completed()
        .task_token(task.task_token())
        .decisions(schedule_activity(&fx, "a1", "x"))
        .send()
        .await?;
    let history = c
        .get_workflow_execution_history()
        .domain("life")
        .execution(run.clone())
        .send()
        .await?;
    let failed = history
        .events()
        .iter()
        .find_map(|e| e.schedule_activity_task_failed_event_attributes())
        .expect("ScheduleActivityTaskFailed");
    assert_eq!(failed.cause().as_str(), "ACTIVITY_TYPE_DEPRECATED");

    // Undeprecate restores; delete after deprecate removes the type.
    c.undeprecate_workflow_type()
        .domain("life")
        .workflow_type(wt.clone())
        .send()
        .await?;
    start_execution(&c, &fx, "after-undeprecation", "").await?;
    c.delete_activity_type()
        .domain("life")
        .activity_type(at.clone())
        .send()
        .await?;
    assert_eq!(
        code(
            c.describe_activity_type()
                .domain("life")
                .activity_type(at.clone())
                .send()
                .await
        ),
        "UnknownResourceFault"
    );

    // Domains: deprecate, refuse registrations, undeprecate.
    c.deprecate_domain().name("life").send().await?;
    assert_eq!(
        code(c.deprecate_domain().name("life").send().await),
        "DomainDeprecatedFault"
    );
    let r = c
        .register_activity_type()
        .domain("life")
        .name("other")
        .version("1")
        .send()
        .await;
    assert_eq!(code(r), "DomainDeprecatedFault");
    let deprecated = c
        .list_domains()
        .registration_status(RegistrationStatus::Deprecated)
        .send()
        .await?;
    assert_eq!(
        deprecated
            .domain_infos()
            .iter()
            .map(|d| d.name())
            .collect::<Vec<_>>(),
        ["life"]
    );
    c.undeprecate_domain().name("life").send().await?;
    assert_eq!(
        code(c.undeprecate_domain().name("life").send().await),
        "DomainAlreadyExistsFault"
    );
    c.register_activity_type()
        .domain("life")
        .name("other")
        .version("1")
        .send()
        .await?;
    assert_eq!(
        code(c.deprecate_domain().name("nope").send().await),
        "UnknownResourceFault"
    );
    Ok(())
}

#[tokio::test]
async fn domain_tags() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let c = swfd.client();
    setup_domain(&c, "tagged").await?;
    let arn = c
        .describe_domain()
        .name("tagged")
        .send()
        .await?
        .domain_info()
        .and_then(|d| d.arn())
        .expect("arn")
        .to_string();
    assert_eq!(arn, "arn:aws:swf:us-east-1:000000000000:/domain/tagged");

    let tag = |k: &str, v: &str| ResourceTag::builder().key(k).value(v).build().expect("key");
    c.tag_resource()
        .resource_arn(&arn)
        .tags(tag("team", "a"))
        .tags(tag("env", "dev"))
        .send()
        .await?;
    c.tag_resource()
        .resource_arn(&arn)
        .tags(tag("team", "b"))
        .send()
        .await?;
    let tags = c.list_tags_for_resource().resource_arn(&arn).send().await?;
    let mut pairs: Vec<(String, String)> = tags
        .tags()
        .iter()
        .map(|t| {
            (
                t.key().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        })
        .collect();
    pairs.sort();
    assert_eq!(
        pairs,
        [
            ("env".to_string(), "dev".to_string()),
            ("team".to_string(), "b".to_string())
        ]
    );

    c.untag_resource()
        .resource_arn(&arn)
        .tag_keys("env")
        .send()
        .await?;
    let tags = c.list_tags_for_resource().resource_arn(&arn).send().await?;
    assert_eq!(
        tags.tags().iter().map(|t| t.key()).collect::<Vec<_>>(),
        ["team"]
    );

    let mut too_many = c.tag_resource().resource_arn(&arn);
    for i in 0..50 {
        too_many = too_many.tags(tag(&format!("k{i}"), "v"));
    }
    assert_eq!(code(too_many.send().await), "TooManyTagsFault");
    assert_eq!(
        c.list_tags_for_resource()
            .resource_arn(&arn)
            .send()
            .await?
            .tags()
            .len(),
        1,
        "a refused tag call changes nothing"
    );
    let unknown = "arn:aws:swf:us-east-1:000000000000:/domain/nope";
    assert_eq!(
        code(
            c.list_tags_for_resource()
                .resource_arn(unknown)
                .send()
                .await
        ),
        "UnknownResourceFault"
    );
    Ok(())
}

#[tokio::test]
async fn pending_task_counts() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let c = swfd.client();
    let fx = setup_domain(&c, "counts").await?;
    let count_decisions = || {
        c.count_pending_decision_tasks()
            .domain("counts")
            .task_list(fx.decision_task_list())
            .send()
    };
    assert_eq!(count_decisions().await?.count(), 0);
    for i in 0..3 {
        start_execution(&c, &fx, &format!("c{i}"), "").await?;
    }
    let n = count_decisions().await?;
    assert_eq!((n.count(), n.truncated()), (3, false));

    let task = poll_decision(&c, &fx).await?;
    assert_eq!(
        count_decisions().await?.count(),
        2,
        "a started task is no longer pending"
    );
    c.respond_decision_task_completed()
        .task_token(task.task_token())
        .decisions(schedule_activity(&fx, "a1", "x"))
        .decisions(schedule_activity(&fx, "a2", "y"))
        .send()
        .await?;
    let activities = c
        .count_pending_activity_tasks()
        .domain("counts")
        .task_list(fx.activity_task_list())
        .send()
        .await?;
    assert_eq!(activities.count(), 2);
    assert_eq!(
        code(
            c.count_pending_activity_tasks()
                .domain("nope")
                .task_list(fx.activity_task_list())
                .send()
                .await
        ),
        "UnknownResourceFault"
    );
    Ok(())
}
