//! Reclaiming the space that range deletions free. Purging a closed run whose history has at least
//! `PURGE_COMPACT_EVENTS` events deletes its history and open items with range tombstones (a shorter
//! one is deleted key by key, see `state_machine`), and purging the Raft log deletes a prefix of it
//! the same way. RocksDB
//! drops the covered data only when a compaction happens to rewrite those files, which for a large
//! history or a long log can be much later (the space stayed taken minutes after a 25,000-event run
//! was purged). The compactor compacts exactly the purged key ranges, on a thread of its own so
//! applying and appending never wait for it.
//!
//! The memtables are flushed first: until they are, the write-ahead log files that hold the purged
//! data (and everything written alongside it) cannot be deleted, and for a small database the WAL is
//! most of the data directory.
//!
//! Only ranges worth it are sent here: a purged history of at least `PURGE_COMPACT_EVENTS` events
//! and every log purge (one per snapshot). Small histories are left to RocksDB's own compactions.

use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};

use crate::db::{Db, CF_LOGS, CF_META, STATE_CFS};

/// A purged history at least this long is range-deleted and compacted right away (a shorter one is
/// deleted key by key: range tombstones left in a memtable slow every read of it).
pub const PURGE_COMPACT_EVENTS: i64 = 1_000;

/// A key range of one column family to compact: `[start, end)`.
#[derive(Debug, Clone)]
pub struct Range {
    pub cf: &'static str,
    pub start: Vec<u8>,
    pub end: Vec<u8>,
}

/// Compacts purged ranges of one database in the background.
#[derive(Clone)]
pub struct Compactor {
    tx: Arc<Mutex<Sender<Vec<Range>>>>,
}

impl Compactor {
    /// Starts the compactor thread of `db`. It holds the database weakly and ends when every handle
    /// to the compactor is dropped.
    pub fn start(db: &Db) -> Compactor {
        let (tx, rx) = channel::<Vec<Range>>();
        let weak = db.downgrade();
        std::thread::Builder::new()
            .name("swf-compactor".into())
            .spawn(move || {
                while let Ok(ranges) = rx.recv() {
                    let Some(db) = weak.upgrade() else { return };
                    for name in [CF_META, CF_LOGS].iter().chain(STATE_CFS) {
                        if let Some(cf) = db.cf_handle(name) {
                            if let Err(e) = db.flush_cf(&cf) {
                                tracing::warn!(error = %e, cf = name, "flush before compaction");
                            }
                        }
                    }
                    for r in ranges {
                        if let Some(cf) = db.cf_handle(r.cf) {
                            db.compact_range_cf(&cf, Some(&r.start), Some(&r.end));
                        }
                    }
                }
            })
            .expect("spawn the compactor thread");
        Compactor {
            tx: Arc::new(Mutex::new(tx)),
        }
    }

    /// Asks for `ranges` to be compacted (nothing happens if the thread is gone).
    pub fn compact(&self, ranges: Vec<Range>) {
        if ranges.is_empty() {
            return;
        }
        if let Ok(tx) = self.tx.lock() {
            let _ = tx.send(ranges);
        }
    }
}
