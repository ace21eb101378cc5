//! Calls that act on an execution from outside: SignalWorkflowExecution, RequestCancelWorkflowExecution
//! and TerminateWorkflowExecution. Each names the execution by workflow id and, optionally, run id; the
//! execution must be open.

use swf_types::shapes::*;
use swf_types::Fault;

use crate::command::{Outcome, Reply};
use crate::ctx::{fault, Ctx};
use crate::execution::Exec;
use crate::state::*;

impl<S: Lookup + ?Sized> Ctx<'_, S> {
    /// The open execution `workflow_id` (of run `run_id` when given) in `domain`.
    fn target(
        &self,
        domain: &str,
        workflow_id: &str,
        run_id: Option<&str>,
    ) -> Result<Result<ExecutionRecord, Fault>, ReadError> {
        // SWF's two wordings: with a run id, and without one (a closed or never started workflow id).
        let unknown = || {
            Fault::unknown_resource(match run_id.filter(|r| !r.is_empty()) {
                Some(run_id) => format!(
                    "Unknown execution: WorkflowExecution=[workflowId={workflow_id}, runId={run_id}]"
                ),
                None => format!("Unknown execution, workflowId = {workflow_id}"),
            })
        };
        if self.state.domain(domain)?.is_none() {
            return Ok(Err(Fault::unknown_resource(format!(
                "Unknown domain: {domain}"
            ))));
        }
        let Some(open) = self.state.open_run(domain, workflow_id)? else {
            return Ok(Err(unknown()));
        };
        if run_id.is_some_and(|r| !r.is_empty() && r != open) {
            return Ok(Err(unknown()));
        }
        Ok(self
            .state
            .execution(&open)?
            .filter(ExecutionRecord::is_open)
            .ok_or_else(unknown))
    }

    pub(crate) fn signal(
        &mut self,
        i: &SignalWorkflowExecutionInput,
    ) -> Result<Outcome, ReadError> {
        let rec = fault!(self.target(&i.domain, &i.workflow_id, i.run_id.as_deref())?);
        let mut exec = Exec::new(rec, self.limits.max_history_events);
        exec.add_event(
            self.now,
            WorkflowExecutionSignaledEventAttributes {
                signal_name: i.signal_name.clone(),
                input: i.input.clone(),
                // SWF writes 0 for a signal sent from outside any workflow.
                external_initiated_event_id: Some(0),
                ..Default::default()
            },
        );
        exec.needs_decision(self.now, self.index);
        self.commit(exec)?;
        Ok(Ok(Reply::Done))
    }

    pub(crate) fn request_cancel(
        &mut self,
        i: &RequestCancelWorkflowExecutionInput,
    ) -> Result<Outcome, ReadError> {
        let rec = fault!(self.target(&i.domain, &i.workflow_id, i.run_id.as_deref())?);
        if rec.cancel_requested {
            // Already requested: SWF records the request once.
            return Ok(Ok(Reply::Done));
        }
        let mut exec = Exec::new(rec, self.limits.max_history_events);
        exec.mark_changed();
        exec.rec.cancel_requested = true;
        exec.add_event(
            self.now,
            WorkflowExecutionCancelRequestedEventAttributes {
                external_initiated_event_id: Some(0),
                ..Default::default()
            },
        );
        exec.needs_decision(self.now, self.index);
        self.commit(exec)?;
        Ok(Ok(Reply::Done))
    }

    pub(crate) fn terminate(
        &mut self,
        i: &TerminateWorkflowExecutionInput,
    ) -> Result<Outcome, ReadError> {
        let rec = fault!(self.target(&i.domain, &i.workflow_id, i.run_id.as_deref())?);
        let child_policy = i.child_policy.unwrap_or(rec.config.child_policy);
        let mut exec = Exec::new(rec, self.limits.max_history_events);
        exec.add_event(
            self.now,
            WorkflowExecutionTerminatedEventAttributes {
                reason: i.reason.clone(),
                details: i.details.clone(),
                child_policy,
                cause: Some(WorkflowExecutionTerminatedCause::OperatorInitiated),
            },
        );
        exec.close(self.now, CloseStatus::Terminated);
        self.commit(exec)?;
        Ok(Ok(Reply::Done))
    }
}
