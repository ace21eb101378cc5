//! Task tokens: opaque strings naming one attempt of one task. A token is the run id, the task's
//! scheduled event id and its started event id; since every start appends a new started event, a token
//! from an earlier attempt can never match a later one. Tokens are derived from applied state only, so
//! they stay valid across restarts and leader changes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::state::TaskKind;

/// The decoded content of a task token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskToken {
    pub kind: TaskKind,
    pub run_id: String,
    pub scheduled_event_id: i64,
    pub started_event_id: i64,
}

const VERSION: &str = "1";

impl TaskToken {
    /// The opaque wire form.
    pub fn encode(&self) -> String {
        let kind = match self.kind {
            TaskKind::Decision => "d",
            TaskKind::Activity => "a",
        };
        let raw = format!(
            "{VERSION}:{kind}:{}:{}:{}",
            self.scheduled_event_id, self.started_event_id, self.run_id
        );
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Decodes a token; `None` for anything that is not a token we issued.
    pub fn decode(token: &str) -> Option<TaskToken> {
        let raw = URL_SAFE_NO_PAD.decode(token.as_bytes()).ok()?;
        let raw = String::from_utf8(raw).ok()?;
        let mut parts = raw.splitn(5, ':');
        if parts.next()? != VERSION {
            return None;
        }
        let kind = match parts.next()? {
            "d" => TaskKind::Decision,
            "a" => TaskKind::Activity,
            _ => return None,
        };
        let scheduled_event_id = parts.next()?.parse().ok()?;
        let started_event_id = parts.next()?.parse().ok()?;
        let run_id = parts.next()?.to_string();
        if run_id.is_empty() {
            return None;
        }
        Some(TaskToken {
            kind,
            run_id,
            scheduled_event_id,
            started_event_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage() {
        let t = TaskToken {
            kind: TaskKind::Activity,
            run_id: "ab+/cd=:x".into(),
            scheduled_event_id: 5,
            started_event_id: 7,
        };
        let s = t.encode();
        assert!(s.len() <= 1024);
        assert_eq!(TaskToken::decode(&s), Some(t));
        for garbage in [
            "",
            "x",
            "!!!!",
            "MTp6OjE6Mjp4",
            &URL_SAFE_NO_PAD.encode("1:a:1:2:"),
        ] {
            assert_eq!(TaskToken::decode(garbage), None, "{garbage}");
        }
    }
}
