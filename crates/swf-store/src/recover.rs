//! Recovery of a node whose cluster lost its quorum for good (`swfd recover`): the stopped node's data
//! directory is rewritten so that, on its next start, it forms a new one-voter cluster of itself with
//! everything its log holds (etcd's `--force-new-cluster`).
//!
//! How: a membership entry naming this node alone is appended to its log under a new term, and the
//! node's vote moves to that term. openraft takes the last membership entry of the log as the node's
//! configuration even before it is committed, so on start the node campaigns with a quorum of one,
//! wins, and commits that entry with everything before it. Entries other members held but this node
//! did not are lost, which is why this is the operator's last resort (docs/operations.md).

use std::collections::{BTreeMap, BTreeSet};

use openraft::{BasicNode, CommittedLeaderId, EntryPayload, LogId, Membership, Vote};
use rocksdb::{IteratorMode, WriteBatch, WriteOptions};

use crate::db::{Db, CF_LOGS, CF_META};
use crate::snapshot::{AppliedMeta, KEY_APPLIED};
use crate::TypeConfig;

type Entry = openraft::Entry<TypeConfig>;

/// What a recovery did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// The node's address in its new configuration.
    pub addr: String,
    /// The voters of the configuration it had.
    pub previous_voters: BTreeSet<u64>,
    /// The log id of the appended membership entry.
    pub entry: LogId<u64>,
}

fn read_json<T: serde::de::DeserializeOwned>(
    db: &Db,
    cf: &str,
    key: &[u8],
) -> Result<Option<T>, String> {
    let cf = db
        .cf_handle(cf)
        .ok_or_else(|| format!("no {cf} column family"))?;
    match db.get_cf(cf, key).map_err(|e| e.to_string())? {
        Some(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| e.to_string()),
        None => Ok(None),
    }
}

/// The newest membership this node knows: the last membership entry of its log, else the one its
/// state machine applied.
fn current_membership(db: &Db) -> Result<Option<Membership<u64, BasicNode>>, String> {
    let logs = db.cf_handle(CF_LOGS).ok_or("no logs column family")?;
    for item in db.iterator_cf(logs, IteratorMode::End) {
        let (_, v) = item.map_err(|e| e.to_string())?;
        let entry: Entry = serde_json::from_slice(&v).map_err(|e| e.to_string())?;
        if let EntryPayload::Membership(m) = entry.payload {
            return Ok(Some(m));
        }
    }
    let applied: Option<AppliedMeta> = read_json(db, CF_META, KEY_APPLIED)?;
    Ok(applied.map(|a| a.membership.membership().clone()))
}

/// Makes `node_id` the single voter of a new configuration in the stopped node's database `db`.
/// `addr` is its gRPC address; without it, the address its current configuration has for it.
pub fn force_single_voter(
    db: &Db,
    node_id: u64,
    addr: Option<String>,
) -> Result<Recovered, String> {
    let membership = current_membership(db)?
        .ok_or("this data directory has no cluster configuration (was it ever initialised?)")?;
    let previous_voters: BTreeSet<u64> = membership.voter_ids().collect();
    let addr = match addr {
        Some(a) => a,
        None => membership
            .get_node(&node_id)
            .map(|n| n.addr.clone())
            .ok_or_else(|| {
                format!("node {node_id} is not in this data directory's configuration; give its address")
            })?,
    };
    let vote: Option<Vote<u64>> = read_json(db, CF_META, b"vote")?;
    let logs = db.cf_handle(CF_LOGS).ok_or("no logs column family")?;
    let last: Option<LogId<u64>> = match db.iterator_cf(logs, IteratorMode::End).next() {
        Some(item) => {
            let (_, v) = item.map_err(|e| e.to_string())?;
            let e: Entry = serde_json::from_slice(&v).map_err(|e| e.to_string())?;
            Some(e.log_id)
        }
        None => read_json::<LogId<u64>>(db, CF_META, b"last_purged")?,
    };
    let last_term = last.map_or(0, |l| l.leader_id.term);
    let term = vote.map_or(0, |v| v.leader_id.term).max(last_term) + 1;
    let index = last.map_or(0, |l| l.index + 1);
    let entry = Entry {
        log_id: LogId::new(CommittedLeaderId::new(term, node_id), index),
        payload: EntryPayload::Membership(Membership::new(
            vec![BTreeSet::from([node_id])],
            BTreeMap::from([(node_id, BasicNode { addr: addr.clone() })]),
        )),
    };
    let mut batch = WriteBatch::default();
    batch.put_cf(
        logs,
        index.to_be_bytes(),
        serde_json::to_vec(&entry).map_err(|e| e.to_string())?,
    );
    let meta = db.cf_handle(CF_META).ok_or("no meta column family")?;
    batch.put_cf(
        meta,
        b"vote",
        serde_json::to_vec(&Vote::new(term, node_id)).map_err(|e| e.to_string())?,
    );
    let mut sync = WriteOptions::default();
    sync.set_sync(true);
    db.write_opt(batch, &sync).map_err(|e| e.to_string())?;
    Ok(Recovered {
        addr,
        previous_voters,
        entry: entry.log_id,
    })
}
