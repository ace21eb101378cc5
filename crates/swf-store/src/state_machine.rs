//! `StateMachineStore`: openraft's state machine on RocksDB. Each entry is applied by the pure core
//! (`swf_core::apply`) and its writes, together with the applied log id (and membership), are committed
//! in one WriteBatch: a crash never half-applies an entry, and entries at or below the stored applied
//! log id are skipped, so apply is idempotent with respect to the log index.
//!
//! Snapshots are files streamed from a consistent RocksDB snapshot of the state column families (see
//! `snapshot`): building, sending and installing one never holds the state in memory.

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    EntryPayload, LogId, OptionalSend, RaftSnapshotBuilder, SnapshotMeta, StorageError,
    StorageIOError, StoredMembership,
};
use rocksdb::WriteBatch;
use serde::Serialize;
use swf_core::state::Write;
use swf_core::{Limits, Outcomes};

use crate::compactor::{Compactor, Range, PURGE_COMPACT_EVENTS};
use crate::db::*;
use crate::keys;
use crate::reader::StateReader;
use crate::snapshot::{self, AppliedMeta, KEY_APPLIED};
use crate::TypeConfig;

type Entry = openraft::Entry<TypeConfig>;

/// Called after each applied entry with the writes it committed, so the node can wake waiting pollers
/// (queued tasks) and its timer service (armed deadlines).
pub type ApplyHook = Arc<dyn Fn(&[Write]) + Send + Sync>;

/// The SWF state machine on RocksDB.
#[derive(Clone)]
pub struct StateMachineStore {
    db: Db,
    reader: StateReader,
    limits: Arc<Limits>,
    on_apply: Option<ApplyHook>,
    /// Where snapshot files live.
    snapshots: PathBuf,
    /// Compacts the ranges large purges free.
    compactor: Compactor,
    /// Bytes handed to RocksDB in applied entries' write batches (what the WAL and memtables take).
    written: Arc<AtomicU64>,
    /// The latest time stamped into an applied command (also kept in the applied meta).
    last_stamp: Arc<AtomicI64>,
    /// Bytes to reserve for the next entry's write batch: a quarter more than the last one took, so
    /// a batch of hundreds of writes is not copied over and over as it grows.
    batch_hint: usize,
}

fn serialize<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("state values serialize")
}

impl StateMachineStore {
    /// The state machine over `db` with the given limits; `on_apply` sees each entry's committed writes.
    pub fn new(db: Db, limits: Limits, on_apply: Option<ApplyHook>) -> StateMachineStore {
        let stored_stamp = db
            .cf_handle(CF_META)
            .and_then(|cf| db.get_cf(cf, KEY_APPLIED).ok().flatten())
            .and_then(|b| serde_json::from_slice::<AppliedMeta>(&b).ok())
            .map_or(0, |m| m.last_stamp);
        StateMachineStore {
            last_stamp: Arc::new(AtomicI64::new(stored_stamp)),
            reader: StateReader::new(db.clone()),
            snapshots: snapshot::dir_of(&db),
            compactor: Compactor::start(&db),
            written: Arc::new(AtomicU64::new(0)),
            batch_hint: 0,
            db,
            limits: Arc::new(limits),
            on_apply,
        }
    }

    /// Bytes of state written so far by this store's applied entries (the sum of their write batches'
    /// sizes: keys, values and batch framing, as RocksDB's WAL receives them).
    pub fn bytes_written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// The latest time stamped into an applied command (ms), kept up to date as entries apply: a new
    /// leader never stamps below it (see swf-node's `clock`).
    pub fn last_stamp(&self) -> Arc<AtomicI64> {
        self.last_stamp.clone()
    }

    /// The purged ranges worth compacting now (see `compactor`).
    fn purged_ranges(writes: &[Write]) -> Vec<Range> {
        let mut ranges = Vec::new();
        for w in writes {
            if let Write::Purge {
                run_id,
                last_event_id,
                ..
            } = w
            {
                if *last_event_id >= PURGE_COMPACT_EVENTS {
                    ranges.push(Range {
                        cf: CF_HISTORY,
                        start: keys::history_key(run_id, 0),
                        end: keys::history_key(run_id, last_event_id + 1),
                    });
                    let start = keys::items_prefix(run_id);
                    let mut end = start.clone();
                    end.push(0xFF);
                    ranges.push(Range {
                        cf: CF_ITEMS,
                        start,
                        end,
                    });
                }
            }
        }
        ranges
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
                    if *last_event_id < PURGE_COMPACT_EVENTS {
                        // Point deletions (the items' come as `Write::Item`s before this): a range
                        // tombstone in a memtable is re-fragmented, with every other one there, by
                        // each read of its column family after it, which made every call's cost grow
                        // with the runs purged since the last flush (docs/benchmarks.md, "Soak").
                        for event_id in 1..=*last_event_id {
                            batch.delete_cf(
                                self.cf(CF_HISTORY),
                                keys::history_key(run_id, event_id),
                            );
                        }
                    } else {
                        // A long history: one range tombstone each, compacted at once
                        // (`purged_ranges`), which flushes them out of the memtables too.
                        let items = keys::items_prefix(run_id);
                        let mut items_end = items.clone();
                        items_end.push(0xFF);
                        batch.delete_range_cf(self.cf(CF_ITEMS), items, items_end);
                        batch.delete_range_cf(
                            self.cf(CF_HISTORY),
                            keys::history_key(run_id, 0),
                            keys::history_key(run_id, last_event_id + 1),
                        );
                    }
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
                    rec.stored_json(),
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
                Write::Item { run_id, key, item } => {
                    let k = keys::item_key(run_id, key);
                    match item {
                        Some(item) => batch.put_cf(self.cf(CF_ITEMS), k, serialize(item)),
                        None => batch.delete_cf(self.cf(CF_ITEMS), k),
                    }
                }
                Write::Enqueue(q) => {
                    batch.put_cf(self.cf(CF_QUEUES), keys::queue_key(q), serialize(q))
                }
                Write::Dequeue(q) => batch.delete_cf(self.cf(CF_QUEUES), keys::queue_key(q)),
                Write::Sfn { key, value } => match value {
                    Some(v) => batch.put_cf(self.cf(CF_SFN), key, v),
                    None => batch.delete_cf(self.cf(CF_SFN), key),
                },
                Write::Request {
                    bucket,
                    request_id,
                    record,
                } => batch.put_cf(
                    self.cf(CF_REQUESTS),
                    keys::request_key(*bucket, request_id),
                    serialize(record),
                ),
                Write::ForgetRequests { below } => {
                    // One range tombstone for the old buckets (every bucket key is 8 bytes or more, so
                    // the marker under the empty key is outside the range).
                    batch.delete_range_cf(
                        self.cf(CF_REQUESTS),
                        keys::request_key(0, ""),
                        keys::request_key(*below, ""),
                    );
                    batch.put_cf(
                        self.cf(CF_REQUESTS),
                        keys::REQUESTS_FORGOTTEN_KEY,
                        serialize(below),
                    );
                }
            }
        }
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachineStore {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<u64>> {
        // A checkpoint (cheap whatever the state's size); the file a follower needs is streamed from
        // it on demand by `get_current_snapshot`. openraft 0.9 keeps only the meta of a snapshot it
        // asked to build (core/sm/worker.rs), so the data returned here is an empty scratch file.
        let (db, dir) = (self.db.clone(), self.snapshots.clone());
        let began = std::time::Instant::now();
        let meta = tokio::task::spawn_blocking(move || snapshot::checkpoint(&db, &dir))
            .await
            .map_err(|e| StorageIOError::write_snapshot(None, &std::io::Error::other(e)))?
            .map_err(|e| StorageIOError::write_snapshot(None, &e))?;
        let m = &crate::metrics::METRICS;
        m.snapshots_built.inc();
        m.snapshot_build_seconds
            .observe(began.elapsed().as_secs_f64());
        tracing::info!(snapshot = %meta.snapshot_id, "snapshot checkpoint taken");
        let (path, scratch) = snapshot::receiving_file(&self.snapshots)
            .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &e))?;
        let _ = std::fs::remove_file(path);
        Ok(Snapshot {
            meta,
            snapshot: Box::new(tokio::fs::File::from_std(scratch)),
        })
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
        // A snapshot install a crash interrupted is finished first.
        snapshot::recover(&self.db).map_err(|e| StorageIOError::read_state_machine(&e))?;
        let meta = self.applied_meta()?;
        Ok((meta.last_applied, meta.membership))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Outcomes>, StorageError<u64>>
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
                results.push(Outcomes::default());
                continue;
            }
            let began = std::time::Instant::now();
            let mut batch = WriteBatch::with_capacity_bytes(self.batch_hint);
            let mut committed = Vec::new();
            let mut commands = 0;
            let outcomes = match &entry.payload {
                EntryPayload::Blank => Outcomes::default(),
                EntryPayload::Membership(m) => {
                    meta.membership = StoredMembership::new(Some(log_id), m.clone());
                    Outcomes::default()
                }
                EntryPayload::Normal(cmds) => {
                    commands = cmds.0.len();
                    let applied =
                        swf_core::apply_batch(&self.reader, log_id.index, &cmds.0, &self.limits)
                            .map_err(|e| StorageIOError::apply(log_id, &e))?;
                    self.stage(&mut batch, &applied.writes);
                    committed = applied.writes;
                    if let Some(t) = cmds.0.iter().map(|c| c.now.0).max() {
                        meta.last_stamp = meta.last_stamp.max(t);
                    }
                    Outcomes(applied.outcomes)
                }
            };
            meta.last_applied = Some(log_id);
            // After a snapshot install the meta starts again from 0: the stamp known before counts.
            meta.last_stamp = meta.last_stamp.max(self.last_stamp.load(Ordering::SeqCst));
            batch.put_cf(self.cf(CF_META), KEY_APPLIED, serialize(&meta));
            let size = batch.size_in_bytes();
            self.batch_hint = size + size / 4;
            self.written.fetch_add(size as u64, Ordering::Relaxed);
            self.db
                .write(batch)
                .map_err(|e| StorageIOError::apply(log_id, &e))?;
            self.last_stamp.fetch_max(meta.last_stamp, Ordering::SeqCst);
            self.compactor.compact(Self::purged_ranges(&committed));
            crate::hot_index::applied(&self.db, &committed)
                .map_err(|e| StorageIOError::apply(log_id, &e))?;
            if let (Some(hook), false) = (&self.on_apply, committed.is_empty()) {
                hook(&committed);
            }
            crate::metrics::METRICS.applied(commands, began.elapsed());
            results.push(outcomes);
        }
        Ok(results)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> Result<Box<tokio::fs::File>, StorageError<u64>> {
        let (_, file) = snapshot::receiving_file(&self.snapshots)
            .map_err(|e| StorageIOError::write_snapshot(None, &e))?;
        Ok(Box::new(tokio::fs::File::from_std(file)))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<u64, openraft::BasicNode>,
        snapshot: Box<tokio::fs::File>,
    ) -> Result<(), StorageError<u64>> {
        let began = std::time::Instant::now();
        let data = snapshot.into_std().await;
        let (db, dir, m) = (self.db.clone(), self.snapshots.clone(), meta.clone());
        let path = tokio::task::spawn_blocking(move || snapshot::install(&db, &dir, &m, data))
            .await
            .map_err(|e| {
                StorageIOError::write_snapshot(Some(meta.signature()), &std::io::Error::other(e))
            })?
            .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &e))?;
        tracing::info!(snapshot = %meta.snapshot_id, path = %path.display(), "snapshot installed");
        crate::hot_index::reload(&self.db)
            .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &e))?;
        let metrics = &crate::metrics::METRICS;
        metrics.snapshots_installed.inc();
        metrics
            .snapshot_install_seconds
            .observe(began.elapsed().as_secs_f64());
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, StorageError<u64>> {
        let (db, dir) = (self.db.clone(), self.snapshots.clone());
        let current = tokio::task::spawn_blocking(move || snapshot::current(&db, &dir))
            .await
            .map_err(|e| StorageIOError::read_snapshot(None, &std::io::Error::other(e)))?
            .map_err(|e| StorageIOError::read_snapshot(None, &e))?;
        // Already open: a build that removes the file meanwhile does not disturb the transfer.
        Ok(current.map(|c| Snapshot {
            meta: c.meta,
            snapshot: Box::new(tokio::fs::File::from_std(c.file)),
        }))
    }
}
