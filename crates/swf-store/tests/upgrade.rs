//! A data directory written by the previous release still opens and serves: its execution records
//! embed their open items (activities, timers, children, deadlines) instead of keeping them under keys
//! of their own. Such a record reads as it is, and its first change moves every item to its own key
//! without losing any.

use openraft::storage::RaftStateMachine;
use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId};
use serde_json::{json, Value};
use swf_core::state::{DeadlineKind, ExecutionRecord, Lookup};
use swf_core::token::TaskToken;
use swf_core::{Batch, Command, Limits, Op, Reply};
use swf_store::db::{CF_EXECUTIONS, CF_ITEMS};
use swf_store::{open_db, StateMachineStore, StateReader, TypeConfig};
use swf_types::shapes::*;
use swf_types::Timestamp;

const NOW: i64 = 1_700_000_000_000;

fn entry(index: u64, op: Op) -> Entry<TypeConfig> {
    Entry {
        log_id: LogId::new(CommittedLeaderId::new(1, 1), index),
        payload: EntryPayload::Normal(Batch(vec![Command {
            now: Timestamp(NOW + 1_000 * index as i64),
            op,
            fresh_ids: Vec::new(),
            request_id: None,
        }])),
    }
}

async fn ok(sm: &mut StateMachineStore, index: u64, op: Op) -> Reply {
    let mut out = sm.apply(vec![entry(index, op)]).await.unwrap();
    out.pop().unwrap().0.pop().unwrap().unwrap()
}

fn timer(id: &str) -> Decision {
    Decision {
        decision_type: DecisionType::StartTimer,
        start_timer_decision_attributes: Some(Box::new(StartTimerDecisionAttributes {
            timer_id: id.into(),
            start_to_fire_timeout: "1".into(),
            control: Some(format!("control of {id}")),
        })),
        ..Default::default()
    }
}

/// The record as the previous release stored it: every member, the open items inline, no
/// `items_keyed`.
fn old_form(rec: &ExecutionRecord) -> Vec<u8> {
    let mut v: Value = serde_json::to_value(rec).unwrap();
    let o = v.as_object_mut().unwrap();
    o.remove("items_keyed");
    o.insert(
        "activities".into(),
        serde_json::to_value(&rec.activities).unwrap(),
    );
    o.insert("timers".into(), serde_json::to_value(&rec.timers).unwrap());
    o.insert(
        "deadlines".into(),
        serde_json::to_value(&rec.deadlines).unwrap(),
    );
    o.insert(
        "children".into(),
        serde_json::to_value(&rec.children).unwrap(),
    );
    serde_json::to_vec(&v).unwrap()
}

#[tokio::test]
async fn records_of_the_previous_release_read_and_move_their_items_on_change() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let run = "run-1".to_string();
    // A run with three open timers and an open activity, written by this release.
    let original = {
        let db = open_db(&path).unwrap();
        let mut sm = StateMachineStore::new(db.clone(), Limits::default(), None);
        ok(
            &mut sm,
            1,
            Op::RegisterDomain(RegisterDomainInput {
                name: "d".into(),
                workflow_execution_retention_period_in_days: "1".into(),
                ..Default::default()
            }),
        )
        .await;
        ok(
            &mut sm,
            2,
            Op::RegisterWorkflowType(RegisterWorkflowTypeInput {
                domain: "d".into(),
                name: "wf".into(),
                version: "1".into(),
                default_task_list: Some(Box::new(TaskList { name: "t".into() })),
                default_execution_start_to_close_timeout: Some("3600".into()),
                default_task_start_to_close_timeout: Some("60".into()),
                default_child_policy: Some(ChildPolicy::Terminate),
                ..Default::default()
            }),
        )
        .await;
        ok(
            &mut sm,
            3,
            Op::StartWorkflowExecution {
                input: StartWorkflowExecutionInput {
                    domain: "d".into(),
                    workflow_id: "w".into(),
                    workflow_type: Box::new(WorkflowType {
                        name: "wf".into(),
                        version: "1".into(),
                    }),
                    ..Default::default()
                },
                run_id: run.clone(),
            },
        )
        .await;
        let token = match ok(
            &mut sm,
            4,
            Op::StartDecisionTask {
                run_id: run.clone(),
                scheduled_event_id: 2,
                identity: None,
            },
        )
        .await
        {
            Reply::DecisionTaskStarted { task_token, .. } => task_token,
            r => panic!("{r:?}"),
        };
        assert_eq!(
            TaskToken::decode(&token).unwrap().started_event_id,
            3,
            "the decision task started"
        );
        ok(
            &mut sm,
            5,
            Op::RespondDecisionTaskCompleted(RespondDecisionTaskCompletedInput {
                task_token: token,
                decisions: Some(vec![timer("a"), timer("b"), timer("c")]),
                ..Default::default()
            }),
        )
        .await;
        let rec = StateReader::new(db).execution(&run).unwrap().unwrap();
        assert_eq!(rec.timers.len(), 3);
        assert_eq!(rec.deadlines.len(), 4, "three timers and the run's timeout");
        rec
    };
    // Rewrite it as the previous release stored it: items inline, none under their own keys.
    {
        let db = open_db(&path).unwrap();
        db.put_cf(
            db.cf_handle(CF_EXECUTIONS).unwrap(),
            run.as_bytes(),
            old_form(&original),
        )
        .unwrap();
        let items = db.cf_handle(CF_ITEMS).unwrap();
        let keys: Vec<Box<[u8]>> = db
            .iterator_cf(items, rocksdb::IteratorMode::Start)
            .map(|kv| kv.unwrap().0)
            .collect();
        assert!(!keys.is_empty());
        for k in keys {
            db.delete_cf(items, k).unwrap();
        }
        let stored: Value = serde_json::from_slice(
            &db.get_cf(db.cf_handle(CF_EXECUTIONS).unwrap(), run.as_bytes())
                .unwrap()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(stored["timers"].as_object().unwrap().len(), 3);
        assert_eq!(stored.get("items_keyed"), None);
    }
    // The upgraded store reads it as it was.
    let db = open_db(&path).unwrap();
    let mut sm = StateMachineStore::new(db.clone(), Limits::default(), None);
    let reader = StateReader::new(db.clone());
    let read = reader.execution(&run).unwrap().unwrap();
    assert!(!read.items_keyed);
    assert_eq!(
        ExecutionRecord {
            items_keyed: true,
            ..read.clone()
        },
        original
    );
    // Firing timer "b" changes the record: every item moves to its own key, "b" is gone.
    let b = read
        .deadlines
        .iter()
        .find(|d| matches!(&d.kind, DeadlineKind::Timer { timer_id } if timer_id == "b"))
        .cloned()
        .unwrap();
    let mut out = sm
        .apply(vec![entry(10, Op::FireDeadline(b))])
        .await
        .unwrap();
    assert_eq!(out.pop().unwrap().0.pop().unwrap(), Ok(Reply::Done));
    drop(sm);
    drop(reader);
    drop(db);
    // Reopened (no cache): the record and its items come from RocksDB alone.
    let db = open_db(&path).unwrap();
    let reader = StateReader::new(db.clone());
    let after = reader.execution(&run).unwrap().unwrap();
    assert!(after.items_keyed);
    assert_eq!(
        after.timers.keys().collect::<Vec<_>>(),
        vec!["a", "c"],
        "the other timers survived the move"
    );
    assert_eq!(after.timers["a"].control.as_deref(), Some("control of a"));
    assert_eq!(after.deadlines.len(), 3);
    let stored: Value = serde_json::from_slice(
        &db.get_cf(db.cf_handle(CF_EXECUTIONS).unwrap(), run.as_bytes())
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        stored.get("timers"),
        None,
        "the record no longer embeds them"
    );
    assert_eq!(stored["items_keyed"], json!(true));
    let items = db
        .iterator_cf(
            db.cf_handle(CF_ITEMS).unwrap(),
            rocksdb::IteratorMode::Start,
        )
        .count();
    assert_eq!(
        items,
        2 + 3,
        "two timers and three deadlines under their own keys"
    );
}

async fn outcome(sm: &mut StateMachineStore, index: u64, op: Op) -> swf_core::Outcome {
    let mut out = sm.apply(vec![entry(index, op)]).await.unwrap();
    out.pop().unwrap().0.pop().unwrap()
}

/// Tasks of a data directory written by the release before token keyrings hold unsigned tokens; once
/// the upgraded cluster has its keyring, those tokens still complete their tasks, and nothing else
/// takes the unsigned form (issue 16).
#[tokio::test]
async fn unsigned_tokens_of_the_previous_release_work_until_their_tasks_close() {
    use swf_core::keyring::{encode_key, TokenKeyOp};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let reply_token = |r: Reply| match r {
        Reply::DecisionTaskStarted { task_token, .. } => task_token,
        Reply::ActivityTaskStarted { task_token, .. } => task_token,
        r => panic!("{r:?}"),
    };
    let start = |wid: &str, run: &str| Op::StartWorkflowExecution {
        input: StartWorkflowExecutionInput {
            domain: "d".into(),
            workflow_id: wid.into(),
            workflow_type: Box::new(WorkflowType {
                name: "wf".into(),
                version: "1".into(),
            }),
            ..Default::default()
        },
        run_id: run.into(),
    };
    // What the previous release leaves: a started activity and a started decision task, both with
    // unsigned tokens, and no keyring.
    let (activity_token, decision_token) = {
        let db = open_db(&path).unwrap();
        let mut sm = StateMachineStore::new(db.clone(), Limits::default(), None);
        let setup = [
            Op::RegisterDomain(RegisterDomainInput {
                name: "d".into(),
                workflow_execution_retention_period_in_days: "1".into(),
                ..Default::default()
            }),
            Op::RegisterWorkflowType(RegisterWorkflowTypeInput {
                domain: "d".into(),
                name: "wf".into(),
                version: "1".into(),
                default_task_list: Some(Box::new(TaskList { name: "t".into() })),
                default_execution_start_to_close_timeout: Some("3600".into()),
                default_task_start_to_close_timeout: Some("60".into()),
                default_child_policy: Some(ChildPolicy::Terminate),
                ..Default::default()
            }),
            Op::RegisterActivityType(RegisterActivityTypeInput {
                domain: "d".into(),
                name: "act".into(),
                version: "1".into(),
                default_task_list: Some(Box::new(TaskList { name: "a".into() })),
                default_task_schedule_to_close_timeout: Some("600".into()),
                default_task_schedule_to_start_timeout: Some("600".into()),
                default_task_start_to_close_timeout: Some("600".into()),
                default_task_heartbeat_timeout: Some("NONE".into()),
                ..Default::default()
            }),
            start("w1", "run-1"),
            start("w2", "run-2"),
        ];
        for (i, op) in setup.into_iter().enumerate() {
            ok(&mut sm, i as u64 + 1, op).await;
        }
        let started = |run: &str| Op::StartDecisionTask {
            run_id: run.into(),
            scheduled_event_id: 2,
            identity: None,
        };
        let t1 = reply_token(ok(&mut sm, 6, started("run-1")).await);
        let schedule = Decision {
            decision_type: DecisionType::ScheduleActivityTask,
            schedule_activity_task_decision_attributes: Some(Box::new(
                ScheduleActivityTaskDecisionAttributes {
                    activity_type: Box::new(ActivityType {
                        name: "act".into(),
                        version: "1".into(),
                    }),
                    activity_id: "a1".into(),
                    ..Default::default()
                },
            )),
            ..Default::default()
        };
        ok(
            &mut sm,
            7,
            Op::RespondDecisionTaskCompleted(RespondDecisionTaskCompletedInput {
                task_token: t1,
                decisions: Some(vec![schedule]),
                ..Default::default()
            }),
        )
        .await;
        let activity = Op::StartActivityTask {
            run_id: "run-1".into(),
            scheduled_event_id: 5,
            identity: None,
        };
        let ta = reply_token(ok(&mut sm, 8, activity).await);
        let td = reply_token(ok(&mut sm, 9, started("run-2")).await);
        assert!(TaskToken::decode(&ta).is_some() && TaskToken::decode(&td).is_some());
        // Stored as the previous release stored them: no token flags.
        let stored = db
            .get_cf(db.cf_handle(CF_EXECUTIONS).unwrap(), b"run-2")
            .unwrap()
            .unwrap();
        assert!(!String::from_utf8_lossy(&stored).contains("token_signed"));
        (ta, td)
    };
    // The upgraded node opens the directory; its first leader creates the keyring.
    let db = open_db(&path).unwrap();
    let mut sm = StateMachineStore::new(db.clone(), Limits::default(), None);
    let key = encode_key(&[9; 32]);
    ok(&mut sm, 10, Op::TokenKey(TokenKeyOp::Init { key })).await;
    // The unsigned tokens handed out before still work.
    let done = Op::RespondActivityTaskCompleted(RespondActivityTaskCompletedInput {
        task_token: activity_token,
        result: Some("r".into()),
    });
    assert_eq!(ok(&mut sm, 11, done).await, Reply::Done);
    let respond = Op::RespondDecisionTaskCompleted(RespondDecisionTaskCompletedInput {
        task_token: decision_token,
        ..Default::default()
    });
    assert_eq!(ok(&mut sm, 12, respond).await, Reply::Done);
    // The activity's completion scheduled a decision task: it gets a signed token, and the unsigned
    // form rebuilt from the history is refused.
    let scheduled = StateReader::new(db.clone())
        .execution("run-1")
        .unwrap()
        .unwrap()
        .next_event_id
        - 1;
    let started = Op::StartDecisionTask {
        run_id: "run-1".into(),
        scheduled_event_id: scheduled,
        identity: None,
    };
    let signed = reply_token(ok(&mut sm, 13, started).await);
    assert!(TaskToken::decode(&signed).is_none(), "signed: {signed}");
    let twin = TaskToken {
        kind: swf_core::state::TaskKind::Decision,
        run_id: "run-1".into(),
        scheduled_event_id: scheduled,
        started_event_id: scheduled + 1,
    }
    .encode();
    let refused = outcome(
        &mut sm,
        14,
        Op::RespondDecisionTaskCompleted(RespondDecisionTaskCompletedInput {
            task_token: twin,
            ..Default::default()
        }),
    )
    .await;
    assert_eq!(
        refused.unwrap_err().kind,
        swf_types::FaultKind::UnknownResource
    );
    let respond = Op::RespondDecisionTaskCompleted(RespondDecisionTaskCompletedInput {
        task_token: signed,
        ..Default::default()
    });
    assert_eq!(ok(&mut sm, 15, respond).await, Reply::Done);
}
