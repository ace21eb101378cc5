//! Step Functions ARNs and names: `arn:aws:states:<region>:<account>:activity:<name>`,
//! `stateMachine:<name>`, `execution:<state machine>:<name>`, built from the configured region and
//! account, parsed with AWS's `InvalidArn` faults; and AWS's name rules (`InvalidName`).

use swf_types::{Fault, FaultKind};

use crate::limits::Limits;

/// The kinds of resource an ARN names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Activity,
    StateMachine,
    Execution,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Activity => "activity",
            Kind::StateMachine => "stateMachine",
            Kind::Execution => "execution",
        }
    }
}

fn prefix(limits: &Limits) -> String {
    format!("arn:aws:states:{}:{}:", limits.region, limits.account_id)
}

/// The ARN of an activity.
pub fn activity(limits: &Limits, name: &str) -> String {
    format!("{}activity:{name}", prefix(limits))
}

/// The ARN of a state machine.
pub fn state_machine(limits: &Limits, name: &str) -> String {
    format!("{}stateMachine:{name}", prefix(limits))
}

/// The ARN of version `number` of a state machine: `stateMachine:<name>:<number>`.
pub fn version(limits: &Limits, sm_name: &str, number: u64) -> String {
    format!("{}stateMachine:{sm_name}:{number}", prefix(limits))
}

/// The ARN of an alias of a state machine: `stateMachine:<name>:<alias>`.
pub fn alias(limits: &Limits, sm_name: &str, alias: &str) -> String {
    format!("{}stateMachine:{sm_name}:{alias}", prefix(limits))
}

/// What follows a state machine's name in its ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Qualifier {
    /// The state machine itself (its current revision).
    Latest,
    /// A published version (numbers start at 1).
    Version(u64),
    /// An alias (alias names always hold a character other than a digit).
    Alias(String),
}

/// Parses a state machine ARN that may be qualified by a version number or an alias name: the
/// state machine's name and the qualifier; `Ok(None)` for another region or account.
pub fn parse_qualified(limits: &Limits, arn: &str) -> Result<Option<(String, Qualifier)>, Fault> {
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    if parts.len() < 7 || parts[0] != "arn" || !parts[1].starts_with("aws") || parts[2] != "states"
    {
        return Err(invalid_arn(format_args!("Invalid ARN prefix: {arn}")));
    }
    if parts[5] != Kind::StateMachine.word() {
        return Err(invalid_arn(format_args!(
            "Resource type not valid in this context: {}",
            parts[5]
        )));
    }
    let bad = || invalid_arn(format_args!("Invalid ARN: {arn}"));
    let (name, qualifier) = match parts[6].split_once(':') {
        None => (parts[6], Qualifier::Latest),
        Some((_, q)) if q.is_empty() || q.contains(':') => return Err(bad()),
        Some((n, q)) if q.bytes().all(|b| b.is_ascii_digit()) => match q.parse::<u64>() {
            Ok(v) if v > 0 => (n, Qualifier::Version(v)),
            _ => return Err(bad()),
        },
        Some((n, q)) => (n, Qualifier::Alias(q.to_string())),
    };
    if name.is_empty() {
        return Err(bad());
    }
    if parts[3] != limits.region || parts[4] != limits.account_id {
        return Ok(None);
    }
    Ok(Some((name.to_string(), qualifier)))
}

/// Whether `name` is a valid alias name: 1–80 of `[a-zA-Z0-9_.-]`, at least one of them not a digit
/// (the model's `CharacterRestrictedName`).
pub fn valid_alias_name(name: &str) -> bool {
    (1..=80).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
        && name.bytes().any(|b| !b.is_ascii_digit())
}

/// The ARN of an execution of state machine `sm_name`.
pub fn execution(limits: &Limits, sm_name: &str, name: &str) -> String {
    format!("{}execution:{sm_name}:{name}", prefix(limits))
}

/// An `InvalidArn` fault as AWS words it.
pub fn invalid_arn(detail: impl std::fmt::Display) -> Fault {
    Fault {
        kind: FaultKind::InvalidArn,
        message: format!("Invalid Arn: '{detail}'"),
    }
}

/// Parses an ARN of `kind`: the names it holds (one for an activity or state machine, the state
/// machine's and the execution's for an execution). An ARN of this service in another region or
/// account is well formed but names nothing here: `Ok(None)`.
pub fn parse(limits: &Limits, arn: &str, kind: Kind) -> Result<Option<Vec<String>>, Fault> {
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    if parts.len() < 7 || parts[0] != "arn" || !parts[1].starts_with("aws") || parts[2] != "states"
    {
        return Err(invalid_arn(format_args!("Invalid ARN prefix: {arn}")));
    }
    if parts[5] != kind.word() {
        return Err(invalid_arn(format_args!(
            "Resource type not valid in this context: {}",
            parts[5]
        )));
    }
    let names: Vec<String> = match kind {
        Kind::Execution => match parts[6].split_once(':') {
            Some((sm, name)) if !sm.is_empty() && !name.is_empty() && !name.contains(':') => {
                vec![sm.to_string(), name.to_string()]
            }
            _ => return Err(invalid_arn(format_args!("Invalid ARN: {arn}"))),
        },
        _ if parts[6].is_empty() || parts[6].contains(':') => {
            return Err(invalid_arn(format_args!("Invalid ARN: {arn}")))
        }
        _ => vec![parts[6].to_string()],
    };
    if parts[3] != limits.region || parts[4] != limits.account_id {
        return Ok(None);
    }
    Ok(Some(names))
}

/// Which kind of resource an ARN of this service names, if any (for the tagging actions).
pub fn kind_of(arn: &str) -> Option<Kind> {
    match arn.split(':').nth(5)? {
        "activity" => Some(Kind::Activity),
        "stateMachine" => Some(Kind::StateMachine),
        "execution" => Some(Kind::Execution),
        _ => None,
    }
}

/// Whether `name` keeps AWS's name rules: 1–80 characters, none of them whitespace, one of
/// `< > { } [ ] ? * " # % \ ^ | ~ ` $ & , ; : /`, or a control character.
pub fn valid_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=80).contains(&n)
        && !name.chars().any(|c| {
            c.is_whitespace()
                || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c)
                || matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
        })
}

/// `InvalidName` as AWS words it.
pub fn invalid_name(name: &str) -> Fault {
    Fault {
        kind: FaultKind::InvalidName,
        message: format!("Invalid Name: '{name}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_round_trip_and_faults() {
        let l = Limits::default();
        let a = activity(&l, "work");
        assert_eq!(a, "arn:aws:states:us-east-1:000000000000:activity:work");
        assert_eq!(parse(&l, &a, Kind::Activity), Ok(Some(vec!["work".into()])));
        let e = execution(&l, "sm", "run1");
        assert_eq!(
            parse(&l, &e, Kind::Execution),
            Ok(Some(vec!["sm".into(), "run1".into()]))
        );
        let cases: &[(&str, Kind, &str)] = &[
            (
                "nope",
                Kind::Activity,
                "Invalid Arn: 'Invalid ARN prefix: nope'",
            ),
            (
                "arn:aws:states:us-east-1:000000000000:stateMachine:x",
                Kind::Activity,
                "Invalid Arn: 'Resource type not valid in this context: stateMachine'",
            ),
        ];
        for (arn, kind, msg) in cases {
            let f = parse(&l, arn, *kind).unwrap_err();
            assert_eq!(f.kind, FaultKind::InvalidArn);
            assert_eq!(&f.message, msg);
        }
        let other_region = "arn:aws:states:eu-west-1:000000000000:activity:work";
        assert_eq!(parse(&l, other_region, Kind::Activity), Ok(None));
    }

    #[test]
    fn qualified_state_machine_arns() {
        let l = Limits::default();
        let sm = state_machine(&l, "m");
        type Want = Result<Option<(String, Qualifier)>, &'static str>;
        let cases: &[(&str, Want)] = &[
            (&sm, Ok(Some(("m".into(), Qualifier::Latest)))),
            (&version(&l, "m", 12), Ok(Some(("m".into(), Qualifier::Version(12))))),
            (&alias(&l, "m", "PROD"), Ok(Some(("m".into(), Qualifier::Alias("PROD".into()))))),
            (&format!("{sm}:0"), Err("Invalid Arn: 'Invalid ARN: arn:aws:states:us-east-1:000000000000:stateMachine:m:0'")),
            (&format!("{sm}:"), Err("Invalid Arn: 'Invalid ARN: arn:aws:states:us-east-1:000000000000:stateMachine:m:'")),
            (&format!("{sm}:a:b"), Err("Invalid Arn: 'Invalid ARN: arn:aws:states:us-east-1:000000000000:stateMachine:m:a:b'")),
            ("arn:aws:states:us-east-1:000000000000:activity:m:1", Err("Invalid Arn: 'Resource type not valid in this context: activity'")),
            ("arn:aws:states:eu-west-1:000000000000:stateMachine:m:1", Ok(None)),
        ];
        for (arn, want) in cases {
            let got = parse_qualified(&l, arn).map_err(|f| f.message);
            assert_eq!(got, want.clone().map_err(String::from), "{arn}");
        }
        for (name, ok) in [
            ("PROD", true),
            ("v-2", true),
            ("a.b_c", true),
            ("123", false),
            ("", false),
            ("a b", false),
            ("a:b", false),
        ] {
            assert_eq!(valid_alias_name(name), ok, "{name}");
        }
    }

    #[test]
    fn name_rules() {
        for ok in ["a", "my-activity_1.x", &"x".repeat(80)] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "a b", "a:b", "a/b", "a\u{7}", "a*", &"x".repeat(81)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
