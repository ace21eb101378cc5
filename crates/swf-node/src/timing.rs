//! The Raft timing constants of a node, in one place: what openraft is configured with and what the
//! stop-gaps built around it (leader transfer, membership catch-up, readiness) derive from them.

/// How often the leader sends heartbeats (ms). openraft ticks its election timer every 1.5 heartbeats.
pub const HEARTBEAT_MS: u64 = 50;

/// The election timeout range (ms). In openraft 0.9 a follower that has seen a leader waits the leader
/// lease (= the maximum) plus its own timeout (drawn once per process from the range) without a
/// heartbeat before it campaigns, and refuses votes until that lease has expired: a dead leader is
/// replaced after 300 ms + 150..300 ms + up to one tick. A follower calls an election only after
/// 450 ms without a heartbeat, nine heartbeat periods, which a loaded 2-core machine keeps within.
pub const ELECTION_TIMEOUT_MS: (u64, u64) = (150, 300);

/// A node that has heard from no majority of the voters for this long is cut off from the cluster and
/// refuses calls (a leader: no quorum acks, openraft's own measure; a follower: no probe answers or
/// Raft messages, see `heard`).
pub const CUT_OFF: std::time::Duration = std::time::Duration::from_millis(1_000);

/// How long one snapshot chunk RPC may take (ms); the last chunk's includes the follower's install.
pub const INSTALL_SNAPSHOT_TIMEOUT_MS: u64 = 120_000;

/// Size of the chunks a snapshot file is sent in.
pub const SNAPSHOT_CHUNK_BYTES: u64 = 4 << 20;

/// Most log entries a ready node may have left to apply.
pub const READY_LAG: u64 = 1_000;
