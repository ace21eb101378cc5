//! The registry: every domain and type action — register, deprecate, undeprecate, delete — and domain
//! tags. Deprecated types and domains keep their open executions running; they only refuse new
//! registrations, starts and schedules. A type can be deleted only once deprecated.

use swf_types::shapes::*;
use swf_types::{Fault, FaultKind, Timestamp};

use crate::command::{Outcome, Reply};
use crate::ctx::{check_duration, check_priority, fault, Ctx};
use crate::state::*;

use crate::command::{DomainAction, TypeAction};

/// The parts of a workflow or activity type's detail that its lifecycle changes.
trait TypeDetail: Clone {
    const KIND: &'static str;
    fn status(&self) -> RegistrationStatus;
    fn set_status(&mut self, status: RegistrationStatus, when: Option<Timestamp>);
}

impl TypeDetail for WorkflowTypeDetail {
    const KIND: &'static str = "WorkflowType";
    fn status(&self) -> RegistrationStatus {
        self.type_info.status
    }
    fn set_status(&mut self, status: RegistrationStatus, when: Option<Timestamp>) {
        self.type_info.status = status;
        self.type_info.deprecation_date = when;
    }
}

impl TypeDetail for ActivityTypeDetail {
    const KIND: &'static str = "ActivityType";
    fn status(&self) -> RegistrationStatus {
        self.type_info.status
    }
    fn set_status(&mut self, status: RegistrationStatus, when: Option<Timestamp>) {
        self.type_info.status = status;
        self.type_info.deprecation_date = when;
    }
}

/// The outcome of a type action: the new detail, or `None` when deleted.
fn change_type<T: TypeDetail>(
    detail: Option<T>,
    name: &str,
    version: &str,
    action: TypeAction,
    now: Timestamp,
) -> Result<Option<T>, Fault> {
    let Some(mut detail) = detail else {
        return Err(Fault::unknown_resource(format!(
            "Unknown type: {}=[name={name}, version={version}]",
            T::KIND
        )));
    };
    let described = format!("{}=[name={name}, version={version}]", T::KIND);
    match (action, detail.status()) {
        (TypeAction::Deprecate, RegistrationStatus::Deprecated) => Err(Fault::type_deprecated(
            format!("Type is already deprecated: {described}"),
        )),
        (TypeAction::Deprecate, RegistrationStatus::Registered) => {
            detail.set_status(RegistrationStatus::Deprecated, Some(now));
            Ok(Some(detail))
        }
        (TypeAction::Undeprecate, RegistrationStatus::Registered) => {
            Err(Fault::type_already_exists(described))
        }
        (TypeAction::Undeprecate, RegistrationStatus::Deprecated) => {
            detail.set_status(RegistrationStatus::Registered, None);
            Ok(Some(detail))
        }
        (TypeAction::Delete, RegistrationStatus::Registered) => Err(Fault::type_not_deprecated(
            format!("Type must be deprecated before it is deleted: {described}"),
        )),
        (TypeAction::Delete, RegistrationStatus::Deprecated) => Ok(None),
    }
}

/// The domain name a domain ARN of ours names, if it is one.
pub fn domain_from_arn(arn: &str, limits: &crate::Limits) -> Option<String> {
    let prefix = limits.domain_arn("");
    arn.strip_prefix(&prefix)
        .filter(|d| !d.is_empty())
        .map(str::to_string)
}

impl<S: Lookup + ?Sized> Ctx<'_, S> {
    pub(crate) fn register_domain(
        &mut self,
        input: &RegisterDomainInput,
    ) -> Result<Outcome, ReadError> {
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

    pub(crate) fn register_workflow_type(
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

    pub(crate) fn register_activity_type(
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

    fn existing_domain(&self, name: &str) -> Result<Result<DomainRecord, Fault>, ReadError> {
        Ok(self
            .state
            .domain(name)?
            .ok_or_else(|| Fault::unknown_resource(format!("Unknown domain: {name}"))))
    }

    pub(crate) fn change_domain(
        &mut self,
        name: &str,
        action: DomainAction,
    ) -> Result<Outcome, ReadError> {
        let mut domain = fault!(self.existing_domain(name)?);
        let status = domain.detail.domain_info.status;
        match (action, status) {
            (DomainAction::Deprecate, RegistrationStatus::Deprecated) => {
                return Ok(Err(Fault::domain_deprecated(format!(
                    "Domain is already deprecated: {name}"
                ))))
            }
            (DomainAction::Undeprecate, RegistrationStatus::Registered) => {
                return Ok(Err(Fault::domain_already_exists(format!(
                    "Domain is already registered: {name}"
                ))))
            }
            (DomainAction::Deprecate, _) => {
                domain.detail.domain_info.status = RegistrationStatus::Deprecated
            }
            (DomainAction::Undeprecate, _) => {
                domain.detail.domain_info.status = RegistrationStatus::Registered
            }
        }
        self.writes.push(Write::Domain(domain));
        Ok(Ok(Reply::Done))
    }

    pub(crate) fn change_workflow_type(
        &mut self,
        domain: &str,
        t: &WorkflowType,
        action: TypeAction,
    ) -> Result<Outcome, ReadError> {
        let mut record = fault!(self.existing_domain(domain)?);
        let detail = self.state.workflow_type(domain, t)?;
        match fault!(change_type(detail, &t.name, &t.version, action, self.now)) {
            Some(detail) => self.writes.push(Write::WorkflowType {
                domain: domain.to_string(),
                detail,
            }),
            None => {
                record.workflow_types = record.workflow_types.saturating_sub(1);
                self.writes.push(Write::DeleteWorkflowType {
                    domain: domain.to_string(),
                    workflow_type: t.clone(),
                });
                self.writes.push(Write::Domain(record));
            }
        }
        Ok(Ok(Reply::Done))
    }

    pub(crate) fn change_activity_type(
        &mut self,
        domain: &str,
        t: &ActivityType,
        action: TypeAction,
    ) -> Result<Outcome, ReadError> {
        let mut record = fault!(self.existing_domain(domain)?);
        let detail = self.state.activity_type(domain, t)?;
        match fault!(change_type(detail, &t.name, &t.version, action, self.now)) {
            Some(detail) => self.writes.push(Write::ActivityType {
                domain: domain.to_string(),
                detail,
            }),
            None => {
                record.activity_types = record.activity_types.saturating_sub(1);
                self.writes.push(Write::DeleteActivityType {
                    domain: domain.to_string(),
                    activity_type: t.clone(),
                });
                self.writes.push(Write::Domain(record));
            }
        }
        Ok(Ok(Reply::Done))
    }

    fn tagged_domain(&self, arn: &str) -> Result<Result<DomainRecord, Fault>, ReadError> {
        let Some(name) = domain_from_arn(arn, self.limits) else {
            return Ok(Err(Fault::unknown_resource(format!(
                "Unknown resource: {arn}"
            ))));
        };
        self.existing_domain(&name)
    }

    pub(crate) fn tag_resource(
        &mut self,
        arn: &str,
        tags: &[ResourceTag],
    ) -> Result<Outcome, ReadError> {
        let mut domain = fault!(self.tagged_domain(arn)?);
        for tag in tags {
            match domain.tags.iter_mut().find(|t| t.key == tag.key) {
                Some(existing) => existing.value = tag.value.clone(),
                None => domain.tags.push(tag.clone()),
            }
        }
        if domain.tags.len() > self.limits.max_tags {
            return Ok(Err(Fault {
                kind: FaultKind::TooManyTags,
                message: format!("A resource may have at most {} tags", self.limits.max_tags),
            }));
        }
        self.writes.push(Write::Domain(domain));
        Ok(Ok(Reply::Done))
    }

    pub(crate) fn untag_resource(
        &mut self,
        arn: &str,
        keys: &[String],
    ) -> Result<Outcome, ReadError> {
        let mut domain = fault!(self.tagged_domain(arn)?);
        domain.tags.retain(|t| !keys.contains(&t.key));
        self.writes.push(Write::Domain(domain));
        Ok(Ok(Reply::Done))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(status: RegistrationStatus) -> ActivityTypeDetail {
        ActivityTypeDetail {
            type_info: Box::new(ActivityTypeInfo {
                activity_type: Box::new(ActivityType {
                    name: "a".into(),
                    version: "1".into(),
                }),
                status,
                ..Default::default()
            }),
            configuration: Default::default(),
        }
    }

    /// (action, current status or None for an unknown type, expected new status (None: deleted) or fault code)
    type Case = (
        TypeAction,
        Option<RegistrationStatus>,
        Result<Option<RegistrationStatus>, &'static str>,
    );

    #[test]
    fn type_action_table() {
        use RegistrationStatus::*;
        use TypeAction::*;
        let now = Timestamp(5_000);
        // (action, current status, expected: Ok(new status or None when deleted) or fault code)
        let cases: Vec<Case> = vec![
            (Deprecate, Some(Registered), Ok(Some(Deprecated))),
            (Deprecate, Some(Deprecated), Err("TypeDeprecatedFault")),
            (Undeprecate, Some(Deprecated), Ok(Some(Registered))),
            (Undeprecate, Some(Registered), Err("TypeAlreadyExistsFault")),
            (Delete, Some(Deprecated), Ok(None)),
            (Delete, Some(Registered), Err("TypeNotDeprecatedFault")),
            (Deprecate, None, Err("UnknownResourceFault")),
            (Undeprecate, None, Err("UnknownResourceFault")),
            (Delete, None, Err("UnknownResourceFault")),
        ];
        for (action, status, expected) in cases {
            let got = change_type(status.map(detail), "a", "1", action, now);
            match (got, expected) {
                (Ok(d), Ok(want)) => {
                    assert_eq!(
                        d.as_ref().map(|d| d.type_info.status),
                        want,
                        "{action:?} {status:?}"
                    );
                    if let Some(d) = d {
                        let deprecated = d.type_info.status == Deprecated;
                        assert_eq!(d.type_info.deprecation_date, deprecated.then_some(now));
                    }
                }
                (Err(f), Err(code)) => assert_eq!(f.code(), code, "{action:?} {status:?}"),
                (got, want) => panic!("{action:?} {status:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn arns_name_our_domains_only() {
        let limits = crate::Limits::default();
        assert_eq!(
            domain_from_arn("arn:aws:swf:us-east-1:000000000000:/domain/d1", &limits),
            Some("d1".into())
        );
        assert_eq!(
            domain_from_arn("arn:aws:swf:eu-west-1:000000000000:/domain/d1", &limits),
            None
        );
        assert_eq!(
            domain_from_arn("arn:aws:swf:us-east-1:000000000000:/domain/", &limits),
            None
        );
        assert_eq!(domain_from_arn("garbage", &limits), None);
    }
}
