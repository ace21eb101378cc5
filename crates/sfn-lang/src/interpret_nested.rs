//! The interpreter's side of nested-execution Tasks (`nested`): entering one writes TaskScheduled and
//! TaskStarted and asks the engine to start the child ([`Effect::StartChild`]); the engine's answers
//! (`ChildStarted`, `ChildStartFailed`, `ChildClosed`, and for `.waitForTaskToken` the callbacks that
//! arrive as `Activity*` events) write TaskSubmitted, TaskSucceeded, TaskFailed or TaskTimedOut, the
//! events AWS records for these tasks, and move the thread on.

use serde_json::{json, Value};

use super::{Effect, Engine, Event, Flow, Thread, Waiting};
use crate::dataflow::{self, check_size};
use crate::definition::{State, Task};
use crate::error::{json_text, StatesError};
use crate::nested::{self, Mode};

impl Engine<'_> {
    /// Enters a nested-execution Task: Parameters (with `$$.Task.Token` for `.waitForTaskToken`),
    /// TaskScheduled, TaskStarted, and the child's start for the engine.
    pub(super) fn nested_start(
        &mut self,
        state: &State,
        th: &mut Thread,
        task: &Task,
    ) -> Result<Flow, StatesError> {
        let Some(mode) = Mode::of(&task.resource) else {
            return Err(StatesError::Runtime(format!(
                "The resource {} is not supported",
                task.resource
            )));
        };
        // The task's id is the id TaskScheduled is about to get.
        let task_id = *self.last_event_id + 1;
        let mut ctx = self.context(th, None);
        if mode == Mode::WaitForTaskToken {
            if let (Some(token), Value::Object(m)) = (
                self.world.task_token(&self.info.execution_arn, task_id),
                &mut ctx,
            ) {
                m.insert("Task".into(), json!({ "Token": token }));
            }
        }
        let raw = th.raw_input.clone();
        let eff = dataflow::effective_input(state, &raw, &ctx, self.entropy)?;
        let (timeout, heartbeat) = dataflow::task_timeouts(task, &eff, &ctx)?;
        let req = nested::request(&eff).map_err(StatesError::Runtime)?;
        let mut extra = json!({
            "region": nested::region(&self.info.execution_arn),
            "parameters": json_text(&eff),
        });
        if let Some(t) = timeout {
            extra["timeoutInSeconds"] = json!(t);
        }
        if let Some(h) = heartbeat {
            extra["heartbeatInSeconds"] = json!(h);
        }
        let id = self.push(
            "TaskScheduled",
            "taskScheduledEventDetails",
            nested::details(mode, extra),
        );
        self.push(
            "TaskStarted",
            "taskStartedEventDetails",
            nested::details(mode, json!({})),
        );
        th.waiting = Waiting::Nested { task_id: id, mode };
        let name = match req.name {
            Some(n) => n,
            None => self.entropy.uuid(),
        };
        let seed = self.entropy.next_u64();
        self.out.effects.push(Effect::StartChild {
            task_id: id,
            mode,
            state_machine_arn: req.state_machine_arn,
            name,
            input: req.input,
            seed,
            timeout_seconds: timeout,
            heartbeat_seconds: heartbeat,
        });
        Ok(Flow::Blocked)
    }

    /// Delivers `ev` to a thread waiting for nested task `task_id`; `None` if it is not for it.
    pub(super) fn nested_deliver(
        &mut self,
        state: &State,
        th: &mut Thread,
        task_id: u64,
        mode: Mode,
        ev: &Event,
    ) -> Option<Flow> {
        match ev {
            Event::ChildStarted {
                task_id: t,
                execution_arn,
                start_date_ms,
            } if *t == task_id => {
                let out = nested::started_output(execution_arn, *start_date_ms);
                if mode == Mode::FireAndForget {
                    return Some(self.nested_succeeded(state, th, mode, &out));
                }
                self.push(
                    "TaskSubmitted",
                    "taskSubmittedEventDetails",
                    nested::details(
                        mode,
                        json!({"output": json_text(&out), "outputDetails": {"truncated": false}}),
                    ),
                );
                Some(Flow::Blocked)
            }
            Event::ChildStartFailed {
                task_id: t,
                error,
                cause,
            } if *t == task_id => {
                Some(self.nested_failed(state, th, mode, Some(error), Some(cause)))
            }
            Event::ChildClosed {
                task_id: t,
                succeeded,
                description,
            } if *t == task_id && mode.waits_for_child() => {
                if *succeeded {
                    let result = nested::sync_result(mode, description);
                    Some(self.nested_succeeded(state, th, mode, &result))
                } else {
                    // A child that failed, timed out or was stopped fails the task with
                    // States.TaskFailed; the cause is the child's description.
                    let cause = json_text(description);
                    Some(self.nested_failed(
                        state,
                        th,
                        mode,
                        Some("States.TaskFailed"),
                        Some(&cause),
                    ))
                }
            }
            Event::ActivitySucceeded { task_id: t, output }
                if *t == task_id && mode == Mode::WaitForTaskToken =>
            {
                Some(self.nested_succeeded(state, th, mode, output))
            }
            Event::ActivityFailed {
                task_id: t,
                error,
                cause,
            } if *t == task_id && mode == Mode::WaitForTaskToken => {
                Some(self.nested_failed(state, th, mode, error.as_deref(), cause.as_deref()))
            }
            Event::ActivityTimedOut {
                task_id: t,
                error,
                cause,
            } if *t == task_id => {
                let mut d = json!({"error": error});
                if let Some(c) = cause {
                    d["cause"] = json!(c);
                }
                self.push(
                    "TaskTimedOut",
                    "taskTimedOutEventDetails",
                    nested::details(mode, d),
                );
                Some(self.state_failed(state, th, error.clone(), cause.clone().unwrap_or_default()))
            }
            _ => None,
        }
    }

    /// TaskSucceeded with `result`, then the state's output and its exit.
    fn nested_succeeded(
        &mut self,
        state: &State,
        th: &mut Thread,
        mode: Mode,
        result: &Value,
    ) -> Flow {
        self.push(
            "TaskSucceeded",
            "taskSucceededEventDetails",
            nested::details(
                mode,
                json!({"output": json_text(result), "outputDetails": {"truncated": false}}),
            ),
        );
        th.waiting = Waiting::Nothing;
        let ctx = self.context(th, None);
        let raw = th.raw_input.clone();
        match check_size(result, "output")
            .and_then(|_| dataflow::state_output(state, &raw, result, &ctx, self.entropy))
        {
            Ok(out) => self.exit(state, th, out),
            Err(e) => {
                let (error, cause) = self.runtime(th, e);
                self.state_failed(state, th, error, cause)
            }
        }
    }

    /// TaskFailed with `error` / `cause`, then Retry / Catch.
    fn nested_failed(
        &mut self,
        state: &State,
        th: &mut Thread,
        mode: Mode,
        error: Option<&str>,
        cause: Option<&str>,
    ) -> Flow {
        let mut d = serde_json::Map::new();
        if let Some(e) = error {
            d.insert("error".into(), json!(e));
        }
        if let Some(c) = cause {
            d.insert("cause".into(), json!(c));
        }
        self.push(
            "TaskFailed",
            "taskFailedEventDetails",
            nested::details(mode, Value::Object(d)),
        );
        self.state_failed(
            state,
            th,
            error.unwrap_or_default().to_string(),
            cause.unwrap_or_default().to_string(),
        )
    }
}
