//! `MemState`: applied state in ordered in-memory maps. It is the reference store for unit tests of the
//! core (and of anything that wants to run the state machine without RocksDB).

use std::collections::BTreeMap;

use swf_types::shapes::*;

use crate::items::{ItemKey, OpenItem};
use crate::state::*;

/// Orders queued tasks as the RocksDB store does: list, then priority (higher first), then age.
type QueueKey = (String, TaskKind, String, i64, u64, String, i64);

/// Applied state in memory.
#[derive(Debug, Default, Clone)]
pub struct MemState {
    pub domains: BTreeMap<String, DomainRecord>,
    pub workflow_types: BTreeMap<(String, String, String), WorkflowTypeDetail>,
    pub activity_types: BTreeMap<(String, String, String), ActivityTypeDetail>,
    pub open_runs: BTreeMap<(String, String), String>,
    /// Execution records as a store keeps them: without the open items that live under keys of their
    /// own (see `items`).
    pub executions: BTreeMap<String, ExecutionRecord>,
    /// The open items of executions, by run id and item.
    pub items: BTreeMap<(String, ItemKey), OpenItem>,
    pub history: BTreeMap<(String, i64), HistoryEvent>,
    pub queues: BTreeMap<QueueKey, QueuedTask>,
    pub visibility: BTreeMap<Vec<u8>, WorkflowExecutionInfo>,
    /// Armed deadlines, in due order.
    pub deadlines: std::collections::BTreeSet<Deadline>,
    /// The de-duplication table: (time bucket, request id) → recorded outcome (see `dedup`).
    pub requests: BTreeMap<(u64, String), RequestRecord>,
    /// Buckets below this one are forgotten.
    pub requests_forgotten: u64,
    /// The Step Functions keyspace (`crate::sfn::keys`).
    pub sfn: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl MemState {
    /// Applies writes in order.
    pub fn write(&mut self, writes: Vec<Write>) {
        for w in writes {
            match w {
                Write::Domain(d) => {
                    self.domains.insert(d.detail.domain_info.name.clone(), d);
                }
                Write::WorkflowType { domain, detail } => {
                    let t = &detail.type_info.workflow_type;
                    self.workflow_types
                        .insert((domain, t.name.clone(), t.version.clone()), detail);
                }
                Write::ActivityType { domain, detail } => {
                    let t = &detail.type_info.activity_type;
                    self.activity_types
                        .insert((domain, t.name.clone(), t.version.clone()), detail);
                }
                Write::Execution(mut rec) => {
                    if rec.items_keyed {
                        // Its items are `Write::Item`s of their own (see `items`).
                        rec.activities.clear();
                        rec.timers.clear();
                        rec.deadlines.clear();
                        rec.children.clear();
                    }
                    self.executions.insert(rec.run_id.clone(), rec);
                }
                Write::Item { run_id, key, item } => match item {
                    Some(item) => {
                        self.items.insert((run_id, key), item);
                    }
                    None => {
                        self.items.remove(&(run_id, key));
                    }
                },
                Write::OpenRun {
                    domain,
                    workflow_id,
                    run_id,
                } => match run_id {
                    Some(r) => {
                        self.open_runs.insert((domain, workflow_id), r);
                    }
                    None => {
                        self.open_runs.remove(&(domain, workflow_id));
                    }
                },
                Write::Purge {
                    run_id,
                    last_event_id,
                    visibility_keys,
                } => {
                    self.executions.remove(&run_id);
                    self.items.retain(|(r, _), _| *r != run_id);
                    for id in 1..=last_event_id {
                        self.history.remove(&(run_id.clone(), id));
                    }
                    for k in visibility_keys {
                        self.visibility.remove(&k);
                    }
                }
                Write::Arm(d) => {
                    self.deadlines.insert(d);
                }
                Write::Disarm(d) => {
                    self.deadlines.remove(&d);
                }
                Write::Index { keys, info } => {
                    for k in keys {
                        self.visibility.insert(k, info.clone());
                    }
                }
                Write::Unindex { keys } => {
                    for k in keys {
                        self.visibility.remove(&k);
                    }
                }
                Write::DeleteWorkflowType {
                    domain,
                    workflow_type: t,
                } => {
                    self.workflow_types.remove(&(domain, t.name, t.version));
                }
                Write::DeleteActivityType {
                    domain,
                    activity_type: t,
                } => {
                    self.activity_types.remove(&(domain, t.name, t.version));
                }
                Write::Event { run_id, event } => {
                    self.history.insert((run_id, event.event_id), event);
                }
                Write::Sfn { key, value } => match value {
                    Some(v) => {
                        self.sfn.insert(key, v);
                    }
                    None => {
                        self.sfn.remove(&key);
                    }
                },
                Write::Enqueue(q) => {
                    self.queues.insert(queue_key(&q), q);
                }
                Write::Dequeue(q) => {
                    self.queues.remove(&queue_key(&q));
                }
                Write::Request {
                    bucket,
                    request_id,
                    record,
                } => {
                    self.requests.insert((bucket, request_id), record);
                }
                Write::ForgetRequests { below } => {
                    self.requests = self.requests.split_off(&(below, String::new()));
                    self.requests_forgotten = below;
                }
            }
        }
    }

    /// An execution's record with its open items, as `Lookup::execution` reads it.
    pub fn record(&self, run_id: &str) -> Option<ExecutionRecord> {
        let mut rec = self.executions.get(run_id)?.clone();
        let from = (run_id.to_string(), ItemKey::Activity(i64::MIN));
        for ((r, _), item) in self.items.range(from..) {
            if r != run_id {
                break;
            }
            rec.insert_item(item.clone());
        }
        rec.finish_assembly();
        Some(rec)
    }

    /// Every execution's record with its open items, by run id.
    pub fn records(&self) -> BTreeMap<String, ExecutionRecord> {
        self.executions
            .keys()
            .filter_map(|r| Some((r.clone(), self.record(r)?)))
            .collect()
    }

    /// The queued tasks of one task list, in delivery order.
    pub fn queue(&self, domain: &str, kind: TaskKind, task_list: &str) -> Vec<QueuedTask> {
        self.queues
            .values()
            .filter(|q| q.domain == domain && q.kind == kind && q.task_list == task_list)
            .cloned()
            .collect()
    }
}

fn queue_key(q: &QueuedTask) -> QueueKey {
    (
        q.domain.clone(),
        q.kind,
        q.task_list.clone(),
        -(q.priority as i64),
        q.seq,
        q.run_id.clone(),
        q.scheduled_event_id,
    )
}

impl Lookup for MemState {
    fn domain(&self, name: &str) -> Result<Option<DomainRecord>, ReadError> {
        Ok(self.domains.get(name).cloned())
    }
    fn domain_count(&self) -> Result<usize, ReadError> {
        Ok(self.domains.len())
    }
    fn workflow_type(
        &self,
        domain: &str,
        t: &WorkflowType,
    ) -> Result<Option<WorkflowTypeDetail>, ReadError> {
        Ok(self
            .workflow_types
            .get(&(domain.into(), t.name.clone(), t.version.clone()))
            .cloned())
    }
    fn activity_type(
        &self,
        domain: &str,
        t: &ActivityType,
    ) -> Result<Option<ActivityTypeDetail>, ReadError> {
        Ok(self
            .activity_types
            .get(&(domain.into(), t.name.clone(), t.version.clone()))
            .cloned())
    }
    fn open_run(&self, domain: &str, workflow_id: &str) -> Result<Option<String>, ReadError> {
        Ok(self
            .open_runs
            .get(&(domain.into(), workflow_id.into()))
            .cloned())
    }
    fn execution(&self, run_id: &str) -> Result<Option<ExecutionRecord>, ReadError> {
        Ok(self.record(run_id))
    }

    fn event(&self, run_id: &str, event_id: i64) -> Result<Option<HistoryEvent>, ReadError> {
        Ok(self.history.get(&(run_id.to_string(), event_id)).cloned())
    }

    fn request(&self, bucket: u64, request_id: &str) -> Result<Option<RequestRecord>, ReadError> {
        Ok(self
            .requests
            .get(&(bucket, request_id.to_string()))
            .cloned())
    }

    fn requests_forgotten_below(&self) -> Result<u64, ReadError> {
        Ok(self.requests_forgotten)
    }

    fn sfn_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, ReadError> {
        Ok(self.sfn.get(key).cloned())
    }
}

impl StateRead for MemState {
    fn domains(&self) -> Result<Vec<DomainRecord>, ReadError> {
        Ok(self.domains.values().cloned().collect())
    }
    fn workflow_types(&self, domain: &str) -> Result<Vec<WorkflowTypeDetail>, ReadError> {
        Ok(self
            .workflow_types
            .iter()
            .filter(|(k, _)| k.0 == domain)
            .map(|(_, v)| v.clone())
            .collect())
    }
    fn activity_types(&self, domain: &str) -> Result<Vec<ActivityTypeDetail>, ReadError> {
        Ok(self
            .activity_types
            .iter()
            .filter(|(k, _)| k.0 == domain)
            .map(|(_, v)| v.clone())
            .collect())
    }
    fn scan_visibility(
        &self,
        lower: &[u8],
        upper: &[u8],
        reverse: bool,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, WorkflowExecutionInfo)>, ReadError> {
        if lower >= upper {
            return Ok(Vec::new());
        }
        let range = self
            .visibility
            .range(lower.to_vec()..upper.to_vec())
            .map(|(k, v)| (k.clone(), v.clone()));
        Ok(if reverse {
            range.rev().take(limit).collect()
        } else {
            range.take(limit).collect()
        })
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
        Ok(self
            .visibility
            .range(lower.to_vec()..upper.to_vec())
            .take(limit)
            .count())
    }
    fn count_queued(
        &self,
        domain: &str,
        kind: TaskKind,
        task_list: &str,
        limit: usize,
    ) -> Result<usize, ReadError> {
        Ok(self.queue(domain, kind, task_list).len().min(limit))
    }
    fn history(
        &self,
        run_id: &str,
        from: i64,
        reverse: bool,
        limit: usize,
    ) -> Result<Vec<HistoryEvent>, ReadError> {
        let events = self
            .history
            .range((run_id.to_string(), i64::MIN)..=(run_id.to_string(), i64::MAX))
            .map(|(_, e)| e);
        Ok(if reverse {
            events
                .rev()
                .filter(|e| e.event_id <= from)
                .take(limit)
                .cloned()
                .collect()
        } else {
            events
                .filter(|e| e.event_id >= from)
                .take(limit)
                .cloned()
                .collect()
        })
    }
}

impl crate::sfn::query::SfnRead for MemState {
    fn sfn_scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, ReadError> {
        let rows = self
            .sfn
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter(|(k, _)| match after {
                Some(a) if reverse => k.as_slice() < a,
                Some(a) => k.as_slice() > a,
                None => true,
            })
            .map(|(k, v)| (k.clone(), v.clone()));
        Ok(if reverse {
            let mut all: Vec<_> = rows.collect();
            all.reverse();
            all.truncate(limit);
            all
        } else {
            rows.take(limit).collect()
        })
    }
}
