//! `StateReader`: applied SWF state read from RocksDB, implementing the core's `StateRead`, plus the
//! queue scans the node's task matcher uses (served from the in-memory `hot_index`).

use rocksdb::{Direction, IteratorMode};
use serde::de::DeserializeOwned;
use swf_core::state::*;
use swf_types::shapes::*;

use crate::db::*;
use crate::keys;
use crate::registry_cache::Cached;

/// Reads applied state.
#[derive(Clone)]
pub struct StateReader {
    pub(crate) db: Db,
}

fn err(e: impl std::fmt::Display) -> ReadError {
    ReadError(e.to_string())
}

/// Read options that keep an iterator inside the keys starting with `prefix`. Every scan is bounded
/// so: an unbounded one walks on past its last key over whatever follows, and where keys are deleted
/// soon after they are written (a purged run's history, a closed run's items) that is a run of
/// tombstones, one step per deleted key, until compaction drops them.
fn within(prefix: &[u8]) -> rocksdb::ReadOptions {
    let mut opts = rocksdb::ReadOptions::default();
    opts.set_iterate_lower_bound(prefix.to_vec());
    if let Some(end) = keys::prefix_end(prefix) {
        opts.set_iterate_upper_bound(end);
    }
    opts
}

impl StateReader {
    /// A reader over `db`.
    pub fn new(db: Db) -> StateReader {
        StateReader { db }
    }

    fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.db.cf_handle(name).expect("column family exists")
    }

    fn get<T: DeserializeOwned>(&self, cf: &str, key: &[u8]) -> Result<Option<T>, ReadError> {
        match self.db.get_pinned_cf(self.cf(cf), key).map_err(err)? {
            Some(v) => serde_json::from_slice(&v).map(Some).map_err(err),
            None => Ok(None),
        }
    }

    /// `get` through the registry cache (`registry_cache`), for the keys it holds.
    fn get_cached<T: DeserializeOwned + Clone + Send + Sync + 'static>(
        &self,
        cf: &'static str,
        key: &[u8],
    ) -> Result<Option<T>, ReadError> {
        let registry = &self.db.mirror().map_err(err)?.registry;
        match registry.get::<T>(cf, key) {
            Cached::Hit(v) => Ok(v),
            Cached::Miss(epoch) => {
                let v: Option<T> = self.get(cf, key)?;
                registry.fill(epoch, cf, key, v.clone());
                Ok(v)
            }
        }
    }

    fn scan_prefix<T: DeserializeOwned>(
        &self,
        cf: &str,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Vec<T>, ReadError> {
        let mut out = Vec::new();
        for item in self
            .db
            .iterator_cf_opt(self.cf(cf), within(prefix), IteratorMode::Start)
        {
            let (k, v) = item.map_err(err)?;
            if !k.starts_with(prefix) || out.len() >= limit {
                break;
            }
            out.push(serde_json::from_slice(&v).map_err(err)?);
        }
        Ok(out)
    }

    /// The first `limit` queued tasks of a task list, in delivery order.
    pub fn queued_tasks(
        &self,
        domain: &str,
        kind: TaskKind,
        task_list: &str,
        limit: usize,
    ) -> Result<Vec<QueuedTask>, ReadError> {
        let prefix = keys::queue_prefix(domain, kind, task_list);
        crate::hot_index::read(&self.db, |index| index.queued(&prefix, limit)).map_err(err)
    }

    /// Up to `limit` armed deadlines due at or before `now` (ms), earliest first, and the due time of
    /// the next one after them (what the timer service sleeps until).
    pub fn due_deadlines(
        &self,
        now: i64,
        limit: usize,
    ) -> Result<(Vec<Deadline>, Option<i64>), ReadError> {
        crate::hot_index::read(&self.db, |index| index.due_by(now, limit)).map_err(err)
    }
}

impl Lookup for StateReader {
    fn domain(&self, name: &str) -> Result<Option<DomainRecord>, ReadError> {
        self.get_cached(CF_DOMAINS, name.as_bytes())
    }

    fn domain_count(&self) -> Result<usize, ReadError> {
        let mut n = 0;
        for item in self
            .db
            .iterator_cf(self.cf(CF_DOMAINS), IteratorMode::Start)
        {
            item.map_err(err)?;
            n += 1;
        }
        Ok(n)
    }

    fn workflow_type(
        &self,
        domain: &str,
        t: &WorkflowType,
    ) -> Result<Option<WorkflowTypeDetail>, ReadError> {
        self.get_cached(CF_TYPES, &keys::type_key(domain, b'W', &t.name, &t.version))
    }

    fn activity_type(
        &self,
        domain: &str,
        t: &ActivityType,
    ) -> Result<Option<ActivityTypeDetail>, ReadError> {
        self.get_cached(CF_TYPES, &keys::type_key(domain, b'A', &t.name, &t.version))
    }

    fn open_run(&self, domain: &str, workflow_id: &str) -> Result<Option<String>, ReadError> {
        match self
            .db
            .get_pinned_cf(
                self.cf(CF_OPEN_RUNS),
                keys::open_run_key(domain, workflow_id),
            )
            .map_err(err)?
        {
            Some(v) => Ok(Some(String::from_utf8_lossy(&v).into_owned())),
            None => Ok(None),
        }
    }

    fn execution(&self, run_id: &str) -> Result<Option<ExecutionRecord>, ReadError> {
        if let Some(rec) = crate::hot_index::cached_record(&self.db, run_id).map_err(err)? {
            return Ok(Some((*rec).clone()));
        }
        let Some(mut rec) = self.get::<ExecutionRecord>(CF_EXECUTIONS, run_id.as_bytes())? else {
            return Ok(None);
        };
        if rec.items_keyed {
            // The open items live under their own keys (a record of an earlier release embeds them).
            let opts = within(&keys::items_prefix(run_id));
            for item in self
                .db
                .iterator_cf_opt(self.cf(CF_ITEMS), opts, IteratorMode::Start)
            {
                let (_, v) = item.map_err(err)?;
                rec.insert_item(serde_json::from_slice(&v).map_err(err)?);
            }
        }
        rec.finish_assembly();
        Ok(Some(rec))
    }

    fn event(&self, run_id: &str, event_id: i64) -> Result<Option<HistoryEvent>, ReadError> {
        self.get(CF_HISTORY, &keys::history_key(run_id, event_id))
    }

    fn request(&self, bucket: u64, request_id: &str) -> Result<Option<RequestRecord>, ReadError> {
        self.get(CF_REQUESTS, &keys::request_key(bucket, request_id))
    }

    fn requests_forgotten_below(&self) -> Result<u64, ReadError> {
        Ok(self
            .get_cached(CF_REQUESTS, keys::REQUESTS_FORGOTTEN_KEY)?
            .unwrap_or(0))
    }

    fn sfn_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, ReadError> {
        if crate::registry_cache::cacheable(CF_SFN, key) {
            let registry = &self.db.mirror().map_err(err)?.registry;
            return match registry.get::<Vec<u8>>(CF_SFN, key) {
                Cached::Hit(v) => Ok(v),
                Cached::Miss(epoch) => {
                    let v = self.sfn_get_uncached(key)?;
                    registry.fill(epoch, CF_SFN, key, v.clone());
                    Ok(v)
                }
            };
        }
        self.sfn_get_uncached(key)
    }
}

impl StateReader {
    fn sfn_get_uncached(&self, key: &[u8]) -> Result<Option<Vec<u8>>, ReadError> {
        Ok(self
            .db
            .get_pinned_cf(self.cf(CF_SFN), key)
            .map_err(err)?
            .map(|v| v.to_vec()))
    }
}

impl swf_core::sfn::query::SfnRead for StateReader {
    fn sfn_scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, ReadError> {
        // The first key past every key under `prefix` (prefixes here never end in 0xFF bytes only).
        let end = keys::prefix_end(prefix).unwrap_or_default();
        let mode = match (after, reverse) {
            (Some(a), false) => IteratorMode::From(a, Direction::Forward),
            (None, false) => IteratorMode::Start,
            (Some(a), true) => IteratorMode::From(a, Direction::Reverse),
            (None, true) => IteratorMode::End,
        };
        let mut out = Vec::new();
        for item in self
            .db
            .iterator_cf_opt(self.cf(CF_SFN), within(prefix), mode)
        {
            let (k, v) = item.map_err(err)?;
            if after.is_some_and(|a| &*k == a) || (reverse && !end.is_empty() && *k >= *end) {
                continue;
            }
            if !k.starts_with(prefix) || out.len() >= limit {
                break;
            }
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }
}

impl StateRead for StateReader {
    fn domains(&self) -> Result<Vec<DomainRecord>, ReadError> {
        self.scan_prefix(CF_DOMAINS, &[], usize::MAX)
    }

    fn workflow_types(&self, domain: &str) -> Result<Vec<WorkflowTypeDetail>, ReadError> {
        let mut v: Vec<WorkflowTypeDetail> =
            self.scan_prefix(CF_TYPES, &keys::type_prefix(domain, b'W'), usize::MAX)?;
        v.sort_by(|a, b| {
            let (a, b) = (&a.type_info.workflow_type, &b.type_info.workflow_type);
            (&a.name, &a.version).cmp(&(&b.name, &b.version))
        });
        Ok(v)
    }

    fn activity_types(&self, domain: &str) -> Result<Vec<ActivityTypeDetail>, ReadError> {
        let mut v: Vec<ActivityTypeDetail> =
            self.scan_prefix(CF_TYPES, &keys::type_prefix(domain, b'A'), usize::MAX)?;
        v.sort_by(|a, b| {
            let (a, b) = (&a.type_info.activity_type, &b.type_info.activity_type);
            (&a.name, &a.version).cmp(&(&b.name, &b.version))
        });
        Ok(v)
    }

    fn scan_visibility(
        &self,
        lower: &[u8],
        upper: &[u8],
        reverse: bool,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, WorkflowExecutionInfo)>, ReadError> {
        let mut out = Vec::new();
        if lower >= upper || limit == 0 {
            return Ok(out);
        }
        let mut opts = rocksdb::ReadOptions::default();
        opts.set_iterate_lower_bound(lower.to_vec());
        opts.set_iterate_upper_bound(upper.to_vec());
        let mode = if reverse {
            IteratorMode::End
        } else {
            IteratorMode::Start
        };
        for item in self.db.iterator_cf_opt(self.cf(CF_VISIBILITY), opts, mode) {
            let (k, v) = item.map_err(err)?;
            out.push((k.to_vec(), serde_json::from_slice(&v).map_err(err)?));
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    fn count_visibility(
        &self,
        lower: &[u8],
        upper: &[u8],
        limit: usize,
    ) -> Result<usize, ReadError> {
        if lower >= upper {
            return Ok(0);
        }
        let mut opts = rocksdb::ReadOptions::default();
        opts.set_iterate_lower_bound(lower.to_vec());
        opts.set_iterate_upper_bound(upper.to_vec());
        let mut n = 0;
        for item in self
            .db
            .iterator_cf_opt(self.cf(CF_VISIBILITY), opts, IteratorMode::Start)
        {
            item.map_err(err)?;
            n += 1;
            if n >= limit {
                break;
            }
        }
        Ok(n)
    }

    fn count_queued(
        &self,
        domain: &str,
        kind: TaskKind,
        task_list: &str,
        limit: usize,
    ) -> Result<usize, ReadError> {
        let prefix = keys::queue_prefix(domain, kind, task_list);
        crate::hot_index::read(&self.db, |index| index.count_queued(&prefix, limit)).map_err(err)
    }

    fn history(
        &self,
        run_id: &str,
        from: i64,
        reverse: bool,
        limit: usize,
    ) -> Result<Vec<HistoryEvent>, ReadError> {
        let prefix = keys::history_prefix(run_id);
        let start = keys::history_key(run_id, from.max(0));
        let dir = if reverse {
            Direction::Reverse
        } else {
            Direction::Forward
        };
        let mut out = Vec::new();
        for item in self.db.iterator_cf_opt(
            self.cf(CF_HISTORY),
            within(&prefix),
            IteratorMode::From(&start, dir),
        ) {
            let (k, v) = item.map_err(err)?;
            if !k.starts_with(&prefix) || out.len() >= limit {
                break;
            }
            out.push(serde_json::from_slice(&v).map_err(err)?);
        }
        Ok(out)
    }
}
