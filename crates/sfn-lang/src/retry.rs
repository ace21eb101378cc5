//! Retry and Catch: matching an error name against `ErrorEquals`, the delay before retry attempt n,
//! and the catcher that takes over with its ResultPath and the `{"Error", "Cause"}` output.
//!
//! Matching follows AWS's error-handling rules: `States.ALL` matches any error name; `States.TaskFailed`
//! matches any error name except `States.Timeout`; `States.Runtime` and `States.DataLimitExceeded` are
//! terminal and are never retried or caught.

use crate::dataflow::apply_result_path;
use crate::definition::{Catcher, Jitter, Retrier};
use crate::error::StatesError;
use serde_json::{json, Value};

/// Errors no Retry or Catch can handle.
pub const TERMINAL_ERRORS: [&str; 2] = ["States.Runtime", "States.DataLimitExceeded"];

/// Whether `error_equals` covers `error`.
pub fn error_matches(error_equals: &[String], error: &str) -> bool {
    if TERMINAL_ERRORS.contains(&error) {
        return false;
    }
    error_equals.iter().any(|e| {
        e == error || e == "States.ALL" || (e == "States.TaskFailed" && error != "States.Timeout")
    })
}

/// What to do after an error, given how many retries each retrier has made (`attempts[i]`, same
/// length as `retriers`; missing entries count as 0).
#[derive(Debug, Clone, PartialEq)]
pub enum RetryDecision {
    /// Retry after `delay_ms`, counting one more attempt on retrier `retrier`.
    Retry { retrier: usize, delay_ms: u64 },
    /// No retrier matches, or the matching one is exhausted: go to Catch.
    GiveUp,
}

/// The first retrier whose ErrorEquals matches decides (later ones are not consulted, as in AWS).
/// `random` is a leader-stamped value in [0, 1) used for `JitterStrategy: FULL`.
pub fn next_retry(
    retriers: &[Retrier],
    attempts: &[u32],
    error: &str,
    random: f64,
) -> RetryDecision {
    let Some((i, r)) = retriers
        .iter()
        .enumerate()
        .find(|(_, r)| error_matches(&r.error_equals, error))
    else {
        return RetryDecision::GiveUp;
    };
    let done = attempts.get(i).copied().unwrap_or(0);
    if u64::from(done) >= r.max_attempts {
        return RetryDecision::GiveUp;
    }
    RetryDecision::Retry {
        retrier: i,
        delay_ms: retry_delay_ms(r, done, random),
    }
}

/// The delay before retry number `done + 1`: IntervalSeconds × BackoffRate^done, capped by
/// MaxDelaySeconds, and with FULL jitter scaled by `random` in [0, 1).
pub fn retry_delay_ms(r: &Retrier, done: u32, random: f64) -> u64 {
    let mut secs = r.interval_seconds as f64 * r.backoff_rate.powi(done.min(10_000) as i32);
    if let Some(max) = r.max_delay_seconds {
        secs = secs.min(max as f64);
    }
    // Never beyond the largest value a definition may hold, so no overflow on the way to ms.
    secs = secs.min(crate::validate::MAX_INT_FIELD as f64);
    if r.jitter == Jitter::Full {
        secs *= random.clamp(0.0, 1.0);
    }
    (secs * 1000.0).round() as u64
}

/// The catcher that handles `error`, if any.
pub fn find_catcher<'a>(catchers: &'a [Catcher], error: &str) -> Option<&'a Catcher> {
    catchers
        .iter()
        .find(|c| error_matches(&c.error_equals, error))
}

/// The error output a catcher passes on: `{"Error": ..., "Cause": ...}`.
pub fn error_output(error: &str, cause: &str) -> Value {
    json!({"Error": error, "Cause": cause})
}

/// The input of the catcher's Next state: the catcher's ResultPath applied to the state's raw input
/// with the error output (default: the error output replaces the input).
pub fn catch_output(
    catcher: &Catcher,
    raw_input: &Value,
    error: &str,
    cause: &str,
) -> Result<Value, StatesError> {
    apply_result_path(&catcher.result_path, raw_input, error_output(error, cause))
}

#[cfg(test)]
#[path = "retry_test.rs"]
mod retry_test;
