//! Runs: starting a new run (StartWorkflowExecution, continue-as-new, child workflows) with its
//! settings resolved from the request and the type's defaults, and committing changed executions with
//! what a close sets off: the parent hears about its child's close, and the closing run's open
//! children get its child policy (TERMINATE, REQUEST_CANCEL or ABANDON), recursively.

use swf_types::shapes::*;
use swf_types::{parse_duration, parse_priority};

use crate::ctx::Ctx;
use crate::execution::Exec;
use crate::state::*;

/// The settings a start asks for; what it leaves out comes from the workflow type's defaults.
pub(crate) struct Requested<'a> {
    pub task_list: Option<&'a TaskList>,
    pub execution_timeout: Option<String>,
    pub task_timeout: Option<String>,
    pub child_policy: Option<ChildPolicy>,
    pub priority: Option<String>,
    pub lambda_role: Option<String>,
}

/// A setting neither the request nor the type's defaults give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Missing {
    TaskList,
    ExecutionTimeout,
    TaskTimeout,
    ChildPolicy,
}

impl Missing {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Missing::TaskList => "task list",
            Missing::ExecutionTimeout => "execution start-to-close timeout",
            Missing::TaskTimeout => "task start-to-close timeout",
            Missing::ChildPolicy => "child policy",
        }
    }
}

/// Resolves a run's settings; also returns the priority as written (for the started event).
pub(crate) fn resolve(
    defaults: &WorkflowTypeConfiguration,
    r: Requested<'_>,
) -> Result<(ExecutionConfig, Option<String>), Missing> {
    let task_list = r
        .task_list
        .or(defaults.default_task_list.as_deref())
        .map(|t| t.name.clone())
        .ok_or(Missing::TaskList)?;
    let execution_timeout = r
        .execution_timeout
        .or_else(|| defaults.default_execution_start_to_close_timeout.clone())
        .ok_or(Missing::ExecutionTimeout)?;
    let task_timeout = r
        .task_timeout
        .or_else(|| defaults.default_task_start_to_close_timeout.clone())
        .ok_or(Missing::TaskTimeout)?;
    let child_policy = r
        .child_policy
        .or(defaults.default_child_policy)
        .ok_or(Missing::ChildPolicy)?;
    let priority_text = r
        .priority
        .or_else(|| defaults.default_task_priority.clone());
    let task_priority = priority_text
        .as_deref()
        .and_then(|p| parse_priority(p).ok())
        .unwrap_or(0);
    let config = ExecutionConfig {
        task_list,
        task_priority,
        execution_start_to_close_timeout: execution_timeout,
        task_start_to_close_timeout: task_timeout,
        child_policy,
        lambda_role: r
            .lambda_role
            .or_else(|| defaults.default_lambda_role.clone()),
    };
    Ok((config, priority_text))
}

/// Everything a new run is started with.
pub(crate) struct NewRun {
    pub domain: String,
    pub workflow_id: String,
    pub run_id: String,
    pub workflow_type: WorkflowType,
    pub config: ExecutionConfig,
    pub priority_text: Option<String>,
    pub tag_list: Option<Vec<String>>,
    pub input: Option<String>,
    pub parent: Option<ParentRef>,
    pub continued_from: Option<String>,
}

impl<S: Lookup + ?Sized> Ctx<'_, S> {
    /// A new open run: WorkflowExecutionStarted, its execution timeout armed, a decision task scheduled.
    pub(crate) fn new_run(&self, n: NewRun) -> Exec {
        let record = ExecutionRecord {
            domain: n.domain,
            workflow_id: n.workflow_id,
            run_id: n.run_id,
            workflow_type: n.workflow_type.clone(),
            config: n.config.clone(),
            tag_list: n.tag_list.clone().unwrap_or_default(),
            started: self.now,
            closed: None,
            close_status: None,
            cancel_requested: false,
            next_event_id: 1,
            decision: DecisionSlot::None,
            previous_started_event_id: 0,
            activities: Default::default(),
            latest_activity_task_timestamp: None,
            latest_execution_context: None,
            timers: Default::default(),
            deadlines: Vec::new(),
            parent: n.parent.clone(),
            children: Default::default(),
            items_keyed: false,
            decision_token_signed: false,
        };
        let mut exec = Exec::new(record, self.limits.max_history_events);
        exec.mark_new();
        exec.add_event(
            self.now,
            WorkflowExecutionStartedEventAttributes {
                input: n.input,
                execution_start_to_close_timeout: Some(
                    n.config.execution_start_to_close_timeout.clone(),
                ),
                task_start_to_close_timeout: Some(n.config.task_start_to_close_timeout.clone()),
                child_policy: n.config.child_policy,
                task_list: Box::new(TaskList {
                    name: n.config.task_list.clone(),
                }),
                task_priority: n.priority_text,
                workflow_type: Box::new(n.workflow_type),
                tag_list: n.tag_list,
                continued_execution_run_id: n.continued_from,
                parent_workflow_execution: n.parent.as_ref().map(|p| {
                    Box::new(WorkflowExecution {
                        workflow_id: p.workflow_id.clone(),
                        run_id: p.run_id.clone(),
                    })
                }),
                // SWF writes 0 when there is no parent.
                parent_initiated_event_id: Some(
                    n.parent.as_ref().map_or(0, |p| p.initiated_event_id),
                ),
                lambda_role: n.config.lambda_role.clone(),
            },
        );
        if let Ok(Some(secs)) = parse_duration(&n.config.execution_start_to_close_timeout) {
            exec.arm(DeadlineKind::WorkflowStartToClose, 0, self.now, secs);
        }
        exec.needs_decision(self.now, self.index);
        exec
    }

    /// An execution as this command sees it: changed earlier in the command, or from the store.
    pub(crate) fn load(&self, run_id: &str) -> Result<Option<ExecutionRecord>, ReadError> {
        match self.finished.get(run_id) {
            Some(rec) => Ok(Some(rec.clone())),
            None => self.state.execution(run_id),
        }
    }

    /// Commits a changed execution's writes. If the change closed it, its parent hears about it and its
    /// open children get its child policy.
    pub(crate) fn commit(&mut self, mut exec: Exec) -> Result<(), ReadError> {
        // A run whose history is full (or whose change needed more events than fit) ends here: the
        // termination is the one event allowed past the limit.
        if exec.must_end_for_limit() {
            let limit = exec.limit();
            let child_policy = exec.rec.config.child_policy;
            exec.add_event_past_limit(
                self.now,
                WorkflowExecutionTerminatedEventAttributes {
                    reason: Some(format!("The history reached the limit of {limit} events")),
                    details: None,
                    child_policy,
                    cause: Some(WorkflowExecutionTerminatedCause::EventLimitExceeded),
                },
            );
            exec.close(self.now, CloseStatus::Terminated);
        }
        if exec.closed_now() {
            let days = self.state.domain(&exec.rec.domain)?.map(|d| {
                d.detail
                    .configuration
                    .workflow_execution_retention_period_in_days
            });
            let days: u64 = days.as_deref().and_then(|d| d.parse().ok()).unwrap_or(0);
            exec.arm(DeadlineKind::Retention, 0, self.now, days * 86_400);
        }
        let closed_now = exec.closed_now();
        // The record as written, with the form its items are stored in: a later change of it in this
        // command starts from there.
        let rec = exec.finish(
            &mut self.writes,
            self.apply_version >= crate::apply_version::EMBEDDED_ITEMS,
        );
        let run_id = rec.run_id.clone();
        // Only a closed run's record is needed again here (its parent and children hear of it).
        let closed = closed_now.then(|| rec.clone());
        self.finished.insert(run_id.clone(), rec);
        // `finish` writes the record last. The record is one key, so an earlier write of it in this
        // command is replaced where it stands (the store, the overlay and the cache keep the last).
        let last = self.writes.len() - 1;
        match self.record_writes.get(&run_id) {
            Some(&at) => {
                let record = self.writes.pop().expect("finish wrote the record");
                self.writes[at] = record;
            }
            None => {
                self.record_writes.insert(run_id, last);
            }
        }
        if let Some(rec) = closed {
            self.notify_parent(&rec)?;
            self.apply_child_policy(&rec)?;
        }
        Ok(())
    }

    fn notify_parent(&mut self, child: &ExecutionRecord) -> Result<(), ReadError> {
        let Some(p) = &child.parent else {
            return Ok(());
        };
        let Some(parent) = self.load(&p.run_id)?.filter(ExecutionRecord::is_open) else {
            return Ok(());
        };
        let mut exec = Exec::new(parent, self.limits.max_history_events);
        let Some(link) = exec
            .rec
            .children
            .remove(&child.workflow_id)
            .filter(|c| c.run_id == child.run_id)
        else {
            return Ok(());
        };
        let execution = Box::new(WorkflowExecution {
            workflow_id: child.workflow_id.clone(),
            run_id: child.run_id.clone(),
        });
        let workflow_type = Box::new(child.workflow_type.clone());
        let (initiated, started) = (link.initiated_event_id, link.started_event_id);
        let last = self.last_event_of(child)?;
        let now = self.now;
        match child.close_status {
            Some(CloseStatus::Completed) => exec.add_event(
                now,
                ChildWorkflowExecutionCompletedEventAttributes {
                    workflow_execution: execution,
                    workflow_type,
                    result: last
                        .as_ref()
                        .and_then(|e| e.workflow_execution_completed_event_attributes.as_ref())
                        .and_then(|a| a.result.clone()),
                    initiated_event_id: initiated,
                    started_event_id: started,
                },
            ),
            Some(CloseStatus::Failed) => {
                let a = last
                    .as_ref()
                    .and_then(|e| e.workflow_execution_failed_event_attributes.as_deref());
                exec.add_event(
                    now,
                    ChildWorkflowExecutionFailedEventAttributes {
                        workflow_execution: execution,
                        workflow_type,
                        reason: a.and_then(|a| a.reason.clone()),
                        details: a.and_then(|a| a.details.clone()),
                        initiated_event_id: initiated,
                        started_event_id: started,
                    },
                )
            }
            Some(CloseStatus::Canceled) => exec.add_event(
                now,
                ChildWorkflowExecutionCanceledEventAttributes {
                    workflow_execution: execution,
                    workflow_type,
                    details: last
                        .as_ref()
                        .and_then(|e| e.workflow_execution_canceled_event_attributes.as_ref())
                        .and_then(|a| a.details.clone()),
                    initiated_event_id: initiated,
                    started_event_id: started,
                },
            ),
            Some(CloseStatus::TimedOut) => exec.add_event(
                now,
                ChildWorkflowExecutionTimedOutEventAttributes {
                    workflow_execution: execution,
                    workflow_type,
                    timeout_type: WorkflowExecutionTimeoutType::StartToClose,
                    initiated_event_id: initiated,
                    started_event_id: started,
                },
            ),
            Some(CloseStatus::ContinuedAsNew) => {
                // The new run carries the child on: the parent keeps waiting for it.
                if let Some(next) = last
                    .as_ref()
                    .and_then(|e| {
                        e.workflow_execution_continued_as_new_event_attributes
                            .as_ref()
                    })
                    .map(|a| a.new_execution_run_id.clone())
                {
                    exec.rec.children.insert(
                        child.workflow_id.clone(),
                        ChildRef {
                            run_id: next,
                            ..link
                        },
                    );
                }
                self.commit(exec)?;
                return Ok(());
            }
            _ => exec.add_event(
                now,
                ChildWorkflowExecutionTerminatedEventAttributes {
                    workflow_execution: execution,
                    workflow_type,
                    initiated_event_id: initiated,
                    started_event_id: started,
                },
            ),
        };
        exec.needs_decision(now, self.index);
        self.commit(exec)
    }

    /// The last event appended to a run in this command (its close event).
    fn last_event_of(&self, rec: &ExecutionRecord) -> Result<Option<HistoryEvent>, ReadError> {
        let id = rec.next_event_id - 1;
        for w in self.writes.iter().rev() {
            if let Write::Event { run_id, event } = w {
                if *run_id == rec.run_id && event.event_id == id {
                    return Ok(Some(event.clone()));
                }
            }
        }
        self.state.event(&rec.run_id, id)
    }

    fn apply_child_policy(&mut self, parent: &ExecutionRecord) -> Result<(), ReadError> {
        let policy = parent.config.child_policy;
        if policy == ChildPolicy::Abandon {
            return Ok(());
        }
        for link in parent.children.values() {
            let Some(child) = self.load(&link.run_id)?.filter(ExecutionRecord::is_open) else {
                continue;
            };
            let mut exec = Exec::new(child, self.limits.max_history_events);
            match policy {
                ChildPolicy::Terminate => {
                    let child_policy = exec.rec.config.child_policy;
                    exec.add_event(
                        self.now,
                        WorkflowExecutionTerminatedEventAttributes {
                            reason: None,
                            details: None,
                            child_policy,
                            cause: Some(WorkflowExecutionTerminatedCause::ChildPolicyApplied),
                        },
                    );
                    exec.close(self.now, CloseStatus::Terminated);
                }
                _ => {
                    if exec.rec.cancel_requested {
                        continue;
                    }
                    exec.mark_changed();
                    exec.rec.cancel_requested = true;
                    exec.add_event(
                        self.now,
                        WorkflowExecutionCancelRequestedEventAttributes {
                            cause: Some(WorkflowExecutionCancelRequestedCause::ChildPolicyApplied),
                            external_initiated_event_id: Some(0),
                            ..Default::default()
                        },
                    );
                    exec.needs_decision(self.now, self.index);
                }
            }
            self.commit(exec)?;
        }
        Ok(())
    }
}
