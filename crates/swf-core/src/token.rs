//! Task tokens: opaque strings naming one attempt of one task. A token is the run id, the task's
//! scheduled event id and its started event id; since every start appends a new started event, a token
//! from an earlier attempt can never match a later one.
//!
//! Two wire forms:
//! - **signed** (version 2, what this release hands out once the cluster has a token keyring):
//!   `base64url("2:<d|a>:<scheduled>:<started>:<runId>") "." <key generation> "." base64url(mac)`, the
//!   MAC being HMAC-SHA256 under the cluster key of that generation (`crate::keyring`). Nobody without
//!   the key can make one, whatever they read from a history; the keyring is replicated state, so a
//!   token stays valid across restarts and leader changes (and one key rotation).
//! - **unsigned** (version 1, earlier releases): `base64url("1:<d|a>:<scheduled>:<started>:<runId>")`.
//!   Anyone who can read a history can build one, so it is accepted only for a task whose record says
//!   it was started without a signed token (`token_signed` false: started before the keyring existed);
//!   such tokens keep working until their tasks close.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::keyring::{join_signed, split_signed, Keyring};
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
const SIGNED_VERSION: &str = "2";
/// What a task token's MAC covers besides its body.
const LABEL: &str = "swfd task token";

/// A token that passed [`TaskToken::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// Signed under a key of the keyring: ours.
    Signed(TaskToken),
    /// The unsigned form of earlier releases: good only for a task started without a signed token.
    Unsigned(TaskToken),
}

impl Checked {
    /// The token, if it may act on a task whose token was signed (`token_signed`) or not.
    pub fn for_task(self, token_signed: bool) -> Option<TaskToken> {
        match self {
            Checked::Signed(t) => Some(t),
            Checked::Unsigned(t) if !token_signed => Some(t),
            Checked::Unsigned(_) => None,
        }
    }

    /// The token, whichever form.
    pub fn token(&self) -> &TaskToken {
        match self {
            Checked::Signed(t) | Checked::Unsigned(t) => t,
        }
    }
}

impl TaskToken {
    fn body(&self, version: &str) -> String {
        let kind = match self.kind {
            TaskKind::Decision => "d",
            TaskKind::Activity => "a",
        };
        format!(
            "{version}:{kind}:{}:{}:{}",
            self.scheduled_event_id, self.started_event_id, self.run_id
        )
    }

    /// The unsigned wire form of earlier releases (still handed out by a cluster without a keyring).
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.body(VERSION))
    }

    /// The signed wire form, under the keyring's current key.
    pub fn sign(&self, ring: &Keyring) -> String {
        let body = self.body(SIGNED_VERSION);
        let (generation, mac) = ring.sign(LABEL, &[body.as_bytes()]);
        join_signed(body.as_bytes(), generation, &mac)
    }

    /// The token to hand out for a task just started: (token, whether it is signed).
    pub fn issue(&self, ring: Option<&Keyring>) -> (String, bool) {
        match ring {
            Some(r) => (self.sign(r), true),
            None => (self.encode(), false),
        }
    }

    /// Checks a token from a client: a signed one must verify under a key the keyring still holds;
    /// an unsigned one is only parsed (the caller decides with [`Checked::for_task`]). `None` for
    /// garbage, a forged or altered signed token, or one signed under a key rotated out.
    pub fn check(token: &str, ring: Option<&Keyring>) -> Option<Checked> {
        if !token.contains('.') {
            return TaskToken::decode(token).map(Checked::Unsigned);
        }
        let (body, generation, mac) = split_signed(token)?;
        if !ring?.verify(generation, LABEL, &[&body], &mac) {
            return None;
        }
        let body = String::from_utf8(body).ok()?;
        TaskToken::parse(&body, SIGNED_VERSION).map(Checked::Signed)
    }

    /// Decodes an unsigned token; `None` for anything that is not one.
    pub fn decode(token: &str) -> Option<TaskToken> {
        let raw = URL_SAFE_NO_PAD.decode(token.as_bytes()).ok()?;
        let raw = String::from_utf8(raw).ok()?;
        TaskToken::parse(&raw, VERSION)
    }

    fn parse(raw: &str, version: &str) -> Option<TaskToken> {
        let mut parts = raw.splitn(5, ':');
        if parts.next()? != version {
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

    fn ring(generations: &[(u32, u8)]) -> Keyring {
        Keyring {
            keys: generations
                .iter()
                .map(|&(generation, b)| crate::keyring::TokenKey {
                    generation,
                    key: crate::keyring::encode_key(&[b; 32]),
                    created: swf_types::Timestamp(0),
                })
                .collect(),
        }
    }

    #[test]
    fn signed_tokens_verify_and_nothing_else_does() {
        let t = TaskToken {
            kind: TaskKind::Decision,
            run_id: "r1".into(),
            scheduled_event_id: 2,
            started_event_id: 3,
        };
        let r1 = ring(&[(1, 7)]);
        let (s, signed) = t.issue(Some(&r1));
        assert!(signed && s.len() <= 1024);
        assert_eq!(
            TaskToken::check(&s, Some(&r1)),
            Some(Checked::Signed(t.clone()))
        );
        // Another cluster's key, no keyring, a key no longer kept (rotated out): refused.
        assert_eq!(TaskToken::check(&s, Some(&ring(&[(1, 8)]))), None);
        assert_eq!(TaskToken::check(&s, None), None);
        assert_eq!(TaskToken::check(&s, Some(&ring(&[(2, 1), (3, 2)]))), None);
        // One rotation: still good.
        assert!(TaskToken::check(&s, Some(&ring(&[(1, 7), (2, 1)]))).is_some());
        // Any single character changed (body, generation, MAC): refused.
        for i in 0..s.len() {
            let mut b = s.clone().into_bytes();
            b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            let changed = String::from_utf8(b).unwrap();
            assert_eq!(TaskToken::check(&changed, Some(&r1)), None, "{changed}");
        }
        // A token rebuilt from what a history shows is the unsigned form: only for unsigned tasks.
        let rebuilt = TaskToken::check(&t.encode(), Some(&r1)).unwrap();
        assert_eq!(rebuilt.clone().for_task(true), None);
        assert_eq!(rebuilt.for_task(false), Some(t.clone()));
        assert_eq!(t.issue(None), (t.encode(), false));
    }
}
