//! Decision and activity tasks: starting them, scheduling activities with their defaults, activity ends and tokens.

use super::*;

#[test]
fn start_decision_task() {
    let mut h = H::ready();
    let run = h.start("w");
    let reply = h.ok(Op::StartDecisionTask {
        run_id: run.clone(),
        scheduled_event_id: 2,
        identity: s("me"),
    });
    let Reply::DecisionTaskStarted {
        task_token,
        started_event_id,
        previous_started_event_id,
        ..
    } = reply
    else {
        panic!("{reply:?}")
    };
    assert_eq!((started_event_id, previous_started_event_id), (3, 0));
    assert_eq!(
        TaskToken::decode(&task_token),
        Some(TaskToken {
            kind: TaskKind::Decision,
            run_id: run.clone(),
            scheduled_event_id: 2,
            started_event_id: 3,
        })
    );
    let e = h.last(&run);
    assert_eq!(e.event_type, E::DecisionTaskStarted);
    let a = e.decision_task_started_event_attributes.unwrap();
    assert_eq!(
        (a.identity.as_deref(), a.scheduled_event_id),
        (Some("me"), 2)
    );
    assert!(h.queue(TaskKind::Decision, DECISIONS).is_empty());

    // A task attempt is handed out once; other ids and runs are unknown.
    let cases = [
        ("second start", run.as_str(), 2),
        ("started event id", run.as_str(), 3),
        ("never scheduled", run.as_str(), 7),
        ("unknown run", "nope", 2),
    ];
    for (case, run_id, scheduled_event_id) in cases {
        let f = h.fault(Op::StartDecisionTask {
            run_id: run_id.into(),
            scheduled_event_id,
            identity: None,
        });
        assert_eq!(f.kind, FaultKind::UnknownResource, "{case}");
    }

    // previousStartedEventId is the started event of the last completed decision task.
    h.respond(&task_token, vec![cancel_activity("nope")]);
    let scheduled_event_id = h.scheduled_decision(&run);
    let reply = h.ok(Op::StartDecisionTask {
        run_id: run.clone(),
        scheduled_event_id,
        identity: None,
    });
    assert!(
        matches!(
            reply,
            Reply::DecisionTaskStarted {
                previous_started_event_id: 3,
                ..
            }
        ),
        "{reply:?}"
    );
}

#[test]
fn start_activity_task() {
    let mut h = H::ready();
    let run = h.start("w");
    h.round(&run, vec![schedule("a")]);
    let sched = h.activity(&run, "a");
    assert_eq!(h.queue(TaskKind::Activity, ACTIVITIES).len(), 1);
    let reply = h.ok(Op::StartActivityTask {
        run_id: run.clone(),
        scheduled_event_id: sched,
        identity: s("worker-1"),
    });
    let Reply::ActivityTaskStarted {
        task_token,
        started_event_id,
        activity_id,
        input,
        ..
    } = reply
    else {
        panic!("{reply:?}")
    };
    assert_eq!(started_event_id, sched + 1);
    assert_eq!(activity_id, "a");
    assert_eq!(input.as_deref(), Some("activity input"));
    assert_eq!(
        TaskToken::decode(&task_token),
        Some(TaskToken {
            kind: TaskKind::Activity,
            run_id: run.clone(),
            scheduled_event_id: sched,
            started_event_id,
        })
    );
    let e = h.last(&run);
    assert_eq!(e.event_type, E::ActivityTaskStarted);
    let a = e.activity_task_started_event_attributes.unwrap();
    assert_eq!(
        (a.identity.as_deref(), a.scheduled_event_id),
        (Some("worker-1"), sched)
    );
    assert!(h.queue(TaskKind::Activity, ACTIVITIES).is_empty());
    // Starting an activity needs no decision.
    assert_eq!(h.rec(&run).decision, DecisionSlot::None);

    let cases = [
        ("second start", run.as_str(), sched),
        ("not an activity", run.as_str(), 2),
        ("never scheduled", run.as_str(), 99),
        ("unknown run", "nope", sched),
    ];
    for (case, run_id, scheduled_event_id) in cases {
        let f = h.fault(Op::StartActivityTask {
            run_id: run_id.into(),
            scheduled_event_id,
            identity: None,
        });
        assert_eq!(f.kind, FaultKind::UnknownResource, "{case}");
    }
}

#[test]
fn schedule_activity_task_resolves_defaults() {
    type Case = (
        &'static str,
        fn(&mut ScheduleActivityTaskDecisionAttributes),
        [&'static str; 6],
    );
    // Expected: task list, schedule-to-close, schedule-to-start, start-to-close, heartbeat, priority.
    let cases: Vec<Case> = vec![
        (
            "type defaults",
            |_| {},
            [ACTIVITIES, "300", "100", "200", "30", "5"],
        ),
        (
            "decision values",
            |a| {
                a.task_list = tl("fast");
                a.schedule_to_close_timeout = s("9");
                a.schedule_to_start_timeout = s("8");
                a.start_to_close_timeout = s("7");
                a.heartbeat_timeout = s("NONE");
                a.task_priority = s("-3");
            },
            ["fast", "9", "8", "7", "NONE", "-3"],
        ),
        (
            "some of each",
            |a| {
                a.start_to_close_timeout = s("NONE");
                a.task_priority = s("0");
            },
            [ACTIVITIES, "300", "100", "NONE", "30", "0"],
        ),
    ];
    for (name, edit, want) in cases {
        let mut h = H::ready();
        let run = h.start("w");
        let token = h.start_decision(&run);
        h.respond(
            &token,
            vec![schedule_with("a", |a| {
                a.control = s("ctl");
                edit(a)
            })],
        );
        assert_eq!(
            h.types(&run),
            [
                E::WorkflowExecutionStarted,
                E::DecisionTaskScheduled,
                E::DecisionTaskStarted,
                E::DecisionTaskCompleted,
                E::ActivityTaskScheduled
            ],
            "{name}"
        );
        let completed = h.event(&run, 4);
        let c = completed.decision_task_completed_event_attributes.unwrap();
        assert_eq!((c.scheduled_event_id, c.started_event_id), (2, 3));
        let e = h.event(&run, 5);
        let a = e.activity_task_scheduled_event_attributes.unwrap();
        assert_eq!(a.activity_id, "a");
        assert_eq!(*a.activity_type, act_type());
        assert_eq!(a.input.as_deref(), Some("activity input"));
        assert_eq!(a.control.as_deref(), Some("ctl"));
        assert_eq!(a.decision_task_completed_event_id, 4);
        let got = [
            a.task_list.name.as_str(),
            a.schedule_to_close_timeout.as_deref().unwrap(),
            a.schedule_to_start_timeout.as_deref().unwrap(),
            a.start_to_close_timeout.as_deref().unwrap(),
            a.heartbeat_timeout.as_deref().unwrap(),
            a.task_priority.as_deref().unwrap(),
        ];
        assert_eq!(got, want, "{name}");
        let q = h.queue(TaskKind::Activity, want[0]);
        assert_eq!(q.len(), 1, "{name}");
        assert_eq!(q[0].scheduled_event_id, 5);
        assert_eq!(q[0].priority.to_string(), want[5]);
        // Scheduling an activity needs no new decision task.
        assert_eq!(h.rec(&run).decision, DecisionSlot::None, "{name}");
        assert!(h.queue(TaskKind::Decision, DECISIONS).is_empty());
        assert_eq!(h.rec(&run).previous_started_event_id, 3);
        assert_eq!(
            h.rec(&run).latest_activity_task_timestamp,
            Some(Timestamp(h.clock))
        );
    }
}

#[test]
fn schedule_activity_task_failures() {
    use ScheduleActivityTaskFailedCause as C;
    let bare = ActivityType {
        name: "bare".into(),
        version: "1".into(),
    };
    let on_bare = |id: &str, f: fn(&mut ScheduleActivityTaskDecisionAttributes)| {
        let bare = bare.clone();
        schedule_with(id, move |a| {
            *a.activity_type = bare;
            f(a)
        })
    };
    // Each case: the decisions of one response; the last one fails with the cause.
    let cases: Vec<(&str, Vec<Decision>, C)> = vec![
        (
            "unknown type",
            vec![schedule_with("a", |a| a.activity_type.name = "nope".into())],
            C::ActivityTypeDoesNotExist,
        ),
        (
            "unknown version",
            vec![schedule_with("a", |a| a.activity_type.version = "2".into())],
            C::ActivityTypeDoesNotExist,
        ),
        (
            "deprecated type",
            vec![schedule_with("a", |a| a.activity_type.name = "old".into())],
            C::ActivityTypeDeprecated,
        ),
        (
            "id in use",
            vec![schedule("a"), schedule("a")],
            C::ActivityIdAlreadyInUse,
        ),
        (
            "open activities limit",
            vec![schedule("a"), schedule("b"), schedule("c")],
            C::OpenActivitiesLimitExceeded,
        ),
        (
            "no task list",
            vec![on_bare("a", |_| {})],
            C::DefaultTaskListUndefined,
        ),
        (
            "no schedule-to-close",
            vec![on_bare("a", |a| a.task_list = tl("x"))],
            C::DefaultScheduleToCloseTimeoutUndefined,
        ),
        (
            "no schedule-to-start",
            vec![on_bare("a", |a| {
                a.task_list = tl("x");
                a.schedule_to_close_timeout = s("10");
            })],
            C::DefaultScheduleToStartTimeoutUndefined,
        ),
        (
            "no start-to-close",
            vec![on_bare("a", |a| {
                a.task_list = tl("x");
                a.schedule_to_close_timeout = s("10");
                a.schedule_to_start_timeout = s("10");
            })],
            C::DefaultStartToCloseTimeoutUndefined,
        ),
    ];
    for (name, decisions, cause) in cases {
        let mut h = H::with_limits(Limits {
            max_open_activities: 2,
            ..Limits::default()
        });
        h.setup();
        h.ok(Op::RegisterActivityType(RegisterActivityTypeInput {
            domain: D.into(),
            name: "bare".into(),
            version: "1".into(),
            ..Default::default()
        }));
        h.ok(Op::RegisterActivityType(act_type_input("old", "1")));
        h.edit(|s| {
            s.activity_types
                .get_mut(&(D.into(), "old".into(), "1".into()))
                .unwrap()
                .type_info
                .status = RegistrationStatus::Deprecated
        });
        let run = h.start("w");
        let token = h.start_decision(&run);
        let ok_before = decisions.len() - 1;
        let last = decisions.last().unwrap().clone();
        h.respond(&token, decisions);
        let mut want = vec![
            E::WorkflowExecutionStarted,
            E::DecisionTaskScheduled,
            E::DecisionTaskStarted,
            E::DecisionTaskCompleted,
        ];
        want.extend(vec![E::ActivityTaskScheduled; ok_before]);
        want.extend([E::ScheduleActivityTaskFailed, E::DecisionTaskScheduled]);
        assert_eq!(h.types(&run), want, "{name}");
        let failed = h.event(&run, 5 + ok_before as i64);
        let f = failed
            .schedule_activity_task_failed_event_attributes
            .unwrap();
        let la = last.schedule_activity_task_decision_attributes.unwrap();
        assert_eq!(f.cause, cause, "{name}");
        assert_eq!(f.activity_id, la.activity_id, "{name}");
        assert_eq!(f.activity_type, la.activity_type, "{name}");
        assert_eq!(f.decision_task_completed_event_id, 4, "{name}");
        // The failure gets the decider a new decision task.
        assert_eq!(h.rec(&run).activities.len(), ok_before, "{name}");
        assert_eq!(h.queue(TaskKind::Decision, DECISIONS).len(), 1, "{name}");
        assert_eq!(h.scheduled_decision(&run), 6 + ok_before as i64);
    }
}

#[test]
fn bare_activity_type_with_everything_given() {
    let mut h = H::ready();
    h.ok(Op::RegisterActivityType(RegisterActivityTypeInput {
        domain: D.into(),
        name: "bare".into(),
        version: "1".into(),
        ..Default::default()
    }));
    let run = h.start("w");
    h.round(
        &run,
        vec![schedule_with("a", |a| {
            a.activity_type.name = "bare".into();
            a.task_list = tl("x");
            a.schedule_to_close_timeout = s("10");
            a.schedule_to_start_timeout = s("10");
            a.start_to_close_timeout = s("10");
        })],
    );
    let a = h
        .last(&run)
        .activity_task_scheduled_event_attributes
        .unwrap();
    assert_eq!(a.heartbeat_timeout.as_deref(), Some("NONE"));
    // Neither the decision nor the type set a priority: SWF leaves the member out.
    assert_eq!(a.task_priority, None);
    assert_eq!(h.queue(TaskKind::Activity, "x").len(), 1);
}

#[test]
fn activity_task_ends() {
    type Check = fn(&HistoryEvent, i64, i64);
    type MkOp = fn(&str) -> Op;
    let cases: Vec<(&str, MkOp, EventType, Check)> = vec![
        (
            "completed",
            complete_op,
            E::ActivityTaskCompleted,
            |e, sched, started| {
                let a = e
                    .activity_task_completed_event_attributes
                    .as_deref()
                    .unwrap();
                assert_eq!((a.scheduled_event_id, a.started_event_id), (sched, started));
                assert_eq!(a.result.as_deref(), Some("result"));
            },
        ),
        (
            "failed",
            fail_op,
            E::ActivityTaskFailed,
            |e, sched, started| {
                let a = e.activity_task_failed_event_attributes.as_deref().unwrap();
                assert_eq!((a.scheduled_event_id, a.started_event_id), (sched, started));
                assert_eq!(
                    (a.reason.as_deref(), a.details.as_deref()),
                    (Some("reason"), Some("details"))
                );
            },
        ),
        (
            "canceled",
            canceled_op,
            E::ActivityTaskCanceled,
            |e, sched, started| {
                let a = e
                    .activity_task_canceled_event_attributes
                    .as_deref()
                    .unwrap();
                assert_eq!((a.scheduled_event_id, a.started_event_id), (sched, started));
                assert_eq!(a.details.as_deref(), Some("canceled"));
                assert_eq!(a.latest_cancel_requested_event_id, None);
            },
        ),
    ];
    let seconds: [(&str, MkOp); 4] = [
        ("completed", complete_op),
        ("failed", fail_op),
        ("canceled", canceled_op),
        ("heartbeat", heartbeat_op),
    ];
    for (name, op, event, check) in cases {
        for (second, again) in seconds {
            let mut h = H::ready();
            let run = h.start("w");
            h.round(&run, vec![schedule("a")]);
            let sched = h.activity(&run, "a");
            let token = h.start_activity(&run, "a");
            let started = sched + 1;
            assert_eq!(h.ok(op(&token)), Reply::Done);
            assert_eq!(
                h.types(&run)[sched as usize - 1..],
                [
                    E::ActivityTaskScheduled,
                    E::ActivityTaskStarted,
                    event,
                    E::DecisionTaskScheduled
                ],
                "{name}"
            );
            check(&h.event(&run, started + 1), sched, started);
            assert!(h.rec(&run).activities.is_empty(), "{name}");
            assert_eq!(h.queue(TaskKind::Decision, DECISIONS).len(), 1, "{name}");
            // The attempt is over: any second call with its token is unknown and changes nothing.
            assert_eq!(
                h.fault(again(&token)).kind,
                FaultKind::UnknownResource,
                "{name} then {second}"
            );
        }
    }
}

#[test]
fn activity_end_while_a_decision_is_scheduled_adds_no_decision_task() {
    let mut h = H::ready();
    let run = h.start("w");
    h.round(&run, vec![schedule("a"), schedule("b")]);
    let ta = h.start_activity(&run, "a");
    let tb = h.start_activity(&run, "b");
    h.ok(complete_op(&ta));
    let scheduled = h.scheduled_decision(&run);
    h.ok(fail_op(&tb));
    assert_eq!(h.scheduled_decision(&run), scheduled);
    assert_eq!(h.last(&run).event_type, E::ActivityTaskFailed);
    assert_eq!(h.queue(TaskKind::Decision, DECISIONS).len(), 1);
}

#[test]
fn bad_activity_tokens() {
    let mut h = H::ready();
    let run = h.start("w");
    h.round(&run, vec![schedule("a"), schedule("queued")]);
    let token = h.start_activity(&run, "a");
    let t = TaskToken::decode(&token).unwrap();
    let queued = h.activity(&run, "queued");
    let cases: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("garbage", "%%%".into()),
        (
            "decision kind",
            TaskToken {
                kind: TaskKind::Decision,
                ..t.clone()
            }
            .encode(),
        ),
        (
            "unknown run",
            TaskToken {
                run_id: "nope".into(),
                ..t.clone()
            }
            .encode(),
        ),
        (
            "wrong started id",
            TaskToken {
                started_event_id: t.started_event_id + 1,
                ..t.clone()
            }
            .encode(),
        ),
        (
            "not started",
            TaskToken {
                scheduled_event_id: queued,
                started_event_id: 0,
                ..t.clone()
            }
            .encode(),
        ),
        (
            "not an activity",
            TaskToken {
                scheduled_event_id: 2,
                started_event_id: 3,
                ..t.clone()
            }
            .encode(),
        ),
    ];
    type MkOp = fn(&str) -> Op;
    let ops: [MkOp; 4] = [complete_op, fail_op, canceled_op, heartbeat_op];
    for (name, bad) in cases {
        for op in ops {
            assert_eq!(h.fault(op(&bad)).kind, FaultKind::UnknownResource, "{name}");
        }
    }
    assert_eq!(
        h.ok(heartbeat_op(&token)),
        Reply::Heartbeat {
            cancel_requested: false
        }
    );
    let a = &h.rec(&run).activities[&t.scheduled_event_id];
    assert_eq!(a.heartbeat_details.as_deref(), Some("50%"));
    assert_eq!(a.last_heartbeat, Some(Timestamp(h.clock)));
    // A heartbeat writes no history and needs no decision.
    assert_eq!(h.last(&run).event_type, E::ActivityTaskStarted);
}

/// A data directory of the release before keyrings: its tasks were handed unsigned tokens, which keep
/// working after the keyring is created (until their tasks close); a task started after that gets a
/// signed token, and the unsigned form rebuilt from its history is refused, as is any altered token.
#[test]
fn unsigned_tokens_of_tasks_started_before_the_keyring_still_work_and_no_others() {
    use crate::keyring::{encode_key, TokenKeyOp};
    let mut h = H::ready();
    let run = h.start("w");
    h.round(&run, vec![schedule("old"), schedule("new")]);
    let old_activity = h.start_activity(&run, "old");
    assert!(
        TaskToken::decode(&old_activity).is_some(),
        "unsigned: no keyring yet"
    );
    let old_decision_run = h.start("w2");
    let old_decision = h.start_decision(&old_decision_run);
    // The upgraded cluster's first leader creates the keyring.
    let key = encode_key(&[7; 32]);
    assert_eq!(h.ok(Op::TokenKey(TokenKeyOp::Init { key })), Reply::Done);
    let new_activity = h.start_activity(&run, "new");
    assert!(TaskToken::decode(&new_activity).is_none(), "signed");
    let t = TaskToken::check(&new_activity, None);
    assert_eq!(t, None, "a signed token needs the keyring");
    // Rebuilt from the history (run id, scheduled and started event ids): the unsigned form.
    let scheduled = h.activity(&run, "new");
    let rebuilt = TaskToken {
        kind: TaskKind::Activity,
        run_id: run.clone(),
        scheduled_event_id: scheduled,
        started_event_id: h.rec(&run).activities[&scheduled].started_event_id.unwrap(),
    }
    .encode();
    let f = h.fault(complete_op(&rebuilt));
    assert_eq!(
        (f.kind, f.message.as_str()),
        (
            FaultKind::UnknownResource,
            "Unknown task token: not an activity task token"
        )
    );
    let mut altered = new_activity.clone().into_bytes();
    let last = altered.len() - 2;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    assert_eq!(
        h.fault(complete_op(&altered)).kind,
        FaultKind::UnknownResource
    );
    // The real ones work: the old unsigned tokens and the new signed one.
    assert_eq!(h.ok(complete_op(&old_activity)), Reply::Done);
    assert_eq!(h.ok(complete_op(&new_activity)), Reply::Done);
    h.respond(&old_decision, vec![]);
    // A decision task started now gets a signed token; its unsigned twin is refused.
    let new_run = h.start("w3");
    let signed = h.start_decision(&new_run);
    let rec = h.rec(&new_run);
    assert!(rec.decision_token_signed);
    let DecisionSlot::Started {
        scheduled_event_id,
        started_event_id,
        ..
    } = rec.decision
    else {
        panic!("started")
    };
    let twin = TaskToken {
        kind: TaskKind::Decision,
        run_id: new_run.clone(),
        scheduled_event_id,
        started_event_id,
    }
    .encode();
    assert_eq!(
        h.fault(respond_op(&twin, vec![])).message,
        "Unknown task token: not a decision task token"
    );
    h.respond(&signed, vec![]);
}
