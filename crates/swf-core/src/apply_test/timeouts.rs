//! Timers and every timeout: activity, heartbeat, decision task, workflow.

use super::*;

#[test]
fn timers_start_fire_and_cancel() {
    let mut h = H::ready();
    let run = h.start("w");
    let before = h.clock;
    h.round(&run, vec![start_timer("t1", "5"), start_timer("t2", "50")]);
    let t1 = h.deadline(
        &run,
        |k| matches!(k, DeadlineKind::Timer { timer_id } if timer_id == "t1"),
    );
    assert_eq!(
        t1.due.0,
        before + 2_000 + 5_000,
        "armed 5 s after the decision was applied"
    );
    let started = h.rec(&run).timers["t1"].started_event_id;

    // Early: nothing happens and the timer stays armed.
    h.clock = t1.due.0 - 2_000;
    h.ok(Op::FireDeadline(t1.clone()));
    assert!(h.s.deadlines.contains(&t1));
    assert_eq!(h.last(&run).event_type, EventType::TimerStarted);

    h.fire(t1.clone());
    let types = h.types(&run);
    assert_eq!(
        types[types.len() - 2..],
        [EventType::TimerFired, EventType::DecisionTaskScheduled]
    );
    let fired = attrs(&h.event(&run, types.len() as i64 - 1));
    assert_eq!(
        (fired["timerId"].as_str(), id_of(&fired, "startedEventId")),
        (Some("t1"), started)
    );
    // A repeated firing changes nothing.
    let n = h.history(&run).len();
    h.fire(t1);
    assert_eq!(h.history(&run).len(), n);

    // Same id while open is refused; cancel works once, then the id is unknown.
    h.round(&run, vec![start_timer("t2", "5")]);
    assert_eq!(
        attrs(&h.last_of(&run, EventType::StartTimerFailed))["cause"],
        "TIMER_ID_ALREADY_IN_USE"
    );
    h.round(&run, vec![cancel_timer("t2"), cancel_timer("t2")]);
    assert!(h.types(&run).contains(&EventType::TimerCanceled));
    assert_eq!(
        attrs(&h.last_of(&run, EventType::CancelTimerFailed))["cause"],
        "TIMER_ID_UNKNOWN"
    );
    assert!(h.rec(&run).timers.is_empty());
    h.check_deadlines();
}

#[test]
fn activity_timeouts() {
    // (timeout kind, whether the worker starts the task, heartbeat details sent)
    let cases = [
        (
            DeadlineKind::ActivityScheduleToStart,
            false,
            None,
            "SCHEDULE_TO_START",
        ),
        (
            DeadlineKind::ActivityScheduleToClose,
            true,
            Some("50%"),
            "SCHEDULE_TO_CLOSE",
        ),
        (
            DeadlineKind::ActivityStartToClose,
            true,
            None,
            "START_TO_CLOSE",
        ),
        (
            DeadlineKind::ActivityHeartbeat,
            true,
            Some("half way"),
            "HEARTBEAT",
        ),
    ];
    for (kind, start, details, timeout_type) in cases {
        let mut h = H::ready();
        let run = h.start("w");
        h.round(&run, vec![schedule("a")]);
        let scheduled = h.activity(&run, "a");
        let token = start.then(|| h.start_activity(&run, "a"));
        if let (Some(t), Some(d)) = (&token, details) {
            h.ok(Op::RecordActivityTaskHeartbeat(
                RecordActivityTaskHeartbeatInput {
                    task_token: t.clone(),
                    details: s(d),
                },
            ));
        }
        let d = h.deadline(&run, |k| *k == kind);
        assert_eq!(d.event_id, scheduled);
        h.fire(d);
        let timed_out = h.last_of(&run, EventType::ActivityTaskTimedOut);
        let a = attrs(&timed_out);
        assert_eq!(a["timeoutType"], timeout_type);
        assert_eq!(id_of(&a, "scheduledEventId"), scheduled);
        assert_eq!(a["details"].as_str(), details, "{timeout_type}");
        assert!(h.rec(&run).activities.is_empty(), "{timeout_type}");
        assert!(h.queue(TaskKind::Activity, ACTIVITIES).is_empty());
        assert!(matches!(
            h.rec(&run).decision,
            DecisionSlot::Scheduled { .. }
        ));
        if let Some(t) = token {
            assert_eq!(
                h.fault(complete_op(&t)).code(),
                "UnknownResourceFault",
                "{timeout_type}"
            );
        }
    }
}

#[test]
fn heartbeats_push_the_heartbeat_deadline() {
    let mut h = H::ready();
    let run = h.start("w");
    h.round(&run, vec![schedule("a")]);
    let token = h.start_activity(&run, "a");
    let first = h.deadline(&run, |k| *k == DeadlineKind::ActivityHeartbeat);
    h.clock += 10_000;
    h.ok(heartbeat_op(&token));
    let second = h.deadline(&run, |k| *k == DeadlineKind::ActivityHeartbeat);
    assert!(second.due > first.due);
    assert!(!h.s.deadlines.contains(&first));
    // The old deadline firing now is stale and changes nothing.
    let n = h.history(&run).len();
    h.fire(first);
    assert_eq!(h.history(&run).len(), n);
    assert_eq!(h.rec(&run).activities.len(), 1);
}

#[test]
fn decision_task_timeout_schedules_a_new_task() {
    let mut h = H::ready();
    let run = h.start("w");
    let token = h.start_decision(&run);
    let d = h.deadline(&run, |k| *k == DeadlineKind::DecisionStartToClose);
    assert_eq!(d.due.0, h.clock + 60_000);
    h.fire(d);
    let types = h.types(&run);
    assert_eq!(
        types[types.len() - 2..],
        [
            EventType::DecisionTaskTimedOut,
            EventType::DecisionTaskScheduled
        ]
    );
    assert_eq!(
        attrs(&h.last_of(&run, EventType::DecisionTaskTimedOut))["timeoutType"],
        "START_TO_CLOSE"
    );
    assert_eq!(
        h.fault(respond_op(&token, vec![complete_wf()])).code(),
        "UnknownResourceFault"
    );
    // Completing a task in time disarms its timeout.
    let token = h.start_decision(&run);
    h.respond(&token, vec![marker("m")]);
    assert!(!h
        .s
        .deadlines
        .iter()
        .any(|d| d.kind == DeadlineKind::DecisionStartToClose));
}

#[test]
fn decision_task_timeout_hands_out_the_task_scheduled_behind_it() {
    // A signal while the task runs schedules the next one at once; when the started one times out,
    // that one becomes pollable and no second DecisionTaskScheduled is recorded.
    let mut h = H::ready();
    let run = h.start("w");
    let token = h.start_decision(&run);
    h.ok(Op::SignalWorkflowExecution(SignalWorkflowExecutionInput {
        domain: D.into(),
        workflow_id: "w".into(),
        signal_name: "s".into(),
        ..Default::default()
    }));
    let pending = h.history(&run).len() as i64;
    assert!(h.queue(TaskKind::Decision, DECISIONS).is_empty());
    let d = h.deadline(&run, |k| *k == DeadlineKind::DecisionStartToClose);
    h.fire(d);
    let types = h.types(&run);
    assert_eq!(
        types[types.len() - 3..],
        [
            EventType::WorkflowExecutionSignaled,
            EventType::DecisionTaskScheduled,
            EventType::DecisionTaskTimedOut
        ]
    );
    let queued = h.queue(TaskKind::Decision, DECISIONS);
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].scheduled_event_id, pending);
    assert_eq!(
        h.fault(respond_op(&token, vec![complete_wf()])).code(),
        "UnknownResourceFault"
    );
    // A timed-out task is not "previous": the next one still reports 0.
    assert_eq!(h.rec(&run).previous_started_event_id, 0);
    h.start_decision(&run);
    assert_eq!(
        h.last(&run)
            .decision_task_started_event_attributes
            .unwrap()
            .scheduled_event_id,
        pending
    );
}

#[test]
fn workflow_timeout_closes_the_run() {
    let mut h = H::ready();
    let run = h.start("w");
    h.round(&run, vec![schedule("a"), start_timer("t", "10")]);
    let d = h.deadline(&run, |k| *k == DeadlineKind::WorkflowStartToClose);
    h.fire(d);
    let rec = h.rec(&run);
    assert_eq!(rec.close_status, Some(CloseStatus::TimedOut));
    let last = attrs(&h.last(&run));
    assert_eq!(
        (last["timeoutType"].as_str(), last["childPolicy"].as_str()),
        (Some("START_TO_CLOSE"), Some("TERMINATE"))
    );
    let left: Vec<DeadlineKind> = h.s.deadlines.iter().map(|d| d.kind.clone()).collect();
    assert_eq!(
        left,
        [DeadlineKind::Retention],
        "closing disarms every deadline but retention"
    );
    assert!(h.s.queues.is_empty());
}
