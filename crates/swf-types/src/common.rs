//! Wire primitives the model leaves as strings or numbers: timestamps, durations, priorities.

use serde::{Deserialize, Serialize};

/// A point in time: milliseconds since the Unix epoch, stamped by the leader. On the wire it is epoch
/// seconds as a JSON number (fractional), as SWF sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Seconds since the epoch, as sent on the wire.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.as_secs_f64())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let secs = f64::deserialize(d)?;
        Ok(Timestamp((secs * 1000.0).round() as i64))
    }
}

/// A timeout as SWF writes it: a string of whole seconds, or `NONE` for unlimited.
/// Returns `Ok(None)` for `NONE`, `Ok(Some(secs))` for a number, `Err` otherwise.
pub fn parse_duration(s: &str) -> Result<Option<u64>, String> {
    if s == "NONE" {
        return Ok(None);
    }
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "Invalid duration '{s}': must be a whole number of seconds or NONE"
        ));
    }
    s.parse::<u64>()
        .map(Some)
        .map_err(|_| format!("Invalid duration '{s}'"))
}

/// A task priority as SWF writes it: a string holding an integer between -2147483648 and 2147483647.
pub fn parse_priority(s: &str) -> Result<i32, String> {
    s.trim()
        .parse::<i32>()
        .map_err(|_| format!("Invalid task priority '{s}': must be an integer in the 32-bit range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("NONE"), Ok(None));
        assert_eq!(parse_duration("0"), Ok(Some(0)));
        assert_eq!(parse_duration("3600"), Ok(Some(3600)));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("1.5").is_err());
        assert!(parse_duration("none").is_err());
    }

    #[test]
    fn timestamps_are_epoch_seconds() {
        assert_eq!(serde_json::to_string(&Timestamp(1_500)).unwrap(), "1.5");
        assert_eq!(
            serde_json::from_str::<Timestamp>("1700000000").unwrap(),
            Timestamp(1_700_000_000_000)
        );
    }
}
