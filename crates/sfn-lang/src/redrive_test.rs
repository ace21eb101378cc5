//! Table tests of `redrive`: which executions can be redriven, and what a redrive writes and
//! schedules (events, ids, effects) for each kind of unfinished state.

use super::*;
use crate::interpret::{
    handle, start, Effect, Event, EveryActivityExists, ExecutionState, Outcome, Stamp, Status,
};
use crate::test_fixtures::{def, info, ACT, T0};
use serde_json::{json, Value};

fn at(ms: i64) -> Stamp {
    Stamp { now_ms: T0 + ms }
}

fn types(out: &Outcome) -> Vec<&str> {
    out.events.iter().map(|e| e.event_type.as_str()).collect()
}

/// The activity tasks an outcome schedules: (task id, input).
fn scheduled(out: &Outcome) -> Vec<(u64, Value)> {
    out.effects
        .iter()
        .filter_map(|e| match e {
            Effect::ScheduleActivity { task_id, input, .. } => Some((*task_id, input.clone())),
            _ => None,
        })
        .collect()
}

fn fail(task_id: u64) -> Event {
    Event::ActivityFailed {
        task_id,
        error: Some("Boom".into()),
        cause: Some("it broke".into()),
    }
}

fn ok(task_id: u64, output: Value) -> Event {
    Event::ActivitySucceeded { task_id, output }
}

fn redrive_at(d: &Definition, ex: &mut ExecutionState, ms: i64) -> Option<Outcome> {
    redrive(d, ex, at(ms), &EveryActivityExists)
}

#[test]
fn who_can_be_redriven() {
    let task = def(
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ACT, "End": true}}}),
    );
    // (how the execution ends, reason it cannot be redriven)
    type End = fn(&Definition, &mut ExecutionState);
    let cases: Vec<(&str, End, Option<&str>)> = vec![
        ("running", |_, _| {}, Some(reason::RUNNING)),
        (
            "succeeded",
            |d, ex| {
                handle(d, ex, &ok(3, json!(1)), at(1));
            },
            Some(reason::SUCCEEDED),
        ),
        (
            "failed",
            |d, ex| {
                handle(d, ex, &fail(3), at(1));
            },
            None,
        ),
        (
            "aborted",
            |d, ex| {
                handle(
                    d,
                    ex,
                    &Event::Stop {
                        error: None,
                        cause: None,
                    },
                    at(1),
                );
            },
            None,
        ),
        (
            "timed out",
            |d, ex| {
                handle(d, ex, &Event::ExecutionTimedOut, at(1));
            },
            None,
        ),
        (
            "failed with 24,999 events",
            |d, ex| {
                handle(d, ex, &fail(3), at(1));
                ex.last_event_id = MAX_EVENTS_TO_REDRIVE;
            },
            Some(reason::EVENT_LIMIT),
        ),
        (
            "failed with 24,990 events",
            |d, ex| {
                handle(d, ex, &fail(3), at(1));
                ex.last_event_id = MAX_EVENTS_TO_REDRIVE - 9;
            },
            None,
        ),
    ];
    for (name, end, want) in cases {
        let (mut ex, _) = start(&task, info(json!({})), 1, at(0));
        end(&task, &mut ex);
        assert_eq!(not_redrivable(&ex), want, "{name}");
        let before = ex.clone();
        let out = redrive_at(&task, &mut ex, 5);
        assert_eq!(out.is_none(), want.is_some(), "{name}");
        if want.is_some() {
            assert_eq!(ex, before, "{name}: a refused redrive changes nothing");
        } else {
            assert_eq!(ex.status, Status::Running, "{name}");
            assert_eq!(ex.info.redrive_count, 1, "{name}");
        }
    }
}

#[test]
fn failed_task_runs_again_with_its_input_after_the_successful_states() {
    let d = def(json!({"StartAt": "P", "States": {
        "P": {"Type": "Pass", "Result": 7, "ResultPath": "$.p", "Next": "T"},
        "T": {"Type": "Task", "Resource": ACT, "ResultPath": "$.t", "TimeoutSeconds": 60,
              "Retry": [{"ErrorEquals": ["Boom"], "MaxAttempts": 1, "IntervalSeconds": 1}], "End": true}}}));
    let (mut ex, out) = start(&d, info(json!({"in": 1})), 1, at(0));
    assert_eq!(scheduled(&out), [(5, json!({"in": 1, "p": 7}))]);
    // Fails, is retried once, fails again: the execution fails.
    let out = handle(&d, &mut ex, &fail(5), at(1));
    let Some(Effect::ArmTimer { timer_id, .. }) = out.effects.first().cloned() else {
        panic!("{out:?}")
    };
    let out = handle(&d, &mut ex, &Event::TimerFired { timer_id }, at(2000));
    assert_eq!(scheduled(&out), [(7, json!({"in": 1, "p": 7}))]);
    let out = handle(&d, &mut ex, &fail(7), at(3000));
    assert_eq!(types(&out), ["ActivityFailed", "ExecutionFailed"]);
    assert_eq!(ex.status, Status::Failed);
    let last = ex.last_event_id;

    let out = redrive_at(&d, &mut ex, 10_000).expect("redrivable");
    // The Pass state is not run again; the Task is entered afresh with the input it had.
    assert_eq!(
        types(&out),
        ["ExecutionRedriven", "TaskStateEntered", "ActivityScheduled"]
    );
    let ids: Vec<(u64, u64)> = out
        .events
        .iter()
        .map(|e| (e.id, e.previous_event_id))
        .collect();
    assert_eq!(
        ids,
        [(last + 1, last), (last + 2, last + 1), (last + 3, last + 2)]
    );
    assert_eq!(
        out.events[0].to_wire()["executionRedrivenEventDetails"],
        json!({"redriveCount": 1})
    );
    assert_eq!(out.events[0].timestamp_ms, T0 + 10_000);
    assert_eq!(scheduled(&out), [(last + 3, json!({"in": 1, "p": 7}))]);
    // The task's own timeout comes with the scheduling; the retry counter starts again at 0.
    assert_eq!(ex.root.retry_counts, [0]);
    // The old task ids are not waited for any more.
    assert_eq!(
        handle(&d, &mut ex, &ok(7, json!(1)), at(10_001)),
        Outcome::default()
    );
    // This time a failure is retried again (the counter was reset), then it succeeds.
    let out = handle(&d, &mut ex, &fail(last + 3), at(10_002));
    assert!(
        matches!(out.effects.first(), Some(Effect::ArmTimer { .. })),
        "{out:?}"
    );
    let Some(Effect::ArmTimer { timer_id, .. }) = out.effects.first().cloned() else {
        unreachable!()
    };
    let out = handle(&d, &mut ex, &Event::TimerFired { timer_id }, at(12_000));
    let (task, _) = scheduled(&out)[0].clone();
    let out = handle(&d, &mut ex, &ok(task, json!("done")), at(12_001));
    assert_eq!(
        types(&out),
        ["ActivitySucceeded", "TaskStateExited", "ExecutionSucceeded"]
    );
    assert_eq!(ex.status, Status::Succeeded);
    assert_eq!(not_redrivable(&ex), Some(reason::SUCCEEDED));
}

#[test]
fn each_unfinished_state_kind_is_entered_again() {
    // (definition, how it ends, events the redrive writes, effects kinds)
    let cases: Vec<(Value, Event, Vec<&str>)> = vec![
        // A Fail state fails again.
        (
            json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}}),
            Event::ExecutionTimedOut,
            vec!["ExecutionRedriven", "FailStateEntered", "ExecutionFailed"],
        ),
        // A Wait stopped while waiting: its timer is armed anew.
        (
            json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 5, "End": true}}}),
            Event::Stop {
                error: None,
                cause: None,
            },
            vec!["ExecutionRedriven", "WaitStateEntered"],
        ),
        // A Task timed out with the execution: scheduled anew.
        (
            json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ACT, "End": true}}}),
            Event::ExecutionTimedOut,
            vec!["ExecutionRedriven", "TaskStateEntered", "ActivityScheduled"],
        ),
    ];
    for (d, end, want) in cases {
        let d = def(d);
        let (mut ex, _) = start(&d, info(json!({})), 1, at(0));
        handle(&d, &mut ex, &end, at(1));
        let out = redrive_at(&d, &mut ex, 100).expect("redrivable");
        assert_eq!(types(&out), want, "{d:?}");
        if want.contains(&"WaitStateEntered") {
            assert!(out.effects.iter().any(
                |e| matches!(e, Effect::ArmTimer { due_ms, .. } if *due_ms == T0 + 100 + 5000)
            ));
        }
    }
}

#[test]
fn machine_timeout_starts_again_and_context_shows_the_redrive() {
    let d = def(json!({"StartAt": "T", "TimeoutSeconds": 30, "States": {
        "T": {"Type": "Task", "Resource": ACT, "End": true,
              "Parameters": {"count.$": "$$.Execution.RedriveCount", "exec.$": "$$.Execution"}}}}));
    let (mut ex, out) = start(&d, info(json!({})), 1, at(0));
    let (_, input) = scheduled(&out)[0].clone();
    // Before any redrive: RedriveCount 0, no RedriveTime.
    assert_eq!(input["count"], json!(0));
    assert!(input["exec"].get("RedriveTime").is_none());
    handle(&d, &mut ex, &Event::ExecutionTimedOut, at(30_000));
    assert_eq!(ex.status, Status::TimedOut);
    let out = redrive_at(&d, &mut ex, 60_000).expect("redrivable");
    assert!(out.effects.contains(&Effect::ArmExecutionTimeout {
        due_ms: T0 + 90_000
    }));
    let (_, input) = scheduled(&out)[0].clone();
    assert_eq!(input["count"], json!(1));
    assert_eq!(
        input["exec"]["RedriveTime"],
        json!("2023-11-14T22:14:20.000Z")
    );
    assert_eq!(
        input["exec"]["StartTime"],
        json!("2023-11-14T22:13:20.000Z")
    );
}

#[test]
fn parallel_reruns_only_the_branch_that_failed() {
    let d = def(
        json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": ACT, "End": true}}},
        {"StartAt": "B0", "States": {
            "B0": {"Type": "Pass", "Result": "b0", "Next": "B"},
            "B": {"Type": "Task", "Resource": ACT, "End": true}}},
        {"StartAt": "C", "States": {"C": {"Type": "Task", "Resource": ACT, "End": true}}}]}}}),
    );
    let (mut ex, out) = start(&d, info(json!({"x": 1})), 1, at(0));
    let tasks: Vec<u64> = scheduled(&out).into_iter().map(|(t, _)| t).collect();
    assert_eq!(tasks.len(), 3);
    // Branch A succeeds, branch B fails; C is aborted with it.
    handle(&d, &mut ex, &ok(tasks[0], json!("a")), at(1));
    let out = handle(&d, &mut ex, &fail(tasks[1]), at(2));
    assert!(out
        .effects
        .contains(&Effect::CancelActivity { task_id: tasks[2] }));
    assert_eq!(ex.status, Status::Failed);

    let out = redrive_at(&d, &mut ex, 100).expect("redrivable");
    // A is not run again; B re-enters its failed state B (not B0) with B's input; C runs again.
    assert_eq!(
        types(&out),
        [
            "ExecutionRedriven",
            "TaskStateEntered",
            "ActivityScheduled",
            "TaskStateEntered",
            "ActivityScheduled"
        ]
    );
    assert_eq!(out.events[1].details["name"], json!("B"));
    assert_eq!(out.events[1].details["input"], json!("\"b0\""));
    assert_eq!(out.events[3].details["name"], json!("C"));
    let again: Vec<u64> = scheduled(&out).into_iter().map(|(t, _)| t).collect();
    handle(&d, &mut ex, &ok(again[0], json!("b")), at(101));
    let out = handle(&d, &mut ex, &ok(again[1], json!("c")), at(102));
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
    // The first attempt's result of A is kept.
    assert_eq!(
        out.events[4].details["output"],
        json!("[\"a\",\"b\",\"c\"]")
    );
}

#[test]
fn map_reruns_failed_and_unstarted_iterations() {
    let d = def(
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "MaxConcurrency": 2,
        "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ACT, "End": true}}}}}}),
    );
    let (mut ex, out) = start(&d, info(json!([10, 20, 30])), 1, at(0));
    let first: Vec<(u64, Value)> = scheduled(&out);
    assert_eq!(first.len(), 2, "MaxConcurrency 2");
    handle(&d, &mut ex, &ok(first[0].0, json!("ten")), at(1));
    // Item 2 started when item 0 finished; item 1 fails, item 2 is aborted.
    let out = handle(&d, &mut ex, &fail(first[1].0), at(2));
    assert_eq!(ex.status, Status::Failed, "{:?}", types(&out));

    let out = redrive_at(&d, &mut ex, 100).expect("redrivable");
    let again = scheduled(&out);
    // Items 1 and 2 run again with their own inputs; item 0 is not.
    let inputs: Vec<Value> = again.iter().map(|(_, i)| i.clone()).collect();
    assert_eq!(inputs, [json!(20), json!(30)]);
    handle(&d, &mut ex, &ok(again[0].0, json!("twenty")), at(101));
    let out = handle(&d, &mut ex, &ok(again[1].0, json!("thirty")), at(102));
    assert_eq!(ex.status, Status::Succeeded, "{:?}", types(&out));
    let done = out.events.last().map(|e| e.details["output"].clone());
    assert_eq!(done, Some(json!("[\"ten\",\"twenty\",\"thirty\"]")));
}

#[test]
fn redriven_twice_counts_two() {
    let d = def(
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ACT, "End": true}}}),
    );
    let (mut ex, _) = start(&d, info(json!({})), 1, at(0));
    handle(&d, &mut ex, &fail(3), at(1));
    let out = redrive_at(&d, &mut ex, 10).expect("first");
    let (t, _) = scheduled(&out)[0].clone();
    handle(&d, &mut ex, &fail(t), at(11));
    let out = redrive_at(&d, &mut ex, 20).expect("second");
    assert_eq!(out.events[0].details, json!({"redriveCount": 2}));
    assert_eq!(ex.info.redrive_count, 2);
    assert_eq!(ex.info.redrive_time_ms, Some(T0 + 20));
}

#[test]
fn map_iterations_never_started_start_after_the_redriven_one() {
    let d = def(
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "MaxConcurrency": 1,
        "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ACT, "End": true}}}}}}),
    );
    let (mut ex, out) = start(&d, info(json!(["a", "b", "c"])), 1, at(0));
    let first = scheduled(&out);
    assert_eq!(first.len(), 1);
    handle(&d, &mut ex, &fail(first[0].0), at(1));
    assert_eq!(ex.status, Status::Failed);
    // Item 0 runs again; items 1 and 2, never started, start one by one after it.
    let out = redrive_at(&d, &mut ex, 100).expect("redrivable");
    assert_eq!(
        scheduled(&out)
            .iter()
            .map(|(_, i)| i.clone())
            .collect::<Vec<_>>(),
        [json!("a")]
    );
    let mut task = scheduled(&out)[0].0;
    let mut inputs = Vec::new();
    for n in 0..3 {
        let out = handle(&d, &mut ex, &ok(task, json!(n)), at(101 + n));
        if let Some((t, i)) = scheduled(&out).first().cloned() {
            task = t;
            inputs.push(i);
        }
    }
    assert_eq!(inputs, [json!("b"), json!("c")]);
    assert_eq!(ex.status, Status::Succeeded);
}
