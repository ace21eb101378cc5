//! The disk guard: keeps a node whose data directory runs out of space from writing until space is
//! freed, instead of letting RocksDB fail a write (which openraft treats as fatal: the node would stop
//! for good and an operator would have to restart it).
//!
//! Four times a second it reads the free space of the data directory's filesystem (`statvfs`). Below
//! `min_free` the node is **low**: as leader it refuses every proposal with `ServiceUnavailable`
//! (retryable: the SDKs retry it, and a retry lands on the next leader) and hands leadership to the most
//! up-to-date other voter; as follower it refuses the Raft messages that would append to its log or
//! install a snapshot (the leader keeps replicating to the others, and the cluster goes on without it
//! as with a slow node) and holds its own elections, so it neither wins nor disturbs one. Writes
//! already committed still apply; the margin (`min_free`, 64 MiB by default, `--min-free-disk-mb`) is
//! there for them, for the vote, and for RocksDB's flushes. It is no longer low once a quarter more than
//! `min_free` is free again (so it does not flap at the edge); the leader then takes writes again and
//! the follower catches up, all on its own.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use swf_types::Fault;

/// How often the free space is read.
const EVERY: Duration = Duration::from_millis(250);

/// Whether a node is low on space after reading `free` bytes free, given whether it was before.
pub(crate) fn low_after(free: u64, min_free: u64, was_low: bool) -> bool {
    if was_low {
        free < min_free.saturating_add(min_free / 4)
    } else {
        free < min_free
    }
}

/// The space of the filesystem holding `path`: (bytes free to an unprivileged writer, its size in
/// bytes). What the guard reads, and what `swfd check-config` checks `--min-free-disk-mb` against.
pub fn space(path: &std::path::Path) -> std::io::Result<(u64, u64)> {
    let s = rustix::fs::statvfs(path)?;
    Ok((
        s.f_bavail.saturating_mul(s.f_frsize),
        s.f_blocks.saturating_mul(s.f_frsize),
    ))
}

/// The free space of the data directory and whether it is too little; see the module doc.
pub struct DiskGuard {
    dir: PathBuf,
    min_free: u64,
    low: AtomicBool,
    /// Bytes free at the last reading.
    free: AtomicU64,
}

impl DiskGuard {
    /// A guard of `dir` that calls it low below `min_free` bytes free (0: never).
    pub fn new(dir: PathBuf, min_free: u64) -> DiskGuard {
        DiskGuard {
            dir,
            min_free,
            low: AtomicBool::new(false),
            free: AtomicU64::new(u64::MAX),
        }
    }

    /// Whether the node is low on space (it refuses writes).
    pub fn is_low(&self) -> bool {
        self.low.load(Ordering::SeqCst)
    }

    /// The fault a write gets while the node is low on space; `None` while it is not.
    pub fn refusal(&self) -> Option<Fault> {
        self.is_low().then(|| {
            Fault::unavailable(format!(
                "The leader's data directory is low on disk space ({} MiB free, {} MiB needed): \
                 writes are refused until space is freed or another node leads",
                self.free.load(Ordering::SeqCst) >> 20,
                self.min_free >> 20
            ))
        })
    }

    /// Reads the free space once; returns whether the node is low now and whether that changed.
    pub fn check(&self) -> (bool, bool) {
        if self.min_free == 0 {
            return (false, false);
        }
        let free = match space(&self.dir) {
            Ok((free, _)) => free,
            Err(e) => {
                tracing::warn!(error = %e, dir = %self.dir.display(), "reading the data directory's free space");
                return (self.is_low(), false);
            }
        };
        self.free.store(free, Ordering::SeqCst);
        let was = self.is_low();
        let now = low_after(free, self.min_free, was);
        self.low.store(now, Ordering::SeqCst);
        if now != was {
            if now {
                tracing::error!(
                    free_mib = free >> 20,
                    min_free_mib = self.min_free >> 20,
                    dir = %self.dir.display(),
                    "the data directory is low on disk space: refusing writes and leadership until space is freed"
                );
            } else {
                tracing::warn!(
                    free_mib = free >> 20,
                    dir = %self.dir.display(),
                    "disk space freed: taking writes again"
                );
            }
        }
        (now, now != was)
    }
}

/// What the guard's task acts on.
pub(crate) struct Effects {
    pub node_id: u64,
    pub raft: openraft::Raft<swf_store::TypeConfig>,
    pub router: Arc<crate::router::Router>,
    pub transfer: Arc<crate::transfer::Transfer>,
    pub elections: Arc<crate::elections::ElectionGate>,
}

/// Runs the guard until `stop` turns true: reads the space, holds or releases this node's elections,
/// and while low hands leadership away (retried every two seconds while it still leads).
pub(crate) fn spawn(
    guard: Arc<DiskGuard>,
    fx: Effects,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        let mut last_transfer: Option<tokio::time::Instant> = None;
        fx.elections.set_disk_low(guard.is_low());
        loop {
            let (low, changed) = guard.check();
            if changed {
                fx.elections.set_disk_low(low);
            }
            let leads = fx.raft.metrics().borrow().current_leader == Some(fx.node_id);
            if low && leads && last_transfer.is_none_or(|t| t.elapsed() >= Duration::from_secs(2)) {
                last_transfer = Some(tokio::time::Instant::now());
                let req = crate::transfer::TransferRequest { to: None };
                match fx.transfer.run(&fx.router, req).await {
                    Ok(t) => tracing::warn!(
                        to = t.leader_id,
                        "low on disk space: leadership handed over"
                    ),
                    Err(f) => {
                        tracing::warn!(error = %f.message, "low on disk space: handing leadership over failed")
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(EVERY) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Low below the minimum; once low, not low again until a quarter more is free.
    #[test]
    fn low_below_the_minimum_with_hysteresis() {
        let m = 64 << 20;
        // (free, was low, low now)
        let cases = [
            (m + 1, false, false),
            (m, false, false),
            (m - 1, false, true),
            (0, false, true),
            (m, true, true),
            (m + m / 4 - 1, true, true),
            (m + m / 4, true, false),
            (u64::MAX, true, false),
        ];
        for (free, was, want) in cases {
            assert_eq!(low_after(free, m, was), want, "free {free}, was low {was}");
        }
        assert!(!low_after(0, 0, false), "a zero minimum is never low");
    }

    #[test]
    fn a_guard_without_a_minimum_never_refuses() {
        let g = DiskGuard::new(std::env::temp_dir(), 0);
        assert_eq!(g.check(), (false, false));
        assert!(g.refusal().is_none());
        let g = DiskGuard::new(std::env::temp_dir(), u64::MAX);
        assert_eq!(g.check(), (true, true));
        let f = g.refusal().expect("refused");
        assert_eq!(f.code(), "ServiceUnavailableException");
    }
}
