//! The Amazon States Language, JSONPath and JSONata dialects, with workflow variables (`variables`,
//! `jsonata`), as a pure library for the Step Functions engine that
//! runs inside swf-core's deterministic apply: definitions and their validation (`definition`,
//! `validate`), paths (`path`) and the context object (`context`), intrinsic functions (`intrinsics`),
//! the data flow of a state (`dataflow`), Choice rules (`choice`), Retry / Catch (`retry`), Wait
//! (`wait`), TestState's one-state runs (`test_state`), and a pure interpreter step (`interpret`) that turns an incoming event into AWS's history
//! events and the effects the engine must carry out, with RedriveExecution's restart (`redrive`).
//!
//! No I/O, no clock, no randomness: time and random values come from the caller (leader-stamped; see
//! `entropy`), and JSON objects keep their key order (serde_json `preserve_order`) as AWS's outputs
//! do. Nothing here panics on any input; errors are typed and carry AWS's error names and texts.

pub mod choice;
pub mod context;
pub mod dataflow;
pub mod definition;
pub mod distributed;
pub mod entropy;
pub mod error;
pub mod interpret;
pub mod intrinsics;
pub mod jsonata;
mod jsonata_functions;
mod jsonata_refs;
mod jsonata_states;
pub mod nested;
pub mod path;
pub mod retry;
pub mod test_state;
pub mod validate;
pub mod variable_references;
pub mod variables;
pub mod wait;

pub use context::Context;
pub use definition::{Definition, InvalidDefinition, State, StateKind};
pub use entropy::Entropy;
pub use error::StatesError;
pub use interpret::redrive;
pub use path::Path;

#[cfg(test)]
mod robustness_test;

#[cfg(test)]
mod jsonata_order_test;

#[cfg(test)]
mod jsonata_create_test;

#[cfg(test)]
mod test_fixtures;
