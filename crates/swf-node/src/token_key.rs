//! The leader's part in the cluster's token keyring (`swf_core::keyring`): it draws the key bytes and
//! proposes them, so applying stays deterministic. A leader that finds no keyring creates one (the
//! timer service asks at every takeover, and every poll before it hands out a task, so no task of a
//! keyed cluster gets an unsigned token); `rotate_token_key` serves the admin API.

use std::sync::atomic::Ordering;

use rand::RngCore;
use swf_core::keyring::{encode_key, Keyring, TokenKeyOp, KEY_LEN};
use swf_core::{Command, Op};
use swf_types::Fault;

use super::Executor;

/// 32 bytes from the operating system's random source.
fn fresh_key() -> String {
    let mut key = [0u8; KEY_LEN];
    rand::rngs::OsRng.fill_bytes(&mut key);
    encode_key(&key)
}

impl Executor {
    fn keyring(&self) -> Result<Option<Keyring>, Fault> {
        Keyring::load(&self.reader).map_err(|e| Fault::internal(e.to_string()))
    }

    /// Proposes `op` as the leader's own command (no client request id: it is not de-duplicated).
    async fn propose_token_key(&self, op: TokenKeyOp) -> Result<(), Fault> {
        let cmd = Command {
            now: self.clock.estimate(),
            op: Op::TokenKey(op),
            fresh_ids: Vec::new(),
            request_id: None,
        };
        self.propose_own(cmd).await
    }

    /// Creates the token keyring if the cluster has none (applying a creation when one exists
    /// changes nothing, so leaders racing here are harmless).
    pub(crate) async fn ensure_token_key(&self) -> Result<(), Fault> {
        if self.token_key_ready.load(Ordering::Relaxed) {
            return Ok(());
        }
        if self.keyring()?.is_none() {
            self.propose_token_key(TokenKeyOp::Init { key: fresh_key() })
                .await?;
            tracing::info!("created the cluster's token key");
        }
        self.token_key_ready.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Rotates the token key: a new key signs from now on, tokens signed under the one before stay
    /// valid until the next rotation. Returns the new key's generation.
    pub async fn rotate_token_key(&self) -> Result<u32, Fault> {
        self.propose_token_key(TokenKeyOp::Rotate { key: fresh_key() })
            .await?;
        self.token_key_ready.store(true, Ordering::Relaxed);
        let generation = self.keyring()?.map(|r| r.current()).unwrap_or(0);
        tracing::info!(generation, "rotated the cluster's token key");
        Ok(generation)
    }
}
