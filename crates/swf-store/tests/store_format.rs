//! The on-disk format of the store, frozen: the key encoding of every column family, the order of the
//! state column families (a snapshot file names them by position), openraft's log entry, vote and
//! snapshot-meta forms as this release stores them, and a whole snapshot file. The values themselves
//! (records and commands) are frozen by swf-core's `tests/log_format.rs`.
//!
//! Golden files live in `tests/golden/`; a missing one is written with `UPDATE_GOLDEN=1` (existing ones
//! never are). A test failing here means a data directory or a snapshot written by an earlier release
//! would no longer read: make the change versioned instead (see `docs/operations.md`, "Upgrades and the
//! data format").

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use openraft::{BasicNode, CommittedLeaderId, Entry, EntryPayload, LogId, Membership, Vote};
use serde_json::{json, Value};
use swf_core::items::ItemKey;
use swf_core::state::{Deadline, DeadlineKind, DomainRecord, Lookup, QueuedTask, TaskKind};
use swf_core::{Batch, Command, Op};
use swf_store::db::STATE_CFS;
use swf_store::keys;
use swf_store::snapshot::{self, Meta};
use swf_store::{open_db, StateReader, TypeConfig};
use swf_types::Timestamp;

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// The golden file `name` (written from `fresh` when missing and `UPDATE_GOLDEN` is set).
fn golden_bytes(name: &str, fresh: impl FnOnce() -> Vec<u8>) -> Vec<u8> {
    let path = golden_path(name);
    if !path.exists() {
        assert!(
            std::env::var_os("UPDATE_GOLDEN").is_some(),
            "no golden file {}: a new format needs one (UPDATE_GOLDEN=1 writes it)",
            path.display()
        );
        std::fs::write(&path, fresh()).unwrap();
    }
    std::fs::read(&path).unwrap()
}

fn golden_json(name: &str, today: &Value) -> Value {
    let stored = golden_bytes(name, || {
        format!("{}\n", serde_json::to_string_pretty(today).unwrap()).into_bytes()
    });
    serde_json::from_slice(&stored).unwrap()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn deadline() -> Deadline {
    Deadline {
        due: Timestamp(1_700_000_123_456),
        run_id: "run-1".into(),
        kind: DeadlineKind::Timer {
            timer_id: "t1".into(),
        },
        event_id: 9,
    }
}

#[test]
fn keys_are_encoded_as_they_were() {
    let queued = QueuedTask {
        domain: "d".into(),
        kind: TaskKind::Activity,
        task_list: "tl".into(),
        priority: -3,
        seq: 77,
        run_id: "run-1".into(),
        scheduled_event_id: 5,
    };
    let today: BTreeMap<&str, String> = [
        ("type_workflow", hex(&keys::type_key("d", b'W', "wf", "1"))),
        ("type_activity", hex(&keys::type_key("d", b'A', "act", "2"))),
        ("deadline", hex(&keys::deadline_key(&deadline()))),
        (
            "item_activity",
            hex(&keys::item_key("run-1", &ItemKey::Activity(5))),
        ),
        (
            "item_timer",
            hex(&keys::item_key("run-1", &ItemKey::Timer("t1".into()))),
        ),
        (
            "item_child",
            hex(&keys::item_key("run-1", &ItemKey::Child("c-1".into()))),
        ),
        (
            "item_deadline",
            hex(&keys::item_key("run-1", &ItemKey::Deadline(deadline()))),
        ),
        ("open_run", hex(&keys::open_run_key("d", "w-1"))),
        ("history", hex(&keys::history_key("run-1", 12))),
        ("queue", hex(&keys::queue_key(&queued))),
        (
            "queue_decision_prefix",
            hex(&keys::queue_prefix("d", TaskKind::Decision, "tl")),
        ),
        ("request", hex(&keys::request_key(42, "3-1700000000000-17"))),
        ("requests_forgotten", hex(keys::REQUESTS_FORGOTTEN_KEY)),
    ]
    .into_iter()
    .collect();
    let today = serde_json::to_value(&today).unwrap();
    assert_eq!(golden_json("keys.json", &today), today);
}

#[test]
fn state_column_families_keep_their_positions() {
    // Older snapshot files name column families by position: existing ones never move (new ones are
    // appended, and a longer list still reads the older files).
    let today = json!(STATE_CFS);
    let stored = golden_json("state_cfs.json", &today);
    let stored: Vec<String> = serde_json::from_value(stored).unwrap();
    assert!(
        stored.len() <= STATE_CFS.len(),
        "a column family was removed"
    );
    assert_eq!(&STATE_CFS[..stored.len()], stored.as_slice());
}

fn log_id(term: u64, index: u64) -> LogId<u64> {
    LogId::new(CommittedLeaderId::new(term, 1), index)
}

fn membership() -> Membership<u64, BasicNode> {
    let nodes: BTreeMap<u64, BasicNode> = [
        (1, BasicNode::new("127.0.0.1:7001")),
        (2, BasicNode::new("127.0.0.1:7002")),
        (3, BasicNode::new("127.0.0.1:7003")),
    ]
    .into_iter()
    .collect();
    Membership::new(vec![BTreeSet::from([1, 2])], nodes)
}

#[test]
fn raft_log_entries_and_the_vote_read_as_they_were_written() {
    let command = Command {
        now: Timestamp(1_700_000_000_000),
        op: Op::Noop,
        fresh_ids: Vec::new(),
        request_id: Some("1-2-3".into()),
    };
    let entries: Vec<Entry<TypeConfig>> = vec![
        Entry {
            log_id: log_id(2, 10),
            payload: EntryPayload::Blank,
        },
        Entry {
            log_id: log_id(2, 11),
            payload: EntryPayload::Normal(Batch(vec![command.clone(), command])),
        },
        Entry {
            log_id: log_id(2, 12),
            payload: EntryPayload::Membership(membership()),
        },
    ];
    let today = serde_json::to_value(&entries).unwrap();
    let stored = golden_json("raft_entries.json", &today);
    assert_eq!(stored, today, "the log entry form changed");
    let parsed: Vec<Entry<TypeConfig>> = serde_json::from_value(stored).unwrap();
    assert_eq!(parsed, entries);

    let vote = Vote::new_committed(2, 1);
    let today = serde_json::to_value(vote).unwrap();
    let stored = golden_json("raft_vote.json", &today);
    assert_eq!(stored, today);
    assert_eq!(serde_json::from_value::<Vote<u64>>(stored).unwrap(), vote);
}

fn meta() -> Meta {
    Meta {
        last_log_id: Some(log_id(2, 12)),
        last_membership: openraft::StoredMembership::new(Some(log_id(2, 12)), membership()),
        snapshot_id: "00000000000000000012-2-1".into(),
    }
}

fn domain() -> DomainRecord {
    serde_json::from_value(json!({
        "detail": {"name": "d", "status": "REGISTERED", "description": "from a snapshot",
            "arn": "arn:aws:swf:us-east-1:123456789012:/domain/d"},
        "tags": [], "created": 1600000000.0, "workflow_types": 0, "activity_types": 0}))
    .unwrap()
}

/// A snapshot file in the documented form (see `swf_store::snapshot`): magic, header, records, end.
fn encode_snapshot(meta: &Meta, records: &[(usize, Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = b"SWFSNAP1".to_vec();
    let header = serde_json::to_vec(meta).unwrap();
    out.extend_from_slice(&(header.len() as u32).to_be_bytes());
    out.extend_from_slice(&header);
    let mut body = Vec::new();
    for (cf, k, v) in records {
        body.push(*cf as u8);
        body.extend_from_slice(&(k.len() as u32).to_be_bytes());
        body.extend_from_slice(k);
        body.extend_from_slice(&(v.len() as u32).to_be_bytes());
        body.extend_from_slice(v);
    }
    let mut sum: u64 = 0xcbf2_9ce4_8422_2325;
    for b in &body {
        sum ^= u64::from(*b);
        sum = sum.wrapping_mul(0x0100_0000_01b3);
    }
    out.extend_from_slice(&body);
    out.push(0xFF);
    out.extend_from_slice(&(records.len() as u64).to_be_bytes());
    out.extend_from_slice(&sum.to_be_bytes());
    out
}

#[test]
fn a_snapshot_file_of_this_format_installs() {
    let domains = STATE_CFS.iter().position(|c| *c == "domains").unwrap();
    let bytes = golden_bytes("snapshot-v1.snap", || {
        encode_snapshot(
            &meta(),
            &[(
                domains,
                b"d".to_vec(),
                serde_json::to_vec(&domain()).unwrap(),
            )],
        )
    });
    let tmp = tempfile::tempdir().unwrap();
    let incoming = tmp.path().join("incoming.snap");
    std::fs::write(&incoming, &bytes).unwrap();
    let db = open_db(&tmp.path().join("db")).unwrap();
    let dir = tmp.path().join("snapshots");
    snapshot::install(&db, &dir, &meta(), std::fs::File::open(&incoming).unwrap())
        .expect("the golden snapshot installs");
    let reader = StateReader::new(db.clone());
    assert_eq!(reader.domain("d").unwrap(), Some(domain()));
    let current = snapshot::current(&db, &dir)
        .unwrap()
        .expect("kept as the current snapshot");
    assert_eq!(current.meta, meta());
}
