//! SWF API types: every shape of the SWF model (generated from the model file by `build.rs`), the
//! request validator that enforces the model's constraints, and `Fault`, the errors with their exact
//! wire codes. Nothing here does I/O; every other crate speaks these types.

pub mod common;
pub mod events;
pub mod fault;
pub mod model;

/// The SWF model's shapes, generated at build time from `model/swf-2012-01-25.service.json`.
#[allow(clippy::all, missing_docs)]
pub mod shapes {
    include!(concat!(env!("OUT_DIR"), "/shapes.rs"));
}

/// The actions of the SWF and Step Functions models (`SwfAction`, `SfnAction`), generated at build time.
#[allow(clippy::all, missing_docs)]
pub mod actions {
    include!(concat!(env!("OUT_DIR"), "/actions.rs"));
}

pub use common::{parse_duration, parse_priority, Timestamp};
pub use fault::{Fault, FaultKind};
