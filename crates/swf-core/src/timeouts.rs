//! Firing deadlines: timers (TimerFired), the four activity timeouts (ActivityTaskTimedOut with the last
//! heartbeat details), the decision task start-to-close timeout (DecisionTaskTimedOut, then the decision
//! task already scheduled behind it is queued, or a new one is scheduled) and the execution start-to-close timeout (WorkflowExecutionTimedOut, closing the run).
//! A firing is applied only if the deadline is still armed and its due time has come by the leader's
//! stamped clock; a stale firing only removes the index entry, an early one changes nothing.

use swf_types::shapes::*;

use crate::command::{Outcome, Reply};
use crate::ctx::Ctx;
use crate::execution::Exec;
use crate::state::*;

impl<S: Lookup + ?Sized> Ctx<'_, S> {
    pub(crate) fn fire(&mut self, d: &Deadline) -> Result<Outcome, ReadError> {
        if let DeadlineKind::Sfn(kind) = d.kind {
            return crate::sfn::fire(self, d, kind);
        }
        if self.now < d.due {
            // Never early: the leader proposes again once the time has come.
            return Ok(Ok(Reply::Done));
        }
        let rec = match self.load(&d.run_id)? {
            Some(rec)
                if d.kind == DeadlineKind::Retention
                    && !rec.is_open()
                    && rec.deadlines.contains(d) =>
            {
                self.writes.push(Write::Disarm(d.clone()));
                crate::items::remove_all(&rec, &mut self.writes);
                self.writes.push(Write::Purge {
                    run_id: rec.run_id.clone(),
                    last_event_id: rec.next_event_id - 1,
                    visibility_keys: crate::visibility::index_keys(&rec),
                });
                return Ok(Ok(Reply::Done));
            }
            Some(rec) if rec.is_open() && rec.deadlines.contains(d) => rec,
            _ => {
                self.writes.push(Write::Disarm(d.clone()));
                return Ok(Ok(Reply::Done));
            }
        };
        let mut exec = Exec::new(rec, self.limits.max_history_events);
        exec.disarm(|x| x == d);
        let now = self.now;
        match &d.kind {
            DeadlineKind::Timer { timer_id } => {
                if let Some(timer) = exec.rec.timers.remove(timer_id) {
                    exec.add_event(
                        now,
                        TimerFiredEventAttributes {
                            timer_id: timer_id.clone(),
                            started_event_id: timer.started_event_id,
                        },
                    );
                    exec.needs_decision(now, self.index);
                }
            }
            DeadlineKind::ActivityScheduleToStart
            | DeadlineKind::ActivityScheduleToClose
            | DeadlineKind::ActivityStartToClose
            | DeadlineKind::ActivityHeartbeat => {
                let timeout_type = match d.kind {
                    DeadlineKind::ActivityScheduleToStart => {
                        ActivityTaskTimeoutType::ScheduleToStart
                    }
                    DeadlineKind::ActivityScheduleToClose => {
                        ActivityTaskTimeoutType::ScheduleToClose
                    }
                    DeadlineKind::ActivityStartToClose => ActivityTaskTimeoutType::StartToClose,
                    _ => ActivityTaskTimeoutType::Heartbeat,
                };
                if let Some(a) = exec.rec.activities.remove(&d.event_id) {
                    exec.disarm_activity(d.event_id);
                    if let Some(q) = a.queued.clone() {
                        exec.dequeue(q);
                    }
                    exec.add_event(
                        now,
                        ActivityTaskTimedOutEventAttributes {
                            timeout_type,
                            scheduled_event_id: d.event_id,
                            started_event_id: a.started_event_id.unwrap_or(0),
                            details: a.heartbeat_details.clone(),
                        },
                    );
                    exec.needs_decision(now, self.index);
                }
            }
            DeadlineKind::DecisionStartToClose => {
                if let DecisionSlot::Started {
                    scheduled_event_id,
                    started_event_id,
                    ..
                } = exec.rec.decision
                {
                    if started_event_id == d.event_id {
                        exec.add_event(
                            now,
                            DecisionTaskTimedOutEventAttributes {
                                timeout_type: DecisionTaskTimeoutType::StartToClose,
                                scheduled_event_id,
                                started_event_id,
                            },
                        );
                        // The decision task scheduled behind it (if any) becomes pollable;
                        // otherwise a new one is scheduled.
                        exec.end_decision_task(now, self.index, true, true);
                    }
                }
            }
            DeadlineKind::Retention | DeadlineKind::Sfn(_) => {}
            DeadlineKind::WorkflowStartToClose => {
                let child_policy = exec.rec.config.child_policy;
                exec.add_event(
                    now,
                    WorkflowExecutionTimedOutEventAttributes {
                        timeout_type: WorkflowExecutionTimeoutType::StartToClose,
                        child_policy,
                    },
                );
                exec.close(now, CloseStatus::TimedOut);
            }
        }
        self.commit(exec)?;
        Ok(Ok(Reply::Done))
    }
}
