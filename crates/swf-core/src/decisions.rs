//! RespondDecisionTaskCompleted: the decider's decisions applied in order. A decision that cannot be
//! carried out records its `...Failed` event with SWF's cause and the call still succeeds; a failed
//! decision gets the decider a new decision task (events that arrived while the task ran already
//! scheduled one, which is queued now). A close decision must be the last decision of the list, or
//! nothing is applied (ValidationException). Signals and cancel requests to other executions are
//! recorded initiated in order, and delivered after all the decisions' own events.
//! ScheduleLambdaFunction fails with cause LAMBDA_SERVICE_NOT_AVAILABLE_IN_REGION (no Lambda here);
//! nothing else changes for it.

use swf_types::shapes::*;
use swf_types::{parse_duration, Fault};

use crate::children::External;
use crate::command::{Outcome, Reply};
use crate::ctx::{check_duration, check_priority, fault, Ctx};
use crate::execution::Exec;
use crate::state::*;
use crate::token::TaskToken;

impl<S: Lookup + ?Sized> Ctx<'_, S> {
    pub(crate) fn respond_decision_task_completed(
        &mut self,
        input: &RespondDecisionTaskCompletedInput,
        not_permitted: &[u32],
    ) -> Result<Outcome, ReadError> {
        let decisions = input.decisions.as_deref().unwrap_or_default();
        fault!(check_decisions(decisions));
        fault!(check_duration(
            "taskListScheduleToStartTimeout",
            &input.task_list_schedule_to_start_timeout
        ));
        let garbage = || {
            Ok(Err(Fault::unknown_resource(
                "Unknown task token: not a decision task token",
            )))
        };
        let ring = crate::keyring::Keyring::load(self.state)?;
        let Some(checked) = TaskToken::check(&input.task_token, ring.as_ref())
            .filter(|c| c.token().kind == TaskKind::Decision)
        else {
            return garbage();
        };
        let t = checked.token().clone();
        // SWF's wording for a decision task that is no longer open.
        let unknown = || {
            Ok(Err(Fault::unknown_resource(format!(
                "Unknown decision task, scheduledEventId = {}",
                t.scheduled_event_id
            ))))
        };
        let rec = match self.state.execution(&t.run_id)? {
            Some(rec) if rec.is_open() => rec,
            _ => return unknown(),
        };
        let unhandled = match rec.decision {
            DecisionSlot::Started {
                scheduled_event_id,
                started_event_id,
                unhandled_events,
                ..
            } if scheduled_event_id == t.scheduled_event_id
                && started_event_id == t.started_event_id =>
            {
                unhandled_events
            }
            _ => return unknown(),
        };
        // An unsigned token (anyone can build one from a history) only for a task handed one.
        if checked.for_task(rec.decision_token_signed).is_none() {
            return garbage();
        }
        let mut exec = Exec::new(rec, self.limits.max_history_events);
        exec.disarm(|d| {
            d.kind == DeadlineKind::DecisionStartToClose && d.event_id == t.started_event_id
        });
        let completed = exec.add_event(
            self.now,
            DecisionTaskCompletedEventAttributes {
                execution_context: input.execution_context.clone(),
                scheduled_event_id: t.scheduled_event_id,
                started_event_id: t.started_event_id,
                task_list: input.task_list.clone(),
                task_list_schedule_to_start_timeout: input
                    .task_list_schedule_to_start_timeout
                    .clone(),
            },
        );
        if input.execution_context.is_some() {
            exec.rec.latest_execution_context = input.execution_context.clone();
        }
        if let Some(tl) = &input.task_list {
            exec.rec.config.task_list = tl.name.clone();
        }
        let mut reschedule = false;
        // Signals and cancel requests to other runs (or this one), delivered after every decision's
        // own events, and the room their delivery needs in this history.
        let mut deliveries = Vec::new();
        let mut reserved = 0;
        for (index, decision) in decisions.iter().enumerate() {
            if !exec.is_open() {
                break;
            }
            if exec.room() - reserved < events_needed(decision) {
                // Carrying out this decision could take the history past its limit: it and the
                // decisions after it are dropped and the run is terminated (EVENT_LIMIT_EXCEEDED).
                exec.mark_over_limit();
                break;
            }
            if not_permitted.contains(&(index as u32)) {
                reschedule |= self.not_permitted(&mut exec, decision, completed);
                continue;
            }
            let needs_decision =
                self.decide(&mut exec, decision, completed, unhandled, &mut deliveries)?;
            reschedule |= needs_decision;
            if is_external(decision) {
                reserved += events_needed(decision) - 1;
            }
        }
        exec.end_decision_task(self.now, self.index, reschedule, false);
        // Effects on other executions come after the decision's own events, as real SWF records them
        // (a run signalling itself: `SignalExternalWorkflowExecutionInitiated, MarkerRecorded,
        // TimerStarted, ...` and only then `WorkflowExecutionSignaled`), still in this one command.
        for delivery in deliveries {
            self.deliver_external(&mut exec, delivery)?;
        }
        self.commit(exec)?;
        Ok(Ok(Reply::Done))
    }

    /// Applies one decision; returns whether it produced an event that needs a new decision task.
    /// It appends at most `events_needed(d)` events to the deciding run.
    fn decide(
        &mut self,
        exec: &mut Exec,
        d: &Decision,
        completed: i64,
        unhandled: bool,
        deliveries: &mut Vec<External>,
    ) -> Result<bool, ReadError> {
        let now = self.now;
        Ok(match d.decision_type {
            DecisionType::ScheduleActivityTask => {
                let a = d
                    .schedule_activity_task_decision_attributes
                    .as_deref()
                    .expect("checked");
                !self.schedule_activity(exec, a, completed)?
            }
            DecisionType::RequestCancelActivityTask => {
                let a = d
                    .request_cancel_activity_task_decision_attributes
                    .as_deref()
                    .expect("checked");
                self.request_cancel_activity(exec, &a.activity_id, completed)
            }
            DecisionType::CompleteWorkflowExecution => {
                let a = d
                    .complete_workflow_execution_decision_attributes
                    .as_deref()
                    .cloned()
                    .unwrap_or_default();
                if unhandled {
                    exec.add_event(
                        now,
                        CompleteWorkflowExecutionFailedEventAttributes {
                            cause: CompleteWorkflowExecutionFailedCause::UnhandledDecision,
                            decision_task_completed_event_id: completed,
                        },
                    );
                    true
                } else {
                    exec.add_event(
                        now,
                        WorkflowExecutionCompletedEventAttributes {
                            result: a.result,
                            decision_task_completed_event_id: completed,
                        },
                    );
                    exec.close(now, CloseStatus::Completed);
                    false
                }
            }
            DecisionType::FailWorkflowExecution => {
                let a = d
                    .fail_workflow_execution_decision_attributes
                    .as_deref()
                    .cloned()
                    .unwrap_or_default();
                if unhandled {
                    exec.add_event(
                        now,
                        FailWorkflowExecutionFailedEventAttributes {
                            cause: FailWorkflowExecutionFailedCause::UnhandledDecision,
                            decision_task_completed_event_id: completed,
                        },
                    );
                    true
                } else {
                    exec.add_event(
                        now,
                        WorkflowExecutionFailedEventAttributes {
                            reason: a.reason,
                            details: a.details,
                            decision_task_completed_event_id: completed,
                        },
                    );
                    exec.close(now, CloseStatus::Failed);
                    false
                }
            }
            DecisionType::CancelWorkflowExecution => {
                let a = d
                    .cancel_workflow_execution_decision_attributes
                    .as_deref()
                    .cloned()
                    .unwrap_or_default();
                if unhandled {
                    exec.add_event(
                        now,
                        CancelWorkflowExecutionFailedEventAttributes {
                            cause: CancelWorkflowExecutionFailedCause::UnhandledDecision,
                            decision_task_completed_event_id: completed,
                        },
                    );
                    true
                } else {
                    exec.add_event(
                        now,
                        WorkflowExecutionCanceledEventAttributes {
                            details: a.details,
                            decision_task_completed_event_id: completed,
                        },
                    );
                    exec.close(now, CloseStatus::Canceled);
                    false
                }
            }
            DecisionType::RecordMarker => {
                let a = d
                    .record_marker_decision_attributes
                    .as_deref()
                    .expect("checked");
                exec.add_event(
                    now,
                    MarkerRecordedEventAttributes {
                        marker_name: a.marker_name.clone(),
                        details: a.details.clone(),
                        decision_task_completed_event_id: completed,
                    },
                );
                false
            }
            DecisionType::StartTimer => {
                let a = d
                    .start_timer_decision_attributes
                    .as_deref()
                    .expect("checked");
                !self.start_timer(exec, a, completed)
            }
            DecisionType::CancelTimer => {
                let a = d
                    .cancel_timer_decision_attributes
                    .as_deref()
                    .expect("checked");
                match exec.rec.timers.remove(&a.timer_id) {
                    Some(timer) => {
                        exec.add_event(
                            now,
                            TimerCanceledEventAttributes {
                                timer_id: a.timer_id.clone(),
                                started_event_id: timer.started_event_id,
                                decision_task_completed_event_id: completed,
                            },
                        );
                        let id = a.timer_id.clone();
                        exec.disarm(|dl| matches!(&dl.kind, DeadlineKind::Timer { timer_id } if *timer_id == id));
                        false
                    }
                    None => {
                        exec.add_event(
                            now,
                            CancelTimerFailedEventAttributes {
                                timer_id: a.timer_id.clone(),
                                cause: CancelTimerFailedCause::TimerIdUnknown,
                                decision_task_completed_event_id: completed,
                            },
                        );
                        true
                    }
                }
            }
            DecisionType::ContinueAsNewWorkflowExecution => {
                let a = d
                    .continue_as_new_workflow_execution_decision_attributes
                    .as_deref()
                    .cloned()
                    .unwrap_or_default();
                self.continue_as_new(exec, a, completed, unhandled)?
            }
            DecisionType::SignalExternalWorkflowExecution => {
                let a = d
                    .signal_external_workflow_execution_decision_attributes
                    .as_deref()
                    .expect("checked");
                deliveries.push(self.signal_external(exec, a, completed));
                false
            }
            DecisionType::RequestCancelExternalWorkflowExecution => {
                let a = d
                    .request_cancel_external_workflow_execution_decision_attributes
                    .as_deref()
                    .expect("checked");
                deliveries.push(self.cancel_external(exec, a, completed));
                false
            }
            DecisionType::StartChildWorkflowExecution => {
                let a = d
                    .start_child_workflow_execution_decision_attributes
                    .as_deref()
                    .expect("checked");
                self.start_child(exec, a, completed)?;
                true
            }
            DecisionType::ScheduleLambdaFunction => {
                let a = d
                    .schedule_lambda_function_decision_attributes
                    .as_deref()
                    .expect("checked");
                exec.add_event(
                    now,
                    ScheduleLambdaFunctionFailedEventAttributes {
                        id: a.id.clone(),
                        name: a.name.clone(),
                        cause: ScheduleLambdaFunctionFailedCause::LambdaServiceNotAvailableInRegion,
                        decision_task_completed_event_id: completed,
                    },
                );
                true
            }
        })
    }

    /// Schedules an activity or records ScheduleActivityTaskFailed; returns whether it was scheduled.
    fn schedule_activity(
        &self,
        exec: &mut Exec,
        a: &ScheduleActivityTaskDecisionAttributes,
        completed: i64,
    ) -> Result<bool, ReadError> {
        use ScheduleActivityTaskFailedCause as Cause;
        let now = self.now;
        let fail = |exec: &mut Exec, cause: Cause| {
            exec.add_event(
                now,
                ScheduleActivityTaskFailedEventAttributes {
                    activity_type: a.activity_type.clone(),
                    activity_id: a.activity_id.clone(),
                    cause,
                    decision_task_completed_event_id: completed,
                },
            );
            Ok(false)
        };
        let detail = match self
            .state
            .activity_type(&exec.rec.domain, &a.activity_type)?
        {
            None => return fail(exec, Cause::ActivityTypeDoesNotExist),
            Some(d) if d.type_info.status == RegistrationStatus::Deprecated => {
                return fail(exec, Cause::ActivityTypeDeprecated)
            }
            Some(d) => d,
        };
        if exec
            .rec
            .activities
            .values()
            .any(|open| open.activity_id == a.activity_id)
        {
            return fail(exec, Cause::ActivityIdAlreadyInUse);
        }
        if exec.rec.activities.len() >= self.limits.max_open_activities {
            return fail(exec, Cause::OpenActivitiesLimitExceeded);
        }
        let defaults = &detail.configuration;
        let Some(task_list) = a
            .task_list
            .as_ref()
            .or(defaults.default_task_list.as_ref())
            .map(|t| t.name.clone())
        else {
            return fail(exec, Cause::DefaultTaskListUndefined);
        };
        let Some(schedule_to_close) = a
            .schedule_to_close_timeout
            .clone()
            .or_else(|| defaults.default_task_schedule_to_close_timeout.clone())
        else {
            return fail(exec, Cause::DefaultScheduleToCloseTimeoutUndefined);
        };
        let Some(schedule_to_start) = a
            .schedule_to_start_timeout
            .clone()
            .or_else(|| defaults.default_task_schedule_to_start_timeout.clone())
        else {
            return fail(exec, Cause::DefaultScheduleToStartTimeoutUndefined);
        };
        let Some(start_to_close) = a
            .start_to_close_timeout
            .clone()
            .or_else(|| defaults.default_task_start_to_close_timeout.clone())
        else {
            return fail(exec, Cause::DefaultStartToCloseTimeoutUndefined);
        };
        let heartbeat = a
            .heartbeat_timeout
            .clone()
            .or_else(|| defaults.default_task_heartbeat_timeout.clone())
            .unwrap_or_else(|| "NONE".into());
        let priority_text = a
            .task_priority
            .clone()
            .or_else(|| defaults.default_task_priority.clone());
        let priority = priority_text
            .as_deref()
            .and_then(|p| swf_types::parse_priority(p).ok())
            .unwrap_or(0);
        let secs = |d: &str| parse_duration(d).ok().flatten();
        let (s2s, s2c, start_to_close_secs, heartbeat_secs) = (
            secs(&schedule_to_start),
            secs(&schedule_to_close),
            secs(&start_to_close),
            secs(&heartbeat),
        );
        let scheduled = exec.add_event(
            now,
            ActivityTaskScheduledEventAttributes {
                activity_type: a.activity_type.clone(),
                activity_id: a.activity_id.clone(),
                input: a.input.clone(),
                control: a.control.clone(),
                schedule_to_start_timeout: Some(schedule_to_start),
                schedule_to_close_timeout: Some(schedule_to_close),
                start_to_close_timeout: Some(start_to_close),
                task_list: Box::new(TaskList {
                    name: task_list.clone(),
                }),
                // As given (or the type's default); SWF leaves it out when neither set one.
                task_priority: priority_text,
                decision_task_completed_event_id: completed,
                heartbeat_timeout: Some(heartbeat),
            },
        );
        let queued = QueuedTask {
            domain: exec.rec.domain.clone(),
            kind: TaskKind::Activity,
            task_list,
            priority,
            seq: self.index,
            run_id: exec.rec.run_id.clone(),
            scheduled_event_id: scheduled,
        };
        exec.enqueue(queued.clone());
        exec.rec.activities.insert(
            scheduled,
            ActivityState {
                activity_id: a.activity_id.clone(),
                activity_type: (*a.activity_type).clone(),
                scheduled_event_id: scheduled,
                started_event_id: None,
                input: a.input.clone(),
                queued: Some(queued),
                cancel_requested: false,
                latest_cancel_requested_event_id: None,
                heartbeat_details: None,
                last_heartbeat: None,
                start_to_close_secs,
                heartbeat_secs,
                token_signed: false,
            },
        );
        if let Some(s) = s2s {
            exec.arm(DeadlineKind::ActivityScheduleToStart, scheduled, now, s);
        }
        if let Some(s) = s2c {
            exec.arm(DeadlineKind::ActivityScheduleToClose, scheduled, now, s);
        }
        exec.rec.latest_activity_task_timestamp = Some(now);
        Ok(true)
    }

    /// Starts a timer or records StartTimerFailed; returns whether it started.
    fn start_timer(
        &self,
        exec: &mut Exec,
        a: &StartTimerDecisionAttributes,
        completed: i64,
    ) -> bool {
        let cause = if exec.rec.timers.contains_key(&a.timer_id) {
            Some(StartTimerFailedCause::TimerIdAlreadyInUse)
        } else if exec.rec.timers.len() >= self.limits.max_open_timers {
            Some(StartTimerFailedCause::OpenTimersLimitExceeded)
        } else {
            None
        };
        if let Some(cause) = cause {
            exec.add_event(
                self.now,
                StartTimerFailedEventAttributes {
                    timer_id: a.timer_id.clone(),
                    cause,
                    decision_task_completed_event_id: completed,
                },
            );
            return false;
        }
        let started = exec.add_event(
            self.now,
            TimerStartedEventAttributes {
                timer_id: a.timer_id.clone(),
                control: a.control.clone(),
                start_to_fire_timeout: a.start_to_fire_timeout.clone(),
                decision_task_completed_event_id: completed,
            },
        );
        exec.rec.timers.insert(
            a.timer_id.clone(),
            TimerState {
                started_event_id: started,
                control: a.control.clone(),
            },
        );
        // Validated before any change: a whole number of seconds (NONE never fires).
        if let Ok(Some(secs)) = parse_duration(&a.start_to_fire_timeout) {
            exec.arm(
                DeadlineKind::Timer {
                    timer_id: a.timer_id.clone(),
                },
                started,
                self.now,
                secs,
            );
        }
        true
    }

    /// RequestCancelActivityTask: a queued activity is canceled at once; a started one is flagged so the
    /// worker's next heartbeat returns cancelRequested. Returns whether a decision is needed.
    fn request_cancel_activity(&self, exec: &mut Exec, activity_id: &str, completed: i64) -> bool {
        let now = self.now;
        let Some(scheduled) = exec
            .rec
            .activities
            .values()
            .find(|a| a.activity_id == activity_id)
            .map(|a| a.scheduled_event_id)
        else {
            exec.add_event(
                now,
                RequestCancelActivityTaskFailedEventAttributes {
                    activity_id: activity_id.to_string(),
                    cause: RequestCancelActivityTaskFailedCause::ActivityIdUnknown,
                    decision_task_completed_event_id: completed,
                },
            );
            return true;
        };
        let requested = exec.add_event(
            now,
            ActivityTaskCancelRequestedEventAttributes {
                decision_task_completed_event_id: completed,
                activity_id: activity_id.to_string(),
            },
        );
        let a = exec
            .rec
            .activities
            .get_mut(&scheduled)
            .expect("found above");
        a.cancel_requested = true;
        a.latest_cancel_requested_event_id = Some(requested);
        if let Some(queued) = a.queued.take() {
            exec.rec.activities.remove(&scheduled);
            exec.disarm_activity(scheduled);
            exec.dequeue(queued);
            exec.add_event(
                now,
                ActivityTaskCanceledEventAttributes {
                    details: None,
                    scheduled_event_id: scheduled,
                    started_event_id: 0,
                    latest_cancel_requested_event_id: Some(requested),
                },
            );
            return true;
        }
        false
    }
}

/// Whether a decision closes the run (and so must be the last of its list).
fn is_close(d: &Decision) -> bool {
    matches!(
        d.decision_type,
        DecisionType::CompleteWorkflowExecution
            | DecisionType::FailWorkflowExecution
            | DecisionType::CancelWorkflowExecution
            | DecisionType::ContinueAsNewWorkflowExecution
    )
}

/// Whether a decision acts on another execution (or this one from outside): its delivery is deferred.
fn is_external(d: &Decision) -> bool {
    matches!(
        d.decision_type,
        DecisionType::SignalExternalWorkflowExecution
            | DecisionType::RequestCancelExternalWorkflowExecution
    )
}

/// The ValidationException real SWF answers for a close decision that is not the last decision, or
/// for two close decisions (solambda/swiffer's integration tests against SWF,
/// `swiffer-api/src/test/java/com/solambda/swiffer/api/retry/MakeDecisionAfterCloseIT.java` and
/// `RetryWithCancellationIT.java`; moto's SWF mock answers the same).
pub const CLOSE_NOT_LAST: &str = "Close must be last decision in list";

/// Rejects, before any change, decisions without the attributes their type needs, malformed values,
/// and a close decision that is not the last one.
fn check_decisions(decisions: &[Decision]) -> Result<(), Fault> {
    let last = decisions.len().saturating_sub(1);
    if decisions[..last].iter().any(is_close) {
        return Err(Fault::validation(CLOSE_NOT_LAST));
    }
    for d in decisions {
        let (member, present) = d.attributes_member();
        let required = !is_close(d);
        if required && !present {
            // Real SWF's wording (quoted in ericabouaf/aws-swf#2): "StartTimerDecisionAttributes must
            // be specified for decision of type StartTimer".
            let mut shape = member.to_string();
            if let Some(first) = shape.get_mut(..1) {
                first.make_ascii_uppercase();
            }
            return Err(Fault::validation(format!(
                "{shape} must be specified for decision of type {}",
                d.decision_type.as_str()
            )));
        }
        if let Some(a) = &d.schedule_activity_task_decision_attributes {
            for (m, v) in [
                ("scheduleToCloseTimeout", &a.schedule_to_close_timeout),
                ("scheduleToStartTimeout", &a.schedule_to_start_timeout),
                ("startToCloseTimeout", &a.start_to_close_timeout),
                ("heartbeatTimeout", &a.heartbeat_timeout),
            ] {
                check_duration(m, v)?;
            }
            check_priority("taskPriority", &a.task_priority)?;
        }
        if let Some(a) = &d.start_timer_decision_attributes {
            parse_duration(&a.start_to_fire_timeout).map_err(Fault::validation)?;
        }
    }
    Ok(())
}

/// The most events a decision appends to the deciding run's history: starting a child records it
/// initiated and started; cancelling an activity not yet started records the request and the cancel;
/// signalling or cancelling another run records it initiated and, once delivered, done (and, aimed at
/// the deciding run itself, the signal or cancel request); every other decision records one event.
fn events_needed(d: &Decision) -> i64 {
    match d.decision_type {
        DecisionType::StartChildWorkflowExecution | DecisionType::RequestCancelActivityTask => 2,
        DecisionType::SignalExternalWorkflowExecution
        | DecisionType::RequestCancelExternalWorkflowExecution => 3,
        _ => 1,
    }
}
