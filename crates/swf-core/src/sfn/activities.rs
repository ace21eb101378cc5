//! CreateActivity (idempotent by name; the activity quota, `ActivityLimitExceeded`), DeleteActivity
//! (idempotent), and the tags of activities and state machines (TagResource / UntagResource).

use serde_json::json;
use swf_types::FaultKind;

use super::arn::{self, Kind};
use super::records::{Activity, StateMachine, Tag};
use super::{command::CreateActivityInput, fault, get, keys, put, reply, MAX_TAGS};
use crate::command::Outcome;
use crate::ctx::{fault, Ctx};
use crate::state::{Lookup, ReadError};

/// `ActivityLimitExceeded`'s message: the model's description of the error (AWS's own text for it was
/// not found in any public record).
pub(crate) const ACTIVITY_LIMIT: &str = "The maximum number of activities has been reached. Existing activities must be deleted before a new activity can be created.";

pub(super) fn create<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    i: &CreateActivityInput,
) -> Result<Outcome, ReadError> {
    if !arn::valid_name(&i.name) {
        return Ok(Err(arn::invalid_name(&i.name)));
    }
    let key = keys::activity(&i.name);
    // Idempotent by name: the same ARN and creation date come back.
    if let Some(a) = get::<Activity, S>(ctx, &key)? {
        return Ok(reply(
            json!({"activityArn": a.arn, "creationDate": a.created}),
        ));
    }
    let tags = i.tags.clone().unwrap_or_default();
    if tags.len() > MAX_TAGS {
        return Ok(Err(too_many_tags(&arn::activity(ctx.limits, &i.name))));
    }
    if super::counts(ctx)?.activities >= ctx.limits.sfn_max_activities as u64 {
        return Ok(Err(fault(FaultKind::ActivityLimitExceeded, ACTIVITY_LIMIT)));
    }
    super::count(ctx, |c| c.activities += 1)?;
    let a = Activity {
        arn: arn::activity(ctx.limits, &i.name),
        name: i.name.clone(),
        created: ctx.now,
        tags,
    };
    put(ctx, key, &a);
    Ok(reply(
        json!({"activityArn": a.arn, "creationDate": a.created}),
    ))
}

pub(super) fn delete<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    activity_arn: &str,
) -> Result<Outcome, ReadError> {
    if let Some(names) = fault!(arn::parse(ctx.limits, activity_arn, Kind::Activity)) {
        let key = keys::activity(&names[0]);
        if get::<Activity, S>(ctx, &key)?.is_some() {
            super::delete(ctx, key);
            super::count(ctx, |c| c.activities = c.activities.saturating_sub(1))?;
        }
    }
    Ok(reply(json!({})))
}

fn too_many_tags(resource: &str) -> swf_types::Fault {
    fault(
        FaultKind::SfnTooManyTags,
        format!("Too many tags: a resource may have at most {MAX_TAGS} tags ('{resource}')"),
    )
}

fn not_found(resource: &str) -> swf_types::Fault {
    fault(
        FaultKind::ResourceNotFound,
        format!("Resource not found: '{resource}'"),
    )
}

/// Changes the tags of the activity or state machine `resource` with `change`.
fn retag<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    resource: &str,
    change: impl Fn(&mut Vec<Tag>),
) -> Result<Outcome, ReadError> {
    match arn::kind_of(resource) {
        Some(Kind::Activity) => {
            let Some(names) = fault!(arn::parse(ctx.limits, resource, Kind::Activity)) else {
                return Ok(Err(not_found(resource)));
            };
            let key = keys::activity(&names[0]);
            let Some(mut a) = get::<Activity, S>(ctx, &key)? else {
                return Ok(Err(not_found(resource)));
            };
            change(&mut a.tags);
            if a.tags.len() > MAX_TAGS {
                return Ok(Err(too_many_tags(resource)));
            }
            put(ctx, key, &a);
        }
        Some(Kind::StateMachine) => {
            let Some(names) = fault!(arn::parse(ctx.limits, resource, Kind::StateMachine)) else {
                return Ok(Err(not_found(resource)));
            };
            let key = keys::state_machine(&names[0]);
            let Some(mut m) = get::<StateMachine, S>(ctx, &key)? else {
                return Ok(Err(not_found(resource)));
            };
            change(&mut m.tags);
            if m.tags.len() > MAX_TAGS {
                return Ok(Err(too_many_tags(resource)));
            }
            put(ctx, key, &m);
        }
        _ => {
            return Ok(Err(arn::invalid_arn(format_args!(
                "Invalid ARN prefix: {resource}"
            ))))
        }
    }
    Ok(reply(json!({})))
}

pub(super) fn tag<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    resource: &str,
    tags: &[Tag],
) -> Result<Outcome, ReadError> {
    retag(ctx, resource, |have| {
        for t in tags {
            match have.iter_mut().find(|h| h.key == t.key) {
                Some(h) => h.value = t.value.clone(),
                None => have.push(t.clone()),
            }
        }
    })
}

pub(super) fn untag<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    resource: &str,
    keys: &[String],
) -> Result<Outcome, ReadError> {
    retag(ctx, resource, |have| {
        have.retain(|h| !keys.contains(&h.key))
    })
}
