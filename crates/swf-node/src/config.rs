//! The node's configuration, as plain data (the binary owns flags, files and environment).

use std::path::PathBuf;
use std::time::Duration;

use swf_core::Limits;

/// Everything a node needs to start.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// This node's Raft id.
    pub node_id: u64,
    /// Where RocksDB keeps the log and the state.
    pub data_dir: PathBuf,
    /// How long a long poll is held before it is answered empty.
    pub long_poll: Duration,
    /// Most pollers waiting on one task list at once.
    pub max_pollers_per_task_list: usize,
    /// Quotas and naming applied by the state machine.
    pub limits: Limits,
    /// The members of a new cluster (node id → gRPC address), used only to initialise a node whose log
    /// is empty; `None` makes a one-node cluster of this node.
    pub initial_members: Option<std::collections::BTreeMap<u64, String>>,
    /// Take a snapshot (and purge the log behind it) every this many applied entries.
    pub snapshot_every: u64,
    /// The node joins a running cluster (it is added through the admin API) instead of initialising one.
    pub join: bool,
    /// How long a node being added may take to catch up before the add is given up.
    pub member_catch_up: Duration,
    /// Mutual TLS on the gRPC port and to peers (`None`: plaintext).
    pub peer_tls: Option<std::sync::Arc<crate::peer_tls::PeerTls>>,
    /// Below this many bytes free in the data directory's filesystem the node refuses writes (see
    /// `disk`); 0: never.
    pub min_free_disk: u64,
    /// The highest apply version this node offers the cluster (`swf_core::apply_version`; the
    /// leader raises the cluster's version only to one every member offers).
    pub max_apply_version: u32,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            node_id: 1,
            data_dir: PathBuf::from("swfd-data"),
            long_poll: Duration::from_secs(55),
            max_pollers_per_task_list: 1000,
            limits: Limits::default(),
            initial_members: None,
            join: false,
            snapshot_every: 20_000,
            member_catch_up: Duration::from_secs(60),
            peer_tls: None,
            min_free_disk: 64 << 20,
            max_apply_version: swf_core::apply_version::APPLY_VERSION,
        }
    }
}
