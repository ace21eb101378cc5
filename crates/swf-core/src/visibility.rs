//! Visibility: the secondary indexes behind List/Count Open/Closed WorkflowExecutions, and the queries
//! over them. Each execution has index entries per filter kind (all, workflow id, type name, type name
//! and version, each tag, close status) and per time kind (start time; close time once closed), keyed so
//! that one filter and one time window is one contiguous key range:
//!
//! `len-prefixed domain | O/C | s/c (time kind) | filter kind | len-prefixed filter value | time (BE) | run id`
//!
//! The value is the execution's `WorkflowExecutionInfo`, so a page costs one range scan, O(page). The
//! entries are written in the same batch as the state change that opens or closes the execution.

use swf_types::shapes::*;
use swf_types::Fault;

use crate::query::{execution_info, MAX_PAGE};
use crate::state::{ExecutionRecord, ReadError, StateRead};

/// Most index entries a count walks before it answers with `truncated: true`.
pub const MAX_COUNT: usize = 100_000;

fn push_str(key: &mut Vec<u8>, s: &str) {
    key.extend_from_slice(&(s.len() as u32).to_be_bytes());
    key.extend_from_slice(s.as_bytes());
}

/// The one filter a visibility query applies (SWF allows at most one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    All,
    WorkflowId(String),
    TypeName(String),
    TypeVersion(String, String),
    Tag(String),
    CloseStatus(CloseStatus),
}

impl Filter {
    fn encode(&self, key: &mut Vec<u8>) {
        match self {
            Filter::All => key.push(b'*'),
            Filter::WorkflowId(id) => {
                key.push(b'W');
                push_str(key, id);
            }
            Filter::TypeName(n) => {
                key.push(b'T');
                push_str(key, n);
            }
            Filter::TypeVersion(n, v) => {
                key.push(b'V');
                push_str(key, n);
                push_str(key, v);
            }
            Filter::Tag(t) => {
                key.push(b'G');
                push_str(key, t);
            }
            Filter::CloseStatus(s) => {
                key.push(b'S');
                push_str(key, s.as_str());
            }
        }
    }
}

/// The key prefix of one (domain, open/closed, time kind, filter) range.
pub fn prefix(domain: &str, closed: bool, by_close_time: bool, filter: &Filter) -> Vec<u8> {
    let mut k = Vec::new();
    push_str(&mut k, domain);
    k.push(if closed { b'C' } else { b'O' });
    k.push(if by_close_time { b'c' } else { b's' });
    filter.encode(&mut k);
    k
}

fn time_bytes(ms: i64) -> [u8; 8] {
    (ms.max(0) as u64).to_be_bytes()
}

/// Every index key of an execution in its current state (open, or closed).
pub fn index_keys(rec: &ExecutionRecord) -> Vec<Vec<u8>> {
    let closed = !rec.is_open();
    let mut filters = vec![
        Filter::All,
        Filter::WorkflowId(rec.workflow_id.clone()),
        Filter::TypeName(rec.workflow_type.name.clone()),
        Filter::TypeVersion(
            rec.workflow_type.name.clone(),
            rec.workflow_type.version.clone(),
        ),
    ];
    let mut tags = rec.tag_list.clone();
    tags.sort();
    tags.dedup();
    filters.extend(tags.into_iter().map(Filter::Tag));
    if let Some(status) = rec.close_status.filter(|_| closed) {
        filters.push(Filter::CloseStatus(status));
    }
    let mut times = vec![(false, rec.started.0)];
    if let Some(c) = rec.closed {
        times.push((true, c.0));
    }
    let mut keys = Vec::new();
    for (by_close, time) in times {
        for f in &filters {
            let mut k = prefix(&rec.domain, closed, by_close, f);
            k.extend_from_slice(&time_bytes(time));
            push_str(&mut k, &rec.run_id);
            keys.push(k);
        }
    }
    keys
}

/// A visibility query, decoded from a List/Count request.
#[derive(Debug, Clone)]
pub struct Query {
    pub prefix: Vec<u8>,
    /// Inclusive lower bound of the key range.
    pub lower: Vec<u8>,
    /// Exclusive upper bound of the key range.
    pub upper: Vec<u8>,
    pub newest_first: bool,
}

struct Filters<'a> {
    execution: Option<&'a WorkflowExecutionFilter>,
    r#type: Option<&'a WorkflowTypeFilter>,
    tag: Option<&'a TagFilter>,
    close_status: Option<&'a CloseStatusFilter>,
}

fn build(
    domain: &str,
    closed: bool,
    start: Option<&ExecutionTimeFilter>,
    close: Option<&ExecutionTimeFilter>,
    filters: Filters<'_>,
    reverse: bool,
) -> Result<Query, Fault> {
    let (window, by_close) = match (start, close) {
        (Some(w), None) => (w, false),
        (None, Some(w)) => (w, true),
        (Some(_), Some(_)) => {
            return Err(Fault::validation(
                "startTimeFilter and closeTimeFilter are mutually exclusive: give one of them",
            ))
        }
        (None, None) => {
            return Err(Fault::validation(
                "One of startTimeFilter or closeTimeFilter is required",
            ))
        }
    };
    let given = [
        filters.execution.is_some(),
        filters.r#type.is_some(),
        filters.tag.is_some(),
        filters.close_status.is_some(),
    ];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(Fault::validation(
            "executionFilter, typeFilter, tagFilter and closeStatusFilter are mutually exclusive: give at most one",
        ));
    }
    let filter = if let Some(e) = filters.execution {
        Filter::WorkflowId(e.workflow_id.clone())
    } else if let Some(t) = filters.r#type {
        match t.version.as_deref().filter(|v| !v.is_empty()) {
            Some(v) => Filter::TypeVersion(t.name.clone(), v.to_string()),
            None => Filter::TypeName(t.name.clone()),
        }
    } else if let Some(t) = filters.tag {
        Filter::Tag(t.tag.clone())
    } else if let Some(s) = filters.close_status {
        Filter::CloseStatus(s.status)
    } else {
        Filter::All
    };
    let prefix = prefix(domain, closed, by_close, &filter);
    let mut lower = prefix.clone();
    lower.extend_from_slice(&time_bytes(window.oldest_date.0));
    let mut upper = prefix.clone();
    match window.latest_date {
        Some(latest) => upper.extend_from_slice(&time_bytes(latest.0.saturating_add(1))),
        None => upper.extend_from_slice(&[0xFF; 9]),
    }
    Ok(Query {
        prefix,
        lower,
        upper,
        newest_first: !reverse,
    })
}

fn read<T>(r: Result<T, ReadError>) -> Result<T, Fault> {
    r.map_err(|e| Fault::internal(e.to_string()))
}

fn require_domain<S: StateRead + ?Sized>(s: &S, domain: &str) -> Result<(), Fault> {
    match read(s.domain(domain))? {
        Some(_) => Ok(()),
        None => Err(Fault::unknown_resource(format!("Unknown domain: {domain}"))),
    }
}

/// One page of a listing; the page token is bound to `call` and `domain` (`crate::page_token`).
fn page<S: StateRead + ?Sized>(
    s: &S,
    (call, domain): (&str, &str),
    mut q: Query,
    token: Option<&str>,
    size: Option<i32>,
) -> Result<WorkflowExecutionInfos, Fault> {
    if let Some(t) = token {
        let last = read(crate::page_token::open(s, call, domain, t))?
            .ok_or_else(crate::query::bad_page_token)?;
        if !last.starts_with(&q.prefix) {
            return Err(Fault::validation(
                "nextPageToken does not belong to this query",
            ));
        }
        if q.newest_first {
            q.upper = last;
        } else {
            let mut after = last;
            after.push(0);
            q.lower = after;
        }
    }
    let size = match size {
        Some(n) if n > 0 => (n as usize).min(MAX_PAGE),
        _ => MAX_PAGE,
    };
    let mut rows = read(s.scan_visibility(&q.lower, &q.upper, q.newest_first, size + 1))?;
    let next = if rows.len() > size {
        rows.truncate(size);
        match rows.last() {
            Some((k, _)) => Some(read(crate::page_token::seal(s, call, domain, k))?),
            None => None,
        }
    } else {
        None
    };
    Ok(WorkflowExecutionInfos {
        execution_infos: rows.into_iter().map(|(_, info)| info).collect(),
        next_page_token: next,
    })
}

fn count<S: StateRead + ?Sized>(s: &S, q: Query) -> Result<WorkflowExecutionCount, Fault> {
    let n = read(s.count_visibility(&q.lower, &q.upper, MAX_COUNT + 1))?;
    Ok(WorkflowExecutionCount {
        count: n.min(MAX_COUNT) as i32,
        truncated: Some(n > MAX_COUNT),
    })
}

/// The filters of a List/Count request: the four request shapes name them alike.
macro_rules! filters_of {
    ($i:expr, $close_status:expr) => {
        Filters {
            execution: $i.execution_filter.as_deref(),
            r#type: $i.type_filter.as_deref(),
            tag: $i.tag_filter.as_deref(),
            close_status: $close_status,
        }
    };
}

/// ListOpenWorkflowExecutions.
pub fn list_open<S: StateRead + ?Sized>(
    s: &S,
    i: &ListOpenWorkflowExecutionsInput,
) -> Result<WorkflowExecutionInfos, Fault> {
    require_domain(s, &i.domain)?;
    let filters = filters_of!(i, None);
    let q = build(
        &i.domain,
        false,
        Some(&i.start_time_filter),
        None,
        filters,
        i.reverse_order.unwrap_or(false),
    )?;
    let call = ("ListOpenWorkflowExecutions", i.domain.as_str());
    page(
        s,
        call,
        q,
        i.next_page_token.as_deref(),
        i.maximum_page_size,
    )
}

/// ListClosedWorkflowExecutions.
pub fn list_closed<S: StateRead + ?Sized>(
    s: &S,
    i: &ListClosedWorkflowExecutionsInput,
) -> Result<WorkflowExecutionInfos, Fault> {
    require_domain(s, &i.domain)?;
    let filters = filters_of!(i, i.close_status_filter.as_deref());
    let q = build(
        &i.domain,
        true,
        i.start_time_filter.as_deref(),
        i.close_time_filter.as_deref(),
        filters,
        i.reverse_order.unwrap_or(false),
    )?;
    let call = ("ListClosedWorkflowExecutions", i.domain.as_str());
    page(
        s,
        call,
        q,
        i.next_page_token.as_deref(),
        i.maximum_page_size,
    )
}

/// CountOpenWorkflowExecutions.
pub fn count_open<S: StateRead + ?Sized>(
    s: &S,
    i: &CountOpenWorkflowExecutionsInput,
) -> Result<WorkflowExecutionCount, Fault> {
    require_domain(s, &i.domain)?;
    let filters = filters_of!(i, None);
    count(
        s,
        build(
            &i.domain,
            false,
            Some(&i.start_time_filter),
            None,
            filters,
            false,
        )?,
    )
}

/// CountClosedWorkflowExecutions.
pub fn count_closed<S: StateRead + ?Sized>(
    s: &S,
    i: &CountClosedWorkflowExecutionsInput,
) -> Result<WorkflowExecutionCount, Fault> {
    require_domain(s, &i.domain)?;
    let filters = filters_of!(i, i.close_status_filter.as_deref());
    count(
        s,
        build(
            &i.domain,
            true,
            i.start_time_filter.as_deref(),
            i.close_time_filter.as_deref(),
            filters,
            false,
        )?,
    )
}

/// The index writes of an execution that opened (`before` None) or changed state.
pub fn reindex(
    before: Option<&ExecutionRecord>,
    after: &ExecutionRecord,
) -> Vec<crate::state::Write> {
    let mut writes = Vec::new();
    if let Some(b) = before {
        writes.push(crate::state::Write::Unindex {
            keys: index_keys(b),
        });
    }
    writes.push(crate::state::Write::Index {
        keys: index_keys(after),
        info: execution_info(after),
    });
    writes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memstate::MemState;
    use crate::state::{DecisionSlot, DomainRecord, ExecutionConfig, Write};
    use swf_types::Timestamp;

    fn rec(
        wid: &str,
        version: &str,
        start: i64,
        tags: &[&str],
        close: Option<(i64, CloseStatus)>,
    ) -> ExecutionRecord {
        ExecutionRecord {
            domain: "d".into(),
            workflow_id: wid.into(),
            run_id: format!("run-{wid}-{start}"),
            workflow_type: WorkflowType {
                name: "wf".into(),
                version: version.into(),
            },
            config: ExecutionConfig {
                task_list: "t".into(),
                task_priority: 0,
                execution_start_to_close_timeout: "60".into(),
                task_start_to_close_timeout: "10".into(),
                child_policy: ChildPolicy::Terminate,
                lambda_role: None,
            },
            tag_list: tags.iter().map(|t| t.to_string()).collect(),
            started: Timestamp(start),
            closed: close.map(|c| Timestamp(c.0)),
            close_status: close.map(|c| c.1),
            cancel_requested: false,
            next_event_id: 1,
            decision: DecisionSlot::None,
            previous_started_event_id: 0,
            activities: Default::default(),
            latest_activity_task_timestamp: None,
            latest_execution_context: None,
            timers: Default::default(),
            deadlines: Vec::new(),
            parent: None,
            children: Default::default(),
            items_keyed: true,
            decision_token_signed: false,
        }
    }

    fn state() -> MemState {
        let mut s = MemState::default();
        let domain: DomainRecord = serde_json::from_value(serde_json::json!({
            "detail": {"domainInfo": {"name": "d", "status": "REGISTERED"}, "configuration": {"workflowExecutionRetentionPeriodInDays": "1"}},
            "tags": [], "created": 0, "workflow_types": 0, "activity_types": 0
        }))
        .unwrap();
        s.write(vec![Write::Domain(domain)]);
        for r in [
            rec("a", "1", 1_000, &["x"], None),
            rec("b", "2", 2_000, &["x", "y"], None),
            rec("c", "1", 3_000, &[], None),
            rec("d", "1", 500, &["y"], Some((4_000, CloseStatus::Completed))),
            rec("e", "2", 600, &[], Some((5_000, CloseStatus::Failed))),
        ] {
            // Index as opened, then as closed, the way executions are written over time.
            let mut open = r.clone();
            open.closed = None;
            open.close_status = None;
            s.write(reindex(None, &open));
            if !r.is_open() {
                s.write(reindex(Some(&open), &r));
            }
        }
        s
    }

    fn window(oldest: i64, latest: Option<i64>) -> Box<ExecutionTimeFilter> {
        Box::new(ExecutionTimeFilter {
            oldest_date: Timestamp(oldest),
            latest_date: latest.map(Timestamp),
        })
    }

    fn ids(infos: &WorkflowExecutionInfos) -> Vec<&str> {
        infos
            .execution_infos
            .iter()
            .map(|i| i.execution.workflow_id.as_str())
            .collect()
    }

    #[test]
    fn open_lists_filter_order_and_page() {
        let s = state();
        let all = ListOpenWorkflowExecutionsInput {
            domain: "d".into(),
            start_time_filter: window(0, None),
            ..Default::default()
        };
        assert_eq!(
            ids(&list_open(&s, &all).unwrap()),
            ["c", "b", "a"],
            "newest first"
        );
        let rev = ListOpenWorkflowExecutionsInput {
            reverse_order: Some(true),
            ..all.clone()
        };
        assert_eq!(ids(&list_open(&s, &rev).unwrap()), ["a", "b", "c"]);
        let windowed = ListOpenWorkflowExecutionsInput {
            start_time_filter: window(1_000, Some(2_000)),
            ..all.clone()
        };
        assert_eq!(
            ids(&list_open(&s, &windowed).unwrap()),
            ["b", "a"],
            "both ends inclusive"
        );
        let tagged = ListOpenWorkflowExecutionsInput {
            tag_filter: Some(Box::new(TagFilter { tag: "x".into() })),
            ..all.clone()
        };
        assert_eq!(ids(&list_open(&s, &tagged).unwrap()), ["b", "a"]);
        let typed = ListOpenWorkflowExecutionsInput {
            type_filter: Some(Box::new(WorkflowTypeFilter {
                name: "wf".into(),
                version: Some("1".into()),
            })),
            ..all.clone()
        };
        assert_eq!(ids(&list_open(&s, &typed).unwrap()), ["c", "a"]);
        let by_id = ListOpenWorkflowExecutionsInput {
            execution_filter: Some(Box::new(WorkflowExecutionFilter {
                workflow_id: "b".into(),
            })),
            ..all.clone()
        };
        assert_eq!(ids(&list_open(&s, &by_id).unwrap()), ["b"]);

        // Paging: two pages of two and one.
        let first = list_open(
            &s,
            &ListOpenWorkflowExecutionsInput {
                maximum_page_size: Some(2),
                ..all.clone()
            },
        )
        .unwrap();
        assert_eq!(ids(&first), ["c", "b"]);
        let second = list_open(
            &s,
            &ListOpenWorkflowExecutionsInput {
                maximum_page_size: Some(2),
                next_page_token: first.next_page_token.clone(),
                ..all.clone()
            },
        )
        .unwrap();
        assert_eq!(ids(&second), ["a"]);
        assert!(second.next_page_token.is_none());

        let two_filters = ListOpenWorkflowExecutionsInput {
            tag_filter: tagged.tag_filter.clone(),
            ..typed.clone()
        };
        assert_eq!(
            list_open(&s, &two_filters).unwrap_err().code(),
            "ValidationException"
        );
        let unknown = ListOpenWorkflowExecutionsInput {
            domain: "nope".into(),
            ..all
        };
        assert_eq!(
            list_open(&s, &unknown).unwrap_err().code(),
            "UnknownResourceFault"
        );
    }

    #[test]
    fn closed_lists_by_start_or_close_time_and_counts() {
        let s = state();
        let by_close = ListClosedWorkflowExecutionsInput {
            domain: "d".into(),
            close_time_filter: Some(window(0, None)),
            ..Default::default()
        };
        assert_eq!(ids(&list_closed(&s, &by_close).unwrap()), ["e", "d"]);
        let by_start = ListClosedWorkflowExecutionsInput {
            domain: "d".into(),
            start_time_filter: Some(window(550, None)),
            ..Default::default()
        };
        assert_eq!(ids(&list_closed(&s, &by_start).unwrap()), ["e"]);
        let failed = ListClosedWorkflowExecutionsInput {
            close_status_filter: Some(Box::new(CloseStatusFilter {
                status: CloseStatus::Failed,
            })),
            ..by_close.clone()
        };
        assert_eq!(ids(&list_closed(&s, &failed).unwrap()), ["e"]);
        let info = &list_closed(&s, &failed).unwrap().execution_infos[0];
        assert_eq!(
            (info.execution_status, info.close_status),
            (ExecutionStatus::Closed, Some(CloseStatus::Failed))
        );

        let both = ListClosedWorkflowExecutionsInput {
            start_time_filter: Some(window(0, None)),
            ..by_close.clone()
        };
        assert_eq!(
            list_closed(&s, &both).unwrap_err().code(),
            "ValidationException"
        );
        let neither = ListClosedWorkflowExecutionsInput {
            domain: "d".into(),
            ..Default::default()
        };
        assert_eq!(
            list_closed(&s, &neither).unwrap_err().code(),
            "ValidationException"
        );

        let open_count = count_open(
            &s,
            &CountOpenWorkflowExecutionsInput {
                domain: "d".into(),
                start_time_filter: window(0, None),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!((open_count.count, open_count.truncated), (3, Some(false)));
        let closed_y = count_closed(
            &s,
            &CountClosedWorkflowExecutionsInput {
                domain: "d".into(),
                close_time_filter: Some(window(0, None)),
                tag_filter: Some(Box::new(TagFilter { tag: "y".into() })),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(closed_y.count, 1);
    }
}
