//! A 3-node cluster of real swfd processes (`--initial-members`): every node serves every call (writes,
//! reads and long polls through followers are forwarded to the leader), `kill -9` of the leader loses no
//! acknowledged write and an activity token issued before the failover still completes after it, and a
//! killed node restarts and catches up.

use std::time::Duration;

use serde_json::Value;
use swf_e2e::{
    agreed_leader, poll_activity, poll_decision, schedule_activity, setup_domain, start_execution,
    Swfd,
};

#[tokio::test]
async fn three_nodes_forward_fail_over_and_catch_up() -> anyhow::Result<()> {
    let mut nodes = Swfd::start_cluster(3, &["--long-poll-secs", "5"]).await?;
    let leader = agreed_leader(&nodes.iter().collect::<Vec<_>>(), None).await?;
    for n in &nodes {
        let ready = n
            .http()
            .get(format!("{}/ready", n.endpoint()))
            .send()
            .await?;
        assert_eq!(ready.status().as_u16(), 200, "/ready on a caught-up member");
    }
    let status = nodes[0].cluster_status().await?;
    assert_eq!(
        status["members"].as_object().map(|m| m.len()),
        Some(3),
        "{status}"
    );
    let leader_ix = (leader - 1) as usize;
    let followers: Vec<usize> = (0..3).filter(|i| *i != leader_ix).collect();

    // Writes, reads and long polls through followers.
    let a = nodes[followers[0]].client();
    let b = nodes[followers[1]].client();
    let fx = setup_domain(&a, "ha").await?;
    let mut runs = Vec::new();
    for i in 0..10 {
        runs.push(start_execution(&b, &fx, &format!("wf-{i}"), "").await?);
    }
    let task = poll_decision(&a, &fx).await?;
    b.respond_decision_task_completed()
        .task_token(task.task_token())
        .decisions(schedule_activity(&fx, "act", "x"))
        .send()
        .await?;
    let activity = poll_activity(&b, &fx).await?;
    assert!(!activity.task_token().is_empty());

    // Kill the leader: a survivor takes over with every acknowledged write.
    nodes[leader_ix].kill9();
    let survivors: Vec<&Swfd> = followers.iter().map(|i| &nodes[*i]).collect();
    let killed_at = std::time::Instant::now();
    let new_leader = agreed_leader(&survivors, Some(leader)).await?;
    println!(
        "new leader {new_leader} agreed {:?} after the kill",
        killed_at.elapsed()
    );
    assert_ne!(new_leader, leader);
    let c = survivors[0].client();
    for run in &runs {
        c.describe_workflow_execution()
            .domain("ha")
            .execution(run.clone())
            .send()
            .await?;
    }
    // The token issued before the failover completes the activity after it.
    c.respond_activity_task_completed()
        .task_token(activity.task_token())
        .result("done")
        .send()
        .await?;
    let worked = activity.workflow_execution().cloned().expect("execution");
    let history = swf_e2e::full_history(&c, "ha", &worked).await?;
    assert!(history
        .iter()
        .any(|e| e.event_type() == &aws_sdk_swf::types::EventType::ActivityTaskCompleted));
    c.terminate_workflow_execution()
        .domain("ha")
        .workflow_id(worked.workflow_id())
        .send()
        .await?;

    // The killed node restarts and catches up to the same applied state.
    nodes[leader_ix].restart().await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let mut applied = Vec::new();
        for n in &nodes {
            applied.push(n.cluster_status().await?["last_applied"].as_u64());
        }
        if applied.iter().all(|x| x.is_some() && *x == applied[0]) {
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the restarted node did not catch up: {applied:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // And serves reads (forwarded to the leader) like the others.
    let restarted = nodes[leader_ix].client();
    let count = restarted
        .count_open_workflow_executions()
        .domain("ha")
        .start_time_filter(
            aws_sdk_swf::types::ExecutionTimeFilter::builder()
                .oldest_date(aws_sdk_swf::primitives::DateTime::from_secs(0))
                .build()?,
        )
        .send()
        .await?;
    assert_eq!(count.count(), 9);
    Ok(())
}

/// Polls `node`'s status until its voters are `want` (sorted).
async fn wait_voters(node: &Swfd, want: &[u64]) -> anyhow::Result<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let s = node.cluster_status().await?;
        let mut voters: Vec<u64> = s["voters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_u64)
            .collect();
        voters.sort();
        if voters == want {
            return Ok(s);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "voters {voters:?}, want {want:?}: {s}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn members_join_and_leave_under_load() -> anyhow::Result<()> {
    let nodes = Swfd::start_cluster(3, &["--long-poll-secs", "2"]).await?;
    let c = nodes[0].client();
    let fx = setup_domain(&c, "members").await?;

    // A steady stream of starts through node 3 while the membership changes.
    let writer = {
        let (c, fx) = (nodes[2].client(), fx.clone());
        tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for i in 0..60 {
                if let Ok(run) = start_execution(&c, &fx, &format!("load-{i}"), "").await {
                    acknowledged.push(run);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            acknowledged
        })
    };

    // A 4th node joins through node 1 and becomes a voter; it serves calls like the others.
    let joining = Swfd::start_with(&[
        "--node-id",
        "4",
        "--join",
        &nodes[0].admin_endpoint(),
        "--long-poll-secs",
        "2",
    ])
    .await?;
    wait_voters(&nodes[0], &[1, 2, 3, 4]).await?;
    joining
        .client()
        .describe_domain()
        .name("members")
        .send()
        .await?;

    // Node 2 is removed with the admin command.
    let out = std::process::Command::new(swf_e2e::swfd_bin()?)
        .args([
            "admin",
            "remove",
            "--endpoint",
            &nodes[0].admin_endpoint(),
            "--token-file",
            nodes[0].admin_token_file().to_str().unwrap(),
            "--node-id",
            "2",
        ])
        .output()?;
    assert!(
        out.status.success(),
        "swfd admin remove: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status = wait_voters(&nodes[0], &[1, 3, 4]).await?;
    assert!(status["members"].get("2").is_none(), "{status}");
    let listed = std::process::Command::new(swf_e2e::swfd_bin()?)
        .args(["admin", "members", "--endpoint", &joining.admin_endpoint()])
        .arg("--token-file")
        .arg(joining.admin_token_file())
        .output()?;
    let members: Value = serde_json::from_slice(&listed.stdout)?;
    assert_eq!(members.as_array().map(Vec::len), Some(3), "{members}");

    // Every acknowledged start survived the changes.
    let acknowledged = writer.await?;
    assert!(
        acknowledged.len() >= 50,
        "only {} of 60 starts were acknowledged",
        acknowledged.len()
    );
    for run in &acknowledged {
        joining
            .client()
            .describe_workflow_execution()
            .domain("members")
            .execution(run.clone())
            .send()
            .await?;
    }
    Ok(())
}

/// A worker that keeps heartbeating through a survivor is not timed out by a leader failover, even with
/// a heartbeat timeout shorter than the election: the new leader grants one heartbeat period of grace.
#[tokio::test]
async fn failover_does_not_time_out_a_heartbeating_activity() -> anyhow::Result<()> {
    let mut nodes = Swfd::start_cluster(3, &["--long-poll-secs", "2"]).await?;
    let leader = agreed_leader(&nodes.iter().collect::<Vec<_>>(), None).await?;
    let leader_ix = (leader - 1) as usize;
    let survivor = (leader_ix + 1) % 3;
    let c = nodes[survivor].client();
    let fx = setup_domain(&c, "grace").await?;
    let run = start_execution(&c, &fx, "hb", "").await?;
    let task = poll_decision(&c, &fx).await?;
    let schedule = aws_sdk_swf::types::Decision::builder()
        .decision_type(aws_sdk_swf::types::DecisionType::ScheduleActivityTask)
        .schedule_activity_task_decision_attributes(
            aws_sdk_swf::types::ScheduleActivityTaskDecisionAttributes::builder()
                .activity_type(fx.activity_type.clone())
                .activity_id("steady")
                .heartbeat_timeout("1")
                .build()?,
        )
        .build()?;
    c.respond_decision_task_completed()
        .task_token(task.task_token())
        .decisions(schedule)
        .send()
        .await?;
    let activity = poll_activity(&c, &fx).await?;
    c.record_activity_task_heartbeat()
        .task_token(activity.task_token())
        .send()
        .await?;

    nodes[leader_ix].kill9();
    // Heartbeat through the survivor every 300 ms for 4 s; calls during the election may fail.
    let until = tokio::time::Instant::now() + Duration::from_secs(4);
    while tokio::time::Instant::now() < until {
        let _ = c
            .record_activity_task_heartbeat()
            .task_token(activity.task_token())
            .send()
            .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    c.respond_activity_task_completed()
        .task_token(activity.task_token())
        .result("survived")
        .send()
        .await?;
    let history = swf_e2e::full_history(&c, "grace", &run).await?;
    assert!(
        !history
            .iter()
            .any(|e| e.event_type() == &aws_sdk_swf::types::EventType::ActivityTaskTimedOut),
        "the activity timed out across the failover"
    );
    Ok(())
}

/// A node that was down while the others snapshotted and purged the log it missed catches up by
/// installing a snapshot, and then holds the same applied state.
#[tokio::test]
async fn a_node_far_behind_catches_up_from_a_snapshot() -> anyhow::Result<()> {
    let mut nodes = Swfd::start_cluster(3, &["--snapshot-every", "20"]).await?;
    let leader = agreed_leader(&nodes.iter().collect::<Vec<_>>(), None).await?;
    let lagging = (leader as usize) % 3; // a follower
    let before = nodes[lagging].cluster_status().await?["last_applied"]
        .as_u64()
        .unwrap_or(0);
    nodes[lagging].kill9();
    let live = (0..3).find(|i| *i != lagging).expect("a live node");
    let c = nodes[live].client();
    let fx = setup_domain(&c, "snap").await?;
    for i in 0..60 {
        start_execution(&c, &fx, &format!("s{i}"), "").await?;
    }
    // Snapshots are taken and the log behind them purged in the background: wait for it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let leader_status = nodes[(leader - 1) as usize].cluster_status().await?;
        if leader_status["purged_index"].as_u64().unwrap_or(0) > before {
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the leader never purged the log the lagging node needs: {leader_status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    nodes[lagging].restart().await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let s = nodes[lagging].cluster_status().await?;
        let target = nodes[live].cluster_status().await?["last_applied"].as_u64();
        if s["last_applied"].as_u64() == target
            && s["snapshot_index"].as_u64().unwrap_or(0) > before
        {
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "no catch-up by snapshot: {s}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Runs `swfd admin transfer-leader --endpoint <node's admin endpoint> [--to <to>]`; returns its parsed output or
/// its error text.
fn transfer_leader(node: &Swfd, to: Option<u64>) -> anyhow::Result<Result<Value, String>> {
    let mut cmd = std::process::Command::new(swf_e2e::swfd_bin()?);
    cmd.args([
        "admin",
        "transfer-leader",
        "--endpoint",
        &node.admin_endpoint(),
    ])
    .arg("--token-file")
    .arg(node.admin_token_file());
    if let Some(to) = to {
        cmd.args(["--to", &to.to_string()]);
    }
    let out = cmd.output()?;
    if !out.status.success() {
        return Ok(Err(String::from_utf8_lossy(&out.stderr).into_owned()));
    }
    Ok(Ok(serde_json::from_slice(&out.stdout)?))
}

/// `swfd admin transfer-leader` moves leadership to the requested node (and, without `--to`, to
/// another voter) while a stream of writes through the old leader keeps going: every write succeeds
/// (the router holds them through the move) and every acknowledged one is there afterwards.
#[tokio::test]
async fn transfer_leader_moves_leadership_under_writes() -> anyhow::Result<()> {
    let nodes = Swfd::start_cluster(3, &["--long-poll-secs", "2"]).await?;
    let all: Vec<&Swfd> = nodes.iter().collect();
    let leader = agreed_leader(&all, None).await?;
    let old_ix = (leader - 1) as usize;
    let target = (leader % 3) + 1;
    let fx = setup_domain(&nodes[old_ix].client(), "xfer").await?;

    // Writes through the old leader's node, back to back, for the whole test.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (c, fx, stop) = (nodes[old_ix].client(), fx.clone(), stop.clone());
        tokio::spawn(async move {
            let (mut acknowledged, mut failed) = (Vec::new(), Vec::new());
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                match start_execution(&c, &fx, &format!("w-{i}"), "").await {
                    Ok(run) => acknowledged.push(run),
                    Err(e) => failed.push(format!("w-{i}: {e:#}")),
                }
                i += 1;
            }
            (acknowledged, failed)
        })
    };
    // A second of steady writes elects no one (heartbeats keep up under load).
    let term = nodes[old_ix].cluster_status().await?["term"].as_u64();
    tokio::time::sleep(Duration::from_secs(1)).await;
    for n in &nodes {
        let s = n.cluster_status().await?;
        assert_eq!(
            s["term"].as_u64(),
            term,
            "an election under steady load: {s}"
        );
    }

    // Through a node that is not the leader, to a named node.
    let via = (target % 3) as usize; // neither necessarily leader nor target: any node works
    let out = transfer_leader(&nodes[via], Some(target))?
        .map_err(|e| anyhow::anyhow!("transfer-leader --to {target}: {e}"))?;
    assert_eq!(out["leader_id"].as_u64(), Some(target), "{out}");
    assert_eq!(out["previous_leader_id"].as_u64(), Some(leader), "{out}");
    println!("transfer {leader} -> {target}: {out}");
    assert_eq!(agreed_leader(&all, Some(leader)).await?, target);
    let status = nodes[(target - 1) as usize].cluster_status().await?;
    assert_eq!(status["role"], "Leader", "{status}");
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Without --to: leadership moves off the current leader, to another voter.
    let out = transfer_leader(&nodes[old_ix], None)?
        .map_err(|e| anyhow::anyhow!("transfer-leader: {e}"))?;
    let third = out["leader_id"].as_u64().expect("leader_id");
    assert_ne!(third, target, "{out}");
    assert_eq!(agreed_leader(&all, Some(target)).await?, third);
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Not a member: refused with a clear error, leadership unchanged.
    let refused = transfer_leader(&nodes[0], Some(9))?;
    let err = refused.expect_err("a transfer to a non-member must fail");
    assert!(err.contains("not a voter"), "{err}");
    assert_eq!(agreed_leader(&all, None).await?, third);

    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (acknowledged, failed) = writer.await?;
    assert!(
        failed.is_empty(),
        "writes failed during the transfers: {failed:?}"
    );
    assert!(
        acknowledged.len() >= 10,
        "only {} writes",
        acknowledged.len()
    );
    let c = nodes[(target - 1) as usize].client();
    for run in &acknowledged {
        c.describe_workflow_execution()
            .domain("xfer")
            .execution(run.clone())
            .send()
            .await?;
    }
    let after = nodes[0].cluster_status().await?["term"].as_u64();
    println!(
        "{} writes, none failed, across two transfers; term {term:?} -> {after:?}",
        acknowledged.len()
    );
    Ok(())
}

/// A voter that cannot reach a majority (the two others are paused) stops campaigning after a couple
/// of rounds instead of raising its term every election timeout (openraft 0.9 has no pre-vote), and
/// the cluster serves again once the others resume.
#[tokio::test]
async fn a_cut_off_voter_stops_campaigning() -> anyhow::Result<()> {
    let nodes = Swfd::start_cluster(3, &[]).await?;
    let leader = agreed_leader(&nodes.iter().collect::<Vec<_>>(), None).await?;
    let alone = (leader as usize) % 3; // a follower
    let term = nodes[alone].cluster_status().await?["term"]
        .as_u64()
        .unwrap_or(0);
    let paused: Vec<usize> = (0..3).filter(|i| *i != alone).collect();
    for i in &paused {
        nodes[*i].pause()?;
    }
    // Four seconds alone: without the quorum watch that is a dozen elections or more.
    let until = tokio::time::Instant::now() + Duration::from_secs(4);
    let mut last = term;
    while tokio::time::Instant::now() < until {
        last = nodes[alone].cluster_status().await?["term"]
            .as_u64()
            .unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for i in &paused {
        nodes[*i].resume()?;
    }
    println!("term {term} -> {last} while cut off");
    assert!(
        last <= term + 3,
        "the cut-off voter kept campaigning: term {term} -> {last}"
    );
    assert!(nodes[alone]
        .log()
        .contains("no majority of the voters in reach"));
    // Everyone serves again.
    agreed_leader(&nodes.iter().collect::<Vec<_>>(), None).await?;
    let fx = setup_domain(&nodes[alone].client(), "alone").await?;
    start_execution(&nodes[alone].client(), &fx, "after", "").await?;
    Ok(())
}

/// A leader under a steady stream of writes keeps answering `/health` with 200. Before the fix the
/// leader counted as serving only while its applied index equalled its last log index, which a busy
/// leader (its log always a few entries ahead of what is applied) rarely had: `/health` answered 503
/// "this node was just elected leader and is applying its log" in the middle of normal load, which a
/// Kubernetes liveness probe would have answered by restarting the pod.
#[tokio::test]
async fn a_busy_leader_stays_healthy() -> anyhow::Result<()> {
    let nodes = Swfd::start_cluster(3, &[]).await?;
    let leader_id = agreed_leader(&nodes.iter().collect::<Vec<_>>(), None).await?;
    let leader = &nodes[(leader_id - 1) as usize];
    let fx = setup_domain(&leader.client(), "busy").await?;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..24 {
        let (client, fx, stop) = (nodes[w % 3].client(), fx.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut n = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                start_execution(&client, &fx, &format!("w{w}-{n}"), "").await?;
                n += 1;
            }
            anyhow::Ok(n)
        }));
    }
    let mut probes = 0;
    let mut refused = Vec::new();
    let until = tokio::time::Instant::now() + Duration::from_secs(4);
    while tokio::time::Instant::now() < until {
        let resp = leader
            .http()
            .get(format!("{}/health", leader.endpoint()))
            .send()
            .await?;
        probes += 1;
        if resp.status().as_u16() != 200 {
            refused.push(resp.text().await.unwrap_or_default());
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut started = 0;
    for w in writers {
        started += w.await??;
    }
    println!("{probes} health probes while {started} executions started");
    assert!(started > 50, "the load did not run: {started} executions");
    assert!(
        refused.is_empty(),
        "{} of {probes} probes refused: {:?}",
        refused.len(),
        &refused[..refused.len().min(3)]
    );
    Ok(())
}
