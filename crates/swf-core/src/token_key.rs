//! Applying `Op::TokenKey`: creating or rotating the cluster's token keyring (the records and the MAC
//! code are in `keyring`, which stays free of behaviour so the token codecs can use it).

use swf_types::Fault;

use crate::command::{Outcome, Reply, TokenKeyOp};
use crate::ctx::Ctx;
use crate::keyring::{key_bytes, Keyring, TokenKey, KEEP, KEYRING_KEY};
use crate::state::{Lookup, ReadError, Write};

impl<S: Lookup + ?Sized> Ctx<'_, S> {
    /// Applies `Op::TokenKey`.
    pub(crate) fn token_key(&mut self, op: &TokenKeyOp) -> Result<Outcome, ReadError> {
        let (key, rotate) = match op {
            TokenKeyOp::Init { key } => (key, false),
            TokenKeyOp::Rotate { key } => (key, true),
        };
        if key_bytes(key).is_none() {
            return Ok(Err(Fault::validation("A token key is 32 bytes in base64")));
        }
        let mut ring = match Keyring::load(self.state)? {
            Some(_) if !rotate => return Ok(Ok(Reply::Done)),
            Some(r) => r,
            None => Keyring { keys: Vec::new() },
        };
        let generation = ring.current() + 1;
        ring.keys.push(TokenKey {
            generation,
            key: key.clone(),
            created: self.now,
        });
        let excess = ring.keys.len().saturating_sub(KEEP);
        ring.keys.drain(..excess);
        self.writes.push(Write::Sfn {
            key: KEYRING_KEY.to_vec(),
            value: Some(serde_json::to_vec(&ring).expect("keyring serializes")),
        });
        Ok(Ok(Reply::Done))
    }
}
