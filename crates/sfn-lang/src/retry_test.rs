//! Table tests of Retry and Catch.

use super::*;
use crate::definition::{Definition, PathField, StateKind};
use serde_json::json;

fn task(retry: Value, catch: Value) -> (Vec<Retrier>, Vec<Catcher>) {
    let act = "arn:aws:states:us-east-1:123456789012:activity:work";
    // Catchers to H and H2 keep both reachable when a test needs no catcher of its own.
    let catch = if catch == json!([]) {
        json!([{"ErrorEquals": ["X"], "Next": "H"}, {"ErrorEquals": ["Y"], "Next": "H2"}])
    } else {
        catch
    };
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": act, "Retry": retry, "Catch": catch, "End": true},
        "H": {"Type": "Succeed"}, "H2": {"Type": "Succeed"}}});
    let def = Definition::parse(&def.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let s = def.state("T").unwrap();
    assert!(matches!(s.kind, StateKind::Task(_)));
    (s.retry.clone(), s.catch.clone())
}

#[test]
fn matching() {
    let s = |v: &[&str]| v.iter().map(|e| e.to_string()).collect::<Vec<_>>();
    let cases = [
        (s(&["States.ALL"]), "MyError", true),
        (s(&["States.ALL"]), "States.Timeout", true),
        (s(&["States.ALL"]), "States.Runtime", false),
        (s(&["States.ALL"]), "States.DataLimitExceeded", false),
        (s(&["States.TaskFailed"]), "MyError", true),
        (s(&["States.TaskFailed"]), "States.HeartbeatTimeout", true),
        (s(&["States.TaskFailed"]), "States.Timeout", false),
        (s(&["States.Timeout"]), "States.Timeout", true),
        (s(&["States.Runtime"]), "States.Runtime", false),
        (s(&["A", "B"]), "B", true),
        (s(&["A", "B"]), "b", false),
    ];
    for (ee, error, want) in cases {
        assert_eq!(error_matches(&ee, error), want, "{ee:?} vs {error}");
    }
}

#[test]
fn retry_delays() {
    // The Retry example of the error-handling page: IntervalSeconds 3, MaxAttempts 2, BackoffRate 1.5
    // waits 3 s, then 4.5 s, then gives up.
    let (r, _) = task(
        json!([{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 3, "MaxAttempts": 2, "BackoffRate": 1.5},
                             {"ErrorEquals": ["States.ALL"], "MaxAttempts": 0},]),
        json!([]),
    );
    assert_eq!(
        next_retry(&r, &[0, 0], "States.Timeout", 0.5),
        RetryDecision::Retry {
            retrier: 0,
            delay_ms: 3000
        }
    );
    assert_eq!(
        next_retry(&r, &[1, 0], "States.Timeout", 0.5),
        RetryDecision::Retry {
            retrier: 0,
            delay_ms: 4500
        }
    );
    assert_eq!(
        next_retry(&r, &[2, 0], "States.Timeout", 0.5),
        RetryDecision::GiveUp
    );
    // MaxAttempts 0 never retries; a later retrier is not consulted once an earlier one matched.
    assert_eq!(next_retry(&r, &[], "Other", 0.5), RetryDecision::GiveUp);
    assert_eq!(
        next_retry(&r, &[], "States.Runtime", 0.5),
        RetryDecision::GiveUp
    );
    // Defaults (1 s, x2, 3 attempts), MaxDelaySeconds caps, FULL jitter scales by the stamped random.
    let (r, _) = task(
        json!([{"ErrorEquals": ["E"]}, {"ErrorEquals": ["F"], "IntervalSeconds": 2, "BackoffRate": 3.0, "MaxAttempts": 50, "MaxDelaySeconds": 10, "JitterStrategy": "FULL"}]),
        json!([]),
    );
    let delays: Vec<RetryDecision> = (0..4).map(|n| next_retry(&r, &[n], "E", 0.0)).collect();
    assert_eq!(
        delays,
        vec![
            RetryDecision::Retry {
                retrier: 0,
                delay_ms: 1000
            },
            RetryDecision::Retry {
                retrier: 0,
                delay_ms: 2000
            },
            RetryDecision::Retry {
                retrier: 0,
                delay_ms: 4000
            },
            RetryDecision::GiveUp,
        ]
    );
    assert_eq!(retry_delay_ms(&r[1], 0, 0.5), 1000);
    assert_eq!(retry_delay_ms(&r[1], 1, 0.5), 3000);
    assert_eq!(
        retry_delay_ms(&r[1], 2, 0.5),
        5000,
        "capped at 10 s, then halved"
    );
    assert_eq!(retry_delay_ms(&r[1], 40, 0.999), 9990);
    assert_eq!(retry_delay_ms(&r[1], u32::MAX, 1.0), 10_000, "no overflow");
}

#[test]
fn catching() {
    // The Catch example of the error-handling page: ResultPath $.error-info keeps the input.
    let (_, c) = task(
        json!([]),
        json!([
        {"ErrorEquals": ["java.lang.Exception"], "ResultPath": "$.error-info", "Next": "H"},
        {"ErrorEquals": ["States.ALL"], "Next": "H2"}]),
    );
    let input = json!({"foo": "bar"});
    let first = find_catcher(&c, "java.lang.Exception").unwrap();
    assert_eq!(first.next, "H");
    assert_eq!(
        catch_output(first, &input, "java.lang.Exception", "boom"),
        Ok(json!({"foo": "bar", "error-info": {"Error": "java.lang.Exception", "Cause": "boom"}}))
    );
    let all = find_catcher(&c, "States.Timeout").unwrap();
    assert_eq!(
        (all.next.as_str(), &all.result_path),
        ("H2", &PathField::Default)
    );
    assert_eq!(
        catch_output(all, &input, "States.Timeout", "late"),
        Ok(json!({"Error": "States.Timeout", "Cause": "late"}))
    );
    assert!(find_catcher(&c, "States.Runtime").is_none());
    assert_eq!(
        catch_output(first, &json!("text"), "E", "c").map_err(|e| e.name()),
        Err("States.ResultPathMatchFailure")
    );
}
