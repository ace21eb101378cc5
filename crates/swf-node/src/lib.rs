//! The swfd node: openraft wired to the RocksDB stores, the internal gRPC server (SWF execution and
//! Raft RPCs), the leader's executor that turns SWF actions into stamped commands or reads, the task
//! matcher that holds long polls in memory, and the router a gateway uses to reach the leader.

// openraft's StorageError/RPCError and tonic's Status are large; they are the error types of the
// traits we implement, so boxing them here would only add conversions.
#![allow(clippy::result_large_err)]

pub mod channel;
pub mod config;
pub mod elections;
pub mod executor;
pub mod matcher;
#[cfg(test)]
mod matcher_test;
pub mod membership;
pub mod network;
pub mod node;
mod proposer;
pub mod router;
pub mod service;
pub mod timers;
pub mod transfer;

pub use config::NodeConfig;
pub use node::Node;
pub use router::Router;
