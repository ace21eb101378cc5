//! The swfd node, by concern:
//! - serving calls: `executor` (actions into stamped commands or reads), `proposer`, `clock` (the
//!   cluster time it stamps, safe against skewed clocks), `matcher` (long
//!   polls held in memory), `timers`, `router` (how a call reaches the leader), `leader` (the leader's
//!   own path for a call, in-process when it took the call itself), `request` (a call's context across
//!   forwarding), `service` (the `SwfNode` gRPC server), `express` (StartSyncExecution's wait for
//!   the close, on the node that took the call);
//! - storage: `disk` (refuses writes while the data directory is low on space);
//! - Raft wiring: `node` (start, status, shutdown), `network` and `service::RaftServer` (openraft's
//!   RPCs), `channel`, `timing` (the timing constants), `config`;
//! - transport security: `tls` (PEM files, reloaded on change), `peer_tls` (mutual TLS between nodes);
//! - operations: `backup` (online backups, streamed from the leader);
//! - observability: `metrics` (Prometheus metrics; `Node::refresh_metrics` before a scrape),
//!   `call_timing` (where a call's time went, and the slow-call log), `future_size` (what a held
//!   call's futures weigh, logged at DEBUG);
//! - cluster control: `control` (the typed `Cluster` gRPC server), `membership`, `transfer` and
//!   `elections` — the last two are stop-gaps for what openraft 0.9 lacks (leader transfer, pre-vote).

// openraft's StorageError/RPCError and tonic's Status are large; they are the error types of the
// traits we implement, so boxing them here would only add conversions.
#![allow(clippy::result_large_err)]

pub mod apply_version;
mod authorize;
pub mod backup;
pub mod call_timing;
pub mod channel;
pub mod clock;
pub mod config;
pub mod control;
pub mod disk;
pub mod elections;
pub mod executor;
pub mod express;
pub mod future_size;
pub mod heard;
pub mod leader;
pub mod matcher;
#[cfg(test)]
mod matcher_test;
pub mod membership;
pub mod metrics;
pub mod network;
pub mod node;
pub mod peer_tls;
mod proposer;
pub mod request;
pub mod router;
pub mod service;
pub mod timers;
pub mod timing;
pub mod tls;
pub mod transfer;

pub use config::NodeConfig;
pub use node::Node;
pub use router::Router;
