//! The history limit is exact, on every path that appends events: a run's history never holds more
//! than `max_history_events` events plus the WorkflowExecutionTerminated (cause EVENT_LIMIT_EXCEEDED)
//! that ends it, and work that would have needed events past the limit is not done. Run at small
//! configured limits through the harness of `apply_test` (which checks every invariant and the
//! history validator after each step).

use super::*;

fn limited(limit: usize) -> H {
    let mut h = H::with_limits(Limits {
        max_history_events: limit,
        ..Limits::default()
    });
    h.setup();
    h
}

impl H {
    fn is_open(&self, run: &str) -> bool {
        self.rec(run).is_open()
    }

    /// `run` was ended by the limit: `limit` events, then the termination, nothing left queued or
    /// armed but its retention.
    fn assert_ended_at_limit(&self, run: &str, limit: usize) {
        let events = self.history(run);
        assert_eq!(
            events.len(),
            limit + 1,
            "limit {limit}: {:?}",
            self.types(run)
        );
        self.assert_terminated_for_limit(run);
    }

    /// Starts the scheduled decision task and, unless that filled the history, completes it.
    fn round_if_room(&mut self, run: &str, decisions: Vec<Decision>) {
        let token = self.start_decision(run);
        if self.is_open(run) {
            self.respond(&token, decisions);
        }
    }

    fn assert_terminated_for_limit(&self, run: &str) {
        let last = self.last(run);
        assert_eq!(last.event_type, EventType::WorkflowExecutionTerminated);
        assert_eq!(attrs(&last)["cause"], "EVENT_LIMIT_EXCEEDED");
        let rec = self.rec(run);
        assert_eq!(rec.close_status, Some(CloseStatus::Terminated));
        assert!(rec.activities.is_empty() && rec.timers.is_empty());
        assert!(self.s.queues.values().all(|q| q.run_id != run));
        assert!(rec
            .deadlines
            .iter()
            .all(|d| d.kind == DeadlineKind::Retention));
        self.check_deadlines();
    }
}

#[test]
fn signals_fill_the_history_to_the_limit_then_terminate() {
    for limit in [3, 5, 8, 13] {
        let mut h = limited(limit);
        let run = h.start("w");
        while h.is_open(&run) {
            h.ok(signal_op("w", None));
        }
        h.assert_ended_at_limit(&run, limit);
        assert_eq!(h.fault(signal_op("w", None)).code(), "UnknownResourceFault");
    }
}

#[test]
fn a_long_decision_list_stops_at_the_limit() {
    // Started, DecisionTaskScheduled, DecisionTaskStarted, DecisionTaskCompleted, then markers up to the
    // limit; the markers past it are not recorded and the run ends.
    for limit in [5, 12, 30] {
        let mut h = limited(limit);
        let run = h.start("w");
        h.round(&run, (0..40).map(|i| marker(&format!("m{i}"))).collect());
        h.assert_ended_at_limit(&run, limit);
        let markers = h
            .types(&run)
            .iter()
            .filter(|t| **t == EventType::MarkerRecorded)
            .count();
        assert_eq!(markers, limit - 4);
    }
}

#[test]
fn decisions_past_the_limit_have_no_effect_elsewhere() {
    // Room for one more event after DecisionTaskCompleted (5 of 6): the marker takes it; starting a
    // child needs two (initiated, started), so it is dropped: no child run, nothing scheduled.
    let mut h = limited(6);
    let run = h.start("w");
    h.round(
        &run,
        vec![
            marker("m"),
            start_child("c"),
            schedule("a"),
            start_timer("t", "5"),
        ],
    );
    assert!(h.history(&run).len() <= 7);
    h.assert_terminated_for_limit(&run);
    assert!(!h
        .s
        .open_runs
        .contains_key(&(D.to_string(), "c".to_string())));
    assert_eq!(h.s.executions.len(), 1, "no child run was started");
    assert!(h.queue(TaskKind::Activity, ACTIVITIES).is_empty());
}

#[test]
fn a_close_decision_that_fills_the_history_closes_normally() {
    // Started, DecisionTaskScheduled, DecisionTaskStarted, DecisionTaskCompleted, Completed: 5 of 5.
    let mut h = limited(5);
    let run = h.start("w");
    h.round(&run, vec![complete_wf()]);
    assert_eq!(h.history(&run).len(), 5);
    assert_eq!(h.rec(&run).close_status, Some(CloseStatus::Completed));
}

#[test]
fn a_burst_of_timers_stops_at_the_limit() {
    // 14 events after the decision that starts ten timers; the burst fires them in one command:
    // TimerFired and DecisionTaskScheduled (15, 16), then TimerFired up to 20, then the termination.
    let limit = 20;
    let mut h = limited(limit);
    let run = h.start("w");
    h.round(
        &run,
        (0..10)
            .map(|i| start_timer(&format!("t{i}"), "5"))
            .collect(),
    );
    assert_eq!(h.history(&run).len(), 14);
    let due: Vec<Deadline> =
        h.s.deadlines
            .iter()
            .filter(|d| matches!(d.kind, DeadlineKind::Timer { .. }))
            .cloned()
            .collect();
    assert_eq!(due.len(), 10);
    h.clock = due.iter().map(|d| d.due.0).max().unwrap();
    h.ok(Op::FireDeadlines(due));
    h.assert_ended_at_limit(&run, limit);
    let fired = h
        .types(&run)
        .iter()
        .filter(|t| **t == EventType::TimerFired)
        .count();
    assert_eq!(fired, 5);
}

#[test]
fn a_follow_up_event_past_the_limit_ends_the_run() {
    // An activity completes as the last event that fits: the decision task it would schedule does not
    // fit, so the run ends there (the termination is event limit + 1).
    let limit = 7;
    let mut h = limited(limit);
    let run = h.start("w");
    h.round(&run, vec![schedule("a")]); // 3, 4, 5: ActivityTaskScheduled
    let token = h.start_activity(&run, "a"); // 6
    assert_eq!(h.history(&run).len(), 6);
    h.ok(complete_op(&token)); // 7, and DecisionTaskScheduled would be 8
    h.assert_ended_at_limit(&run, limit);
    assert_eq!(
        h.history(&run)[limit - 1].event_type,
        EventType::ActivityTaskCompleted
    );
}

#[test]
fn a_child_closing_into_a_full_parent_ends_the_parent() {
    // The parent's history is one short of full when its child completes: the parent records
    // ChildWorkflowExecutionCompleted as its last event and is terminated; the child closed normally.
    for limit in 7..=12 {
        let mut h = limited(limit);
        let parent = h.start("p");
        h.round(&parent, vec![start_child("c")]); // 3..7
        if !h.is_open(&parent) {
            // Too small to start a child: the decision was dropped.
            h.assert_terminated_for_limit(&parent);
            assert!(h.history(&parent).len() <= limit + 1);
            continue;
        }
        let child = h.open_run("c");
        while h.history(&parent).len() + 1 < limit {
            h.ok(signal_op("p", None));
        }
        assert_eq!(h.history(&parent).len(), limit - 1);
        h.round(&child, vec![complete_wf()]);
        assert_eq!(h.rec(&child).close_status, Some(CloseStatus::Completed));
        h.assert_ended_at_limit(&parent, limit);
        assert_eq!(
            h.history(&parent)[limit - 1].event_type,
            EventType::ChildWorkflowExecutionCompleted
        );
    }
}

#[test]
fn every_limit_holds_on_a_mixed_workflow() {
    // One script of decisions, activities, timers, a child and signals, at every limit from 4 to 40:
    // whatever path reaches the limit, no history passes it by more than the termination event.
    for limit in 4..=40 {
        let mut h = limited(limit);
        let p = h.start("p");
        let decided = |h: &H, run: &str| {
            h.is_open(run) && matches!(h.rec(run).decision, DecisionSlot::Scheduled { .. })
        };
        if decided(&h, &p) {
            h.round_if_room(
                &p,
                vec![
                    schedule("a1"),
                    start_timer("t1", "5"),
                    start_child("c1"),
                    marker("m"),
                ],
            );
        }
        if h.is_open(&p) && h.rec(&p).activities.values().any(|a| a.activity_id == "a1") {
            let t = h.start_activity(&p, "a1");
            if h.is_open(&p) {
                h.ok(complete_op(&t));
            }
        }
        if h.is_open(&p) {
            h.ok(signal_op("p", None));
        }
        if h.is_open(&p) && h.rec(&p).timers.contains_key("t1") {
            let d = h.deadline(&p, |k| matches!(k, DeadlineKind::Timer { .. }));
            h.fire(d);
        }
        if let Some(c) =
            h.s.open_runs
                .get(&(D.to_string(), "c1".to_string()))
                .cloned()
        {
            if decided(&h, &c) {
                h.round_if_room(&c, vec![complete_wf()]);
            }
        }
        if decided(&h, &p) {
            h.round_if_room(&p, vec![marker("x"), marker("y"), marker("z")]);
        }
        while h.is_open(&p) {
            h.ok(signal_op("p", None));
        }
        for run in h.s.executions.keys() {
            let n = h.history(run).len();
            assert!(n <= limit + 1, "limit {limit}: {run} has {n} events");
        }
        h.assert_terminated_for_limit(&p);
        let terminations = h
            .types(&p)
            .iter()
            .filter(|t| **t == EventType::WorkflowExecutionTerminated)
            .count();
        assert_eq!(terminations, 1);
    }
}

#[test]
fn batched_entries_reach_the_limit_as_separate_ones_do() {
    let mut h = H::batching();
    h.limits.max_history_events = 12;
    let run = h.start("w");
    h.round(
        &run,
        (0..3).map(|i| start_timer(&format!("t{i}"), "5")).collect(),
    );
    while h.is_open(&run) {
        h.ok(signal_op("w", None));
    }
    h.assert_ended_at_limit(&run, 12);
    check_all_batchings(&h);
}
