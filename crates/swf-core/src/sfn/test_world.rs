//! The state every Step Functions table test drives: a `MemState`, the limits, and `apply` of one
//! command at a given time, the way the Raft state machine applies it (one write set per entry).
//! `sfn_test`, `express_test` and `children_test` (and `map_runs_test` through it) wrap it with
//! their own helpers.

use serde_json::{json, Value};
use swf_types::{FaultKind, Timestamp};

use crate::command::{Command, Op, Reply};
use crate::limits::Limits;
use crate::memstate::MemState;
use crate::state::Deadline;

/// A reply's JSON, or a fault's (kind, message).
pub(super) type Answer = Result<Value, (FaultKind, String)>;

pub(super) struct Core {
    pub(super) state: MemState,
    pub(super) limits: Limits,
    index: u64,
}

impl Core {
    pub(super) fn new() -> Core {
        Core {
            state: MemState::default(),
            limits: Limits::default(),
            index: 0,
        }
    }

    /// Applies `op` stamped `now_ms` as the next log entry and writes what it wrote.
    pub(super) fn apply(&mut self, now_ms: i64, op: Op) -> Answer {
        self.index += 1;
        let cmd = Command {
            now: Timestamp(now_ms),
            op,
            fresh_ids: vec![],
            request_id: None,
        };
        let applied = crate::apply::apply(&self.state, self.index, &cmd, &self.limits).unwrap();
        self.state.write(applied.writes);
        match applied.outcome {
            Ok(Reply::Sfn(v)) => Ok(v),
            Ok(Reply::Done) => Ok(json!({})),
            Ok(other) => panic!("unexpected reply {other:?}"),
            Err(f) => Err((f.kind, f.message)),
        }
    }

    /// The armed deadlines due at `now_ms`.
    pub(super) fn due(&self, now_ms: i64) -> Vec<Deadline> {
        self.state
            .deadlines
            .iter()
            .filter(|d| d.due.0 <= now_ms)
            .cloned()
            .collect()
    }

    /// Fires every deadline due at `now_ms` in one command (what the timer service does); whether
    /// there was any.
    pub(super) fn fire_due(&mut self, now_ms: i64) -> bool {
        let due = self.due(now_ms);
        if due.is_empty() {
            return false;
        }
        self.apply(now_ms, Op::FireDeadlines(due)).unwrap();
        true
    }
}

/// `Deref` / `DerefMut` from a test's `World` (a struct with a `core: Core` field) to its `Core`, so
/// the tests read `w.state` and `w.limits` as before.
macro_rules! deref_to_core {
    ($world:ty) => {
        impl std::ops::Deref for $world {
            type Target = $crate::sfn::test_world::Core;
            fn deref(&self) -> &Self::Target {
                &self.core
            }
        }

        impl std::ops::DerefMut for $world {
            fn deref_mut(&mut self) -> &mut Self::Target {
                &mut self.core
            }
        }
    };
}
pub(super) use deref_to_core;
