//! Reads: Describe*, List* and history pages, computed from applied state. Pure like `apply`, so the
//! same functions serve the node and the unit tests.

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use swf_types::shapes::*;
use swf_types::Fault;

use crate::state::*;

/// Largest page any list or history call returns.
pub const MAX_PAGE: usize = 1000;

fn read<T>(r: Result<T, ReadError>) -> Result<T, Fault> {
    r.map_err(|e| Fault::internal(e.to_string()))
}

fn page_size(requested: Option<i32>) -> usize {
    match requested {
        Some(n) if n > 0 => (n as usize).min(MAX_PAGE),
        _ => MAX_PAGE,
    }
}

/// The fault for a page token we did not issue, or issued to another call or domain. SWF answers a
/// page token it does not take with ValidationException (its documentation: an expired token gets
/// "a 400 error"; aws-swf issue #57 shows `ValidationException: Specified token has exceeded its
/// maximum lifetime`).
pub fn bad_page_token() -> Fault {
    Fault::validation("Invalid nextPageToken")
}

/// Encodes a page token for the next call `call` in `scope` (the domain; "" for ListDomains): signed
/// and bound to both (`crate::page_token`).
pub fn encode_page_token<S: Lookup + ?Sized, T: Serialize>(
    s: &S,
    call: &str,
    scope: &str,
    t: &T,
) -> Result<String, Fault> {
    let position = serde_json::to_vec(t).map_err(|e| Fault::internal(e.to_string()))?;
    read(crate::page_token::seal(s, call, scope, &position))
}

/// Decodes a page token of `call` in `scope`, or ValidationException for one we did not issue there.
pub fn decode_page_token<S: Lookup + ?Sized, T: DeserializeOwned>(
    s: &S,
    call: &str,
    scope: &str,
    token: &str,
) -> Result<T, Fault> {
    read(crate::page_token::open(s, call, scope, token))?
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(bad_page_token)
}

/// The call and scope a page token is bound to.
struct Bound<'a, S: ?Sized> {
    s: &'a S,
    call: &'a str,
    scope: &'a str,
}

/// Pages a sorted list by position: `token` holds the key of the last item returned.
fn page<S: Lookup + ?Sized, T, K: Serialize + DeserializeOwned + PartialOrd>(
    b: Bound<'_, S>,
    mut items: Vec<T>,
    key: impl Fn(&T) -> K,
    token: Option<&str>,
    size: Option<i32>,
    reverse: bool,
) -> Result<(Vec<T>, Option<String>), Fault> {
    if reverse {
        items.reverse();
    }
    if let Some(t) = token {
        let last: K = decode_page_token(b.s, b.call, b.scope, t)?;
        items.retain(|i| {
            if reverse {
                key(i) < last
            } else {
                key(i) > last
            }
        });
    }
    let size = page_size(size);
    let next = if items.len() > size {
        Some(encode_page_token(
            b.s,
            b.call,
            b.scope,
            &key(&items[size - 1]),
        )?)
    } else {
        None
    };
    items.truncate(size);
    Ok((items, next))
}

/// DescribeDomain.
pub fn describe_domain<S: StateRead + ?Sized>(s: &S, name: &str) -> Result<DomainDetail, Fault> {
    read(s.domain(name))?
        .map(|d| d.detail)
        .ok_or_else(|| Fault::unknown_resource(format!("Unknown domain: {name}")))
}

/// ListDomains.
pub fn list_domains<S: StateRead + ?Sized>(
    s: &S,
    input: &ListDomainsInput,
) -> Result<DomainInfos, Fault> {
    let status = input.registration_status;
    let all: Vec<DomainInfo> = read(s.domains())?
        .into_iter()
        .map(|d| *d.detail.domain_info)
        .filter(|d| d.status == status)
        .collect();
    let bound = Bound {
        s,
        call: "ListDomains",
        scope: "",
    };
    let (items, next) = page(
        bound,
        all,
        |d| d.name.clone(),
        input.next_page_token.as_deref(),
        input.maximum_page_size,
        input.reverse_order.unwrap_or(false),
    )?;
    Ok(DomainInfos {
        domain_infos: items,
        next_page_token: next,
    })
}

fn existing_domain<S: StateRead + ?Sized>(s: &S, name: &str) -> Result<DomainRecord, Fault> {
    read(s.domain(name))?.ok_or_else(|| Fault::unknown_resource(format!("Unknown domain: {name}")))
}

/// DescribeWorkflowType.
pub fn describe_workflow_type<S: StateRead + ?Sized>(
    s: &S,
    domain: &str,
    t: &WorkflowType,
) -> Result<WorkflowTypeDetail, Fault> {
    existing_domain(s, domain)?;
    read(s.workflow_type(domain, t))?.ok_or_else(|| {
        Fault::unknown_resource(format!(
            "Unknown type: WorkflowType=[name={}, version={}]",
            t.name, t.version
        ))
    })
}

/// DescribeActivityType.
pub fn describe_activity_type<S: StateRead + ?Sized>(
    s: &S,
    domain: &str,
    t: &ActivityType,
) -> Result<ActivityTypeDetail, Fault> {
    existing_domain(s, domain)?;
    read(s.activity_type(domain, t))?.ok_or_else(|| {
        Fault::unknown_resource(format!(
            "Unknown type: ActivityType=[name={}, version={}]",
            t.name, t.version
        ))
    })
}

/// ListWorkflowTypes.
pub fn list_workflow_types<S: StateRead + ?Sized>(
    s: &S,
    input: &ListWorkflowTypesInput,
) -> Result<WorkflowTypeInfos, Fault> {
    existing_domain(s, &input.domain)?;
    let all: Vec<WorkflowTypeInfo> = read(s.workflow_types(&input.domain))?
        .into_iter()
        .map(|d| *d.type_info)
        .filter(|t| {
            t.status == input.registration_status
                && input
                    .name
                    .as_ref()
                    .is_none_or(|n| *n == t.workflow_type.name)
        })
        .collect();
    let key = |t: &WorkflowTypeInfo| {
        (
            t.workflow_type.name.clone(),
            t.workflow_type.version.clone(),
        )
    };
    let bound = Bound {
        s,
        call: "ListWorkflowTypes",
        scope: &input.domain,
    };
    let (items, next) = page(
        bound,
        all,
        key,
        input.next_page_token.as_deref(),
        input.maximum_page_size,
        input.reverse_order.unwrap_or(false),
    )?;
    Ok(WorkflowTypeInfos {
        type_infos: items,
        next_page_token: next,
    })
}

/// ListActivityTypes.
pub fn list_activity_types<S: StateRead + ?Sized>(
    s: &S,
    input: &ListActivityTypesInput,
) -> Result<ActivityTypeInfos, Fault> {
    existing_domain(s, &input.domain)?;
    let all: Vec<ActivityTypeInfo> = read(s.activity_types(&input.domain))?
        .into_iter()
        .map(|d| *d.type_info)
        .filter(|t| {
            t.status == input.registration_status
                && input
                    .name
                    .as_ref()
                    .is_none_or(|n| *n == t.activity_type.name)
        })
        .collect();
    let key = |t: &ActivityTypeInfo| {
        (
            t.activity_type.name.clone(),
            t.activity_type.version.clone(),
        )
    };
    let bound = Bound {
        s,
        call: "ListActivityTypes",
        scope: &input.domain,
    };
    let (items, next) = page(
        bound,
        all,
        key,
        input.next_page_token.as_deref(),
        input.maximum_page_size,
        input.reverse_order.unwrap_or(false),
    )?;
    Ok(ActivityTypeInfos {
        type_infos: items,
        next_page_token: next,
    })
}

/// The execution named by a request, which must belong to `domain` and carry `workflow_id`.
pub fn find_execution<S: StateRead + ?Sized>(
    s: &S,
    domain: &str,
    e: &WorkflowExecution,
) -> Result<ExecutionRecord, Fault> {
    existing_domain(s, domain)?;
    match read(s.execution(&e.run_id))? {
        Some(rec) if rec.domain == domain && rec.workflow_id == e.workflow_id => Ok(rec),
        _ => Err(Fault::unknown_resource(format!(
            "Unknown execution: WorkflowExecution=[workflowId={}, runId={}]",
            e.workflow_id, e.run_id
        ))),
    }
}

/// The WorkflowExecutionInfo of a record.
pub fn execution_info(rec: &ExecutionRecord) -> WorkflowExecutionInfo {
    WorkflowExecutionInfo {
        execution: Box::new(WorkflowExecution {
            workflow_id: rec.workflow_id.clone(),
            run_id: rec.run_id.clone(),
        }),
        workflow_type: Box::new(rec.workflow_type.clone()),
        start_timestamp: rec.started,
        close_timestamp: rec.closed,
        execution_status: if rec.is_open() {
            ExecutionStatus::Open
        } else {
            ExecutionStatus::Closed
        },
        close_status: rec.close_status,
        parent: rec.parent.as_ref().map(|p| {
            Box::new(WorkflowExecution {
                workflow_id: p.workflow_id.clone(),
                run_id: p.run_id.clone(),
            })
        }),
        tag_list: if rec.tag_list.is_empty() {
            None
        } else {
            Some(rec.tag_list.clone())
        },
        // A closed run reports false, as SWF does (simpleflow's `test_cancel_requested` cassette: a run
        // closed CANCELED after a cancel request is described with `cancelRequested: false`).
        cancel_requested: Some(rec.cancel_requested && rec.is_open()),
    }
}

/// DescribeWorkflowExecution.
pub fn describe_execution<S: StateRead + ?Sized>(
    s: &S,
    domain: &str,
    e: &WorkflowExecution,
) -> Result<WorkflowExecutionDetail, Fault> {
    let rec = find_execution(s, domain, e)?;
    let open_decisions = match rec.decision {
        DecisionSlot::None => 0,
        _ => 1,
    };
    let open_counts = if rec.is_open() {
        WorkflowExecutionOpenCounts {
            open_activity_tasks: rec.activities.len() as i32,
            open_decision_tasks: open_decisions,
            open_timers: rec.timers.len() as i32,
            open_child_workflow_executions: rec.children.len() as i32,
            open_lambda_functions: Some(0),
        }
    } else {
        open_at_close(s, &rec.run_id)?
    };
    Ok(WorkflowExecutionDetail {
        execution_info: Box::new(execution_info(&rec)),
        execution_configuration: Box::new(WorkflowExecutionConfiguration {
            task_start_to_close_timeout: rec.config.task_start_to_close_timeout.clone(),
            execution_start_to_close_timeout: rec.config.execution_start_to_close_timeout.clone(),
            task_list: Box::new(TaskList {
                name: rec.config.task_list.clone(),
            }),
            // Left out unless a priority was set, as SWF does (0 is the default).
            task_priority: (rec.config.task_priority != 0)
                .then(|| rec.config.task_priority.to_string()),
            child_policy: rec.config.child_policy,
            lambda_role: rec.config.lambda_role.clone(),
        }),
        open_counts: Box::new(open_counts),
        latest_activity_task_timestamp: rec.latest_activity_task_timestamp,
        latest_execution_context: rec.latest_execution_context.clone(),
    })
}

/// A closed run's open counts as SWF reports them: what was still open when the run closed, counted
/// from its history (a task, timer or child whose opening event has no closing one). Real SWF reports
/// this: simpleflow's `test_cancel_requested` cassette (us-east-1) describes a run closed CANCELED
/// while its activity was started with `openActivityTasks: 1`.
fn open_at_close<S: StateRead + ?Sized>(
    s: &S,
    run_id: &str,
) -> Result<WorkflowExecutionOpenCounts, Fault> {
    use std::collections::BTreeSet;
    use EventType::*;
    // (activities, decision tasks, timers, children) still open, by their opening event id.
    let mut open: [BTreeSet<i64>; 4] = Default::default();
    let mut from = 1;
    loop {
        let events = read(s.history(run_id, from, false, MAX_PAGE))?;
        let Some(last) = events.last().map(|e| e.event_id) else {
            break;
        };
        for e in &events {
            let (set, opens, closes) = match e.event_type {
                ActivityTaskScheduled => (0, true, None),
                ActivityTaskCompleted
                | ActivityTaskFailed
                | ActivityTaskTimedOut
                | ActivityTaskCanceled => (0, false, Some("scheduledEventId")),
                DecisionTaskScheduled => (1, true, None),
                DecisionTaskCompleted | DecisionTaskTimedOut => {
                    (1, false, Some("scheduledEventId"))
                }
                TimerStarted => (2, true, None),
                TimerFired | TimerCanceled => (2, false, Some("startedEventId")),
                StartChildWorkflowExecutionInitiated => (3, true, None),
                StartChildWorkflowExecutionFailed
                | ChildWorkflowExecutionCompleted
                | ChildWorkflowExecutionFailed
                | ChildWorkflowExecutionCanceled
                | ChildWorkflowExecutionTimedOut
                | ChildWorkflowExecutionTerminated => (3, false, Some("initiatedEventId")),
                _ => continue,
            };
            if opens {
                open[set].insert(e.event_id);
            } else if let Some(member) = closes {
                let v = serde_json::to_value(e).unwrap_or_default();
                let t = e.event_type.as_str();
                let attrs = format!("{}{}EventAttributes", t[..1].to_lowercase(), &t[1..]);
                if let Some(id) = v[&attrs][member].as_i64() {
                    open[set].remove(&id);
                }
            }
        }
        if events.len() < MAX_PAGE {
            break;
        }
        from = last + 1;
    }
    let [activities, decisions, timers, children] = open.map(|s| s.len() as i32);
    Ok(WorkflowExecutionOpenCounts {
        open_activity_tasks: activities,
        open_decision_tasks: decisions,
        open_timers: timers,
        open_child_workflow_executions: children,
        open_lambda_functions: Some(0),
    })
}

/// Where a history page continues.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryCursor {
    /// Run the page belongs to.
    #[serde(rename = "r")]
    pub run_id: String,
    /// First event id of the next page.
    #[serde(rename = "n")]
    pub next: i64,
    /// Last event id that belongs to the history being paged (a decision task's started event).
    #[serde(rename = "l", default, skip_serializing_if = "Option::is_none")]
    pub last: Option<i64>,
    #[serde(rename = "v", default)]
    pub reverse: bool,
}

/// One page of a history from a cursor; returns the events and the next cursor, if any.
pub fn history_page<S: StateRead + ?Sized>(
    s: &S,
    cursor: &HistoryCursor,
    size: Option<i32>,
) -> Result<(Vec<HistoryEvent>, Option<HistoryCursor>), Fault> {
    let size = page_size(size);
    let mut events = read(s.history(&cursor.run_id, cursor.next, cursor.reverse, size + 1))?;
    if let Some(last) = cursor.last {
        events.retain(|e| e.event_id <= last);
    }
    let next = if events.len() > size {
        events.truncate(size);
        let after = events.last().map(|e| e.event_id).unwrap_or(0);
        Some(HistoryCursor {
            next: if cursor.reverse { after - 1 } else { after + 1 },
            ..cursor.clone()
        })
    } else {
        None
    };
    Ok((events, next))
}

/// The first cursor of a history: from event 1, or from the last event when reversed.
pub fn first_cursor(rec: &ExecutionRecord, last: Option<i64>, reverse: bool) -> HistoryCursor {
    let top = last.unwrap_or(rec.next_event_id - 1);
    HistoryCursor {
        run_id: rec.run_id.clone(),
        next: if reverse { top } else { 1 },
        last,
        reverse,
    }
}

/// GetWorkflowExecutionHistory.
pub fn get_history<S: StateRead + ?Sized>(
    s: &S,
    input: &GetWorkflowExecutionHistoryInput,
) -> Result<History, Fault> {
    let rec = find_execution(s, &input.domain, &input.execution)?;
    let cursor = match &input.next_page_token {
        Some(t) => {
            let c: HistoryCursor =
                decode_page_token(s, "GetWorkflowExecutionHistory", &input.domain, t)?;
            if c.run_id != rec.run_id {
                return Err(Fault::validation(
                    "nextPageToken belongs to another execution",
                ));
            }
            c
        }
        None => first_cursor(&rec, None, input.reverse_order.unwrap_or(false)),
    };
    let (events, next) = history_page(s, &cursor, input.maximum_page_size)?;
    let next_page_token = next
        .map(|c| encode_page_token(s, "GetWorkflowExecutionHistory", &input.domain, &c))
        .transpose()?;
    Ok(History {
        events,
        next_page_token,
    })
}

/// Most queued tasks a pending count walks before it answers with `truncated`.
pub const MAX_PENDING_COUNT: usize = 100_000;

/// CountPendingDecisionTasks / CountPendingActivityTasks.
pub fn count_pending<S: StateRead + ?Sized>(
    s: &S,
    domain: &str,
    kind: TaskKind,
    task_list: &str,
) -> Result<PendingTaskCount, Fault> {
    existing_domain(s, domain)?;
    let n = read(s.count_queued(domain, kind, task_list, MAX_PENDING_COUNT + 1))?;
    Ok(PendingTaskCount {
        count: n.min(MAX_PENDING_COUNT) as i32,
        truncated: Some(n > MAX_PENDING_COUNT),
    })
}

/// ListTagsForResource.
pub fn list_tags<S: StateRead + ?Sized>(
    s: &S,
    arn: &str,
    limits: &crate::Limits,
) -> Result<ListTagsForResourceOutput, Fault> {
    let name = crate::registry::domain_from_arn(arn, limits)
        .ok_or_else(|| Fault::unknown_resource(format!("Unknown resource: {arn}")))?;
    let domain = existing_domain(s, &name)?;
    Ok(ListTagsForResourceOutput {
        tags: Some(domain.tags),
    })
}
