//! The history validator: checks that a workflow history is well formed, as SWF guarantees. Used by the
//! unit tests, the end-to-end tests and (later) the chaos suite on every history they see.
//!
//! Rules: event ids contiguous from 1; the first event is WorkflowExecutionStarted; timestamps never
//! decrease; every event carries exactly its own attributes member; every reference
//! (`scheduledEventId`, `startedEventId`, `decisionTaskCompletedEventId`, `initiatedEventId`,
//! `latestCancelRequestedEventId`) points at an earlier event of the right type; a started task is
//! closed at most once; nothing follows the close event; the members SWF writes even when they say
//! "none" are there (`parentInitiatedEventId`, `externalInitiatedEventId`, a decision task's
//! `scheduleToStartTimeout`); decision tasks as real SWF runs them: at most one scheduled and one
//! started at a time (the next one may be scheduled while one is started), and a started one is the
//! one scheduled, started only once the previous one completed or timed out.

use serde_json::Value;
use swf_types::shapes::{EventType, HistoryEvent};

/// A rule a history breaks, with the event where it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub event_id: i64,
    pub rule: String,
}

fn is_close(t: EventType) -> bool {
    matches!(
        t,
        EventType::WorkflowExecutionCompleted
            | EventType::WorkflowExecutionFailed
            | EventType::WorkflowExecutionCanceled
            | EventType::WorkflowExecutionTerminated
            | EventType::WorkflowExecutionTimedOut
            | EventType::WorkflowExecutionContinuedAsNew
    )
}

/// The event types a reference member of an event of type `t` may point at.
fn expected_targets(t: EventType, member: &str) -> Option<&'static [EventType]> {
    use EventType::*;
    let s = t.as_str();
    Some(match member {
        "decisionTaskCompletedEventId" => &[DecisionTaskCompleted],
        "scheduledEventId" if s.starts_with("DecisionTask") => &[DecisionTaskScheduled],
        "scheduledEventId" if s.starts_with("ActivityTask") => &[ActivityTaskScheduled],
        "scheduledEventId" if s.starts_with("LambdaFunction") => &[LambdaFunctionScheduled],
        "startedEventId" if s.starts_with("DecisionTask") => &[DecisionTaskStarted],
        "startedEventId" if s.starts_with("ActivityTask") => &[ActivityTaskStarted],
        "startedEventId" if s.starts_with("Timer") => &[TimerStarted],
        "startedEventId" if s.starts_with("ChildWorkflowExecution") => {
            &[ChildWorkflowExecutionStarted]
        }
        "startedEventId" if s.starts_with("LambdaFunction") => &[LambdaFunctionStarted],
        "initiatedEventId"
            if s.starts_with("ChildWorkflowExecution") || s.starts_with("StartChild") =>
        {
            &[StartChildWorkflowExecutionInitiated]
        }
        "initiatedEventId" if s.contains("Signal") => &[SignalExternalWorkflowExecutionInitiated],
        "initiatedEventId" if s.contains("Cancel") => {
            &[RequestCancelExternalWorkflowExecutionInitiated]
        }
        "latestCancelRequestedEventId" => &[ActivityTaskCancelRequested],
        _ => return None,
    })
}

/// Checks a whole history (events in id order); returns every violation found.
pub fn validate_history(events: &[HistoryEvent]) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut bad = |event_id: i64, rule: String| out.push(Violation { event_id, rule });
    let mut closed_at: Option<i64> = None;
    let mut last_time = None;
    let mut closed_tasks = std::collections::BTreeSet::new();
    // The decision task scheduled and not started, and the one started and not ended.
    let mut decision_scheduled: Option<i64> = None;
    let mut decision_started: Option<i64> = None;
    for (i, e) in events.iter().enumerate() {
        let id = e.event_id;
        if id != i as i64 + 1 {
            bad(
                id,
                format!("event ids are not contiguous from 1: expected {}", i + 1),
            );
        }
        if i == 0 && e.event_type != EventType::WorkflowExecutionStarted {
            bad(id, "the first event is not WorkflowExecutionStarted".into());
        }
        if let Some(at) = closed_at {
            bad(id, format!("an event follows the close event {at}"));
        }
        if last_time.is_some_and(|t| e.event_timestamp < t) {
            bad(id, "timestamp goes backwards".into());
        }
        last_time = Some(e.event_timestamp);
        let v = serde_json::to_value(e).unwrap_or(Value::Null);
        let t = e.event_type.as_str();
        let want = format!("{}{}EventAttributes", t[..1].to_lowercase(), &t[1..]);
        let members: Vec<&String> = v
            .as_object()
            .map(|o| {
                o.keys()
                    .filter(|k| k.ends_with("EventAttributes"))
                    .collect()
            })
            .unwrap_or_default();
        if members != [&want] {
            bad(
                id,
                format!("attributes members {members:?}, expected exactly {want}"),
            );
        }
        if let Some(attrs) = v.get(&want).and_then(Value::as_object) {
            for (member, value) in attrs {
                let Some(allowed) = expected_targets(e.event_type, member) else {
                    continue;
                };
                let Some(target) = value.as_i64() else {
                    continue;
                };
                // 0 means "none" (a task canceled before it started, a decision failed before it initiated).
                if target == 0 && (member == "startedEventId" || member == "initiatedEventId") {
                    continue;
                }
                match events
                    .get((target - 1).max(0) as usize)
                    .filter(|_| target >= 1 && target < id)
                {
                    Some(r) if allowed.contains(&r.event_type) => {}
                    Some(r) => bad(
                        id,
                        format!(
                            "{member} {target} is a {}, expected one of {allowed:?}",
                            r.event_type.as_str()
                        ),
                    ),
                    None => bad(
                        id,
                        format!("{member} {target} does not name an earlier event"),
                    ),
                }
            }
            // A started task is closed at most once.
            // A started task (or child) is closed at most once, whatever the closing event type.
            let family = ["ActivityTask", "DecisionTask", "ChildWorkflowExecution"]
                .into_iter()
                .find(|f| t.starts_with(*f));
            let closes = ["Completed", "Failed", "TimedOut", "Canceled", "Terminated"]
                .iter()
                .any(|c| t.ends_with(c));
            if let (Some(family), true) = (family, closes) {
                let key = attrs
                    .get("scheduledEventId")
                    .or_else(|| attrs.get("initiatedEventId"))
                    .and_then(Value::as_i64);
                if let Some(k) = key {
                    if !closed_tasks.insert((family, k)) {
                        bad(id, format!("task {k} closed twice"));
                    }
                }
            }
        }
        if let Some(attrs) = v.get(&want).and_then(Value::as_object) {
            for member in always_written(e.event_type) {
                if !attrs.contains_key(*member) {
                    bad(
                        id,
                        format!("{want} lacks {member}, which SWF always writes"),
                    );
                }
            }
        }
        match e.event_type {
            EventType::DecisionTaskScheduled => {
                if let Some(other) = decision_scheduled.replace(id) {
                    bad(
                        id,
                        format!("a second decision task scheduled while {other} is not started"),
                    );
                }
            }
            EventType::DecisionTaskStarted => {
                let scheduled = e
                    .decision_task_started_event_attributes
                    .as_ref()
                    .map(|a| a.scheduled_event_id);
                if let Some(other) = decision_started.replace(id) {
                    bad(
                        id,
                        format!("a decision task started while {other} is started"),
                    );
                }
                if scheduled != decision_scheduled.take() {
                    bad(
                        id,
                        format!("decision task {scheduled:?} started, not the one scheduled"),
                    );
                }
            }
            EventType::DecisionTaskCompleted | EventType::DecisionTaskTimedOut => {
                let started = e
                    .decision_task_completed_event_attributes
                    .as_ref()
                    .map(|a| a.started_event_id)
                    .or_else(|| {
                        e.decision_task_timed_out_event_attributes
                            .as_ref()
                            .map(|a| a.started_event_id)
                    });
                if started.is_some() && started == decision_started {
                    decision_started = None;
                } else {
                    bad(
                        id,
                        format!(
                            "ends decision task {started:?}, not the started one {decision_started:?}"
                        ),
                    );
                }
            }
            _ => {}
        }
        if is_close(e.event_type) {
            closed_at = Some(id);
        }
    }
    out
}

/// Members real SWF writes even when they say "none" (recorded histories: simpleflow's cassettes show
/// `parentInitiatedEventId: 0` in every WorkflowExecutionStarted without a parent,
/// `externalInitiatedEventId: 0` in WorkflowExecutionSignaled and WorkflowExecutionCancelRequested sent
/// from outside, and `scheduleToStartTimeout: "NONE"` in DecisionTaskScheduled).
fn always_written(t: EventType) -> &'static [&'static str] {
    match t {
        EventType::WorkflowExecutionStarted => &["parentInitiatedEventId"],
        EventType::WorkflowExecutionSignaled | EventType::WorkflowExecutionCancelRequested => {
            &["externalInitiatedEventId"]
        }
        EventType::DecisionTaskScheduled => &["scheduleToStartTimeout"],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use swf_types::shapes::*;
    use swf_types::Timestamp;

    fn ok_history() -> Vec<HistoryEvent> {
        vec![
            HistoryEvent::new(
                1,
                Timestamp(1),
                WorkflowExecutionStartedEventAttributes {
                    parent_initiated_event_id: Some(0),
                    ..Default::default()
                },
            ),
            HistoryEvent::new(
                2,
                Timestamp(1),
                DecisionTaskScheduledEventAttributes {
                    schedule_to_start_timeout: Some("NONE".into()),
                    ..Default::default()
                },
            ),
            HistoryEvent::new(
                3,
                Timestamp(2),
                DecisionTaskStartedEventAttributes {
                    identity: None,
                    scheduled_event_id: 2,
                },
            ),
            HistoryEvent::new(
                4,
                Timestamp(3),
                DecisionTaskCompletedEventAttributes {
                    scheduled_event_id: 2,
                    started_event_id: 3,
                    ..Default::default()
                },
            ),
            HistoryEvent::new(
                5,
                Timestamp(3),
                WorkflowExecutionCompletedEventAttributes {
                    result: None,
                    decision_task_completed_event_id: 4,
                },
            ),
        ]
    }

    #[test]
    fn a_good_history_passes() {
        assert_eq!(validate_history(&ok_history()), vec![]);
    }

    fn scheduled(id: i64) -> HistoryEvent {
        HistoryEvent::new(
            id,
            Timestamp(3),
            DecisionTaskScheduledEventAttributes {
                schedule_to_start_timeout: Some("NONE".into()),
                ..Default::default()
            },
        )
    }

    fn started(id: i64, scheduled_event_id: i64) -> HistoryEvent {
        HistoryEvent::new(
            id,
            Timestamp(3),
            DecisionTaskStartedEventAttributes {
                identity: None,
                scheduled_event_id,
            },
        )
    }

    fn completed(id: i64, scheduled_event_id: i64, started_event_id: i64) -> HistoryEvent {
        HistoryEvent::new(
            id,
            Timestamp(3),
            DecisionTaskCompletedEventAttributes {
                scheduled_event_id,
                started_event_id,
                ..Default::default()
            },
        )
    }

    #[test]
    fn the_next_decision_task_may_be_scheduled_while_one_is_started() {
        // Real SWF (simpleflow's `test_unrequested_signal` cassette): `DecisionTaskStarted (3) ·
        // WorkflowExecutionSignaled (4) · DecisionTaskScheduled (5) · DecisionTaskCompleted (6,
        // scheduledEventId 2) · DecisionTaskStarted (7, scheduledEventId 5)`.
        let mut h = ok_history();
        h.truncate(3);
        h.push(HistoryEvent::new(
            4,
            Timestamp(3),
            WorkflowExecutionSignaledEventAttributes {
                signal_name: "s".into(),
                external_initiated_event_id: Some(0),
                ..Default::default()
            },
        ));
        h.push(scheduled(5));
        h.push(completed(6, 2, 3));
        h.push(started(7, 5));
        h.push(completed(8, 5, 7));
        assert_eq!(validate_history(&h), vec![]);
    }

    #[test]
    fn decision_task_order_violations() {
        type Tail = fn() -> Vec<HistoryEvent>;
        let cases: Vec<(&str, Tail)> = vec![
            // Two scheduled at once.
            ("a second decision task scheduled", || {
                vec![scheduled(4), scheduled(5)]
            }),
            // Two started at once.
            ("started while 3 is started", || {
                vec![scheduled(4), started(5, 4)]
            }),
            // Started, but not the one scheduled.
            ("not the one scheduled", || {
                vec![completed(4, 2, 3), started(5, 2)]
            }),
            // Completed twice / something not started.
            ("not the started one", || {
                vec![completed(4, 2, 3), completed(5, 2, 3)]
            }),
        ];
        for (rule, tail) in cases {
            let mut h = ok_history();
            h.truncate(3);
            h.extend(tail());
            let found = validate_history(&h);
            assert!(
                found.iter().any(|v| v.rule.contains(rule)),
                "{rule}: {found:?}"
            );
        }
    }

    #[test]
    fn each_rule_catches_its_violation() {
        type Breaker = fn(&mut Vec<HistoryEvent>);
        let cases: Vec<(&str, Breaker)> = vec![
            ("contiguous", |h| h[2].event_id = 7),
            ("first event", |h| {
                h.remove(0);
                for (i, e) in h.iter_mut().enumerate() {
                    e.event_id = i as i64 + 1;
                }
            }),
            ("backwards", |h| h[3].event_timestamp = Timestamp(0)),
            ("follows the close", |h| {
                h.push(HistoryEvent::new(
                    6,
                    Timestamp(4),
                    MarkerRecordedEventAttributes::default(),
                ))
            }),
            ("is a DecisionTaskScheduled", |h| {
                h[4] = HistoryEvent::new(
                    5,
                    Timestamp(3),
                    WorkflowExecutionCompletedEventAttributes {
                        result: None,
                        decision_task_completed_event_id: 2,
                    },
                )
            }),
            ("does not name an earlier event", |h| {
                h[2] = HistoryEvent::new(
                    3,
                    Timestamp(2),
                    DecisionTaskStartedEventAttributes {
                        identity: None,
                        scheduled_event_id: 9,
                    },
                )
            }),
            ("attributes members", |h| {
                h[1].decision_task_scheduled_event_attributes = None
            }),
            ("lacks parentInitiatedEventId", |h| {
                if let Some(a) = h[0].workflow_execution_started_event_attributes.as_mut() {
                    a.parent_initiated_event_id = None;
                }
            }),
            ("lacks scheduleToStartTimeout", |h| {
                if let Some(a) = h[1].decision_task_scheduled_event_attributes.as_mut() {
                    a.schedule_to_start_timeout = None;
                }
            }),
            ("closed twice", |h| {
                // A child reported both completed and failed (different closing types).
                let child = || {
                    Box::new(WorkflowExecution {
                        workflow_id: "c".into(),
                        run_id: "r".into(),
                    })
                };
                h.truncate(4);
                h.push(HistoryEvent::new(
                    5,
                    Timestamp(3),
                    StartChildWorkflowExecutionInitiatedEventAttributes {
                        decision_task_completed_event_id: 4,
                        ..Default::default()
                    },
                ));
                h.push(HistoryEvent::new(
                    6,
                    Timestamp(3),
                    ChildWorkflowExecutionStartedEventAttributes {
                        workflow_execution: child(),
                        initiated_event_id: 5,
                        ..Default::default()
                    },
                ));
                h.push(HistoryEvent::new(
                    7,
                    Timestamp(4),
                    ChildWorkflowExecutionCompletedEventAttributes {
                        workflow_execution: child(),
                        initiated_event_id: 5,
                        started_event_id: 6,
                        ..Default::default()
                    },
                ));
                h.push(HistoryEvent::new(
                    8,
                    Timestamp(4),
                    ChildWorkflowExecutionFailedEventAttributes {
                        workflow_execution: child(),
                        initiated_event_id: 5,
                        started_event_id: 6,
                        ..Default::default()
                    },
                ));
            }),
            ("closed twice", |h| {
                h.insert(
                    4,
                    HistoryEvent::new(
                        5,
                        Timestamp(3),
                        DecisionTaskCompletedEventAttributes {
                            scheduled_event_id: 2,
                            started_event_id: 3,
                            ..Default::default()
                        },
                    ),
                );
                h[5].event_id = 6;
            }),
        ];
        for (rule, breaker) in cases {
            let mut h = ok_history();
            breaker(&mut h);
            let found = validate_history(&h);
            assert!(
                found.iter().any(|v| v.rule.contains(rule)),
                "{rule}: {found:?}"
            );
        }
    }
}
