//! State machine aliases: CreateStateMachineAlias (idempotent for the same configuration, at most
//! `MAX_ALIASES` per state machine), UpdateStateMachineAlias and DeleteStateMachineAlias (idempotent),
//! the routing rules (one or two distinct versions of one state machine, weights adding up to 100),
//! and the choice of a version for an execution started through an alias, made from the seed the
//! leader stamped into StartExecution. Messages are AWS's, as recorded from the real service.

use serde_json::json;
use swf_types::{Fault, FaultKind};

use super::arn::{self, Qualifier};
use super::command::{CreateStateMachineAliasInput, UpdateStateMachineAliasInput};
use super::records::{Alias, Route, StateMachine, Version};
use super::{fault, get, keys, put, reply};
use crate::command::Outcome;
use crate::ctx::{fault, Ctx};
use crate::state::{Lookup, ReadError};

/// Most aliases one state machine may have (AWS's quota).
pub const MAX_ALIASES: usize = 100;

/// `ResourceNotFound` as AWS words it for an alias.
pub(crate) fn not_found() -> Fault {
    fault(
        FaultKind::ResourceNotFound,
        "Request references a resource that does not exist.",
    )
}

/// Checks a routing configuration: the state machine's name it routes within, or the
/// `ValidationException` AWS answers (the length and weight bounds are the model's, checked before).
pub(crate) fn check_routing(
    limits: &crate::limits::Limits,
    routes: &[Route],
) -> Result<String, Fault> {
    let arns = || {
        routes
            .iter()
            .map(|r| r.state_machine_version_arn.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut names = Vec::new();
    for r in routes {
        match arn::parse_qualified(limits, &r.state_machine_version_arn) {
            Ok(Some((name, Qualifier::Version(_)))) => names.push(name),
            _ => {
                return Err(Fault::validation(format!(
                    "Routing configuration must contain state machine version ARNs. Received: [{}]",
                    arns()
                )))
            }
        }
    }
    if routes.len() == 2
        && routes[0].state_machine_version_arn == routes[1].state_machine_version_arn
    {
        return Err(Fault::validation(format!(
            "Routing configuration must contain distinct state machine version ARNs. Received: [{}]",
            arns()
        )));
    }
    if names.windows(2).any(|w| w[0] != w[1]) {
        return Err(Fault::validation(format!(
            "Routing configuration must contain state machine version ARNs of the same state machine. Received: [{}]",
            arns()
        )));
    }
    let sum: u64 = routes.iter().map(|r| r.weight).sum();
    if sum != 100 {
        let weights: Vec<String> = routes.iter().map(|r| r.weight.to_string()).collect();
        return Err(Fault::validation(format!(
            "Sum of routing configuration weights must equal 100. Received: [{}]",
            weights.join(", ")
        )));
    }
    names
        .pop()
        .ok_or_else(|| Fault::validation("Routing configuration must not be empty"))
}

/// Whether every version a routing names exists; `ResourceNotFound` naming the first missing one.
fn check_versions_exist<S: Lookup + ?Sized>(
    ctx: &Ctx<'_, S>,
    m: &StateMachine,
    routes: &[Route],
) -> Result<Result<(), Fault>, ReadError> {
    for r in routes {
        let n = match arn::parse_qualified(ctx.limits, &r.state_machine_version_arn) {
            Ok(Some((_, Qualifier::Version(n)))) => n,
            _ => return Ok(Err(not_found())),
        };
        if !m.versions.contains(&n) || get::<Version, S>(ctx, &keys::version(&m.name, n))?.is_none()
        {
            return Ok(Err(fault(
                FaultKind::ResourceNotFound,
                format!(
                    "Request references a resource that does not exist: '{}'",
                    r.state_machine_version_arn
                ),
            )));
        }
    }
    Ok(Ok(()))
}

/// The state machine whose versions a routing names; `ResourceNotFound` when it is gone.
fn routed_machine<S: Lookup + ?Sized>(
    ctx: &Ctx<'_, S>,
    name: &str,
) -> Result<Result<StateMachine, Fault>, ReadError> {
    Ok(get::<StateMachine, S>(ctx, &keys::state_machine(name))?.ok_or_else(not_found))
}

pub(super) fn create<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    i: &CreateStateMachineAliasInput,
) -> Result<Outcome, ReadError> {
    let sm_name = fault!(check_routing(ctx.limits, &i.routing_configuration));
    let mut m = fault!(routed_machine(ctx, &sm_name)?);
    fault!(check_versions_exist(ctx, &m, &i.routing_configuration)?);
    let key = keys::alias(&sm_name, &i.name);
    if let Some(a) = get::<Alias, S>(ctx, &key)? {
        if a.routing == i.routing_configuration && a.description == i.description {
            return Ok(reply(
                json!({"creationDate": a.created, "stateMachineAliasArn": a.arn}),
            ));
        }
        return Ok(Err(fault(
            FaultKind::Conflict,
            "Failed to create alias because an alias with the same name and a different routing configuration already exists.",
        )));
    }
    if m.aliases.len() >= MAX_ALIASES {
        return Ok(Err(fault(
            FaultKind::ServiceQuotaExceeded,
            format!(
                "Failed to create an alias of the state machine '{}': it already has the maximum of {MAX_ALIASES} aliases",
                m.arn
            ),
        )));
    }
    let a = Alias {
        arn: arn::alias(ctx.limits, &sm_name, &i.name),
        name: i.name.clone(),
        state_machine_arn: m.arn.clone(),
        description: i.description.clone(),
        routing: i.routing_configuration.clone(),
        created: ctx.now,
        updated: ctx.now,
    };
    put(ctx, key, &a);
    m.aliases.push(i.name.clone());
    m.aliases.sort();
    put(ctx, keys::state_machine(&sm_name), &m);
    Ok(reply(
        json!({"creationDate": a.created, "stateMachineAliasArn": a.arn}),
    ))
}

/// An alias's key and record.
type Found = Option<(Vec<u8>, Alias)>;

/// The alias an alias ARN names: its key and record, `None` when there is none; `InvalidArn` for an
/// ARN that is not an alias's.
pub(crate) fn load<S: Lookup + ?Sized>(
    ctx: &Ctx<'_, S>,
    alias_arn: &str,
) -> Result<Result<Found, Fault>, ReadError> {
    let (sm, name) = match arn::parse_qualified(ctx.limits, alias_arn) {
        Err(f) => return Ok(Err(f)),
        Ok(None) => return Ok(Ok(None)),
        Ok(Some((sm, Qualifier::Alias(name)))) => (sm, name),
        Ok(Some(_)) => {
            return Ok(Err(arn::invalid_arn(format_args!(
                "Invalid ARN: {alias_arn}"
            ))))
        }
    };
    let key = keys::alias(&sm, &name);
    Ok(Ok(get::<Alias, S>(ctx, &key)?.map(|a| (key, a))))
}

pub(super) fn update<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    i: &UpdateStateMachineAliasInput,
) -> Result<Outcome, ReadError> {
    if i.description.is_none() && i.routing_configuration.is_none() {
        return Ok(Err(Fault::validation(
            "Either the description or the routingConfiguration must be specified",
        )));
    }
    let Some((key, mut a)) = fault!(load(ctx, &i.state_machine_alias_arn)?) else {
        return Ok(Err(not_found()));
    };
    if let Some(routes) = &i.routing_configuration {
        let sm_name = fault!(check_routing(ctx.limits, routes));
        let m = fault!(routed_machine(ctx, &sm_name)?);
        if m.arn != a.state_machine_arn {
            return Ok(Err(Fault::validation(format!(
                "Routing configuration must contain state machine version ARNs of the alias's state machine '{}'",
                a.state_machine_arn
            ))));
        }
        fault!(check_versions_exist(ctx, &m, routes)?);
        a.routing = routes.clone();
    }
    if let Some(d) = &i.description {
        a.description = Some(d.clone());
    }
    a.updated = ctx.now;
    put(ctx, key, &a);
    Ok(reply(json!({"updateDate": a.updated})))
}

pub(super) fn delete<S: Lookup + ?Sized>(
    ctx: &mut Ctx<'_, S>,
    alias_arn: &str,
) -> Result<Outcome, ReadError> {
    if let Some((key, a)) = fault!(load(ctx, alias_arn)?) {
        super::delete(ctx, key);
        let sm_key =
            keys::state_machine(a.state_machine_arn.rsplit(':').next().unwrap_or_default());
        if let Some(mut m) = get::<StateMachine, S>(ctx, &sm_key)? {
            m.aliases.retain(|n| *n != a.name);
            put(ctx, sm_key, &m);
        }
    }
    Ok(reply(json!({})))
}

/// The version an execution started through alias `a` runs: the first route takes the seeds whose
/// value modulo 100 falls under its weight, the second the rest (the seed is the leader's random
/// draw for the execution, so replicas agree).
pub(crate) fn choose(a: &Alias, seed: u64) -> &str {
    let draw = seed % 100;
    match a.routing.as_slice() {
        [first, second] if draw >= first.weight => &second.state_machine_version_arn,
        [first, ..] => &first.state_machine_version_arn,
        [] => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Limits;

    fn route(v: &str, weight: u64) -> Route {
        Route {
            state_machine_version_arn: v.into(),
            weight,
        }
    }

    #[test]
    fn routing_rules_as_aws_words_them() {
        let l = Limits::default();
        let v = |n: u64| arn::version(&l, "m", n);
        let sm = arn::state_machine(&l, "m");
        let other = arn::version(&l, "other", 1);
        let cases: Vec<(Vec<Route>, Result<&str, String>)> = vec![
            (vec![route(&v(1), 100)], Ok("m")),
            (vec![route(&v(1), 30), route(&v(2), 70)], Ok("m")),
            (vec![route(&v(1), 0), route(&v(2), 100)], Ok("m")),
            (
                vec![route(&sm, 100)],
                Err(format!("Routing configuration must contain state machine version ARNs. Received: [{sm}]")),
            ),
            (
                vec![route(&v(1), 50), route(&v(1), 50)],
                Err(format!("Routing configuration must contain distinct state machine version ARNs. Received: [{}, {}]", v(1), v(1))),
            ),
            (
                vec![route(&v(1), 70), route(&v(2), 29)],
                Err("Sum of routing configuration weights must equal 100. Received: [70, 29]".into()),
            ),
            (
                vec![route(&v(1), 50), route(&other, 50)],
                Err(format!("Routing configuration must contain state machine version ARNs of the same state machine. Received: [{}, {other}]", v(1))),
            ),
        ];
        for (routes, want) in cases {
            let got = check_routing(&l, &routes).map_err(|f| {
                assert_eq!(f.kind, FaultKind::Validation);
                f.message
            });
            assert_eq!(got, want.map(String::from), "{routes:?}");
        }
    }

    #[test]
    fn weighted_choice_follows_the_seed() {
        let a = Alias {
            arn: "a".into(),
            name: "a".into(),
            state_machine_arn: "m".into(),
            description: None,
            routing: vec![route("v1", 30), route("v2", 70)],
            created: swf_types::Timestamp(0),
            updated: swf_types::Timestamp(0),
        };
        let picks: Vec<&str> = (0..100u64).map(|s| choose(&a, s)).collect();
        assert_eq!(picks.iter().filter(|p| **p == "v1").count(), 30);
        assert_eq!(choose(&a, 29), "v1");
        assert_eq!(choose(&a, 30), "v2");
        assert_eq!(choose(&a, 1_000_029), "v1");
    }
}
