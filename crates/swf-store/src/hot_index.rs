//! In-memory mirror of the two column families the hot path scans: the task queues and the armed
//! deadlines. Both see a delete for nearly every insert (a task is dequeued when it starts, a deadline is
//! disarmed when its task or run closes), so a RocksDB scan of them walks over a growing run of tombstones
//! until compaction catches up: a poll or a timer wake-up cost O(tasks ever queued), which capped
//! throughput. The mirror holds only live entries, in key order, so a scan costs O(result).
//!
//! RocksDB stays the source of truth: the mirror is built from it when a database is first read, changed
//! right after each applied entry's batch is written (before anyone is told of the entry), and rebuilt
//! after a snapshot is installed. Every reader of the same database shares one mirror.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock, Weak};

use rocksdb::{IteratorMode, DB};
use swf_core::state::{Deadline, QueuedTask, Write};

use crate::db::{Db, CF_DEADLINES, CF_QUEUES};
use crate::keys;

/// The live queued tasks and armed deadlines of one database, keyed exactly as in RocksDB.
#[derive(Default)]
pub struct HotIndex {
    queues: BTreeMap<Vec<u8>, QueuedTask>,
    deadlines: BTreeMap<Vec<u8>, Deadline>,
}

impl HotIndex {
    /// Reads both column families.
    fn load(db: &DB) -> Result<HotIndex, String> {
        fn scan<T: serde::de::DeserializeOwned>(
            db: &DB,
            cf: &str,
        ) -> Result<BTreeMap<Vec<u8>, T>, String> {
            let handle = db
                .cf_handle(cf)
                .ok_or_else(|| format!("no column family {cf}"))?;
            let mut out = BTreeMap::new();
            for item in db.iterator_cf(handle, IteratorMode::Start) {
                let (k, v) = item.map_err(|e| e.to_string())?;
                let value = serde_json::from_slice(&v).map_err(|e| e.to_string())?;
                out.insert(k.to_vec(), value);
            }
            Ok(out)
        }
        Ok(HotIndex {
            queues: scan(db, CF_QUEUES)?,
            deadlines: scan(db, CF_DEADLINES)?,
        })
    }

    /// Mirrors the queue and deadline changes of one applied entry.
    fn apply(&mut self, writes: &[Write]) {
        for w in writes {
            match w {
                Write::Enqueue(q) => {
                    self.queues.insert(keys::queue_key(q), q.clone());
                }
                Write::Dequeue(q) => {
                    self.queues.remove(&keys::queue_key(q));
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

/// One mirror per open database, found by the database's address (checked against a weak handle so a
/// new database at a reused address never sees an old mirror).
type Registry = Vec<(Weak<DB>, Arc<RwLock<HotIndex>>)>;

static REGISTRY: Mutex<Option<HashMap<usize, Registry>>> = Mutex::new(None);

/// The mirror of `db`, built on first use.
pub fn of(db: &Db) -> Result<Arc<RwLock<HotIndex>>, String> {
    let addr = Arc::as_ptr(db) as usize;
    let mut guard = REGISTRY.lock().map_err(|_| "hot index registry poisoned")?;
    let map = guard.get_or_insert_with(HashMap::new);
    let slot = map.entry(addr).or_default();
    slot.retain(|(weak, _)| weak.strong_count() > 0);
    if let Some((_, index)) = slot
        .iter()
        .find(|(weak, _)| weak.upgrade().is_some_and(|d| Arc::ptr_eq(&d, db)))
    {
        return Ok(index.clone());
    }
    let index = Arc::new(RwLock::new(HotIndex::load(db)?));
    slot.push((Arc::downgrade(db), index.clone()));
    Ok(index)
}

/// Mirrors one applied entry's writes (call right after its batch is written).
pub fn applied(db: &Db, writes: &[Write]) -> Result<(), String> {
    if !writes.iter().any(|w| {
        matches!(
            w,
            Write::Enqueue(_) | Write::Dequeue(_) | Write::Arm(_) | Write::Disarm(_)
        )
    }) {
        return Ok(());
    }
    let index = of(db)?;
    let mut index = index.write().map_err(|_| "hot index poisoned")?;
    index.apply(writes);
    Ok(())
}

/// Reloads the mirror from RocksDB (after a snapshot replaced the state).
pub fn reload(db: &Db) -> Result<(), String> {
    let fresh = HotIndex::load(db)?;
    let index = of(db)?;
    *index.write().map_err(|_| "hot index poisoned")? = fresh;
    Ok(())
}

/// Reads the mirror of `db`.
pub fn read<T>(db: &Db, f: impl FnOnce(&HotIndex) -> T) -> Result<T, String> {
    let index = of(db)?;
    let guard = index.read().map_err(|_| "hot index poisoned")?;
    Ok(f(&guard))
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
