//! The cluster's apply version: which behaviour of `apply` every replica follows.
//!
//! Replicas stay identical only if they apply each log entry the same way, so a change in how an
//! entry is applied (a new rule, a record written in a new form) must not take effect while a node of
//! the release before it is still a member (a rolling upgrade holds both for a while). Each release
//! knows the versions up to [`APPLY_VERSION`]; the cluster's version is part of the replicated state,
//! and the leader raises it (`Op::RaiseApplyVersion`) only once every member has told it that it
//! applies the new version too (swf-node's `apply_version` module). A change of behaviour is then
//! written as `if apply_version::load(state)? >= N { new } else { old }` with `APPLY_VERSION` raised
//! to `N`, and a test of both sides (`dedup::key` is the first).
//!
//! - **Where.** One record under [`APPLY_VERSION_KEY`] in the keyspace of opaque records (the store's
//!   `sfn` column family, beside the token keyring), so snapshots, digests and backups carry it.
//! - **No record** is version [`BASE_APPLY_VERSION`]: a cluster created before the record existed, or
//!   one whose leader has not raised it yet.
//! - **Never lowered.** Raising to a version at or below the current one changes nothing. Applying a
//!   raise beyond what this build knows is an error that stops the node's state machine (openraft
//!   treats it as fatal): going on would apply later entries by the wrong rules. A node also refuses
//!   to start on state above what it knows (`check_supported`).
//!
//! Versions:
//! 1. Every release before the record existed.
//! 2. The same rules; the version is recorded.
//! 3. A request id `CALL~DEDUP` is de-duplicated by `DEDUP` (the client's invocation id, `dedup`).
//! 4. A run with few open items keeps them inside its record instead of under keys of their own
//!    (`items`, [`EMBEDDED_ITEMS`]).

use serde::{Deserialize, Serialize};
use swf_types::Timestamp;

use crate::command::{Outcome, Reply};
use crate::ctx::Ctx;
use crate::state::{Lookup, ReadError, Write};

/// The highest apply version this build knows.
pub const APPLY_VERSION: u32 = 4;
/// The version from which a run with few open items keeps them in its record (`items`).
pub const EMBEDDED_ITEMS: u32 = 4;
/// The version of a state without a record.
pub const BASE_APPLY_VERSION: u32 = 1;
/// The record's key in the `sfn` keyspace (`sfn::keys::APPLY_VERSION`).
pub const APPLY_VERSION_KEY: &[u8] = &[crate::sfn::keys::APPLY_VERSION];

/// The stored record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyVersionRecord {
    pub version: u32,
    /// When the leader raised it to `version` (cluster time).
    pub raised: Timestamp,
}

/// The cluster's apply version in applied state.
pub fn load<S: Lookup + ?Sized>(s: &S) -> Result<u32, ReadError> {
    Ok(record(s)?.map_or(BASE_APPLY_VERSION, |r| r.version))
}

/// The stored record, if the version was ever raised.
pub fn record<S: Lookup + ?Sized>(s: &S) -> Result<Option<ApplyVersionRecord>, ReadError> {
    match s.sfn_get(APPLY_VERSION_KEY)? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| ReadError(format!("apply version record: {e}"))),
    }
}

/// Refuses state whose apply version is above `supported` (what the running build applies), with the
/// message an operator reads at start.
pub fn check_supported<S: Lookup + ?Sized>(s: &S, supported: u32) -> Result<u32, String> {
    let version = load(s).map_err(|e| e.0)?;
    if version > supported {
        return Err(too_high(version, supported));
    }
    Ok(version)
}

fn too_high(version: u32, supported: u32) -> String {
    format!(
        "the cluster applies log entries by the rules of apply version {version}, and this build \
         knows versions up to {supported}: run a release that knows version {version} (a release \
         never goes back to an older one once every member has moved on)"
    )
}

impl<S: Lookup + ?Sized> Ctx<'_, S> {
    /// Applies `Op::RaiseApplyVersion`.
    pub(crate) fn raise_apply_version(&mut self, version: u32) -> Result<Outcome, ReadError> {
        if version > APPLY_VERSION {
            return Err(ReadError(too_high(version, APPLY_VERSION)));
        }
        if version <= load(self.state)? {
            return Ok(Ok(Reply::Done));
        }
        let record = ApplyVersionRecord {
            version,
            raised: self.now,
        };
        self.writes.push(Write::Sfn {
            key: APPLY_VERSION_KEY.to_vec(),
            value: Some(serde_json::to_vec(&record).expect("record serializes")),
        });
        Ok(Ok(Reply::Done))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{Command, Op};
    use crate::memstate::MemState;

    fn raise(state: &MemState, version: u32, now: i64) -> Result<crate::Applied, ReadError> {
        let cmd = Command {
            now: Timestamp(now),
            op: Op::RaiseApplyVersion { version },
            fresh_ids: vec![],
            request_id: None,
        };
        crate::apply(state, 1, &cmd, &crate::Limits::default())
    }

    #[test]
    fn a_state_without_a_record_is_at_the_base_version() {
        let s = MemState::default();
        assert_eq!(load(&s).unwrap(), BASE_APPLY_VERSION);
        assert_eq!(record(&s).unwrap(), None);
        assert_eq!(
            check_supported(&s, BASE_APPLY_VERSION),
            Ok(BASE_APPLY_VERSION)
        );
    }

    #[test]
    fn raising_records_the_version_and_never_lowers_it() {
        let mut s = MemState::default();
        // (raise to, expected version after, writes something)
        let table = [
            (APPLY_VERSION, APPLY_VERSION, true),
            (APPLY_VERSION, APPLY_VERSION, false),
            (BASE_APPLY_VERSION, APPLY_VERSION, false),
            (0, APPLY_VERSION, false),
        ];
        for (i, (to, after, writes)) in table.into_iter().enumerate() {
            let applied = raise(&s, to, 10 + i as i64).unwrap();
            assert_eq!(applied.outcome, Ok(Reply::Done), "row {i}");
            assert_eq!(!applied.writes.is_empty(), writes, "row {i}");
            s.write(applied.writes);
            assert_eq!(load(&s).unwrap(), after, "row {i}");
        }
        // The record keeps when it was raised (the first row's time).
        assert_eq!(
            record(&s).unwrap(),
            Some(ApplyVersionRecord {
                version: APPLY_VERSION,
                raised: Timestamp(10)
            })
        );
    }

    #[test]
    fn a_version_this_build_does_not_know_stops_apply_and_start() {
        let mut s = MemState::default();
        let err = raise(&s, APPLY_VERSION + 1, 5).unwrap_err();
        assert!(
            err.0
                .contains(&format!("apply version {}", APPLY_VERSION + 1)),
            "{err:?}"
        );
        assert_eq!(load(&s).unwrap(), BASE_APPLY_VERSION, "nothing written");
        s.write(raise(&s, APPLY_VERSION, 5).unwrap().writes);
        assert_eq!(check_supported(&s, APPLY_VERSION), Ok(APPLY_VERSION));
        let refused = check_supported(&s, APPLY_VERSION - 1).unwrap_err();
        assert!(
            refused.contains(&format!(
                "apply version {APPLY_VERSION}, and this build knows versions up to {}",
                APPLY_VERSION - 1
            )),
            "{refused}"
        );
    }
}
