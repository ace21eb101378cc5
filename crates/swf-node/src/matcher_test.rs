//! Unit tests of the task matcher's bookkeeping: registration and its cap, claims, and the handover
//! of a task started for a poller that went away.

use std::time::Duration;

use swf_core::state::{QueuedTask, TaskKind};
use swf_core::Reply;
use swf_types::shapes::{ActivityType, WorkflowExecution};

use crate::matcher::{ListKey, Matcher};

fn list(name: &str) -> ListKey {
    ("d".to_string(), TaskKind::Activity, name.to_string())
}

fn task(run: &str, scheduled: i64) -> QueuedTask {
    QueuedTask {
        domain: "d".into(),
        kind: TaskKind::Activity,
        task_list: "l".into(),
        priority: 0,
        seq: 1,
        run_id: run.into(),
        scheduled_event_id: scheduled,
    }
}

/// An activity task started as attempt `n`.
fn started(n: i64) -> Reply {
    Reply::ActivityTaskStarted {
        task_token: format!("token-{n}"),
        started_event_id: n,
        activity_id: "a".into(),
        input: None,
        workflow_execution: WorkflowExecution {
            workflow_id: "w".into(),
            run_id: "r".into(),
        },
        activity_type: ActivityType {
            name: "t".into(),
            version: "1".into(),
        },
    }
}

#[test]
fn registrations_are_capped_and_freed_on_drop() {
    let m = Matcher::new(2);
    let a = m.register(list("l")).unwrap();
    let b = m.register(list("l")).unwrap();
    assert!(
        m.register(list("l")).is_err(),
        "a third poller over the cap"
    );
    // Another list has its own cap.
    let _other = m.register(list("other")).unwrap();
    assert_eq!((m.pollers(&list("l")), m.total_pollers()), (2, 3));
    // A dropped poll (its client went away) frees its place at once.
    drop(a);
    assert_eq!(m.pollers(&list("l")), 1);
    let _c = m.register(list("l")).unwrap();
    drop(b);
    assert_eq!(m.total_pollers(), 2);
}

#[test]
fn a_claim_is_exclusive_until_dropped() {
    let m = Matcher::new(10);
    let first = m.claim(&task("r", 5)).unwrap();
    assert!(m.claim(&task("r", 5)).is_none());
    assert!(m.claim(&task("r", 6)).is_some(), "another task");
    drop(first);
    assert!(m.claim(&task("r", 5)).is_some());
}

/// Who gets a task started for a poller that left: (pollers registered, of them busy proposing a
/// start of their own) → handed over or not.
#[test]
fn a_handover_needs_a_waiting_poller() {
    let cases = [(0, 0, false), (1, 0, true), (1, 1, false), (2, 1, true)];
    for (registered, busy, handed) in cases {
        let m = Matcher::new(10);
        // The list exists (its first poller came and went), as it does when a start is in flight.
        drop(m.register(list("l")).unwrap());
        let guards: Vec<_> = (0..registered)
            .map(|_| m.register(list("l")).unwrap())
            .collect();
        let busy: Vec<_> = guards.iter().take(busy).map(|g| g.busy()).collect();
        assert_eq!(
            m.hand_over(&list("l"), started(1)),
            handed,
            "{registered} registered, {} busy",
            busy.len()
        );
        let taken = guards.iter().find_map(|g| g.take_handoff());
        assert_eq!(taken.is_some(), handed);
        // Taken once only.
        assert!(guards.iter().all(|g| g.take_handoff().is_none()));
    }
    // A list nobody ever polled: nothing to hand over to.
    assert!(!Matcher::new(10).hand_over(&list("none"), started(1)));
}

#[tokio::test(start_paused = true)]
async fn a_handover_wakes_a_waiting_poller_and_expires_untaken() {
    let m = Matcher::new(10);
    let waiting = m.register(list("l")).unwrap();
    let notified = waiting.waiters.notify.notified();
    tokio::pin!(notified);
    notified.as_mut().enable();
    assert!(m.hand_over(&list("l"), started(1)));
    tokio::time::timeout(Duration::from_secs(1), notified)
        .await
        .expect("the waiting poller is woken");
    assert_eq!(waiting.take_handoff(), Some(started(1)));
    // One its taker never came back for is dropped after a while (the task's timeout recovers it).
    assert!(m.hand_over(&list("l"), started(2)));
    tokio::time::advance(Duration::from_secs(3)).await;
    assert_eq!(waiting.take_handoff(), None);
}
