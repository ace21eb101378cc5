//! `apply`: the pure transition function. Given read access to applied state, the log index and a
//! stamped command, it returns the caller's outcome and the writes to commit. A command that fails
//! returns its fault and no writes, so bad input changes nothing. The node also runs `apply` as a
//! dry run on the leader to answer faults without proposing.

use swf_types::shapes::*;
use swf_types::{parse_duration, parse_priority, Fault, Timestamp};

use crate::command::{Command, Op, Outcome, Reply};
use crate::limits::Limits;
use crate::runs::{resolve, NewRun, Requested};
use crate::state::*;

/// The outcome of applying a command plus the writes it makes (empty when the outcome is a fault).
#[derive(Debug)]
pub struct Applied {
    pub outcome: Outcome,
    pub writes: Vec<Write>,
}

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
}

/// Applies `cmd` at log `index` to `state`.
pub fn apply<S: Lookup + ?Sized>(
    state: &S,
    index: u64,
    cmd: &Command,
    limits: &Limits,
) -> Result<Applied, ReadError> {
    // A call applied before (the router sent it again) gets its first answer and writes nothing.
    let request_id = crate::dedup::key(cmd);
    if let Some(id) = request_id {
        if let Some(reply) = crate::dedup::recorded(state, cmd, id)? {
            return Ok(Applied {
                outcome: Ok(reply),
                writes: Vec::new(),
            });
        }
    }
    let mut ctx = Ctx {
        state,
        now: cmd.now,
        index,
        limits,
        writes: Vec::new(),
        fresh_ids: cmd.fresh_ids.iter().cloned().collect(),
        finished: Default::default(),
        record_writes: Default::default(),
    };
    let result = match &cmd.op {
        Op::RegisterDomain(input) => ctx.register_domain(input),
        Op::RegisterWorkflowType(input) => ctx.register_workflow_type(input),
        Op::RegisterActivityType(input) => ctx.register_activity_type(input),
        Op::StartWorkflowExecution { input, run_id } => ctx.start_workflow_execution(input, run_id),
        Op::StartDecisionTask {
            run_id,
            scheduled_event_id,
            identity,
        } => ctx.start_decision_task(run_id, *scheduled_event_id, identity.clone()),
        Op::StartActivityTask {
            run_id,
            scheduled_event_id,
            identity,
        } => ctx.start_activity_task(run_id, *scheduled_event_id, identity.clone()),
        Op::RespondDecisionTaskCompleted(input) => ctx.respond_decision_task_completed(input),
        Op::RecordActivityTaskHeartbeat(input) => ctx.record_heartbeat(input),
        Op::RespondActivityTaskCompleted(input) => ctx.respond_activity_completed(input),
        Op::RespondActivityTaskFailed(input) => ctx.respond_activity_failed(input),
        Op::RespondActivityTaskCanceled(input) => ctx.respond_activity_canceled(input),
        Op::FireDeadline(d) => ctx.fire(d),
        Op::FireDeadlines(ds) => {
            // Each firing sees the ones before it (through the command's overlay).
            for d in ds {
                // A firing never faults: a stale or early one just changes nothing.
                let _ = ctx.fire(d)?;
            }
            Ok(Ok(Reply::Done))
        }
        Op::SignalWorkflowExecution(i) => ctx.signal(i),
        Op::RequestCancelWorkflowExecution(i) => ctx.request_cancel(i),
        Op::TerminateWorkflowExecution(i) => ctx.terminate(i),
        Op::ChangeDomain { name, action } => ctx.change_domain(name, *action),
        Op::ChangeWorkflowType {
            domain,
            workflow_type,
            action,
        } => ctx.change_workflow_type(domain, workflow_type, *action),
        Op::ChangeActivityType {
            domain,
            activity_type,
            action,
        } => ctx.change_activity_type(domain, activity_type, *action),
        Op::TagResource(i) => ctx.tag_resource(&i.resource_arn, &i.tags),
        Op::UntagResource(i) => ctx.untag_resource(&i.resource_arn, &i.tag_keys),
        Op::Noop => Ok(Ok(Reply::Done)),
        Op::Sfn(op) => crate::sfn::apply(&mut ctx, op),
    };
    let outcome = result?;
    let writes = match (&outcome, request_id) {
        (Ok(reply), Some(id)) => {
            let mut writes = ctx.writes;
            writes.extend(crate::dedup::record(state, cmd, id, reply)?);
            writes
        }
        (Ok(_), None) => ctx.writes,
        (Err(_), _) => Vec::new(),
    };
    Ok(Applied { outcome, writes })
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

    fn register_domain(&mut self, input: &RegisterDomainInput) -> Result<Outcome, ReadError> {
        let days = &input.workflow_execution_retention_period_in_days;
        let valid_days = days == "NONE"
            || days
                .parse::<u32>()
                .is_ok_and(|d| d <= self.limits.max_retention_days);
        if !valid_days {
            return Ok(Err(Fault::validation(format!(
                "Invalid workflowExecutionRetentionPeriodInDays '{days}': must be NONE or a whole number of days from 0 to {}",
                self.limits.max_retention_days
            ))));
        }
        if self.state.domain(&input.name)?.is_some() {
            return Ok(Err(Fault::domain_already_exists(format!(
                "Domain already exists: {}",
                input.name
            ))));
        }
        if self.state.domain_count()? >= self.limits.max_domains {
            return Ok(Err(Fault::limit_exceeded(format!(
                "Limit of {} domains reached",
                self.limits.max_domains
            ))));
        }
        let tags = input.tags.clone().unwrap_or_default();
        if tags.len() > self.limits.max_tags {
            return Ok(Err(Fault {
                kind: swf_types::FaultKind::TooManyTags,
                message: format!("A domain may have at most {} tags", self.limits.max_tags),
            }));
        }
        let record = DomainRecord {
            detail: DomainDetail {
                domain_info: Box::new(DomainInfo {
                    name: input.name.clone(),
                    status: RegistrationStatus::Registered,
                    description: input.description.clone(),
                    arn: Some(self.limits.domain_arn(&input.name)),
                }),
                configuration: Box::new(DomainConfiguration {
                    workflow_execution_retention_period_in_days: days.clone(),
                }),
            },
            tags,
            created: self.now,
            workflow_types: 0,
            activity_types: 0,
        };
        self.writes.push(Write::Domain(record));
        Ok(Ok(Reply::Done))
    }

    fn register_workflow_type(
        &mut self,
        input: &RegisterWorkflowTypeInput,
    ) -> Result<Outcome, ReadError> {
        fault!(check_duration(
            "defaultTaskStartToCloseTimeout",
            &input.default_task_start_to_close_timeout
        ));
        fault!(check_duration(
            "defaultExecutionStartToCloseTimeout",
            &input.default_execution_start_to_close_timeout
        ));
        fault!(check_priority(
            "defaultTaskPriority",
            &input.default_task_priority
        ));
        let mut domain = fault!(self.live_domain(&input.domain)?);
        let wt = WorkflowType {
            name: input.name.clone(),
            version: input.version.clone(),
        };
        if self.state.workflow_type(&input.domain, &wt)?.is_some() {
            return Ok(Err(Fault::type_already_exists(format!(
                "WorkflowType=[name={}, version={}]",
                wt.name, wt.version
            ))));
        }
        if domain.workflow_types as usize >= self.limits.max_types_per_domain {
            return Ok(Err(Fault::limit_exceeded(
                "Limit of workflow types in this domain reached",
            )));
        }
        let detail = WorkflowTypeDetail {
            type_info: Box::new(WorkflowTypeInfo {
                workflow_type: Box::new(wt),
                status: RegistrationStatus::Registered,
                description: input.description.clone(),
                creation_date: self.now,
                deprecation_date: None,
            }),
            configuration: Box::new(WorkflowTypeConfiguration {
                default_task_start_to_close_timeout: input
                    .default_task_start_to_close_timeout
                    .clone(),
                default_execution_start_to_close_timeout: input
                    .default_execution_start_to_close_timeout
                    .clone(),
                default_task_list: input.default_task_list.clone(),
                default_task_priority: input.default_task_priority.clone(),
                default_child_policy: input.default_child_policy,
                default_lambda_role: input.default_lambda_role.clone(),
            }),
        };
        domain.workflow_types += 1;
        self.writes.push(Write::WorkflowType {
            domain: input.domain.clone(),
            detail,
        });
        self.writes.push(Write::Domain(domain));
        Ok(Ok(Reply::Done))
    }

    fn register_activity_type(
        &mut self,
        input: &RegisterActivityTypeInput,
    ) -> Result<Outcome, ReadError> {
        for (member, value) in [
            (
                "defaultTaskStartToCloseTimeout",
                &input.default_task_start_to_close_timeout,
            ),
            (
                "defaultTaskHeartbeatTimeout",
                &input.default_task_heartbeat_timeout,
            ),
            (
                "defaultTaskScheduleToStartTimeout",
                &input.default_task_schedule_to_start_timeout,
            ),
            (
                "defaultTaskScheduleToCloseTimeout",
                &input.default_task_schedule_to_close_timeout,
            ),
        ] {
            fault!(check_duration(member, value));
        }
        fault!(check_priority(
            "defaultTaskPriority",
            &input.default_task_priority
        ));
        let mut domain = fault!(self.live_domain(&input.domain)?);
        let at = ActivityType {
            name: input.name.clone(),
            version: input.version.clone(),
        };
        if self.state.activity_type(&input.domain, &at)?.is_some() {
            return Ok(Err(Fault::type_already_exists(format!(
                "ActivityType=[name={}, version={}]",
                at.name, at.version
            ))));
        }
        if domain.activity_types as usize >= self.limits.max_types_per_domain {
            return Ok(Err(Fault::limit_exceeded(
                "Limit of activity types in this domain reached",
            )));
        }
        let detail = ActivityTypeDetail {
            type_info: Box::new(ActivityTypeInfo {
                activity_type: Box::new(at),
                status: RegistrationStatus::Registered,
                description: input.description.clone(),
                creation_date: self.now,
                deprecation_date: None,
            }),
            configuration: Box::new(ActivityTypeConfiguration {
                default_task_start_to_close_timeout: input
                    .default_task_start_to_close_timeout
                    .clone(),
                default_task_heartbeat_timeout: input.default_task_heartbeat_timeout.clone(),
                default_task_list: input.default_task_list.clone(),
                default_task_priority: input.default_task_priority.clone(),
                default_task_schedule_to_start_timeout: input
                    .default_task_schedule_to_start_timeout
                    .clone(),
                default_task_schedule_to_close_timeout: input
                    .default_task_schedule_to_close_timeout
                    .clone(),
            }),
        };
        domain.activity_types += 1;
        self.writes.push(Write::ActivityType {
            domain: input.domain.clone(),
            detail,
        });
        self.writes.push(Write::Domain(domain));
        Ok(Ok(Reply::Done))
    }

    fn start_workflow_execution(
        &mut self,
        input: &StartWorkflowExecutionInput,
        run_id: &str,
    ) -> Result<Outcome, ReadError> {
        fault!(check_duration(
            "executionStartToCloseTimeout",
            &input.execution_start_to_close_timeout
        ));
        fault!(check_duration(
            "taskStartToCloseTimeout",
            &input.task_start_to_close_timeout
        ));
        fault!(check_priority("taskPriority", &input.task_priority));
        // A deprecated domain takes no new executions; the model's fault for that is UnknownResourceFault.
        fault!(self
            .live_domain(&input.domain)?
            .map_err(|f| Fault::unknown_resource(f.message)));
        let wt: &WorkflowType = &input.workflow_type;
        let Some(detail) = self.state.workflow_type(&input.domain, wt)? else {
            return Ok(Err(Fault::unknown_resource(format!(
                "Unknown type: WorkflowType=[name={}, version={}]",
                wt.name, wt.version
            ))));
        };
        if detail.type_info.status == RegistrationStatus::Deprecated {
            return Ok(Err(Fault::type_deprecated(format!(
                "WorkflowType is deprecated: [{}, {}]",
                wt.name, wt.version
            ))));
        }
        if self
            .state
            .open_run(&input.domain, &input.workflow_id)?
            .is_some()
        {
            return Ok(Err(Fault::already_started(format!(
                "Workflow execution already started: {}",
                input.workflow_id
            ))));
        }
        let requested = Requested {
            task_list: input.task_list.as_deref(),
            execution_timeout: input.execution_start_to_close_timeout.clone(),
            task_timeout: input.task_start_to_close_timeout.clone(),
            child_policy: input.child_policy,
            priority: input.task_priority.clone(),
            lambda_role: input.lambda_role.clone(),
        };
        let (config, priority_text) = match resolve(&detail.configuration, requested) {
            Ok(r) => r,
            Err(missing) => {
                return Ok(Err(Fault::default_undefined(format!(
                    "No default {} was registered for the workflow type and none was given",
                    missing.describe()
                ))))
            }
        };
        if parse_duration(&config.execution_start_to_close_timeout) == Ok(None) {
            return Ok(Err(Fault::validation(
                "executionStartToCloseTimeout may not be NONE",
            )));
        }
        let exec = self.new_run(NewRun {
            domain: input.domain.clone(),
            workflow_id: input.workflow_id.clone(),
            run_id: run_id.to_string(),
            workflow_type: wt.clone(),
            config,
            priority_text,
            tag_list: input.tag_list.clone(),
            input: input.input.clone(),
            parent: None,
            continued_from: None,
        });
        self.commit(exec)?;
        Ok(Ok(Reply::Started {
            run_id: run_id.to_string(),
        }))
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
