//! `Exec`: one execution being changed by a command. It appends history events with contiguous ids,
//! keeps the decision-task rules (at most one scheduled or started; a new one after completion when
//! events arrived meanwhile), and turns the result into writes: the events, queue and deadline
//! changes, the open items that changed (see `items`) and the record.
//!
//! The history limit is exact: an open run's history never holds more than `limit` events. An event
//! that would go past it is not recorded; the run is marked `over_limit`, and `Ctx::commit` then
//! terminates it (cause EVENT_LIMIT_EXCEEDED) with the one event allowed past the limit.

use swf_types::events::EventAttributes;
use swf_types::shapes::*;
use swf_types::Timestamp;

use crate::items::Items;
use crate::state::*;

/// An execution under change plus the writes its change makes.
pub struct Exec {
    pub rec: ExecutionRecord,
    events: Vec<HistoryEvent>,
    queue_writes: Vec<Write>,
    closed_now: bool,
    /// Visibility to rewrite on finish: `Some(None)` for a new execution, `Some(Some(before))` when it
    /// changed from `before` (closed).
    reindex_from: Option<Option<ExecutionRecord>>,
    /// The open items as stored under their own keys before this change (what `finish` diffs against).
    stored_items: Items,
    /// Whether the record's items were under their own keys before this change (see `items`).
    was_keyed: bool,
    /// Most events the history may hold (the termination event for reaching it comes on top).
    limit: i64,
    /// An event was refused because the history is full, or work was dropped that would have
    /// overfilled it: the run must be terminated.
    over_limit: bool,
}

impl Exec {
    /// Starts changing `rec`, whose history may hold at most `limit` events.
    pub fn new(rec: ExecutionRecord, limit: usize) -> Exec {
        let stored_items = Items::stored_of(&rec);
        let was_keyed = rec.items_keyed;
        Exec {
            rec,
            events: Vec::new(),
            queue_writes: Vec::new(),
            closed_now: false,
            reindex_from: None,
            stored_items,
            was_keyed,
            limit: i64::try_from(limit).unwrap_or(i64::MAX),
            over_limit: false,
        }
    }

    /// How many more events the history may take before it is full.
    pub fn room(&self) -> i64 {
        self.limit - (self.rec.next_event_id - 1)
    }

    /// Marks the run as having reached the history limit (its change needed more events than fit).
    pub fn mark_over_limit(&mut self) {
        self.over_limit = true;
    }

    /// Whether the open run has to be terminated for the history limit: it is full, or an event or
    /// work was refused for lack of room.
    pub fn must_end_for_limit(&self) -> bool {
        self.rec.is_open() && (self.over_limit || self.room() <= 0)
    }

    /// The limit this run's history has.
    pub fn limit(&self) -> i64 {
        self.limit
    }

    /// Marks a change that visibility shows (cancel requested), so finishing it re-indexes the execution.
    pub fn mark_changed(&mut self) {
        if self.reindex_from.is_none() {
            self.reindex_from = Some(Some(self.rec.clone()));
        }
    }

    /// Marks the execution as new, so finishing it indexes it for visibility.
    pub fn mark_new(&mut self) {
        self.reindex_from = Some(None);
    }

    /// Appends an event and returns its id. While the run is open and its history is full the event is
    /// not recorded (the id it would have had is returned) and the run is marked for termination.
    pub fn add_event<A: EventAttributes>(&mut self, now: Timestamp, attributes: A) -> i64 {
        if self.rec.is_open() && self.room() <= 0 {
            self.over_limit = true;
            return self.rec.next_event_id;
        }
        self.push_event(now, attributes)
    }

    /// Appends an event even past the history limit: only the event that ends a run for the limit.
    pub fn add_event_past_limit<A: EventAttributes>(
        &mut self,
        now: Timestamp,
        attributes: A,
    ) -> i64 {
        self.push_event(now, attributes)
    }

    fn push_event<A: EventAttributes>(&mut self, now: Timestamp, attributes: A) -> i64 {
        let id = self.rec.next_event_id;
        self.rec.next_event_id += 1;
        self.events.push(HistoryEvent::new(id, now, attributes));
        id
    }

    /// Records that an event needing the decider's attention arrived: schedules a decision task unless
    /// one is scheduled. While one is started, the next one is scheduled at once (its
    /// DecisionTaskScheduled follows the event, as real SWF records it) but queued only when the
    /// started one ends; a second event finds it already scheduled.
    pub fn needs_decision(&mut self, now: Timestamp, index: u64) {
        if !self.rec.is_open() {
            return;
        }
        match &self.rec.decision {
            DecisionSlot::None => self.schedule_decision(now, index),
            DecisionSlot::Scheduled { .. } => {}
            DecisionSlot::Started {
                pending: Some(_), ..
            } => {}
            DecisionSlot::Started { .. } => {
                let id = self.record_decision_scheduled(now);
                if let DecisionSlot::Started {
                    unhandled_events,
                    pending,
                    ..
                } = &mut self.rec.decision
                {
                    *unhandled_events = true;
                    *pending = Some(id);
                }
            }
        }
    }

    /// Appends DecisionTaskScheduled and queues the task.
    fn schedule_decision(&mut self, now: Timestamp, index: u64) {
        let id = self.record_decision_scheduled(now);
        self.queue_decision(id, index);
    }

    /// Appends DecisionTaskScheduled (not queued) and returns its id.
    fn record_decision_scheduled(&mut self, now: Timestamp) -> i64 {
        let cfg = &self.rec.config;
        let attributes = DecisionTaskScheduledEventAttributes {
            task_list: Box::new(TaskList {
                name: cfg.task_list.clone(),
            }),
            // SWF leaves the priority out unless one was set (0 is the default).
            task_priority: (cfg.task_priority != 0).then(|| cfg.task_priority.to_string()),
            start_to_close_timeout: Some(cfg.task_start_to_close_timeout.clone()),
            // A decision task never times out waiting for a decider: SWF writes "NONE".
            schedule_to_start_timeout: Some("NONE".into()),
        };
        self.add_event(now, attributes)
    }

    /// Queues the decision task scheduled at `id` (it becomes pollable) and makes it the slot's.
    fn queue_decision(&mut self, id: i64, index: u64) {
        let cfg = &self.rec.config;
        let queued = QueuedTask {
            domain: self.rec.domain.clone(),
            kind: TaskKind::Decision,
            task_list: cfg.task_list.clone(),
            priority: cfg.task_priority,
            seq: index,
            run_id: self.rec.run_id.clone(),
            scheduled_event_id: id,
        };
        self.queue_writes.push(Write::Enqueue(queued.clone()));
        self.rec.decision = DecisionSlot::Scheduled {
            scheduled_event_id: id,
            queued,
        };
    }

    /// Ends the started decision task, completed (`timed_out` false: its started event becomes
    /// `previousStartedEventId`) or timed out. The decision task scheduled behind it is queued; with
    /// none, a new one is scheduled when `reschedule` (a decision failed, or the record predates
    /// `pending` and events arrived meanwhile).
    pub fn end_decision_task(
        &mut self,
        now: Timestamp,
        index: u64,
        reschedule: bool,
        timed_out: bool,
    ) {
        let (started, pending, unhandled) = match self.rec.decision {
            DecisionSlot::Started {
                started_event_id,
                pending,
                unhandled_events,
                ..
            } => (started_event_id, pending, unhandled_events),
            _ => return,
        };
        if !timed_out {
            self.rec.previous_started_event_id = started;
        }
        self.rec.decision = DecisionSlot::None;
        if !self.rec.is_open() {
            return;
        }
        match pending {
            Some(id) => self.queue_decision(id, index),
            None if reschedule || unhandled => self.schedule_decision(now, index),
            None => {}
        }
    }

    /// Arms a deadline `secs` after `now` for this execution.
    pub fn arm(&mut self, kind: DeadlineKind, event_id: i64, now: Timestamp, secs: u64) {
        let due = Timestamp(now.0.saturating_add((secs as i64).saturating_mul(1000)));
        let d = Deadline {
            due,
            run_id: self.rec.run_id.clone(),
            kind,
            event_id,
        };
        self.queue_writes.push(Write::Arm(d.clone()));
        self.rec.deadlines.push(d);
    }

    /// Disarms every deadline of this execution that `which` selects.
    pub fn disarm(&mut self, which: impl Fn(&Deadline) -> bool) {
        let (gone, kept): (Vec<Deadline>, Vec<Deadline>) = std::mem::take(&mut self.rec.deadlines)
            .into_iter()
            .partition(|d| which(d));
        self.rec.deadlines = kept;
        self.queue_writes
            .extend(gone.into_iter().map(Write::Disarm));
    }

    /// Disarms the activity deadlines of the activity scheduled at `scheduled`.
    pub fn disarm_activity(&mut self, scheduled: i64) {
        self.disarm(|d| {
            d.event_id == scheduled
                && matches!(
                    d.kind,
                    DeadlineKind::ActivityScheduleToStart
                        | DeadlineKind::ActivityScheduleToClose
                        | DeadlineKind::ActivityStartToClose
                        | DeadlineKind::ActivityHeartbeat
                )
        });
    }

    /// Queues an activity task.
    pub fn enqueue(&mut self, task: QueuedTask) {
        self.queue_writes.push(Write::Enqueue(task));
    }

    /// Removes a task from its queue.
    pub fn dequeue(&mut self, task: QueuedTask) {
        self.queue_writes.push(Write::Dequeue(task));
    }

    /// Closes the execution: pending tasks leave their queues, open activities and the decision task end.
    pub fn close(&mut self, now: Timestamp, status: CloseStatus) {
        self.mark_changed();
        self.rec.closed = Some(now);
        self.rec.close_status = Some(status);
        if let DecisionSlot::Scheduled { queued, .. } = std::mem::take(&mut self.rec.decision) {
            self.queue_writes.push(Write::Dequeue(queued));
        }
        for (_, activity) in std::mem::take(&mut self.rec.activities) {
            if let Some(q) = activity.queued {
                self.queue_writes.push(Write::Dequeue(q));
            }
        }
        self.rec.timers.clear();
        self.disarm(|_| true);
        self.closed_now = true;
    }

    /// Whether this change closed the execution.
    pub fn closed_now(&self) -> bool {
        self.closed_now
    }

    /// Whether the execution is open.
    pub fn is_open(&self) -> bool {
        self.rec.is_open()
    }

    /// Emits the writes: events, queue changes, the record and (on close) the open-run index. `embed`:
    /// whether the record may hold its open items itself (apply version 4 or later, see `items`).
    /// Returns the record as written.
    pub fn finish(self, writes: &mut Vec<Write>, embed: bool) -> ExecutionRecord {
        let run_id = self.rec.run_id.clone();
        // The open-run index: set by a new run, cleared by a close (except a continue-as-new, whose
        // new run takes the workflow id over in the same command).
        if matches!(self.reindex_from, Some(None)) {
            writes.push(Write::OpenRun {
                domain: self.rec.domain.clone(),
                workflow_id: self.rec.workflow_id.clone(),
                run_id: Some(run_id.clone()),
            });
        } else if self.closed_now && self.rec.close_status != Some(CloseStatus::ContinuedAsNew) {
            writes.push(Write::OpenRun {
                domain: self.rec.domain.clone(),
                workflow_id: self.rec.workflow_id.clone(),
                run_id: None,
            });
        }
        writes.extend(self.events.into_iter().map(|event| Write::Event {
            run_id: run_id.clone(),
            event,
        }));
        writes.extend(self.queue_writes);
        if let Some(before) = &self.reindex_from {
            writes.extend(crate::visibility::reindex(before.as_ref(), &self.rec));
        }
        let mut rec = self.rec;
        rec.finish_assembly();
        rec.items_keyed = crate::items::keyed_after(embed, self.was_keyed, rec.item_count());
        if rec.items_keyed {
            crate::items::diff(&self.stored_items, &rec, writes);
        } else if !self.stored_items.is_empty() {
            // Back into the record: the keys its items had go.
            crate::items::remove_stored(&run_id, self.stored_items, writes);
        }
        writes.push(Write::Execution(rec.clone()));
        rec
    }
}
