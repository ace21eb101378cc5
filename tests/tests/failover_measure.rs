//! Measurement, not a pass/fail test (ignored by default; run with
//! `cargo test -p swf-e2e --test failover_measure -- --ignored --nocapture`): on a 3-node cluster,
//! kill -9 the leader 20 times and measure the time from the kill to the first successful
//! StartWorkflowExecution through a survivor. The killed node is restarted before the next round.
//! Results are recorded in docs/benchmarks.md.

use std::time::{Duration, Instant};

use serde_json::Value;
use swf_e2e::{setup_domain, start_execution, Swfd};

async fn leader_of(nodes: &[Swfd], skip: Option<usize>) -> anyhow::Result<usize> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        for (i, n) in nodes.iter().enumerate() {
            if Some(i) == skip {
                continue;
            }
            let s: Value = n.cluster_status().await?;
            if s["role"] == "Leader" {
                return Ok(i);
            }
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "no leader");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
#[ignore = "measurement: run explicitly"]
async fn failover_time_over_20_kills() -> anyhow::Result<()> {
    let mut nodes = Swfd::start_cluster(3, &[]).await?;
    let fx = setup_domain(&nodes[0].client(), "fo").await?;
    let mut times = Vec::new();
    for round in 0..20 {
        let leader = leader_of(&nodes, None).await?;
        let survivor = (leader + 1) % 3;
        let client = nodes[survivor].client();
        let killed = Instant::now();
        nodes[leader].kill9();
        start_execution(&client, &fx, &format!("after-kill-{round}"), "").await?;
        times.push(killed.elapsed().as_secs_f64() * 1000.0);
        nodes[leader].restart().await?;
    }
    times.sort_by(f64::total_cmp);
    println!(
        "failover (kill -9 of the leader to the first acknowledged write through a survivor) over {} kills: min {:.0} ms, median {:.0} ms, p90 {:.0} ms, max {:.0} ms",
        times.len(),
        times[0],
        times[times.len() / 2],
        times[(times.len() * 9) / 10],
        times[times.len() - 1]
    );
    Ok(())
}
