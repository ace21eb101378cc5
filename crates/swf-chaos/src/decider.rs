//! The workload's decider logic as a pure function of a workflow's history: what to decide next.
//! Deciders are stateless like SDK deciders: each decision task carries the whole history, and the
//! plan (activities, heartbeats, a timer, a child, waiting for a signal) is the workflow's input.
//! Close decisions are always sent alone, so every decision batch applies atomically or not at all.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Activity attempts per activity id before the decider gives up on it.
pub const MAX_ATTEMPTS: u32 = 4;
/// The signal a workflow with `signal: true` waits for.
pub const GO_SIGNAL: &str = "go";

/// What a workflow does, carried as its input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Plan {
    /// Activities to run in parallel.
    pub acts: u32,
    /// Heartbeats each activity sends (one a second) before completing.
    pub hb: u32,
    /// A timer of this many seconds (0: none).
    pub timer: u32,
    /// Start a child workflow and wait for it.
    pub child: bool,
    /// Wait for the `go` signal.
    pub signal: bool,
}

#[derive(Default)]
struct Activity {
    attempts: u32,
    open: bool,
    done: bool,
}

fn attrs<'a>(e: &'a Value, kind: &str) -> &'a Value {
    let mut name = kind.to_string();
    if let Some(first) = name.get_mut(0..1) {
        first.make_ascii_lowercase();
    }
    &e[format!("{name}EventAttributes")]
}

/// The plan in a history's first event (a default plan if it cannot be read).
pub fn plan_of(events: &[Value]) -> Plan {
    events
        .first()
        .and_then(|e| e["workflowExecutionStartedEventAttributes"]["input"].as_str())
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default()
}

/// The decisions for the next decision task, given the whole history so far.
pub fn decide(workflow_id: &str, events: &[Value]) -> Vec<Value> {
    let plan = plan_of(events);
    let mut acts: BTreeMap<String, Activity> = BTreeMap::new();
    let mut sched_to_act: BTreeMap<i64, String> = BTreeMap::new();
    let (mut timer_started, mut timer_done) = (false, false);
    let (mut child_started, mut child_done) = (false, false);
    let (mut got_signal, mut cancel_requested) = (false, false);
    for e in events {
        let t = e["eventType"].as_str().unwrap_or("");
        let a = attrs(e, t);
        match t {
            "ActivityTaskScheduled" => {
                let id = a["activityId"].as_str().unwrap_or("").to_string();
                if let Some(eid) = e["eventId"].as_i64() {
                    sched_to_act.insert(eid, id.clone());
                }
                let act = acts.entry(id).or_default();
                act.attempts += 1;
                act.open = true;
            }
            "ScheduleActivityTaskFailed" => {
                let id = a["activityId"].as_str().unwrap_or("").to_string();
                let act = acts.entry(id).or_default();
                act.attempts += 1;
                act.done = true;
            }
            "ActivityTaskCompleted"
            | "ActivityTaskFailed"
            | "ActivityTaskTimedOut"
            | "ActivityTaskCanceled" => {
                let sched = a["scheduledEventId"].as_i64().unwrap_or(0);
                if let Some(id) = sched_to_act.get(&sched) {
                    let act = acts.entry(id.clone()).or_default();
                    act.open = false;
                    if t == "ActivityTaskCompleted" || act.attempts >= MAX_ATTEMPTS {
                        act.done = true;
                    }
                }
            }
            "TimerStarted" => timer_started = true,
            "StartTimerFailed" => {
                timer_started = true;
                timer_done = true;
            }
            "TimerFired" | "TimerCanceled" => timer_done = true,
            "StartChildWorkflowExecutionInitiated" => child_started = true,
            "StartChildWorkflowExecutionFailed"
            | "ChildWorkflowExecutionCompleted"
            | "ChildWorkflowExecutionFailed"
            | "ChildWorkflowExecutionTimedOut"
            | "ChildWorkflowExecutionCanceled"
            | "ChildWorkflowExecutionTerminated" => {
                child_started = true;
                child_done = true;
            }
            "WorkflowExecutionSignaled" if a["signalName"] == GO_SIGNAL => got_signal = true,
            "WorkflowExecutionCancelRequested" => cancel_requested = true,
            _ => {}
        }
    }
    if cancel_requested {
        return vec![json!({
            "decisionType": "CancelWorkflowExecution",
            "cancelWorkflowExecutionDecisionAttributes": {"details": "cancel requested"}
        })];
    }
    let mut out = Vec::new();
    for i in 0..plan.acts {
        let id = format!("a{i}");
        let act = acts.get(&id);
        let schedule = match act {
            None => true,
            Some(a) => !a.open && !a.done,
        };
        if schedule {
            out.push(json!({
                "decisionType": "ScheduleActivityTask",
                "scheduleActivityTaskDecisionAttributes": {
                    "activityType": {"name": "work", "version": "1"},
                    "activityId": id,
                    "input": json!({"hb": plan.hb}).to_string(),
                }
            }));
        }
    }
    if plan.timer > 0 && !timer_started {
        out.push(json!({
            "decisionType": "StartTimer",
            "startTimerDecisionAttributes": {"timerId": "t1", "startToFireTimeout": plan.timer.to_string()}
        }));
    }
    if plan.child && !child_started {
        let child = Plan {
            acts: 1,
            hb: 1,
            ..Plan::default()
        };
        out.push(json!({
            "decisionType": "StartChildWorkflowExecution",
            "startChildWorkflowExecutionDecisionAttributes": {
                "workflowType": {"name": "chaos-wf", "version": "1"},
                "workflowId": format!("{workflow_id}-c"),
                "input": serde_json::to_string(&child).expect("plan serializes"),
            }
        }));
    }
    let all_acts_done = (0..plan.acts).all(|i| acts.get(&format!("a{i}")).is_some_and(|a| a.done));
    let finished = all_acts_done
        && (plan.timer == 0 || timer_done)
        && (!plan.child || child_done)
        && (!plan.signal || got_signal);
    if out.is_empty() && finished {
        out.push(json!({
            "decisionType": "CompleteWorkflowExecution",
            "completeWorkflowExecutionDecisionAttributes": {"result": format!("done {workflow_id}")}
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: i64, t: &str, a: Value) -> Value {
        let mut e = json!({"eventId": id, "eventType": t, "eventTimestamp": id as f64});
        let mut name = t.to_string();
        name[0..1].make_ascii_lowercase();
        e[format!("{name}EventAttributes")] = a;
        e
    }

    fn start(plan: &Plan) -> Value {
        ev(
            1,
            "WorkflowExecutionStarted",
            json!({"input": serde_json::to_string(plan).unwrap()}),
        )
    }

    #[test]
    fn first_decision_schedules_everything_and_completes_when_done() {
        let plan = Plan {
            acts: 2,
            hb: 0,
            timer: 3,
            child: true,
            signal: true,
        };
        let h = vec![start(&plan)];
        let d = decide("w", &h);
        let types: Vec<_> = d
            .iter()
            .map(|d| d["decisionType"].as_str().unwrap())
            .collect();
        assert_eq!(
            types,
            [
                "ScheduleActivityTask",
                "ScheduleActivityTask",
                "StartTimer",
                "StartChildWorkflowExecution"
            ]
        );
        let mut h = h;
        h.push(ev(5, "ActivityTaskScheduled", json!({"activityId": "a0"})));
        h.push(ev(6, "ActivityTaskScheduled", json!({"activityId": "a1"})));
        h.push(ev(7, "TimerStarted", json!({"timerId": "t1"})));
        h.push(ev(8, "StartChildWorkflowExecutionInitiated", json!({})));
        assert!(decide("w", &h).is_empty());
        h.push(ev(
            9,
            "ActivityTaskCompleted",
            json!({"scheduledEventId": 5}),
        ));
        h.push(ev(
            10,
            "ActivityTaskTimedOut",
            json!({"scheduledEventId": 6}),
        ));
        let d = decide("w", &h);
        assert_eq!(d.len(), 1, "the timed-out activity is retried: {d:?}");
        assert_eq!(
            d[0]["scheduleActivityTaskDecisionAttributes"]["activityId"],
            "a1"
        );
        h.push(ev(11, "ActivityTaskScheduled", json!({"activityId": "a1"})));
        h.push(ev(
            12,
            "ActivityTaskCompleted",
            json!({"scheduledEventId": 11}),
        ));
        h.push(ev(13, "TimerFired", json!({})));
        h.push(ev(14, "ChildWorkflowExecutionCompleted", json!({})));
        assert!(decide("w", &h).is_empty(), "still waiting for the signal");
        h.push(ev(
            15,
            "WorkflowExecutionSignaled",
            json!({"signalName": "go"}),
        ));
        let d = decide("w", &h);
        assert_eq!(d[0]["decisionType"], "CompleteWorkflowExecution");
    }

    #[test]
    fn cancel_request_cancels_alone() {
        let plan = Plan {
            acts: 1,
            ..Plan::default()
        };
        let h = vec![
            start(&plan),
            ev(2, "WorkflowExecutionCancelRequested", json!({})),
        ];
        let d = decide("w", &h);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0]["decisionType"], "CancelWorkflowExecution");
    }

    #[test]
    fn gives_up_after_max_attempts() {
        let plan = Plan {
            acts: 1,
            ..Plan::default()
        };
        let mut h = vec![start(&plan)];
        let mut id = 2;
        for _ in 0..MAX_ATTEMPTS {
            h.push(ev(id, "ActivityTaskScheduled", json!({"activityId": "a0"})));
            h.push(ev(
                id + 1,
                "ActivityTaskTimedOut",
                json!({"scheduledEventId": id}),
            ));
            id += 2;
        }
        assert_eq!(
            decide("w", &h)[0]["decisionType"],
            "CompleteWorkflowExecution"
        );
    }
}
