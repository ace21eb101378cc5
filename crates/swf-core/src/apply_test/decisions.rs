//! RespondDecisionTaskCompleted: every decision, the decision-task order, invalid and unhandled decisions, tokens, close-must-be-last.

use super::*;

#[test]
fn close_decisions() {
    type Check = fn(&HistoryEvent);
    let cases: Vec<(&str, Decision, EventType, CloseStatus, Check)> = vec![
        (
            "complete",
            complete_wf(),
            E::WorkflowExecutionCompleted,
            CloseStatus::Completed,
            |e| {
                let a = e
                    .workflow_execution_completed_event_attributes
                    .as_deref()
                    .unwrap();
                assert_eq!(a.result.as_deref(), Some("done"));
                assert_eq!(a.decision_task_completed_event_id, 4);
            },
        ),
        (
            "fail",
            fail_wf(),
            E::WorkflowExecutionFailed,
            CloseStatus::Failed,
            |e| {
                let a = e
                    .workflow_execution_failed_event_attributes
                    .as_deref()
                    .unwrap();
                assert_eq!(
                    (a.reason.as_deref(), a.details.as_deref()),
                    (Some("why"), Some("how"))
                );
                assert_eq!(a.decision_task_completed_event_id, 4);
            },
        ),
        (
            "cancel",
            cancel_wf(),
            E::WorkflowExecutionCanceled,
            CloseStatus::Canceled,
            |e| {
                let a = e
                    .workflow_execution_canceled_event_attributes
                    .as_deref()
                    .unwrap();
                assert_eq!(a.details.as_deref(), Some("bye"));
                assert_eq!(a.decision_task_completed_event_id, 4);
            },
        ),
        (
            "complete without attributes",
            Decision {
                decision_type: DecisionType::CompleteWorkflowExecution,
                ..Default::default()
            },
            E::WorkflowExecutionCompleted,
            CloseStatus::Completed,
            |e| {
                let a = e
                    .workflow_execution_completed_event_attributes
                    .as_deref()
                    .unwrap();
                assert_eq!(a.result, None);
            },
        ),
    ];
    for (name, close, event, status, check) in cases {
        let mut h = H::ready();
        let run = h.start("w");
        // Another run's tasks stay queued.
        let other = h.start("other");
        let token = h.start_decision(&run);
        // An activity scheduled in the same response leaves its queue when the run closes.
        h.respond(&token, vec![schedule("a"), close]);
        assert_eq!(
            h.types(&run),
            [
                E::WorkflowExecutionStarted,
                E::DecisionTaskScheduled,
                E::DecisionTaskStarted,
                E::DecisionTaskCompleted,
                E::ActivityTaskScheduled,
                event
            ],
            "{name}"
        );
        check(&h.last(&run));
        let rec = h.rec(&run);
        assert!(!rec.is_open(), "{name}");
        assert_eq!(rec.closed, Some(Timestamp(h.clock)));
        assert_eq!(rec.close_status, Some(status), "{name}");
        assert_eq!(rec.decision, DecisionSlot::None);
        assert!(!h
            .s
            .open_runs
            .contains_key(&(D.to_string(), "w".to_string())));
        assert!(h.queue(TaskKind::Activity, ACTIVITIES).is_empty(), "{name}");
        let q = h.queue(TaskKind::Decision, DECISIONS);
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].run_id, other);

        // Nothing can start or respond on the closed run.
        let f = h.fault(Op::StartActivityTask {
            run_id: run.clone(),
            scheduled_event_id: 5,
            identity: None,
        });
        assert_eq!(f.kind, FaultKind::UnknownResource, "{name}");
        assert_eq!(
            h.fault(respond_op(&token, vec![])).kind,
            FaultKind::UnknownResource,
            "{name}"
        );
    }
}

#[test]
fn closing_the_run_drops_started_activities_and_their_tokens() {
    let mut h = H::ready();
    let run = h.start("w");
    h.round(&run, vec![schedule("a"), schedule("b")]);
    let ta = h.start_activity(&run, "a");
    let tb = h.start_activity(&run, "b");
    h.ok(complete_op(&tb));
    h.round(&run, vec![complete_wf()]);
    assert!(!h.rec(&run).is_open());
    type MkOp = fn(&str) -> Op;
    let ops: [(&str, MkOp); 4] = [
        ("heartbeat", heartbeat_op),
        ("completed", complete_op),
        ("failed", fail_op),
        ("canceled", canceled_op),
    ];
    for (name, op) in ops {
        assert_eq!(h.fault(op(&ta)).kind, FaultKind::UnknownResource, "{name}");
    }
}

#[test]
fn record_marker() {
    let mut h = H::ready();
    let run = h.start("w");
    h.round(&run, vec![marker("m1"), marker("m2")]);
    assert_eq!(h.types(&run)[4..], [E::MarkerRecorded, E::MarkerRecorded]);
    let a = h.event(&run, 5).marker_recorded_event_attributes.unwrap();
    assert_eq!(a.marker_name, "m1");
    assert_eq!(a.details.as_deref(), Some("marker details"));
    assert_eq!(a.decision_task_completed_event_id, 4);
    // A marker needs no decision.
    assert_eq!(h.rec(&run).decision, DecisionSlot::None);
}

#[test]
fn execution_context_and_task_list_of_a_response() {
    let mut h = H::ready();
    let run = h.start("w");
    let token = h.start_decision(&run);
    h.ok(Op::RespondDecisionTaskCompleted(
        RespondDecisionTaskCompletedInput {
            task_token: token,
            execution_context: s("ctx"),
            task_list: tl("next"),
            decisions: Some(vec![cancel_activity("nope")]),
            ..Default::default()
        },
    ));
    let rec = h.rec(&run);
    assert_eq!(rec.latest_execution_context.as_deref(), Some("ctx"));
    let c = h
        .event(&run, 4)
        .decision_task_completed_event_attributes
        .unwrap();
    assert_eq!(c.execution_context.as_deref(), Some("ctx"));
    // The next decision task goes to the task list the decider asked for.
    assert_eq!(h.queue(TaskKind::Decision, "next").len(), 1);
    assert!(h.queue(TaskKind::Decision, DECISIONS).is_empty());
    let sa = h
        .last(&run)
        .decision_task_scheduled_event_attributes
        .unwrap();
    assert_eq!(sa.task_list.name, "next");
}

#[test]
fn unhandled_decision() {
    let cases: Vec<(&str, Decision, EventType, &str)> = vec![
        (
            "complete",
            complete_wf(),
            E::CompleteWorkflowExecutionFailed,
            "completeWorkflowExecutionFailedEventAttributes",
        ),
        (
            "fail",
            fail_wf(),
            E::FailWorkflowExecutionFailed,
            "failWorkflowExecutionFailedEventAttributes",
        ),
        (
            "cancel",
            cancel_wf(),
            E::CancelWorkflowExecutionFailed,
            "cancelWorkflowExecutionFailedEventAttributes",
        ),
    ];
    for (name, close, failed, member) in cases {
        let mut h = H::ready();
        let (run, token) = with_unhandled_event(&mut h);
        h.respond(&token, vec![close]);
        let events = h.history(&run);
        let n = events.len();
        // The decision task scheduled while it ran is the next one: no second DecisionTaskScheduled.
        assert_eq!(
            [
                events[n - 3].event_type,
                events[n - 2].event_type,
                events[n - 1].event_type
            ],
            [E::DecisionTaskScheduled, E::DecisionTaskCompleted, failed],
            "{name}"
        );
        let v = serde_json::to_value(&events[n - 1]).unwrap();
        assert_eq!(v[member]["cause"], "UNHANDLED_DECISION", "{name}");
        assert_eq!(
            v[member]["decisionTaskCompletedEventId"],
            events[n - 2].event_id,
            "{name}"
        );
        assert!(matches!(
            h.rec(&run).decision,
            DecisionSlot::Scheduled { scheduled_event_id, .. } if scheduled_event_id == events[n - 3].event_id
        ));
        assert!(h.rec(&run).is_open(), "{name}");
        assert_eq!(h.queue(TaskKind::Decision, DECISIONS).len(), 1, "{name}");
        // The next decision task can close it.
        h.round(&run, vec![complete_wf()]);
        assert!(!h.rec(&run).is_open(), "{name}");
    }
}

#[test]
fn the_task_scheduled_while_one_ran_is_queued_when_it_completes() {
    let mut h = H::ready();
    let (run, token) = with_unhandled_event(&mut h);
    let pending = h.history(&run).len() as i64;
    // A failed decision would also need a decision task: the pending one serves, none is added.
    h.respond(&token, vec![marker("m"), cancel_activity("nope")]);
    let n = h.history(&run).len();
    assert_eq!(
        h.types(&run)[n - 5..],
        [
            E::ActivityTaskCompleted,
            E::DecisionTaskScheduled,
            E::DecisionTaskCompleted,
            E::MarkerRecorded,
            E::RequestCancelActivityTaskFailed,
        ]
    );
    let queued = h.queue(TaskKind::Decision, DECISIONS);
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].scheduled_event_id, pending);
    // It starts with scheduledEventId = the pending one, previousStartedEventId = the completed one.
    let started_before = h
        .event(&run, n as i64 - 2)
        .decision_task_completed_event_attributes
        .unwrap()
        .started_event_id;
    h.start_decision(&run);
    let started = h.last(&run).decision_task_started_event_attributes.unwrap();
    assert_eq!(started.scheduled_event_id, pending);
    assert_eq!(h.rec(&run).previous_started_event_id, started_before);
}

#[test]
fn closing_from_outside_with_a_task_scheduled_behind_the_started_one() {
    // Terminate, and the workflow timeout: neither the started task nor the one scheduled behind it
    // stays anywhere (the harness checks the queues against the records after every step).
    for how in ["terminate", "timeout"] {
        let mut h = H::ready();
        let run = h.start("w");
        h.start_decision(&run);
        h.ok(Op::SignalWorkflowExecution(SignalWorkflowExecutionInput {
            domain: D.into(),
            workflow_id: "w".into(),
            signal_name: "s".into(),
            ..Default::default()
        }));
        assert!(matches!(
            h.rec(&run).decision,
            DecisionSlot::Started {
                pending: Some(_),
                ..
            }
        ));
        if how == "terminate" {
            h.ok(Op::TerminateWorkflowExecution(
                TerminateWorkflowExecutionInput {
                    domain: D.into(),
                    workflow_id: "w".into(),
                    ..Default::default()
                },
            ));
        } else {
            let d = h.deadline(&run, |k| *k == DeadlineKind::WorkflowStartToClose);
            h.fire(d);
        }
        let rec = h.rec(&run);
        assert!(!rec.is_open(), "{how}");
        assert_eq!(rec.decision, DecisionSlot::None, "{how}");
        assert!(h.queue(TaskKind::Decision, DECISIONS).is_empty(), "{how}");
        assert!(
            !h.s.deadlines
                .iter()
                .any(|d| d.kind == DeadlineKind::DecisionStartToClose),
            "{how}"
        );
    }
}

#[test]
fn decision_slot_stored_forms() {
    // The stored forms are forever: a started task without one behind it is written exactly as
    // before `pending` existed, and that form still reads.
    let old =
        r#"{"Started":{"scheduled_event_id":2,"started_event_id":3,"unhandled_events":true}}"#;
    let read: DecisionSlot = serde_json::from_str(old).unwrap();
    assert_eq!(
        read,
        DecisionSlot::Started {
            scheduled_event_id: 2,
            started_event_id: 3,
            unhandled_events: true,
            pending: None
        }
    );
    assert_eq!(serde_json::to_string(&read).unwrap(), old);
    let new = DecisionSlot::Started {
        scheduled_event_id: 2,
        started_event_id: 3,
        unhandled_events: true,
        pending: Some(5),
    };
    let form = r#"{"Started":{"scheduled_event_id":2,"started_event_id":3,"unhandled_events":true,"pending":5}}"#;
    assert_eq!(serde_json::to_string(&new).unwrap(), form);
    assert_eq!(serde_json::from_str::<DecisionSlot>(form).unwrap(), new);
}

#[test]
fn a_record_from_before_pending_reschedules_on_completion() {
    // Releases before `pending` kept `unhandled_events` only and scheduled the next task on
    // completion; such a record (read with `pending` defaulted) still gets its decision task.
    let mut h = H::ready();
    // The record is edited in `s` alone.
    h.shadow = None;
    let run = h.start("w");
    let token = h.start_decision(&run);
    let mut stored = h.s.executions[&run].clone();
    let mut v = serde_json::to_value(&stored.decision).unwrap();
    assert!(v["Started"].get("pending").is_none(), "{v}");
    v["Started"]["unhandled_events"] = true.into();
    stored.decision = serde_json::from_value(v).unwrap();
    h.s.executions.insert(run.clone(), stored);
    h.respond(&token, vec![marker("m")]);
    let n = h.history(&run).len();
    assert_eq!(
        h.types(&run)[n - 3..],
        [
            E::DecisionTaskCompleted,
            E::MarkerRecorded,
            E::DecisionTaskScheduled
        ]
    );
    assert_eq!(h.queue(TaskKind::Decision, DECISIONS).len(), 1);
}

#[test]
fn request_cancel_activity_task() {
    // Queued activity: canceled at once and the decider hears of it.
    let mut h = H::ready();
    let run = h.start("w");
    h.round(&run, vec![schedule("a"), schedule("b")]);
    let sched_a = h.activity(&run, "a");
    let tb = h.start_activity(&run, "b");
    h.ok(complete_op(&tb));
    h.round(&run, vec![cancel_activity("a")]);
    let events = h.history(&run);
    let n = events.len();
    assert_eq!(
        h.types(&run)[n - 4..],
        [
            E::DecisionTaskCompleted,
            E::ActivityTaskCancelRequested,
            E::ActivityTaskCanceled,
            E::DecisionTaskScheduled
        ]
    );
    let completed = events[n - 4].event_id;
    let req = events[n - 3]
        .activity_task_cancel_requested_event_attributes
        .clone()
        .unwrap();
    assert_eq!(req.activity_id, "a");
    assert_eq!(req.decision_task_completed_event_id, completed);
    let c = events[n - 2]
        .activity_task_canceled_event_attributes
        .clone()
        .unwrap();
    assert_eq!(c.scheduled_event_id, sched_a);
    assert_eq!(c.started_event_id, 0);
    assert_eq!(
        c.latest_cancel_requested_event_id,
        Some(events[n - 3].event_id)
    );
    assert!(h.rec(&run).activities.is_empty());
    assert!(h.queue(TaskKind::Activity, ACTIVITIES).is_empty());
    let f = h.fault(Op::StartActivityTask {
        run_id: run.clone(),
        scheduled_event_id: sched_a,
        identity: None,
    });
    assert_eq!(f.kind, FaultKind::UnknownResource);
    // The id is free again.
    h.round(&run, vec![schedule("a")]);
    assert_eq!(h.rec(&run).activities.len(), 1);
}

#[test]
fn request_cancel_started_activity_task() {
    let mut h = H::ready();
    let run = h.start("w");
    h.round(&run, vec![schedule("a"), schedule("b")]);
    let ta = h.start_activity(&run, "a");
    let tb = h.start_activity(&run, "b");
    assert_eq!(
        h.ok(heartbeat_op(&ta)),
        Reply::Heartbeat {
            cancel_requested: false
        }
    );
    h.ok(complete_op(&tb));
    h.round(&run, vec![cancel_activity("a")]);
    let n = h.history(&run).len();
    assert_eq!(
        h.types(&run)[n - 2..],
        [E::DecisionTaskCompleted, E::ActivityTaskCancelRequested]
    );
    let requested = n as i64;
    // A started activity only gets the flag; no decision is needed yet.
    assert_eq!(h.rec(&run).decision, DecisionSlot::None);
    let a = &h.rec(&run).activities[&h.activity(&run, "a")];
    assert!(a.cancel_requested);
    assert_eq!(a.latest_cancel_requested_event_id, Some(requested));
    assert_eq!(
        h.ok(heartbeat_op(&ta)),
        Reply::Heartbeat {
            cancel_requested: true
        }
    );
    assert_eq!(
        h.rec(&run)
            .activities
            .values()
            .next()
            .unwrap()
            .heartbeat_details
            .as_deref(),
        Some("50%")
    );
    h.ok(canceled_op(&ta));
    let c = h.history(&run)[n]
        .activity_task_canceled_event_attributes
        .clone()
        .unwrap();
    assert_eq!(c.latest_cancel_requested_event_id, Some(requested));
    assert_eq!(
        c.started_event_id,
        TaskToken::decode(&ta).unwrap().started_event_id
    );
    assert_eq!(h.last(&run).event_type, E::DecisionTaskScheduled);
}

#[test]
fn request_cancel_unknown_activity() {
    let cases = [("never scheduled", "nope"), ("already closed", "b")];
    for (name, id) in cases {
        let mut h = H::ready();
        let run = h.start("w");
        h.round(&run, vec![schedule("b")]);
        let tb = h.start_activity(&run, "b");
        h.ok(complete_op(&tb));
        h.round(&run, vec![cancel_activity(id)]);
        let events = h.history(&run);
        let n = events.len();
        assert_eq!(
            [
                events[n - 3].event_type,
                events[n - 2].event_type,
                events[n - 1].event_type
            ],
            [
                E::DecisionTaskCompleted,
                E::RequestCancelActivityTaskFailed,
                E::DecisionTaskScheduled
            ],
            "{name}"
        );
        let f = events[n - 2]
            .request_cancel_activity_task_failed_event_attributes
            .clone()
            .unwrap();
        assert_eq!(f.activity_id, id);
        assert_eq!(
            f.cause,
            RequestCancelActivityTaskFailedCause::ActivityIdUnknown
        );
        assert_eq!(f.decision_task_completed_event_id, events[n - 3].event_id);
    }
}

#[test]
fn unimplemented_decisions_fail_and_reschedule() {
    for (decision, failed, cause) in unimplemented_decisions() {
        let name = decision.decision_type.as_str();
        let mut h = H::ready();
        let run = h.start("w");
        h.round(&run, vec![decision]);
        assert_eq!(
            h.types(&run)[3..],
            [E::DecisionTaskCompleted, failed, E::DecisionTaskScheduled],
            "{name}"
        );
        let a = attrs(&h.event(&run, 5));
        assert_eq!(a["cause"], cause, "{name}");
        assert_eq!(a["decisionTaskCompletedEventId"], 4, "{name}");
        assert!(h.rec(&run).is_open());
    }
}

#[test]
fn invalid_decisions_are_rejected_whole() {
    let missing = |t: DecisionType| Decision {
        decision_type: t,
        ..Default::default()
    };
    let cases: Vec<(&str, Vec<Decision>)> = vec![
        (
            "ScheduleActivityTask",
            vec![missing(DecisionType::ScheduleActivityTask)],
        ),
        (
            "RequestCancelActivityTask",
            vec![missing(DecisionType::RequestCancelActivityTask)],
        ),
        ("RecordMarker", vec![missing(DecisionType::RecordMarker)]),
        ("StartTimer", vec![missing(DecisionType::StartTimer)]),
        ("CancelTimer", vec![missing(DecisionType::CancelTimer)]),
        (
            "SignalExternal",
            vec![missing(DecisionType::SignalExternalWorkflowExecution)],
        ),
        (
            "RequestCancelExternal",
            vec![missing(
                DecisionType::RequestCancelExternalWorkflowExecution,
            )],
        ),
        (
            "StartChild",
            vec![missing(DecisionType::StartChildWorkflowExecution)],
        ),
        (
            "ScheduleLambda",
            vec![missing(DecisionType::ScheduleLambdaFunction)],
        ),
        (
            "after a valid one",
            vec![
                marker("m"),
                complete_wf(),
                missing(DecisionType::RecordMarker),
            ],
        ),
        (
            "bad schedule-to-close",
            vec![schedule_with("a", |a| a.schedule_to_close_timeout = s("x"))],
        ),
        (
            "bad heartbeat",
            vec![schedule_with("a", |a| a.heartbeat_timeout = s("-1"))],
        ),
        (
            "bad priority",
            vec![schedule_with("a", |a| a.task_priority = s("top"))],
        ),
        ("bad timer duration", vec![start_timer("t", "soon")]),
    ];
    for (name, decisions) in cases {
        let mut h = H::ready();
        let run = h.start("w");
        let token = h.start_decision(&run);
        let f = h.fault(respond_op(&token, decisions));
        assert_eq!(f.kind, FaultKind::Validation, "{name}: {f}");
        // The task is still started and the token still good.
        h.respond(&token, vec![complete_wf()]);
        assert!(!h.rec(&run).is_open(), "{name}");
    }
    let mut h = H::ready();
    let run = h.start("w");
    let token = h.start_decision(&run);
    let f = h.fault(respond_op(
        &token,
        vec![missing(DecisionType::ScheduleActivityTask)],
    ));
    // Real SWF's wording (ericabouaf/aws-swf#2 quotes "StartTimerDecisionAttributes must be
    // specified for decision of type StartTimer").
    assert_eq!(
        f.message,
        "ScheduleActivityTaskDecisionAttributes must be specified for decision of type ScheduleActivityTask"
    );
    let f = h.fault(Op::RespondDecisionTaskCompleted(
        RespondDecisionTaskCompletedInput {
            task_token: token,
            task_list_schedule_to_start_timeout: s("x"),
            ..Default::default()
        },
    ));
    assert_eq!(f.kind, FaultKind::Validation);
}

#[test]
fn bad_decision_tokens() {
    let mut h = H::ready();
    let run = h.start("w");
    // Decision task 1 (events 2, 3) is answered with a failing decision, so 6 is scheduled.
    let replayed = h.start_decision(&run);
    h.respond(&replayed, vec![cancel_activity("nope")]);
    // Decision task 2 (events 6, 7) schedules activity a.
    let answered = h.start_decision(&run);
    h.respond(&answered, vec![schedule("a")]);
    let activity_token = h.start_activity(&run, "a");
    h.ok(complete_op(&activity_token));
    // Decision task 3 is live.
    let live = h.start_decision(&run);
    let lt = TaskToken::decode(&live).unwrap();
    let forge = |f: fn(&mut TaskToken)| {
        let mut t = lt.clone();
        f(&mut t);
        t.encode()
    };
    let cases: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("garbage", "not a token".into()),
        ("base64 garbage", "aGVsbG8".into()),
        ("replayed", replayed),
        ("answered", answered),
        ("activity token", activity_token),
        ("unknown run", forge(|t| t.run_id = "nope".into())),
        ("wrong started id", forge(|t| t.started_event_id += 1)),
        ("earlier scheduled id", forge(|t| t.scheduled_event_id = 6)),
        ("activity kind", forge(|t| t.kind = TaskKind::Activity)),
    ];
    for (name, token) in cases {
        for decisions in [vec![], vec![complete_wf()]] {
            let f = h.fault(respond_op(&token, decisions));
            assert_eq!(f.kind, FaultKind::UnknownResource, "{name}");
        }
    }
    // The live token works, once.
    h.respond(&live, vec![complete_wf()]);
    assert!(!h.rec(&run).is_open());
    assert_eq!(
        h.fault(respond_op(&live, vec![])).kind,
        FaultKind::UnknownResource
    );
}

#[test]
fn close_must_be_last_decision_in_list() {
    // Real SWF refuses the whole response (solambda/swiffer's integration tests against SWF:
    // MakeDecisionAfterCloseIT, RetryWithCancellationIT): nothing is applied and the decision task
    // stays started, so the decider can answer again.
    let can = || {
        decision_with(DecisionType::ContinueAsNewWorkflowExecution, |d| {
            d.continue_as_new_workflow_execution_decision_attributes = Some(Box::default())
        })
    };
    let cases: Vec<(&str, Vec<Decision>)> = vec![
        ("complete then marker", vec![complete_wf(), marker("m")]),
        ("two completes", vec![complete_wf(), complete_wf()]),
        ("fail then cancel", vec![fail_wf(), cancel_wf()]),
        ("cancel then activity", vec![cancel_wf(), schedule("a")]),
        (
            "continue-as-new then timer",
            vec![can(), start_timer("t", "5")],
        ),
        (
            "close in the middle",
            vec![marker("m"), complete_wf(), marker("n")],
        ),
    ];
    for (name, decisions) in cases {
        let mut h = H::ready();
        let run = h.start("w");
        let token = h.start_decision(&run);
        let before = h.rec(&run);
        let f = h.fault(respond_op(&token, decisions));
        assert_eq!(
            (f.code(), f.message.as_str()),
            ("ValidationException", "Close must be last decision in list"),
            "{name}"
        );
        assert_eq!(h.rec(&run), before, "{name}");
        // The same task can still be answered.
        h.respond(&token, vec![marker("m"), complete_wf()]);
        assert_eq!(
            h.rec(&run).close_status,
            Some(CloseStatus::Completed),
            "{name}"
        );
    }
}

/// Decisions the leader found the decider's policies do not allow (their indexes stamped into the
/// command): each records its `...Failed` event with OPERATION_NOT_PERMITTED and does nothing else;
/// the others are carried out; the call succeeds and a new decision task is scheduled.
#[test]
fn decisions_the_leader_refused_fail_as_not_permitted() {
    let checked = |token: String, decisions: Vec<Decision>, not_permitted: Vec<u32>| {
        Op::RespondDecisionTaskCompletedChecked {
            input: RespondDecisionTaskCompletedInput {
                task_token: token,
                decisions: Some(decisions),
                ..Default::default()
            },
            not_permitted,
        }
    };
    let mut h = H::ready();
    let run = h.start("w");
    let token = h.start_decision(&run);
    let all = vec![
        schedule("a1"),
        cancel_activity("a0"),
        marker("m"),
        start_timer("t1", "5"),
        cancel_timer("t0"),
        signal_decision("other"),
        cancel_external_decision("other"),
        start_child("c1"),
        complete_wf(),
    ];
    let n = all.len() as u32;
    assert_eq!(h.ok(checked(token, all, (0..n).collect())), Reply::Done);
    let events = h.history(&run);
    let failed: Vec<Value> = events
        .iter()
        .map(attrs)
        .filter(|a| a.get("cause").is_some())
        .collect();
    assert_eq!(failed.len(), n as usize, "{events:#?}");
    for a in &failed {
        assert_eq!(a["cause"], "OPERATION_NOT_PERMITTED", "{a}");
    }
    assert!(h.rec(&run).is_open());
    assert_eq!(h.last(&run).event_type, E::DecisionTaskScheduled);
    for not_there in [
        E::ActivityTaskScheduled,
        E::MarkerRecorded,
        E::TimerStarted,
        E::StartChildWorkflowExecutionInitiated,
        E::SignalExternalWorkflowExecutionInitiated,
        E::WorkflowExecutionCompleted,
    ] {
        assert!(!h.types(&run).contains(&not_there), "{not_there:?}");
    }
    // Only the timer refused: the marker is recorded, the timer fails.
    let token = h.start_decision(&run);
    let ops = vec![marker("m2"), start_timer("t2", "5")];
    assert_eq!(h.ok(checked(token, ops, vec![1])), Reply::Done);
    let types = h.types(&run);
    assert!(types.contains(&E::MarkerRecorded));
    assert!(!types.contains(&E::TimerStarted));
    assert_eq!(
        attrs(&h.last_of(&run, E::StartTimerFailed))["cause"],
        "OPERATION_NOT_PERMITTED"
    );
}
