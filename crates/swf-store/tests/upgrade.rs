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
