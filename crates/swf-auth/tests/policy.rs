//! IAM policy evaluation, table-style: Deny beats Allow beats the implicit deny, wildcards in actions
//! (any case) and resources (exact case), NotAction / NotResource, and every condition operator with
//! present and absent keys.

use swf_auth::condition::Keys;
use swf_auth::policy::{evaluate, Decision, Policy};

const D: &str = "arn:aws:swf:us-east-1:123456789012:/domain/prod";

fn keys(pairs: &[(&str, &str)]) -> Keys {
    let mut k = Keys::default();
    for (n, v) in pairs {
        k.set(n, *v);
    }
    k
}

fn decide(doc: &str, action: &str, resource: &str, pairs: &[(&str, &str)]) -> Decision {
    let p = Policy::parse(doc).unwrap_or_else(|e| panic!("{e}: {doc}"));
    evaluate(&[p], action, resource, &keys(pairs))
}

fn stmt(effect: &str, action: &str, resource: &str, condition: &str) -> String {
    let cond = if condition.is_empty() {
        String::new()
    } else {
        format!(r#","Condition":{condition}"#)
    };
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"{effect}","Action":{action},"Resource":{resource}{cond}}}]}}"#
    )
}

#[test]
fn effects_and_wildcards() {
    use Decision::*;
    let allow_all = stmt("Allow", r#""*""#, r#""*""#, "");
    assert_eq!(decide(&allow_all, "swf:ListDomains", D, &[]), Allow);
    assert_eq!(
        decide(r#"{"Statement":[]}"#, "swf:ListDomains", D, &[]),
        ImplicitDeny
    );
    let both = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"swf:*","Resource":"*"},
        {"Effect":"Deny","Action":"swf:Terminate*","Resource":"arn:aws:swf:*:*:/domain/prod"}]}"#;
    assert_eq!(
        decide(both, "swf:TerminateWorkflowExecution", D, &[]),
        ExplicitDeny
    );
    assert_eq!(
        decide(both, "swf:terminateworkflowexecution", D, &[]),
        ExplicitDeny
    );
    assert_eq!(
        decide(
            both,
            "swf:TerminateWorkflowExecution",
            "arn:aws:swf:us-east-1:123456789012:/domain/dev",
            &[]
        ),
        Allow
    );
    assert_eq!(decide(both, "states:StartExecution", D, &[]), ImplicitDeny);
    // Resources match with case.
    let prod = stmt(
        "Allow",
        r#""swf:*""#,
        r#""arn:aws:swf:*:*:/domain/prod""#,
        "",
    );
    assert_eq!(
        decide(
            &prod,
            "swf:DescribeDomain",
            "arn:aws:swf:us-east-1:123456789012:/domain/PROD",
            &[]
        ),
        ImplicitDeny
    );
    assert_eq!(decide(&prod, "SWF:DescribeDomain", D, &[]), Allow);
    let not_action = r#"{"Statement":{"Effect":"Allow","NotAction":["swf:Terminate*","swf:Delete*"],"NotResource":"arn:aws:swf:*:*:/domain/secret"}}"#;
    assert_eq!(
        decide(not_action, "swf:StartWorkflowExecution", D, &[]),
        Allow
    );
    assert_eq!(
        decide(not_action, "swf:DeleteActivityType", D, &[]),
        ImplicitDeny
    );
    assert_eq!(
        decide(
            not_action,
            "swf:StartWorkflowExecution",
            "arn:aws:swf:us-east-1:1:/domain/secret",
            &[]
        ),
        ImplicitDeny
    );
}

/// A condition block, the request's keys, the decision.
type Case = (
    &'static str,
    &'static [(&'static str, &'static str)],
    Decision,
);

#[test]
fn conditions() {
    use Decision::*;
    let cases: &[Case] = &[
        (
            r#"{"StringEquals":{"swf:taskList.name":["a","b"]}}"#,
            &[("swf:taskList.name", "b")],
            Allow,
        ),
        (
            r#"{"StringEquals":{"swf:taskList.name":"a"}}"#,
            &[("swf:taskList.name", "A")],
            ImplicitDeny,
        ),
        (
            r#"{"StringEquals":{"swf:taskList.name":"a"}}"#,
            &[],
            ImplicitDeny,
        ),
        (
            r#"{"StringEquals":{"SWF:TASKLIST.NAME":"a"}}"#,
            &[("swf:taskList.name", "a")],
            Allow,
        ),
        (
            r#"{"StringNotEquals":{"swf:taskList.name":"a"}}"#,
            &[("swf:taskList.name", "b")],
            Allow,
        ),
        (
            r#"{"StringNotEquals":{"swf:taskList.name":"a"}}"#,
            &[("swf:taskList.name", "a")],
            ImplicitDeny,
        ),
        (
            r#"{"StringNotEquals":{"swf:taskList.name":"a"}}"#,
            &[],
            Allow,
        ),
        (
            r#"{"StringEqualsIgnoreCase":{"swf:name":"Hello"}}"#,
            &[("swf:name", "hELLO")],
            Allow,
        ),
        (
            r#"{"StringNotEqualsIgnoreCase":{"swf:name":"Hello"}}"#,
            &[("swf:name", "hELLO")],
            ImplicitDeny,
        ),
        (
            r#"{"StringLike":{"swf:workflowType.name":"order-*"}}"#,
            &[("swf:workflowType.name", "order-1")],
            Allow,
        ),
        (
            r#"{"StringLike":{"swf:workflowType.name":"order-?"}}"#,
            &[("swf:workflowType.name", "order-12")],
            ImplicitDeny,
        ),
        (
            r#"{"StringNotLike":{"swf:workflowType.name":"order-*"}}"#,
            &[("swf:workflowType.name", "order-1")],
            ImplicitDeny,
        ),
        (
            r#"{"StringNotLike":{"swf:workflowType.name":"order-*"}}"#,
            &[],
            Allow,
        ),
        (
            r#"{"StringEqualsIfExists":{"swf:taskList.name":"a"}}"#,
            &[],
            Allow,
        ),
        (
            r#"{"StringEqualsIfExists":{"swf:taskList.name":"a"}}"#,
            &[("swf:taskList.name", "b")],
            ImplicitDeny,
        ),
        (
            r#"{"StringLikeIfExists":{"swf:tagList.member.0":"team-*"}}"#,
            &[("swf:tagList.member.0", "team-x")],
            Allow,
        ),
        (r#"{"Null":{"swf:tagList.member.0":"true"}}"#, &[], Allow),
        (
            r#"{"Null":{"swf:tagList.member.0":"true"}}"#,
            &[("swf:tagList.member.0", "t")],
            ImplicitDeny,
        ),
        (
            r#"{"Null":{"swf:tagList.member.0":"false"}}"#,
            &[("swf:tagList.member.0", "t")],
            Allow,
        ),
        // Every key and every operator of a block must hold.
        (
            r#"{"StringEquals":{"swf:workflowType.name":"w","swf:workflowType.version":"1"}}"#,
            &[
                ("swf:workflowType.name", "w"),
                ("swf:workflowType.version", "2"),
            ],
            ImplicitDeny,
        ),
        (
            r#"{"StringEquals":{"swf:workflowType.name":"w"},"StringLike":{"swf:taskList.name":"t*"}}"#,
            &[("swf:workflowType.name", "w"), ("swf:taskList.name", "tl")],
            Allow,
        ),
    ];
    for (cond, pairs, want) in cases {
        let doc = stmt("Allow", r#""swf:*""#, r#""*""#, cond);
        assert_eq!(
            decide(&doc, "swf:StartWorkflowExecution", D, pairs),
            *want,
            "{cond} {pairs:?}"
        );
    }
    // A conditional Deny only denies when its condition holds.
    let doc = r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},
        {"Effect":"Deny","Action":"swf:PollForActivityTask","Resource":"*","Condition":{"StringNotEquals":{"swf:taskList.name":"mine"}}}]}"#;
    assert_eq!(
        decide(
            doc,
            "swf:PollForActivityTask",
            D,
            &[("swf:taskList.name", "mine")]
        ),
        Allow
    );
    assert_eq!(
        decide(
            doc,
            "swf:PollForActivityTask",
            D,
            &[("swf:taskList.name", "theirs")]
        ),
        ExplicitDeny
    );
}

#[test]
fn malformed_documents_are_refused() {
    for doc in [
        "",
        "[]",
        r#"{"Statement":{"Effect":"Maybe","Action":"*","Resource":"*"}}"#,
        r#"{"Statement":{"Effect":"Allow","Resource":"*"}}"#,
        r#"{"Statement":{"Effect":"Allow","Action":"*"}}"#,
        r#"{"Statement":{"Effect":"Allow","Action":"*","NotAction":"x","Resource":"*"}}"#,
        r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Principal":"*"}}"#,
        r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericEquals":{"a":"1"}}}}"#,
        r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Null":{"a":"maybe"}}}}"#,
        r#"{"Version":"2020-01-01","Statement":[]}"#,
        r#"{"Statement":{"Effect":"Allow","Action":3,"Resource":"*"}}"#,
    ] {
        assert!(Policy::parse(doc).is_err(), "{doc}");
    }
}
