//! In-memory mirror of the two column families the hot path scans (the task queues and the armed
//! deadlines), and a cache of the open executions' records (see `RecordCache`).
//!
//! The queues and deadlines: Both see a delete for nearly every insert (a task is dequeued when it starts, a deadline is
//! disarmed when its task or run closes), so a RocksDB scan of them walks over a growing run of tombstones
//! until compaction catches up: a poll or a timer wake-up cost O(tasks ever queued), which capped
//! throughput. The mirror holds only live entries, in key order, so a scan costs O(result).
//!
//! RocksDB stays the source of truth: the mirror is built from it when a database is first read, changed
//! right after each applied entry's batch is written (before anyone is told of the entry), and rebuilt
//! after a snapshot is installed. The mirror belongs to the database's `Db` handle, so every reader of
//! the same database shares it.
//!
//! The record cache: nearly every command reads the record of its execution (in the apply, and in the
//! leader's dry run of a poll's task start) and writes it back, and decoding the JSON record was the largest single cost of
//! applying. The state machine puts each open execution's record it writes into the cache (already
//! decoded) and drops closed and purged ones; readers that miss go to RocksDB and never fill the cache,
//! so a reader racing with the state machine cannot leave an old version behind. Between an entry's
//! batch write and the cache update a reader may see the previous version, which only a dry run can do
//! (reads that must be current run after the entry's apply returned).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use rocksdb::{IteratorMode, DB};
use swf_core::state::{Deadline, ExecutionRecord, QueuedTask, TaskKind, Write};
use swf_types::shapes::EventType;

use crate::db::{Db, CF_DEADLINES, CF_OPEN_RUNS, CF_QUEUES};

/// A task list: domain, kind of task, name.
pub type ListKey = (String, TaskKind, String);
use crate::error::StoreError;
use crate::keys;

/// The live queued tasks and armed deadlines of one database, keyed exactly as in RocksDB.
#[derive(Default)]
pub struct HotIndex {
    queues: BTreeMap<Vec<u8>, QueuedTask>,
    deadlines: BTreeMap<Vec<u8>, Deadline>,
    /// How many tasks each task list has queued (the backlog metric), kept with `queues`.
    backlog: HashMap<ListKey, usize>,
}

impl HotIndex {
    /// Reads both column families.
    fn load(db: &DB) -> Result<HotIndex, StoreError> {
        fn scan<T: serde::de::DeserializeOwned>(
            db: &DB,
            cf: &'static str,
        ) -> Result<BTreeMap<Vec<u8>, T>, StoreError> {
            let handle = db
                .cf_handle(cf)
                .ok_or(StoreError::MissingColumnFamily(cf))?;
            let mut out = BTreeMap::new();
            for item in db.iterator_cf(handle, IteratorMode::Start) {
                let (k, v) = item?;
                let value = serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
                    cf,
                    message: e.to_string(),
                })?;
                out.insert(k.to_vec(), value);
            }
            Ok(out)
        }
        let queues: BTreeMap<Vec<u8>, QueuedTask> = scan(db, CF_QUEUES)?;
        let mut backlog = HashMap::new();
        for q in queues.values() {
            *backlog.entry(list_of(q)).or_insert(0) += 1;
        }
        Ok(HotIndex {
            queues,
            deadlines: scan(db, CF_DEADLINES)?,
            backlog,
        })
    }

    /// Mirrors the queue and deadline changes of one applied entry.
    fn apply(&mut self, writes: &[Write]) {
        for w in writes {
            match w {
                Write::Enqueue(q) => {
                    let added = self.queues.insert(keys::queue_key(q), q.clone()).is_none();
                    if added {
                        *self.backlog.entry(list_of(q)).or_insert(0) += 1;
                    }
                }
                Write::Dequeue(q) => {
                    let removed = self.queues.remove(&keys::queue_key(q)).is_some();
                    if removed {
                        self.backlog_taken(list_of(q));
                    }
                }
                Write::Arm(d) => {
                    self.deadlines.insert(keys::deadline_key(d), d.clone());
                }
                Write::Disarm(d) => {
                    self.deadlines.remove(&keys::deadline_key(d));
                }
                _ => {}
            }
        }
    }

    /// The first `limit` queued tasks whose key starts with `prefix`, in key (delivery) order.
    pub fn queued(&self, prefix: &[u8], limit: usize) -> Vec<QueuedTask> {
        self.queues
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(_, q)| q.clone())
            .collect()
    }

    /// One task fewer queued on `list`.
    fn backlog_taken(&mut self, list: ListKey) {
        if let Some(n) = self.backlog.get_mut(&list) {
            *n -= 1;
            if *n == 0 {
                self.backlog.remove(&list);
            }
        }
    }

    /// Every task list with tasks queued, and how many (the backlog metric; O(task lists)).
    pub fn backlog(&self) -> Vec<(ListKey, usize)> {
        self.backlog.iter().map(|(k, n)| (k.clone(), *n)).collect()
    }

    /// How many queued tasks start with `prefix`, counting at most `limit`.
    pub fn count_queued(&self, prefix: &[u8], limit: usize) -> usize {
        self.queues
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .count()
    }

    /// Up to `limit` armed deadlines due at or before `now` (ms), earliest first, and the due time of
    /// the earliest one after them, if any.
    pub fn due_by(&self, now: i64, limit: usize) -> (Vec<Deadline>, Option<i64>) {
        let mut due = Vec::new();
        for d in self.deadlines.values() {
            if d.due.0 > now || due.len() >= limit {
                return (due, Some(d.due.0));
            }
            due.push(d.clone());
        }
        (due, None)
    }
}

/// The task list a queued task is on.
fn list_of(q: &QueuedTask) -> ListKey {
    (q.domain.clone(), q.kind, q.task_list.clone())
}

/// How many executions an entry's writes opened (WorkflowExecutionStarted) less those they closed
/// (the six close events), for the open-executions count.
fn opened_less_closed(writes: &[Write]) -> i64 {
    writes
        .iter()
        .map(|w| match w {
            Write::Event { event, .. } => match event.event_type {
                EventType::WorkflowExecutionStarted => 1,
                EventType::WorkflowExecutionCompleted
                | EventType::WorkflowExecutionFailed
                | EventType::WorkflowExecutionCanceled
                | EventType::WorkflowExecutionTerminated
                | EventType::WorkflowExecutionTimedOut
                | EventType::WorkflowExecutionContinuedAsNew => -1,
                _ => 0,
            },
            _ => 0,
        })
        .sum()
}

/// Open executions in RocksDB (a keys-only walk of `open_runs`, once when the mirror is loaded).
fn count_open_runs(db: &DB) -> Result<i64, StoreError> {
    let handle = db
        .cf_handle(CF_OPEN_RUNS)
        .ok_or(StoreError::MissingColumnFamily(CF_OPEN_RUNS))?;
    let mut n = 0;
    let mut it = db.raw_iterator_cf(handle);
    it.seek_to_first();
    while it.valid() {
        n += 1;
        it.next();
    }
    it.status()?;
    Ok(n)
}

/// Most execution records cached; past this the least recently written are dropped.
const RECORDS: usize = 8192;

/// Decoded records of open executions, the most recently written ones.
#[derive(Default)]
pub struct RecordCache {
    records: HashMap<String, (u64, Arc<ExecutionRecord>)>,
    /// Run ids in write order, with the write's generation (stale pairs are skipped when evicting).
    order: VecDeque<(String, u64)>,
    generation: u64,
}

impl RecordCache {
    fn get(&self, run_id: &str) -> Option<Arc<ExecutionRecord>> {
        self.records.get(run_id).map(|(_, r)| r.clone())
    }

    fn apply(&mut self, writes: &[Write]) {
        for w in writes {
            match w {
                Write::Execution(rec) if rec.is_open() => {
                    self.generation += 1;
                    let run_id = rec.run_id.clone();
                    self.order.push_back((run_id.clone(), self.generation));
                    self.records
                        .insert(run_id, (self.generation, Arc::new(rec.clone())));
                }
                Write::Execution(rec) => {
                    self.records.remove(&rec.run_id);
                }
                Write::Purge { run_id, .. } => {
                    self.records.remove(run_id);
                }
                _ => {}
            }
        }
        while self.records.len() > RECORDS {
            let Some((run_id, generation)) = self.order.pop_front() else {
                break;
            };
            if self
                .records
                .get(&run_id)
                .is_some_and(|(g, _)| *g == generation)
            {
                self.records.remove(&run_id);
            }
        }
        if self.order.len() > 4 * RECORDS {
            let records = &self.records;
            self.order
                .retain(|(run_id, g)| records.get(run_id).is_some_and(|(live, _)| live == g));
        }
    }
}

/// What is kept in memory for one database (held by its `Db`).
#[derive(Default)]
pub struct Mirror {
    index: RwLock<HotIndex>,
    records: Mutex<RecordCache>,
    /// Decoded domains, types and single records (`registry_cache`).
    pub registry: crate::registry_cache::RegistryCache,
    /// Open SWF executions: counted when loaded, then changed by each applied entry's start and
    /// close events (the open-executions metric, without a scan per scrape).
    open_runs: AtomicI64,
}

impl Mirror {
    /// The mirror of `db` as RocksDB holds it now.
    pub fn load(db: &Db) -> Result<Mirror, StoreError> {
        Ok(Mirror {
            index: RwLock::new(HotIndex::load(db)?),
            records: Mutex::new(RecordCache::default()),
            registry: Default::default(),
            open_runs: AtomicI64::new(count_open_runs(db)?),
        })
    }
}

/// How many SWF executions are open (as of the last applied entry).
pub fn open_executions(db: &Db) -> Result<i64, StoreError> {
    Ok(db.mirror()?.open_runs.load(Ordering::Relaxed))
}

/// Mirrors one applied entry's writes (call right after its batch is written).
pub fn applied(db: &Db, writes: &[Write]) -> Result<(), StoreError> {
    let mirror = db.mirror()?;
    mirror
        .records
        .lock()
        .map_err(|_| StoreError::Poisoned("record cache"))?
        .apply(writes);
    mirror.registry.applied(writes);
    let delta = opened_less_closed(writes);
    if delta != 0 {
        mirror.open_runs.fetch_add(delta, Ordering::Relaxed);
    }
    if !writes.iter().any(|w| {
        matches!(
            w,
            Write::Enqueue(_) | Write::Dequeue(_) | Write::Arm(_) | Write::Disarm(_)
        )
    }) {
        return Ok(());
    }
    let mut index = mirror
        .index
        .write()
        .map_err(|_| StoreError::Poisoned("hot index"))?;
    index.apply(writes);
    Ok(())
}

/// Reloads the mirror from RocksDB (after a snapshot replaced the state).
pub fn reload(db: &Db) -> Result<(), StoreError> {
    let fresh = HotIndex::load(db)?;
    let mirror = db.mirror()?;
    *mirror
        .records
        .lock()
        .map_err(|_| StoreError::Poisoned("record cache"))? = RecordCache::default();
    mirror.registry.clear();
    *mirror
        .index
        .write()
        .map_err(|_| StoreError::Poisoned("hot index"))? = fresh;
    mirror
        .open_runs
        .store(count_open_runs(db)?, Ordering::Relaxed);
    Ok(())
}

/// Reads the mirror of `db`.
pub fn read<T>(db: &Db, f: impl FnOnce(&HotIndex) -> T) -> Result<T, StoreError> {
    let guard = db
        .mirror()?
        .index
        .read()
        .map_err(|_| StoreError::Poisoned("hot index"))?;
    Ok(f(&guard))
}

/// The cached record of an open execution, if the state machine wrote it recently.
pub fn cached_record(db: &Db, run_id: &str) -> Result<Option<Arc<ExecutionRecord>>, StoreError> {
    let cache = db
        .mirror()?
        .records
        .lock()
        .map_err(|_| StoreError::Poisoned("record cache"))?;
    Ok(cache.get(run_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use swf_core::state::DeadlineKind;
    use swf_types::Timestamp;

    fn deadline(due: i64, run: &str) -> Deadline {
        Deadline {
            due: Timestamp(due),
            run_id: run.into(),
            kind: DeadlineKind::ActivityStartToClose,
            event_id: 5,
        }
    }

    fn record(run: &str, closed: bool) -> ExecutionRecord {
        use swf_types::shapes::CloseStatus;
        ExecutionRecord {
            closed: closed.then_some(Timestamp(2)),
            close_status: closed.then_some(CloseStatus::Completed),
            ..ExecutionRecord::sample(run)
        }
    }

    #[test]
    fn record_cache_keeps_open_records_and_drops_closed_purged_and_oldest() {
        let mut cache = RecordCache::default();
        let mut a = record("a", false);
        cache.apply(&[Write::Execution(a.clone())]);
        assert_eq!(cache.get("a").as_deref(), Some(&a));
        a.next_event_id = 9;
        cache.apply(&[Write::Execution(a.clone())]);
        assert_eq!(
            cache.get("a").unwrap().next_event_id,
            9,
            "the latest write wins"
        );
        cache.apply(&[Write::Execution(record("a", true))]);
        assert!(cache.get("a").is_none(), "a closed run leaves the cache");
        cache.apply(&[Write::Execution(record("b", false))]);
        cache.apply(&[Write::Purge {
            run_id: "b".into(),
            last_event_id: 2,
            visibility_keys: Vec::new(),
        }]);
        assert!(cache.get("b").is_none(), "a purged run leaves the cache");

        // Past the cap the least recently written go first; a rewrite makes a record recent again.
        cache.apply(&[Write::Execution(record("first", false))]);
        for i in 0..RECORDS {
            cache.apply(&[Write::Execution(record(&format!("r{i}"), false))]);
            if i == 10 {
                cache.apply(&[Write::Execution(record("first", false))]);
            }
        }
        assert_eq!(cache.records.len(), RECORDS);
        assert!(cache.get("r0").is_none(), "the oldest was evicted");
        assert!(cache.get("first").is_some(), "rewritten, so kept");
        assert!(cache.get(&format!("r{}", RECORDS - 1)).is_some());
        assert!(cache.order.len() <= 4 * RECORDS + 1);
    }

    #[test]
    fn mirrors_arm_and_disarm_and_answers_due_by() {
        let mut index = HotIndex::default();
        let (a, b, c) = (deadline(100, "a"), deadline(200, "b"), deadline(300, "c"));
        index.apply(&[
            Write::Arm(c.clone()),
            Write::Arm(a.clone()),
            Write::Arm(b.clone()),
        ]);
        assert_eq!(index.due_by(50, 10), (vec![], Some(100)));
        assert_eq!(
            index.due_by(200, 10),
            (vec![a.clone(), b.clone()], Some(300))
        );
        assert_eq!(index.due_by(1000, 1), (vec![a.clone()], Some(200)));
        index.apply(&[Write::Disarm(a), Write::Disarm(b)]);
        assert_eq!(index.due_by(1000, 10), (vec![c.clone()], None));
    }
}
