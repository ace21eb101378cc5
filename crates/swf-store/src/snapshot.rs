//! Snapshots: RocksDB checkpoints, and the files that carry them to other nodes.
//!
//! Building a snapshot (openraft asks every `--snapshot-every` entries) takes a RocksDB checkpoint:
//! memtables flushed, SST files hard-linked into `<stem>.ckpt`, so the cost does not grow with the
//! state and serving is not disturbed. Only when a lagging node needs the snapshot is the checkpoint
//! streamed into a snapshot file (`current`); neither building, sending nor installing holds the state
//! in memory.
//!
//! Everything lives in `<data dir>/snapshots/` (beside the database directory), named by the stem
//! `<last applied index, 20 digits>-<term>-<node>`; older checkpoints and files are removed once a newer
//! one is in place. A snapshot file (`<stem>.snap`) is:
//! - the magic `SWFSNAP1`, then a big-endian u32 length and that many bytes of JSON: openraft's
//!   `SnapshotMeta` (last applied log id, membership, snapshot id);
//! - one record per key of each state column family: the column family's position in `STATE_CFS`
//!   (one byte), a big-endian u32 key length, the key, a big-endian u32 value length, the value;
//! - the end: a `0xFF` byte, the record count and an FNV-1a 64 checksum of all record bytes (both
//!   big-endian u64), and nothing after it.
//!
//! One lock per database (`Db::snapshot_dir_lock`) makes the directory's users take turns: building a
//! checkpoint (which removes the older ones), serving the current snapshot (listing the directory,
//! streaming the newest checkpoint into a file if it has none, opening that file) and installing a
//! received snapshot. openraft builds in a task of its own while its state machine worker serves a
//! lagging follower, so without it a build could remove, between the listing and the opening, every
//! snapshot the server had listed (the server then found no snapshot, and openraft ends the
//! replication with `snapshot not found`), remove a file between its choice and its opening, or
//! checkpoint a state half loaded by an install. The served file is handed over open: a build that
//! removes it afterwards does not disturb a transfer under way.
//!
//! Building writes `<name>.tmp`, syncs it and renames it into place. Installing a received file first
//! copies it to its final name while checking every record and the checksum (a truncated or corrupt
//! transfer is refused before the state is touched), then loads it: one synced batch records which file
//! is being installed and clears the state column families, records are written in bounded batches
//! without the WAL and flushed to SST files, and a last synced batch stores the applied log id and
//! membership and clears the marker. A crash in
//! between leaves the marker, and the load is redone from the same file when the store is next used
//! (`recover`): an install is atomic and idempotent as seen from openraft.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use openraft::{BasicNode, SnapshotMeta, StoredMembership};
use rocksdb::{IteratorMode, ReadOptions, WriteBatch, WriteOptions};
use serde::{Deserialize, Serialize};

use crate::db::*;

pub(crate) const MAGIC: &[u8; 8] = b"SWFSNAP1";
const END: u8 = 0xFF;
/// Largest snapshot header (the membership is small; anything bigger is corrupt).
const MAX_HEADER: usize = 16 << 20;
/// Largest key or value accepted from a snapshot file (RocksDB values here are far smaller).
const MAX_ITEM: usize = 256 << 20;
/// Bytes of records written per RocksDB batch while loading.
const LOAD_BATCH: usize = 8 << 20;
/// The meta key naming the snapshot file whose load is under way.
const KEY_INSTALLING: &[u8] = b"installing_snapshot";
/// The meta key of the applied log id and membership.
pub(crate) const KEY_APPLIED: &[u8] = b"applied";

/// Snapshot metadata as openraft sees it.
pub type Meta = SnapshotMeta<u64, BasicNode>;

/// What the state machine stores about itself next to the state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct AppliedMeta {
    pub last_applied: Option<openraft::LogId<u64>>,
    pub membership: StoredMembership<u64, BasicNode>,
    /// The latest time (ms) stamped into an applied command: a new leader never stamps below it. Absent
    /// (0) in stores written before it was kept, and after a snapshot install until the next entry.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub last_stamp: i64,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// The snapshot directory of the database at `db` (`<data dir>/db` → `<data dir>/snapshots`).
pub fn dir_of(db: &Db) -> PathBuf {
    db.path().with_file_name("snapshots")
}

fn corrupt(what: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("snapshot file: {what}"))
}

fn file_name(meta: &Meta) -> String {
    match &meta.last_log_id {
        Some(l) => format!(
            "{:020}-{}-{}.snap",
            l.index, l.leader_id.term, l.leader_id.node_id
        ),
        None => format!("{:020}-empty.snap", 0),
    }
}

/// FNV-1a 64 over the record bytes.
struct Checksum(u64);

impl Checksum {
    fn new() -> Checksum {
        Checksum(0xcbf2_9ce4_8422_2325)
    }
    fn add(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Takes a RocksDB checkpoint of `db` into `dir` (`<stem>.ckpt`); returns the meta of the state it
/// holds (read from the checkpoint itself, so state and meta agree). Older snapshots are removed.
pub fn checkpoint(db: &Db, dir: &Path) -> io::Result<Meta> {
    let _dir = db.snapshot_dir_lock();
    fs::create_dir_all(dir)?;
    let tmp = dir.join("checkpoint.tmp");
    if tmp.exists() {
        fs::remove_dir_all(&tmp)?;
    }
    rocksdb::checkpoint::Checkpoint::new(db)
        .and_then(|c| c.create_checkpoint(&tmp))
        .map_err(io::Error::other)?;
    let meta = meta_of(&open_checkpoint(&tmp)?)?;
    let path = dir.join(format!("{}.ckpt", stem(&meta)));
    if path.exists() {
        fs::remove_dir_all(&path)?;
    }
    fs::rename(&tmp, &path)?;
    sync_dir(dir)?;
    remove_older(dir, &stem(&meta), false);
    Ok(meta)
}

/// Opens a checkpoint read-only, with every column family it has.
fn open_checkpoint(path: &Path) -> io::Result<Db> {
    let opts = rocksdb::Options::default();
    let cfs = rocksdb::DB::list_cf(&opts, path).map_err(io::Error::other)?;
    let db =
        rocksdb::DB::open_cf_for_read_only(&opts, path, cfs, false).map_err(io::Error::other)?;
    Ok(Db::new(db))
}

/// The snapshot meta of the applied state in `db`.
fn meta_of(db: &Db) -> io::Result<Meta> {
    let cf = db
        .cf_handle(CF_META)
        .ok_or_else(|| corrupt("missing column family"))?;
    let applied: AppliedMeta = match db.get_cf(cf, KEY_APPLIED).map_err(io::Error::other)? {
        Some(b) => serde_json::from_slice(&b).map_err(io::Error::other)?,
        None => AppliedMeta::default(),
    };
    Ok(meta_from(applied))
}

/// The snapshot meta of an applied-meta record.
fn meta_from(applied: AppliedMeta) -> Meta {
    Meta {
        snapshot_id: match &applied.last_applied {
            Some(l) => format!("{}-{}-{}", l.leader_id.term, l.leader_id.node_id, l.index),
            None => "empty".to_string(),
        },
        last_log_id: applied.last_applied,
        last_membership: applied.membership,
    }
}

/// Writes the applied state of `db`, at one RocksDB snapshot, to `out` in the snapshot file format
/// (header, records, end). `before` runs first with the meta of that state and may write ahead of it
/// (a backup's own header). Returns the meta.
pub fn export<W: Write>(
    db: &Db,
    out: &mut W,
    before: impl FnOnce(&Meta, &mut W) -> io::Result<()>,
) -> io::Result<Meta> {
    let snap = db.snapshot();
    let cf = |name: &str| {
        db.cf_handle(name)
            .ok_or_else(|| corrupt("missing column family"))
    };
    let applied: AppliedMeta = match snap
        .get_cf(cf(CF_META)?, KEY_APPLIED)
        .map_err(io::Error::other)?
    {
        Some(b) => serde_json::from_slice(&b).map_err(io::Error::other)?,
        None => AppliedMeta::default(),
    };
    let meta = meta_from(applied);
    before(&meta, out)?;
    let header = serde_json::to_vec(&meta).map_err(io::Error::other)?;
    out.write_all(MAGIC)?;
    out.write_all(&(header.len() as u32).to_be_bytes())?;
    out.write_all(&header)?;
    let (mut count, mut sum) = (0u64, Checksum::new());
    for (i, name) in STATE_CFS.iter().enumerate() {
        let mut opts = ReadOptions::default();
        opts.set_snapshot(&snap);
        opts.fill_cache(false);
        for item in db.iterator_cf_opt(cf(name)?, opts, IteratorMode::Start) {
            let (k, v) = item.map_err(io::Error::other)?;
            for part in [
                &[i as u8][..],
                &(k.len() as u32).to_be_bytes(),
                &k,
                &(v.len() as u32).to_be_bytes(),
                &v,
            ] {
                sum.add(part);
                out.write_all(part)?;
            }
            count += 1;
        }
    }
    out.write_all(&[END])?;
    out.write_all(&count.to_be_bytes())?;
    out.write_all(&sum.0.to_be_bytes())?;
    Ok(meta)
}

/// Streams the applied state of `db` (at one RocksDB snapshot) into `<stem>.snap` in `dir`.
fn write_file(db: &Db, dir: &Path) -> io::Result<(Meta, PathBuf)> {
    fs::create_dir_all(dir)?;
    let tmp = dir.join(format!("writing-{}.snap.tmp", std::process::id()));
    let mut out = BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
    let meta = export(db, &mut out, |_, _| Ok(()))?;
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    drop(file);
    let path = dir.join(file_name(&meta));
    fs::rename(&tmp, &path)?;
    sync_dir(dir)?;
    Ok((meta, path))
}

/// The name of a snapshot without its extension (sorts by log index).
fn stem(meta: &Meta) -> String {
    file_name(meta).trim_end_matches(".snap").to_string()
}

/// Removes the checkpoints and snapshot files of `dir` older than `keep` (and, with `receptions`,
/// partial files of earlier receptions and installs).
fn remove_older(dir: &Path, keep: &str, receptions: bool) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        let older = match name
            .strip_suffix(".snap")
            .or_else(|| name.strip_suffix(".ckpt"))
        {
            Some(s) => s < keep,
            None => receptions && (name.ends_with(".part") || name.ends_with(".snap.tmp")),
        };
        if !older {
            continue;
        }
        let removed = if p.is_dir() {
            fs::remove_dir_all(&p)
        } else {
            fs::remove_file(&p)
        };
        if let Err(err) = removed {
            tracing::warn!(path = %p.display(), error = %err, "cannot remove an old snapshot");
        }
    }
}

/// Reads the header of a snapshot file, leaving `r` at the first record.
pub(crate) fn read_header(r: &mut impl Read) -> io::Result<Meta> {
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic)?;
    if &magic != MAGIC {
        return Err(corrupt("bad magic"));
    }
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_HEADER {
        return Err(corrupt("header too large"));
    }
    let mut header = vec![0u8; len];
    r.read_exact(&mut header)?;
    serde_json::from_slice(&header).map_err(corrupt)
}

/// The snapshot a lagging node is sent: its meta, the file's path, and the file, open at its start (a
/// build that removes the path afterwards does not disturb a transfer reading it).
#[derive(Debug)]
pub struct Current {
    pub meta: Meta,
    pub path: PathBuf,
    pub file: File,
}

/// The newest snapshot in `dir` (the snapshot directory of `db`), if any: the newest snapshot file,
/// or the newest checkpoint streamed into one first. Holds the directory while it looks, so nothing
/// it lists goes away before it is open.
pub fn current(db: &Db, dir: &Path) -> io::Result<Option<Current>> {
    let _dir = db.snapshot_dir_lock();
    let mut snaps: Vec<PathBuf> = match fs::read_dir(dir) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "snap" || x == "ckpt"))
            .collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    // By name: by log index, and a checkpoint before the file streamed from it.
    snaps.sort();
    let Some(newest) = snaps.pop() else {
        return Ok(None);
    };
    #[cfg(test)]
    tests::pause_after_listing(dir);
    let path = if newest.extension().is_some_and(|x| x == "ckpt") {
        let file = newest.with_extension("snap");
        if file.exists() {
            file
        } else {
            write_file(&open_checkpoint(&newest)?, dir)?.1
        }
    } else {
        newest
    };
    let mut file = File::open(&path)?;
    let meta = read_header(&mut BufReader::new(&mut file))?;
    {
        use std::io::Seek;
        file.seek(io::SeekFrom::Start(0))?;
    }
    Ok(Some(Current { meta, path, file }))
}

/// Reads every record after the header, calling `each(cf index, key, value)`, and checks the count,
/// the checksum and that nothing follows.
fn read_records(
    r: &mut impl Read,
    mut each: impl FnMut(usize, Vec<u8>, Vec<u8>) -> io::Result<()>,
) -> io::Result<()> {
    let (mut count, mut sum) = (0u64, Checksum::new());
    let read_item = |r: &mut dyn Read, sum: &mut Checksum| -> io::Result<Vec<u8>> {
        let mut len = [0u8; 4];
        r.read_exact(&mut len)?;
        sum.add(&len);
        let len = u32::from_be_bytes(len) as usize;
        if len > MAX_ITEM {
            return Err(corrupt("record too large"));
        }
        let mut item = vec![0u8; len];
        r.read_exact(&mut item)?;
        sum.add(&item);
        Ok(item)
    };
    loop {
        let mut tag = [0u8; 1];
        r.read_exact(&mut tag)?;
        if tag[0] == END {
            let mut trailer = [0u8; 16];
            r.read_exact(&mut trailer)?;
            let want_count = u64::from_be_bytes(trailer[..8].try_into().expect("8 bytes"));
            let want_sum = u64::from_be_bytes(trailer[8..].try_into().expect("8 bytes"));
            if want_count != count || want_sum != sum.0 {
                return Err(corrupt("record count or checksum mismatch"));
            }
            if r.read(&mut tag)? != 0 {
                return Err(corrupt("data after the end"));
            }
            return Ok(());
        }
        let cf = tag[0] as usize;
        if cf >= STATE_CFS.len() {
            return Err(corrupt("unknown column family"));
        }
        sum.add(&tag);
        let k = read_item(r, &mut sum)?;
        let v = read_item(r, &mut sum)?;
        count += 1;
        each(cf, k, v)?;
    }
}

/// Copies everything read to `out`.
struct Tee<R, W> {
    inner: R,
    out: W,
}

impl<R: Read, W: Write> Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.out.write_all(&buf[..n])?;
        Ok(n)
    }
}

/// A new file to receive a snapshot into.
pub fn receiving_file(dir: &Path) -> io::Result<(PathBuf, File)> {
    fs::create_dir_all(dir)?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let path = dir.join(format!("receiving-{nanos}.part"));
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    Ok((path, file))
}

/// Installs the snapshot `meta` whose file content is `data` (read from its start): checks and keeps
/// the file as this node's current snapshot, then replaces the state with it.
pub fn install(db: &Db, dir: &Path, meta: &Meta, mut data: File) -> io::Result<PathBuf> {
    use std::io::Seek;
    // Held through the load too: a checkpoint of a half-loaded state must not be taken.
    let _dir = db.snapshot_dir_lock();
    fs::create_dir_all(dir)?;
    data.seek(io::SeekFrom::Start(0))?;
    let name = file_name(meta);
    let tmp = dir.join(format!("{name}.tmp"));
    {
        let out = BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
        let mut tee = Tee {
            inner: BufReader::with_capacity(1 << 20, data),
            out,
        };
        let header = read_header(&mut tee)?;
        if header.last_log_id != meta.last_log_id || header.snapshot_id != meta.snapshot_id {
            return Err(corrupt(format!(
                "the file holds snapshot {} but {} was announced",
                header.snapshot_id, meta.snapshot_id
            )));
        }
        read_records(&mut tee, |_, _, _| Ok(()))?;
        let file = tee.out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
    }
    let path = dir.join(&name);
    fs::rename(&tmp, &path)?;
    sync_dir(dir)?;
    load(db, &path, meta)?;
    remove_older(dir, &stem(meta), true);
    Ok(path)
}

fn synced() -> WriteOptions {
    let mut o = WriteOptions::default();
    o.set_sync(true);
    o
}

/// Replaces the state column families with the records of the (checked) snapshot file at `path`.
fn load(db: &Db, path: &Path, meta: &Meta) -> io::Result<()> {
    let cf = |name: &str| {
        db.cf_handle(name)
            .ok_or_else(|| corrupt("missing column family"))
    };
    // 1. Mark the install and clear the state, atomically.
    let mut batch = WriteBatch::default();
    batch.put_cf(
        cf(CF_META)?,
        KEY_INSTALLING,
        path.to_string_lossy().as_bytes(),
    );
    let high = [0xFFu8; 64];
    for name in STATE_CFS {
        let handle = cf(name)?;
        batch.delete_range_cf(handle, &[][..], &high[..]);
        // Keys sorting after `high` (none are expected) are deleted one by one.
        for item in db.iterator_cf(
            handle,
            IteratorMode::From(&high, rocksdb::Direction::Forward),
        ) {
            let (k, _) = item.map_err(io::Error::other)?;
            batch.delete_cf(handle, k);
        }
    }
    db.write_opt(batch, &synced()).map_err(io::Error::other)?;

    // 2. The records, in bounded batches, without the WAL (the file is the redo log: until the marker
    //    is cleared, a crash makes `recover` load it again), then flushed to SST files.
    let mut r = BufReader::with_capacity(1 << 20, File::open(path)?);
    read_header(&mut r)?;
    let handles: Vec<&rocksdb::ColumnFamily> =
        STATE_CFS.iter().map(|n| cf(n)).collect::<io::Result<_>>()?;
    let mut no_wal = WriteOptions::default();
    no_wal.disable_wal(true);
    let mut batch = WriteBatch::default();
    read_records(&mut r, |i, k, v| {
        batch.put_cf(handles[i], k, v);
        if batch.size_in_bytes() >= LOAD_BATCH {
            db.write_opt(std::mem::take(&mut batch), &no_wal)
                .map_err(io::Error::other)?;
        }
        Ok(())
    })?;
    db.write_opt(std::mem::take(&mut batch), &no_wal)
        .map_err(io::Error::other)?;
    for h in &handles {
        db.flush_cf(*h).map_err(io::Error::other)?;
    }

    // 3. The applied log id and membership, and the end of the install, durably.
    let applied = AppliedMeta {
        last_applied: meta.last_log_id,
        membership: meta.last_membership.clone(),
        last_stamp: 0,
    };
    batch.put_cf(
        cf(CF_META)?,
        KEY_APPLIED,
        serde_json::to_vec(&applied).map_err(io::Error::other)?,
    );
    batch.delete_cf(cf(CF_META)?, KEY_INSTALLING);
    db.write_opt(batch, &synced()).map_err(io::Error::other)?;
    Ok(())
}

/// Finishes an install a crash interrupted (see the module doc); returns whether there was one.
pub fn recover(db: &Db) -> io::Result<bool> {
    let meta_cf = db
        .cf_handle(CF_META)
        .ok_or_else(|| corrupt("missing column family"))?;
    let Some(path) = db
        .get_cf(meta_cf, KEY_INSTALLING)
        .map_err(io::Error::other)?
    else {
        return Ok(false);
    };
    let path = PathBuf::from(String::from_utf8_lossy(&path).into_owned());
    let meta = read_header(&mut BufReader::new(File::open(&path)?))?;
    tracing::warn!(path = %path.display(), "finishing a snapshot install interrupted by a crash");
    load(db, &path, &meta)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::sync::Mutex;

    /// A pause inside `current` between the listing and the opening, armed by a test for one
    /// directory: `current` says it listed, then waits to be let go.
    type Pause = (PathBuf, mpsc::Sender<()>, mpsc::Receiver<()>);
    static PAUSE: Mutex<Option<Pause>> = Mutex::new(None);

    pub(super) fn pause_after_listing(dir: &Path) {
        let armed = {
            let mut p = PAUSE.lock().unwrap();
            match p.take() {
                Some(armed) if armed.0 == dir => Some(armed),
                other => {
                    *p = other;
                    None
                }
            }
        };
        if let Some((_, listed, go)) = armed {
            listed.send(()).unwrap();
            go.recv().unwrap();
        }
    }

    fn set_applied(db: &Db, index: u64) {
        let applied = AppliedMeta {
            last_applied: Some(openraft::LogId::new(
                openraft::CommittedLeaderId::new(1, 1),
                index,
            )),
            membership: Default::default(),
            last_stamp: 0,
        };
        put(
            db,
            CF_META,
            KEY_APPLIED,
            &serde_json::to_vec(&applied).unwrap(),
        );
    }

    /// The race behind `snapshot not found` (openraft's replication ends when the state machine has no
    /// snapshot to send): openraft builds snapshots in a task of its own while its state machine
    /// worker serves one to a lagging follower, and a build removes the older snapshots. Here a build
    /// is started while the server has listed the directory and not yet opened what it chose. The
    /// server must still hand over the snapshot it chose, whole; the build goes on after it.
    #[test]
    fn a_build_while_a_snapshot_is_being_served_waits_for_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = open_db(&dir.path().join("a/db")).unwrap();
        let snaps = dir_of(&db);
        put(&db, CF_DOMAINS, b"d1", b"one");
        set_applied(&db, 10);
        let first = checkpoint(&db, &snaps).unwrap();
        let at_first = dump(&db);

        let (listed_tx, listed) = mpsc::channel();
        let (go, go_rx) = mpsc::channel();
        *PAUSE.lock().unwrap() = Some((snaps.clone(), listed_tx, go_rx));
        let server = {
            let (db, snaps) = (db.clone(), snaps.clone());
            std::thread::spawn(move || current(&db, &snaps))
        };
        listed.recv().unwrap();
        // The server has listed `first` (a checkpoint not yet streamed) and stopped there. A newer
        // build, which removes `first`, now runs.
        put(&db, CF_DOMAINS, b"d2", b"two");
        set_applied(&db, 20);
        let builder = {
            let (db, snaps) = (db.clone(), snaps.clone());
            std::thread::spawn(move || checkpoint(&db, &snaps))
        };
        // Without the directory lock the build finishes here, removing what the server listed; with
        // it, the build waits for the server. Wait for the first to happen, a bounded while.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while !builder.is_finished() && std::time::Instant::now() < deadline {
            std::thread::yield_now();
        }
        assert!(
            !builder.is_finished(),
            "a build ran while a snapshot was being served"
        );
        go.send(()).unwrap();
        let served = server
            .join()
            .unwrap()
            .unwrap()
            .expect("a snapshot to serve");
        assert_eq!(served.meta, first);
        let newer = builder.join().unwrap().unwrap();
        assert_eq!(newer.last_log_id.unwrap().index, 20);
        assert!(
            !served.path.exists(),
            "the newer build removed the older file"
        );

        // What was served is whole, and installs the state of the first checkpoint.
        let other = open_db(&dir.path().join("b/db")).unwrap();
        install(&other, &dir_of(&other), &served.meta, served.file).unwrap();
        assert_eq!(dump(&other), at_first);
        assert_eq!(current(&db, &snaps).unwrap().unwrap().meta, newer);
    }

    /// A snapshot already handed over (its file open) survives a newer build that removes its path:
    /// a transfer to a follower reads it to its end.
    #[test]
    fn a_served_snapshot_survives_a_newer_build() {
        let dir = tempfile::tempdir().unwrap();
        let db = open_db(&dir.path().join("a/db")).unwrap();
        let snaps = dir_of(&db);
        put(&db, CF_QUEUES, b"q", b"task");
        set_applied(&db, 5);
        checkpoint(&db, &snaps).unwrap();
        let at_first = dump(&db);
        let served = current(&db, &snaps).unwrap().unwrap();
        put(&db, CF_QUEUES, b"q2", b"later");
        set_applied(&db, 9);
        checkpoint(&db, &snaps).unwrap();
        assert!(!served.path.exists());
        let other = open_db(&dir.path().join("b/db")).unwrap();
        install(&other, &dir_of(&other), &served.meta, served.file).unwrap();
        assert_eq!(dump(&other), at_first);
    }

    fn put(db: &Db, cf: &str, k: &[u8], v: &[u8]) {
        db.put_cf(db.cf_handle(cf).unwrap(), k, v).unwrap();
    }

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

    #[test]
    fn build_install_round_trip_refuses_corruption_and_recovers() {
        let dir = tempfile::tempdir().unwrap();
        let db = open_db(&dir.path().join("a/db")).unwrap();
        put(&db, CF_DOMAINS, b"d1", b"one");
        put(&db, CF_HISTORY, &[0xFF; 70], b"after the range end");
        put(&db, CF_QUEUES, b"", b"empty key");
        let meta = checkpoint(&db, &dir_of(&db)).unwrap();
        assert_eq!(meta.snapshot_id, "empty");
        let path = current(&db, &dir_of(&db)).unwrap().unwrap().path;

        let other = open_db(&dir.path().join("b/db")).unwrap();
        put(&other, CF_DOMAINS, b"stale", b"x");
        put(&other, CF_HISTORY, &[0xFF; 80], b"stale too");
        let installed =
            install(&other, &dir_of(&other), &meta, File::open(&path).unwrap()).unwrap();
        assert_eq!(dump(&other), dump(&db));
        assert!(current(&other, &dir_of(&other)).unwrap().unwrap().path == installed);
        // Installing again changes nothing.
        install(&other, &dir_of(&other), &meta, File::open(&path).unwrap()).unwrap();
        assert_eq!(dump(&other), dump(&db));

        // A truncated or altered file is refused before the state is touched.
        let bytes = fs::read(&path).unwrap();
        for bad in [bytes[..bytes.len() - 3].to_vec(), {
            let mut b = bytes.clone();
            let n = b.len() - 20;
            b[n] ^= 1;
            b
        }] {
            let p = dir.path().join("bad");
            fs::write(&p, &bad).unwrap();
            let third = open_db(&dir.path().join(format!("c{}/db", bad.len()))).unwrap();
            put(&third, CF_DOMAINS, b"kept", b"y");
            assert!(install(&third, &dir_of(&third), &meta, File::open(&p).unwrap()).is_err());
            assert_eq!(dump(&third).len(), 1);
        }

        // An interrupted load (marker left behind) is finished by `recover`.
        let crashed = open_db(&dir.path().join("d/db")).unwrap();
        fs::create_dir_all(dir_of(&crashed)).unwrap();
        let kept = dir_of(&crashed).join("x.snap");
        fs::copy(&path, &kept).unwrap();
        crashed
            .put_cf(
                crashed.cf_handle(CF_META).unwrap(),
                KEY_INSTALLING,
                kept.to_string_lossy().as_bytes(),
            )
            .unwrap();
        put(&crashed, CF_DOMAINS, b"half", b"z");
        assert!(recover(&crashed).unwrap());
        assert_eq!(dump(&crashed), dump(&db));
        assert!(!recover(&crashed).unwrap());
    }

    #[test]
    fn checkpoint_is_streamed_on_demand_and_installs_the_same_state() {
        let dir = tempfile::tempdir().unwrap();
        let db = open_db(&dir.path().join("a/db")).unwrap();
        let snaps = dir_of(&db);
        put(&db, CF_DOMAINS, b"d1", b"one");
        put(&db, CF_QUEUES, b"q", b"task");
        let meta = checkpoint(&db, &snaps).unwrap();
        assert_eq!(meta.snapshot_id, "empty");
        // Writes after the checkpoint are not in it.
        put(&db, CF_DOMAINS, b"d2", b"later");
        let at_checkpoint: Vec<_> = dump(&db)
            .into_iter()
            .filter(|(_, k, _)| k.as_slice() != b"d2")
            .collect();
        let served = current(&db, &snaps).unwrap().unwrap();
        let (current_meta, file) = (served.meta, served.path);
        assert_eq!(current_meta, meta);
        assert_eq!(file.extension().unwrap(), "snap");
        // Asking again serves the same file without streaming it anew.
        assert_eq!(current(&db, &snaps).unwrap().unwrap().path, file);

        let other = open_db(&dir.path().join("b/db")).unwrap();
        install(&other, &dir_of(&other), &meta, File::open(&file).unwrap()).unwrap();
        assert_eq!(dump(&other), at_checkpoint);

        // A newer checkpoint replaces the older checkpoint and file.
        let applied = AppliedMeta {
            last_applied: Some(openraft::LogId::new(
                openraft::CommittedLeaderId::new(2, 1),
                7,
            )),
            membership: Default::default(),
            last_stamp: 0,
        };
        put(
            &db,
            CF_META,
            KEY_APPLIED,
            &serde_json::to_vec(&applied).unwrap(),
        );
        let newer = checkpoint(&db, &snaps).unwrap();
        assert_eq!(newer.last_log_id.unwrap().index, 7);
        let names: Vec<String> = fs::read_dir(&snaps)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec![format!("{}.ckpt", stem(&newer))]);
        assert_eq!(current(&db, &snaps).unwrap().unwrap().meta, newer);
    }
}
