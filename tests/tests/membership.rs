//! Membership mistakes an operator (or an attacker with admin access) can make, against the real swfd
//! (issue 12, item 1). Before the fix, adding a node that is not there made it a voter at once: writes
//! hung, `/health` answered 503, SIGTERM did not stop the process, and after a restart the node never
//! served again. Now an add makes a learner that is promoted only once caught up, one change runs at
//! a time, a learner can always be removed, SIGTERM always stops the process within its grace period,
//! and a node whose quorum is gone starts, says why, and can be recovered with `swfd recover`.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use swf_e2e::{swfd_bin, Swfd};

/// POSTs an admin change; returns the status and the JSON answer.
async fn admin(node: &Swfd, path: &str, body: Value) -> anyhow::Result<(u16, Value)> {
    node.admin_post(path, &body).await
}

fn ids(v: &Value) -> Vec<u64> {
    let mut ids: Vec<u64> = v
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_u64)
        .collect();
    ids.sort();
    ids
}

fn member_ids(status: &Value) -> Vec<u64> {
    let mut ids: Vec<u64> = status["members"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, _)| k.parse().ok())
        .collect();
    ids.sort();
    ids
}

/// Polls `cond` on the node's status until it holds (or `within` passes).
async fn wait_status(
    node: &Swfd,
    within: Duration,
    what: &str,
    cond: impl Fn(&Value) -> bool,
) -> anyhow::Result<Value> {
    let end = Instant::now() + within;
    loop {
        let s = node.cluster_status().await?;
        if cond(&s) {
            return Ok(s);
        }
        anyhow::ensure!(Instant::now() < end, "{what}: not within {within:?}: {s}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn register_domain(node: &Swfd, name: &str) -> anyhow::Result<(u16, Value)> {
    node.raw_call(
        "RegisterDomain",
        json!({"name": name, "workflowExecutionRetentionPeriodInDays": "1"}).to_string(),
    )
    .await
}

/// An add of a node that is not there fails after the catch-up time with a clear message; the node
/// is not made a voter, the learner is removed again, and the cluster keeps serving throughout.
#[tokio::test]
async fn adding_a_node_that_is_not_there_fails_and_the_cluster_keeps_serving() -> anyhow::Result<()>
{
    let node = Swfd::start_with(&["--member-catch-up-secs", "2"]).await?;
    let started = Instant::now();
    let (status, body) = admin(
        &node,
        "/cluster/members",
        json!({"node_id": 9, "addr": "127.0.0.1:9"}),
    )
    .await?;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["__type"]
            .as_str()
            .unwrap_or("")
            .ends_with("OperationNotPermittedFault"),
        "{body}"
    );
    let message = body["message"].as_str().unwrap_or("");
    assert!(message.contains("did not catch up within 2 s"), "{message}");
    assert!(message.contains("removed again"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(30));
    let s = node.cluster_status().await?;
    assert_eq!(ids(&s["voters"]), vec![1], "{s}");
    assert_eq!(member_ids(&s), vec![1], "{s}");
    // Writes and health are fine.
    let (code, out) = register_domain(&node, "after-bad-add").await?;
    assert_eq!(code, 200, "{out}");
    let health = node
        .http()
        .get(format!("{}/health", node.endpoint()))
        .send()
        .await?;
    assert_eq!(health.status().as_u16(), 200);
    // A malformed address is refused before anything changes.
    let (code, out) = admin(
        &node,
        "/cluster/members",
        json!({"node_id": 7, "addr": "nowhere"}),
    )
    .await?;
    assert_eq!(code, 400, "{out}");
    assert!(
        out["message"].as_str().unwrap_or("").contains("HOST:PORT"),
        "{out}"
    );
    Ok(())
}

/// While an add waits for its learner, a second change is refused at once; removing the learner
/// aborts the add; removing a node that is not a member, or the last voter, is refused.
#[tokio::test]
async fn one_change_at_a_time_and_removing_the_learner_aborts_a_stuck_add() -> anyhow::Result<()> {
    let node = Swfd::start_with(&["--member-catch-up-secs", "120"]).await?;
    let (endpoint, http) = (node.admin_endpoint(), node.http().clone());
    let add = tokio::spawn(async move {
        let resp = http
            .post(format!("{endpoint}/cluster/members"))
            .bearer_auth(swf_e2e::ADMIN_TOKEN)
            .json(&json!({"node_id": 9, "addr": "127.0.0.1:9"}))
            .send()
            .await?;
        let status = resp.status().as_u16();
        anyhow::Ok((
            status,
            resp.json::<Value>().await.unwrap_or(Value::Null),
            Instant::now(),
        ))
    });
    // Node 9 shows up as a learner, never as a voter.
    let s = wait_status(&node, Duration::from_secs(20), "node 9 a learner", |s| {
        member_ids(s).contains(&9)
    })
    .await?;
    assert_eq!(ids(&s["voters"]), vec![1], "{s}");
    // A second add is refused at once, naming the change in progress.
    let t = Instant::now();
    let (code, out) = admin(
        &node,
        "/cluster/members",
        json!({"node_id": 8, "addr": "127.0.0.1:8"}),
    )
    .await?;
    assert_eq!(code, 400, "{out}");
    let message = out["message"].as_str().unwrap_or("");
    assert!(message.contains("already in progress"), "{message}");
    assert!(message.contains("adding node 9"), "{message}");
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "refusal took {:?}",
        t.elapsed()
    );
    // Writes go on meanwhile (the learner does not count for the quorum).
    let (code, out) = register_domain(&node, "during-add").await?;
    assert_eq!(code, 200, "{out}");
    // Removing the learner aborts the add.
    let removed_at = Instant::now();
    let (code, out) = admin(&node, "/cluster/members/remove", json!({"node_id": 9})).await?;
    assert_eq!(code, 200, "{out}");
    let (code, out, answered_at) = add.await??;
    assert_eq!(code, 400, "{out}");
    assert!(
        out["message"].as_str().unwrap_or("").contains("aborted"),
        "{out}"
    );
    assert!(answered_at.duration_since(removed_at) < Duration::from_secs(10));
    let s = node.cluster_status().await?;
    assert_eq!(member_ids(&s), vec![1], "{s}");
    // Not a member; the last voter.
    let (code, out) = admin(&node, "/cluster/members/remove", json!({"node_id": 9})).await?;
    assert_eq!(code, 400, "{out}");
    assert!(
        out["__type"]
            .as_str()
            .unwrap_or("")
            .ends_with("UnknownResourceFault"),
        "{out}"
    );
    let (code, out) = admin(&node, "/cluster/members/remove", json!({"node_id": 1})).await?;
    assert_eq!(code, 400, "{out}");
    assert!(
        out["message"].as_str().unwrap_or("").contains("only voter"),
        "{out}"
    );
    Ok(())
}

/// A leader whose followers are gone has writes that can never commit; SIGTERM still stops it within
/// its grace period. Then, with every node stopped, a node restarted alone starts, says why it does
/// not serve, and `swfd recover` makes it a one-voter cluster that serves everything it had.
#[tokio::test]
async fn sigterm_stops_a_stuck_node_and_recover_brings_back_a_lost_quorum() -> anyhow::Result<()> {
    let mut nodes = Swfd::start_cluster(3, &["--shutdown-grace-secs", "3"]).await?;
    let s = wait_status(&nodes[0], Duration::from_secs(15), "a leader", |s| {
        s["leader_id"].as_u64().is_some()
    })
    .await?;
    let leader = s["leader_id"].as_u64().unwrap() as usize - 1;
    let (code, out) = register_domain(&nodes[leader], "before-the-loss").await?;
    assert_eq!(code, 200, "{out}");
    // The followers freeze: the leader's next change waits for a quorum that never answers.
    let followers: Vec<usize> = (0..3).filter(|i| *i != leader).collect();
    for f in &followers {
        nodes[*f].pause()?;
    }
    let before = nodes[leader].cluster_status().await?["last_log_index"]
        .as_u64()
        .unwrap_or(0);
    let (endpoint, http) = (nodes[leader].admin_endpoint(), nodes[leader].http().clone());
    // A membership change waits for its entry to commit (an SWF call would be refused once the
    // leader sees it has lost the majority; an admin change is not).
    let stuck = tokio::spawn(async move {
        http.post(format!("{endpoint}/cluster/members"))
            .bearer_auth(swf_e2e::ADMIN_TOKEN)
            .json(&json!({"node_id": 9, "addr": "127.0.0.1:9"}))
            .send()
            .await
    });
    // The change is in the leader's log, uncommitted, before the stop.
    wait_status(
        &nodes[leader],
        Duration::from_secs(10),
        "the write appended",
        |s| s["last_log_index"].as_u64().unwrap_or(0) > before,
    )
    .await?;
    let t = Instant::now();
    nodes[leader].terminate(Duration::from_secs(15)).await?;
    let took = t.elapsed();
    assert!(took < Duration::from_secs(10), "SIGTERM took {took:?}");
    assert!(
        nodes[leader].log().contains("grace period is over"),
        "the stop should have needed the grace period"
    );
    let _ = stuck.await;
    // Every node is down now.
    for f in &followers {
        nodes[*f].resume()?;
        nodes[*f].kill9();
    }
    // Alone, node 1 starts but does not serve, and says why.
    nodes[0].relaunch()?;
    let s = wait_status(
        &nodes[0],
        Duration::from_secs(20),
        "a reason naming the silent voters",
        |s| {
            s["not_serving_reason"]
                .as_str()
                .is_some_and(|r| r.contains("not answering") && r.contains("quorum is lost"))
        },
    )
    .await?;
    assert_eq!(s["serving"], json!(false), "{s}");
    let health = nodes[0]
        .http()
        .get(format!("{}/health", nodes[0].endpoint()))
        .send()
        .await?;
    assert_eq!(health.status().as_u16(), 503);
    let text = health.text().await?;
    assert!(
        text.starts_with("not serving") && text.contains("quorum is lost"),
        "{text}"
    );
    // Recover: stop it, rewrite its configuration, start it again.
    nodes[0].terminate(Duration::from_secs(15)).await?;
    let out = std::process::Command::new(swfd_bin()?)
        .args(["recover", "--node-id", "1", "--data-dir"])
        .arg(nodes[0].data_dir())
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(ids(&report["previous_voters"]), vec![1, 2, 3], "{report}");
    assert_eq!(ids(&report["new_voters"]), vec![1], "{report}");
    nodes[0].relaunch()?;
    nodes[0].wait_until_healthy().await?;
    let s = nodes[0].cluster_status().await?;
    assert_eq!(ids(&s["voters"]), vec![1], "{s}");
    assert_eq!(s["leader_id"], json!(1), "{s}");
    // Everything it had is there, and it takes writes.
    let (code, out) = nodes[0]
        .raw_call(
            "DescribeDomain",
            json!({"name": "before-the-loss"}).to_string(),
        )
        .await?;
    assert_eq!(code, 200, "{out}");
    let (code, out) = register_domain(&nodes[0], "after-recovery").await?;
    assert_eq!(code, 200, "{out}");
    // Recovering a running node's directory is refused (RocksDB's lock).
    let out = std::process::Command::new(swfd_bin()?)
        .args(["recover", "--node-id", "1", "--data-dir"])
        .arg(nodes[0].data_dir())
        .output()?;
    assert!(!out.status.success());
    Ok(())
}
