//! `StateMachineStore`: openraft's state machine on RocksDB. Each entry is applied by the pure core
//! (`swf_core::apply`) and its writes, together with the applied log id (and membership), are committed
//! in one WriteBatch: a crash never half-applies an entry, and entries at or below the stored applied
//! log id are skipped, so apply is idempotent with respect to the log index.
//!
//! Snapshots are a consistent dump of the state column families taken from a RocksDB snapshot.

use std::io::{Cursor, Read};
use std::sync::Arc;

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    EntryPayload, LogId, OptionalSend, RaftSnapshotBuilder, SnapshotMeta, StorageError,
    StorageIOError, StoredMembership,
};
use rocksdb::{IteratorMode, ReadOptions, WriteBatch};
use serde::{Deserialize, Serialize};
use swf_core::state::Write;
use swf_core::{Limits, Outcome, Reply};

use crate::db::*;
use crate::keys;
use crate::reader::StateReader;
use crate::TypeConfig;

type Entry = openraft::Entry<TypeConfig>;

const KEY_APPLIED: &[u8] = b"applied";

/// Called after each applied entry with the writes it committed, so the node can wake waiting pollers
/// (queued tasks) and its timer service (armed deadlines).
pub type ApplyHook = Arc<dyn Fn(&[Write]) + Send + Sync>;

/// What the state machine stores about itself next to the state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct AppliedMeta {
    last_applied: Option<LogId<u64>>,
    membership: StoredMembership<u64, openraft::BasicNode>,
}

/// The SWF state machine on RocksDB.
#[derive(Clone)]
pub struct StateMachineStore {
    db: Db,
    reader: StateReader,
    limits: Arc<Limits>,
    on_apply: Option<ApplyHook>,
}

fn serialize<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("state values serialize")
}

impl StateMachineStore {
    /// The state machine over `db` with the given limits; `on_apply` sees each entry's committed writes.
    pub fn new(db: Db, limits: Limits, on_apply: Option<ApplyHook>) -> StateMachineStore {
        StateMachineStore {
            reader: StateReader::new(db.clone()),
            db,
            limits: Arc::new(limits),
            on_apply,
        }
    }

    fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.db.cf_handle(name).expect("column family exists")
    }

    fn applied_meta(&self) -> Result<AppliedMeta, StorageError<u64>> {
        match self
            .db
            .get_cf(self.cf(CF_META), KEY_APPLIED)
            .map_err(|e| StorageIOError::read_state_machine(&e))?
        {
            Some(b) => serde_json::from_slice(&b)
                .map_err(|e| StorageIOError::read_state_machine(&e).into()),
            None => Ok(AppliedMeta::default()),
        }
    }

    /// Adds the writes of one applied command to `batch`.
    fn stage(&self, batch: &mut WriteBatch, writes: &[Write]) {
        for w in writes {
            match w {
                Write::Domain(d) => batch.put_cf(
                    self.cf(CF_DOMAINS),
                    d.detail.domain_info.name.as_bytes(),
                    serialize(d),
                ),
                Write::WorkflowType { domain, detail } => {
                    let t = &detail.type_info.workflow_type;
                    batch.put_cf(
                        self.cf(CF_TYPES),
                        keys::type_key(domain, b'W', &t.name, &t.version),
                        serialize(detail),
                    )
                }
                Write::ActivityType { domain, detail } => {
                    let t = &detail.type_info.activity_type;
                    batch.put_cf(
                        self.cf(CF_TYPES),
                        keys::type_key(domain, b'A', &t.name, &t.version),
                        serialize(detail),
                    )
                }
                Write::Purge {
                    run_id,
                    last_event_id,
                    visibility_keys,
                } => {
                    batch.delete_cf(self.cf(CF_EXECUTIONS), run_id.as_bytes());
                    batch.delete_range_cf(
                        self.cf(CF_HISTORY),
                        keys::history_key(run_id, 0),
                        keys::history_key(run_id, last_event_id + 1),
                    );
                    for k in visibility_keys {
                        batch.delete_cf(self.cf(CF_VISIBILITY), k);
                    }
                }
                Write::Arm(d) => {
                    batch.put_cf(self.cf(CF_DEADLINES), keys::deadline_key(d), serialize(d))
                }
                Write::Disarm(d) => batch.delete_cf(self.cf(CF_DEADLINES), keys::deadline_key(d)),
                Write::Index { keys, info } => {
                    let value = serialize(info);
                    for k in keys {
                        batch.put_cf(self.cf(CF_VISIBILITY), k, &value);
                    }
                }
                Write::Unindex { keys } => {
                    for k in keys {
                        batch.delete_cf(self.cf(CF_VISIBILITY), k);
                    }
                }
                Write::DeleteWorkflowType {
                    domain,
                    workflow_type: t,
                } => batch.delete_cf(
                    self.cf(CF_TYPES),
                    keys::type_key(domain, b'W', &t.name, &t.version),
                ),
                Write::DeleteActivityType {
                    domain,
                    activity_type: t,
                } => batch.delete_cf(
                    self.cf(CF_TYPES),
                    keys::type_key(domain, b'A', &t.name, &t.version),
                ),
                Write::Execution(rec) => batch.put_cf(
                    self.cf(CF_EXECUTIONS),
                    rec.run_id.as_bytes(),
                    serialize(rec),
                ),
                Write::OpenRun {
                    domain,
                    workflow_id,
                    run_id,
                } => {
                    let key = keys::open_run_key(domain, workflow_id);
                    match run_id {
                        Some(r) => batch.put_cf(self.cf(CF_OPEN_RUNS), key, r.as_bytes()),
                        None => batch.delete_cf(self.cf(CF_OPEN_RUNS), key),
                    }
                }
                Write::Event { run_id, event } => batch.put_cf(
                    self.cf(CF_HISTORY),
                    keys::history_key(run_id, event.event_id),
                    serialize(event),
                ),
                Write::Enqueue(q) => {
                    batch.put_cf(self.cf(CF_QUEUES), keys::queue_key(q), serialize(q))
                }
                Write::Dequeue(q) => batch.delete_cf(self.cf(CF_QUEUES), keys::queue_key(q)),
            }
        }
    }

    /// Dumps the state column families and the applied meta from one consistent RocksDB snapshot.
    fn dump(&self) -> Result<(AppliedMeta, Vec<u8>), StorageError<u64>> {
        let snap = self.db.snapshot();
        let meta: AppliedMeta = match snap
            .get_cf(self.cf(CF_META), KEY_APPLIED)
            .map_err(|e| StorageIOError::read_state_machine(&e))?
        {
            Some(b) => {
                serde_json::from_slice(&b).map_err(|e| StorageIOError::read_state_machine(&e))?
            }
            None => AppliedMeta::default(),
        };
        let mut out = Vec::new();
        for (i, cf) in STATE_CFS.iter().enumerate() {
            let mut opts = ReadOptions::default();
            opts.set_snapshot(&snap);
            for item in self
                .db
                .iterator_cf_opt(self.cf(cf), opts, IteratorMode::Start)
            {
                let (k, v) = item.map_err(|e| StorageIOError::read_state_machine(&e))?;
                out.push(i as u8);
                out.extend_from_slice(&(k.len() as u32).to_be_bytes());
                out.extend_from_slice(&k);
                out.extend_from_slice(&(v.len() as u32).to_be_bytes());
                out.extend_from_slice(&v);
            }
        }
        Ok((meta, out))
    }

    fn snapshot_of(&self, meta: AppliedMeta, data: Vec<u8>) -> Snapshot<TypeConfig> {
        let id = match &meta.last_applied {
            Some(l) => format!("{}-{}-{}", l.leader_id.term, l.leader_id.node_id, l.index),
            None => "empty".to_string(),
        };
        Snapshot {
            meta: SnapshotMeta {
                last_log_id: meta.last_applied,
                last_membership: meta.membership,
                snapshot_id: id,
            },
            snapshot: Box::new(Cursor::new(data)),
        }
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachineStore {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<u64>> {
        let (meta, data) = self.dump()?;
        Ok(self.snapshot_of(meta, data))
    }
}

impl RaftStateMachine<TypeConfig> for StateMachineStore {
    type SnapshotBuilder = StateMachineStore;

    async fn applied_state(
        &mut self,
    ) -> Result<
        (
            Option<LogId<u64>>,
            StoredMembership<u64, openraft::BasicNode>,
        ),
        StorageError<u64>,
    > {
        let meta = self.applied_meta()?;
        Ok((meta.last_applied, meta.membership))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Outcome>, StorageError<u64>>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut meta = self.applied_meta()?;
        let mut results = Vec::new();
        for entry in entries {
            let log_id = entry.log_id;
            if meta
                .last_applied
                .is_some_and(|applied| log_id.index <= applied.index)
            {
                results.push(Ok(Reply::Done));
                continue;
            }
            let mut batch = WriteBatch::default();
            let mut committed = Vec::new();
            let outcome = match &entry.payload {
                EntryPayload::Blank => Ok(Reply::Done),
                EntryPayload::Membership(m) => {
                    meta.membership = StoredMembership::new(Some(log_id), m.clone());
                    Ok(Reply::Done)
                }
                EntryPayload::Normal(cmd) => {
                    let applied = swf_core::apply(&self.reader, log_id.index, cmd, &self.limits)
                        .map_err(|e| StorageIOError::apply(log_id, &e))?;
                    self.stage(&mut batch, &applied.writes);
                    committed = applied.writes;
                    applied.outcome
                }
            };
            meta.last_applied = Some(log_id);
            batch.put_cf(self.cf(CF_META), KEY_APPLIED, serialize(&meta));
            self.db
                .write(batch)
                .map_err(|e| StorageIOError::apply(log_id, &e))?;
            crate::hot_index::applied(&self.db, &committed)
                .map_err(|e| StorageIOError::apply(log_id, &std::io::Error::other(e)))?;
            if let (Some(hook), false) = (&self.on_apply, committed.is_empty()) {
                hook(&committed);
            }
            results.push(outcome);
        }
        Ok(results)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> Result<Box<Cursor<Vec<u8>>>, StorageError<u64>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<u64, openraft::BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<u64>> {
        let bad = |e: &dyn std::fmt::Display| {
            StorageIOError::read_snapshot(
                Some(meta.signature()),
                &std::io::Error::other(e.to_string()),
            )
        };
        let mut batch = WriteBatch::default();
        for cf in STATE_CFS {
            for item in self.db.iterator_cf(self.cf(cf), IteratorMode::Start) {
                let (k, _) = item.map_err(|e| StorageIOError::read_state_machine(&e))?;
                batch.delete_cf(self.cf(cf), k);
            }
        }
        let mut data = snapshot.into_inner();
        let mut r = Cursor::new(std::mem::take(&mut data));
        let mut byte = [0u8; 1];
        while r.read(&mut byte).map_err(|e| bad(&e))? == 1 {
            let cf = STATE_CFS
                .get(byte[0] as usize)
                .ok_or_else(|| bad(&"unknown column family in snapshot"))?;
            let mut len = [0u8; 4];
            r.read_exact(&mut len).map_err(|e| bad(&e))?;
            let mut k = vec![0u8; u32::from_be_bytes(len) as usize];
            r.read_exact(&mut k).map_err(|e| bad(&e))?;
            r.read_exact(&mut len).map_err(|e| bad(&e))?;
            let mut v = vec![0u8; u32::from_be_bytes(len) as usize];
            r.read_exact(&mut v).map_err(|e| bad(&e))?;
            batch.put_cf(self.cf(cf), k, v);
        }
        let applied = AppliedMeta {
            last_applied: meta.last_log_id,
            membership: meta.last_membership.clone(),
        };
        batch.put_cf(self.cf(CF_META), KEY_APPLIED, serialize(&applied));
        self.db
            .write(batch)
            .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &e))?;
        crate::hot_index::reload(&self.db).map_err(|e| {
            StorageIOError::write_snapshot(Some(meta.signature()), &std::io::Error::other(e))
        })?;
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, StorageError<u64>> {
        let (meta, data) = self.dump()?;
        if meta.last_applied.is_none() {
            return Ok(None);
        }
        Ok(Some(self.snapshot_of(meta, data)))
    }
}
