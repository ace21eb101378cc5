//! The request context of an SWF call, as SWF's IAM integration defines it: the action
//! (`swf:<Action>`), the domain's ARN (`arn:aws:swf:REGION:ACCOUNT:/domain/NAME`; `/domain/*` for
//! ListDomains) and the condition keys the action has (`swf:taskList.name`,
//! `swf:activityType.name` / `.version`, `swf:workflowType.name` / `.version`,
//! `swf:tagList.member.0`..`4`, `swf:tagFilter.tag`, `swf:typeFilter.name` / `.version`, `swf:name`,
//! `swf:version`, `swf:defaultTaskList.name`, `swf:workflowTypeVersion`). A value a call leaves out
//! and the type registered a default for is the default, as SWF evaluates it; so the context needs
//! the state (`SwfState`). The 13 decisions of RespondDecisionTaskCompleted are pseudo-actions with
//! their own keys (`decisions`).

use serde_json::Value;

use crate::caller::Caller;
use crate::condition::Keys;
use crate::error::AuthError;
use crate::policy::{evaluate, Decision};

/// The run a task token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRun {
    pub domain: String,
    pub workflow_name: String,
    pub workflow_version: String,
    /// The run's current decision task list.
    pub task_list: String,
}

/// What the context needs of the state.
pub trait SwfState {
    /// The run of a task token (`None` for a token that names nothing).
    fn token_run(&self, token: &str) -> Option<TokenRun>;
    /// The default task list a workflow type registered.
    fn workflow_default_task_list(&self, domain: &str, name: &str, version: &str)
        -> Option<String>;
    /// The default task list an activity type registered.
    fn activity_default_task_list(&self, domain: &str, name: &str, version: &str)
        -> Option<String>;
}

/// One authorisation question: may the caller do `action` on `resource` with these keys?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub action: String,
    pub resource: String,
    pub keys: Keys,
}

impl Question {
    /// The caller's answer: `Ok` when allowed, else AccessDeniedException in AWS's form.
    pub fn ask(&self, caller: &Caller) -> Result<(), AuthError> {
        match evaluate(&caller.policies, &self.action, &self.resource, &self.keys) {
            Decision::Allow => Ok(()),
            _ => Err(AuthError::denied(
                &caller.user_arn,
                &self.action,
                &self.resource,
            )),
        }
    }

    /// Whether the caller may.
    pub fn allowed(&self, caller: &Caller) -> bool {
        evaluate(&caller.policies, &self.action, &self.resource, &self.keys).allowed()
    }
}

fn s<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut v = v;
    for p in path {
        v = v.get(p)?;
    }
    v.as_str()
}

/// The ARN of a domain.
pub fn domain_arn(caller: &Caller, domain: &str) -> String {
    format!(
        "arn:aws:swf:{}:{}:/domain/{domain}",
        caller.region, caller.account
    )
}

fn tags(keys: &mut Keys, list: Option<&Value>) {
    if let Some(Value::Array(tags)) = list {
        for (i, t) in tags.iter().take(5).enumerate() {
            if let Some(t) = t.as_str() {
                keys.set(&format!("swf:tagList.member.{i}"), t);
            }
        }
    }
}

fn set(keys: &mut Keys, key: &str, value: Option<&str>) {
    if let Some(v) = value {
        keys.set(key, v);
    }
}

/// The question an SWF call asks; `None` when there is nothing to ask (a task token that names no
/// run: the call fails on its own with UnknownResourceFault).
pub fn question(
    action: &str,
    body: &Value,
    caller: &Caller,
    state: &dyn SwfState,
) -> Option<Question> {
    let mut keys = Keys::default();
    let domain: String = match action {
        "ListDomains" => "*".to_string(),
        "RegisterDomain" | "DescribeDomain" | "DeprecateDomain" | "UndeprecateDomain" => {
            s(body, &["name"]).unwrap_or_default().to_string()
        }
        "RespondDecisionTaskCompleted"
        | "RespondActivityTaskCompleted"
        | "RespondActivityTaskFailed"
        | "RespondActivityTaskCanceled"
        | "RecordActivityTaskHeartbeat" => {
            state
                .token_run(s(body, &["taskToken"]).unwrap_or_default())?
                .domain
        }
        "TagResource" | "UntagResource" | "ListTagsForResource" => {
            // The resource is the domain's ARN itself.
            let arn = s(body, &["resourceArn"]).unwrap_or_default().to_string();
            return Some(Question {
                action: format!("swf:{action}"),
                resource: arn,
                keys,
            });
        }
        _ => s(body, &["domain"]).unwrap_or_default().to_string(),
    };
    match action {
        "RegisterActivityType" | "RegisterWorkflowType" => {
            set(&mut keys, "swf:name", s(body, &["name"]));
            set(&mut keys, "swf:version", s(body, &["version"]));
            set(
                &mut keys,
                "swf:defaultTaskList.name",
                s(body, &["defaultTaskList", "name"]),
            );
        }
        "DeprecateActivityType"
        | "UndeprecateActivityType"
        | "DescribeActivityType"
        | "DeleteActivityType" => {
            set(
                &mut keys,
                "swf:activityType.name",
                s(body, &["activityType", "name"]),
            );
            set(
                &mut keys,
                "swf:activityType.version",
                s(body, &["activityType", "version"]),
            );
        }
        "DeprecateWorkflowType"
        | "UndeprecateWorkflowType"
        | "DescribeWorkflowType"
        | "DeleteWorkflowType" => {
            set(
                &mut keys,
                "swf:workflowType.name",
                s(body, &["workflowType", "name"]),
            );
            set(
                &mut keys,
                "swf:workflowType.version",
                s(body, &["workflowType", "version"]),
            );
        }
        "PollForActivityTask"
        | "PollForDecisionTask"
        | "CountPendingActivityTasks"
        | "CountPendingDecisionTasks" => {
            set(
                &mut keys,
                "swf:taskList.name",
                s(body, &["taskList", "name"]),
            );
        }
        "StartWorkflowExecution" => {
            let name = s(body, &["workflowType", "name"]);
            let version = s(body, &["workflowType", "version"]);
            set(&mut keys, "swf:workflowType.name", name);
            set(&mut keys, "swf:workflowType.version", version);
            let task_list = s(body, &["taskList", "name"])
                .map(str::to_string)
                .or_else(|| state.workflow_default_task_list(&domain, name?, version?));
            set(&mut keys, "swf:taskList.name", task_list.as_deref());
            tags(&mut keys, body.get("tagList"));
        }
        "ListOpenWorkflowExecutions"
        | "ListClosedWorkflowExecutions"
        | "CountOpenWorkflowExecutions"
        | "CountClosedWorkflowExecutions" => {
            set(
                &mut keys,
                "swf:tagFilter.tag",
                s(body, &["tagFilter", "tag"]),
            );
            set(
                &mut keys,
                "swf:typeFilter.name",
                s(body, &["typeFilter", "name"]),
            );
            set(
                &mut keys,
                "swf:typeFilter.version",
                s(body, &["typeFilter", "version"]),
            );
        }
        _ => {}
    }
    Some(Question {
        action: format!("swf:{action}"),
        resource: domain_arn(caller, &domain),
        keys,
    })
}

/// The pseudo-action of each decision of a RespondDecisionTaskCompleted by the run `run`, in order;
/// `None` for ScheduleLambdaFunction, which SWF does not check as a pseudo-action (its failure causes
/// have no OPERATION_NOT_PERMITTED; here it always fails, there is no Lambda on-prem).
pub fn decisions(
    list: &[Value],
    run: &TokenRun,
    caller: &Caller,
    state: &dyn SwfState,
) -> Vec<Option<Question>> {
    let resource = domain_arn(caller, &run.domain);
    list.iter()
        .map(|d| {
            let kind = s(d, &["decisionType"]).unwrap_or_default();
            if kind == "ScheduleLambdaFunction" {
                return None;
            }
            let mut keys = Keys::default();
            let attrs = |name: &str| d.get(name).cloned().unwrap_or(Value::Null);
            match kind {
                "ScheduleActivityTask" => {
                    let a = attrs("scheduleActivityTaskDecisionAttributes");
                    let name = s(&a, &["activityType", "name"]);
                    let version = s(&a, &["activityType", "version"]);
                    set(&mut keys, "swf:activityType.name", name);
                    set(&mut keys, "swf:activityType.version", version);
                    let tl = s(&a, &["taskList", "name"])
                        .map(str::to_string)
                        .or_else(|| state.activity_default_task_list(&run.domain, name?, version?));
                    set(&mut keys, "swf:taskList.name", tl.as_deref());
                }
                "StartChildWorkflowExecution" => {
                    let a = attrs("startChildWorkflowExecutionDecisionAttributes");
                    let name = s(&a, &["workflowType", "name"]);
                    let version = s(&a, &["workflowType", "version"]);
                    set(&mut keys, "swf:workflowType.name", name);
                    set(&mut keys, "swf:workflowType.version", version);
                    let tl = s(&a, &["taskList", "name"])
                        .map(str::to_string)
                        .or_else(|| state.workflow_default_task_list(&run.domain, name?, version?));
                    set(&mut keys, "swf:taskList.name", tl.as_deref());
                    tags(&mut keys, a.get("tagList"));
                }
                "ContinueAsNewWorkflowExecution" => {
                    let a = attrs("continueAsNewWorkflowExecutionDecisionAttributes");
                    let version = s(&a, &["workflowTypeVersion"])
                        .unwrap_or(&run.workflow_version)
                        .to_string();
                    keys.set("swf:workflowTypeVersion", version.clone());
                    let tl = s(&a, &["taskList", "name"])
                        .map(str::to_string)
                        .or_else(|| {
                            state.workflow_default_task_list(
                                &run.domain,
                                &run.workflow_name,
                                &version,
                            )
                        })
                        .unwrap_or_else(|| run.task_list.clone());
                    keys.set("swf:taskList.name", tl);
                    tags(&mut keys, a.get("tagList"));
                }
                _ => {}
            }
            Some(Question {
                action: format!("swf:{kind}"),
                resource: resource.clone(),
                keys,
            })
        })
        .collect()
}
