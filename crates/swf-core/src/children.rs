//! Decisions that reach other runs: ContinueAsNewWorkflowExecution (a new run of the same workflow id
//! takes over), StartChildWorkflowExecution, SignalExternalWorkflowExecution and
//! RequestCancelExternalWorkflowExecution. They start or change other executions in the same command,
//! so the whole effect commits atomically; the decider's history gets the outcome at once (started,
//! signaled, cancel requested, or the `...Failed` event with SWF's cause). Signals and cancel requests
//! are delivered after every decision of the list has recorded its own events, as SWF orders them.

use swf_types::shapes::*;

use crate::ctx::Ctx;
use crate::execution::Exec;
use crate::runs::{resolve, Missing, NewRun, Requested};
use crate::state::*;

/// A signal or cancel request a decision initiated, to deliver after the decision list's own events.
pub(crate) enum External {
    Signal {
        attributes: SignalExternalWorkflowExecutionDecisionAttributes,
        initiated: i64,
        completed: i64,
    },
    Cancel {
        attributes: RequestCancelExternalWorkflowExecutionDecisionAttributes,
        initiated: i64,
        completed: i64,
    },
}

impl<S: Lookup + ?Sized> Ctx<'_, S> {
    /// A fresh run id stamped by the leader (or, if it stamped too few, one derived from the command).
    fn fresh_run_id(&mut self, exec: &Exec) -> String {
        self.fresh_ids.pop_front().unwrap_or_else(|| {
            format!(
                "{}.{}.{}",
                exec.rec.run_id, self.index, exec.rec.next_event_id
            )
        })
    }

    /// The open run of `workflow_id` as this command sees it.
    pub(crate) fn open_run_now(
        &self,
        domain: &str,
        workflow_id: &str,
    ) -> Result<Option<ExecutionRecord>, ReadError> {
        if let Some(rec) = self
            .finished
            .values()
            .find(|r| r.is_open() && r.domain == domain && r.workflow_id == workflow_id)
        {
            return Ok(Some(rec.clone()));
        }
        match self.state.open_run(domain, workflow_id)? {
            Some(run) => Ok(self.load(&run)?.filter(ExecutionRecord::is_open)),
            None => Ok(None),
        }
    }

    /// ContinueAsNewWorkflowExecution; returns whether a new decision task is needed (on failure).
    pub(crate) fn continue_as_new(
        &mut self,
        exec: &mut Exec,
        a: ContinueAsNewWorkflowExecutionDecisionAttributes,
        completed: i64,
        unhandled: bool,
    ) -> Result<bool, ReadError> {
        use ContinueAsNewWorkflowExecutionFailedCause as Cause;
        let now = self.now;
        let fail = |exec: &mut Exec, cause| {
            exec.add_event(
                now,
                ContinueAsNewWorkflowExecutionFailedEventAttributes {
                    cause,
                    decision_task_completed_event_id: completed,
                },
            );
            Ok(true)
        };
        if unhandled {
            return fail(exec, Cause::UnhandledDecision);
        }
        let wt = WorkflowType {
            name: exec.rec.workflow_type.name.clone(),
            version: a
                .workflow_type_version
                .clone()
                .unwrap_or_else(|| exec.rec.workflow_type.version.clone()),
        };
        let detail = match self.state.workflow_type(&exec.rec.domain, &wt)? {
            None => return fail(exec, Cause::WorkflowTypeDoesNotExist),
            Some(d) if d.type_info.status == RegistrationStatus::Deprecated => {
                return fail(exec, Cause::WorkflowTypeDeprecated)
            }
            Some(d) => d,
        };
        // Settings the decision leaves out carry over from the current run.
        let cur = exec.rec.config.clone();
        let current_list = TaskList {
            name: cur.task_list.clone(),
        };
        let requested = Requested {
            task_list: a.task_list.as_deref().or(Some(&current_list)),
            execution_timeout: a
                .execution_start_to_close_timeout
                .clone()
                .or(Some(cur.execution_start_to_close_timeout)),
            task_timeout: a
                .task_start_to_close_timeout
                .clone()
                .or(Some(cur.task_start_to_close_timeout)),
            child_policy: a.child_policy.or(Some(cur.child_policy)),
            // The run's priority carries over; 0 (none set) stays unwritten, as SWF leaves it out.
            priority: a
                .task_priority
                .clone()
                .or_else(|| (cur.task_priority != 0).then(|| cur.task_priority.to_string())),
            lambda_role: a.lambda_role.clone().or(cur.lambda_role),
        };
        let (config, priority_text) =
            resolve(&detail.configuration, requested).expect("every setting carries over");
        let tag_list = a
            .tag_list
            .clone()
            .or_else(|| (!exec.rec.tag_list.is_empty()).then(|| exec.rec.tag_list.clone()));
        let new_run_id = self.fresh_run_id(exec);
        exec.add_event(
            now,
            WorkflowExecutionContinuedAsNewEventAttributes {
                input: a.input.clone(),
                decision_task_completed_event_id: completed,
                new_execution_run_id: new_run_id.clone(),
                execution_start_to_close_timeout: Some(
                    config.execution_start_to_close_timeout.clone(),
                ),
                task_list: Box::new(TaskList {
                    name: config.task_list.clone(),
                }),
                task_priority: priority_text.clone(),
                task_start_to_close_timeout: Some(config.task_start_to_close_timeout.clone()),
                child_policy: config.child_policy,
                tag_list: tag_list.clone(),
                workflow_type: Box::new(wt.clone()),
                lambda_role: config.lambda_role.clone(),
            },
        );
        exec.close(now, CloseStatus::ContinuedAsNew);
        let next = self.new_run(NewRun {
            domain: exec.rec.domain.clone(),
            workflow_id: exec.rec.workflow_id.clone(),
            run_id: new_run_id,
            workflow_type: wt,
            config,
            priority_text,
            tag_list,
            input: a.input,
            parent: exec.rec.parent.clone(),
            continued_from: Some(exec.rec.run_id.clone()),
        });
        self.commit(next)?;
        Ok(false)
    }

    /// StartChildWorkflowExecution: the child starts in this command and the parent records it started.
    pub(crate) fn start_child(
        &mut self,
        exec: &mut Exec,
        a: &StartChildWorkflowExecutionDecisionAttributes,
        completed: i64,
    ) -> Result<(), ReadError> {
        use StartChildWorkflowExecutionFailedCause as Cause;
        let now = self.now;
        let fail = |exec: &mut Exec, cause, initiated: i64| {
            exec.add_event(
                now,
                StartChildWorkflowExecutionFailedEventAttributes {
                    workflow_type: a.workflow_type.clone(),
                    cause,
                    workflow_id: a.workflow_id.clone(),
                    initiated_event_id: initiated,
                    decision_task_completed_event_id: completed,
                    control: a.control.clone(),
                },
            );
            Ok(())
        };
        let domain = exec.rec.domain.clone();
        let detail = match self.state.workflow_type(&domain, &a.workflow_type)? {
            None => return fail(exec, Cause::WorkflowTypeDoesNotExist, 0),
            Some(d) if d.type_info.status == RegistrationStatus::Deprecated => {
                return fail(exec, Cause::WorkflowTypeDeprecated, 0)
            }
            Some(d) => d,
        };
        if exec.rec.children.len() >= self.limits.max_open_children {
            return fail(exec, Cause::OpenChildrenLimitExceeded, 0);
        }
        let requested = Requested {
            task_list: a.task_list.as_deref(),
            execution_timeout: a.execution_start_to_close_timeout.clone(),
            task_timeout: a.task_start_to_close_timeout.clone(),
            child_policy: a.child_policy,
            priority: a.task_priority.clone(),
            lambda_role: a.lambda_role.clone(),
        };
        let (config, priority_text) = match resolve(&detail.configuration, requested) {
            Ok(r) => r,
            Err(Missing::TaskList) => return fail(exec, Cause::DefaultTaskListUndefined, 0),
            Err(Missing::ExecutionTimeout) => {
                return fail(exec, Cause::DefaultExecutionStartToCloseTimeoutUndefined, 0)
            }
            Err(Missing::TaskTimeout) => {
                return fail(exec, Cause::DefaultTaskStartToCloseTimeoutUndefined, 0)
            }
            Err(Missing::ChildPolicy) => return fail(exec, Cause::DefaultChildPolicyUndefined, 0),
        };
        let initiated = exec.add_event(
            now,
            StartChildWorkflowExecutionInitiatedEventAttributes {
                workflow_id: a.workflow_id.clone(),
                workflow_type: a.workflow_type.clone(),
                control: a.control.clone(),
                input: a.input.clone(),
                execution_start_to_close_timeout: Some(
                    config.execution_start_to_close_timeout.clone(),
                ),
                task_list: Box::new(TaskList {
                    name: config.task_list.clone(),
                }),
                task_priority: priority_text.clone(),
                decision_task_completed_event_id: completed,
                child_policy: config.child_policy,
                task_start_to_close_timeout: Some(config.task_start_to_close_timeout.clone()),
                tag_list: a.tag_list.clone(),
                lambda_role: config.lambda_role.clone(),
            },
        );
        let running = a.workflow_id == exec.rec.workflow_id
            || self.open_run_now(&domain, &a.workflow_id)?.is_some();
        if running {
            return fail(exec, Cause::WorkflowAlreadyRunning, initiated);
        }
        let run_id = self.fresh_run_id(exec);
        let child = self.new_run(NewRun {
            domain,
            workflow_id: a.workflow_id.clone(),
            run_id: run_id.clone(),
            workflow_type: (*a.workflow_type).clone(),
            config,
            priority_text,
            tag_list: a.tag_list.clone(),
            input: a.input.clone(),
            parent: Some(ParentRef {
                workflow_id: exec.rec.workflow_id.clone(),
                run_id: exec.rec.run_id.clone(),
                initiated_event_id: initiated,
            }),
            continued_from: None,
        });
        self.commit(child)?;
        let started = exec.add_event(
            now,
            ChildWorkflowExecutionStartedEventAttributes {
                workflow_execution: Box::new(WorkflowExecution {
                    workflow_id: a.workflow_id.clone(),
                    run_id: run_id.clone(),
                }),
                workflow_type: a.workflow_type.clone(),
                initiated_event_id: initiated,
            },
        );
        exec.rec.children.insert(
            a.workflow_id.clone(),
            ChildRef {
                run_id,
                workflow_type: (*a.workflow_type).clone(),
                initiated_event_id: initiated,
                started_event_id: started,
            },
        );
        Ok(())
    }

    /// The open target of an external decision, unless it is the deciding run itself (`Ok(None)` then
    /// with `is_self`), or UNKNOWN (`Err(())`).
    fn external_target(
        &self,
        exec: &Exec,
        workflow_id: &str,
        run_id: Option<&str>,
    ) -> Result<Result<Option<ExecutionRecord>, ()>, ReadError> {
        let run_matches = |r: &str| run_id.is_none_or(|want| want.is_empty() || want == r);
        if workflow_id == exec.rec.workflow_id && run_matches(&exec.rec.run_id) {
            return Ok(Ok(None));
        }
        Ok(match self.open_run_now(&exec.rec.domain, workflow_id)? {
            Some(rec) if run_matches(&rec.run_id) => Ok(Some(rec)),
            _ => Err(()),
        })
    }

    /// SignalExternalWorkflowExecution: records it initiated; `deliver_external` delivers it once
    /// every decision of the list has recorded its own events.
    pub(crate) fn signal_external(
        &mut self,
        exec: &mut Exec,
        a: &SignalExternalWorkflowExecutionDecisionAttributes,
        completed: i64,
    ) -> External {
        let initiated = exec.add_event(
            self.now,
            SignalExternalWorkflowExecutionInitiatedEventAttributes {
                workflow_id: a.workflow_id.clone(),
                run_id: a.run_id.clone(),
                signal_name: a.signal_name.clone(),
                input: a.input.clone(),
                decision_task_completed_event_id: completed,
                control: a.control.clone(),
            },
        );
        External::Signal {
            attributes: a.clone(),
            initiated,
            completed,
        }
    }

    /// RequestCancelExternalWorkflowExecution: records it initiated; `deliver_external` delivers it.
    pub(crate) fn cancel_external(
        &mut self,
        exec: &mut Exec,
        a: &RequestCancelExternalWorkflowExecutionDecisionAttributes,
        completed: i64,
    ) -> External {
        let initiated = exec.add_event(
            self.now,
            RequestCancelExternalWorkflowExecutionInitiatedEventAttributes {
                workflow_id: a.workflow_id.clone(),
                run_id: a.run_id.clone(),
                decision_task_completed_event_id: completed,
                control: a.control.clone(),
            },
        );
        External::Cancel {
            attributes: a.clone(),
            initiated,
            completed,
        }
    }

    /// Delivers a signal or cancel request initiated by the deciding run `exec`: to the target (its
    /// WorkflowExecutionSignaled or WorkflowExecutionCancelRequested, and the decision task that
    /// schedules), then the outcome in the sender (ExternalWorkflowExecutionSignaled /
    /// ...CancelRequested, or the `...Failed` event with cause UNKNOWN_EXTERNAL_WORKFLOW_EXECUTION),
    /// which gets the sender a decision task. A sender that closed in the same decision list records
    /// nothing more, but a signal to another run is still delivered.
    pub(crate) fn deliver_external(
        &mut self,
        exec: &mut Exec,
        delivery: External,
    ) -> Result<(), ReadError> {
        let now = self.now;
        let me = WorkflowExecution {
            workflow_id: exec.rec.workflow_id.clone(),
            run_id: exec.rec.run_id.clone(),
        };
        // A closed sender's history takes no more events.
        let sender_open = exec.is_open();
        match delivery {
            External::Signal {
                attributes: a,
                initiated,
                completed,
            } => {
                let signaled = WorkflowExecutionSignaledEventAttributes {
                    signal_name: a.signal_name.clone(),
                    input: a.input.clone(),
                    external_workflow_execution: Some(Box::new(me.clone())),
                    external_initiated_event_id: Some(initiated),
                };
                let target = match self.external_target(
                    exec,
                    &a.workflow_id,
                    a.run_id.as_deref(),
                )? {
                    Err(()) if !sender_open => return Ok(()),
                    Err(()) => {
                        exec.add_event(
                                now,
                                SignalExternalWorkflowExecutionFailedEventAttributes {
                                    workflow_id: a.workflow_id.clone(),
                                    run_id: a.run_id.clone(),
                                    cause: SignalExternalWorkflowExecutionFailedCause::UnknownExternalWorkflowExecution,
                                    initiated_event_id: initiated,
                                    decision_task_completed_event_id: completed,
                                    control: a.control.clone(),
                                },
                            );
                        exec.needs_decision(now, self.index);
                        return Ok(());
                    }
                    Ok(None) if !sender_open => return Ok(()),
                    Ok(None) => {
                        exec.add_event(now, signaled);
                        exec.needs_decision(now, self.index);
                        me
                    }
                    Ok(Some(rec)) => {
                        let target = WorkflowExecution {
                            workflow_id: rec.workflow_id.clone(),
                            run_id: rec.run_id.clone(),
                        };
                        let mut other = Exec::new(rec, self.limits.max_history_events);
                        other.add_event(now, signaled);
                        other.needs_decision(now, self.index);
                        self.commit(other)?;
                        target
                    }
                };
                if !sender_open {
                    return Ok(());
                }
                exec.add_event(
                    now,
                    ExternalWorkflowExecutionSignaledEventAttributes {
                        workflow_execution: Box::new(target),
                        initiated_event_id: initiated,
                    },
                );
                exec.needs_decision(now, self.index);
            }
            External::Cancel {
                attributes: a,
                initiated,
                completed,
            } => {
                let requested = WorkflowExecutionCancelRequestedEventAttributes {
                    external_workflow_execution: Some(Box::new(me.clone())),
                    external_initiated_event_id: Some(initiated),
                    cause: None,
                };
                let target = match self.external_target(
                    exec,
                    &a.workflow_id,
                    a.run_id.as_deref(),
                )? {
                    Err(()) if !sender_open => return Ok(()),
                    Err(()) => {
                        exec.add_event(
                                now,
                                RequestCancelExternalWorkflowExecutionFailedEventAttributes {
                                    workflow_id: a.workflow_id.clone(),
                                    run_id: a.run_id.clone(),
                                    cause: RequestCancelExternalWorkflowExecutionFailedCause::UnknownExternalWorkflowExecution,
                                    initiated_event_id: initiated,
                                    decision_task_completed_event_id: completed,
                                    control: a.control.clone(),
                                },
                            );
                        exec.needs_decision(now, self.index);
                        return Ok(());
                    }
                    Ok(None) if !sender_open => return Ok(()),
                    Ok(None) => {
                        if !exec.rec.cancel_requested {
                            exec.mark_changed();
                            exec.rec.cancel_requested = true;
                            exec.add_event(now, requested);
                            exec.needs_decision(now, self.index);
                        }
                        me
                    }
                    Ok(Some(rec)) => {
                        let target = WorkflowExecution {
                            workflow_id: rec.workflow_id.clone(),
                            run_id: rec.run_id.clone(),
                        };
                        if !rec.cancel_requested {
                            let mut other = Exec::new(rec, self.limits.max_history_events);
                            other.mark_changed();
                            other.rec.cancel_requested = true;
                            other.add_event(now, requested);
                            other.needs_decision(now, self.index);
                            self.commit(other)?;
                        }
                        target
                    }
                };
                if !sender_open {
                    return Ok(());
                }
                exec.add_event(
                    now,
                    ExternalWorkflowExecutionCancelRequestedEventAttributes {
                        workflow_execution: Box::new(target),
                        initiated_event_id: initiated,
                    },
                );
                exec.needs_decision(now, self.index);
            }
        }
        Ok(())
    }
}
