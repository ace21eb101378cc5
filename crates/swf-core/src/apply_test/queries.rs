//! Reads: history paging and faults, describe counts, list paging; a no-op.

use super::*;

#[test]
fn history_paging() {
    let mut h = H::ready();
    let run = long_history(&mut h);
    let all: Vec<i64> = (1..=12).collect();
    let cases: Vec<(Option<i32>, bool, Vec<usize>)> = vec![
        (None, false, vec![12]),
        (Some(0), false, vec![12]),
        (Some(1000), false, vec![12]),
        (Some(12), false, vec![12]),
        (Some(5), false, vec![5, 5, 2]),
        (Some(4), false, vec![4, 4, 4]),
        (Some(1), false, vec![1; 12]),
        (Some(5), true, vec![5, 5, 2]),
        (Some(6), true, vec![6, 6]),
        (None, true, vec![12]),
    ];
    for (size, reverse, pages) in cases {
        let mut input = GetWorkflowExecutionHistoryInput {
            maximum_page_size: size,
            reverse_order: Some(reverse),
            ..history_input("w", &run)
        };
        let mut got = Vec::new();
        let mut sizes = Vec::new();
        loop {
            let page = query::get_history(&h.s, &input).unwrap();
            sizes.push(page.events.len());
            got.extend(page.events.iter().map(|e| e.event_id));
            match page.next_page_token {
                Some(t) => input.next_page_token = Some(t),
                None => break,
            }
        }
        let mut want = all.clone();
        if reverse {
            want.reverse();
        }
        assert_eq!(got, want, "size {size:?} reverse {reverse}");
        assert_eq!(sizes, pages, "size {size:?} reverse {reverse}");
    }
    // The history of a started decision task ends at its started event.
    let rec = h.rec(&run);
    let cursor = query::first_cursor(&rec, Some(7), false);
    let (events, next) = query::history_page(&h.s, &cursor, Some(5)).unwrap();
    assert_eq!(events.len(), 5);
    let (rest, next) = query::history_page(&h.s, &next.unwrap(), Some(5)).unwrap();
    assert_eq!(rest.iter().map(|e| e.event_id).collect::<Vec<_>>(), [6, 7]);
    assert!(next.is_none());
    let cursor = query::first_cursor(&rec, Some(7), true);
    let (events, _) = query::history_page(&h.s, &cursor, Some(3)).unwrap();
    assert_eq!(
        events.iter().map(|e| e.event_id).collect::<Vec<_>>(),
        [7, 6, 5]
    );
}

#[test]
fn history_faults() {
    let mut h = H::ready();
    let run = long_history(&mut h);
    let other = h.start("x");
    let page = query::get_history(
        &h.s,
        &GetWorkflowExecutionHistoryInput {
            maximum_page_size: Some(1),
            ..history_input("x", &other)
        },
    )
    .unwrap();
    let other_token = page.next_page_token.unwrap();
    let cases: Vec<(&str, GetWorkflowExecutionHistoryInput, FaultKind)> = vec![
        (
            "token of another run",
            GetWorkflowExecutionHistoryInput {
                next_page_token: Some(other_token),
                ..history_input("w", &run)
            },
            FaultKind::Validation,
        ),
        (
            "garbage token",
            GetWorkflowExecutionHistoryInput {
                next_page_token: s("zzz"),
                ..history_input("w", &run)
            },
            FaultKind::Validation,
        ),
        (
            "unknown domain",
            GetWorkflowExecutionHistoryInput {
                domain: "nope".into(),
                ..history_input("w", &run)
            },
            FaultKind::UnknownResource,
        ),
        (
            "unknown run",
            history_input("w", "nope"),
            FaultKind::UnknownResource,
        ),
        (
            "wrong workflow id",
            history_input("x", &run),
            FaultKind::UnknownResource,
        ),
    ];
    for (name, input, want) in cases {
        assert_eq!(
            query::get_history(&h.s, &input).unwrap_err().kind,
            want,
            "{name}"
        );
    }
}

#[test]
fn describe_execution_open_counts() {
    let mut h = H::ready();
    let run = h.start("w");
    let exec = WorkflowExecution {
        workflow_id: "w".into(),
        run_id: run.clone(),
    };
    let counts = |h: &H| {
        let d = query::describe_execution(&h.s, D, &exec).unwrap();
        let c = d.open_counts;
        (
            d.execution_info.execution_status,
            c.open_decision_tasks,
            c.open_activity_tasks,
        )
    };
    use ExecutionStatus::{Closed, Open};
    assert_eq!(counts(&h), (Open, 1, 0), "scheduled decision");
    let token = h.start_decision(&run);
    assert_eq!(counts(&h), (Open, 1, 0), "started decision");
    h.respond(&token, vec![schedule("a"), schedule("b"), schedule("c")]);
    assert_eq!(counts(&h), (Open, 0, 3), "three activities");
    let ta = h.start_activity(&run, "a");
    assert_eq!(counts(&h), (Open, 0, 3), "one started");
    h.ok(complete_op(&ta));
    assert_eq!(counts(&h), (Open, 1, 2), "one completed");
    let d = query::describe_execution(&h.s, D, &exec).unwrap();
    assert_eq!(d.execution_configuration.task_list.name, DECISIONS);
    assert_eq!(d.execution_configuration.task_start_to_close_timeout, "60");
    assert_eq!(
        d.execution_configuration.execution_start_to_close_timeout,
        "3600"
    );
    assert_eq!(
        d.execution_configuration.child_policy,
        ChildPolicy::Terminate
    );
    assert_eq!(d.execution_info.cancel_requested, Some(false));
    assert!(d.latest_activity_task_timestamp.is_some());
    h.round(&run, vec![complete_wf()]);
    // b and c were still open when the run closed: SWF keeps counting them (see recorded.rs).
    assert_eq!(counts(&h), (Closed, 0, 2), "closed");
    let d = query::describe_execution(&h.s, D, &exec).unwrap();
    assert_eq!(d.execution_info.close_status, Some(CloseStatus::Completed));
    assert_eq!(d.execution_info.close_timestamp, Some(Timestamp(h.clock)));
    let wrong = [
        (
            D,
            WorkflowExecution {
                workflow_id: "x".into(),
                run_id: run.clone(),
            },
        ),
        (
            D,
            WorkflowExecution {
                workflow_id: "w".into(),
                run_id: "nope".into(),
            },
        ),
        ("nope", exec.clone()),
    ];
    for (domain, e) in wrong {
        assert_eq!(
            query::describe_execution(&h.s, domain, &e)
                .unwrap_err()
                .kind,
            FaultKind::UnknownResource
        );
    }
}

#[test]
fn list_domains_paging() {
    let mut h = H::new();
    for name in ["e", "b", "a", "d", "c"] {
        h.ok(Op::RegisterDomain(domain_input(name)));
    }
    h.edit(|s| {
        s.domains.get_mut("d").unwrap().detail.domain_info.status = RegistrationStatus::Deprecated
    });
    type Case = (
        RegistrationStatus,
        Option<i32>,
        bool,
        Vec<Vec<&'static str>>,
    );
    let cases: Vec<Case> = vec![
        (
            RegistrationStatus::Registered,
            None,
            false,
            vec![vec!["a", "b", "c", "e"]],
        ),
        (
            RegistrationStatus::Registered,
            Some(2),
            false,
            vec![vec!["a", "b"], vec!["c", "e"]],
        ),
        (
            RegistrationStatus::Registered,
            Some(3),
            false,
            vec![vec!["a", "b", "c"], vec!["e"]],
        ),
        (
            RegistrationStatus::Registered,
            Some(3),
            true,
            vec![vec!["e", "c", "b"], vec!["a"]],
        ),
        (
            RegistrationStatus::Registered,
            Some(1),
            true,
            vec![vec!["e"], vec!["c"], vec!["b"], vec!["a"]],
        ),
        (
            RegistrationStatus::Registered,
            Some(4),
            false,
            vec![vec!["a", "b", "c", "e"]],
        ),
        (
            RegistrationStatus::Deprecated,
            Some(1),
            false,
            vec![vec!["d"]],
        ),
    ];
    for (status, size, reverse, want) in cases {
        let mut input = ListDomainsInput {
            registration_status: status,
            maximum_page_size: size,
            reverse_order: Some(reverse),
            next_page_token: None,
        };
        let mut pages = Vec::new();
        loop {
            let page = query::list_domains(&h.s, &input).unwrap();
            pages.push(
                page.domain_infos
                    .iter()
                    .map(|d| d.name.clone())
                    .collect::<Vec<_>>(),
            );
            match page.next_page_token {
                Some(t) => input.next_page_token = Some(t),
                None => break,
            }
        }
        assert_eq!(pages, want, "{status:?} {size:?} {reverse}");
    }
    let bad = ListDomainsInput {
        next_page_token: s("!!"),
        ..Default::default()
    };
    assert_eq!(
        query::list_domains(&h.s, &bad).unwrap_err().kind,
        FaultKind::Validation
    );
}

#[test]
fn list_types_paging() {
    let mut h = H::ready();
    for (name, version) in [("wf", "2"), ("b", "1"), ("b", "2")] {
        h.ok(Op::RegisterWorkflowType(wf_type_input(name, version)));
    }
    let mut input = ListWorkflowTypesInput {
        domain: D.into(),
        maximum_page_size: Some(2),
        ..Default::default()
    };
    let mut got = Vec::new();
    loop {
        let page = query::list_workflow_types(&h.s, &input).unwrap();
        assert!(page.type_infos.len() <= 2);
        got.extend(
            page.type_infos
                .iter()
                .map(|t| format!("{}/{}", t.workflow_type.name, t.workflow_type.version)),
        );
        match page.next_page_token {
            Some(t) => input.next_page_token = Some(t),
            None => break,
        }
    }
    assert_eq!(got, ["b/1", "b/2", "wf/1", "wf/2"]);
    let named = query::list_workflow_types(
        &h.s,
        &ListWorkflowTypesInput {
            domain: D.into(),
            name: s("b"),
            reverse_order: Some(true),
            ..Default::default()
        },
    )
    .unwrap();
    let versions: Vec<&str> = named
        .type_infos
        .iter()
        .map(|t| t.workflow_type.version.as_str())
        .collect();
    assert_eq!(versions, ["2", "1"]);
    let acts = query::list_activity_types(
        &h.s,
        &ListActivityTypesInput {
            domain: D.into(),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(acts.type_infos.len(), 1);
    assert_eq!(
        query::list_workflow_types(
            &h.s,
            &ListWorkflowTypesInput {
                domain: "nope".into(),
                ..Default::default()
            }
        )
        .unwrap_err()
        .kind,
        FaultKind::UnknownResource
    );
}

#[test]
fn noop_changes_nothing() {
    let mut h = H::ready();
    h.start("w");
    let before = format!("{:?}", h.s);
    let applied = apply(
        &h.s,
        99,
        &Command {
            now: Timestamp(0),
            op: Op::Noop,
            fresh_ids: Vec::new(),
            request_id: None,
        },
        &h.limits,
    )
    .unwrap();
    assert_eq!(applied.outcome, Ok(Reply::Done));
    assert!(applied.writes.is_empty());
    assert_eq!(before, format!("{:?}", h.s));
}
