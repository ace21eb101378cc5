//! StartWorkflowExecution: defaults, overrides, faults, workflow ids across domains and runs.

use super::*;

#[test]
fn start_workflow_execution_ok() {
    let mut h = H::ready();
    let run = h.start("w1");
    assert_eq!(
        h.types(&run),
        [E::WorkflowExecutionStarted, E::DecisionTaskScheduled]
    );
    let started = h.event(&run, 1);
    let a = started
        .workflow_execution_started_event_attributes
        .as_deref()
        .unwrap();
    assert_eq!(a.input.as_deref(), Some("in"));
    assert_eq!(a.task_list.name, DECISIONS);
    assert_eq!(a.execution_start_to_close_timeout.as_deref(), Some("3600"));
    assert_eq!(a.task_start_to_close_timeout.as_deref(), Some("60"));
    assert_eq!(a.child_policy, ChildPolicy::Terminate);
    assert_eq!(*a.workflow_type, wf_type());
    assert_eq!(started.event_timestamp, Timestamp(h.clock));
    let sched = h.event(&run, 2);
    let sa = sched
        .decision_task_scheduled_event_attributes
        .as_deref()
        .unwrap();
    assert_eq!(sa.task_list.name, DECISIONS);
    assert_eq!(sa.start_to_close_timeout.as_deref(), Some("60"));

    let q = h.queue(TaskKind::Decision, DECISIONS);
    assert_eq!(q.len(), 1);
    assert_eq!(
        (q[0].run_id.as_str(), q[0].scheduled_event_id),
        (run.as_str(), 2)
    );
    assert_eq!(q[0].seq, h.index);
    assert_eq!(h.s.open_runs[&(D.to_string(), "w1".to_string())], run);
    let rec = h.rec(&run);
    assert!(rec.is_open());
    assert_eq!(rec.started, Timestamp(h.clock));
    assert_eq!(rec.next_event_id, 3);

    // A second workflow id runs alongside, in the same queue, after the first.
    let run2 = h.start("w2");
    let q = h.queue(TaskKind::Decision, DECISIONS);
    assert_eq!(
        q.iter().map(|t| t.run_id.as_str()).collect::<Vec<_>>(),
        [run.as_str(), run2.as_str()]
    );
}

#[test]
fn start_workflow_execution_overrides_defaults() {
    let mut h = H::ready();
    let run = h.start_with(StartWorkflowExecutionInput {
        task_list: tl("mine"),
        execution_start_to_close_timeout: s("10"),
        task_start_to_close_timeout: s("NONE"),
        child_policy: Some(ChildPolicy::Abandon),
        task_priority: s("7"),
        tag_list: Some(vec!["t".into()]),
        ..start_input("w")
    });
    let rec = h.rec(&run);
    assert_eq!(rec.config.task_list, "mine");
    assert_eq!(rec.config.task_priority, 7);
    assert_eq!(rec.config.execution_start_to_close_timeout, "10");
    assert_eq!(rec.config.task_start_to_close_timeout, "NONE");
    assert_eq!(rec.config.child_policy, ChildPolicy::Abandon);
    assert_eq!(rec.tag_list, ["t"]);
    let q = h.queue(TaskKind::Decision, "mine");
    assert_eq!((q.len(), q[0].priority), (1, 7));
    assert!(h.queue(TaskKind::Decision, DECISIONS).is_empty());
}

#[test]
fn start_workflow_execution_faults() {
    type Case = (
        &'static str,
        fn(&mut StartWorkflowExecutionInput),
        Result<(), FaultKind>,
    );
    let cases: Vec<Case> = vec![
        ("ok", |_| {}, Ok(())),
        (
            "already started",
            |i| i.workflow_id = "running".into(),
            Err(FaultKind::WorkflowExecutionAlreadyStarted),
        ),
        (
            "unknown type version",
            |i| i.workflow_type.version = "9".into(),
            Err(FaultKind::UnknownResource),
        ),
        (
            "unknown type name",
            |i| i.workflow_type.name = "nope".into(),
            Err(FaultKind::UnknownResource),
        ),
        (
            "unknown domain",
            |i| i.domain = "nope".into(),
            Err(FaultKind::UnknownResource),
        ),
        (
            "deprecated type",
            |i| i.workflow_type.name = "old".into(),
            Err(FaultKind::TypeDeprecated),
        ),
        (
            "bad execution timeout",
            |i| i.execution_start_to_close_timeout = s("1h"),
            Err(FaultKind::Validation),
        ),
        (
            "NONE execution timeout",
            |i| i.execution_start_to_close_timeout = s("NONE"),
            Err(FaultKind::Validation),
        ),
        (
            "bad task timeout",
            |i| i.task_start_to_close_timeout = s("-"),
            Err(FaultKind::Validation),
        ),
        (
            "bad priority",
            |i| i.task_priority = s("p"),
            Err(FaultKind::Validation),
        ),
        // A type without defaults: everything given works; each missing one is DefaultUndefined.
        ("bare, all given", |i| bare_all(i), Ok(())),
        (
            "bare, no task list",
            |i| {
                bare_all(i);
                i.task_list = None
            },
            Err(FaultKind::DefaultUndefined),
        ),
        (
            "bare, no execution timeout",
            |i| {
                bare_all(i);
                i.execution_start_to_close_timeout = None
            },
            Err(FaultKind::DefaultUndefined),
        ),
        (
            "bare, no task timeout",
            |i| {
                bare_all(i);
                i.task_start_to_close_timeout = None
            },
            Err(FaultKind::DefaultUndefined),
        ),
        (
            "bare, no child policy",
            |i| {
                bare_all(i);
                i.child_policy = None
            },
            Err(FaultKind::DefaultUndefined),
        ),
        (
            "bare, nothing",
            |i| {
                bare_all(i);
                i.task_list = None;
                i.execution_start_to_close_timeout = None;
                i.task_start_to_close_timeout = None;
                i.child_policy = None
            },
            Err(FaultKind::DefaultUndefined),
        ),
    ];
    fn bare_all(i: &mut StartWorkflowExecutionInput) {
        *i.workflow_type = WorkflowType {
            name: "bare".into(),
            version: "1".into(),
        };
        i.task_list = tl("t");
        i.execution_start_to_close_timeout = s("100");
        i.task_start_to_close_timeout = s("10");
        i.child_policy = Some(ChildPolicy::RequestCancel);
    }
    for (name, edit, want) in cases {
        let mut h = H::ready();
        h.ok(Op::RegisterWorkflowType(RegisterWorkflowTypeInput {
            domain: D.into(),
            name: "bare".into(),
            version: "1".into(),
            ..Default::default()
        }));
        h.ok(Op::RegisterWorkflowType(wf_type_input("old", "1")));
        h.edit(|s| {
            s.workflow_types
                .get_mut(&(D.into(), "old".into(), "1".into()))
                .unwrap()
                .type_info
                .status = RegistrationStatus::Deprecated
        });
        h.start("running");
        let mut input = start_input("new");
        edit(&mut input);
        let op = h.start_op(input);
        assert_eq!(h.kind(op), want, "case {name}");
        let runs = if want.is_ok() { 2 } else { 1 };
        assert_eq!(h.s.executions.len(), runs, "case {name}");
        assert_eq!(h.s.open_runs.len(), runs, "case {name}");
    }
}

#[test]
fn same_workflow_id_in_another_domain_or_after_close() {
    let mut h = H::ready();
    h.ok(Op::RegisterDomain(domain_input("other")));
    h.ok(Op::RegisterWorkflowType(RegisterWorkflowTypeInput {
        domain: "other".into(),
        ..wf_type_input("wf", "1")
    }));
    let run = h.start("w");
    h.start_with(StartWorkflowExecutionInput {
        domain: "other".into(),
        ..start_input("w")
    });
    h.round(&run, vec![complete_wf()]);
    let again = h.start("w");
    assert_ne!(again, run);
    assert_eq!(h.s.open_runs[&(D.to_string(), "w".to_string())], again);
}
