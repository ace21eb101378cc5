//! Online backups (`swfd admin backup`) and restoring one into the data directory of a new cluster
//! (`swfd restore`).
//!
//! A backup file is:
//! - the magic `SWFBKUP1`, a big-endian u32 length and that many bytes of JSON: the [`BackupHeader`]
//!   (format version, cluster id, applied index and term, creation time, source node);
//! - the applied state at that index, in the snapshot file format (`snapshot::export`: its own header,
//!   the records of every state column family, the record count and checksum);
//! - the trailer: the magic `SWFBEND1` and the SHA-256 of every byte before the trailer.
//!
//! It is written front to back in one pass (`write`), so a node streams it to the client without
//! holding it; a truncated transfer has no valid trailer. The state comes from one RocksDB snapshot,
//! and every applied entry is one write batch that includes the applied log id, so the state is
//! exactly that of the applied index in the header.
//!
//! Restoring (`restore`) checks the whole file (magic, header, format version, the SHA-256, then every
//! record and the snapshot checksum) before it creates the database, into a data directory that must
//! be empty or absent. It installs the state through the snapshot install path with the membership
//! given (a new configuration at the backed-up log id), records the backed-up log id as the purged end
//! of an empty log and as committed, and gives the directory a fresh cluster id. The token keyring is
//! part of the replicated state, so task and page tokens issued before the backup stay valid.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use openraft::{BasicNode, LogId, Membership, StoredMembership, Vote};
use rocksdb::{WriteBatch, WriteOptions};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::db::{open_db, Db, CF_META};
use crate::log_store::{KEY_COMMITTED, KEY_PURGED, KEY_VOTE};
use crate::snapshot::{self, Meta};

/// First bytes of a backup file.
pub const MAGIC: &[u8; 8] = b"SWFBKUP1";
/// First bytes of its trailer.
pub const TRAILER_MAGIC: &[u8; 8] = b"SWFBEND1";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Length of the trailer: its magic and a SHA-256.
const TRAILER_LEN: u64 = 8 + 32;
/// Largest header accepted (it is a few hundred bytes).
const MAX_HEADER: usize = 1 << 20;
/// The meta key of the cluster id.
const KEY_CLUSTER_ID: &[u8] = b"cluster_id";

/// What a backup says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupHeader {
    pub format_version: u32,
    /// The id of the cluster it was taken from (`None` when the serving node does not know it: a node
    /// that joined a cluster formed before cluster ids existed).
    pub cluster_id: Option<String>,
    /// The applied log index (and its term) of the state it holds.
    pub applied_index: u64,
    pub applied_term: u64,
    /// When it was taken, in milliseconds since the Unix epoch (the serving node's clock).
    pub created_at_ms: u64,
    /// The node that wrote it.
    pub source_node_id: u64,
    /// The voters of the cluster at the backed-up index.
    pub source_voters: Vec<u64>,
}

/// What a restore did.
#[derive(Debug, Clone, Serialize)]
pub struct Restored {
    pub header: BackupHeader,
    pub cluster_id: String,
    pub sha256: String,
}

/// The cluster id recorded in `db`, if any.
pub fn cluster_id(db: &Db) -> io::Result<Option<String>> {
    let cf = db
        .cf_handle(CF_META)
        .ok_or_else(|| io::Error::other("missing meta column family"))?;
    Ok(db
        .get_cf(cf, KEY_CLUSTER_ID)
        .map_err(io::Error::other)?
        .map(|b| String::from_utf8_lossy(&b).into_owned()))
}

/// Records `id` as the cluster id of `db` unless it has one.
pub fn ensure_cluster_id(db: &Db, id: &str) -> io::Result<()> {
    if cluster_id(db)?.is_none() {
        let cf = db
            .cf_handle(CF_META)
            .ok_or_else(|| io::Error::other("missing meta column family"))?;
        db.put_cf(cf, KEY_CLUSTER_ID, id.as_bytes())
            .map_err(io::Error::other)?;
    }
    Ok(())
}

/// A cluster id derived from `seed` (every node that derives it from the same seed agrees).
pub fn derive_cluster_id(seed: &[u8]) -> String {
    let d = Sha256::digest(seed);
    let h = hex::encode(&d[..16]);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Hashes what is written through it.
struct Hashing<W> {
    inner: W,
    sha: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes a backup of `db`'s applied state to `out` (see the module doc). `source_node_id` and
/// `created_at_ms` go into the header. Returns the header.
pub fn write(
    db: &Db,
    out: impl Write,
    source_node_id: u64,
    created_at_ms: u64,
) -> io::Result<BackupHeader> {
    let cluster_id = cluster_id(db)?;
    let mut out = Hashing {
        inner: BufWriter::with_capacity(256 << 10, out),
        sha: Sha256::new(),
    };
    let mut written = None;
    snapshot::export(db, &mut out, |meta, w| {
        let Some(applied) = meta.last_log_id else {
            return Err(io::Error::other(
                "this node has applied nothing yet: nothing to back up",
            ));
        };
        let header = BackupHeader {
            format_version: FORMAT_VERSION,
            cluster_id,
            applied_index: applied.index,
            applied_term: applied.leader_id.term,
            created_at_ms,
            source_node_id,
            source_voters: meta.last_membership.membership().voter_ids().collect(),
        };
        let json = serde_json::to_vec(&header).map_err(io::Error::other)?;
        w.write_all(MAGIC)?;
        w.write_all(&(json.len() as u32).to_be_bytes())?;
        w.write_all(&json)?;
        written = Some(header);
        Ok(())
    })?;
    let sum = out.sha.finalize();
    let mut inner = out.inner;
    inner.write_all(TRAILER_MAGIC)?;
    inner.write_all(&sum)?;
    inner.flush()?;
    written.ok_or_else(|| io::Error::other("no header written"))
}

/// Why a backup file is refused, in words for the operator.
fn bad(what: impl std::fmt::Display) -> String {
    format!("not a usable swfd backup: {what}")
}

fn read_exact_or(r: &mut impl Read, buf: &mut [u8], what: &str) -> Result<(), String> {
    r.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            bad(format!("the file ends inside its {what} (truncated)"))
        } else {
            format!("reading the backup: {e}")
        }
    })
}

/// Reads and checks the header of the backup at `r` (left at the state that follows it).
pub fn read_header(r: &mut impl Read) -> Result<BackupHeader, String> {
    let mut magic = [0u8; 8];
    read_exact_or(r, &mut magic, "header")?;
    if &magic != MAGIC {
        return Err(bad("it does not start with the swfd backup magic SWFBKUP1"));
    }
    let mut len = [0u8; 4];
    read_exact_or(r, &mut len, "header")?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_HEADER {
        return Err(bad(format!("its header claims {len} bytes")));
    }
    let mut json = vec![0u8; len];
    read_exact_or(r, &mut json, "header")?;
    let header: BackupHeader =
        serde_json::from_slice(&json).map_err(|e| bad(format!("its header is not valid: {e}")))?;
    if header.format_version != FORMAT_VERSION {
        return Err(bad(format!(
            "format version {} (this swfd reads version {FORMAT_VERSION})",
            header.format_version
        )));
    }
    Ok(header)
}

/// Whether `dir` is absent or an empty directory.
fn empty_or_absent(dir: &Path) -> Result<bool, String> {
    match fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(format!("reading {}: {e}", dir.display())),
    }
}

/// Checks the backup at `path` end to end (see `restore`); returns its header and hex SHA-256.
pub fn verify(path: &Path) -> Result<(BackupHeader, String), String> {
    let (header, _, sha) = check_and_copy(path, &mut io::sink(), &BTreeMap::new())?;
    Ok((header, sha))
}

/// Checks the backup at `path` end to end and writes its state to `out` as a snapshot file whose
/// header names `members` as the configuration. Returns the header, that snapshot meta and the hex
/// SHA-256.
fn check_and_copy(
    path: &Path,
    out: &mut dyn Write,
    members: &BTreeMap<u64, String>,
) -> Result<(BackupHeader, Meta, String), String> {
    let file = File::open(path).map_err(|e| format!("opening {}: {e}", path.display()))?;
    let total = file
        .metadata()
        .map_err(|e| format!("reading {}: {e}", path.display()))?
        .len();
    let mut r = HashingReader {
        inner: BufReader::with_capacity(1 << 20, file),
        sha: Sha256::new(),
        count: 0,
    };
    let header = read_header(&mut r)?;
    // Everything after the header up to the trailer is the state.
    let old = snapshot::read_header(&mut r).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            bad("the file ends inside the state (truncated)")
        } else {
            bad(e)
        }
    })?;
    let Some(applied) = old.last_log_id else {
        return Err(bad("it holds no applied state"));
    };
    if applied.index != header.applied_index || applied.leader_id.term != header.applied_term {
        return Err(bad(
            "its header and its state disagree on the applied index",
        ));
    }
    let nodes: BTreeMap<u64, BasicNode> = members
        .iter()
        .map(|(id, addr)| (*id, BasicNode { addr: addr.clone() }))
        .collect();
    let voters: BTreeSet<u64> = members.keys().copied().collect();
    let meta = Meta {
        last_log_id: old.last_log_id,
        last_membership: if members.is_empty() {
            old.last_membership.clone()
        } else {
            StoredMembership::new(Some(applied), Membership::new(vec![voters], nodes))
        },
        snapshot_id: old.snapshot_id.clone(),
    };
    let rest = total
        .checked_sub(r.count + TRAILER_LEN)
        .ok_or_else(|| bad("the file ends before its trailer (truncated)"))?;
    {
        let json = serde_json::to_vec(&meta).map_err(|e| e.to_string())?;
        let io_err = |e: io::Error| format!("writing the state: {e}");
        out.write_all(snapshot::MAGIC).map_err(io_err)?;
        out.write_all(&(json.len() as u32).to_be_bytes())
            .map_err(io_err)?;
        out.write_all(&json).map_err(io_err)?;
        let copied = io::copy(&mut (&mut r).take(rest), out)
            .map_err(|e| format!("copying the state: {e}"))?;
        if copied != rest {
            return Err(bad("the file ends inside the state (truncated)"));
        }
        out.flush().map_err(io_err)?;
    }
    let HashingReader { mut inner, sha, .. } = r;
    let want = sha.finalize();
    let mut trailer = [0u8; TRAILER_LEN as usize];
    read_exact_or(&mut inner, &mut trailer, "trailer")?;
    if &trailer[..8] != TRAILER_MAGIC {
        return Err(bad("its trailer is missing (truncated or corrupt)"));
    }
    if trailer[8..] != want[..] {
        return Err(bad(
            "its SHA-256 does not match its content (the file is corrupt)",
        ));
    }
    Ok((header, meta, hex::encode(want)))
}

/// Hashes and counts what is read through it.
struct HashingReader<R> {
    inner: R,
    sha: Sha256,
    count: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// Prepares `data_dir` (empty or absent) for node `node_id` of a new cluster whose members are
/// `members` (id → gRPC address), holding the state of the backup at `backup` (see the module doc).
pub fn restore(
    backup: &Path,
    data_dir: &Path,
    node_id: u64,
    members: &BTreeMap<u64, String>,
) -> Result<Restored, String> {
    if !members.contains_key(&node_id) {
        return Err(format!(
            "node {node_id} is not in the members given ({:?})",
            members.keys().collect::<Vec<_>>()
        ));
    }
    if !empty_or_absent(data_dir)? {
        return Err(format!(
            "{} is not empty: restore only into an empty or new data directory",
            data_dir.display()
        ));
    }
    let created = !data_dir.exists();
    let result = restore_into(backup, data_dir, node_id, members);
    if result.is_err() {
        // Leave the directory as it was found.
        if created {
            let _ = fs::remove_dir_all(data_dir);
        } else if let Ok(entries) = fs::read_dir(data_dir) {
            for e in entries.flatten() {
                let p = e.path();
                let _ = if p.is_dir() {
                    fs::remove_dir_all(&p)
                } else {
                    fs::remove_file(&p)
                };
            }
        }
    }
    result
}

fn restore_into(
    backup: &Path,
    data_dir: &Path,
    node_id: u64,
    members: &BTreeMap<u64, String>,
) -> Result<Restored, String> {
    let db_dir = data_dir.join("db");
    let snaps = data_dir.join("snapshots");
    fs::create_dir_all(&snaps).map_err(|e| format!("creating {}: {e}", snaps.display()))?;
    let part: PathBuf = snaps.join("restore.part");
    let (header, meta, sha) = {
        let file = File::create(&part).map_err(|e| format!("writing {}: {e}", part.display()))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let checked = check_and_copy(backup, &mut out, members)?;
        let file = out.into_inner().map_err(|e| e.to_string())?;
        file.sync_all().map_err(|e| e.to_string())?;
        checked
    };
    let db = open_db(&db_dir).map_err(|e| format!("creating {}: {e}", db_dir.display()))?;
    let data = File::open(&part).map_err(|e| e.to_string())?;
    snapshot::install(&db, &snapshot::dir_of(&db), &meta, data)
        .map_err(|e| bad(format!("loading its state: {e}")))?;
    let _ = fs::remove_file(&part);
    let applied: LogId<u64> = meta.last_log_id.expect("checked");
    // A fresh identity: the same for every member restored from this file with this member list.
    let mut seed = sha.clone().into_bytes();
    seed.extend_from_slice(&serde_json::to_vec(members).map_err(|e| e.to_string())?);
    let cluster = derive_cluster_id(&seed);
    let meta_cf = db.cf_handle(CF_META).ok_or("missing meta column family")?;
    let json = |v: &dyn ErasedJson| v.json();
    let mut batch = WriteBatch::default();
    batch.put_cf(meta_cf, KEY_PURGED, json(&applied));
    batch.put_cf(meta_cf, KEY_COMMITTED, json(&Some(applied)));
    batch.put_cf(
        meta_cf,
        KEY_VOTE,
        json(&Vote::new(applied.leader_id.term, node_id)),
    );
    batch.put_cf(meta_cf, KEY_CLUSTER_ID, cluster.as_bytes());
    let mut sync = WriteOptions::default();
    sync.set_sync(true);
    db.write_opt(batch, &sync).map_err(|e| e.to_string())?;
    db.flush_wal(true).map_err(|e| e.to_string())?;
    Ok(Restored {
        header,
        cluster_id: cluster,
        sha256: sha,
    })
}

/// Serialises to JSON bytes (what the log store's meta keys hold).
trait ErasedJson {
    fn json(&self) -> Vec<u8>;
}

impl<T: Serialize> ErasedJson for T {
    fn json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("plain data serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{CF_DOMAINS, CF_HISTORY, STATE_CFS};
    use crate::snapshot::{AppliedMeta, KEY_APPLIED};
    use rocksdb::IteratorMode;

    fn dump(db: &Db) -> Vec<(usize, Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        for (i, name) in STATE_CFS.iter().enumerate() {
            for item in db.iterator_cf(db.cf_handle(name).unwrap(), IteratorMode::Start) {
                let (k, v) = item.unwrap();
                out.push((i, k.to_vec(), v.to_vec()));
            }
        }
        out
    }

    fn meta_json<T: serde::de::DeserializeOwned>(db: &Db, key: &[u8]) -> T {
        let v = db
            .get_cf(db.cf_handle(CF_META).unwrap(), key)
            .unwrap()
            .unwrap();
        serde_json::from_slice(&v).unwrap()
    }

    /// A database with some state applied at index 42 of term 3.
    fn source(dir: &Path) -> Db {
        let db = open_db(&dir.join("db")).unwrap();
        let put =
            |cf: &str, k: &[u8], v: &[u8]| db.put_cf(db.cf_handle(cf).unwrap(), k, v).unwrap();
        put(CF_DOMAINS, b"d1", b"one");
        put(CF_HISTORY, &[0xFF; 70], &[7u8; 5000]);
        let applied = AppliedMeta {
            last_applied: Some(LogId::new(openraft::CommittedLeaderId::new(3, 2), 42)),
            membership: StoredMembership::new(
                Some(LogId::new(openraft::CommittedLeaderId::new(1, 1), 1)),
                Membership::new(
                    vec![BTreeSet::from([1, 2, 3])],
                    BTreeMap::from([(
                        1,
                        BasicNode {
                            addr: "old:1".into(),
                        },
                    )]),
                ),
            ),
            last_stamp: 0,
        };
        put(CF_META, KEY_APPLIED, &serde_json::to_vec(&applied).unwrap());
        ensure_cluster_id(&db, "old-cluster").unwrap();
        db
    }

    #[test]
    fn a_backup_restores_the_state_with_the_new_membership_and_refuses_damage() {
        let dir = tempfile::tempdir().unwrap();
        let db = source(&dir.path().join("a"));
        let mut bytes = Vec::new();
        let header = write(&db, &mut bytes, 2, 1234).unwrap();
        assert_eq!(
            (
                header.applied_index,
                header.applied_term,
                header.cluster_id.as_deref()
            ),
            (42, 3, Some("old-cluster"))
        );
        let file = dir.path().join("b.swfbackup");
        fs::write(&file, &bytes).unwrap();
        assert_eq!(verify(&file).unwrap().0, header);

        let members = BTreeMap::from([(1, "n1:1".to_string()), (2, "n2:2".to_string())]);
        let restored = restore(&file, &dir.path().join("b"), 1, &members).unwrap();
        let again = restore(&file, &dir.path().join("c"), 2, &members).unwrap();
        assert_eq!(
            restored.cluster_id, again.cluster_id,
            "members agree on the id"
        );
        assert_ne!(restored.cluster_id, "old-cluster");
        let new = open_db(&dir.path().join("b/db")).unwrap();
        assert_eq!(dump(&new), dump(&db));
        let applied: AppliedMeta = meta_json(&new, KEY_APPLIED);
        assert_eq!(applied.last_applied.unwrap().index, 42);
        let voters: Vec<u64> = applied.membership.membership().voter_ids().collect();
        assert_eq!(voters, vec![1, 2]);
        let purged: LogId<u64> = meta_json(&new, KEY_PURGED);
        assert_eq!(purged, applied.last_applied.unwrap());
        assert_eq!(cluster_id(&new).unwrap(), Some(restored.cluster_id));

        // Every truncation and a flipped bit anywhere are refused, and leave no directory behind.
        let step = (bytes.len() / 97).max(1);
        let cuts = (0..bytes.len()).step_by(step).map(|n| bytes[..n].to_vec());
        let flips = (0..bytes.len()).step_by(step).map(|n| {
            let mut b = bytes.clone();
            b[n] ^= 0x10;
            b
        });
        for (i, bad) in cuts.chain(flips).enumerate() {
            let p = dir.path().join("bad");
            fs::write(&p, &bad).unwrap();
            let target = dir.path().join(format!("bad-{i}"));
            assert!(restore(&p, &target, 1, &members).is_err(), "case {i}");
            assert!(!target.exists(), "case {i}");
        }
        // A non-empty directory, or a node outside the members, is refused.
        assert!(restore(&file, &dir.path().join("b"), 1, &members)
            .unwrap_err()
            .contains("is not empty"));
        assert!(restore(&file, &dir.path().join("d"), 3, &members).is_err());
    }
}
