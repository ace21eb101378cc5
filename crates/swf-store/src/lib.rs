//! RocksDB storage for the Raft node: the Raft log store (`LogStore`) and the SWF state machine store
//! (`StateMachineStore`) that openraft drives, plus `StateReader`, the read side of applied state used
//! by the core during apply and by the node for queries and task matching. One database, one column
//! family per keyspace; the log and the state never share a key space, so log purge and snapshots are
//! independent. Each applied entry is one WriteBatch that includes the applied log id.

// openraft's StorageError/RPCError and tonic's Status are large; they are the error types of the
// traits we implement, so boxing them here would only add conversions.
#![allow(clippy::result_large_err)]

pub mod backup;
pub mod compactor;
pub mod db;
pub mod digest;
pub mod error;
pub mod hot_index;
pub mod keys;
pub mod log_store;
pub mod metrics;
pub mod reader;
pub mod recover;
pub mod registry_cache;
pub mod snapshot;
pub mod state_machine;

pub use db::{open_db, Db};
pub use error::StoreError;
pub use log_store::LogStore;
pub use reader::StateReader;
pub use state_machine::{ApplyHook, StateMachineStore};

openraft::declare_raft_types!(
    /// The Raft types of an SWF cluster: commands in, outcomes out, u64 node ids.
    pub TypeConfig:
        D = swf_core::Batch,
        R = swf_core::Outcomes,
        NodeId = u64,
        Node = openraft::BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = tokio::fs::File,
        AsyncRuntime = openraft::TokioRuntime,
);
