//! CreateStateMachine (STANDARD or EXPRESS, whose own refusals are `express`'s; the definition
//! validated by `sfn-lang`, `InvalidDefinition` with AWS's message naming each fault's path; Task
//! resources other than activities refused there),
//! the state machine quota (`StateMachineLimitExceeded`), UpdateStateMachine and DeleteStateMachine.

use serde_json::json;
use swf_types::FaultKind;

use super::arn::{self, Kind};
use super::command::{CreateStateMachineInput, UpdateStateMachineInput};
use super::records::StateMachine;
use super::{fault, get, keys, put, reply, versions, MAX_TAGS};
use crate::command::Outcome;
use crate::ctx::{fault, Ctx};
use crate::state::{Lookup, ReadError};

/// The `InvalidDefinition` fault for a definition text, if it is refused.
pub(crate) fn check_definition(text: &str) -> Result<(), swf_types::Fault> {
    super::definitions::parse(text)
        .map(|_| ())
        .map_err(|e| fault(FaultKind::InvalidDefinition, e.to_string()))
}

fn check_role(role: &str) -> Result<(), swf_types::Fault> {
    if role.starts_with("arn:") && role.split(':').count() >= 6 {
        Ok(())
    } else {
        Err(arn::invalid_arn(format_args!("Invalid ARN prefix: {role}")))
    }
}

/// `State Machine Does Not Exist: '<arn>'`.
pub(crate) fn does_not_exist(sm_arn: &str) -> swf_types::Fault {
    fault(
        FaultKind::StateMachineDoesNotExist,
        format!("State Machine Does Not Exist: '{sm_arn}'"),
    )
}

/// `StateMachineLimitExceeded`'s message: the model's description of the error.
pub(crate) const STATE_MACHINE_LIMIT: &str = "The maximum number of state machines has been reached. Existing state machines must be deleted before a new state machine can be created.";

pub(super) fn create<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    i: &CreateStateMachineInput,
) -> Result<Outcome, ReadError> {
    if !arn::valid_name(&i.name) {
        return Ok(Err(arn::invalid_name(&i.name)));
    }
    // The model's enum admits STANDARD and EXPRESS only.
    let express = i.kind.as_deref() == Some("EXPRESS");
    let publish = i.publish == Some(true);
    if i.version_description.is_some() && !publish {
        // As AWS answers it (recorded from the real service).
        return Ok(Err(fault(
            FaultKind::Validation,
            "Version description can only be set when publish is true",
        )));
    }
    fault!(check_role(&i.role_arn));
    if express {
        fault!(super::express::check_definition(&i.definition));
    }
    fault!(check_definition(&i.definition));
    let arn = arn::state_machine(ctx.limits, &i.name);
    let key = keys::state_machine(&i.name);
    if let Some(m) = get::<StateMachine, S>(ctx, &key)? {
        // The same request again is answered as the first one was.
        if m.definition == i.definition && m.role_arn == i.role_arn && m.express == express {
            let mut out = json!({"stateMachineArn": m.arn, "creationDate": m.created});
            if publish {
                if let Some(&n) = m.versions.last() {
                    out["stateMachineVersionArn"] = json!(arn::version(ctx.limits, &m.name, n));
                }
            }
            return Ok(reply(out));
        }
        return Ok(Err(fault(
            FaultKind::StateMachineAlreadyExists,
            format!("State Machine Already Exists: '{arn}'"),
        )));
    }
    let tags = i.tags.clone().unwrap_or_default();
    if tags.len() > MAX_TAGS {
        return Ok(Err(fault(
            FaultKind::SfnTooManyTags,
            format!("Too many tags: a resource may have at most {MAX_TAGS} tags ('{arn}')"),
        )));
    }
    if super::counts(ctx)?.state_machines >= ctx.limits.sfn_max_state_machines as u64 {
        return Ok(Err(fault(
            FaultKind::StateMachineLimitExceeded,
            STATE_MACHINE_LIMIT,
        )));
    }
    super::count(ctx, |c| c.state_machines += 1)?;
    let mut m = StateMachine {
        arn,
        name: i.name.clone(),
        definition: i.definition.clone(),
        role_arn: i.role_arn.clone(),
        created: ctx.now,
        updated: ctx.now,
        tags,
        revision_id: None,
        versions: Vec::new(),
        next_version: 0,
        aliases: Vec::new(),
        express,
        logging: i.logging_configuration.clone(),
        tracing: i.tracing_configuration.clone(),
    };
    let mut out = json!({"stateMachineArn": m.arn, "creationDate": m.created});
    if publish {
        let v = fault!(versions::publish_current(
            ctx,
            &mut m,
            i.version_description.as_deref()
        )?);
        out["stateMachineVersionArn"] = json!(v.arn);
    }
    put(ctx, key, &m);
    Ok(reply(out))
}

pub(super) fn update<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    i: &UpdateStateMachineInput,
) -> Result<Outcome, ReadError> {
    if let Err(f) = arn::parse_qualified(ctx.limits, &i.state_machine_arn) {
        return Ok(Err(f));
    }
    if i.definition.is_none()
        && i.role_arn.is_none()
        && i.publish != Some(true)
        && i.logging_configuration.is_none()
        && i.tracing_configuration.is_none()
    {
        return Ok(Err(fault(
            FaultKind::Validation,
            "Either the definition or the roleArn must be specified",
        )));
    }
    let publish = i.publish == Some(true);
    if i.version_description.is_some() && !publish {
        return Ok(Err(fault(
            FaultKind::Validation,
            "Version description can only be set when publish is true",
        )));
    }
    let (key, mut m) = fault!(versions::load_latest(ctx, &i.state_machine_arn)?);
    let mut changed = false;
    if let Some(role) = &i.role_arn {
        fault!(check_role(role));
        changed |= *role != m.role_arn;
        m.role_arn = role.clone();
    }
    if let Some(d) = &i.definition {
        if m.express {
            fault!(super::express::check_definition(d));
        }
        fault!(check_definition(d));
        changed |= *d != m.definition;
        m.definition = d.clone();
    }
    // The configurations are echoed only; changing them makes no new revision.
    if let Some(l) = &i.logging_configuration {
        m.logging = Some(l.clone());
    }
    if let Some(t) = &i.tracing_configuration {
        m.tracing = Some(t.clone());
    }
    if changed {
        // A new revision (its id stamped by the leader); an update that changes nothing keeps the
        // revision, so publishing it again answers the version already published.
        m.revision_id = i.stamped_revision_id.clone().or(m.revision_id);
    }
    m.updated = ctx.now;
    let mut out = json!({"updateDate": m.updated});
    if let Some(r) = &m.revision_id {
        out["revisionId"] = json!(r);
    }
    if publish {
        let v = fault!(versions::publish_current(
            ctx,
            &mut m,
            i.version_description.as_deref()
        )?);
        out["stateMachineVersionArn"] = json!(v.arn);
    }
    put(ctx, key, &m);
    Ok(reply(out))
}

pub(super) fn delete<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    sm_arn: &str,
) -> Result<Outcome, ReadError> {
    if let Some(names) = fault!(arn::parse(ctx.limits, sm_arn, Kind::StateMachine)) {
        let key = keys::state_machine(&names[0]);
        if let Some(m) = get::<StateMachine, S>(ctx, &key)? {
            // Running executions keep running: each holds the definition it started with. Its
            // versions and aliases go with it.
            for n in &m.versions {
                super::delete(ctx, keys::version(&m.name, *n));
            }
            for a in &m.aliases {
                super::delete(ctx, keys::alias(&m.name, a));
            }
            super::delete(ctx, key);
            super::count(ctx, |c| {
                c.state_machines = c.state_machines.saturating_sub(1)
            })?;
        }
    }
    Ok(reply(json!({})))
}
