//! Online backup and restore (issue 18) through the real binaries: `swfd admin backup` against a
//! running 3-node cluster under load, `swfd restore` into three fresh data directories of a new
//! cluster, and the new cluster holds every acknowledged call with the same history; a task token
//! polled before the backup completes its task after the restore. Damaged backups (truncated, a byte
//! flipped, a wrong header) and a non-empty data directory are refused with a clear message.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use aws_sdk_swf::types::{
    Decision, DecisionType, EventType, HistoryEvent, ScheduleActivityTaskDecisionAttributes,
    WorkflowExecution,
};
use aws_sdk_swf::Client;
use swf_e2e::{
    complete_workflow, full_history, poll_activity, poll_decision, schedule_activity, setup_domain,
    start_execution, task_list, Fixture, Swfd,
};

/// Runs `swfd ARGS...` to its end.
fn swfd(args: &[&str]) -> Result<Output> {
    std::process::Command::new(swf_e2e::swfd_bin()?)
        .args(args)
        .output()
        .context("running swfd")
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `swfd admin backup` through all of `nodes`' admin endpoints (the leader among them takes it).
fn take_backup(nodes: &[Swfd], out: &Path) -> Result<serde_json::Value> {
    let endpoints: Vec<String> = nodes.iter().map(|n| n.admin_endpoint()).collect();
    let token = nodes[0].admin_token_file();
    let run = swfd(&[
        "admin",
        "--endpoint",
        &endpoints.join(","),
        "--token-file",
        token.to_str().unwrap(),
        "backup",
        "--out",
        out.to_str().unwrap(),
    ])?;
    if !run.status.success() {
        bail!("swfd admin backup failed: {}", text(&run));
    }
    Ok(serde_json::from_slice(&run.stdout)?)
}

/// What the load loop had acknowledged: executions started, and per execution the signals.
#[derive(Default)]
struct Acked {
    started: Vec<WorkflowExecution>,
    signals: Vec<(String, usize)>,
}

/// Starts executions and signals them, one call after another, until `stop`; every acknowledged
/// call is recorded in `acked` the moment its answer arrives.
async fn starter(client: Client, fx: Fixture, acked: Arc<Mutex<Acked>>, stop: Arc<Mutex<bool>>) {
    let mut i = 0;
    while !*stop.lock().unwrap() {
        i += 1;
        let id = format!("load-{i}");
        let Ok(run) = start_execution(&client, &fx, &id, "in").await else {
            continue;
        };
        acked.lock().unwrap().started.push(run.clone());
        for _ in 0..2 {
            if client
                .signal_workflow_execution()
                .domain(&fx.domain)
                .workflow_id(&id)
                .signal_name("poke")
                .send()
                .await
                .is_ok()
            {
                let mut a = acked.lock().unwrap();
                match a.signals.iter_mut().find(|(w, _)| w == &id) {
                    Some((_, n)) => *n += 1,
                    None => a.signals.push((id.clone(), 1)),
                }
            }
        }
    }
}

/// Decides (schedule one activity, then complete) and works activities until `stop`.
async fn worker(client: Client, fx: Fixture, stop: Arc<Mutex<bool>>) {
    let mut n = 0;
    while !*stop.lock().unwrap() {
        if let Ok(task) = poll_decision(&client, &fx).await {
            let token = task.task_token();
            if !token.is_empty() {
                let kinds: Vec<EventType> = task
                    .events()
                    .iter()
                    .map(|e| e.event_type().clone())
                    .collect();
                n += 1;
                let decisions = if kinds.contains(&EventType::ActivityTaskCompleted) {
                    vec![complete_workflow("done")]
                } else if kinds.contains(&EventType::ActivityTaskScheduled) {
                    vec![]
                } else {
                    vec![schedule_activity(&fx, &format!("a{n}"), "x")]
                };
                let _ = client
                    .respond_decision_task_completed()
                    .task_token(token)
                    .set_decisions(Some(decisions))
                    .send()
                    .await;
            }
        }
        if let Ok(task) = poll_activity(&client, &fx).await {
            let token = task.task_token();
            if !token.is_empty() {
                let _ = client
                    .respond_activity_task_completed()
                    .task_token(token)
                    .result("ok")
                    .send()
                    .await;
            }
        }
    }
}

/// An execution on task lists of its own, with one activity scheduled and its task polled (open):
/// returns the execution and the activity's task token.
async fn held_activity(client: &Client, fx: &Fixture) -> Result<(WorkflowExecution, String)> {
    let run = client
        .start_workflow_execution()
        .domain(&fx.domain)
        .workflow_id("held")
        .workflow_type(fx.workflow_type.clone())
        .task_list(task_list("held-decisions"))
        .send()
        .await?;
    let execution = WorkflowExecution::builder()
        .workflow_id("held")
        .run_id(run.run_id().unwrap_or_default())
        .build()?;
    let task = client
        .poll_for_decision_task()
        .domain(&fx.domain)
        .task_list(task_list("held-decisions"))
        .send()
        .await?;
    let decision = Decision::builder()
        .decision_type(DecisionType::ScheduleActivityTask)
        .schedule_activity_task_decision_attributes(
            ScheduleActivityTaskDecisionAttributes::builder()
                .activity_id("held-activity")
                .activity_type(fx.activity_type.clone())
                .task_list(task_list("held-activities"))
                .input("held")
                .build()?,
        )
        .build()?;
    client
        .respond_decision_task_completed()
        .task_token(task.task_token())
        .decisions(decision)
        .send()
        .await?;
    let activity = client
        .poll_for_activity_task()
        .domain(&fx.domain)
        .task_list(task_list("held-activities"))
        .send()
        .await?;
    let token = activity.task_token().to_string();
    if token.is_empty() {
        bail!("no held activity task");
    }
    Ok((execution, token))
}

fn count(events: &[HistoryEvent], kind: EventType) -> usize {
    events.iter().filter(|e| e.event_type() == &kind).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_under_load_restores_into_a_new_cluster_with_every_acknowledged_call() -> Result<()>
{
    let nodes = Swfd::start_cluster(3, &[]).await?;
    let client = nodes[0].client();
    let fx = setup_domain(&client, "backup").await?;
    let (held, held_token) = held_activity(&client, &fx).await?;

    let acked = Arc::new(Mutex::new(Acked::default()));
    let stop = Arc::new(Mutex::new(false));
    let load = [
        tokio::spawn(starter(
            nodes[1].client(),
            fx.clone(),
            acked.clone(),
            stop.clone(),
        )),
        tokio::spawn(worker(nodes[2].client(), fx.clone(), stop.clone())),
        tokio::spawn(worker(nodes[0].client(), fx.clone(), stop.clone())),
    ];
    // Let the load get going, then back up while it runs.
    while acked.lock().unwrap().started.len() < 15 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (started_before, signals_before) = {
        let a = acked.lock().unwrap();
        (a.started.clone(), a.signals.clone())
    };
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("cluster.swfbackup");
    let backup = take_backup(&nodes, &file)?;
    let during = acked.lock().unwrap().started.len();
    // The load goes on after the backup.
    while acked.lock().unwrap().started.len() < during + 3 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    *stop.lock().unwrap() = true;
    for task in load {
        task.await?;
    }
    let header = &backup["header"];
    assert_eq!(header["format_version"], 1, "{backup}");
    assert!(header["applied_index"].as_u64().unwrap() > 0, "{backup}");
    assert!(header["created_at_ms"].as_u64().unwrap() > 0, "{backup}");
    let old_cluster = nodes[0].cluster_status().await?["cluster_id"].clone();
    assert!(old_cluster.is_string(), "the cluster has an id");
    assert_eq!(header["cluster_id"], old_cluster, "{backup}");

    // The original's histories now (each a continuation of what the backup holds).
    let mut original = Vec::new();
    let all: Vec<WorkflowExecution> = acked.lock().unwrap().started.clone();
    for run in all.iter().chain([&held]) {
        original.push((run.clone(), full_history(&client, &fx.domain, run).await?));
    }

    // A new cluster from the file: three fresh data directories.
    let restored = Swfd::start_cluster_prepared(3, &[], |id, data_dir, members| {
        let out = swfd(&[
            "restore",
            "--backup",
            file.to_str().unwrap(),
            "--data-dir",
            data_dir.to_str().unwrap(),
            "--node-id",
            &id.to_string(),
            "--initial-members",
            members,
        ])?;
        if !out.status.success() {
            bail!("swfd restore failed: {}", text(&out));
        }
        Ok(())
    })
    .await?;
    let status = restored[0].cluster_status().await?;
    assert!(
        status["cluster_id"].is_string() && status["cluster_id"] != old_cluster,
        "a fresh cluster id: {status}"
    );
    let new_grpc: Vec<String> = restored.iter().map(|n| n.grpc_addr().to_string()).collect();
    let members: Vec<String> = status["members"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(members, new_grpc, "the membership given: {status}");
    let rclient = restored[1].client();

    // Every execution started before the backup is there, with every signal acknowledged before it,
    // and each restored history is the original's history up to the backup, event for event.
    let mut found = 0;
    for (run, events) in &original {
        let restored_events = match full_history(&rclient, &fx.domain, run).await {
            Ok(e) => e,
            Err(_) => {
                assert!(
                    !started_before.contains(run),
                    "{run:?} was acknowledged before the backup and is missing"
                );
                continue;
            }
        };
        found += 1;
        assert!(
            restored_events.len() <= events.len()
                && restored_events[..] == events[..restored_events.len()],
            "{run:?}: the restored history is not the original's up to the backup"
        );
        let id = run.workflow_id();
        if let Some((_, n)) = signals_before.iter().find(|(w, _)| w == id) {
            assert!(
                count(&restored_events, EventType::WorkflowExecutionSignaled) >= *n,
                "{id}: a signal acknowledged before the backup is missing"
            );
        }
    }
    assert!(found > started_before.len(), "{found} restored");
    // The three restored replicas agree on the state.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let mut digests = Vec::new();
        for n in &restored {
            digests.push(n.admin_get("/cluster/digest").await?.1["digest"].clone());
        }
        if digests.iter().all(|d| d.is_string() && *d == digests[0]) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "restored replicas differ: {digests:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The activity task polled before the backup completes on the new cluster with its old token.
    rclient
        .respond_activity_task_completed()
        .task_token(&held_token)
        .result("after restore")
        .send()
        .await
        .context("completing the held activity with its pre-backup token")?;
    let events = full_history(&rclient, &fx.domain, &held).await?;
    assert_eq!(count(&events, EventType::ActivityTaskCompleted), 1);
    // And the new cluster takes new work.
    let fresh = start_execution(&rclient, &fx, "after-restore", "x").await?;
    assert!(!fresh.run_id().is_empty());
    Ok(())
}

/// A copy of `bytes` at `dir/name`.
fn variant(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf> {
    let p = dir.join(name);
    std::fs::write(&p, bytes)?;
    Ok(p)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_backups_and_non_empty_data_directories_are_refused() -> Result<()> {
    let node = Swfd::start().await?;
    let fx = setup_domain(&node.client(), "damaged").await?;
    start_execution(&node.client(), &fx, "w", "x").await?;
    let dir = tempfile::tempdir()?;
    let good = dir.path().join("good.swfbackup");
    take_backup(std::slice::from_ref(&node), &good)?;
    let bytes = std::fs::read(&good)?;

    let restore = |file: &Path, data_dir: &Path| {
        swfd(&[
            "restore",
            "--backup",
            file.to_str().unwrap(),
            "--data-dir",
            data_dir.to_str().unwrap(),
            "--node-id",
            "1",
            "--initial-members",
            "1=127.0.0.1:7951",
        ])
    };
    let flip = |at: usize| {
        let mut b = bytes.clone();
        b[at] ^= 0x01;
        b
    };
    let header_len = u32::from_be_bytes(bytes[8..12].try_into().unwrap()) as usize;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "truncated"),
        (
            "truncated-end",
            bytes[..bytes.len() - 1].to_vec(),
            "trailer",
        ),
        (
            "truncated-half",
            bytes[..bytes.len() / 2].to_vec(),
            "truncated",
        ),
        ("truncated-header", bytes[..10].to_vec(), "truncated"),
        ("flipped-magic", flip(0), "magic"),
        (
            "flipped-state",
            flip(12 + header_len + 40),
            "not a usable swfd backup",
        ),
        (
            "flipped-last-record",
            flip(bytes.len() - 60),
            "not a usable swfd backup",
        ),
        ("flipped-checksum", flip(bytes.len() - 1), "SHA-256"),
        (
            "future-version",
            {
                let text = String::from_utf8_lossy(&bytes[12..12 + header_len])
                    .replace("\"format_version\":1", "\"format_version\":9");
                let mut b = bytes[..8].to_vec();
                b.extend_from_slice(&(text.len() as u32).to_be_bytes());
                b.extend_from_slice(text.as_bytes());
                b.extend_from_slice(&bytes[12 + header_len..]);
                b
            },
            "format version 9",
        ),
    ];
    for (name, content, why) in cases {
        let file = variant(dir.path(), name, &content)?;
        let data = dir.path().join(format!("data-{name}"));
        let out = restore(&file, &data)?;
        assert!(!out.status.success(), "{name}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(why), "{name}: expected '{why}' in {stderr}");
        assert!(!data.exists(), "{name}: the data directory was left behind");
    }

    // A non-empty data directory is refused, and left as it was.
    let used = dir.path().join("used");
    std::fs::create_dir_all(&used)?;
    std::fs::write(used.join("keep"), "x")?;
    let out = restore(&good, &used)?;
    assert!(!out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not empty"));
    assert_eq!(std::fs::read_dir(&used)?.count(), 1);

    // The node must be among the members given.
    let out = swfd(&[
        "restore",
        "--backup",
        good.to_str().unwrap(),
        "--data-dir",
        dir.path().join("x").to_str().unwrap(),
        "--node-id",
        "2",
        "--initial-members",
        "1=127.0.0.1:7951",
    ])?;
    assert!(!out.status.success(), "{}", text(&out));

    // The good file restores (and an empty existing directory is fine).
    let empty = dir.path().join("empty-dir");
    std::fs::create_dir_all(&empty)?;
    let out = restore(&good, &empty)?;
    assert!(out.status.success(), "{}", text(&out));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_alone_does_not_take_a_backup_and_says_who_leads() -> Result<()> {
    let nodes = Swfd::start_cluster(3, &[]).await?;
    let leader = swf_e2e::agreed_leader(&nodes.iter().collect::<Vec<_>>(), None).await?;
    let follower = nodes
        .iter()
        .find(|n| n.admin_endpoint() != nodes[(leader - 1) as usize].admin_endpoint())
        .unwrap();
    let dir = tempfile::tempdir()?;
    let out_file = dir.path().join("b");
    let err = take_backup(std::slice::from_ref(follower), &out_file).unwrap_err();
    assert!(
        err.to_string().contains(&format!("node {leader} leads")),
        "{err:#}"
    );
    assert!(!out_file.exists());
    assert!(!dir.path().join("b.part").exists());
    Ok(())
}
