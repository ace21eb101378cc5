//! The cluster's token keyring: the HMAC-SHA256 keys that task tokens and page tokens are signed
//! with. It is replicated state like any record, so every node signs and checks with the same keys
//! and a token stays valid across restarts and leader changes. The key bytes are drawn by the leader
//! and stamped into the command (`Op::TokenKey`): applying stays deterministic.
//!
//! - **Creation.** A leader that finds no keyring proposes `TokenKeyOp::Init` (a new cluster right
//!   after it forms, a data directory of an earlier release at its first leader); applying it when a
//!   keyring exists changes nothing, so two leaders racing to create one are harmless.
//! - **Rotation.** `TokenKeyOp::Rotate` (the admin API's `POST /cluster/token-key/rotate`, `swfd admin
//!   rotate-token-key`) adds a key of the next generation, which signs from then on, and keeps the
//!   retired keys, so a token signed under one of them stays valid while its task is open: up to
//!   [`KEEP`] keys in all (the current one and `KEEP - 1` retired ones), the oldest dropped first. A
//!   token outlives `KEEP - 1` rotations, not `KEEP`: rotate no more often than the longest task
//!   runs divided by that. A generation no longer kept (or never made) verifies nothing.
//! - **Where.** One record under [`KEYRING_KEY`] in the keyspace of opaque records (the store's `sfn`
//!   column family), so snapshots, digests and installs carry it with no store change.
//!
//! Every signature covers a label naming what is signed (task token, page token) and its parts,
//! length-prefixed, so no signed value can stand for another.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use swf_types::Timestamp;

use crate::state::{Lookup, ReadError};

/// The keyring's key in the `sfn` keyspace (its leading byte is no Step Functions record kind).
pub const KEYRING_KEY: &[u8] = b"k";
/// Bytes of one key.
pub const KEY_LEN: usize = 32;
/// Bytes of one signature (a whole HMAC-SHA256 tag).
pub const MAC_LEN: usize = 32;
/// Keys kept: the current one and up to seven retired ones. Bounded so the record (read for every
/// token signed or checked) stays small: about 100 bytes a key.
pub const KEEP: usize = 8;

/// What an `Op::TokenKey` command does: part of the log format, so defined in `command`.
pub use crate::command::TokenKeyOp;

/// One signing key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenKey {
    /// 1 for the first key, one more for each rotation.
    pub generation: u32,
    /// The key bytes, base64.
    pub key: String,
    /// When the key was installed (the command's time).
    pub created: Timestamp,
}

/// The keys in use, oldest first; the last one signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keyring {
    pub keys: Vec<TokenKey>,
}

pub(crate) fn key_bytes(key: &str) -> Option<Vec<u8>> {
    STANDARD.decode(key).ok().filter(|k| k.len() == KEY_LEN)
}

/// HMAC-SHA256 under `key` of `label` and `parts`, each length-prefixed.
fn tag(key: &[u8], label: &str, parts: &[&[u8]]) -> Hmac<Sha256> {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    for p in std::iter::once(label.as_bytes()).chain(parts.iter().copied()) {
        mac.update(&(p.len() as u32).to_be_bytes());
        mac.update(p);
    }
    mac
}

impl Keyring {
    /// The keyring in applied state, if one was created.
    pub fn load<S: Lookup + ?Sized>(s: &S) -> Result<Option<Keyring>, ReadError> {
        match s.sfn_get(KEYRING_KEY)? {
            None => Ok(None),
            Some(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| ReadError(format!("token keyring: {e}"))),
        }
    }

    /// The generation that signs new tokens.
    pub fn current(&self) -> u32 {
        self.keys.last().map(|k| k.generation).unwrap_or(0)
    }

    fn bytes(&self, generation: u32) -> Option<Vec<u8>> {
        self.keys
            .iter()
            .find(|k| k.generation == generation)
            .and_then(|k| key_bytes(&k.key))
    }

    /// Signs `parts` under the current key: (generation, signature).
    pub fn sign(&self, label: &str, parts: &[&[u8]]) -> (u32, [u8; MAC_LEN]) {
        let generation = self.current();
        let key = self.bytes(generation).unwrap_or_default();
        (
            generation,
            tag(&key, label, parts).finalize().into_bytes().into(),
        )
    }

    /// Whether `signature` is that of `parts` under key `generation` (compared in constant time); a
    /// generation no longer kept never verifies.
    pub fn verify(&self, generation: u32, label: &str, parts: &[&[u8]], signature: &[u8]) -> bool {
        match self.bytes(generation) {
            Some(key) => tag(&key, label, parts).verify_slice(signature).is_ok(),
            None => false,
        }
    }
}

/// The signer of page tokens: the keyring, or, before a cluster has one, generation 0 under an
/// empty key (such tokens stop verifying once the keyring exists; a client then starts its listing
/// again, as after an expired token).
pub fn sign_or_unkeyed(
    ring: Option<&Keyring>,
    label: &str,
    parts: &[&[u8]],
) -> (u32, [u8; MAC_LEN]) {
    match ring {
        Some(r) => r.sign(label, parts),
        None => (0, tag(&[], label, parts).finalize().into_bytes().into()),
    }
}

/// Verifies what [`sign_or_unkeyed`] signed.
pub fn verify_or_unkeyed(
    ring: Option<&Keyring>,
    generation: u32,
    label: &str,
    parts: &[&[u8]],
    signature: &[u8],
) -> bool {
    match ring {
        Some(r) => r.verify(generation, label, parts, signature),
        None => generation == 0 && tag(&[], label, parts).verify_slice(signature).is_ok(),
    }
}

/// Splits `<base64url(body)>.<generation>.<base64url(signature)>`.
pub fn split_signed(token: &str) -> Option<(Vec<u8>, u32, Vec<u8>)> {
    let mut parts = token.split('.');
    let (body, generation, signature) = (parts.next()?, parts.next()?, parts.next()?);
    // One spelling per token: decimal digits, no sign, no leading zero (fuzzing found `00` passing
    // as `0`, a second wire form of the same token).
    let canonical = !generation.is_empty()
        && generation.len() <= 10
        && generation.bytes().all(|b| b.is_ascii_digit())
        && (generation == "0" || !generation.starts_with('0'));
    if parts.next().is_some() || !canonical {
        return None;
    }
    let generation: u32 = generation.parse().ok()?;
    let body = URL_SAFE_NO_PAD.decode(body).ok()?;
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    (signature.len() == MAC_LEN).then_some((body, generation, signature))
}

/// Joins what [`split_signed`] splits.
pub fn join_signed(body: &[u8], generation: u32, signature: &[u8]) -> String {
    format!(
        "{}.{generation}.{}",
        URL_SAFE_NO_PAD.encode(body),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

/// A fresh key in the form a command carries it (the leader draws the bytes).
pub fn encode_key(bytes: &[u8; KEY_LEN]) -> String {
    STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{Command, Op, Reply};
    use crate::memstate::MemState;

    fn key(b: u8) -> String {
        encode_key(&[b; KEY_LEN])
    }

    fn run(state: &mut MemState, op: TokenKeyOp) {
        let cmd = Command {
            now: Timestamp(5),
            op: Op::TokenKey(op),
            fresh_ids: vec![],
            request_id: None,
        };
        let applied = crate::apply(&*state, 1, &cmd, &crate::Limits::default()).unwrap();
        assert_eq!(applied.outcome, Ok(Reply::Done));
        state.write(applied.writes);
    }

    #[test]
    fn init_once_rotate_keeps_retired_keys_up_to_the_bound() {
        let mut s = MemState::default();
        assert_eq!(Keyring::load(&s).unwrap(), None);
        run(&mut s, TokenKeyOp::Init { key: key(1) });
        run(&mut s, TokenKeyOp::Init { key: key(2) });
        let ring = Keyring::load(&s).unwrap().unwrap();
        assert_eq!(
            (ring.current(), ring.keys.len(), &ring.keys[0].key),
            (1, 1, &key(1))
        );
        let (g1, sig1) = ring.sign("t", &[b"x"]);
        run(&mut s, TokenKeyOp::Rotate { key: key(3) });
        let ring = Keyring::load(&s).unwrap().unwrap();
        assert_eq!(ring.current(), 2);
        assert!(
            ring.verify(g1, "t", &[b"x"], &sig1),
            "one rotation: still valid"
        );
        assert!(!ring.verify(g1, "t", &[b"y"], &sig1));
        assert!(!ring.verify(g1, "u", &[b"x"], &sig1), "the label is signed");
        run(&mut s, TokenKeyOp::Rotate { key: key(4) });
        let ring = Keyring::load(&s).unwrap().unwrap();
        assert_eq!(ring.current(), 3);
        assert!(ring.verify(g1, "t", &[b"x"], &sig1), "two rotations: kept");
        assert!(
            !ring.verify(4, "t", &[b"x"], &sig1) && !ring.verify(0, "t", &[b"x"], &sig1),
            "a generation never made verifies nothing"
        );
        // Rotations up to KEEP - 1 after g1 keep it; the next one drops it (oldest first).
        for i in 3..KEEP as u8 {
            run(&mut s, TokenKeyOp::Rotate { key: key(2 + i) });
        }
        let ring = Keyring::load(&s).unwrap().unwrap();
        assert_eq!((ring.current() as usize, ring.keys.len()), (KEEP, KEEP));
        assert!(
            ring.verify(g1, "t", &[b"x"], &sig1),
            "KEEP - 1 rotations: kept"
        );
        run(&mut s, TokenKeyOp::Rotate { key: key(99) });
        let ring = Keyring::load(&s).unwrap().unwrap();
        assert_eq!(ring.keys.len(), KEEP);
        assert_eq!(ring.keys[0].generation, 2);
        assert!(
            !ring.verify(g1, "t", &[b"x"], &sig1),
            "KEEP rotations: gone"
        );
    }

    #[test]
    fn a_bad_key_is_refused_and_parts_are_length_prefixed() {
        let s = MemState::default();
        let cmd = Command {
            now: Timestamp(5),
            op: Op::TokenKey(TokenKeyOp::Init {
                key: "c2hvcnQ=".into(),
            }),
            fresh_ids: vec![],
            request_id: None,
        };
        let applied = crate::apply(&s, 1, &cmd, &crate::Limits::default()).unwrap();
        assert!(applied.outcome.is_err() && applied.writes.is_empty());
        let ring = Keyring {
            keys: vec![TokenKey {
                generation: 1,
                key: key(9),
                created: Timestamp(0),
            }],
        };
        let (g, sig) = ring.sign("t", &[b"ab", b"c"]);
        assert!(!ring.verify(g, "t", &[b"a", b"bc"], &sig));
        for bad in ["", "a.b", "a.1.b.c", "YQ.x.YQ", "YQ.+1.YQ", "YQ.1.YQ"] {
            assert_eq!(split_signed(bad), None, "{bad}");
        }
        let t = join_signed(b"body", 7, &sig);
        assert_eq!(split_signed(&t), Some((b"body".to_vec(), 7, sig.to_vec())));
        // Found by fuzzing (the `tokens` target): a generation with a leading zero was a second
        // spelling of the same token. Only the canonical one is taken.
        let mac = URL_SAFE_NO_PAD.encode(sig);
        for other in ["07", "007", "+7", "-7", " 7"] {
            assert_eq!(
                split_signed(&format!("Ym9keQ.{other}.{mac}")),
                None,
                "{other}"
            );
        }
        assert!(split_signed(&format!("Ym9keQ.0.{mac}")).is_some());
    }
}
