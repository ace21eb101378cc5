//! `Ctx`, the context one command is applied in (state, time, log index, limits, the writes so far),
//! and the helpers every transition shares: the `fault!` early return, duration and priority checks,
//! the live-domain and open-execution lookups. Each area's transitions are `impl Ctx` blocks in their
//! own modules (`registry`, `start`, `tasks`, `decisions`, `external`, `timeouts`, `children`, `sfn`);
//! `apply` only dispatches.

use swf_types::shapes::*;
use swf_types::{parse_duration, parse_priority, Fault, Timestamp};

use crate::limits::Limits;
use crate::state::*;

/// The context of one application: state, time, log index, limits.
pub struct Ctx<'a, S: Lookup + ?Sized> {
    pub state: &'a S,
    pub now: Timestamp,
    /// Log index of the command, used to order task queues.
    pub index: u64,
    pub limits: &'a Limits,
    pub writes: Vec<Write>,
    /// Fresh run ids stamped by the leader, used in order by continue-as-new and child starts.
    pub fresh_ids: std::collections::VecDeque<String>,
    /// Executions already changed by this command (latest version), read before the store.
    pub finished: std::collections::BTreeMap<String, ExecutionRecord>,
    /// Where in `writes` each changed execution's record write is: a run changed again within the
    /// command replaces it (a burst of 256 firings on one run must not hold 256 copies of its record).
    pub record_writes: std::collections::BTreeMap<String, usize>,
    /// The cluster's apply version as this command applies (`apply_version`), read once per command.
    pub apply_version: u32,
}

/// Turns an invalid duration string into a ValidationException naming the member.
pub(crate) fn check_duration(member: &str, value: &Option<String>) -> Result<(), Fault> {
    match value {
        Some(v) => parse_duration(v)
            .map(|_| ())
            .map_err(|e| Fault::validation(format!("{e} (at '{member}')"))),
        None => Ok(()),
    }
}

/// Turns an invalid priority string into a ValidationException naming the member.
pub(crate) fn check_priority(member: &str, value: &Option<String>) -> Result<i32, Fault> {
    match value {
        Some(v) => parse_priority(v).map_err(|e| Fault::validation(format!("{e} (at '{member}')"))),
        None => Ok(0),
    }
}

/// `?` for faults inside a function returning `Result<Outcome, ReadError>`.
macro_rules! fault {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(f) => return Ok(Err(f)),
        }
    };
}
pub(crate) use fault;

impl<S: Lookup + ?Sized> Ctx<'_, S> {
    /// The domain, which must exist and be registered for actions that create things in it.
    pub(crate) fn live_domain(&self, name: &str) -> Result<Result<DomainRecord, Fault>, ReadError> {
        Ok(match self.state.domain(name)? {
            None => Err(Fault::unknown_resource(format!("Unknown domain: {name}"))),
            Some(d) if d.detail.domain_info.status == RegistrationStatus::Deprecated => Err(
                Fault::domain_deprecated(format!("Domain is deprecated: {name}")),
            ),
            Some(d) => Ok(d),
        })
    }

    /// The open execution a task refers to, or UnknownResourceFault.
    pub(crate) fn open_execution(
        &self,
        run_id: &str,
    ) -> Result<Result<ExecutionRecord, Fault>, ReadError> {
        Ok(match self.state.execution(run_id)? {
            Some(rec) if rec.is_open() => Ok(rec),
            Some(_) => Err(Fault::unknown_resource(
                "Unknown execution: the workflow execution is closed",
            )),
            None => Err(Fault::unknown_resource("Unknown execution")),
        })
    }
}
