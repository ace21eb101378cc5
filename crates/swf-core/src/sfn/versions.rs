//! State machine versions: PublishStateMachineVersion (idempotent per revision, `revisionId`
//! checked, at most `MAX_VERSIONS` per state machine, numbers never reused), `publish` on
//! CreateStateMachine / UpdateStateMachine, and DeleteStateMachineVersion (idempotent, refused while an
//! alias routes to the version). Messages are AWS's, as recorded from the real service (see the
//! end-to-end tests).

use serde_json::json;
use swf_types::FaultKind;

use super::arn::{self, Qualifier};
use super::command::PublishStateMachineVersionInput;
use super::records::{Alias, StateMachine, Version};
use super::state_machines::does_not_exist;
use super::{fault, get, keys, put, reply};
use crate::command::Outcome;
use crate::ctx::{fault, Ctx};
use crate::state::{Lookup, ReadError};

/// Most versions one state machine may have (AWS's quota).
pub const MAX_VERSIONS: usize = 1000;

/// The `revisionId` a caller names the revision a state machine was created with.
pub const INITIAL_REVISION: &str = "INITIAL";

/// Publishes the current revision of `m` (already loaded, and stored by the caller afterwards):
/// the existing version when the newest one was published from the same revision, else a new one.
/// Returns the version, or the quota fault.
pub(super) fn publish_current<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    m: &mut StateMachine,
    description: Option<&str>,
) -> Result<Result<Version, swf_types::Fault>, ReadError> {
    if let Some(&newest) = m.versions.last() {
        if let Some(v) = get::<Version, S>(ctx, &keys::version(&m.name, newest))? {
            if v.revision_id == m.revision_id {
                return Ok(Ok(v));
            }
        }
    }
    if m.versions.len() >= MAX_VERSIONS {
        return Ok(Err(fault(
            FaultKind::ServiceQuotaExceeded,
            format!(
                "Failed to publish a version of the state machine '{}': it already has the maximum of {MAX_VERSIONS} versions",
                m.arn
            ),
        )));
    }
    let number = m.next_version.max(1);
    m.next_version = number + 1;
    m.versions.push(number);
    let v = Version {
        arn: arn::version(ctx.limits, &m.name, number),
        state_machine_arn: m.arn.clone(),
        number,
        definition: m.definition.clone(),
        role_arn: m.role_arn.clone(),
        revision_id: m.revision_id.clone(),
        description: description.map(str::to_string),
        created: ctx.now,
    };
    put(ctx, keys::version(&m.name, number), &v);
    Ok(Ok(v))
}

/// The state machine a plain (unqualified) state machine ARN names, or `StateMachineDoesNotExist`
/// naming the ARN as given (a version or alias ARN names no state machine for these actions).
pub(super) fn load_latest<S: Lookup + ?Sized>(
    ctx: &Ctx<'_, S>,
    sm_arn: &str,
) -> Result<Result<(Vec<u8>, StateMachine), swf_types::Fault>, ReadError> {
    let name = match arn::parse_qualified(ctx.limits, sm_arn) {
        Err(f) => return Ok(Err(f)),
        Ok(Some((name, Qualifier::Latest))) => name,
        Ok(_) => return Ok(Err(does_not_exist(sm_arn))),
    };
    let key = keys::state_machine(&name);
    Ok(match get::<StateMachine, S>(ctx, &key)? {
        Some(m) => Ok((key, m)),
        None => Err(does_not_exist(sm_arn)),
    })
}

pub(super) fn publish<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    i: &PublishStateMachineVersionInput,
) -> Result<Outcome, ReadError> {
    let (key, mut m) = fault!(load_latest(ctx, &i.state_machine_arn)?);
    if let Some(want) = &i.revision_id {
        let current = m.revision_id.as_deref().unwrap_or(INITIAL_REVISION);
        if want != current {
            return Ok(Err(fault(
                FaultKind::Conflict,
                format!(
                    "Failed to publish the State Machine version for revision {want}. The current State Machine revision is {current}."
                ),
            )));
        }
    }
    let v = fault!(publish_current(ctx, &mut m, i.description.as_deref())?);
    put(ctx, key, &m);
    Ok(reply(
        json!({"creationDate": v.created, "stateMachineVersionArn": v.arn}),
    ))
}

pub(super) fn delete<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    version_arn: &str,
) -> Result<Outcome, ReadError> {
    let (name, number) = match fault!(arn::parse_qualified(ctx.limits, version_arn)) {
        Some((name, Qualifier::Version(n))) => (name, n),
        Some(_) => {
            return Ok(Err(arn::invalid_arn(format_args!(
                "Invalid ARN: {version_arn}"
            ))))
        }
        None => return Ok(reply(json!({}))),
    };
    let key = keys::state_machine(&name);
    let Some(mut m) = get::<StateMachine, S>(ctx, &key)? else {
        return Ok(reply(json!({})));
    };
    if !m.versions.contains(&number) {
        return Ok(reply(json!({})));
    }
    let mut referencing = Vec::new();
    for a in &m.aliases {
        if let Some(alias) = get::<Alias, S>(ctx, &keys::alias(&name, a))? {
            if alias
                .routing
                .iter()
                .any(|r| r.state_machine_version_arn == version_arn)
            {
                referencing.push(alias.name);
            }
        }
    }
    if !referencing.is_empty() {
        return Ok(Err(fault(
            FaultKind::Conflict,
            format!(
                "Version to be deleted must not be referenced by an alias. Current list of aliases referencing this version: [{}]",
                referencing.join(", ")
            ),
        )));
    }
    m.versions.retain(|n| *n != number);
    super::delete(ctx, keys::version(&name, number));
    put(ctx, key, &m);
    Ok(reply(json!({})))
}
