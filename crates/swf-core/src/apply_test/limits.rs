//! History and open-item limits, retention, bursts of deadlines, and batched commands matching separate entries.

use super::*;

#[test]
fn history_event_limit_terminates_the_run() {
    let mut h = H::with_limits(Limits {
        max_history_events: 8,
        ..Limits::default()
    });
    h.setup();
    let run = h.start("w");
    for _ in 0..10 {
        if !h.rec(&run).is_open() {
            break;
        }
        h.ok(Op::SignalWorkflowExecution(SignalWorkflowExecutionInput {
            domain: D.into(),
            workflow_id: "w".into(),
            signal_name: "s".into(),
            ..Default::default()
        }));
    }
    // The limit's 8 events, then the termination.
    let events = h.history(&run);
    assert_eq!(events.len(), 9);
    let last = attrs(events.last().unwrap());
    assert_eq!(last["cause"], "EVENT_LIMIT_EXCEEDED");
    assert_eq!(h.rec(&run).close_status, Some(CloseStatus::Terminated));
}

#[test]
fn retention_purges_closed_runs() {
    for (days, wait_ms) in [("0", 0i64), ("2", 2 * 86_400_000)] {
        let mut h = H::new();
        h.ok(Op::RegisterDomain(RegisterDomainInput {
            workflow_execution_retention_period_in_days: days.into(),
            ..domain_input(D)
        }));
        h.ok(Op::RegisterWorkflowType(wf_type_input("wf", "1")));
        h.ok(Op::RegisterActivityType(act_type_input("act", "1")));
        let run = h.start("w");
        h.round(&run, vec![complete_wf()]);
        let closed_at = h.clock;
        let d = h.deadline(&run, |k| *k == DeadlineKind::Retention);
        assert_eq!(d.due.0, closed_at + wait_ms, "retention of {days} days");
        assert!(!h.s.visibility.is_empty());
        // The purge deletes each of the run's stored items by its key (point deletions: a range
        // tombstone per purged run slowed every read of the column family until a flush).
        let stored: BTreeSet<crate::items::ItemKey> = (h.s.items.keys())
            .filter(|(r, _)| *r == run)
            .map(|(_, k)| k.clone())
            .collect();
        assert!(!stored.is_empty(), "the retention deadline is an item");
        let fire = Command {
            now: d.due,
            op: Op::FireDeadline(d.clone()),
            fresh_ids: vec![],
            request_id: None,
        };
        let purge = apply(&h.s, h.index + 1, &fire, &h.limits).unwrap().writes;
        let deleted: BTreeSet<crate::items::ItemKey> = (purge.iter())
            .filter_map(|w| match w {
                Write::Item {
                    run_id,
                    key,
                    item: None,
                } if *run_id == run => Some(key.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(deleted, stored, "{days}: every item deleted");
        h.fire(d);
        assert!(!h.s.executions.contains_key(&run), "{days}: record purged");
        assert!(h.history(&run).is_empty(), "{days}: history purged");
        assert!(h.s.visibility.is_empty(), "{days}: visibility purged");
        assert!(h.s.deadlines.is_empty());
        let gone = query::describe_execution(
            &h.s,
            D,
            &WorkflowExecution {
                workflow_id: "w".into(),
                run_id: run.clone(),
            },
        );
        assert_eq!(gone.unwrap_err().code(), "UnknownResourceFault");
    }
}

#[test]
fn a_burst_of_deadlines_fires_in_one_command() {
    let mut h = H::ready();
    let run = h.start("w");
    h.round(
        &run,
        vec![start_timer("a", "5"), start_timer("b", "5"), schedule("x")],
    );
    let a = h.deadline(
        &run,
        |k| matches!(k, DeadlineKind::Timer { timer_id } if timer_id == "a"),
    );
    let b = h.deadline(
        &run,
        |k| matches!(k, DeadlineKind::Timer { timer_id } if timer_id == "b"),
    );
    h.clock = a.due.0.max(b.due.0) - 1_000;
    h.ok(Op::FireDeadlines(vec![a, b]));
    h.check_deadlines();
    let types = h.types(&run);
    assert_eq!(
        types
            .iter()
            .filter(|t| **t == EventType::TimerFired)
            .count(),
        2
    );
    // One decision task for both (the second firing saw the first one's scheduled task).
    assert_eq!(
        types
            .iter()
            .filter(|t| **t == EventType::DecisionTaskScheduled)
            .count(),
        2
    );
    assert!(h.rec(&run).timers.is_empty());
}

#[test]
fn open_timer_and_child_limits() {
    let mut h = H::with_limits(Limits {
        max_open_timers: 2,
        max_open_children: 1,
        ..Limits::default()
    });
    h.setup();
    let run = h.start("w");
    h.round(
        &run,
        vec![
            start_timer("t1", "60"),
            start_timer("t2", "60"),
            start_timer("t3", "60"),
        ],
    );
    assert_eq!(
        attrs(&h.last_of(&run, EventType::StartTimerFailed))["cause"],
        "OPEN_TIMERS_LIMIT_EXCEEDED"
    );
    assert_eq!(h.rec(&run).timers.len(), 2);
    h.round(&run, vec![start_child("c1"), start_child("c2")]);
    assert_eq!(
        attrs(&h.last_of(&run, EventType::StartChildWorkflowExecutionFailed))["cause"],
        "OPEN_CHILDREN_LIMIT_EXCEEDED"
    );
    assert_eq!(h.rec(&run).children.len(), 1);
}

#[test]
fn batched_commands_see_the_writes_of_earlier_ones() {
    let mut h = H::batching();
    // Registrations that depend on each other, and their faults.
    h.ok(Op::RegisterDomain(domain_input("second")));
    assert_eq!(
        h.kind(Op::RegisterDomain(domain_input("second"))),
        Err(FaultKind::DomainAlreadyExists)
    );
    assert_eq!(
        h.kind(Op::RegisterWorkflowType(wf_type_input("wf", "1"))),
        Err(FaultKind::TypeAlreadyExists)
    );
    // A workflow id started twice, then a full workflow with an activity and a signal.
    let run = h.start("w");
    let again = h.start_op(start_input("w"));
    assert_eq!(
        h.kind(again),
        Err(FaultKind::WorkflowExecutionAlreadyStarted)
    );
    let token = h.start_decision(&run);
    h.respond(&token, vec![schedule("a1")]);
    let at = h.start_activity(&run, "a1");
    h.ok(Op::RespondActivityTaskCompleted(
        RespondActivityTaskCompletedInput {
            task_token: at.clone(),
            result: s("done"),
        },
    ));
    // The token of the task just completed is refused, as in separate entries.
    assert_eq!(
        h.kind(Op::RespondActivityTaskCompleted(
            RespondActivityTaskCompletedInput {
                task_token: at,
                result: None,
            }
        )),
        Err(FaultKind::UnknownResource)
    );
    h.ok(Op::SignalWorkflowExecution(SignalWorkflowExecutionInput {
        domain: D.into(),
        workflow_id: "w".into(),
        signal_name: "sig".into(),
        ..Default::default()
    }));
    h.round(&run, vec![complete_wf()]);
    assert!(!h.rec(&run).is_open());
    check_all_batchings(&h);
}

#[test]
fn batched_child_workflows_and_continue_as_new_match_separate_entries() {
    let h = child_workflow_lifecycle(H::batching());
    check_all_batchings(&h);
    let h = continue_as_new(H::batching());
    check_all_batchings(&h);
}

/// From apply version 4 a run keeps a few open items inside its record and moves them under keys of
/// their own past `EMBED_MAX`, and back once `EMBED_RETURN` or fewer remain (`items`); the base
/// version keys every item. The harness's shadow checks the two hold the same executions throughout.
#[test]
fn a_run_moves_its_items_between_record_and_keys_by_their_count() {
    use crate::items::{EMBED_MAX, EMBED_RETURN};
    let mut h = H::ready();
    let run = h.start("w");
    let keyed = |s: &MemState| s.items.keys().filter(|(r, _)| *r == run).count();
    let latest = |h: &H| h.shadow.as_ref().expect("a shadow").clone();
    // Started: the run's timeout, one deadline. Base: under a key; latest: in the record.
    assert_eq!(keyed(&h.s), 1);
    assert_eq!(keyed(&latest(&h)), 0);
    assert!(!latest(&h).executions[&run].items_keyed);
    assert_eq!(latest(&h).executions[&run].deadlines.len(), 1);
    // Timers, each with its deadline: past EMBED_MAX the items move under their own keys.
    let timers = 5;
    let token = h.start_decision(&run);
    h.respond(
        &token,
        (0..timers)
            .map(|i| start_timer(&format!("t{i}"), "100"))
            .collect(),
    );
    let items = h.rec(&run).item_count(); // the run's timeout, the timers and their deadlines
    assert!(items > EMBED_MAX, "{items}");
    let s = latest(&h);
    assert!(s.executions[&run].items_keyed);
    assert_eq!(
        s.executions[&run].item_count(),
        0,
        "nothing left in the record"
    );
    assert_eq!(keyed(&s), keyed(&h.s));
    // Cancelled down to one timer: EMBED_RETURN or fewer, back into the record, no key left.
    h.ok(signal_op("w", None));
    let token = h.start_decision(&run);
    h.respond(
        &token,
        (1..timers)
            .map(|i| cancel_timer(&format!("t{i}")))
            .collect(),
    );
    let s = latest(&h);
    let rec = &s.executions[&run];
    assert!(rec.item_count() <= EMBED_RETURN, "{}", rec.item_count());
    assert!(!rec.items_keyed);
    assert_eq!(rec.timers.len(), 1);
    assert_eq!(keyed(&s), 0, "the keys went with the move");
    assert!(keyed(&h.s) > 0, "the base version keeps them keyed");
}
