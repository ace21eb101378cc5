//! IAM policy documents: parsing (`Policy::parse`) and evaluation with arbitrary actions, resources
//! and condition keys. Besides "no panic": evaluation is the same with the policy given twice, and an
//! explicit `Deny *` beside it is never overridden.
//!
//! Input: the policy JSON, then after a 0 byte lines of `action`, `resource` and `key=value` pairs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use swf_auth::condition::Keys;
use swf_auth::policy::{evaluate, Decision, Policy};

fuzz_target!(|data: &[u8]| {
    let (doc, rest) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(doc) = std::str::from_utf8(doc) else {
        return;
    };
    let Ok(policy) = Policy::parse(doc) else {
        return;
    };
    let rest = String::from_utf8_lossy(rest);
    let mut lines = rest.lines();
    let action = lines.next().unwrap_or("swf:StartWorkflowExecution");
    let resource = lines
        .next()
        .unwrap_or("arn:aws:swf:us-east-1:123456789012:/domain/prod");
    let mut keys = Keys::default();
    for line in lines {
        if let Some((k, v)) = line.split_once('=') {
            keys.set(k, v);
        }
    }
    let once = evaluate(std::slice::from_ref(&policy), action, resource, &keys);
    let twice = evaluate(&[policy.clone(), policy.clone()], action, resource, &keys);
    assert_eq!(once, twice, "evaluation depends on repetition");
    let deny =
        Policy::parse(r#"{"Statement": {"Effect": "Deny", "Action": "*", "Resource": "*"}}"#)
            .expect("deny-all parses");
    assert_eq!(
        evaluate(&[policy, deny], action, resource, &keys),
        Decision::ExplicitDeny,
        "an explicit Deny * was overridden"
    );
});
