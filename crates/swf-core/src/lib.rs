//! The SWF state machine, pure: no clock, no I/O, no randomness. `apply` takes the applied state (read
//! through `StateRead`), a command stamped by the leader, and its log index, and returns the caller's
//! outcome and the writes to commit atomically. `query` answers reads from the same state. This is where
//! SWF's semantics live; the store, the Raft node and the gateway only carry commands here and back.

pub mod apply;
#[cfg(test)]
mod apply_test;
pub mod apply_version;
mod children;
pub mod command;
pub mod ctx;
mod decisions;
pub mod dedup;
pub mod execution;
mod external;
pub mod items;
pub mod keyring;
pub mod limits;
pub mod memstate;
mod not_permitted;
pub mod overlay;
pub mod page_token;
pub mod query;
pub mod registry;
mod runs;
pub mod sfn;
mod start;
pub mod state;
mod tasks;
mod timeouts;
pub mod token;
mod token_key;
pub mod validate;
pub mod visibility;

pub use apply::{apply, Applied};
pub use command::{Batch, Command, Op, Outcome, Outcomes, Reply};
pub use limits::Limits;
pub use overlay::{apply_batch, AppliedBatch};
pub use state::{Lookup, ReadError, StateRead, Write};
