//! The Step Functions reads: Describe* / List* / GetExecutionHistory / ListTagsForResource,
//! answered from applied state as the model's output shapes. Pages are key ranges of the `sfn`
//! keyspace; the page token is the last key returned, signed and bound to the call and its scope
//! (`crate::page_token`), and a token that does not verify is `InvalidToken`.

use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use swf_types::{Fault, FaultKind};

use super::arn::{self, Kind, Qualifier};
use super::executions::does_not_exist_execution;
use super::keys;
use super::records::{Activity, Alias, Execution, StateMachine, StoredDefinition, Tag, Version};
use super::state_machines::does_not_exist;
use crate::limits::Limits;
use crate::state::{Lookup, ReadError};

/// Key/value rows of the `sfn` keyspace.
pub type Rows = Vec<(Vec<u8>, Vec<u8>)>;

/// Range reads of the `sfn` keyspace, on top of the point reads of `Lookup`.
pub trait SfnRead: Lookup {
    /// Up to `limit` entries whose key starts with `prefix`, in key order (descending if `reverse`),
    /// strictly after `after` when given.
    #[allow(clippy::type_complexity)]
    fn sfn_scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, ReadError>;
}

fn internal(e: ReadError) -> Fault {
    Fault::internal(e.0)
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Fault> {
    serde_json::from_slice(bytes).map_err(|e| Fault::internal(e.to_string()))
}

fn get<T: DeserializeOwned, S: SfnRead + ?Sized>(s: &S, key: &[u8]) -> Result<Option<T>, Fault> {
    s.sfn_get(key)
        .map_err(internal)?
        .map(|b| decode(&b))
        .transpose()
}

fn page_size(max_results: Option<i64>) -> usize {
    match max_results {
        Some(n) if n > 0 => n.min(1000) as usize,
        _ => 100,
    }
}

fn bad_token() -> Fault {
    Fault {
        kind: FaultKind::InvalidToken,
        message: "Invalid Token: 'Invalid nextToken'".into(),
    }
}

/// The call a page token is for and its scope (the state machine or execution ARN; "" for the
/// account-wide lists): a token is good only for the call and scope that issued it.
pub(crate) type Bound<'a> = (&'a str, &'a str);

/// The key a page token continues after; it must lie within `prefix`.
fn after<S: SfnRead + ?Sized>(
    s: &S,
    (call, scope): Bound<'_>,
    token: Option<&str>,
    prefix: &[u8],
) -> Result<Option<Vec<u8>>, Fault> {
    match token {
        None => Ok(None),
        Some(t) => {
            let k = crate::page_token::open(s, call, scope, t)
                .map_err(internal)?
                .ok_or_else(bad_token)?;
            if !k.starts_with(prefix) {
                return Err(bad_token());
            }
            Ok(Some(k))
        }
    }
}

fn token_of<S: SfnRead + ?Sized>(
    s: &S,
    (call, scope): Bound<'_>,
    key: &[u8],
) -> Result<String, Fault> {
    crate::page_token::seal(s, call, scope, key).map_err(internal)
}

/// A page of records under `prefix`.
pub(crate) fn page<S: SfnRead + ?Sized>(
    s: &S,
    bound: Bound<'_>,
    prefix: &[u8],
    token: Option<&str>,
    max_results: Option<i64>,
    reverse: bool,
) -> Result<(Rows, Option<String>), Fault> {
    let size = page_size(max_results);
    let from = after(s, bound, token, prefix)?;
    let mut rows = s
        .sfn_scan(prefix, from.as_deref(), size + 1, reverse)
        .map_err(internal)?;
    let next = if rows.len() > size {
        rows.truncate(size);
        rows.last()
            .map(|(k, _)| token_of(s, bound, k))
            .transpose()?
    } else {
        None
    };
    Ok((rows, next))
}

pub(crate) fn with_next(mut v: Value, next: Option<String>) -> Value {
    if let Some(n) = next {
        v["nextToken"] = json!(n);
    }
    v
}

fn activity_does_not_exist(a: &str) -> Fault {
    Fault {
        kind: FaultKind::ActivityDoesNotExist,
        message: format!("Activity Does Not Exist: '{a}'"),
    }
}

/// The activity an ARN names, or `ActivityDoesNotExist`.
pub fn activity<S: SfnRead + ?Sized>(s: &S, l: &Limits, a: &str) -> Result<Activity, Fault> {
    let Some(names) = arn::parse(l, a, Kind::Activity)? else {
        return Err(activity_does_not_exist(a));
    };
    get(s, &keys::activity(&names[0]))?.ok_or_else(|| activity_does_not_exist(a))
}

pub fn describe_activity<S: SfnRead + ?Sized>(s: &S, l: &Limits, a: &str) -> Result<Value, Fault> {
    let a = activity(s, l, a)?;
    Ok(json!({"activityArn": a.arn, "name": a.name, "creationDate": a.created}))
}

pub fn list_activities<S: SfnRead + ?Sized>(
    s: &S,
    max_results: Option<i64>,
    token: Option<&str>,
) -> Result<Value, Fault> {
    let (rows, next) = page(
        s,
        ("ListActivities", ""),
        &[keys::ACTIVITY],
        token,
        max_results,
        false,
    )?;
    let items = rows
        .iter()
        .map(|(_, v)| {
            let a: Activity = decode(v)?;
            Ok(json!({"activityArn": a.arn, "name": a.name, "creationDate": a.created}))
        })
        .collect::<Result<Vec<_>, Fault>>()?;
    Ok(with_next(json!({ "activities": items }), next))
}

/// The state machine an ARN names, or `StateMachineDoesNotExist`.
pub fn state_machine<S: SfnRead + ?Sized>(
    s: &S,
    l: &Limits,
    sm: &str,
) -> Result<StateMachine, Fault> {
    let Some(names) = arn::parse(l, sm, Kind::StateMachine)? else {
        return Err(does_not_exist(sm));
    };
    get(s, &keys::state_machine(&names[0]))?.ok_or_else(|| does_not_exist(sm))
}

fn logging() -> Value {
    json!({"level": "OFF", "includeExecutionData": false})
}

pub fn describe_state_machine<S: SfnRead + ?Sized>(
    s: &S,
    l: &Limits,
    sm: &str,
) -> Result<Value, Fault> {
    let (name, qualifier) = arn::parse_qualified(l, sm)?.ok_or_else(|| does_not_exist(sm))?;
    let m: StateMachine = get(s, &keys::state_machine(&name))?.ok_or_else(|| does_not_exist(sm))?;
    // A version ARN describes the version: its own ARN, definition, role, revision and description.
    let (arn, definition, role, revision, description, created) = match qualifier {
        Qualifier::Latest => (
            m.arn.clone(),
            m.definition.clone(),
            m.role_arn.clone(),
            m.revision_id.clone(),
            None,
            m.created,
        ),
        Qualifier::Version(n) => {
            let v: Version = get(s, &keys::version(&name, n))?.ok_or_else(|| does_not_exist(sm))?;
            (
                v.arn,
                v.definition,
                v.role_arn,
                v.revision_id,
                v.description,
                v.created,
            )
        }
        Qualifier::Alias(_) => return Err(does_not_exist(sm)),
    };
    let mut out = json!({
        "stateMachineArn": arn,
        "name": m.name,
        "status": "ACTIVE",
        "definition": definition,
        "roleArn": role,
        "type": m.type_name(),
        "creationDate": created,
        "loggingConfiguration": m.logging.clone().unwrap_or_else(logging),
        "tracingConfiguration": m.tracing.clone().unwrap_or_else(|| json!({"enabled": false})),
    });
    if let Some(r) = revision {
        out["revisionId"] = json!(r);
    }
    if let Some(d) = description {
        out["description"] = json!(d);
    }
    // The variables each state reads, when any state reads one (sfn-lang's variable_references).
    if let Some(r) =
        sfn_lang::variable_references::references(out["definition"].as_str().unwrap_or_default())
    {
        out["variableReferences"] = r;
    }
    Ok(out)
}

/// One page of a state machine's versions or aliases (`call` names the action, `list` the output
/// member, `arn_field` the member each item's ARN goes in): the machine must exist and be named by
/// its plain ARN.
#[allow(clippy::too_many_arguments)]
fn machine_children<S: SfnRead + ?Sized>(
    s: &S,
    l: &Limits,
    sm: &str,
    max_results: Option<i64>,
    token: Option<&str>,
    (call, list, arn_field): (&str, &str, &str),
    prefix: fn(&str) -> Vec<u8>,
    newest_first: bool,
) -> Result<Value, Fault> {
    let name = match arn::parse_qualified(l, sm)? {
        Some((name, Qualifier::Latest)) => name,
        Some(_) => return Err(arn::invalid_arn(format_args!("Invalid ARN: {sm}"))),
        None => return Err(does_not_exist(sm)),
    };
    get::<StateMachine, S>(s, &keys::state_machine(&name))?.ok_or_else(|| does_not_exist(sm))?;
    let (rows, next) = page(
        s,
        (call, sm),
        &prefix(&name),
        token,
        max_results,
        newest_first,
    )?;
    let items = rows
        .iter()
        .map(|(_, v)| {
            // Versions and aliases both keep `arn` and `created`.
            let r: Value = decode(v)?;
            Ok(json!({arn_field: r["arn"], "creationDate": r["created"]}))
        })
        .collect::<Result<Vec<_>, Fault>>()?;
    Ok(with_next(json!({ list: items }), next))
}

/// ListStateMachineVersions: newest first.
pub fn list_state_machine_versions<S: SfnRead + ?Sized>(
    s: &S,
    l: &Limits,
    sm: &str,
    max_results: Option<i64>,
    token: Option<&str>,
) -> Result<Value, Fault> {
    let names = (
        "ListStateMachineVersions",
        "stateMachineVersions",
        "stateMachineVersionArn",
    );
    machine_children(
        s,
        l,
        sm,
        max_results,
        token,
        names,
        keys::version_prefix,
        true,
    )
}

/// ListStateMachineAliases: by name.
pub fn list_state_machine_aliases<S: SfnRead + ?Sized>(
    s: &S,
    l: &Limits,
    sm: &str,
    max_results: Option<i64>,
    token: Option<&str>,
) -> Result<Value, Fault> {
    let names = (
        "ListStateMachineAliases",
        "stateMachineAliases",
        "stateMachineAliasArn",
    );
    machine_children(
        s,
        l,
        sm,
        max_results,
        token,
        names,
        keys::alias_prefix,
        false,
    )
}

/// DescribeStateMachineAlias.
pub fn describe_state_machine_alias<S: SfnRead + ?Sized>(
    s: &S,
    l: &Limits,
    alias_arn: &str,
) -> Result<Value, Fault> {
    let (sm, name) = match arn::parse_qualified(l, alias_arn)? {
        Some((sm, Qualifier::Alias(name))) => (sm, name),
        Some(_) => return Err(arn::invalid_arn(format_args!("Invalid ARN: {alias_arn}"))),
        None => return Err(super::aliases::not_found()),
    };
    let a: Alias = get(s, &keys::alias(&sm, &name))?.ok_or_else(super::aliases::not_found)?;
    let mut out = json!({
        "stateMachineAliasArn": a.arn,
        "name": a.name,
        "routingConfiguration": a.routing,
        "creationDate": a.created,
        "updateDate": a.updated,
    });
    if let Some(d) = a.description {
        out["description"] = json!(d);
    }
    Ok(out)
}

pub fn list_state_machines<S: SfnRead + ?Sized>(
    s: &S,
    max_results: Option<i64>,
    token: Option<&str>,
) -> Result<Value, Fault> {
    let (rows, next) = page(
        s,
        ("ListStateMachines", ""),
        &[keys::STATE_MACHINE],
        token,
        max_results,
        false,
    )?;
    let items = rows
        .iter()
        .map(|(_, v)| {
            let m: StateMachine = decode(v)?;
            Ok(json!({"stateMachineArn": m.arn, "name": m.name, "type": m.type_name(), "creationDate": m.created}))
        })
        .collect::<Result<Vec<_>, Fault>>()?;
    Ok(with_next(json!({ "stateMachines": items }), next))
}

/// The execution an ARN names, or `ExecutionDoesNotExist`.
pub fn execution<S: SfnRead + ?Sized>(s: &S, l: &Limits, e: &str) -> Result<Execution, Fault> {
    arn::parse(l, e, Kind::Execution)?;
    let mut x: Execution =
        get(s, &keys::execution(e))?.ok_or_else(|| does_not_exist_execution(e))?;
    if let (true, Some(id)) = (x.definition.is_empty(), &x.definition_id) {
        if let Some(d) = get::<StoredDefinition, S>(s, &keys::definition(id))? {
            x.definition = d.text;
        }
    }
    Ok(x)
}

pub fn describe_execution<S: SfnRead + ?Sized>(s: &S, l: &Limits, e: &str) -> Result<Value, Fault> {
    describe_execution_at(s, l, e, None)
}

/// DescribeExecution, with the redrive window judged at `now_ms` (the node's cluster time; `None`
/// leaves the time limits out of `redriveStatus`).
pub fn describe_execution_at<S: SfnRead + ?Sized>(
    s: &S,
    l: &Limits,
    e: &str,
    now_ms: Option<i64>,
) -> Result<Value, Fault> {
    let x = execution(s, l, e)?;
    let mut v = json!({
        "executionArn": x.arn,
        "stateMachineArn": x.state_machine_arn,
        "name": x.name,
        "status": x.status,
        "startDate": x.started,
        "input": x.input,
        "inputDetails": {"included": true},
        "redriveCount": 0,
        "redriveStatus": "NOT_REDRIVABLE",
    });
    if let Some(t) = x.stopped {
        v["stopDate"] = json!(t);
    }
    if let Some(a) = &x.version_arn {
        v["stateMachineVersionArn"] = json!(a);
    }
    if let Some(a) = &x.alias_arn {
        v["stateMachineAliasArn"] = json!(a);
    }
    if let Some(o) = &x.output {
        v["output"] = json!(o);
        v["outputDetails"] = json!({"included": true});
    }
    if let Some(err) = &x.error {
        v["error"] = json!(err);
    }
    if let Some(c) = &x.cause {
        v["cause"] = json!(c);
    }
    let machine = keys::state_machine(super::redrive::machine_name(&x));
    let machine_exists = get::<StateMachine, S>(s, &machine)?.is_some();
    super::redrive::describe_members(&x, machine_exists, now_ms, &mut v);
    Ok(v)
}

pub fn describe_state_machine_for_execution<S: SfnRead + ?Sized>(
    s: &S,
    l: &Limits,
    e: &str,
) -> Result<Value, Fault> {
    let x = execution(s, l, e)?;
    let name = x
        .state_machine_arn
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_string();
    let mut out = json!({
        "stateMachineArn": x.state_machine_arn,
        "name": name,
        "definition": x.definition,
        "roleArn": x.role_arn,
        "updateDate": x.state_machine_updated,
        "loggingConfiguration": logging(),
        "tracingConfiguration": {"enabled": false},
    });
    if let Some(r) = sfn_lang::variable_references::references(&x.definition) {
        out["variableReferences"] = r;
    }
    // A Map Run's child: the run and its label (`<machine>/<label>`).
    if let Some(run) = &x.map_run_arn {
        out["mapRunArn"] = json!(run);
        if let Some((_, label)) = name.split_once('/') {
            out["label"] = json!(label);
        }
    }
    // The revision of the version it ran, while that version is still there.
    if let Some(Some((sm, Qualifier::Version(n)))) = x
        .version_arn
        .as_deref()
        .map(|v| arn::parse_qualified(l, v).ok().flatten())
    {
        if let Some(v) = get::<Version, S>(s, &keys::version(&sm, n))? {
            if let Some(r) = v.revision_id {
                out["revisionId"] = json!(r);
            }
        }
    }
    Ok(out)
}

/// ListExecutions of one state machine, newest first, optionally of one status.
pub fn list_executions<S: SfnRead + ?Sized>(
    s: &S,
    l: &Limits,
    sm: &str,
    status: Option<&str>,
    max_results: Option<i64>,
    token: Option<&str>,
) -> Result<Value, Fault> {
    list_executions_filtered(s, l, sm, status, None, max_results, token)
}

/// [`list_executions`] with ListExecutions' `redriveFilter` (REDRIVEN / NOT_REDRIVEN).
pub fn list_executions_filtered<S: SfnRead + ?Sized>(
    s: &S,
    l: &Limits,
    sm: &str,
    status: Option<&str>,
    redrive_filter: Option<&str>,
    max_results: Option<i64>,
    token: Option<&str>,
) -> Result<Value, Fault> {
    // Executions of a deleted state machine stay listed by its ARN; an ARN that never named one
    // is refused.
    // A version or alias ARN lists the executions started through it.
    // A Map Run ARN lists the run's child executions.
    let by_map_run = sm.split(':').nth(5) == Some("mapRun");
    if by_map_run && !super::map_runs::exists(s, sm)? {
        return Err(Fault {
            kind: FaultKind::ResourceNotFound,
            message: format!("Resource not found: '{sm}'"),
        });
    }
    let parsed = if by_map_run {
        None
    } else {
        arn::parse_qualified(l, sm)?
    };
    if let Some((name, _)) = &parsed {
        // AWS keeps no list of Express executions.
        if get::<StateMachine, S>(s, &keys::state_machine(name))?.is_some_and(|m| m.express) {
            return Err(super::express::not_supported());
        }
    }
    let exists = by_map_run
        || match parsed {
            None => false,
            Some((name, Qualifier::Latest)) => {
                get::<StateMachine, S>(s, &keys::state_machine(&name))?.is_some()
            }
            Some((name, Qualifier::Version(n))) => {
                get::<Version, S>(s, &keys::version(&name, n))?.is_some()
            }
            Some((name, Qualifier::Alias(a))) => {
                get::<Alias, S>(s, &keys::alias(&name, &a))?.is_some()
            }
        };
    let prefix = keys::execution_index_prefix(sm);
    if !exists
        && s.sfn_scan(&prefix, None, 1, false)
            .map_err(internal)?
            .is_empty()
    {
        return Err(does_not_exist(sm));
    }
    let size = page_size(max_results);
    let bound = ("ListExecutions", sm);
    let mut from = after(s, bound, token, &prefix)?;
    let mut items = Vec::new();
    let mut next = None;
    // Bounded work per call when a status filter skips many executions.
    let mut budget = 10_000usize;
    let mut last_key: Vec<u8> = Vec::new();
    'scan: loop {
        let rows = s
            .sfn_scan(&prefix, from.as_deref(), 256, false)
            .map_err(internal)?;
        if rows.is_empty() {
            break;
        }
        for (k, v) in &rows {
            budget = budget.saturating_sub(1);
            from = Some(k.clone());
            let exec_arn: String = decode(v)?;
            let Some(x) = get::<Execution, S>(s, &keys::execution(&exec_arn))? else {
                continue;
            };
            if status.is_some_and(|st| st != x.status)
                || !super::redrive::passes_filter(&x, redrive_filter)
            {
                if budget == 0 {
                    next = Some(token_of(s, bound, k)?);
                    break 'scan;
                }
                continue;
            }
            if items.len() == size {
                // One more exists: the page ends at the previous key.
                next = Some(token_of(s, bound, &last_key)?);
                break 'scan;
            }
            let mut item = json!({
                "executionArn": x.arn,
                "stateMachineArn": x.state_machine_arn,
                "name": x.name,
                "status": x.status,
                "startDate": x.started,
            });
            if let Some(t) = x.stopped {
                item["stopDate"] = json!(t);
            }
            if let Some(a) = &x.version_arn {
                item["stateMachineVersionArn"] = json!(a);
            }
            if let Some(a) = &x.alias_arn {
                item["stateMachineAliasArn"] = json!(a);
            }
            item["redriveCount"] = json!(x.state.info.redrive_count);
            if let Some(t) = x.state.info.redrive_time_ms {
                item["redriveDate"] = json!(swf_types::Timestamp(t));
            }
            if by_map_run {
                item["mapRunArn"] = json!(sm);
            }
            items.push(item);
            last_key = k.clone();
        }
    }
    Ok(with_next(json!({ "executions": items }), next))
}

/// GetExecutionHistory: a page of events, oldest first unless `reverse`; without
/// `include_data` the events leave out their input and output.
pub fn get_execution_history<S: SfnRead + ?Sized>(
    s: &S,
    l: &Limits,
    e: &str,
    max_results: Option<i64>,
    reverse: bool,
    include_data: bool,
    token: Option<&str>,
) -> Result<Value, Fault> {
    execution(s, l, e)?;
    let (rows, next) = page(
        s,
        ("GetExecutionHistory", e),
        &keys::history_prefix(e),
        token,
        max_results,
        reverse,
    )?;
    let events = rows
        .iter()
        .map(|(_, v)| {
            let mut ev: Value = decode(v)?;
            if !include_data {
                if let Some(obj) = ev.as_object_mut() {
                    for (_, details) in obj.iter_mut() {
                        if let Some(d) = details.as_object_mut() {
                            for (field, flag) in [
                                ("input", "inputDetails"),
                                ("output", "outputDetails"),
                                ("assignedVariables", "assignedVariablesDetails"),
                            ] {
                                if d.remove(field).is_some() {
                                    d.insert(flag.into(), json!({"truncated": false}));
                                }
                            }
                        }
                    }
                }
            }
            Ok(ev)
        })
        .collect::<Result<Vec<_>, Fault>>()?;
    Ok(with_next(json!({ "events": events }), next))
}

/// ListTagsForResource of an activity or state machine.
pub fn list_tags<S: SfnRead + ?Sized>(s: &S, l: &Limits, resource: &str) -> Result<Value, Fault> {
    let not_found = || Fault {
        kind: FaultKind::ResourceNotFound,
        message: format!("Resource not found: '{resource}'"),
    };
    let tags: Vec<Tag> = match arn::kind_of(resource) {
        Some(Kind::Activity) => activity(s, l, resource).map_err(|_| not_found())?.tags,
        Some(Kind::StateMachine) => state_machine(s, l, resource).map_err(|_| not_found())?.tags,
        _ => {
            return Err(arn::invalid_arn(format_args!(
                "Invalid ARN prefix: {resource}"
            )))
        }
    };
    Ok(json!({ "tags": tags }))
}

/// The heartbeat period (ms) of open task `task_id` of execution `exec_arn` (0 when unknown): a new
/// leader holds heartbeat timeouts that long after taking over, as it does for SWF's.
pub fn heartbeat_period_ms<S: SfnRead + ?Sized>(s: &S, exec_arn: &str, task_id: u64) -> i64 {
    get::<Execution, S>(s, &keys::execution(exec_arn))
        .ok()
        .flatten()
        .and_then(|x| x.tasks.get(&task_id).and_then(|t| t.heartbeat_seconds))
        .map(|secs| secs as i64 * 1000)
        .unwrap_or(0)
}
