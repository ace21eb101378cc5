//! De-duplication of retried calls: a bounded table of recent request ids and their outcomes.
//!
//! The router may send a call again after its first attempt went to a leader that stalled or lost its
//! leadership (`swf-node::router`); that first attempt may have been proposed, and may commit later
//! (the new leader's log holds it before anything the new leader proposes). Both attempts carry the
//! client's request id (`Command::request_id`). Applying a command whose id is recorded returns the
//! recorded reply and writes nothing, so one client call never applies twice, whatever operation it is
//! (SignalWorkflowExecution, RequestCancel, TagResource... would otherwise apply twice; a retried
//! StartWorkflowExecution gets its run id rather than WorkflowExecutionAlreadyStartedFault).
//!
//! The table is applied state, so it is the same on every replica and travels in snapshots. Entries are
//! grouped by the command's stamped time into buckets of `BUCKET_MS`: a call is looked up in the bucket
//! of its own time and the ones on either side, so an attempt stamped up to one bucket after (or, on a
//! new leader with a slower clock, before) the first is recognised. When a command lands in a new bucket
//! every bucket more than one behind is forgotten at once (one range delete in the store), so the table
//! holds at most the last two to three buckets' calls. Only successful outcomes are recorded: a call
//! that faulted changed nothing, and applying its retry is exactly what a client retry would do.
//! Task starts (from polls), deadline firings and no-ops are not recorded: they carry no client
//! effect a retry could repeat (a task is started once by the state machine anyway).

use crate::command::{Command, Op, Reply};
use crate::state::{Lookup, ReadError, RequestRecord, Write};

/// Width of a time bucket of the table, in milliseconds. A retry is recognised when it is stamped
/// within one bucket of its first attempt (the router gives up on a call long before that).
pub const BUCKET_MS: i64 = 120_000;

/// The bucket of a stamped time.
pub fn bucket(now_ms: i64) -> u64 {
    (now_ms.max(0) / BUCKET_MS) as u64
}

/// A request id's two parts: the id of the call as the node that took it named it (for logs), and,
/// after a `~`, the id it is de-duplicated by when that is another (derived from the client's
/// `amz-sdk-invocation-id`, so every attempt of one SDK call has the same; swf-gateway's
/// `idempotency`). Node-made ids have no `~`.
pub fn split(request_id: &str) -> (&str, Option<&str>) {
    match request_id.split_once('~') {
        Some((call, dedup)) => (call, Some(dedup)),
        None => (request_id, None),
    }
}

/// The request id under which `cmd` is de-duplicated, if it is. From apply version 3 on (the
/// `apply_version` module), an id `CALL~DEDUP` is de-duplicated by `DEDUP`; before, by the whole id,
/// as the releases before it do, so the replicas of a mixed-version cluster record the same ids.
/// `apply_version` is the cluster's, as the command applies (`apply` reads it once per command).
pub fn key(apply_version: u32, cmd: &Command) -> Option<&str> {
    let id = cmd.request_id.as_deref().filter(|id| !id.is_empty())?;
    if matches!(
        cmd.op,
        Op::StartDecisionTask { .. }
            | Op::StartActivityTask { .. }
            | Op::FireDeadline(_)
            | Op::FireDeadlines(_)
            | Op::Noop
            | Op::RaiseApplyVersion { .. }
    ) {
        return None;
    }
    Some(match split(id) {
        (_, Some(dedup)) if apply_version >= 3 => dedup,
        _ => id,
    })
}

/// The recorded reply of an earlier attempt of `cmd`'s call, if there is one.
pub fn recorded<S: Lookup + ?Sized>(
    state: &S,
    cmd: &Command,
    request_id: &str,
) -> Result<Option<Reply>, ReadError> {
    let b = bucket(cmd.now.0);
    let forgotten = state.requests_forgotten_below()?;
    for candidate in b.saturating_sub(1)..=b + 1 {
        if candidate < forgotten {
            continue;
        }
        if let Some(rec) = state.request(candidate, request_id)? {
            if rec.op == cmd.op.name() {
                return Ok(Some(rec.reply));
            }
        }
    }
    Ok(None)
}

/// The writes that record `reply` as the outcome of `cmd`'s call, plus forgetting old buckets when
/// the command is the first of a new one.
pub fn record<S: Lookup + ?Sized>(
    state: &S,
    cmd: &Command,
    request_id: &str,
    reply: &Reply,
) -> Result<Vec<Write>, ReadError> {
    let b = bucket(cmd.now.0);
    let mut writes = Vec::with_capacity(2);
    let below = b.saturating_sub(1);
    if below > state.requests_forgotten_below()? {
        writes.push(Write::ForgetRequests { below });
    }
    writes.push(Write::Request {
        bucket: b,
        request_id: request_id.to_string(),
        record: RequestRecord {
            op: cmd.op.name().to_string(),
            reply: reply.clone(),
        },
    });
    Ok(writes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::apply;
    use crate::memstate::MemState;
    use crate::overlay::apply_batch;
    use crate::Limits;
    use swf_types::shapes::*;
    use swf_types::Timestamp;

    const MIN: i64 = 60_000;

    fn tag(arn: &str, key: &str) -> Op {
        Op::TagResource(TagResourceInput {
            resource_arn: arn.to_string(),
            tags: vec![ResourceTag {
                key: key.to_string(),
                ..Default::default()
            }],
        })
    }

    fn domain(name: &str) -> Op {
        Op::RegisterDomain(RegisterDomainInput {
            name: name.to_string(),
            workflow_execution_retention_period_in_days: "1".to_string(),
            ..Default::default()
        })
    }

    fn signal(workflow_id: &str) -> Op {
        Op::SignalWorkflowExecution(SignalWorkflowExecutionInput {
            domain: "d".into(),
            workflow_id: workflow_id.into(),
            run_id: None,
            signal_name: "s".into(),
            ..Default::default()
        })
    }

    fn cmd(now: i64, op: Op, request_id: Option<&str>) -> Command {
        Command {
            now: Timestamp(now),
            op,
            fresh_ids: Vec::new(),
            request_id: request_id.map(str::to_string),
        }
    }

    /// Applies `c` to `s` and commits its writes; returns the outcome and how many writes it made.
    fn run(s: &mut MemState, c: Command) -> (crate::Outcome, usize) {
        let applied = apply(s, 1, &c, &Limits::default()).unwrap();
        let n = applied.writes.len();
        s.write(applied.writes);
        (applied.outcome, n)
    }

    fn started_domain(now: i64) -> MemState {
        let mut s = MemState::default();
        assert!(run(&mut s, cmd(now, domain("d"), Some("setup-d")))
            .0
            .is_ok());
        let wf = Op::RegisterWorkflowType(RegisterWorkflowTypeInput {
            domain: "d".into(),
            name: "wf".into(),
            version: "1".into(),
            default_task_list: Some(Box::new(TaskList { name: "tl".into() })),
            default_execution_start_to_close_timeout: Some("3600".into()),
            default_task_start_to_close_timeout: Some("60".into()),
            default_child_policy: Some(ChildPolicy::Terminate),
            ..Default::default()
        });
        assert!(run(&mut s, cmd(now, wf, Some("setup-t"))).0.is_ok());
        let start = Op::StartWorkflowExecution {
            input: StartWorkflowExecutionInput {
                domain: "d".into(),
                workflow_id: "w".into(),
                workflow_type: Box::new(WorkflowType {
                    name: "wf".into(),
                    version: "1".into(),
                }),
                ..Default::default()
            },
            run_id: "run-1".into(),
        };
        assert_eq!(
            run(&mut s, cmd(now, start, Some("setup-s"))).0,
            Ok(Reply::Started {
                run_id: "run-1".into()
            })
        );
        s
    }

    fn signals(s: &MemState) -> usize {
        s.history
            .values()
            .filter(|e| e.event_type == EventType::WorkflowExecutionSignaled)
            .count()
    }

    #[test]
    fn which_commands_are_deduplicated() {
        let cases: Vec<(Command, bool)> = vec![
            (cmd(0, tag("a", "k"), Some("r")), true),
            (cmd(0, signal("w"), Some("r")), true),
            (cmd(0, domain("d"), Some("r")), true),
            (cmd(0, tag("a", "k"), None), false),
            (cmd(0, tag("a", "k"), Some("")), false),
            (cmd(0, Op::Noop, Some("r")), false),
            (cmd(0, Op::FireDeadlines(Vec::new()), Some("r")), false),
            (
                cmd(
                    0,
                    Op::StartActivityTask {
                        run_id: "x".into(),
                        scheduled_event_id: 1,
                        identity: None,
                    },
                    Some("r"),
                ),
                false,
            ),
        ];
        let s = MemState::default();
        for (c, expected) in cases {
            assert_eq!(
                key(crate::apply_version::load(&s).unwrap(), &c).is_some(),
                expected,
                "{:?}",
                c.op.name()
            );
        }
    }

    /// Two attempts of one SDK call (two gateway ids, one invocation-derived id after the `~`):
    /// from apply version 3 the second gets the first one's answer; before, each attempt is its own
    /// call, as releases before version 3 apply it.
    #[test]
    fn an_sdk_call_sent_twice_applies_once_from_apply_version_3() {
        let raise = |s: &mut MemState, v: u32| {
            let c = cmd(0, Op::RaiseApplyVersion { version: v }, None);
            assert!(run(s, c).0.is_ok());
        };
        // (apply version, key of `gw-1~inv`, signals after both attempts)
        for (version, want_key, want_signals) in
            [(1, "gw-1~inv", 2), (2, "gw-1~inv", 2), (3, "inv", 1)]
        {
            let mut s = started_domain(MIN);
            raise(&mut s, version);
            let first = cmd(MIN, signal("w"), Some("gw-1~inv"));
            let at = crate::apply_version::load(&s).unwrap();
            assert_eq!(key(at, &first), Some(want_key), "v{version}");
            assert!(run(&mut s, first).0.is_ok());
            assert!(run(&mut s, cmd(MIN + 5, signal("w"), Some("gw-2~inv")))
                .0
                .is_ok());
            assert_eq!(signals(&s), want_signals, "v{version}");
        }
        assert_eq!(split("gw-1~inv"), ("gw-1", Some("inv")));
        assert_eq!(split("gw-1"), ("gw-1", None));
    }

    #[test]
    fn buckets_split_time() {
        for (now, b) in [
            (0, 0),
            (-5, 0),
            (BUCKET_MS - 1, 0),
            (BUCKET_MS, 1),
            (10 * BUCKET_MS + 7, 10),
        ] {
            assert_eq!(bucket(now), b, "at {now}");
        }
    }

    #[test]
    fn a_retried_signal_is_answered_and_applies_once() {
        let t = 100 * BUCKET_MS;
        let mut s = started_domain(t);
        // (delay of the retry after the first attempt, whether it is recognised)
        for (i, (delay, same)) in [
            (0, true),
            (MIN, true),
            (BUCKET_MS, true),
            (-MIN, true),
            (3 * BUCKET_MS, false),
        ]
        .into_iter()
        .enumerate()
        {
            let mut s = s.clone();
            let id = format!("sig-{i}");
            let (first, n) = run(&mut s, cmd(t, signal("w"), Some(&id)));
            assert_eq!(first, Ok(Reply::Done));
            assert!(n > 0);
            let before = format!("{s:?}");
            let (again, n) = run(&mut s, cmd(t + delay, signal("w"), Some(&id)));
            assert_eq!(again, Ok(Reply::Done), "delay {delay}");
            assert_eq!(n == 0, same, "delay {delay}: writes");
            if same {
                assert_eq!(before, format!("{s:?}"), "delay {delay}: state changed");
            }
            assert_eq!(signals(&s), if same { 1 } else { 2 }, "delay {delay}");
        }
        // Two different calls each apply.
        let _ = run(&mut s, cmd(t, signal("w"), Some("one")));
        let _ = run(&mut s, cmd(t, signal("w"), Some("two")));
        assert_eq!(signals(&s), 2);
    }

    #[test]
    fn a_retried_start_gets_its_run_id_and_other_retries_their_first_answer() {
        let t = 50 * BUCKET_MS;
        let mut s = started_domain(t);
        let start = |run_id: &str| Op::StartWorkflowExecution {
            input: StartWorkflowExecutionInput {
                domain: "d".into(),
                workflow_id: "w2".into(),
                workflow_type: Box::new(WorkflowType {
                    name: "wf".into(),
                    version: "1".into(),
                }),
                ..Default::default()
            },
            run_id: run_id.into(),
        };
        let first = run(&mut s, cmd(t, start("run-a"), Some("st"))).0;
        assert_eq!(
            first,
            Ok(Reply::Started {
                run_id: "run-a".into()
            })
        );
        // The retry was given another run id by another leader: it gets the first one.
        let again = run(&mut s, cmd(t + 5, start("run-b"), Some("st"))).0;
        assert_eq!(again, first);
        assert!(!s.executions.contains_key("run-b"));
        // A new call for the same workflow id is refused, as SWF does.
        let other = run(&mut s, cmd(t + 5, start("run-c"), Some("st2"))).0;
        assert!(other.is_err());
        // Registering the same domain twice in one call answers as the first did.
        assert_eq!(
            run(&mut s, cmd(t, domain("e"), Some("reg"))).0,
            Ok(Reply::Done)
        );
        assert_eq!(
            run(&mut s, cmd(t, domain("e"), Some("reg"))).0,
            Ok(Reply::Done)
        );
        assert!(run(&mut s, cmd(t, domain("e"), Some("reg2"))).0.is_err());
    }

    #[test]
    fn faults_are_not_recorded_and_a_reused_id_for_another_operation_is_not_a_retry() {
        let t = 7 * BUCKET_MS;
        let mut s = started_domain(t);
        // Signalling an unknown workflow faults and records nothing.
        let (f, n) = run(&mut s, cmd(t, signal("nope"), Some("x")));
        assert!(f.is_err());
        assert_eq!(n, 0);
        assert!(!s.requests.keys().any(|(_, id)| id == "x"));
        // The retry of a faulted call runs again (here: it faults again, as a client retry would).
        assert!(run(&mut s, cmd(t, signal("nope"), Some("x"))).0.is_err());
        // The same id on another operation runs that operation.
        assert_eq!(
            run(&mut s, cmd(t, signal("w"), Some("y"))).0,
            Ok(Reply::Done)
        );
        let (o, n) = run(&mut s, cmd(t, domain("other"), Some("y")));
        assert_eq!(o, Ok(Reply::Done));
        assert!(n > 0);
        assert!(s.domains.contains_key("other"));
    }

    #[test]
    fn old_buckets_are_forgotten_and_the_table_stays_bounded() {
        let mut s = started_domain(0);
        let mut most = 0;
        for i in 0..200i64 {
            // One call every 6 s for 20 minutes.
            let now = i * 6_000;
            let _ = run(&mut s, cmd(now, signal("w"), Some(&format!("r{i}"))));
            most = most.max(s.requests.len());
            let oldest = s.requests.keys().map(|(b, _)| *b).min().unwrap();
            assert!(oldest + 1 >= bucket(now), "bucket {oldest} kept at {now}");
        }
        // Two buckets' worth of calls (20 per bucket) and the setup's, at most.
        assert!(most <= 3 * (BUCKET_MS / 6_000) as usize, "{most} entries");
        assert_eq!(s.requests_forgotten, bucket(199 * 6_000) - 1);
    }

    #[test]
    fn a_batch_sees_the_calls_recorded_before_it() {
        let t = 3 * BUCKET_MS;
        let s = started_domain(t);
        let cmds = vec![
            cmd(t, signal("w"), Some("b1")),
            cmd(t, signal("w"), Some("b2")),
            cmd(t, signal("w"), Some("b1")),
            // The next bucket: b2 is still found (one bucket back).
            cmd(t + BUCKET_MS, signal("w"), Some("b3")),
            cmd(t + BUCKET_MS, signal("w"), Some("b2")),
            // Two buckets later the first bucket is forgotten within the batch: b1 applies again.
            cmd(t + 3 * BUCKET_MS, signal("w"), Some("b4")),
            cmd(t + 3 * BUCKET_MS, signal("w"), Some("b1")),
        ];
        let out = apply_batch(&s, 9, &cmds, &Limits::default()).unwrap();
        assert!(out.outcomes.iter().all(|o| o == &Ok(Reply::Done)));
        let mut s = s;
        s.write(out.writes);
        assert_eq!(signals(&s), 5);
        assert_eq!(s.requests_forgotten, bucket(t + 3 * BUCKET_MS) - 1);
        // Applying the same commands one entry at a time gives the same state.
        let mut one_by_one = started_domain(t);
        for c in cmds {
            let _ = run(&mut one_by_one, c);
        }
        assert_eq!(format!("{s:?}"), format!("{one_by_one:?}"));
    }
}
