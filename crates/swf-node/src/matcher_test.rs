//! Unit tests of the task matcher's bookkeeping: registration and its cap (also as polls come and go
//! on a paused clock), claims, the handover of a task started for a poller that went away, and
//! wake-ups (a queued task wakes its own list's pollers only; a leadership change or a shutdown wakes
//! every poller), on a paused tokio clock; the identities and pollers the console shows per list.

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

/// A task waiting on the list of `g`, as a held long poll does; it ends when woken.
async fn sleeper(g: &crate::matcher::PollerGuard) -> tokio::task::JoinHandle<()> {
    let waiters = g.waiters.clone();
    let h = tokio::spawn(async move { waiters.notify.notified().await });
    // Let it start waiting (a wake-up reaches only pollers already waiting).
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    h
}

/// Whether the sleeper wakes within `within` (on the paused clock, a whole long poll passes at once).
async fn wakes(h: &mut tokio::task::JoinHandle<()>, within: Duration) -> bool {
    tokio::time::timeout(within, h).await.is_ok()
}

/// A queued task wakes the pollers of its own list only; a leadership change or a shutdown wakes
/// every poller (and a shutdown marks the matcher closed, so no poll is held after it). On a paused
/// clock, a poller not woken sleeps through a whole long poll.
#[tokio::test(start_paused = true)]
async fn wake_ups_reach_the_right_pollers() {
    let m = Matcher::new(10);
    let a = m.register(list("a")).unwrap();
    let b = m.register(list("b")).unwrap();
    let (now, long_poll) = (Duration::from_millis(1), Duration::from_secs(55));

    // A task queued on list a: a's poller wakes, b's sleeps on.
    let (mut wa, mut wb) = (sleeper(&a).await, sleeper(&b).await);
    let mut queued = task("r", 1);
    queued.task_list = "a".into();
    m.notify(&[queued.clone()]);
    assert!(wakes(&mut wa, now).await, "a's poller is woken");
    assert!(
        !wakes(&mut wb, long_poll).await,
        "b's poller was woken by a task on another list"
    );
    // A task on a list nobody polls wakes nobody (and does not fail).
    let mut wa = sleeper(&a).await;
    let mut elsewhere = queued;
    elsewhere.task_list = "nobody".into();
    m.notify(&[elsewhere]);
    assert!(!wakes(&mut wa, long_poll).await);

    // A leadership change wakes every poller, so each re-checks where it stands (b's sleeper is
    // still waiting from before).
    m.wake_all();
    assert!(wakes(&mut wa, now).await && wakes(&mut wb, now).await);

    // A shutdown wakes them too, and marks the matcher closed.
    let (mut wa, mut wb) = (sleeper(&a).await, sleeper(&b).await);
    assert!(!m.is_closed());
    m.close();
    assert!(m.is_closed());
    assert!(wakes(&mut wa, now).await && wakes(&mut wb, now).await);
}

/// The poller cap per list, through registrations that come and go on a paused clock: a poll refused
/// for the cap gets `LimitExceededFault` naming the limit, and a place freed by a poll that ended is
/// available at once.
#[tokio::test(start_paused = true)]
async fn the_poller_cap_holds_while_polls_come_and_go() {
    let m = std::sync::Arc::new(Matcher::new(3));
    let held: Vec<_> = (0..3).map(|_| m.register(list("l")).unwrap()).collect();
    let refused = m.register(list("l")).err().expect("over the cap");
    assert_eq!(refused.kind, swf_types::FaultKind::LimitExceeded);
    assert!(refused.message.contains("limit 3"), "{}", refused.message);
    // Three polls that end one after another, each after its own wait.
    let mut ends = Vec::new();
    for (i, g) in held.into_iter().enumerate() {
        ends.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(10 * (i as u64 + 1))).await;
            drop(g);
        }));
    }
    tokio::time::sleep(Duration::from_secs(15)).await;
    assert_eq!(m.pollers(&list("l")), 2, "the first poll ended at 10 s");
    let again = m.register(list("l")).expect("the freed place");
    assert!(m.register(list("l")).is_err());
    for e in ends {
        e.await.unwrap();
    }
    assert_eq!(m.pollers(&list("l")), 1);
    drop(again);
    assert_eq!(m.total_pollers(), 0);
}

/// A list as the console shows it: kind, name, pollers, identities with seconds since their poll.
type Shown<'a> = (&'a str, &'a str, usize, Vec<(&'a str, u64)>);

#[tokio::test(start_paused = true)]
async fn lists_of_a_domain_show_pollers_and_recent_identities() {
    let m = Matcher::new(10);
    let decisions = ("d".to_string(), TaskKind::Decision, "l".to_string());
    m.polled(&list("l"), Some("w1"));
    tokio::time::advance(Duration::from_secs(5)).await;
    m.polled(&list("l"), Some("w2"));
    m.polled(&decisions, None);
    m.polled(
        &("other".to_string(), TaskKind::Activity, "l".to_string()),
        Some("x"),
    );
    let _waiting = m.register(list("l")).unwrap();
    tokio::time::advance(Duration::from_secs(1)).await;
    let views = m.lists_of("d");
    let shown: Vec<Shown> = views
        .iter()
        .map(|v| {
            (
                v.kind_name(),
                v.name.as_str(),
                v.pollers,
                v.identities
                    .iter()
                    .map(|(id, ago)| (id.as_str(), ago.as_secs()))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        vec![
            ("decision", "l", 0, vec![("", 1)]),
            ("activity", "l", 1, vec![("w2", 1), ("w1", 6)]),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn identities_per_list_are_capped_forgetting_the_least_recent() {
    let m = Matcher::new(10);
    for i in 0..crate::matcher::MAX_IDENTITIES + 5 {
        m.polled(&list("l"), Some(&format!("w{i}")));
        tokio::time::advance(Duration::from_millis(1)).await;
    }
    m.polled(&list("l"), Some("w7"));
    let views = m.lists_of("d");
    let ids: Vec<&str> = views[0]
        .identities
        .iter()
        .map(|(i, _)| i.as_str())
        .collect();
    assert_eq!(ids.len(), crate::matcher::MAX_IDENTITIES);
    assert!(ids.contains(&"w7") && !ids.contains(&"w0") && ids.contains(&"w36"));
}
