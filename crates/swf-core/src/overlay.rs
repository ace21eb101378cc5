//! `Overlay`: applied state plus the writes of the commands applied before, within one log entry.
//!
//! The leader proposes the calls that arrive while earlier proposals are in flight as one Raft entry (a
//! batch, see `apply_batch`), and they are applied in order: each command must see what the ones before
//! it in the entry wrote, exactly as if each had been its own entry. `apply` only makes point reads
//! (`Lookup`), so the overlay keeps the latest version of each record a write touched and answers from it
//! before falling back to the store.

use std::collections::{BTreeMap, BTreeSet};

use swf_types::shapes::{
    ActivityType, ActivityTypeDetail, HistoryEvent, WorkflowType, WorkflowTypeDetail,
};

use crate::apply::{apply, Applied};
use crate::command::{Command, Outcome};
use crate::limits::Limits;
use crate::state::*;

/// Key of a type: domain, name, version.
type TypeKey = (String, String, String);

/// Point reads through the writes of earlier commands of the same entry.
pub struct Overlay<'a, S: Lookup + ?Sized> {
    base: &'a S,
    domains: BTreeMap<String, DomainRecord>,
    /// Domains this entry registered that the store does not have yet (for `domain_count`).
    new_domains: BTreeSet<String>,
    workflow_types: BTreeMap<TypeKey, Option<WorkflowTypeDetail>>,
    activity_types: BTreeMap<TypeKey, Option<ActivityTypeDetail>>,
    open_runs: BTreeMap<(String, String), Option<String>>,
    executions: BTreeMap<String, Option<ExecutionRecord>>,
    events: BTreeMap<(String, i64), HistoryEvent>,
    /// Runs this entry purged (their events are gone).
    purged: BTreeSet<String>,
    /// Calls this entry recorded in the de-duplication table.
    requests: BTreeMap<(u64, String), RequestRecord>,
    /// Set when this entry forgot old buckets of the table: the buckets below it.
    requests_forgotten: Option<u64>,
    /// Step Functions records this entry wrote (`None`: deleted).
    sfn: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl<'a, S: Lookup + ?Sized> Overlay<'a, S> {
    /// An empty overlay over `base`.
    pub fn new(base: &'a S) -> Self {
        Overlay {
            base,
            domains: BTreeMap::new(),
            new_domains: BTreeSet::new(),
            workflow_types: BTreeMap::new(),
            activity_types: BTreeMap::new(),
            open_runs: BTreeMap::new(),
            executions: BTreeMap::new(),
            events: BTreeMap::new(),
            purged: BTreeSet::new(),
            requests: BTreeMap::new(),
            requests_forgotten: None,
            sfn: BTreeMap::new(),
        }
    }

    /// Records `writes` (of one applied command), in order.
    pub fn record(&mut self, writes: &[Write]) -> Result<(), ReadError> {
        for w in writes {
            match w {
                Write::Domain(d) => {
                    let name = &d.detail.domain_info.name;
                    if !self.domains.contains_key(name) && self.base.domain(name)?.is_none() {
                        self.new_domains.insert(name.clone());
                    }
                    self.domains.insert(name.clone(), d.clone());
                }
                Write::WorkflowType { domain, detail } => {
                    let t = &detail.type_info.workflow_type;
                    self.workflow_types.insert(
                        (domain.clone(), t.name.clone(), t.version.clone()),
                        Some(detail.clone()),
                    );
                }
                Write::ActivityType { domain, detail } => {
                    let t = &detail.type_info.activity_type;
                    self.activity_types.insert(
                        (domain.clone(), t.name.clone(), t.version.clone()),
                        Some(detail.clone()),
                    );
                }
                Write::DeleteWorkflowType {
                    domain,
                    workflow_type: t,
                } => {
                    self.workflow_types
                        .insert((domain.clone(), t.name.clone(), t.version.clone()), None);
                }
                Write::DeleteActivityType {
                    domain,
                    activity_type: t,
                } => {
                    self.activity_types
                        .insert((domain.clone(), t.name.clone(), t.version.clone()), None);
                }
                Write::Execution(rec) => {
                    self.executions
                        .insert(rec.run_id.clone(), Some(rec.clone()));
                }
                Write::Purge { run_id, .. } => {
                    self.executions.insert(run_id.clone(), None);
                    self.events.retain(|(r, _), _| r != run_id);
                    self.purged.insert(run_id.clone());
                }
                Write::Event { run_id, event } => {
                    self.events
                        .insert((run_id.clone(), event.event_id), event.clone());
                }
                Write::OpenRun {
                    domain,
                    workflow_id,
                    run_id,
                } => {
                    self.open_runs
                        .insert((domain.clone(), workflow_id.clone()), run_id.clone());
                }
                Write::Request {
                    bucket,
                    request_id,
                    record,
                } => {
                    self.requests
                        .insert((*bucket, request_id.clone()), record.clone());
                }
                Write::ForgetRequests { below } => {
                    self.requests = self.requests.split_off(&(*below, String::new()));
                    self.requests_forgotten = Some(*below);
                }
                Write::Sfn { key, value } => {
                    self.sfn.insert(key.clone(), value.clone());
                }
                // Queues, deadlines and visibility rows are never read by `apply`; open items are
                // read with their record, which the overlay keeps whole (`Write::Execution`).
                Write::Item { .. }
                | Write::Enqueue(_)
                | Write::Dequeue(_)
                | Write::Arm(_)
                | Write::Disarm(_)
                | Write::Index { .. }
                | Write::Unindex { .. } => {}
            }
        }
        Ok(())
    }
}

fn type_key(domain: &str, name: &str, version: &str) -> TypeKey {
    (domain.to_string(), name.to_string(), version.to_string())
}

impl<S: Lookup + ?Sized> Lookup for Overlay<'_, S> {
    fn domain(&self, name: &str) -> Result<Option<DomainRecord>, ReadError> {
        match self.domains.get(name) {
            Some(d) => Ok(Some(d.clone())),
            None => self.base.domain(name),
        }
    }

    fn domain_count(&self) -> Result<usize, ReadError> {
        Ok(self.base.domain_count()? + self.new_domains.len())
    }

    fn workflow_type(
        &self,
        domain: &str,
        t: &WorkflowType,
    ) -> Result<Option<WorkflowTypeDetail>, ReadError> {
        match self
            .workflow_types
            .get(&type_key(domain, &t.name, &t.version))
        {
            Some(d) => Ok(d.clone()),
            None => self.base.workflow_type(domain, t),
        }
    }

    fn activity_type(
        &self,
        domain: &str,
        t: &ActivityType,
    ) -> Result<Option<ActivityTypeDetail>, ReadError> {
        match self
            .activity_types
            .get(&type_key(domain, &t.name, &t.version))
        {
            Some(d) => Ok(d.clone()),
            None => self.base.activity_type(domain, t),
        }
    }

    fn open_run(&self, domain: &str, workflow_id: &str) -> Result<Option<String>, ReadError> {
        match self
            .open_runs
            .get(&(domain.to_string(), workflow_id.to_string()))
        {
            Some(r) => Ok(r.clone()),
            None => self.base.open_run(domain, workflow_id),
        }
    }

    fn execution(&self, run_id: &str) -> Result<Option<ExecutionRecord>, ReadError> {
        match self.executions.get(run_id) {
            Some(r) => Ok(r.clone()),
            None => self.base.execution(run_id),
        }
    }

    fn event(&self, run_id: &str, event_id: i64) -> Result<Option<HistoryEvent>, ReadError> {
        if let Some(e) = self.events.get(&(run_id.to_string(), event_id)) {
            return Ok(Some(e.clone()));
        }
        if self.purged.contains(run_id) {
            return Ok(None);
        }
        self.base.event(run_id, event_id)
    }

    fn request(&self, bucket: u64, request_id: &str) -> Result<Option<RequestRecord>, ReadError> {
        if let Some(r) = self.requests.get(&(bucket, request_id.to_string())) {
            return Ok(Some(r.clone()));
        }
        if self.requests_forgotten.is_some_and(|below| bucket < below) {
            return Ok(None);
        }
        self.base.request(bucket, request_id)
    }

    fn requests_forgotten_below(&self) -> Result<u64, ReadError> {
        match self.requests_forgotten {
            Some(below) => Ok(below),
            None => self.base.requests_forgotten_below(),
        }
    }

    fn sfn_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, ReadError> {
        match self.sfn.get(key) {
            Some(v) => Ok(v.clone()),
            None => self.base.sfn_get(key),
        }
    }
}

/// The outcomes of applying one log entry's commands, in order, and all the writes they made (to be
/// committed together).
#[derive(Debug, Default)]
pub struct AppliedBatch {
    pub outcomes: Vec<Outcome>,
    pub writes: Vec<Write>,
}

/// Applies the commands of the entry at log `index` in order, each seeing the writes of those before
/// it; a command that faults writes nothing and does not affect the others.
pub fn apply_batch<S: Lookup + ?Sized>(
    state: &S,
    index: u64,
    cmds: &[Command],
    limits: &Limits,
) -> Result<AppliedBatch, ReadError> {
    if let [cmd] = cmds {
        // The common case under light load: no overlay needed.
        let Applied { outcome, writes } = apply(state, index, cmd, limits)?;
        return Ok(AppliedBatch {
            outcomes: vec![outcome],
            writes,
        });
    }
    let mut overlay = Overlay::new(state);
    let mut out = AppliedBatch::default();
    for cmd in cmds {
        let Applied { outcome, writes } = apply(&overlay, index, cmd, limits)?;
        overlay.record(&writes)?;
        out.outcomes.push(outcome);
        out.writes.extend(writes);
    }
    Ok(out)
}
