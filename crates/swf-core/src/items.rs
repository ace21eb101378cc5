//! Open items: the parts of an execution that grow with its open work (open activities, timers, child
//! executions, armed deadlines), each stored under a key of its own instead of inside the execution
//! record. An execution with 1,000 open timers then costs one small record write plus the items that
//! changed per event, not a rewrite of all 1,000 (which made writes quadratic in the open work).
//!
//! In memory an `ExecutionRecord` still holds its items in maps, so the semantics code reads and
//! changes them as before. `Exec` remembers the items a record had when its change began (`Items`)
//! and, when the change is finished, `diff` turns what changed into `Write::Item` writes; the stored
//! record omits the maps (`skip_serializing`). A store assembles a record from its stored form and its
//! items (`ExecutionRecord::insert_item`).
//!
//! **Small executions keep their items in the record** (from apply version 4, see `apply_version`). A
//! key of its own costs every replica a memtable insert when the item is written and another when it
//! is deleted, whatever its size, and a typical run holds a handful of items (an activity and its
//! deadlines, the run's and the decision task's timeouts): 16 of a simple workflow's 77 keys were its
//! items' (docs/benchmarks.md, session 23). So a run whose items number at most [`EMBED_MAX`] stores
//! them inside its record (`items_keyed` false, the record written in its embedded form,
//! `ExecutionRecord::stored_json`); a change that leaves it more moves them all under their own keys,
//! and a keyed run moves them back into the record (deleting their keys) once it holds
//! [`EMBED_RETURN`] or fewer. The gap between the two keeps a run whose count wavers around one bound
//! from moving its items back and forth on every event.
//!
//! Records written by an earlier release embed their items too (`items_keyed` false), in the same form:
//! they are read as they are. Before apply version 4 every change keys the items, as those releases do.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::state::*;

/// Most open items a record holds inside itself (see the module doc).
pub const EMBED_MAX: usize = 8;
/// A run whose items live under their own keys moves them back into its record at this many or fewer.
pub const EMBED_RETURN: usize = 4;

/// Where a changed record's open items go: under keys of their own, or inside the record. `embed` is
/// whether the cluster's apply version allows the embedded form (4 or later); `was_keyed` whether the
/// record's items were under their own keys before the change (false for a new run).
pub fn keyed_after(embed: bool, was_keyed: bool, items: usize) -> bool {
    if !embed {
        return true;
    }
    if was_keyed {
        items > EMBED_RETURN
    } else {
        items > EMBED_MAX
    }
}

/// The stored form of a record whose items are embedded: the record's members and its item maps.
#[derive(Serialize)]
struct Embedded<'a> {
    #[serde(flatten)]
    record: &'a ExecutionRecord,
    activities: &'a BTreeMap<i64, ActivityState>,
    timers: &'a BTreeMap<String, TimerState>,
    deadlines: &'a Vec<Deadline>,
    children: &'a BTreeMap<String, ChildRef>,
}

impl ExecutionRecord {
    /// The record as a store writes it: without its items when they live under their own keys
    /// (`items_keyed`), with them otherwise. Reading either form back gives the record (the items of
    /// the keyed form added from their keys).
    pub fn stored_json(&self) -> Vec<u8> {
        let out = if self.items_keyed {
            serde_json::to_vec(self)
        } else {
            serde_json::to_vec(&Embedded {
                record: self,
                activities: &self.activities,
                timers: &self.timers,
                deadlines: &self.deadlines,
                children: &self.children,
            })
        };
        out.expect("an execution record serializes")
    }
}

/// Which open item of an execution: its identity within the execution.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ItemKey {
    /// An open activity, by its scheduled event id.
    Activity(i64),
    /// An open timer, by timer id.
    Timer(String),
    /// An open child execution, by workflow id.
    Child(String),
    /// An armed deadline (the whole deadline is its identity).
    Deadline(Deadline),
}

/// One open item with its value, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OpenItem {
    Activity(ActivityState),
    Timer {
        timer_id: String,
        timer: TimerState,
    },
    Child {
        workflow_id: String,
        child: ChildRef,
    },
    Deadline(Deadline),
}

impl OpenItem {
    /// The item's key.
    pub fn key(&self) -> ItemKey {
        match self {
            OpenItem::Activity(a) => ItemKey::Activity(a.scheduled_event_id),
            OpenItem::Timer { timer_id, .. } => ItemKey::Timer(timer_id.clone()),
            OpenItem::Child { workflow_id, .. } => ItemKey::Child(workflow_id.clone()),
            OpenItem::Deadline(d) => ItemKey::Deadline(d.clone()),
        }
    }
}

impl ExecutionRecord {
    /// Adds a stored item to a record being assembled from its stored form (call `finish_assembly`
    /// after the last one).
    pub fn insert_item(&mut self, item: OpenItem) {
        match item {
            OpenItem::Activity(a) => {
                self.activities.insert(a.scheduled_event_id, a);
            }
            OpenItem::Timer { timer_id, timer } => {
                self.timers.insert(timer_id, timer);
            }
            OpenItem::Child { workflow_id, child } => {
                self.children.insert(workflow_id, child);
            }
            OpenItem::Deadline(d) => self.deadlines.push(d),
        }
    }

    /// Puts an assembled record's deadlines in their canonical order (the order `Exec` leaves them in),
    /// so a record reads the same from every store.
    pub fn finish_assembly(&mut self) {
        self.deadlines.sort();
        self.deadlines.dedup();
    }

    /// How many open items the record holds.
    pub fn item_count(&self) -> usize {
        self.activities.len() + self.timers.len() + self.children.len() + self.deadlines.len()
    }
}

/// The open items of a record as they are stored under their own keys (what `diff` compares with).
#[derive(Debug, Default, Clone)]
pub struct Items {
    activities: BTreeMap<i64, ActivityState>,
    timers: BTreeMap<String, TimerState>,
    children: BTreeMap<String, ChildRef>,
    deadlines: BTreeSet<Deadline>,
}

impl Items {
    /// Whether no item is stored under a key of its own.
    pub fn is_empty(&self) -> bool {
        self.activities.is_empty()
            && self.timers.is_empty()
            && self.children.is_empty()
            && self.deadlines.is_empty()
    }

    /// The items of `rec` that are stored under their own keys: all of them, or none for a record in the
    /// embedded form (whose items must all be written when it moves to keys).
    pub fn stored_of(rec: &ExecutionRecord) -> Items {
        if !rec.items_keyed {
            return Items::default();
        }
        Items {
            activities: rec.activities.clone(),
            timers: rec.timers.clone(),
            children: rec.children.clone(),
            deadlines: rec.deadlines.iter().cloned().collect(),
        }
    }
}

/// Appends to `out` the item writes that take the stored items from `before` to those of `after`.
pub fn diff(before: &Items, after: &ExecutionRecord, out: &mut Vec<Write>) {
    let run_id = &after.run_id;
    let mut put = |key: ItemKey, item: Option<OpenItem>| {
        out.push(Write::Item {
            run_id: run_id.clone(),
            key,
            item,
        })
    };
    diff_map(&before.activities, &after.activities, |id, a| {
        put(ItemKey::Activity(*id), a.cloned().map(OpenItem::Activity))
    });
    diff_map(&before.timers, &after.timers, |id, t| {
        put(
            ItemKey::Timer(id.clone()),
            t.map(|t| OpenItem::Timer {
                timer_id: id.clone(),
                timer: t.clone(),
            }),
        )
    });
    diff_map(&before.children, &after.children, |id, c| {
        put(
            ItemKey::Child(id.clone()),
            c.map(|c| OpenItem::Child {
                workflow_id: id.clone(),
                child: c.clone(),
            }),
        )
    });
    let now: BTreeSet<&Deadline> = after.deadlines.iter().collect();
    for d in &before.deadlines {
        if !now.contains(d) {
            put(ItemKey::Deadline(d.clone()), None);
        }
    }
    for d in now {
        if !before.deadlines.contains(d) {
            put(
                ItemKey::Deadline(d.clone()),
                Some(OpenItem::Deadline(d.clone())),
            );
        }
    }
}

/// Appends to `out` a deletion of each of `rec`'s items stored under its own key (a purge: point
/// deletions, so a purged run leaves no range tombstone behind, which every read of the column family
/// would have to account for until it is flushed).
pub fn remove_all(rec: &ExecutionRecord, out: &mut Vec<Write>) {
    remove_stored(&rec.run_id, Items::stored_of(rec), out);
}

/// Appends to `out` a deletion of each item of `stored` (the keyed items of run `run_id`).
pub fn remove_stored(run_id: &str, stored: Items, out: &mut Vec<Write>) {
    let keys = (stored.activities.keys().map(|id| ItemKey::Activity(*id)))
        .chain(stored.timers.keys().map(|id| ItemKey::Timer(id.clone())))
        .chain(stored.children.keys().map(|id| ItemKey::Child(id.clone())))
        .chain(stored.deadlines.into_iter().map(ItemKey::Deadline));
    for key in keys {
        out.push(Write::Item {
            run_id: run_id.to_string(),
            key,
            item: None,
        });
    }
}

/// Calls `change(key, None)` for each key gone from `before` and `change(key, Some(value))` for each
/// key new or changed in `after`, in key order.
fn diff_map<K: Ord, V: PartialEq>(
    before: &BTreeMap<K, V>,
    after: &BTreeMap<K, V>,
    mut change: impl FnMut(&K, Option<&V>),
) {
    for k in before.keys() {
        if !after.contains_key(k) {
            change(k, None);
        }
    }
    for (k, v) in after {
        if before.get(k) != Some(v) {
            change(k, Some(v));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use swf_types::shapes::{ActivityType, CloseStatus};
    use swf_types::Timestamp;

    fn record() -> ExecutionRecord {
        ExecutionRecord {
            workflow_id: "w".into(),
            next_event_id: 9,
            ..ExecutionRecord::sample("r")
        }
    }

    fn timer_deadline(id: &str, event_id: i64) -> Deadline {
        Deadline {
            due: Timestamp(5_000),
            run_id: "r".into(),
            kind: DeadlineKind::Timer {
                timer_id: id.into(),
            },
            event_id,
        }
    }

    fn activity(id: i64) -> ActivityState {
        ActivityState {
            activity_id: format!("a{id}"),
            activity_type: ActivityType {
                name: "a".into(),
                version: "1".into(),
            },
            scheduled_event_id: id,
            started_event_id: None,
            input: None,
            queued: None,
            cancel_requested: false,
            latest_cancel_requested_event_id: None,
            heartbeat_details: None,
            last_heartbeat: None,
            start_to_close_secs: None,
            heartbeat_secs: None,
            token_signed: false,
        }
    }

    /// Applies item writes to a stored item map, as a store does.
    fn store(items: &mut BTreeMap<ItemKey, OpenItem>, writes: &[Write]) {
        for w in writes {
            if let Write::Item { key, item, .. } = w {
                match item {
                    Some(i) => {
                        assert_eq!(&i.key(), key);
                        items.insert(key.clone(), i.clone())
                    }
                    None => items.remove(key),
                };
            }
        }
    }

    fn assemble(head: &ExecutionRecord, items: &BTreeMap<ItemKey, OpenItem>) -> ExecutionRecord {
        let json = serde_json::to_vec(head).unwrap();
        let mut rec: ExecutionRecord = serde_json::from_slice(&json).unwrap();
        for i in items.values() {
            rec.insert_item(i.clone());
        }
        rec.finish_assembly();
        rec
    }

    #[test]
    fn only_changed_items_are_written_and_the_record_reassembles() {
        let mut rec = record();
        for i in 0..100 {
            rec.timers.insert(
                format!("t{i}"),
                TimerState {
                    started_event_id: i,
                    control: None,
                },
            );
            rec.deadlines.push(timer_deadline(&format!("t{i}"), i));
        }
        rec.activities.insert(7, activity(7));
        rec.children.insert(
            "kid".into(),
            ChildRef {
                run_id: "k".into(),
                workflow_type: rec.workflow_type.clone(),
                initiated_event_id: 3,
                started_event_id: 4,
            },
        );
        rec.finish_assembly();
        let mut stored = BTreeMap::new();
        let mut writes = Vec::new();
        diff(&Items::default(), &rec, &mut writes);
        assert_eq!(writes.len(), 202, "a new record writes every item");
        store(&mut stored, &writes);
        assert_eq!(assemble(&rec, &stored), rec);

        // One timer fires, an activity heartbeats: three item writes, whatever else is open.
        let before = Items::stored_of(&rec);
        rec.timers.remove("t42");
        rec.deadlines.retain(|d| d.event_id != 42);
        rec.activities.get_mut(&7).unwrap().heartbeat_details = Some("x".into());
        let mut writes = Vec::new();
        diff(&before, &rec, &mut writes);
        let keys: Vec<(&ItemKey, bool)> = writes
            .iter()
            .map(|w| match w {
                Write::Item { key, item, .. } => (key, item.is_some()),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(
            keys,
            vec![
                (&ItemKey::Activity(7), true),
                (&ItemKey::Timer("t42".into()), false),
                (&ItemKey::Deadline(timer_deadline("t42", 42)), false),
            ]
        );
        store(&mut stored, &writes);
        assert_eq!(assemble(&rec, &stored), rec);

        // Nothing changed: nothing written.
        let mut writes = Vec::new();
        diff(&Items::stored_of(&rec), &rec, &mut writes);
        assert!(writes.is_empty());
    }

    #[test]
    fn where_items_go_by_version_form_and_count() {
        // (embedding allowed, keyed before, items) -> keyed after
        for (embed, was_keyed, items, keyed) in [
            (false, false, 0, true),
            (false, true, 0, true),
            (false, false, 100, true),
            (true, false, 0, false),
            (true, false, EMBED_MAX, false),
            (true, false, EMBED_MAX + 1, true),
            (true, true, EMBED_MAX, true),
            (true, true, EMBED_RETURN + 1, true),
            (true, true, EMBED_RETURN, false),
            (true, true, 0, false),
        ] {
            assert_eq!(
                keyed_after(embed, was_keyed, items),
                keyed,
                "embed {embed}, keyed before {was_keyed}, {items} items"
            );
        }
    }

    #[test]
    fn an_embedded_record_stores_its_items_in_the_form_earlier_releases_wrote() {
        let mut rec = record();
        rec.items_keyed = false;
        rec.activities.insert(7, activity(7));
        rec.timers.insert(
            "t5".into(),
            TimerState {
                started_event_id: 5,
                control: None,
            },
        );
        rec.deadlines.push(timer_deadline("t5", 5));
        let stored: serde_json::Value = serde_json::from_slice(&rec.stored_json()).unwrap();
        assert_eq!(stored["timers"]["t5"]["started_event_id"], 5);
        assert_eq!(stored["activities"]["7"]["activity_id"], "a7");
        assert_eq!(stored["deadlines"][0]["event_id"], 5);
        assert_eq!(stored["children"], serde_json::json!({}));
        assert_eq!(stored["items_keyed"], false);
        let read: ExecutionRecord = serde_json::from_slice(&rec.stored_json()).unwrap();
        assert_eq!(read, rec);
        // The keyed form leaves them out, as before.
        rec.items_keyed = true;
        let stored: serde_json::Value = serde_json::from_slice(&rec.stored_json()).unwrap();
        assert!(stored.get("timers").is_none());
        // A record of the previous releases' embedded form reads as the embedded form writes it.
        let old: ExecutionRecord = serde_json::from_str(OLD_RECORD).unwrap();
        let again: ExecutionRecord = serde_json::from_slice(&old.stored_json()).unwrap();
        assert_eq!(again, old);
    }

    #[test]
    fn the_stored_record_leaves_the_items_out() {
        let mut rec = record();
        rec.timers.insert(
            "t".into(),
            TimerState {
                started_event_id: 5,
                control: Some("c".into()),
            },
        );
        rec.deadlines.push(timer_deadline("t", 5));
        let json: serde_json::Value = serde_json::to_value(&rec).unwrap();
        for member in ["activities", "timers", "deadlines", "children"] {
            assert!(json.get(member).is_none(), "{member} stored inline");
        }
        assert_eq!(json["items_keyed"], true);
        assert_eq!(json["next_event_id"], 9);
    }

    /// A record as the previous release stored it: open items inline, no `items_keyed`.
    const OLD_RECORD: &str = r#"{"domain":"d","workflow_id":"w","run_id":"r",
        "workflow_type":{"name":"wf","version":"1"},
        "config":{"task_list":"t","task_priority":0,"execution_start_to_close_timeout":"3600",
            "task_start_to_close_timeout":"60","child_policy":"TERMINATE","lambda_role":null},
        "tag_list":[],"started":1.0,"closed":null,"close_status":null,"cancel_requested":false,
        "next_event_id":9,"decision":"None","previous_started_event_id":0,
        "activities":{"7":{"activity_id":"a7","activity_type":{"name":"a","version":"1"},
            "scheduled_event_id":7,"started_event_id":null,"input":null,"queued":null,
            "cancel_requested":false,"latest_cancel_requested_event_id":null,
            "heartbeat_details":null,"last_heartbeat":null}},
        "latest_activity_task_timestamp":null,"latest_execution_context":null,
        "timers":{"t5":{"started_event_id":5,"control":null}},
        "deadlines":[{"due":5.0,"run_id":"r","kind":{"Timer":{"timer_id":"t5"}},"event_id":5}],
        "parent":null,"children":{}}"#;

    #[test]
    fn a_record_of_the_previous_release_reads_and_moves_its_items_out_on_change() {
        let old: ExecutionRecord = serde_json::from_str(OLD_RECORD).unwrap();
        assert!(!old.items_keyed);
        assert_eq!(old.activities[&7], activity(7));
        assert_eq!(old.timers["t5"].started_event_id, 5);
        assert_eq!(old.deadlines, vec![timer_deadline("t5", 5)]);
        assert_eq!(old.close_status, None::<CloseStatus>);
        // Its first change writes every item (none is under its own key yet).
        let before = Items::stored_of(&old);
        let mut changed = old.clone();
        changed.items_keyed = true;
        changed.timers.clear();
        changed.deadlines.clear();
        let mut writes = Vec::new();
        diff(&before, &changed, &mut writes);
        assert_eq!(
            writes,
            vec![Write::Item {
                run_id: "r".into(),
                key: ItemKey::Activity(7),
                item: Some(OpenItem::Activity(activity(7))),
            }]
        );
    }
}
