//! Registration of domains and types, their faults and per-domain limits.

use super::*;

#[test]
fn register_domain_table() {
    let tags = |n: usize| -> Option<Vec<ResourceTag>> {
        Some(
            (0..n)
                .map(|i| ResourceTag {
                    key: format!("k{i}"),
                    value: s("v"),
                })
                .collect(),
        )
    };
    let with = |name: &str, days: &str| RegisterDomainInput {
        name: name.into(),
        workflow_execution_retention_period_in_days: days.into(),
        description: s("a domain"),
        ..Default::default()
    };
    let cases: Vec<(&str, RegisterDomainInput, Result<(), FaultKind>)> = vec![
        ("new", with("new", "1"), Ok(())),
        ("zero days", with("new", "0"), Ok(())),
        ("max days", with("new", "90"), Ok(())),
        ("NONE days", with("new", "NONE"), Ok(())),
        (
            "existing",
            with("taken", "1"),
            Err(FaultKind::DomainAlreadyExists),
        ),
        (
            "days over max",
            with("new", "91"),
            Err(FaultKind::Validation),
        ),
        (
            "negative days",
            with("new", "-1"),
            Err(FaultKind::Validation),
        ),
        ("text days", with("new", "ten"), Err(FaultKind::Validation)),
        ("empty days", with("new", ""), Err(FaultKind::Validation)),
        (
            "lowercase none",
            with("new", "none"),
            Err(FaultKind::Validation),
        ),
        (
            "50 tags",
            RegisterDomainInput {
                tags: tags(50),
                ..with("new", "1")
            },
            Ok(()),
        ),
        (
            "51 tags",
            RegisterDomainInput {
                tags: tags(51),
                ..with("new", "1")
            },
            Err(FaultKind::TooManyTags),
        ),
    ];
    for (name, input, want) in cases {
        let mut h = H::new();
        h.ok(Op::RegisterDomain(domain_input("taken")));
        let got = h.kind(Op::RegisterDomain(input.clone()));
        assert_eq!(got, want, "case {name}");
        if want.is_ok() {
            let d = &h.s.domains[&input.name];
            assert_eq!(d.detail.domain_info.status, RegistrationStatus::Registered);
            assert_eq!(d.detail.domain_info.description, input.description);
            assert_eq!(
                d.detail.domain_info.arn.as_deref(),
                Some("arn:aws:swf:us-east-1:000000000000:/domain/new")
            );
            assert_eq!(
                d.detail
                    .configuration
                    .workflow_execution_retention_period_in_days,
                input.workflow_execution_retention_period_in_days
            );
            assert_eq!(d.tags, input.tags.clone().unwrap_or_default());
            assert_eq!(d.created, Timestamp(h.clock));
            let described = query::describe_domain(&h.s, &input.name).unwrap();
            assert_eq!(described, d.detail);
        }
    }
}

#[test]
fn register_domain_limit() {
    let mut h = H::with_limits(Limits {
        max_domains: 3,
        ..Limits::default()
    });
    for name in ["a", "b", "c"] {
        h.ok(Op::RegisterDomain(domain_input(name)));
    }
    let cases = [
        ("fourth domain", "d", FaultKind::LimitExceeded),
        (
            "existing is reported first",
            "a",
            FaultKind::DomainAlreadyExists,
        ),
    ];
    for (case, name, want) in cases {
        assert_eq!(
            h.fault(Op::RegisterDomain(domain_input(name))).kind,
            want,
            "{case}"
        );
    }
    assert_eq!(h.s.domains.len(), 3);
}

#[test]
fn register_workflow_type_table() {
    type Case = (
        &'static str,
        fn(&mut RegisterWorkflowTypeInput),
        Result<(), FaultKind>,
    );
    let cases: Vec<Case> = vec![
        ("ok", |_| {}, Ok(())),
        ("new version", |i| i.version = "2".into(), Ok(())),
        (
            "no defaults",
            |i| {
                *i = RegisterWorkflowTypeInput {
                    domain: D.into(),
                    name: "bare".into(),
                    version: "1".into(),
                    ..Default::default()
                }
            },
            Ok(()),
        ),
        (
            "NONE task timeout",
            |i| {
                i.name = "n".into();
                i.default_task_start_to_close_timeout = s("NONE")
            },
            Ok(()),
        ),
        (
            "duplicate",
            |i| i.name = "taken".into(),
            Err(FaultKind::TypeAlreadyExists),
        ),
        (
            "unknown domain",
            |i| i.domain = "nope".into(),
            Err(FaultKind::UnknownResource),
        ),
        (
            "deprecated domain",
            |i| i.domain = "old".into(),
            Err(FaultKind::DomainDeprecated),
        ),
        (
            "bad task timeout",
            |i| i.default_task_start_to_close_timeout = s("1.5"),
            Err(FaultKind::Validation),
        ),
        (
            "bad execution timeout",
            |i| i.default_execution_start_to_close_timeout = s("-3"),
            Err(FaultKind::Validation),
        ),
        (
            "empty execution timeout",
            |i| i.default_execution_start_to_close_timeout = s(""),
            Err(FaultKind::Validation),
        ),
        (
            "bad priority",
            |i| i.default_task_priority = s("high"),
            Err(FaultKind::Validation),
        ),
        (
            "priority out of range",
            |i| i.default_task_priority = s("2147483648"),
            Err(FaultKind::Validation),
        ),
    ];
    for (name, edit, want) in cases {
        let mut h = H::new();
        h.ok(Op::RegisterDomain(domain_input(D)));
        h.ok(Op::RegisterDomain(domain_input("old")));
        h.edit(|s| {
            s.domains.get_mut("old").unwrap().detail.domain_info.status =
                RegistrationStatus::Deprecated
        });
        h.ok(Op::RegisterWorkflowType(wf_type_input("taken", "1")));
        let mut input = wf_type_input("new", "1");
        edit(&mut input);
        assert_eq!(
            h.kind(Op::RegisterWorkflowType(input.clone())),
            want,
            "case {name}"
        );
        if want.is_ok() {
            let t = WorkflowType {
                name: input.name.clone(),
                version: input.version.clone(),
            };
            let detail = query::describe_workflow_type(&h.s, D, &t).unwrap();
            assert_eq!(detail.type_info.status, RegistrationStatus::Registered);
            assert_eq!(detail.type_info.creation_date, Timestamp(h.clock));
            let c = &detail.configuration;
            assert_eq!(c.default_task_list, input.default_task_list, "{name}");
            assert_eq!(c.default_child_policy, input.default_child_policy, "{name}");
            assert_eq!(
                c.default_task_start_to_close_timeout,
                input.default_task_start_to_close_timeout
            );
            assert_eq!(h.s.domains[D].workflow_types, 2, "{name}");
        } else {
            assert_eq!(h.s.domains[D].workflow_types, 1, "{name}");
        }
    }
}

#[test]
fn register_activity_type_table() {
    type Case = (
        &'static str,
        fn(&mut RegisterActivityTypeInput),
        Result<(), FaultKind>,
    );
    let cases: Vec<Case> = vec![
        ("ok", |_| {}, Ok(())),
        ("new version", |i| i.version = "2".into(), Ok(())),
        (
            "no defaults",
            |i| {
                *i = RegisterActivityTypeInput {
                    domain: D.into(),
                    name: "bare".into(),
                    version: "1".into(),
                    ..Default::default()
                }
            },
            Ok(()),
        ),
        (
            "NONE timeouts",
            |i| {
                i.default_task_heartbeat_timeout = s("NONE");
                i.default_task_schedule_to_close_timeout = s("NONE")
            },
            Ok(()),
        ),
        (
            "duplicate",
            |i| i.name = "taken".into(),
            Err(FaultKind::TypeAlreadyExists),
        ),
        (
            "unknown domain",
            |i| i.domain = "nope".into(),
            Err(FaultKind::UnknownResource),
        ),
        (
            "deprecated domain",
            |i| i.domain = "old".into(),
            Err(FaultKind::DomainDeprecated),
        ),
        (
            "bad start-to-close",
            |i| i.default_task_start_to_close_timeout = s("x"),
            Err(FaultKind::Validation),
        ),
        (
            "bad heartbeat",
            |i| i.default_task_heartbeat_timeout = s("1m"),
            Err(FaultKind::Validation),
        ),
        (
            "bad schedule-to-start",
            |i| i.default_task_schedule_to_start_timeout = s(" 1"),
            Err(FaultKind::Validation),
        ),
        (
            "bad schedule-to-close",
            |i| i.default_task_schedule_to_close_timeout = s("none"),
            Err(FaultKind::Validation),
        ),
        (
            "bad priority",
            |i| i.default_task_priority = s("1.0"),
            Err(FaultKind::Validation),
        ),
    ];
    for (name, edit, want) in cases {
        let mut h = H::new();
        h.ok(Op::RegisterDomain(domain_input(D)));
        h.ok(Op::RegisterDomain(domain_input("old")));
        h.edit(|s| {
            s.domains.get_mut("old").unwrap().detail.domain_info.status =
                RegistrationStatus::Deprecated
        });
        h.ok(Op::RegisterActivityType(act_type_input("taken", "1")));
        let mut input = act_type_input("new", "1");
        edit(&mut input);
        assert_eq!(
            h.kind(Op::RegisterActivityType(input.clone())),
            want,
            "case {name}"
        );
        if want.is_ok() {
            let t = ActivityType {
                name: input.name.clone(),
                version: input.version.clone(),
            };
            let detail = query::describe_activity_type(&h.s, D, &t).unwrap();
            assert_eq!(detail.type_info.status, RegistrationStatus::Registered);
            let c = &detail.configuration;
            assert_eq!(c.default_task_list, input.default_task_list, "{name}");
            assert_eq!(
                c.default_task_heartbeat_timeout,
                input.default_task_heartbeat_timeout
            );
            assert_eq!(
                c.default_task_schedule_to_close_timeout,
                input.default_task_schedule_to_close_timeout
            );
            assert_eq!(h.s.domains[D].activity_types, 2, "{name}");
        } else {
            assert_eq!(h.s.domains[D].activity_types, 1, "{name}");
        }
    }
}

#[test]
fn types_per_domain_limit() {
    let mut h = H::with_limits(Limits {
        max_types_per_domain: 1,
        ..Limits::default()
    });
    h.setup();
    let cases = [
        (
            "second workflow type",
            Op::RegisterWorkflowType(wf_type_input("wf", "2")),
            FaultKind::LimitExceeded,
        ),
        (
            "second activity type",
            Op::RegisterActivityType(act_type_input("act", "2")),
            FaultKind::LimitExceeded,
        ),
        (
            "duplicate is reported first",
            Op::RegisterWorkflowType(wf_type_input("wf", "1")),
            FaultKind::TypeAlreadyExists,
        ),
    ];
    for (case, op, want) in cases {
        assert_eq!(h.fault(op).kind, want, "{case}");
    }
}
