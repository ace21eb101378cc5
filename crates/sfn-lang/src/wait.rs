//! Wait states, and the timestamps of the States Language: the due time of a Wait from `Seconds`,
//! `SecondsPath`, `Timestamp` or `TimestampPath`, given the leader-stamped now. Timestamps are RFC 3339
//! with the further AWS restrictions: an upper-case `T` between date and time and an upper-case `Z`
//! when no numeric offset is given (`2016-03-14T01:59:00Z`, `2016-03-14T01:59:00.123+01:00`).

use crate::error::{json_text, StatesError};
use crate::path::Path;
use chrono::{DateTime, FixedOffset};
use serde_json::Value;

/// How a Wait state says how long to wait.
#[derive(Debug, Clone, PartialEq)]
pub enum WaitSpec {
    Seconds(u64),
    SecondsPath(Path),
    /// The timestamp text, validated at definition time.
    Timestamp(String),
    TimestampPath(Path),
}

/// Parses a timestamp as AWS accepts it; `None` if it is not one.
pub fn parse_timestamp(s: &str) -> Option<DateTime<FixedOffset>> {
    // chrono also accepts a lower-case 't' / 'z' and a space separator; AWS does not.
    if s.len() < 20 || s.as_bytes().get(10) != Some(&b'T') || s.contains('z') {
        return None;
    }
    DateTime::parse_from_rfc3339(s).ok()
}

/// Milliseconds since the epoch of a timestamp.
pub fn timestamp_millis(s: &str) -> Option<i64> {
    parse_timestamp(s).map(|t| t.timestamp_millis())
}

/// The due time (ms since the epoch) of a Wait entered at `now_ms` with effective input `input`.
/// A timestamp in the past is due at once (`now_ms`); AWS does the same.
pub fn due_time(
    spec: &WaitSpec,
    input: &Value,
    context: &Value,
    now_ms: i64,
) -> Result<i64, StatesError> {
    let resolve = |p: &Path, field: &str| {
        p.query(input, context).ok_or_else(|| {
            StatesError::Runtime(format!(
                "The JSONPath '{}' specified for the field '{field}' could not be found in the input '{}'",
                p.text,
                json_text(input)
            ))
        })
    };
    let at = match spec {
        WaitSpec::Seconds(s) => now_ms.saturating_add((*s as i64).saturating_mul(1000)),
        WaitSpec::SecondsPath(p) => {
            let v = resolve(p, "SecondsPath")?;
            let secs = v.as_u64().ok_or_else(|| {
                StatesError::Runtime(format!(
                    "The SecondsPath parameter does not reference a valid non-negative integer value: {}",
                    json_text(&v)
                ))
            })?;
            now_ms.saturating_add((secs.min(i64::MAX as u64 / 1000) as i64).saturating_mul(1000))
        }
        WaitSpec::Timestamp(t) => timestamp_millis(t).ok_or_else(|| {
            StatesError::Runtime(format!("The Timestamp value is not a valid timestamp: {t}"))
        })?,
        WaitSpec::TimestampPath(p) => {
            let v = resolve(p, "TimestampPath")?;
            v.as_str().and_then(timestamp_millis).ok_or_else(|| {
                StatesError::Runtime(format!(
                    "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {}",
                    json_text(&v)
                ))
            })?
        }
    };
    Ok(at.max(now_ms))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn timestamps_as_aws_accepts_them() {
        let cases = [
            ("2016-03-14T01:59:00Z", Some(1_457_920_740_000)), // the Wait state page's example
            ("2016-03-14T01:59:00.5Z", Some(1_457_920_740_500)),
            ("2016-03-14T02:59:00+01:00", Some(1_457_920_740_000)),
            ("2016-03-14t01:59:00Z", None),
            ("2016-03-14 01:59:00Z", None),
            ("2016-03-14T01:59:00z", None),
            ("2016-03-14T01:59:00", None),
            ("2016-03-14", None),
            ("yesterday", None),
        ];
        for (text, want) in cases {
            assert_eq!(timestamp_millis(text), want, "{text}");
        }
    }

    #[test]
    fn due_times() {
        let now = 1_457_920_000_000;
        let input = json!({"expirydate": "2016-03-14T01:59:00Z", "expiryseconds": 10, "neg": -1, "str": "10"});
        let ctx = json!({});
        let p = |s: &str| Path::parse_reference(s).unwrap();
        let cases: Vec<(WaitSpec, Result<i64, &str>)> = vec![
            (WaitSpec::Seconds(10), Ok(now + 10_000)),
            (WaitSpec::Seconds(0), Ok(now)),
            (
                WaitSpec::SecondsPath(p("$.expiryseconds")),
                Ok(now + 10_000),
            ),
            (
                WaitSpec::Timestamp("2016-03-14T01:59:00Z".into()),
                Ok(1_457_920_740_000),
            ),
            (
                WaitSpec::TimestampPath(p("$.expirydate")),
                Ok(1_457_920_740_000),
            ),
            (WaitSpec::Timestamp("2000-01-01T00:00:00Z".into()), Ok(now)),
            (WaitSpec::SecondsPath(p("$.neg")), Err("States.Runtime")),
            (WaitSpec::SecondsPath(p("$.str")), Err("States.Runtime")),
            (WaitSpec::SecondsPath(p("$.missing")), Err("States.Runtime")),
            (
                WaitSpec::TimestampPath(p("$.expiryseconds")),
                Err("States.Runtime"),
            ),
        ];
        for (spec, want) in cases {
            let got = due_time(&spec, &input, &ctx, now).map_err(|e| e.name());
            assert_eq!(got, want, "{spec:?}");
        }
    }
}
