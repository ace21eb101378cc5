//! Step Functions under load and failure, through the real wire: 100 concurrent executions served by
//! concurrent activity workers, the activity poller cap (`ActivityWorkerLimitExceeded`), and kill -9
//! of the leader of a 3-node cluster mid-execution (the task token handed out before the kill
//! completes the task after it, through a survivor, and the history stays valid), the heartbeat
//! grace of a new leader, a Distributed Map's run across a leader kill, and a node catching up Step
//! Functions state from a snapshot.

mod sfn_support;

use std::collections::BTreeSet;

use aws_sdk_sfn::types::ExecutionStatus;
use serde_json::{json, Value};
use sfn_support::*;
use swf_e2e::{agreed_leader, Swfd};

#[tokio::test]
async fn hundred_concurrent_executions_with_concurrent_workers() -> anyhow::Result<()> {
    let swfd = Swfd::start_with(&["--long-poll-secs", "2"]).await?;
    let client = sfn_client(&swfd);
    let act = activity(&client, "double").await?;
    let def = json!({"StartAt": "P", "States": {
        "P": {"Type": "Pass", "Next": "T"},
        "T": {"Type": "Task", "Resource": act, "ResultPath": "$.out", "Next": "C"},
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.out", "NumericGreaterThanEquals": 0, "Next": "S"}]},
        "S": {"Type": "Succeed"}
    }});
    let sm = machine(&client, "load", &def).await?;
    const N: i64 = 100;
    let mut starts = Vec::new();
    for i in 0..N {
        let (client, sm) = (client.clone(), sm.clone());
        starts.push(tokio::spawn(async move {
            start(&client, &sm, &format!("e{i}"), &json!({"n": i}).to_string()).await
        }));
    }
    let mut execs = Vec::new();
    for s in starts {
        execs.push(s.await??);
    }
    // Four workers share the tasks; every task is delivered once.
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (client, act) = (client.clone(), act.clone());
        workers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            loop {
                let t = client.get_activity_task().activity_arn(&act).send().await?;
                let Some(token) = t.task_token() else {
                    return anyhow::Ok(seen);
                };
                let n = serde_json::from_str::<Value>(t.input().unwrap_or("{}"))?["n"]
                    .as_i64()
                    .unwrap_or(-1);
                succeed(&client, token, (2 * n).to_string()).await?;
                seen.push(n);
            }
        }));
    }
    let mut delivered = Vec::new();
    for w in workers {
        delivered.extend(w.await??);
    }
    let unique: BTreeSet<i64> = delivered.iter().copied().collect();
    assert_eq!(
        delivered.len(),
        N as usize,
        "each task delivered exactly once"
    );
    assert_eq!(unique, (0..N).collect());
    for (i, exec) in execs.iter().enumerate() {
        assert_eq!(
            wait_closed(&client, exec).await?,
            ExecutionStatus::Succeeded
        );
        let d = client
            .describe_execution()
            .execution_arn(exec)
            .send()
            .await?;
        let out: Value = serde_json::from_str(d.output().unwrap_or("null"))?;
        assert_eq!(out["out"], json!(2 * i as i64));
    }
    let all = client
        .list_executions()
        .state_machine_arn(&sm)
        .max_results(1000)
        .send()
        .await?;
    assert_eq!(all.executions().len(), N as usize);
    Ok(())
}

#[tokio::test]
async fn activity_pollers_are_capped() -> anyhow::Result<()> {
    let swfd =
        Swfd::start_with(&["--long-poll-secs", "3", "--max-pollers-per-task-list", "1"]).await?;
    let client = sfn_client(&swfd);
    let act = activity(&client, "capped").await?;
    let held = {
        let (client, act) = (client.clone(), act.clone());
        tokio::spawn(async move { client.get_activity_task().activity_arn(&act).send().await })
    };
    // Wait (polling the node's status) until the first poll is held, then a second one is refused.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while swfd.cluster_status().await?["pollers"].as_u64() != Some(1) {
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "the first poll is not held"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let refused = code(client.get_activity_task().activity_arn(&act).send().await);
    assert_eq!(refused, "ActivityWorkerLimitExceeded");
    assert_eq!(held.await??.task_token(), None);
    Ok(())
}

#[tokio::test]
async fn leader_killed_mid_execution_loses_nothing() -> anyhow::Result<()> {
    let mut nodes = Swfd::start_cluster(3, &["--long-poll-secs", "3"]).await?;
    let leader = agreed_leader(&nodes.iter().collect::<Vec<_>>(), None).await?;
    let leader_ix = (leader - 1) as usize;
    let followers: Vec<usize> = (0..3).filter(|i| *i != leader_ix).collect();
    let a = sfn_client(&nodes[followers[0]]);
    let act = activity(&a, "ha").await?;
    let def = json!({"StartAt": "T1", "States": {
        "T1": {"Type": "Task", "Resource": act, "HeartbeatSeconds": 20, "Next": "W"},
        "W": {"Type": "Wait", "Seconds": 1, "Next": "T2"},
        "T2": {"Type": "Task", "Resource": act, "End": true}
    }});
    let sm = machine(&a, "ha", &def).await?;
    let exec = start(&a, &sm, "e", r#"{"step":1}"#).await?;
    let (token, _) = take(&a, &act).await?;

    nodes[leader_ix].kill9();
    let survivors: Vec<&Swfd> = followers.iter().map(|i| &nodes[*i]).collect();
    let new_leader = agreed_leader(&survivors, Some(leader)).await?;
    assert_ne!(new_leader, leader);
    let b = sfn_client(survivors[1]);
    // The token handed out by the dead leader still works.
    b.send_task_heartbeat().task_token(&token).send().await?;
    b.send_task_success()
        .task_token(&token)
        .output(r#"{"step":2}"#)
        .send()
        .await?;
    let (token2, input) = take(&b, &act).await?;
    assert_eq!(serde_json::from_str::<Value>(&input)?, json!({"step": 2}));
    b.send_task_success()
        .task_token(&token2)
        .output(r#"{"step":3}"#)
        .send()
        .await?;
    assert_eq!(wait_closed(&b, &exec).await?, ExecutionStatus::Succeeded);
    let kinds = types(&history(&b, &exec).await?);
    assert_eq!(
        kinds.iter().filter(|k| *k == "ActivitySucceeded").count(),
        2
    );
    assert_eq!(kinds.last().map(String::as_str), Some("ExecutionSucceeded"));

    // The killed node comes back and catches up: every replica holds the same state, the Step
    // Functions keyspace included (the interpreter ran in each replica's apply).
    nodes[leader_ix].relaunch()?;
    nodes[leader_ix].wait_until_healthy().await?;
    replicas_agree(&nodes).await
}

/// Polls every node's digest until all stand at the same applied index with the same digest, the
/// Step Functions keyspace not empty (20 s at most).
async fn replicas_agree(nodes: &[Swfd]) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let mut digests = Vec::new();
        for n in nodes {
            let (_, d) = n.admin_get("/cluster/digest").await?;
            digests.push(d);
        }
        let same = digests.iter().all(|d| {
            d["last_applied"] == digests[0]["last_applied"] && d["digest"] == digests[0]["digest"]
        });
        if same {
            let sfn = &digests[0]["column_families"]["sfn"];
            assert!(sfn["entries"].as_u64().unwrap_or(0) > 0, "{sfn}");
            return Ok(());
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "replicas disagree: {digests:#?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// A Distributed Map's run is replicated state moved by replicated deadlines: kill -9 of the leader
/// while its children run loses nothing. The tokens handed out before the kill still work, the
/// children held back by MaxConcurrency start under the new leader, the outputs come back in item
/// order, and every replica ends with the same state.
#[tokio::test]
async fn a_map_run_survives_a_leader_kill() -> anyhow::Result<()> {
    let mut nodes = Swfd::start_cluster(3, &["--long-poll-secs", "3"]).await?;
    let leader = agreed_leader(&nodes.iter().collect::<Vec<_>>(), None).await?;
    let leader_ix = (leader - 1) as usize;
    let followers: Vec<usize> = (0..3).filter(|i| *i != leader_ix).collect();
    let a = sfn_client(&nodes[followers[0]]);
    let act = activity(&a, "item").await?;
    let def = json!({"StartAt": "Fan", "States": {"Fan": {
        "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 3, "Label": "fan",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Work",
            "States": {"Work": {"Type": "Task", "Resource": act, "End": true}}
        },
        "End": true}}});
    let sm = machine(&a, "fan", &def).await?;
    let items: Vec<u32> = (0..8).collect();
    let exec = start(&a, &sm, "e", &json!({ "items": items }).to_string()).await?;
    let before: Vec<(String, String)> = vec![take(&a, &act).await?, take(&a, &act).await?];

    nodes[leader_ix].kill9();
    let survivors: Vec<&Swfd> = followers.iter().map(|i| &nodes[*i]).collect();
    agreed_leader(&survivors, Some(leader)).await?;
    let b = sfn_client(survivors[1]);
    let answer = |input: &str| format!("{{\"double\": {}}}", input.parse::<u32>().unwrap_or(0) * 2);
    for (token, input) in &before {
        succeed(&b, token, answer(input)).await?;
    }
    for _ in before.len()..items.len() {
        let (token, input) = take(&b, &act).await?;
        succeed(&b, &token, answer(&input)).await?;
    }
    assert_eq!(wait_closed(&b, &exec).await?, ExecutionStatus::Succeeded);
    let out = b
        .describe_execution()
        .execution_arn(&exec)
        .send()
        .await?
        .output()
        .map(String::from)
        .unwrap_or_default();
    let want: Vec<Value> = items.iter().map(|i| json!({"double": i * 2})).collect();
    assert_eq!(serde_json::from_str::<Value>(&out)?, Value::Array(want));
    let run = map_run_of(&b, &exec).await?;
    let d = b.describe_map_run().map_run_arn(&run).send().await?;
    assert_eq!(d.status().as_str(), "SUCCEEDED");
    assert_eq!(
        d.item_counts().map(|c| c.succeeded()),
        Some(items.len() as i64)
    );
    assert_eq!(
        d.execution_counts().map(|c| c.total()),
        Some(items.len() as i64)
    );

    nodes[leader_ix].relaunch()?;
    nodes[leader_ix].wait_until_healthy().await?;
    replicas_agree(&nodes).await
}

/// A worker that keeps heartbeating through a survivor is not timed out by a leader failover, even with
/// a heartbeat timeout shorter than the election: the new leader grants one heartbeat period of grace
/// to Step Functions tasks as it does to SWF's.
#[tokio::test]
async fn failover_does_not_time_out_a_heartbeating_task() -> anyhow::Result<()> {
    let mut nodes = Swfd::start_cluster(3, &["--long-poll-secs", "2"]).await?;
    let leader = agreed_leader(&nodes.iter().collect::<Vec<_>>(), None).await?;
    let leader_ix = (leader - 1) as usize;
    let survivor = (leader_ix + 1) % 3;
    let c = sfn_client(&nodes[survivor]);
    let act = activity(&c, "steady").await?;
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": act, "HeartbeatSeconds": 1, "End": true}
    }});
    let sm = machine(&c, "grace", &def).await?;
    let exec = start(&c, &sm, "e", "{}").await?;
    let (token, _) = take(&c, &act).await?;
    c.send_task_heartbeat().task_token(&token).send().await?;

    nodes[leader_ix].kill9();
    // Heartbeat through the survivor every 300 ms for 4 s; calls during the election may fail.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(4);
    while std::time::Instant::now() < until {
        let _ = c.send_task_heartbeat().task_token(&token).send().await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    c.send_task_success()
        .task_token(&token)
        .output(r#"{"survived":true}"#)
        .send()
        .await?;
    assert_eq!(wait_closed(&c, &exec).await?, ExecutionStatus::Succeeded);
    let kinds = types(&history(&c, &exec).await?);
    assert!(
        !kinds.iter().any(|k| k == "ActivityTimedOut"),
        "the task timed out across the failover: {kinds:?}"
    );
    Ok(())
}

/// A node that was down while the others snapshotted and purged the log it missed catches up by
/// installing a snapshot (the `sfn` column family with the rest), then holds the same state and serves
/// the executions it never saw being written. Executions keep starting while it catches up, so the
/// leader builds snapshots (removing older ones) while it serves one: the two take turns on the
/// snapshot directory (a build that removed what the server had listed made it answer `snapshot not
/// found`, which ends the replication stream; see `swf_store::snapshot`).
#[tokio::test]
async fn a_node_far_behind_catches_up_step_functions_from_a_snapshot() -> anyhow::Result<()> {
    let mut nodes = Swfd::start_cluster(3, &["--snapshot-every", "10"]).await?;
    let leader = agreed_leader(&nodes.iter().collect::<Vec<_>>(), None).await?;
    let lagging = (leader as usize) % 3; // a follower
    let before = nodes[lagging].cluster_status().await?["last_applied"]
        .as_u64()
        .unwrap_or(0);
    nodes[lagging].kill9();
    let live = (0..3).find(|i| *i != lagging).expect("a live node");
    let c = sfn_client(&nodes[live]);
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    let sm = machine(&c, "snap", &def).await?;
    let mut execs = Vec::new();
    for i in 0..60 {
        execs.push(start(&c, &sm, &format!("s{i}"), "{}").await?);
    }
    // Snapshots are taken and the log behind them purged in the background: wait for it, so the
    // lagging node can only catch up from a snapshot.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let leader_status = nodes[(leader - 1) as usize].cluster_status().await?;
        if leader_status["purged_index"].as_u64().unwrap_or(0) > before {
            break;
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "the leader never purged the log the lagging node needs: {leader_status}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Writes go on while the lagging node comes back and catches up. Under load a node may answer
    // 503 for a moment (an election, or a node briefly cut off): sent again, as clients do; a start
    // that was applied before its 503 answers ExecutionAlreadyExists to the next attempt (the
    // execution, a Pass, is already closed).
    let writer = {
        let (c, sm) = (c.clone(), sm.clone());
        tokio::spawn(async move {
            for i in 0..100 {
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
                let mut again = false;
                loop {
                    let r = c
                        .start_execution()
                        .state_machine_arn(&sm)
                        .name(format!("w{i}"))
                        .input("{}")
                        .send()
                        .await;
                    match r {
                        Ok(_) => break,
                        Err(e) => {
                            let code = code(Err::<(), _>(e));
                            if again && code == "ExecutionAlreadyExists" {
                                break;
                            }
                            again = true;
                            anyhow::ensure!(
                                code == "ServiceUnavailableException"
                                    && std::time::Instant::now() < deadline,
                                "start w{i}: {code}"
                            );
                            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        }
                    }
                }
            }
            anyhow::Ok(())
        })
    };
    nodes[lagging].relaunch()?;
    nodes[lagging].wait_until_healthy().await?;
    writer.await??;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let mut digests = Vec::new();
        for n in &nodes {
            let (_, d) = n.admin_get("/cluster/digest").await?;
            digests.push(d);
        }
        if digests.iter().all(|d| {
            d["last_applied"] == digests[0]["last_applied"] && d["digest"] == digests[0]["digest"]
        }) {
            break;
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "replicas disagree: {digests:#?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let status = nodes[lagging].cluster_status().await?;
    assert!(
        status["snapshot_index"].as_u64().unwrap_or(0) > before,
        "not caught up from a snapshot: {status}"
    );
    let back = sfn_client(&nodes[lagging]);
    let d = back
        .describe_execution()
        .execution_arn(&execs[59])
        .send()
        .await?;
    assert_eq!(d.status(), &ExecutionStatus::Succeeded);
    Ok(())
}
