//! The storage layer's Prometheus metrics (registered in the process's default registry, rendered
//! by the admin listener's `/metrics`; every one is listed in `docs/observability.md`): WAL syncs,
//! applied entries, the committed index, snapshots built and installed.
//!
//! Recording is an atomic add or a histogram observation, never I/O, and nothing here changes what
//! the store does. `last_apply` also remembers how long the latest entry took to apply, which the
//! leader's slow-call log shows (the leader has one entry in flight at a time, so it is that call's).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;
use std::time::Duration;

use prometheus::{Histogram, HistogramOpts, IntCounter, IntGauge};

/// Latency buckets, in seconds, for the storage paths (50 µs to 10 s).
const STORAGE_BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 10.0,
];

/// Seconds buckets for snapshots (1 ms to 10 min).
const SNAPSHOT_BUCKETS: &[f64] = &[
    0.001, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0,
];

/// The store's metrics.
pub struct StoreMetrics {
    pub wal_sync_seconds: Histogram,
    pub wal_sync_appends: Histogram,
    pub apply_entry_seconds: Histogram,
    pub applied_commands: IntCounter,
    pub committed_index: IntGauge,
    pub snapshots_built: IntCounter,
    pub snapshot_build_seconds: Histogram,
    pub snapshots_installed: IntCounter,
    pub snapshot_install_seconds: Histogram,
    last_apply_nanos: AtomicU64,
}

/// Registers `m` in the default registry and returns it.
pub fn register<T: prometheus::core::Collector + Clone + 'static>(m: T) -> T {
    if let Err(e) = prometheus::register(Box::new(m.clone())) {
        // Only a second registration of the same name can fail: a bug, not an operational error.
        tracing::error!(error = %e, "registering a metric");
    }
    m
}

/// A histogram with `buckets`, registered.
pub fn histogram(name: &str, help: &str, buckets: &[f64]) -> Histogram {
    register(
        Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets.to_vec()))
            .expect("valid histogram"),
    )
}

/// A counter, registered.
pub fn counter(name: &str, help: &str) -> IntCounter {
    register(IntCounter::new(name, help).expect("valid counter"))
}

/// A gauge, registered.
pub fn gauge(name: &str, help: &str) -> IntGauge {
    register(IntGauge::new(name, help).expect("valid gauge"))
}

/// The store's metrics, registered on first use (`init` registers them at start, so a scrape shows
/// them before anything happened).
pub static METRICS: LazyLock<StoreMetrics> = LazyLock::new(|| StoreMetrics {
    wal_sync_seconds: histogram(
        "swfd_wal_sync_seconds",
        "Time one WAL sync (fsync) of the Raft log took",
        STORAGE_BUCKETS,
    ),
    wal_sync_appends: histogram(
        "swfd_wal_sync_appends",
        "Log appends made durable by one WAL sync (group commit)",
        &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0],
    ),
    apply_entry_seconds: histogram(
        "swfd_apply_entry_seconds",
        "Time applying one Raft log entry took (state machine and its RocksDB write batch)",
        STORAGE_BUCKETS,
    ),
    applied_commands: counter(
        "swfd_applied_commands_total",
        "Commands applied to the state machine (a log entry holds one or more)",
    ),
    committed_index: gauge(
        "swfd_raft_committed_index",
        "The highest log index this node knows to be committed",
    ),
    snapshots_built: counter(
        "swfd_snapshots_built_total",
        "Snapshots (checkpoints) built",
    ),
    snapshot_build_seconds: histogram(
        "swfd_snapshot_build_seconds",
        "Time building one snapshot took",
        SNAPSHOT_BUCKETS,
    ),
    snapshots_installed: counter(
        "swfd_snapshots_installed_total",
        "Snapshots received from the leader and installed",
    ),
    snapshot_install_seconds: histogram(
        "swfd_snapshot_install_seconds",
        "Time installing one received snapshot took",
        SNAPSHOT_BUCKETS,
    ),
    last_apply_nanos: AtomicU64::new(0),
});

/// Registers the store's metrics.
pub fn init() {
    LazyLock::force(&METRICS);
}

impl StoreMetrics {
    /// Records one applied entry of `commands` commands that took `took`.
    pub fn applied(&self, commands: usize, took: Duration) {
        self.apply_entry_seconds.observe(took.as_secs_f64());
        self.applied_commands.inc_by(commands as u64);
        self.last_apply_nanos
            .store(took.as_nanos() as u64, Ordering::Relaxed);
    }

    /// How long the latest applied entry took.
    pub fn last_apply(&self) -> Duration {
        Duration::from_nanos(self.last_apply_nanos.load(Ordering::Relaxed))
    }
}
