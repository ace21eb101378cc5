//! `LogStore`: openraft's log storage on RocksDB. Entries live in the `logs` column family keyed by
//! big-endian index; vote, committed and last-purged log ids in `meta`. Votes are written with a synced
//! WAL. Appends are group-committed: `append` writes the entries at once (readers see them) and hands
//! openraft's completion callback to a flusher thread, which syncs the WAL once for every append that
//! arrived meanwhile and only then tells openraft they are durable. openraft 0.9 appends each client
//! write separately, so this turns N fsyncs into one under load without delaying a lone write.

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{LogId, OptionalSend, RaftLogReader, StorageError, StorageIOError, Vote};
use rocksdb::{Direction, IteratorMode, WriteBatch, WriteOptions};
use serde::{de::DeserializeOwned, Serialize};

use crate::db::*;
use crate::TypeConfig;

type Entry = openraft::Entry<TypeConfig>;

pub(crate) const KEY_VOTE: &[u8] = b"vote";
pub(crate) const KEY_COMMITTED: &[u8] = b"committed";
pub(crate) const KEY_PURGED: &[u8] = b"last_purged";

/// The Raft log on RocksDB.
#[derive(Clone)]
pub struct LogStore {
    db: Db,
    /// Compacts the purged prefix of the log, so its space comes back at once.
    compactor: crate::compactor::Compactor,
    flusher: std::sync::Arc<std::sync::mpsc::Sender<LogFlushed<TypeConfig>>>,
}

/// Syncs the WAL for every append handed over since the last sync, then completes their callbacks.
fn run_flusher(db: Db, rx: std::sync::mpsc::Receiver<LogFlushed<TypeConfig>>) {
    while let Ok(first) = rx.recv() {
        let mut waiting = vec![first];
        waiting.extend(rx.try_iter());
        let began = std::time::Instant::now();
        let synced = db.flush_wal(true).map_err(|e| e.to_string());
        let m = &crate::metrics::METRICS;
        m.wal_sync_seconds.observe(began.elapsed().as_secs_f64());
        m.wal_sync_appends.observe(waiting.len() as f64);
        for callback in waiting {
            callback.log_io_completed(synced.clone().map_err(std::io::Error::other));
        }
    }
}

fn index_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

fn synced() -> WriteOptions {
    let mut o = WriteOptions::default();
    o.set_sync(true);
    o
}

impl LogStore {
    /// The log store over `db`.
    pub fn new(db: Db) -> LogStore {
        let (tx, rx) = std::sync::mpsc::channel();
        let flush_db = db.clone();
        std::thread::Builder::new()
            .name("swf-log-flush".into())
            .spawn(move || run_flusher(flush_db, rx))
            .expect("spawn the log flusher thread");
        LogStore {
            compactor: crate::compactor::Compactor::start(&db),
            db,
            flusher: std::sync::Arc::new(tx),
        }
    }

    fn logs(&self) -> &rocksdb::ColumnFamily {
        self.db.cf_handle(CF_LOGS).expect("logs cf")
    }

    fn meta(&self) -> &rocksdb::ColumnFamily {
        self.db.cf_handle(CF_META).expect("meta cf")
    }

    fn get_meta<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, StorageError<u64>> {
        let v = self
            .db
            .get_cf(self.meta(), key)
            .map_err(|e| StorageIOError::read(&e))?;
        match v {
            Some(b) => Ok(Some(
                serde_json::from_slice(&b).map_err(|e| StorageIOError::read(&e))?,
            )),
            None => Ok(None),
        }
    }

    fn put_meta<T: Serialize>(
        &self,
        key: &[u8],
        value: &T,
        sync: bool,
    ) -> Result<(), StorageError<u64>> {
        let b = serde_json::to_vec(value).map_err(|e| StorageIOError::write(&e))?;
        let opts = if sync {
            synced()
        } else {
            WriteOptions::default()
        };
        self.db
            .put_cf_opt(self.meta(), key, b, &opts)
            .map_err(|e| StorageIOError::write(&e))?;
        Ok(())
    }

    fn last_entry_log_id(&self) -> Result<Option<LogId<u64>>, StorageError<u64>> {
        let mut it = self.db.iterator_cf(self.logs(), IteratorMode::End);
        match it.next() {
            Some(item) => {
                let (_, v) = item.map_err(|e| StorageIOError::read_logs(&e))?;
                let entry: Entry =
                    serde_json::from_slice(&v).map_err(|e| StorageIOError::read_logs(&e))?;
                Ok(Some(entry.log_id))
            }
            None => Ok(None),
        }
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError<u64>> {
        let start = match range.start_bound() {
            Bound::Included(x) => *x,
            Bound::Excluded(x) => *x + 1,
            Bound::Unbounded => 0,
        };
        let mut out = Vec::new();
        for item in self.db.iterator_cf(
            self.logs(),
            IteratorMode::From(&index_key(start), Direction::Forward),
        ) {
            let (k, v) = item.map_err(|e| StorageIOError::read_logs(&e))?;
            let index = u64::from_be_bytes(k[..8].try_into().expect("8-byte key"));
            if !range.contains(&index) {
                break;
            }
            out.push(serde_json::from_slice(&v).map_err(|e| StorageIOError::read_logs(&e))?);
        }
        Ok(out)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<u64>> {
        let last_purged: Option<LogId<u64>> = self.get_meta(KEY_PURGED)?;
        let last = self.last_entry_log_id()?.or(last_purged);
        Ok(LogState {
            last_purged_log_id: last_purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<u64>) -> Result<(), StorageError<u64>> {
        self.put_meta(KEY_VOTE, vote, true)
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<u64>>, StorageError<u64>> {
        self.get_meta(KEY_VOTE)
    }

    async fn save_committed(
        &mut self,
        committed: Option<LogId<u64>>,
    ) -> Result<(), StorageError<u64>> {
        if let Some(c) = committed {
            crate::metrics::METRICS.committed_index.set(c.index as i64);
        }
        self.put_meta(KEY_COMMITTED, &committed, false)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<u64>>, StorageError<u64>> {
        Ok(self
            .get_meta::<Option<LogId<u64>>>(KEY_COMMITTED)?
            .flatten())
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError<u64>>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut batch = WriteBatch::default();
        for entry in entries {
            let v = serde_json::to_vec(&entry).map_err(|e| StorageIOError::write_logs(&e))?;
            batch.put_cf(self.logs(), index_key(entry.log_id.index), v);
        }
        if let Err(e) = self.db.write(batch) {
            callback.log_io_completed(Err(std::io::Error::other(e.to_string())));
            return Err(StorageIOError::write_logs(&e).into());
        }
        // Durable once the flusher has synced the WAL; it completes the callback then.
        if let Err(std::sync::mpsc::SendError(callback)) = self.flusher.send(callback) {
            let synced = self.db.flush_wal(true);
            callback.log_io_completed(synced.map_err(|e| std::io::Error::other(e.to_string())));
        }
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId<u64>) -> Result<(), StorageError<u64>> {
        self.db
            .delete_range_cf(self.logs(), index_key(log_id.index), index_key(u64::MAX))
            .map_err(|e| StorageIOError::write_logs(&e))?;
        // delete_range excludes the end key.
        self.db
            .delete_cf(self.logs(), index_key(u64::MAX))
            .map_err(|e| StorageIOError::write_logs(&e))?;
        Ok(())
    }

    async fn purge(&mut self, log_id: LogId<u64>) -> Result<(), StorageError<u64>> {
        self.put_meta(KEY_PURGED, &log_id, true)?;
        self.db
            .delete_range_cf(self.logs(), index_key(0), index_key(log_id.index + 1))
            .map_err(|e| StorageIOError::write_logs(&e))?;
        // The range tombstone hides the entries; compacting the range gives their space back.
        self.compactor.compact(vec![crate::compactor::Range {
            cf: CF_LOGS,
            start: index_key(0).to_vec(),
            end: index_key(log_id.index + 1).to_vec(),
        }]);
        Ok(())
    }
}
