//! Key encodings. Every component that can hold arbitrary text is length-prefixed, so no name can run
//! into the next component; numbers are big-endian so keys sort as their numbers do.

use swf_core::items::ItemKey;
use swf_core::state::{QueuedTask, TaskKind};

/// Appends a length-prefixed string.
pub fn push_str(key: &mut Vec<u8>, s: &str) {
    key.extend_from_slice(&(s.len() as u32).to_be_bytes());
    key.extend_from_slice(s.as_bytes());
}

/// Key of a workflow ('W') or activity ('A') type.
pub fn type_key(domain: &str, kind: u8, name: &str, version: &str) -> Vec<u8> {
    let mut k = type_prefix(domain, kind);
    push_str(&mut k, name);
    push_str(&mut k, version);
    k
}

/// Prefix of all types of one kind in a domain.
pub fn type_prefix(domain: &str, kind: u8) -> Vec<u8> {
    let mut k = Vec::new();
    push_str(&mut k, domain);
    k.push(kind);
    k
}

/// Key of an armed deadline: due time first, so the earliest is the first key.
pub fn deadline_key(d: &swf_core::state::Deadline) -> Vec<u8> {
    let mut k = (d.due.0.max(0) as u64).to_be_bytes().to_vec();
    push_str(&mut k, &d.run_id);
    k.extend_from_slice(&(d.event_id as u64).to_be_bytes());
    push_str(
        &mut k,
        &serde_json::to_string(&d.kind).expect("deadline kind serializes"),
    );
    k
}

/// Prefix of all open items of a run. Every item key continues with a kind byte below 0xFF, so
/// `[prefix, prefix + 0xFF)` holds exactly the run's items.
pub fn items_prefix(run_id: &str) -> Vec<u8> {
    let mut k = Vec::new();
    push_str(&mut k, run_id);
    k
}

/// Key of one open item of a run: the run, a kind byte, the item's id.
pub fn item_key(run_id: &str, key: &ItemKey) -> Vec<u8> {
    let mut k = items_prefix(run_id);
    match key {
        ItemKey::Activity(scheduled) => {
            k.push(b'A');
            k.extend_from_slice(&(*scheduled as u64).to_be_bytes());
        }
        ItemKey::Timer(timer_id) => {
            k.push(b'T');
            push_str(&mut k, timer_id);
        }
        ItemKey::Child(workflow_id) => {
            k.push(b'C');
            push_str(&mut k, workflow_id);
        }
        ItemKey::Deadline(d) => {
            k.push(b'D');
            k.extend_from_slice(&deadline_key(d));
        }
    }
    k
}

/// Key of the open-run index.
pub fn open_run_key(domain: &str, workflow_id: &str) -> Vec<u8> {
    let mut k = Vec::new();
    push_str(&mut k, domain);
    push_str(&mut k, workflow_id);
    k
}

/// The first key past every key that starts with `prefix`, for an iterator's upper bound (`None`
/// for a prefix of 0xFF bytes only, or empty: nothing is past it).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while end.last() == Some(&0xFF) {
        end.pop();
    }
    let last = end.last_mut()?;
    *last += 1;
    Some(end)
}

/// Prefix of a run's history events.
pub fn history_prefix(run_id: &str) -> Vec<u8> {
    let mut k = Vec::new();
    push_str(&mut k, run_id);
    k
}

/// Key of one history event.
pub fn history_key(run_id: &str, event_id: i64) -> Vec<u8> {
    let mut k = Vec::new();
    push_str(&mut k, run_id);
    k.extend_from_slice(&(event_id as u64).to_be_bytes());
    k
}

/// Prefix of a task list's queue.
pub fn queue_prefix(domain: &str, kind: TaskKind, task_list: &str) -> Vec<u8> {
    let mut k = Vec::new();
    push_str(&mut k, domain);
    k.push(match kind {
        TaskKind::Decision => b'D',
        TaskKind::Activity => b'A',
    });
    push_str(&mut k, task_list);
    k
}

/// Key of a queued task: higher priority first, then older first.
pub fn queue_key(q: &QueuedTask) -> Vec<u8> {
    let mut k = queue_prefix(&q.domain, q.kind, &q.task_list);
    // Map i32 to u32 preserving order, then invert so higher priorities sort first.
    let ordered = (q.priority as u32) ^ 0x8000_0000;
    k.extend_from_slice(&(!ordered).to_be_bytes());
    k.extend_from_slice(&q.seq.to_be_bytes());
    push_str(&mut k, &q.run_id);
    k.extend_from_slice(&(q.scheduled_event_id as u64).to_be_bytes());
    k
}

/// Key of a recorded call in the de-duplication table: bucket (big-endian), then the request id (last,
/// so it needs no length prefix). Every such key is at least 8 bytes, after the forgotten-below marker.
pub fn request_key(bucket: u64, request_id: &str) -> Vec<u8> {
    let mut key = bucket.to_be_bytes().to_vec();
    key.extend_from_slice(request_id.as_bytes());
    key
}

/// Key of the de-duplication table's forgotten-below marker.
pub const REQUESTS_FORGOTTEN_KEY: &[u8] = b"";

#[cfg(test)]
mod tests {
    use super::*;

    fn q(priority: i32, seq: u64) -> QueuedTask {
        QueuedTask {
            domain: "d".into(),
            kind: TaskKind::Activity,
            task_list: "t".into(),
            priority,
            seq,
            run_id: "r".into(),
            scheduled_event_id: 5,
        }
    }

    #[test]
    fn queue_order_is_priority_then_age() {
        let mut keys = vec![
            queue_key(&q(0, 2)),
            queue_key(&q(5, 9)),
            queue_key(&q(-3, 1)),
            queue_key(&q(0, 1)),
            queue_key(&q(i32::MAX, 100)),
        ];
        keys.sort();
        let expect = vec![
            queue_key(&q(i32::MAX, 100)),
            queue_key(&q(5, 9)),
            queue_key(&q(0, 1)),
            queue_key(&q(0, 2)),
            queue_key(&q(-3, 1)),
        ];
        assert_eq!(keys, expect);
    }

    #[test]
    fn history_keys_sort_by_event_id() {
        assert!(history_key("r", 2) < history_key("r", 10));
        assert!(history_key("r", 255) < history_key("r", 256));
    }
}
