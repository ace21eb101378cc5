//! Scenario tests of the interpreter: the history events (types in order, ids chained), effects and
//! outputs of whole executions driven event by event.

use super::*;
use crate::test_fixtures::{def, info, ACT, T0};
use serde_json::json;

fn types(out: &Outcome) -> Vec<&str> {
    out.events.iter().map(|e| e.event_type.as_str()).collect()
}

fn scheduled(out: &Outcome) -> Vec<u64> {
    out.effects
        .iter()
        .filter_map(|e| {
            if let Effect::ScheduleActivity { task_id, .. } = e {
                Some(*task_id)
            } else {
                None
            }
        })
        .collect()
}

fn at(ms: i64) -> Stamp {
    Stamp { now_ms: T0 + ms }
}

#[test]
fn pass_task_choice_succeed() {
    let d = def(json!({"StartAt": "P", "States": {
        "P": {"Type": "Pass", "Result": {"n": 1}, "ResultPath": "$.p", "Next": "T"},
        "T": {"Type": "Task", "Resource": ACT, "TimeoutSeconds": 30, "HeartbeatSeconds": 10, "ResultPath": "$.t", "Next": "C"},
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.t.ok", "BooleanEquals": true, "Next": "S"}], "Default": "F"},
        "S": {"Type": "Succeed"},
        "F": {"Type": "Fail", "Error": "NotOk"}}}));
    let (mut ex, out) = start(&d, info(json!({"in": 1})), 9, at(0));
    assert_eq!(
        types(&out),
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "TaskStateEntered",
            "ActivityScheduled"
        ]
    );
    let ids: Vec<(u64, u64)> = out
        .events
        .iter()
        .map(|e| (e.id, e.previous_event_id))
        .collect();
    assert_eq!(ids, [(1, 0), (2, 0), (3, 2), (4, 3), (5, 4)]);
    assert_eq!(
        out.events[0].to_wire()["executionStartedEventDetails"]["input"],
        json!("{\"in\":1}")
    );
    assert_eq!(
        out.events[4].details,
        json!({"resource": ACT, "input": "{\"in\":1,\"p\":{\"n\":1}}", "inputDetails": {"truncated": false}, "timeoutInSeconds": 30, "heartbeatInSeconds": 10})
    );
    assert_eq!(
        out.effects,
        [Effect::ScheduleActivity {
            task_id: 5,
            resource: ACT.into(),
            input: json!({"in": 1, "p": {"n": 1}}),
            timeout_seconds: Some(30),
            heartbeat_seconds: Some(10)
        }]
    );

    let out = handle(
        &d,
        &mut ex,
        &Event::ActivityStarted {
            task_id: 5,
            worker_name: Some("w1".into()),
        },
        at(10),
    );
    assert_eq!(types(&out), ["ActivityStarted"]);
    assert_eq!(out.events[0].details, json!({"workerName": "w1"}));
    // A stale or unknown task id changes nothing.
    assert_eq!(
        handle(
            &d,
            &mut ex,
            &Event::ActivitySucceeded {
                task_id: 99,
                output: json!({})
            },
            at(20)
        ),
        Outcome::default()
    );
    let out = handle(
        &d,
        &mut ex,
        &Event::ActivitySucceeded {
            task_id: 5,
            output: json!({"ok": true}),
        },
        at(20),
    );
    assert_eq!(
        types(&out),
        [
            "ActivitySucceeded",
            "TaskStateExited",
            "ChoiceStateEntered",
            "ChoiceStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(
        out.events.last().unwrap().details["output"],
        json!("{\"in\":1,\"p\":{\"n\":1},\"t\":{\"ok\":true}}")
    );
    assert_eq!(ex.status, Status::Succeeded);
    assert_eq!(ex.last_event_id, 13);
    assert_eq!(
        handle(
            &d,
            &mut ex,
            &Event::ActivitySucceeded {
                task_id: 5,
                output: json!({})
            },
            at(30)
        ),
        Outcome::default(),
        "closed executions ignore events"
    );
}

#[test]
fn retry_then_catch() {
    let d = def(json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": ACT, "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 2, "MaxAttempts": 1}],
              "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "H"}], "End": true},
        "H": {"Type": "Pass", "End": true}}}));
    let (mut ex, out) = start(&d, info(json!({"a": 1})), 1, at(0));
    let t1 = scheduled(&out)[0];
    let out = handle(
        &d,
        &mut ex,
        &Event::ActivityFailed {
            task_id: t1,
            error: Some("Boom".into()),
            cause: Some("first".into()),
        },
        at(100),
    );
    assert_eq!(types(&out), ["ActivityFailed"]);
    let [Effect::ArmTimer { timer_id, due_ms }] = out.effects[..] else {
        panic!("{:?}", out.effects)
    };
    assert_eq!(due_ms, T0 + 2100);
    let out = handle(&d, &mut ex, &Event::TimerFired { timer_id }, at(2100));
    assert_eq!(
        types(&out),
        ["ActivityScheduled"],
        "a retry writes no new TaskStateEntered"
    );
    let t2 = scheduled(&out)[0];
    assert_ne!(t1, t2);
    assert_eq!(
        handle(
            &d,
            &mut ex,
            &Event::ActivityFailed {
                task_id: t1,
                error: None,
                cause: None
            },
            at(2200)
        ),
        Outcome::default(),
        "the first attempt's token is dead"
    );
    let out = handle(
        &d,
        &mut ex,
        &Event::ActivityFailed {
            task_id: t2,
            error: Some("Boom".into()),
            cause: Some("second".into()),
        },
        at(2200),
    );
    // A caught error goes straight to the handler (no TaskStateExited), as AWS histories show.
    assert_eq!(
        types(&out),
        [
            "ActivityFailed",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(
        out.events.last().unwrap().details["output"],
        json!("{\"a\":1,\"err\":{\"Error\":\"Boom\",\"Cause\":\"second\"}}")
    );
}

#[test]
fn timeouts_and_failures() {
    let d = def(
        json!({"StartAt": "T", "TimeoutSeconds": 60, "States": {"T": {"Type": "Task", "Resource": ACT, "End": true}}}),
    );
    let (mut ex, out) = start(&d, info(json!({})), 1, at(0));
    assert!(out.effects.contains(&Effect::ArmExecutionTimeout {
        due_ms: T0 + 60_000
    }));
    let out = handle(
        &d,
        &mut ex,
        &Event::ActivityTimedOut {
            task_id: 3,
            error: "States.HeartbeatTimeout".into(),
            cause: None,
        },
        at(5),
    );
    assert_eq!(types(&out), ["ActivityTimedOut", "ExecutionFailed"]);
    assert_eq!(
        out.events[1].details,
        json!({"error": "States.HeartbeatTimeout", "cause": ""})
    );
    assert_eq!(ex.status, Status::Failed);

    let (mut ex, _) = start(&d, info(json!({})), 1, at(0));
    let out = handle(&d, &mut ex, &Event::ExecutionTimedOut, at(60_000));
    assert_eq!(types(&out), ["ExecutionTimedOut"]);
    assert_eq!(out.effects, [Effect::CancelActivity { task_id: 3 }]);

    let (mut ex, _) = start(&d, info(json!({})), 1, at(0));
    let out = handle(
        &d,
        &mut ex,
        &Event::Stop {
            error: Some("E".into()),
            cause: None,
        },
        at(1),
    );
    assert_eq!(types(&out), ["ExecutionAborted"]);
    assert_eq!(out.effects, [Effect::CancelActivity { task_id: 3 }]);
    assert_eq!(ex.status, Status::Aborted);

    // A Fail state, and a runtime error with AWS's cause prefix.
    let d = def(
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Bad", "Cause": "because"}}}),
    );
    let (ex, out) = start(&d, info(json!({})), 1, at(0));
    assert_eq!(
        types(&out),
        ["ExecutionStarted", "FailStateEntered", "ExecutionFailed"]
    );
    assert_eq!(
        (ex.status, &out.events[2].details),
        (Status::Failed, &json!({"error": "Bad", "cause": "because"}))
    );
    let d = def(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": "$.nope", "End": true}}}),
    );
    let (_, out) = start(&d, info(json!({})), 1, at(0));
    assert_eq!(out.events[2].details["error"], "States.Runtime");
    assert!(out.events[2].details["cause"]
        .as_str()
        .unwrap()
        .starts_with(
            "An error occurred while executing the state 'P' (entered at the event id #2). "
        ));
}

/// A world without the activity `ACT`.
struct NoActivities;

impl World for NoActivities {
    fn activity_exists(&self, arn: &str) -> bool {
        arn != ACT
    }
}

/// A Task state whose activity does not exist when it is entered. A history recorded against AWS
/// (localstack, tests/aws/services/stepfunctions/v2/activities/test_activities.snapshot.json,
/// `test_activity_task_on_deleted`, an activity deleted before the execution starts) is
/// ExecutionStarted (1, previous 0), TaskStateEntered (2, previous 0), ExecutionFailed (3, previous 2)
/// with error `States.Runtime` and cause `An error occurred while executing the state 'ActivityTask'
/// (entered at the event id #2). The activity <activity arn> does not exist.`: no ActivityScheduled and
/// no `ActivityScheduleFailed` event. States.Runtime is never retried or caught.
#[test]
fn a_task_whose_activity_does_not_exist_fails_the_execution() {
    let d = def(json!({"StartAt": "ActivityTask", "States": {
        "ActivityTask": {"Type": "Task", "Resource": ACT, "End": true,
            "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 3}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]},
        "Caught": {"Type": "Pass", "End": true}}}));
    let (ex, out) = start_in(
        &d,
        info(json!({"Value1": "Hello"})),
        1,
        at(0),
        &NoActivities,
    );
    assert_eq!(
        types(&out),
        ["ExecutionStarted", "TaskStateEntered", "ExecutionFailed"]
    );
    let ids: Vec<(u64, u64)> = out
        .events
        .iter()
        .map(|e| (e.id, e.previous_event_id))
        .collect();
    assert_eq!(ids, [(1, 0), (2, 0), (3, 2)]);
    assert_eq!(
        out.events[2].details,
        json!({"error": "States.Runtime", "cause": format!(
            "An error occurred while executing the state 'ActivityTask' (entered at the event id #2). The activity {ACT} does not exist.")})
    );
    assert_eq!(ex.status, Status::Failed);
    assert!(out.effects.is_empty(), "{:?}", out.effects);

    // Deleted between a failure and its retry: the retry fails the execution the same way.
    let d = def(
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ACT, "End": true,
        "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 1}]}}}),
    );
    let (mut ex, out) = start(&d, info(json!({})), 1, at(0));
    assert_eq!(scheduled(&out), [3]);
    let fail = Event::ActivityFailed {
        task_id: 3,
        error: Some("Boom".into()),
        cause: None,
    };
    let out = handle(&d, &mut ex, &fail, at(10));
    let timer_id = match out.effects.as_slice() {
        [Effect::ArmTimer { timer_id, .. }] => *timer_id,
        other => panic!("{other:?}"),
    };
    let out = handle_in(
        &d,
        &mut ex,
        &Event::TimerFired { timer_id },
        at(1010),
        &NoActivities,
    );
    assert_eq!(types(&out), ["ExecutionFailed"]);
    assert_eq!(out.events[0].details["error"], "States.Runtime");
    assert_eq!(ex.status, Status::Failed);

    // Inside a Parallel branch: the branch fails and with it the execution.
    let d = def(
        json!({"StartAt": "Par", "States": {"Par": {"Type": "Parallel", "End": true,
        "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:us-east-1:123456789012:activity:other", "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": ACT, "End": true}}}]}}}),
    );
    let (ex, out) = start_in(&d, info(json!({})), 1, at(0), &NoActivities);
    assert_eq!(ex.status, Status::Failed);
    assert_eq!(
        out.events.last().unwrap().details["error"],
        "States.Runtime"
    );
    assert_eq!(
        out.effects,
        [
            Effect::ScheduleActivity {
                task_id: 5,
                resource: "arn:aws:states:us-east-1:123456789012:activity:other".into(),
                input: json!({}),
                timeout_seconds: None,
                heartbeat_seconds: None
            },
            Effect::CancelActivity { task_id: 5 }
        ]
    );
}

#[test]
fn wait_state() {
    let d = def(
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "SecondsPath": "$.s", "End": true}}}),
    );
    let (mut ex, out) = start(&d, info(json!({"s": 5})), 1, at(0));
    assert_eq!(types(&out), ["ExecutionStarted", "WaitStateEntered"]);
    assert_eq!(
        out.effects,
        [Effect::ArmTimer {
            timer_id: 2,
            due_ms: T0 + 5000
        }]
    );
    assert_eq!(
        handle(&d, &mut ex, &Event::TimerFired { timer_id: 7 }, at(5000)),
        Outcome::default()
    );
    let out = handle(&d, &mut ex, &Event::TimerFired { timer_id: 2 }, at(5000));
    assert_eq!(types(&out), ["WaitStateExited", "ExecutionSucceeded"]);
}

#[test]
fn parallel_branches() {
    let d = def(
        json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": "a", "End": true}}},
        {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": ACT, "End": true}}}]}}}),
    );
    let (mut ex, out) = start(&d, info(json!({"x": 1})), 1, at(0));
    assert_eq!(
        types(&out),
        [
            "ExecutionStarted",
            "ParallelStateEntered",
            "ParallelStateStarted",
            "PassStateEntered",
            "PassStateExited",
            "TaskStateEntered",
            "ActivityScheduled"
        ]
    );
    let t = scheduled(&out)[0];
    let round: ExecutionState = serde_json::from_value(serde_json::to_value(&ex).unwrap()).unwrap();
    assert_eq!(round, ex, "the stored form round-trips");
    let out = handle(
        &d,
        &mut ex,
        &Event::ActivitySucceeded {
            task_id: t,
            output: json!("b"),
        },
        at(1),
    );
    assert_eq!(
        types(&out),
        [
            "ActivitySucceeded",
            "TaskStateExited",
            "ParallelStateSucceeded",
            "ParallelStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(
        out.events.last().unwrap().details["output"],
        json!("[\"a\",\"b\"]")
    );

    // A failed branch stops the others and fails the Parallel state with the branch's error.
    let d = def(
        json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": ACT, "End": true}}},
        {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": ACT, "End": true}}}]}}}),
    );
    let (mut ex, out) = start(&d, info(json!({})), 1, at(0));
    let ts = scheduled(&out);
    let out = handle(
        &d,
        &mut ex,
        &Event::ActivityFailed {
            task_id: ts[1],
            error: Some("E".into()),
            cause: Some("c".into()),
        },
        at(1),
    );
    assert_eq!(
        types(&out),
        ["ActivityFailed", "ParallelStateFailed", "ExecutionFailed"]
    );
    assert_eq!(out.effects, [Effect::CancelActivity { task_id: ts[0] }]);
    assert_eq!(out.events[2].details, json!({"error": "E", "cause": "c"}));
}

#[test]
fn map_iterations_with_concurrency() {
    let d = def(
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 1,
        "ItemSelector": {"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"},
        "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ACT, "End": true}}}, "End": true}}}),
    );
    let (mut ex, out) = start(&d, info(json!({"items": ["x", "y"]})), 1, at(0));
    assert_eq!(
        types(&out),
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapIterationStarted",
            "TaskStateEntered",
            "ActivityScheduled"
        ]
    );
    assert_eq!(out.events[2].details, json!({"length": 2}));
    let Effect::ScheduleActivity {
        task_id: t1, input, ..
    } = &out.effects[0]
    else {
        panic!()
    };
    assert_eq!(input, &json!({"v": "x", "i": 0}));
    let out = handle(
        &d,
        &mut ex,
        &Event::ActivitySucceeded {
            task_id: *t1,
            output: json!(1),
        },
        at(1),
    );
    assert_eq!(
        types(&out),
        [
            "ActivitySucceeded",
            "TaskStateExited",
            "MapIterationSucceeded",
            "MapIterationStarted",
            "TaskStateEntered",
            "ActivityScheduled"
        ]
    );
    let t2 = scheduled(&out)[0];
    let out = handle(
        &d,
        &mut ex,
        &Event::ActivitySucceeded {
            task_id: t2,
            output: json!(2),
        },
        at(2),
    );
    assert_eq!(
        types(&out),
        [
            "ActivitySucceeded",
            "TaskStateExited",
            "MapIterationSucceeded",
            "MapStateSucceeded",
            "MapStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(out.events.last().unwrap().details["output"], json!("[1,2]"));

    // An empty item list finishes at once.
    let (ex, out) = start(&d, info(json!({"items": []})), 1, at(0));
    assert_eq!(ex.status, Status::Succeeded);
    assert_eq!(out.events.last().unwrap().details["output"], json!("[]"));
}

#[test]
fn history_limit() {
    // A loop of Pass states fails the execution at 25,000 events, as AWS does.
    let d = def(json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 1, "Next": "A"},
        "A": {"Type": "Pass", "Next": "W"}}}));
    let (mut ex, out) = start(&d, info(json!({})), 1, at(0));
    let mut timer = match out.effects[..] {
        [Effect::ArmTimer { timer_id, .. }] => timer_id,
        _ => panic!(),
    };
    let mut steps = 0;
    while ex.status == Status::Running {
        let out = handle(
            &d,
            &mut ex,
            &Event::TimerFired { timer_id: timer },
            at(steps),
        );
        steps += 1;
        assert!(steps < 10_000, "never ends");
        if let Some(Effect::ArmTimer { timer_id, .. }) = out.effects.first() {
            timer = *timer_id;
        } else {
            assert_eq!(
                out.events.last().map(|e| (e.id, e.event_type.as_str())),
                Some((MAX_HISTORY_EVENTS, "ExecutionFailed"))
            );
        }
    }
    assert_eq!(
        (ex.status, ex.last_event_id),
        (Status::Failed, MAX_HISTORY_EVENTS)
    );

    // A loop of Pass states with nothing to wait for runs to the limit within one step, without
    // exhausting the (2 MiB) test thread's stack.
    let d = def(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}}),
    );
    let (ex, out) = start(&d, info(json!({})), 1, at(0));
    assert_eq!(
        (ex.status, out.events.len() as u64),
        (Status::Failed, MAX_HISTORY_EVENTS)
    );
    assert_eq!(out.events.last().unwrap().event_type, "ExecutionFailed");
}
