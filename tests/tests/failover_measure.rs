//! Measurement, not a pass/fail test (ignored by default; run with
//! `cargo test -p swf-e2e --test failover_measure -- --ignored --nocapture`): on a 3-node cluster,
//! kill -9 the leader 20 times and measure the time from the kill to the first successful
//! StartWorkflowExecution through a survivor. The killed node is restarted, and the cluster is back
//! to one agreed leader with every node caught up, before the next round (otherwise a round would
//! measure a double failure, or kill a restarted node that only believes it still leads). The Raft
//! terms before and after show how many elections the 20 failovers took.
//! `FAILOVER_LOG_DIR=dir` keeps each node's log there (with `SWFD_LOG=info,openraft=info` for
//! election detail). Results are recorded in docs/benchmarks.md.

use std::time::{Duration, Instant};

use swf_e2e::{setup_domain, start_execution, Swfd};

/// Waits until every node agrees on one leader that reports itself Leader and every node has applied
/// the same index; returns the leader's position and the term.
async fn stable_leader(nodes: &[Swfd]) -> anyhow::Result<(usize, u64)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let mut status = Vec::new();
        for n in nodes {
            status.push(n.cluster_status().await?);
        }
        let leader = status[0]["leader_id"].as_u64();
        let agreed = status.iter().all(|s| {
            s["leader_id"].as_u64() == leader
                && s["last_applied"] == status[0]["last_applied"]
                && s["term"] == status[0]["term"]
        });
        if let (true, Some(id)) = (agreed, leader) {
            let ix = (id - 1) as usize;
            if status[ix]["role"] == "Leader" {
                return Ok((ix, status[ix]["term"].as_u64().unwrap_or(0)));
            }
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "no stable leader: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
#[ignore = "measurement: run explicitly"]
async fn failover_time_over_20_kills() -> anyhow::Result<()> {
    let mut nodes = Swfd::start_cluster(3, &[]).await?;
    let fx = setup_domain(&nodes[0].client(), "fo").await?;
    let mut times = Vec::new();
    let (_, first_term) = stable_leader(&nodes).await?;
    for round in 0..20 {
        let (leader, _) = stable_leader(&nodes).await?;
        let survivor = (leader + 1) % 3;
        let client = nodes[survivor].client();
        let killed = Instant::now();
        nodes[leader].kill9();
        start_execution(&client, &fx, &format!("after-kill-{round}"), "").await?;
        let took = killed.elapsed().as_secs_f64() * 1000.0;
        println!(
            "round {round}: killed node {}, write acknowledged after {took:.0} ms",
            leader + 1
        );
        times.push(took);
        nodes[leader].restart().await?;
    }
    let (_, last_term) = stable_leader(&nodes).await?;
    if let Some(dir) = std::env::var_os("FAILOVER_LOG_DIR") {
        for (i, n) in nodes.iter().enumerate() {
            std::fs::write(
                std::path::Path::new(&dir).join(format!("node{}.log", i + 1)),
                n.log(),
            )?;
        }
    }
    times.sort_by(f64::total_cmp);
    println!(
        "failover (kill -9 of the leader to the first acknowledged write through a survivor) over {} kills: min {:.0} ms, median {:.0} ms, p90 {:.0} ms, max {:.0} ms; terms {first_term} -> {last_term} ({} elections)",
        times.len(),
        times[0],
        times[times.len() / 2],
        times[(times.len() * 9) / 10],
        times[times.len() - 1],
        last_term - first_term,
    );
    Ok(())
}
