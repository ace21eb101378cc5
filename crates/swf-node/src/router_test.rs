//! The routing loop on a paused tokio clock, over a scripted transport (`Script`): a call goes to the
//! leader this node knows and moves the moment it learns of another (not after the attempt's
//! deadline), waits for a leader while none is known, is sent again after a stalled attempt's
//! deadline or a `ServiceUnavailable` but not after another fault, gives up after `LEADER_WAIT`, a
//! long poll that finds no leader answers empty at the end of its long-poll time, and a node cut off
//! from the majority refuses calls at once, those in flight included.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use swf_types::{Fault, FaultKind};
use tokio::sync::watch;
use tokio::time::Instant;

use super::{route, Api, Call, Transport, CALL_TIMEOUT, LEADER_WAIT, POLL_MARGIN};

/// How a node answers an attempt.
#[derive(Clone)]
enum Answer {
    Output(&'static str),
    Fault(FaultKind),
    /// Never answers (a stalled leader).
    Stall,
}

/// Nodes 1 to 3; each answers its scripted answers in turn (the last one for ever after).
#[derive(Default)]
struct Script {
    answers: Mutex<HashMap<u64, Vec<Answer>>>,
    /// (node, time since the test began) of every attempt.
    attempts: Mutex<Vec<(u64, Duration)>>,
    began: Option<Instant>,
}

impl Script {
    fn new(answers: &[(u64, Vec<Answer>)]) -> Script {
        Script {
            answers: Mutex::new(answers.iter().cloned().collect()),
            attempts: Mutex::default(),
            began: Some(Instant::now()),
        }
    }

    fn attempts(&self) -> Vec<(u64, Duration)> {
        self.attempts.lock().unwrap().clone()
    }
}

impl Transport for Script {
    fn addr_of(&self, id: u64) -> Option<String> {
        (1..=3).contains(&id).then(|| format!("node-{id}:7951"))
    }

    fn attempt<'a>(
        &'a self,
        to: u64,
        _addr: &'a str,
        _call: &'a Call<'a>,
        _timeout: Duration,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, Fault>> + Send + 'a>> {
        let since = Instant::now() - self.began.expect("began");
        self.attempts.lock().unwrap().push((to, since));
        let answer = {
            let mut answers = self.answers.lock().unwrap();
            let list = answers.entry(to).or_insert_with(|| vec![Answer::Stall]);
            if list.len() > 1 {
                list.remove(0)
            } else {
                list[0].clone()
            }
        };
        Box::pin(async move {
            match answer {
                Answer::Output(o) => Ok(o.as_bytes().to_vec()),
                Answer::Fault(kind) => Err(Fault {
                    kind,
                    message: format!("{kind:?} from node {to}"),
                }),
                Answer::Stall => std::future::pending().await,
            }
        })
    }
}

const LONG_POLL: Duration = Duration::from_secs(20);

fn call(action: &str) -> Call<'_> {
    Call {
        api: Api::Swf,
        action,
        input: b"{}".to_vec(),
        hops: 0,
        request_id: "req-1",
    }
}

/// Routes `action` while this node's view of the leader changes as `moves` says (after that long,
/// that leader), and the node is cut off after `cut_off_after` if given.
async fn run(
    script: &Script,
    action: &str,
    first_leader: Option<u64>,
    moves: Vec<(Duration, Option<u64>)>,
    cut_off_after: Option<Duration>,
) -> (Result<Vec<u8>, Fault>, Duration) {
    let (leader_tx, leader) = watch::channel(first_leader);
    let cut_off = watch::channel(false).0;
    let began = Instant::now();
    let changes = async {
        for (after, to) in moves {
            tokio::time::sleep_until(began + after).await;
            leader_tx.send_replace(to);
        }
        if let Some(after) = cut_off_after {
            tokio::time::sleep_until(began + after).await;
            cut_off.send_replace(true);
        }
        std::future::pending::<()>().await
    };
    let c = call(action);
    let routed = route(script, &leader, &cut_off, LONG_POLL, &c);
    tokio::select! {
        r = routed => (r, began.elapsed()),
        _ = changes => unreachable!(),
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

#[tokio::test(start_paused = true)]
async fn a_call_goes_to_the_leader_and_moves_the_moment_another_is_known() {
    let script = Script::new(&[(1, vec![Answer::Stall]), (2, vec![Answer::Output("done")])]);
    let moves = vec![(secs(1.0), Some(2))];
    let (r, took) = run(&script, "StartWorkflowExecution", Some(1), moves, None).await;
    assert_eq!(r.unwrap(), b"done");
    // Moved at 1 s, not after the stalled attempt's 5 s deadline.
    assert_eq!(took, secs(1.0));
    assert_eq!(script.attempts(), [(1, secs(0.0)), (2, secs(1.0))]);
}

#[tokio::test(start_paused = true)]
async fn a_call_waits_for_a_leader_and_goes_the_moment_one_is_known() {
    let script = Script::new(&[(3, vec![Answer::Output("ok")])]);
    // No leader, then none again (an election), then node 3.
    let moves = vec![(secs(0.25), None), (secs(0.3), Some(3))];
    let (r, took) = run(&script, "SignalWorkflowExecution", None, moves, None).await;
    assert_eq!(r.unwrap(), b"ok");
    assert_eq!(
        took,
        secs(0.3),
        "woken by the new leader, not by its backoff"
    );
    assert_eq!(script.attempts(), [(3, secs(0.3))]);
}

#[tokio::test(start_paused = true)]
async fn a_stalled_leader_is_tried_again_after_each_deadline_until_leader_wait() {
    let script = Script::new(&[(1, vec![Answer::Stall])]);
    let (r, took) = run(&script, "StartWorkflowExecution", Some(1), vec![], None).await;
    let f = r.unwrap_err();
    assert_eq!(f.kind, FaultKind::ServiceUnavailable);
    assert!(
        f.message.starts_with("No answer from the leader within"),
        "{}",
        f.message
    );
    // Two attempts of CALL_TIMEOUT each (the second after a 10 ms backoff), then past LEADER_WAIT.
    let attempts = script.attempts();
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert_eq!(attempts[1].1, CALL_TIMEOUT + secs(0.01));
    assert!(
        took >= LEADER_WAIT && took < LEADER_WAIT + secs(0.1),
        "{took:?}"
    );
}

/// (the leader's answers) → (the call's result, attempts made).
#[tokio::test(start_paused = true)]
async fn only_service_unavailable_is_sent_again() {
    use Answer::*;
    let cases: Vec<(Vec<Answer>, Result<&str, FaultKind>, usize)> = vec![
        (vec![Output("a")], Ok("a"), 1),
        (
            vec![
                Fault(FaultKind::ServiceUnavailable),
                Fault(FaultKind::ServiceUnavailable),
                Output("b"),
            ],
            Ok("b"),
            3,
        ),
        (
            vec![Fault(FaultKind::UnknownResource)],
            Err(FaultKind::UnknownResource),
            1,
        ),
        (
            vec![Fault(FaultKind::Internal)],
            Err(FaultKind::Internal),
            1,
        ),
    ];
    for (answers, want, tries) in cases {
        let script = Script::new(&[(2, answers)]);
        let (r, _) = run(
            &script,
            "RespondDecisionTaskCompleted",
            Some(2),
            vec![],
            None,
        )
        .await;
        let got = r.map(|o| String::from_utf8(o).unwrap()).map_err(|f| f.kind);
        assert_eq!(got, want.map(String::from));
        assert_eq!(script.attempts().len(), tries);
    }
    // Backoff between the unavailable answers: 10 ms, then 20 ms.
    let script = Script::new(&[(
        2,
        vec![
            Fault(FaultKind::ServiceUnavailable),
            Fault(FaultKind::ServiceUnavailable),
            Output("b"),
        ],
    )]);
    run(&script, "StartWorkflowExecution", Some(2), vec![], None)
        .await
        .0
        .unwrap();
    let at: Vec<Duration> = script.attempts().iter().map(|a| a.1).collect();
    assert_eq!(at, [secs(0.0), secs(0.01), secs(0.03)]);
}

#[tokio::test(start_paused = true)]
async fn a_long_poll_with_no_leader_answers_empty_when_its_time_is_up() {
    for (action, empty) in [
        ("PollForActivityTask", r#"{"startedEventId":0}"#),
        ("GetActivityTask", "{}"),
    ] {
        let script = Script::default();
        let script = Script {
            began: Some(Instant::now()),
            ..script
        };
        let (r, took) = run(&script, action, None, vec![], None).await;
        assert_eq!(String::from_utf8(r.unwrap()).unwrap(), empty);
        let end = LONG_POLL + POLL_MARGIN;
        assert!(took >= end && took < end + secs(0.1), "{took:?}");
        assert!(script.attempts().is_empty());
    }
    // A poll held by a stalled leader is moved to the new one with what is left of its time.
    let script = Script::new(&[(1, vec![Answer::Stall]), (2, vec![Answer::Stall])]);
    let (r, took) = run(
        &script,
        "PollForDecisionTask",
        Some(1),
        vec![(secs(10.0), Some(2))],
        None,
    )
    .await;
    assert!(String::from_utf8(r.unwrap())
        .unwrap()
        .contains("previousStartedEventId"));
    assert_eq!(took, LONG_POLL + POLL_MARGIN);
    assert_eq!(script.attempts(), [(1, secs(0.0)), (2, secs(10.0))]);
}

#[tokio::test(start_paused = true)]
async fn a_cut_off_node_refuses_calls_at_once_even_in_flight() {
    let script = Script::new(&[(1, vec![Answer::Stall])]);
    let (r, took) = run(
        &script,
        "StartWorkflowExecution",
        Some(1),
        vec![],
        Some(secs(2.0)),
    )
    .await;
    let f = r.unwrap_err();
    assert_eq!(f.kind, FaultKind::ServiceUnavailable);
    assert!(f.message.contains("cut off"), "{}", f.message);
    assert_eq!(took, secs(2.0));
}
