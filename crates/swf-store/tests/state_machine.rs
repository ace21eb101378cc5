//! The RocksDB state machine driven through openraft's traits: entries apply into RocksDB atomically with
//! the applied log id, re-applying an entry changes nothing, state survives reopening the database, and a
//! snapshot installed on another store reproduces the state exactly.

use openraft::storage::RaftStateMachine;
use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId, RaftSnapshotBuilder};
use swf_core::state::{Lookup, StateRead};
use swf_core::{Batch, Command, Limits, Op, Outcomes, Reply};
use swf_store::{open_db, LogStore, StateMachineStore, StateReader, TypeConfig};
use swf_types::shapes::RegisterDomainInput;
use swf_types::Timestamp;

fn entry(index: u64, op: Op) -> Entry<TypeConfig> {
    Entry {
        log_id: LogId::new(CommittedLeaderId::new(1, 1), index),
        payload: EntryPayload::Normal(Batch(vec![Command {
            now: Timestamp(1_000 * index as i64),
            op,
            fresh_ids: Vec::new(),
            request_id: None,
        }])),
    }
}

fn register(name: &str) -> Op {
    Op::RegisterDomain(RegisterDomainInput {
        name: name.into(),
        workflow_execution_retention_period_in_days: "1".into(),
        ..Default::default()
    })
}

#[tokio::test]
async fn apply_is_atomic_idempotent_durable_and_snapshots_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let db = open_db(&path).unwrap();
        let mut sm = StateMachineStore::new(db.clone(), Limits::default(), None);
        let out = sm
            .apply(vec![
                entry(1, register("a")),
                entry(2, register("a")),
                entry(3, register("b")),
            ])
            .await
            .unwrap();
        assert_eq!(out[0], Outcomes(vec![Ok(Reply::Done)]));
        assert_eq!(
            out[1].0[0].as_ref().unwrap_err().code(),
            "DomainAlreadyExistsFault"
        );
        assert_eq!(out[2], Outcomes(vec![Ok(Reply::Done)]));
        let (applied, _) = sm.applied_state().await.unwrap();
        assert_eq!(applied.map(|l| l.index), Some(3));

        // Re-applying entries at or below the applied index changes nothing.
        let again = sm.apply(vec![entry(3, register("c"))]).await.unwrap();
        assert_eq!(again, vec![Outcomes::default()]);
        assert!(StateReader::new(db.clone()).domain("c").unwrap().is_none());
    }
    // Reopen: the state and the applied index are still there.
    let db = open_db(&path).unwrap();
    let mut sm = StateMachineStore::new(db.clone(), Limits::default(), None);
    assert_eq!(
        sm.applied_state().await.unwrap().0.map(|l| l.index),
        Some(3)
    );
    let reader = StateReader::new(db.clone());
    assert_eq!(reader.domain_count().unwrap(), 2);

    // A snapshot installed elsewhere reproduces the state. Building takes a checkpoint; the data sent
    // to a follower is what get_current_snapshot serves (as openraft does).
    let built = sm.build_snapshot().await.unwrap();
    assert_eq!(built.meta.last_log_id.map(|l| l.index), Some(3));
    let snapshot = sm.get_current_snapshot().await.unwrap().unwrap();
    assert_eq!(snapshot.meta, built.meta);
    let other_dir = tempfile::tempdir().unwrap();
    let other_db = open_db(&other_dir.path().join("db")).unwrap();
    let mut other = StateMachineStore::new(other_db.clone(), Limits::default(), None);
    other
        .apply(vec![entry(1, register("stale"))])
        .await
        .unwrap();
    other
        .install_snapshot(&snapshot.meta, snapshot.snapshot)
        .await
        .unwrap();
    let other_reader = StateReader::new(other_db);
    assert!(other_reader.domain("stale").unwrap().is_none());
    assert_eq!(other_reader.domains().unwrap(), reader.domains().unwrap());
    assert_eq!(
        other.applied_state().await.unwrap().0.map(|l| l.index),
        Some(3)
    );
}

/// An entry carrying several commands (a batch the leader proposed together) applies them in order, each
/// seeing the writes of those before it, in one WriteBatch with one applied index.
#[tokio::test]
async fn a_batched_entry_applies_its_commands_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(&dir.path().join("db")).unwrap();
    let mut sm = StateMachineStore::new(db.clone(), Limits::default(), None);
    let cmd = |op| Command {
        now: Timestamp(5_000),
        op,
        fresh_ids: Vec::new(),
        request_id: None,
    };
    let wf_type = || {
        Op::RegisterWorkflowType(swf_types::shapes::RegisterWorkflowTypeInput {
            domain: "x".into(),
            name: "wf".into(),
            version: "1".into(),
            ..Default::default()
        })
    };
    let batch = Entry {
        log_id: LogId::new(CommittedLeaderId::new(1, 1), 1),
        payload: EntryPayload::Normal(Batch(vec![
            cmd(register("x")),
            cmd(register("x")),
            cmd(wf_type()),
            cmd(wf_type()),
        ])),
    };
    let out = sm.apply(vec![batch]).await.unwrap();
    let codes: Vec<&str> = out[0]
        .0
        .iter()
        .map(|o| o.as_ref().map(|_| "ok").unwrap_or_else(|f| f.code()))
        .collect();
    assert_eq!(
        codes,
        [
            "ok",
            "DomainAlreadyExistsFault",
            "ok",
            "TypeAlreadyExistsFault"
        ]
    );
    let reader = StateReader::new(db);
    assert_eq!(reader.domain_count().unwrap(), 1);
    assert_eq!(reader.domain("x").unwrap().unwrap().workflow_types, 1);
    assert_eq!(
        sm.applied_state().await.unwrap().0.map(|l| l.index),
        Some(1)
    );
}

/// Builds a fresh pair of stores on a temporary RocksDB for openraft's storage test suite.
struct Builder;

impl openraft::testing::StoreBuilder<TypeConfig, LogStore, StateMachineStore, tempfile::TempDir>
    for Builder
{
    async fn build(
        &self,
    ) -> Result<(tempfile::TempDir, LogStore, StateMachineStore), openraft::StorageError<u64>> {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = open_db(&dir.path().join("db")).expect("open db");
        Ok((
            dir,
            LogStore::new(db.clone()),
            StateMachineStore::new(db, Limits::default(), None),
        ))
    }
}

/// openraft's own conformance suite for log and state machine storage.
#[test]
fn openraft_storage_suite() {
    openraft::testing::Suite::test_all(Builder).unwrap();
}
