//! Task transitions: a poller starting a decision or activity task, and a worker's heartbeat and
//! completion, failure or cancellation of an activity task. Each re-validates the token against the
//! applied state, so a stale or repeated call gets UnknownResourceFault and changes nothing.

use swf_types::shapes::*;
use swf_types::{parse_duration, Fault};

use crate::command::{Outcome, Reply};
use crate::ctx::{fault, Ctx};
use crate::execution::Exec;
use crate::keyring::Keyring;
use crate::state::*;
use crate::token::TaskToken;

/// How an activity task ended.
enum ActivityEnd<'a> {
    Completed(&'a RespondActivityTaskCompletedInput),
    Failed(&'a RespondActivityTaskFailedInput),
    Canceled(&'a RespondActivityTaskCanceledInput),
}

impl<S: Lookup + ?Sized> Ctx<'_, S> {
    pub(crate) fn start_decision_task(
        &mut self,
        run_id: &str,
        scheduled_event_id: i64,
        identity: Option<String>,
    ) -> Result<Outcome, ReadError> {
        let rec = fault!(self.open_execution(run_id)?);
        let ring = Keyring::load(self.state)?;
        let queued = match &rec.decision {
            DecisionSlot::Scheduled {
                scheduled_event_id: id,
                queued,
            } if *id == scheduled_event_id => queued.clone(),
            _ => {
                return Ok(Err(Fault::unknown_resource(
                    "Decision task is no longer scheduled",
                )))
            }
        };
        let mut exec = Exec::new(rec, self.limits.max_history_events);
        exec.dequeue(queued);
        let started = exec.add_event(
            self.now,
            DecisionTaskStartedEventAttributes {
                identity,
                scheduled_event_id,
            },
        );
        exec.rec.decision = DecisionSlot::Started {
            scheduled_event_id,
            started_event_id: started,
            unhandled_events: false,
            pending: None,
        };
        if let Ok(Some(secs)) = parse_duration(&exec.rec.config.task_start_to_close_timeout) {
            exec.arm(DeadlineKind::DecisionStartToClose, started, self.now, secs);
        }
        let (task_token, signed) = TaskToken {
            kind: TaskKind::Decision,
            run_id: run_id.to_string(),
            scheduled_event_id,
            started_event_id: started,
        }
        .issue(ring.as_ref());
        exec.rec.decision_token_signed = signed;
        let reply = Reply::DecisionTaskStarted {
            task_token,
            started_event_id: started,
            previous_started_event_id: exec.rec.previous_started_event_id,
            workflow_execution: WorkflowExecution {
                workflow_id: exec.rec.workflow_id.clone(),
                run_id: run_id.to_string(),
            },
            workflow_type: exec.rec.workflow_type.clone(),
        };
        self.commit(exec)?;
        Ok(Ok(reply))
    }

    pub(crate) fn start_activity_task(
        &mut self,
        run_id: &str,
        scheduled_event_id: i64,
        identity: Option<String>,
    ) -> Result<Outcome, ReadError> {
        let rec = fault!(self.open_execution(run_id)?);
        let ring = Keyring::load(self.state)?;
        let Some(activity) = rec.activities.get(&scheduled_event_id).cloned() else {
            return Ok(Err(Fault::unknown_resource(
                "Activity task is no longer scheduled",
            )));
        };
        let Some(queued) = activity.queued.clone() else {
            return Ok(Err(Fault::unknown_resource(
                "Activity task is already started",
            )));
        };
        let mut exec = Exec::new(rec, self.limits.max_history_events);
        exec.dequeue(queued);
        let started = exec.add_event(
            self.now,
            ActivityTaskStartedEventAttributes {
                identity,
                scheduled_event_id,
            },
        );
        let a = exec
            .rec
            .activities
            .get_mut(&scheduled_event_id)
            .expect("checked above");
        a.queued = None;
        a.started_event_id = Some(started);
        let (task_token, signed) = TaskToken {
            kind: TaskKind::Activity,
            run_id: run_id.to_string(),
            scheduled_event_id,
            started_event_id: started,
        }
        .issue(ring.as_ref());
        a.token_signed = signed;
        let (start_to_close, heartbeat) = (a.start_to_close_secs, a.heartbeat_secs);
        let reply = Reply::ActivityTaskStarted {
            task_token,
            started_event_id: started,
            activity_id: a.activity_id.clone(),
            input: a.input.clone(),
            workflow_execution: WorkflowExecution {
                workflow_id: exec.rec.workflow_id.clone(),
                run_id: run_id.to_string(),
            },
            activity_type: a.activity_type.clone(),
        };
        exec.disarm(|d| {
            d.event_id == scheduled_event_id && d.kind == DeadlineKind::ActivityScheduleToStart
        });
        if let Some(secs) = start_to_close {
            exec.arm(
                DeadlineKind::ActivityStartToClose,
                scheduled_event_id,
                self.now,
                secs,
            );
        }
        if let Some(secs) = heartbeat {
            exec.arm(
                DeadlineKind::ActivityHeartbeat,
                scheduled_event_id,
                self.now,
                secs,
            );
        }
        self.commit(exec)?;
        Ok(Ok(reply))
    }

    /// The open execution and the started activity a token names, or UnknownResourceFault.
    fn started_activity(
        &self,
        token: &str,
    ) -> Result<Result<(ExecutionRecord, i64), Fault>, ReadError> {
        let garbage = || {
            Ok(Err(Fault::unknown_resource(
                "Unknown task token: not an activity task token",
            )))
        };
        let ring = Keyring::load(self.state)?;
        let Some(checked) =
            TaskToken::check(token, ring.as_ref()).filter(|c| c.token().kind == TaskKind::Activity)
        else {
            return garbage();
        };
        let t = checked.token().clone();
        // SWF's wording for an activity task that is no longer open.
        let unknown = || {
            Err(Fault::unknown_resource(format!(
                "Unknown activity, scheduledEventId = {}",
                t.scheduled_event_id
            )))
        };
        let rec = match self.state.execution(&t.run_id)? {
            Some(rec) if rec.is_open() => rec,
            _ => return Ok(unknown()),
        };
        match rec.activities.get(&t.scheduled_event_id) {
            Some(a) if a.started_event_id == Some(t.started_event_id) => {
                // An unsigned token (anyone can build one from a history) only for a task that was
                // handed one, before the cluster had a keyring.
                if checked.for_task(a.token_signed).is_none() {
                    return garbage();
                }
                Ok(Ok((rec, t.scheduled_event_id)))
            }
            _ => Ok(unknown()),
        }
    }

    pub(crate) fn record_heartbeat(
        &mut self,
        input: &RecordActivityTaskHeartbeatInput,
    ) -> Result<Outcome, ReadError> {
        let (rec, scheduled) = fault!(self.started_activity(&input.task_token)?);
        let mut exec = Exec::new(rec, self.limits.max_history_events);
        let a = exec.rec.activities.get_mut(&scheduled).expect("checked");
        if input.details.is_some() {
            a.heartbeat_details = input.details.clone();
        }
        a.last_heartbeat = Some(self.now);
        let cancel_requested = a.cancel_requested;
        if let Some(secs) = a.heartbeat_secs {
            exec.disarm(|d| d.event_id == scheduled && d.kind == DeadlineKind::ActivityHeartbeat);
            exec.arm(DeadlineKind::ActivityHeartbeat, scheduled, self.now, secs);
        }
        self.commit(exec)?;
        Ok(Ok(Reply::Heartbeat { cancel_requested }))
    }

    pub(crate) fn respond_activity_completed(
        &mut self,
        input: &RespondActivityTaskCompletedInput,
    ) -> Result<Outcome, ReadError> {
        self.end_activity(&input.task_token, ActivityEnd::Completed(input))
    }

    pub(crate) fn respond_activity_failed(
        &mut self,
        input: &RespondActivityTaskFailedInput,
    ) -> Result<Outcome, ReadError> {
        self.end_activity(&input.task_token, ActivityEnd::Failed(input))
    }

    pub(crate) fn respond_activity_canceled(
        &mut self,
        input: &RespondActivityTaskCanceledInput,
    ) -> Result<Outcome, ReadError> {
        self.end_activity(&input.task_token, ActivityEnd::Canceled(input))
    }

    fn end_activity(&mut self, token: &str, end: ActivityEnd<'_>) -> Result<Outcome, ReadError> {
        let (rec, scheduled) = fault!(self.started_activity(token)?);
        let mut exec = Exec::new(rec, self.limits.max_history_events);
        let a = exec.rec.activities.remove(&scheduled).expect("checked");
        exec.disarm_activity(scheduled);
        let started = a.started_event_id.expect("checked");
        match end {
            ActivityEnd::Completed(i) => exec.add_event(
                self.now,
                ActivityTaskCompletedEventAttributes {
                    result: i.result.clone(),
                    scheduled_event_id: scheduled,
                    started_event_id: started,
                },
            ),
            ActivityEnd::Failed(i) => exec.add_event(
                self.now,
                ActivityTaskFailedEventAttributes {
                    reason: i.reason.clone(),
                    details: i.details.clone(),
                    scheduled_event_id: scheduled,
                    started_event_id: started,
                },
            ),
            ActivityEnd::Canceled(i) => exec.add_event(
                self.now,
                ActivityTaskCanceledEventAttributes {
                    details: i.details.clone(),
                    scheduled_event_id: scheduled,
                    started_event_id: started,
                    latest_cancel_requested_event_id: a.latest_cancel_requested_event_id,
                },
            ),
        };
        exec.needs_decision(self.now, self.index);
        self.commit(exec)?;
        Ok(Ok(Reply::Done))
    }
}
