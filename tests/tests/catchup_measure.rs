//! Measurement, not a pass/fail test (ignored by default; run with
//! `cargo test -p swf-e2e --test catchup_measure -- --ignored --nocapture --test-threads 1`): how long
//! a follower that missed 100,000 log entries (`CATCHUP_ENTRIES` to change it) takes to catch up after
//! a restart, once by log replication (`--snapshot-every` above the entry count, so nothing is purged)
//! and once from a snapshot (`--snapshot-every 10000`: the entries it needs are purged, so the leader
//! sends its snapshot file). The time runs from the restart of the killed follower (process start
//! included) until its `last_applied` reaches the leader's. Each entry is one StartWorkflowExecution,
//! written 64 at a time through the leader. `CATCHUP_LOG_DIR=dir` keeps the nodes' logs. Results are
//! recorded in docs/benchmarks.md.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use swf_e2e::{setup_domain, start_execution, Swfd};

const WRITERS: usize = 64;

fn entries() -> usize {
    std::env::var("CATCHUP_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

async fn leader_ix(nodes: &[Swfd]) -> anyhow::Result<usize> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        for (i, n) in nodes.iter().enumerate() {
            if n.cluster_status().await?["role"] == "Leader" {
                return Ok(i);
            }
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "no leader");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn du(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => du(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Runs one catch-up with `--snapshot-every snapshot_every`; prints and returns the catch-up time.
async fn catch_up(mode: &str, snapshot_every: u64) -> anyhow::Result<Duration> {
    let every = snapshot_every.to_string();
    let mut nodes = Swfd::start_cluster(3, &["--snapshot-every", &every]).await?;
    let leader = leader_ix(&nodes).await?;
    let lagging = (leader + 1) % 3;
    let fx = setup_domain(&nodes[leader].client(), "catchup").await?;
    nodes[lagging].kill9();

    let total = entries();
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut writers = Vec::new();
    for _ in 0..WRITERS {
        let (c, fx, next) = (nodes[leader].client(), fx.clone(), next.clone());
        writers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return anyhow::Ok(());
                }
                start_execution(&c, &fx, &format!("c-{i}"), "").await?;
            }
        }));
    }
    for w in writers {
        w.await??;
    }
    let wrote = started.elapsed();
    let status: Value = nodes[leader].cluster_status().await?;
    let target = status["last_applied"].as_u64().unwrap_or(0);
    println!(
        "[{mode}] wrote {total} entries in {:.1} s ({:.0}/s); leader at {target}, snapshot {}, purged up to {}; leader data dir {} MB",
        wrote.as_secs_f64(),
        total as f64 / wrote.as_secs_f64(),
        status["snapshot_index"],
        status["purged_index"],
        du(&nodes[leader].data_dir()) >> 20
    );

    let restarted = Instant::now();
    nodes[lagging].restart().await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1800);
    let took = loop {
        let s = nodes[lagging].cluster_status().await?;
        if s["last_applied"].as_u64().unwrap_or(0) >= target {
            let took = restarted.elapsed();
            println!(
                "[{mode}] the follower caught up {total} entries in {:.2} s (its snapshot index {}, purged {})",
                took.as_secs_f64(),
                s["snapshot_index"],
                s["purged_index"]
            );
            break took;
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "no catch-up: {s}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let snapshots = nodes[leader].data_dir().join("snapshots");
    println!(
        "[{mode}] leader's snapshot files: {} MB",
        du(&snapshots) >> 20
    );
    // For profiling: CATCHUP_LOG_DIR=dir keeps each node's log.
    if let Some(dir) = std::env::var_os("CATCHUP_LOG_DIR") {
        for (i, n) in nodes.iter().enumerate() {
            std::fs::write(
                std::path::Path::new(&dir).join(format!("{mode}-node{}.log", i + 1)),
                n.log(),
            )?;
        }
    }
    Ok(took)
}

#[tokio::test]
#[ignore = "measurement: run explicitly"]
async fn catch_up_by_log_replication() -> anyhow::Result<()> {
    catch_up("log", 10 * entries() as u64).await.map(|_| ())
}

#[tokio::test]
#[ignore = "measurement: run explicitly"]
async fn catch_up_from_a_snapshot() -> anyhow::Result<()> {
    catch_up("snapshot", 10_000).await.map(|_| ())
}
