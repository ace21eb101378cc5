//! A fingerprint of a replica's applied state, so replicas can be compared (the chaos suite's
//! "identical state at the same applied index" check). The digest covers every state column family
//! and the applied log id, all read from one RocksDB snapshot, so the index and the state it names
//! are consistent. Each column family gets its own hash and entry count, which localizes a divergence.

use std::collections::BTreeMap;

use openraft::LogId;
use rocksdb::{IteratorMode, ReadOptions};
use serde::{Deserialize, Serialize};
use swf_core::state::ReadError;

use crate::db::*;
use crate::reader::StateReader;

/// The applied-meta key of the state machine (see `state_machine`).
const KEY_APPLIED: &[u8] = b"applied";

/// A replica's state fingerprint at one applied log index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateDigest {
    /// The last applied log index (absent before anything was applied).
    pub last_applied: Option<u64>,
    /// The term of the last applied entry.
    pub last_applied_term: Option<u64>,
    /// Hash of all state column families (hex, 128-bit FNV-1a over length-framed keys and values).
    pub digest: String,
    /// Per column family: `{"entries": N, "hash": "..."}`.
    pub column_families: BTreeMap<String, CfDigest>,
}

/// One column family's part of a digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CfDigest {
    pub entries: u64,
    pub hash: String,
}

#[derive(Deserialize)]
struct AppliedIndex {
    last_applied: Option<LogId<u64>>,
}

/// 128-bit FNV-1a: small, deterministic across processes and platforms, good enough to tell
/// replicas apart (this is a consistency check, not a security boundary).
struct Fnv128(u128);

impl Fnv128 {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;

    fn new() -> Fnv128 {
        Fnv128(Self::OFFSET)
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= *b as u128;
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }

    /// Writes a length prefix and then the bytes, so no two sequences of fields hash the same stream.
    fn write_framed(&mut self, bytes: &[u8]) {
        self.write(&(bytes.len() as u64).to_be_bytes());
        self.write(bytes);
    }

    fn hex(&self) -> String {
        format!("{:032x}", self.0)
    }
}

impl StateReader {
    /// The digest of the applied state, read at one RocksDB snapshot.
    pub fn digest(&self) -> Result<StateDigest, ReadError> {
        let err = |e: rocksdb::Error| ReadError(e.to_string());
        let db = &self.db;
        let cf = |name: &str| db.cf_handle(name).expect("column family exists");
        let snap = db.snapshot();
        let applied = match snap.get_cf(cf(CF_META), KEY_APPLIED).map_err(err)? {
            Some(b) => {
                serde_json::from_slice::<AppliedIndex>(&b)
                    .map_err(|e| ReadError(e.to_string()))?
                    .last_applied
            }
            None => None,
        };
        let mut all = Fnv128::new();
        let mut column_families = BTreeMap::new();
        for name in STATE_CFS {
            let mut opts = ReadOptions::default();
            opts.set_snapshot(&snap);
            let mut h = Fnv128::new();
            let mut entries = 0u64;
            for item in db.iterator_cf_opt(cf(name), opts, IteratorMode::Start) {
                let (k, v) = item.map_err(err)?;
                h.write_framed(&k);
                h.write_framed(&v);
                entries += 1;
            }
            all.write_framed(name.as_bytes());
            all.write(&entries.to_be_bytes());
            all.write(&h.0.to_be_bytes());
            column_families.insert(
                name.to_string(),
                CfDigest {
                    entries,
                    hash: h.hex(),
                },
            );
        }
        Ok(StateDigest {
            last_applied: applied.map(|l| l.index),
            last_applied_term: applied.map(|l| l.leader_id.term),
            digest: all.hex(),
            column_families,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_separates_fields() {
        let mut a = Fnv128::new();
        a.write_framed(b"ab");
        a.write_framed(b"c");
        let mut b = Fnv128::new();
        b.write_framed(b"a");
        b.write_framed(b"bc");
        assert_ne!(a.hex(), b.hex());
    }

    #[test]
    fn digest_changes_with_state_and_matches_for_equal_state() {
        let d1 = tempfile::tempdir().unwrap();
        let d2 = tempfile::tempdir().unwrap();
        let db1 = open_db(d1.path()).unwrap();
        let db2 = open_db(d2.path()).unwrap();
        let (r1, r2) = (StateReader::new(db1.clone()), StateReader::new(db2.clone()));
        assert_eq!(r1.digest().unwrap(), r2.digest().unwrap());
        assert_eq!(r1.digest().unwrap().last_applied, None);
        for db in [&db1, &db2] {
            db.put_cf(db.cf_handle(CF_DOMAINS).unwrap(), b"d", b"{}")
                .unwrap();
        }
        assert_eq!(r1.digest().unwrap(), r2.digest().unwrap());
        db2.put_cf(db2.cf_handle(CF_HISTORY).unwrap(), b"h", b"1")
            .unwrap();
        let (a, b) = (r1.digest().unwrap(), r2.digest().unwrap());
        assert_ne!(a.digest, b.digest);
        assert_eq!(a.column_families["domains"], b.column_families["domains"]);
        assert_ne!(a.column_families["history"], b.column_families["history"]);
    }
}
