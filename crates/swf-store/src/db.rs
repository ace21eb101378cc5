//! Opening the RocksDB database with its column families, and `Db`, the one handle to it that the
//! log store, the state machine and every reader share.

use std::ops::Deref;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};

use rocksdb::{ColumnFamilyDescriptor, Options, DB};

use crate::error::StoreError;
use crate::hot_index::Mirror;

/// The shared handle of one open database: RocksDB itself (through `Deref`) and what this process
/// keeps in memory beside it, the hot mirror of the queues and deadlines and the record cache
/// (`hot_index`), built on first use. Every clone shares them, so the log store, the state machine
/// and the readers of a node see one mirror, without any process-wide registry.
#[derive(Clone)]
pub struct Db(Arc<Store>);

/// What a `Db` holds.
pub struct Store {
    db: DB,
    mirror: OnceLock<Arc<Mirror>>,
    /// Held by whatever changes or reads the snapshot directory (`snapshot`): building a checkpoint
    /// and removing older ones, serving the current snapshot, installing a received one.
    snapshots: Mutex<()>,
}

/// A handle that does not keep the database open (for background threads that end with it).
#[derive(Clone)]
pub struct WeakDb(Weak<Store>);

impl WeakDb {
    /// The database, if it is still open.
    pub fn upgrade(&self) -> Option<Db> {
        self.0.upgrade().map(Db)
    }
}

impl Db {
    /// Wraps an open RocksDB database.
    pub fn new(db: DB) -> Db {
        Db(Arc::new(Store {
            db,
            mirror: OnceLock::new(),
            snapshots: Mutex::new(()),
        }))
    }

    /// A weak handle.
    pub fn downgrade(&self) -> WeakDb {
        WeakDb(Arc::downgrade(&self.0))
    }

    /// The in-memory mirror of this database (loaded from RocksDB on first use). Two first uses at
    /// once may both load it; the first one stored is kept, and both loaded after every write that
    /// was applied before them, so either is current once the writes since are mirrored.
    pub fn mirror(&self) -> Result<&Arc<Mirror>, StoreError> {
        if let Some(m) = self.0.mirror.get() {
            return Ok(m);
        }
        let loaded = Arc::new(Mirror::load(self)?);
        let _ = self.0.mirror.set(loaded);
        Ok(self.0.mirror.get().expect("just set"))
    }
}

impl Db {
    /// Exclusive use of this database's snapshot directory (see `snapshot`). A panic while it was
    /// held leaves nothing to repair (every change there is a rename or a removal), so a poisoned
    /// lock is taken over.
    pub(crate) fn snapshot_dir_lock(&self) -> MutexGuard<'_, ()> {
        self.0
            .snapshots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Deref for Db {
    type Target = DB;

    fn deref(&self) -> &DB {
        &self.0.db
    }
}

/// Raft metadata: vote, committed and purged log ids, applied log id, membership.
pub const CF_META: &str = "meta";
/// The Raft log: index (big-endian) → entry.
pub const CF_LOGS: &str = "logs";
/// Domains: name → record.
pub const CF_DOMAINS: &str = "domains";
/// Workflow and activity types: (domain, kind, name, version) → detail.
pub const CF_TYPES: &str = "types";
/// Executions: run id → record.
pub const CF_EXECUTIONS: &str = "executions";
/// Open runs: (domain, workflow id) → run id.
pub const CF_OPEN_RUNS: &str = "open_runs";
/// History: (run id, event id) → event JSON.
pub const CF_HISTORY: &str = "history";
/// Task queues: (domain, kind, task list, priority, seq, run, event) → queued task.
pub const CF_QUEUES: &str = "queues";

/// Visibility indexes (see `swf_core::visibility` for the key layout) → execution info.
pub const CF_VISIBILITY: &str = "visibility";

/// Armed deadlines: (due time, run id, event id, kind) → deadline.
pub const CF_DEADLINES: &str = "deadlines";

/// Open items of executions (activities, timers, children, deadlines): (run id, kind, item) → item.
pub const CF_ITEMS: &str = "open_items";

/// The de-duplication table of retried calls (`swf_core::dedup`): (time bucket, request id) → recorded
/// outcome, and under the empty key the bucket below which everything is forgotten.
pub const CF_REQUESTS: &str = "requests";

/// Step Functions records (`swf_core::sfn::keys`): activities, state machines, executions, their
/// index and histories.
pub const CF_SFN: &str = "sfn";

/// The column families that hold applied SWF state (what a snapshot carries). New ones go at the end:
/// a snapshot names a column family by its position here.
pub const STATE_CFS: &[&str] = &[
    CF_DOMAINS,
    CF_TYPES,
    CF_EXECUTIONS,
    CF_OPEN_RUNS,
    CF_HISTORY,
    CF_QUEUES,
    CF_VISIBILITY,
    CF_DEADLINES,
    // Last: a snapshot file names column families by position, so older files stay readable.
    CF_ITEMS,
    CF_REQUESTS,
    CF_SFN,
];

/// Column families where nearly every key is deleted soon after it is written (tasks dequeued,
/// deadlines disarmed, items closed, log entries purged; and with a short retention, closed runs'
/// records, histories, index entries and visibility purged). A file of them that is mostly tombstones
/// is marked for compaction at once, so the space and the scans over tombstones do not wait for the
/// file to be pushed down by size. A file of live keys (a long retention) is never marked.
const CHURNING_CFS: &[&str] = &[
    CF_LOGS,
    CF_QUEUES,
    CF_DEADLINES,
    CF_ITEMS,
    CF_EXECUTIONS,
    CF_OPEN_RUNS,
    CF_HISTORY,
    CF_VISIBILITY,
];

/// Most bytes the memtables of all column families hold together. Past it the column family with the
/// oldest memtable is flushed. RocksDB's default is a 64 MiB memtable per column family with no total,
/// so with 13 of them the process grew by everything written (and deleted) until each one filled,
/// and the write-ahead log files, which can only be deleted once every column family with data in
/// them has been flushed, grew with it (docs/benchmarks.md, "Soak"). 256 MiB, not less: with 64 MiB
/// the flushes came four times as often and the cluster's Step Functions p99 at half of peak doubled
/// (docs/benchmarks.md, session 16).
const MEMTABLE_BUDGET: usize = 256 << 20;

/// Most bytes of write-ahead log kept: past it the column families holding the oldest log file are
/// flushed so it can be deleted (a rarely written column family would otherwise keep every log file
/// since its last write). Twice the memtable budget, so it is the budget that sets the pace.
const MAX_WAL_BYTES: u64 = 512 << 20;

/// The block cache all column families share (by default each has its own 32 MiB).
const BLOCK_CACHE_BYTES: usize = 32 << 20;

/// Most bytes per second flushes and compactions write (RocksDB's rate limiter). A memtable flush
/// written at once fills the disk's queue, and the Raft log's synced appends wait behind it: every
/// replica flushed in the same second and the cluster's p99 of that second rose from 10 to 50 ms
/// (docs/benchmarks.md, session 17). 64 MiB/s spreads a flush over a second or so and did not lower
/// the cluster's peak; 32 MiB/s did (by 4 %).
const FLUSH_BYTES_PER_SEC: i64 = 64 << 20;

/// RocksDB's own info log (`LOG` in the database directory) is rolled at this size, and this many of
/// the rolled files are kept (`LOG.old.*`): it logs every flush and checkpoint, about 8 MB in half an
/// hour at half of peak, and grew without bound before (found by the one-hour soak).
const INFO_LOG_FILE_BYTES: usize = 8 << 20;
const INFO_LOG_FILES_KEPT: usize = 3;

/// Rolls RocksDB's info log at `file_bytes` and keeps `kept` rolled files: the log takes at most
/// about `(kept + 1) * file_bytes` of the data directory.
fn bound_info_log(opts: &mut Options, file_bytes: usize, kept: usize) {
    opts.set_max_log_file_size(file_bytes);
    opts.set_keep_log_file_num(kept);
}

/// Column families read by key on every call that touches them, where most look-ups of some of them
/// find nothing (a request id not seen before, a workflow id with no open run): a whole-key bloom
/// filter in each table file and in the memtable answers such a miss without searching them.
const POINT_READ_CFS: &[&str] = &[CF_REQUESTS, CF_OPEN_RUNS, CF_EXECUTIONS];

/// Options of one column family.
fn cf_options(name: &str, cache: &rocksdb::Cache) -> Options {
    let mut opts = Options::default();
    let mut table = rocksdb::BlockBasedOptions::default();
    table.set_block_cache(cache);
    if POINT_READ_CFS.contains(&name) {
        table.set_bloom_filter(10.0, false);
        opts.set_memtable_whole_key_filtering(true);
        opts.set_memtable_prefix_bloom_ratio(0.02);
    }
    opts.set_block_based_table_factory(&table);
    if CHURNING_CFS.contains(&name) {
        // At least 64 deletions in any 128 consecutive entries, or half the file, marks it.
        opts.add_compact_on_deletion_collector_factory(128, 64, 0.5);
    }
    opts
}

/// Whether files in the directory of `db_path` (created if missing) can be written with `O_DIRECT`:
/// some filesystems refuse it (tmpfs before Linux 6.6, some FUSE and overlay ones), and RocksDB would
/// then fail every flush. Checked by writing one aligned block to a scratch file.
fn direct_io_works(db_path: &Path) -> bool {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if std::fs::create_dir_all(db_path).is_err() {
        return false;
    }
    let probe = db_path.join(".direct-io-probe");
    let works = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .custom_flags(libc::O_DIRECT)
        .open(&probe)
        .and_then(|mut f| {
            // O_DIRECT needs an aligned buffer: a 4 KiB block inside an 8 KiB allocation.
            let buf = vec![0u8; 8192];
            let offset = buf.as_ptr().align_offset(4096);
            f.write_all(&buf[offset..offset + 4096])
        })
        .is_ok();
    let _ = std::fs::remove_file(&probe);
    works
}

/// Opens (creating if needed) the database at `path`.
pub fn open_db(path: &Path) -> Result<Db, rocksdb::Error> {
    let mut opts = Options::default();
    opts.create_if_missing(true);
    opts.create_missing_column_families(true);
    opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
    opts.set_db_write_buffer_size(MEMTABLE_BUDGET);
    opts.set_max_total_wal_size(MAX_WAL_BYTES);
    bound_info_log(&mut opts, INFO_LOG_FILE_BYTES, INFO_LOG_FILES_KEPT);
    // Flushes and compactions run below the threads that serve calls: when every replica flushes its
    // memtables in the same second (they are written at the same rate), the calls of that second
    // would otherwise wait for CPU behind them (docs/benchmarks.md, the cluster's p99 spikes).
    let mut env = rocksdb::Env::new()?;
    env.lower_thread_pool_cpu_priority();
    env.lower_high_priority_thread_pool_cpu_priority();
    opts.set_env(&env);
    // Flushes and compactions write past the page cache where the filesystem allows it, so the synced
    // appends of the Raft log do not wait for a flush's dirty pages to be written first (ext4 writes
    // them out with the journal commit an fdatasync makes), and at a bounded rate (see above).
    let direct = direct_io_works(path);
    opts.set_use_direct_io_for_flush_and_compaction(direct);
    opts.set_ratelimiter(FLUSH_BYTES_PER_SEC, 100_000, 10);
    tracing::debug!(direct, "opening the store");
    let cache = rocksdb::Cache::new_lru_cache(BLOCK_CACHE_BYTES);
    let cfs = [CF_META, CF_LOGS]
        .iter()
        .chain(STATE_CFS)
        .map(|name| ColumnFamilyDescriptor::new(*name, cf_options(name, &cache)));
    Ok(Db::new(DB::open_cf_descriptors(&opts, path, cfs)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_direct_io_probe_leaves_nothing_behind_and_fails_where_it_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db");
        // Whatever the filesystem answers, the scratch file is gone and the database opens.
        let _ = direct_io_works(&db);
        assert_eq!(std::fs::read_dir(&db).unwrap().count(), 0);
        drop(open_db(&db).unwrap());
        // A directory that cannot be made (a file is in the way): no direct I/O, no panic.
        std::fs::write(dir.path().join("file"), b"x").unwrap();
        assert!(!direct_io_works(&dir.path().join("file/db")));
    }

    #[test]
    fn the_info_log_is_rolled_and_its_old_files_are_bounded() {
        // The same options as `open_db`'s, scaled down: a 4 KiB log, two rolled files kept; every
        // flush logs a few hundred bytes.
        let dir = tempfile::tempdir().unwrap();
        let mut opts = Options::default();
        opts.create_if_missing(true);
        bound_info_log(&mut opts, 4096, 2);
        let db = DB::open(&opts, dir.path()).unwrap();
        for i in 0..200u32 {
            db.put(i.to_be_bytes(), b"v").unwrap();
            db.flush().unwrap();
        }
        drop(db);
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        let old = names.iter().filter(|n| n.starts_with("LOG.old")).count();
        assert!(names.iter().any(|n| n == "LOG"), "{names:?}");
        assert!((1..=2).contains(&old), "rolled info logs: {names:?}");
        for n in names.iter().filter(|n| n.starts_with("LOG")) {
            let len = std::fs::metadata(dir.path().join(n)).unwrap().len();
            assert!(len < 64 << 10, "{n} is {len} bytes");
        }
    }
}
