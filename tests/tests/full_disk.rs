//! Full disks and read-only data directories, through the real swfd.
//!
//! A 3-node cluster where node 3's data directory is a small tmpfs mounted in a mount namespace of its
//! own (`unshare -m`: the mount goes away with the process). The test fills that filesystem (a file
//! written from inside the namespace with `nsenter`) while node 3 leads: node 3 refuses writes with a
//! retryable `ServiceUnavailableException` and hands leadership over, the cluster goes on with the
//! other two while node 3 takes no log entries, and once the file is removed node 3 catches up on its
//! own, with every acknowledged call there and every replica identical. A data directory on a
//! read-only mount stops swfd at start with a clear message and exit code 73.
//!
//! Needs root (mounts); without it, or without `unshare`/`nsenter`, the tests say so and pass.

use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};
use swf_e2e::{agreed_leader, setup_domain, Launch, Swfd};

/// The tmpfs node 3 gets, and the free space below which nodes refuse writes.
const TMPFS_MB: u64 = 192;
const MIN_FREE_MB: u64 = 24;

/// Why mounts in a namespace of our own cannot be made here, if they cannot.
fn mounts_unavailable() -> Option<String> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("not root: cannot mount a filesystem for the data directory".into());
    }
    for tool in ["unshare", "nsenter", "fallocate", "df"] {
        if Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map_or(true, |o| !o.status.success())
        {
            return Some(format!("{tool} is not installed (util-linux, coreutils)"));
        }
    }
    let probe = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c"])
        .arg("d=$(mktemp -d) && mount -t tmpfs -o size=1m swfd-probe \"$d\" && umount \"$d\" && rmdir \"$d\"")
        .output();
    match probe {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(format!(
            "cannot mount a tmpfs in a mount namespace: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Some(format!("unshare: {e}")),
    }
}

/// Says why the test does not run (and fails under CI, which runs as root).
fn skip(why: &str) -> anyhow::Result<()> {
    if std::env::var_os("CI").is_some() {
        anyhow::bail!("full-disk tests cannot run under CI: {why}");
    }
    eprintln!("SKIPPED: {why}");
    Ok(())
}

/// Runs swfd in a mount namespace of its own, with `dir` (the harness's `{data-dir}`: swfd's data
/// directory) on a tmpfs mounted with `options`.
fn on_tmpfs(options: &str, dir: &str) -> Vec<String> {
    [
        "unshare",
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        &format!("mkdir -p \"$1\" && mount -t tmpfs -o {options} swfd-test \"$1\" && shift && exec \"$@\""),
        "sh",
        dir,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Runs `args` inside `node`'s mount namespace.
fn in_ns(node: &Swfd, args: &[&str]) -> anyhow::Result<String> {
    let pid = node
        .pid()
        .ok_or_else(|| anyhow::anyhow!("node not running"))?;
    let out = Command::new("nsenter")
        .args(["-t", &pid.to_string(), "-m", "--"])
        .args(args)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Bytes free on `node`'s data directory, as its own namespace sees it.
fn free_bytes(node: &Swfd) -> anyhow::Result<u64> {
    let dir = node.data_dir().display().to_string();
    let out = in_ns(node, &["df", "-B1", "--output=avail", &dir])?;
    Ok(out
        .lines()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("df: {out}"))?
        .trim()
        .parse()?)
}

fn transfer_leader(node: &Swfd, to: u64) -> anyhow::Result<()> {
    let out = Command::new(swf_e2e::swfd_bin()?)
        .args([
            "admin",
            "transfer-leader",
            "--endpoint",
            &node.admin_endpoint(),
        ])
        .arg("--token-file")
        .arg(node.admin_token_file())
        .args(["--to", &to.to_string()])
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "transfer-leader --to {to}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// Starts workflow `id` through `node` with raw calls until it is acknowledged, as an SDK retries a
/// retryable error; returns the error answers seen on the way (status, `__type`).
async fn start_until_acknowledged(
    node: &Swfd,
    domain: &str,
    id: &str,
) -> anyhow::Result<Vec<(u16, String)>> {
    let body = json!({
        "domain": domain, "workflowId": id,
        "workflowType": {"name": "wf", "version": "1"},
    })
    .to_string();
    let mut errors = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, answer) = node
            .raw_call("StartWorkflowExecution", body.clone())
            .await?;
        if status == 200 {
            return Ok(errors);
        }
        let kind = answer["__type"].as_str().unwrap_or("").to_string();
        // Once acknowledged elsewhere (an earlier attempt applied after all), the retry says so.
        if kind.ends_with("WorkflowExecutionAlreadyStartedFault") {
            return Ok(errors);
        }
        errors.push((status, format!("{kind}: {}", answer["message"])));
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "{id} not acknowledged within 30 s: {errors:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn digest(node: &Swfd) -> anyhow::Result<Value> {
    let (status, d) = node.admin_get("/cluster/digest").await?;
    anyhow::ensure!(status == 200, "digest: {status} {d}");
    Ok(d)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_disk_refuses_writes_moves_leadership_and_resumes_on_its_own() -> anyhow::Result<()>
{
    if let Some(why) = mounts_unavailable() {
        return skip(&why);
    }
    let min_free = MIN_FREE_MB.to_string();
    let launch = [
        Launch::default(),
        Launch::default(),
        Launch {
            env: Vec::new(),
            wrapper: on_tmpfs(&format!("size={TMPFS_MB}m"), "{data-dir}"),
        },
    ];
    let nodes =
        Swfd::start_cluster_launched(3, &["--min-free-disk-mb", &min_free], &launch).await?;
    let refs: Vec<&Swfd> = nodes.iter().collect();
    let fx = setup_domain(&nodes[0].client(), "full-disk").await?;
    let mut acknowledged = Vec::new();
    for i in 0..5 {
        let id = format!("before-{i}");
        start_until_acknowledged(&nodes[0], &fx.domain, &id).await?;
        acknowledged.push(id);
    }

    // Node 3 leads, then its disk fills up.
    transfer_leader(&nodes[0], 3)?;
    anyhow::ensure!(
        agreed_leader(&refs, None).await? == 3,
        "node 3 did not take over"
    );
    let free = free_bytes(&nodes[2])?;
    let filler = nodes[2].data_dir().join("filler");
    let fill = free.saturating_sub((MIN_FREE_MB / 2) << 20);
    in_ns(
        &nodes[2],
        &[
            "fallocate",
            "-l",
            &fill.to_string(),
            &filler.display().to_string(),
        ],
    )?;
    println!("node 3: {} MiB free, filled {} MiB", free >> 20, fill >> 20);

    // Writes keep being acknowledged (through node 3 itself too: it forwards), with nothing but
    // retryable refusals on the way, and leadership leaves node 3.
    let mut refusals = Vec::new();
    for i in 0..10 {
        let id = format!("while-full-{i}");
        let via = &nodes[i % 3];
        refusals.extend(start_until_acknowledged(via, &fx.domain, &id).await?);
        acknowledged.push(id);
    }
    for (status, what) in &refusals {
        anyhow::ensure!(
            *status == 503 && what.starts_with("ServiceUnavailableException"),
            "a refusal while the disk was full is not a retryable ServiceUnavailable: {status} {what}"
        );
    }
    println!("refusals while full: {refusals:?}");
    let leader = agreed_leader(&refs, Some(3)).await?;
    anyhow::ensure!(leader != 3, "node 3 still leads on a full disk");
    let log = nodes[2].log();
    anyhow::ensure!(
        log.contains("low on disk space"),
        "node 3's log does not say why it refuses:\n{log}"
    );
    // Node 3 takes no log entries while full: it lags the others.
    let lagging = digest(&nodes[2]).await?["last_applied"].as_u64();
    let ahead = digest(&nodes[0]).await?["last_applied"].as_u64();
    anyhow::ensure!(
        lagging < ahead,
        "node 3 applied {lagging:?}, the leader {ahead:?}"
    );

    // Space freed: node 3 catches up on its own and every replica is identical.
    in_ns(&nodes[2], &["rm", "-f", &filler.display().to_string()])?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let d: Vec<Value> = vec![
            digest(&nodes[0]).await?,
            digest(&nodes[1]).await?,
            digest(&nodes[2]).await?,
        ];
        if d[0]["last_applied"] == d[2]["last_applied"]
            && d.iter().all(|x| x["digest"] == d[0]["digest"])
        {
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "node 3 did not catch up after space was freed: {d:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // It can lead again, and every acknowledged call is there.
    transfer_leader(&nodes[0], 3)?;
    anyhow::ensure!(
        agreed_leader(&refs, None).await? == 3,
        "node 3 did not lead again"
    );
    for id in &acknowledged {
        let (status, answer) = nodes[2]
            .raw_call(
                "ListOpenWorkflowExecutions",
                json!({"domain": fx.domain, "startTimeFilter": {"oldestDate": 0},
                       "executionFilter": {"workflowId": id}})
                .to_string(),
            )
            .await?;
        anyhow::ensure!(status == 200, "{status} {answer}");
        anyhow::ensure!(
            answer["executionInfos"].as_array().map_or(0, Vec::len) == 1,
            "acknowledged {id} missing: {answer}"
        );
    }
    let written = start_until_acknowledged(&nodes[2], &fx.domain, "after").await?;
    anyhow::ensure!(
        written.is_empty(),
        "refused after space was freed: {written:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_read_only_data_dir_stops_swfd_at_start_with_exit_code_73() -> anyhow::Result<()> {
    if let Some(why) = mounts_unavailable() {
        return skip(&why);
    }
    let root = tempfile::tempdir()?;
    let mount = root.path().join("ro");
    let wrapper = on_tmpfs("ro,size=1m", &mount.display().to_string());
    let mut cmd = Command::new(&wrapper[0]);
    cmd.args(&wrapper[1..])
        .arg(swf_e2e::swfd_bin()?)
        .arg("--data-dir")
        .arg(mount.join("data"))
        .args([
            "--http-addr",
            "127.0.0.1:0",
            "--grpc-addr",
            "127.0.0.1:0",
            "--admin-addr",
            "127.0.0.1:0",
        ])
        .arg("--admin-token-file")
        .arg(root.path().join("token"));
    std::fs::write(root.path().join("token"), "t0k3n-for-the-read-only-test\n")?;
    let out = tokio::task::spawn_blocking(move || cmd.output()).await??;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(73),
        "exit status; stderr:\n{stderr}"
    );
    assert!(
        stderr.contains("is not writable") && stderr.contains("read-only"),
        "{stderr}"
    );
    Ok(())
}
