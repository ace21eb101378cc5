//! Invariant 8, a vanished poller's task is recovered: a poller that drops its connection mid-poll
//! (`vanisher`) must not take a task with it. A poll withdrawn in time starts nothing; a task whose
//! start was already in flight when its poller left is started under the vanished identity, and
//! then it must either have been handed to another poller (a recorded delivery of that very attempt)
//! or be closed by its timeout, unless the run closed first. An attempt closed any other way
//! (completed, failed, canceled) without a delivery, or still open in an open run, is flagged.
//! `checked` counts the vanished polls.

use std::collections::BTreeSet;

use serde_json::json;

use super::{attrs, eid, etype, is_close, FinalState, Verdict};
use crate::history::{Op, OpKey, TaskKind};
use crate::vanisher::IDENTITY_PREFIX;

const NAME: &str = "vanished-poll-recovered";

pub fn check(ops: &[Op], fs: &FinalState) -> Verdict {
    let mut v = Verdict {
        checked: ops
            .iter()
            .filter(|o| o.process.starts_with(IDENTITY_PREFIX))
            .count() as u64,
        ..Verdict::default()
    };
    let delivered: BTreeSet<(TaskKind, &str, i64)> = ops
        .iter()
        .filter(|o| o.outcome.is_ok())
        .filter_map(|o| match &o.key {
            OpKey::Delivered {
                kind,
                run_id,
                started_event_id,
                ..
            } => Some((*kind, run_id.as_str(), *started_event_id)),
            _ => None,
        })
        .collect();
    for (run, h) in &fs.histories {
        let closed = h.events.iter().any(|e| is_close(etype(e)));
        for started in &h.events {
            let kind = match etype(started) {
                "DecisionTaskStarted" => TaskKind::Decision,
                "ActivityTaskStarted" => TaskKind::Activity,
                _ => continue,
            };
            let identity = attrs(started)["identity"].as_str().unwrap_or("");
            if !identity.starts_with(IDENTITY_PREFIX) {
                continue;
            }
            let id = eid(started);
            if delivered.contains(&(kind, run.as_str(), id)) {
                continue;
            }
            let end = h
                .events
                .iter()
                .find(|e| attrs(e)["startedEventId"].as_i64() == Some(id) && eid(e) > id);
            let problem = match end.map(etype) {
                Some("DecisionTaskTimedOut" | "ActivityTaskTimedOut") => continue,
                Some(other) => format!("closed by {other} though no poller was handed it"),
                None if closed => continue,
                None => "still open, in an open run".to_string(),
            };
            v.flag(
                NAME,
                json!({"run_id": run, "workflow_id": h.workflow_id, "identity": identity,
                    "problem": format!("a task started for a vanished poller is {problem}"),
                    "event": started}),
            );
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::testkit::*;
    use crate::history::Outcome;
    use serde_json::{json, Value};

    /// `good_run` with the activity attempt (event 6) started by `identity` and closed by `end`.
    fn run_with(identity: &str, end: Option<Value>) -> Vec<Value> {
        let mut h = good_run();
        h[5] = ev(
            6,
            "ActivityTaskStarted",
            0.3,
            json!({"scheduledEventId": 5, "identity": identity}),
        );
        h.truncate(6);
        if let Some(end) = end {
            h.push(end);
        }
        h
    }

    fn timed_out() -> Value {
        ev(
            7,
            "ActivityTaskTimedOut",
            38.3,
            json!({"scheduledEventId": 5, "startedEventId": 6, "timeoutType": "HEARTBEAT"}),
        )
    }

    fn completed() -> Value {
        ev(
            7,
            "ActivityTaskCompleted",
            0.5,
            json!({"scheduledEventId": 5, "startedEventId": 6}),
        )
    }

    fn delivered() -> Op {
        op(
            "PollForActivityTask",
            Outcome::Ok,
            OpKey::Delivered {
                kind: TaskKind::Activity,
                run_id: "run1".into(),
                started_event_id: 6,
                activity_id: Some("a0".into()),
            },
            0.3,
        )
    }

    #[test]
    fn recovered_or_handed_over_attempts_pass() {
        let cases = [
            // Recovered by its timeout.
            (run_with("vanisher-0", Some(timed_out())), vec![]),
            // Handed over to a real poller, which completed it.
            (run_with("vanisher-0", Some(completed())), vec![delivered()]),
            // Started by a real poller: not this checker's business.
            (run_with("worker-1", None), vec![]),
        ];
        for (h, ops) in cases {
            let fs = state_with(vec![("run1", "w1", h)]);
            let v = check(&ops, &fs);
            assert!(v.anomalies.is_empty(), "{:?}", v.anomalies);
        }
        // A closed run may leave it open.
        let mut h = run_with("vanisher-0", None);
        h.push(ev(
            7,
            "WorkflowExecutionTerminated",
            1.0,
            json!({"childPolicy": "TERMINATE"}),
        ));
        let fs = state_with(vec![("run1", "w1", h)]);
        assert!(check(&[], &fs).anomalies.is_empty());
    }

    #[test]
    fn catches_a_lost_or_phantom_attempt() {
        // Open forever in an open run: nobody has it and no timeout came.
        let fs = state_with(vec![("run1", "w1", run_with("vanisher-0", None))]);
        assert_eq!(check(&[], &fs).anomalies.len(), 1);
        // Completed, though no poller was handed it.
        let fs = state_with(vec![(
            "run1",
            "w1",
            run_with("vanisher-0", Some(completed())),
        )]);
        assert_eq!(check(&[], &fs).anomalies.len(), 1);
    }

    #[test]
    fn counts_the_vanished_polls() {
        let mut poll = op(
            "PollForDecisionTask",
            Outcome::Indeterminate("vanished".into()),
            OpKey::Other,
            1.0,
        );
        poll.process = "vanisher-0".into();
        let fs = state_with(vec![]);
        assert_eq!(check(&[poll.clone(), poll], &fs).checked, 2);
    }
}
