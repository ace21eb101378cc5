//! Kubernetes scaling (issue 18) without a Kubernetes: the container's entrypoint
//! (`deploy/entrypoint.sh`) and preStop hook (`deploy/prestop.sh`) run as real processes with the
//! environment a StatefulSet pod gets (`HOSTNAME=swfd-3`, the peers list), against a real 3-node
//! cluster. Pods past the initial members join by themselves (learners, then voters); scaling back
//! down removes the departing members in their preStop hooks, never below three voters; a pod that
//! stops for another reason stays a member.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::Value;
use swf_e2e::Swfd;

fn deploy(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(file)
}

/// What the entrypoint would run for a pod with `env`: `SWFD_BIN=env` prints the environment.
fn entrypoint_env(env: &[(&str, &str)]) -> Result<String> {
    let out = Command::new("sh")
        .arg(deploy("entrypoint.sh"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("SWFD_BIN", "env")
        .envs(env.iter().copied())
        .output()?;
    if !out.status.success() {
        bail!("entrypoint: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn var<'a>(env: &'a str, name: &str) -> Option<&'a str> {
    env.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
}

#[test]
fn the_entrypoint_derives_initial_members_or_a_join_from_the_pod_name() -> Result<()> {
    let peers = "swfd-0.swfd-peers,swfd-1.swfd-peers,swfd-2.swfd-peers";
    let env = entrypoint_env(&[("HOSTNAME", "swfd-1"), ("SWFD_PEERS", peers)])?;
    assert_eq!(var(&env, "SWFD_NODE_ID"), Some("2"));
    assert_eq!(
        var(&env, "SWFD_INITIAL_MEMBERS"),
        Some("1=swfd-0.swfd-peers:7951,2=swfd-1.swfd-peers:7951,3=swfd-2.swfd-peers:7951")
    );
    assert_eq!(var(&env, "SWFD_JOIN"), None);

    let env = entrypoint_env(&[("HOSTNAME", "swfd-3"), ("SWFD_PEERS", peers)])?;
    assert_eq!(var(&env, "SWFD_NODE_ID"), Some("4"));
    assert_eq!(var(&env, "SWFD_INITIAL_MEMBERS"), None);
    assert_eq!(
        var(&env, "SWFD_JOIN"),
        Some("http://swfd-0.swfd-peers:7952,http://swfd-1.swfd-peers:7952,http://swfd-2.swfd-peers:7952")
    );
    assert_eq!(
        var(&env, "SWFD_GRPC_ADVERTISE_ADDR"),
        Some("swfd-3.swfd-peers:7951")
    );
    Ok(())
}

/// A pod's swfd, started through the entrypoint; killed when dropped.
struct Pod {
    child: Child,
    admin: String,
    _dir: tempfile::TempDir,
}

impl Drop for Pod {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Starts pod `name` of the StatefulSet whose initial members are `nodes`.
fn start_pod(name: &str, nodes: &[Swfd]) -> Result<Pod> {
    let dir = tempfile::tempdir()?;
    let grpc = format!("127.0.0.1:{}", free_port()?);
    let peers: Vec<String> = nodes.iter().map(|n| n.grpc_addr().to_string()).collect();
    // Locally every node has admin and gRPC ports of its own: the peers carry their gRPC ports and
    // the admin endpoints are given (in a pod they are derived from the peers' DNS names).
    let admins: Vec<String> = nodes.iter().map(|n| n.admin_endpoint()).collect();
    let log = std::fs::File::create(dir.path().join("swfd.log"))?;
    let mut child = Command::new("sh")
        .arg(deploy("entrypoint.sh"))
        .args(["--data-dir", dir.path().join("data").to_str().unwrap()])
        .args(["--http-addr", "127.0.0.1:0", "--grpc-addr", &grpc])
        .args(["--admin-addr", "127.0.0.1:0", "--admin-token-file"])
        .arg(nodes[0].admin_token_file())
        .env("HOSTNAME", name)
        .env("SWFD_PEERS", peers.join(","))
        .env("SWFD_JOIN_ENDPOINTS", admins.join(","))
        .env("SWFD_GRPC_ADVERTISE_ADDR", &grpc)
        .env("SWFD_BIN", swf_e2e::swfd_bin()?)
        .env_remove("SWFD_ADMIN_TOKEN_FILE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line)?;
    let listening = swf_e2e::parse_listening_line(line.trim())
        .with_context(|| format!("{name} did not start: {line}"))?;
    Ok(Pod {
        child,
        admin: format!("http://{}", listening.admin),
        _dir: dir,
    })
}

/// Runs the preStop hook of pod `name` (its admin endpoint `admin`) with the desired `replicas`.
fn pre_stop(name: &str, admin: &str, replicas: u32, token: &std::path::Path) -> Result<String> {
    let out = Command::new("sh")
        .arg(deploy("prestop.sh"))
        .env("HOSTNAME", name)
        .env("SWFD_DESIRED_REPLICAS", replicas.to_string())
        .env("SWFD_ADMIN_URL", admin)
        .env("SWFD_ADMIN_TOKEN_FILE", token)
        .env("SWFD_BIN", swf_e2e::swfd_bin()?)
        .output()?;
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        bail!("preStop of {name} failed: {text}");
    }
    Ok(text)
}

fn voters(status: &Value) -> Vec<u64> {
    let mut v: Vec<u64> = status["voters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_u64)
        .collect();
    v.sort();
    v
}

async fn wait_voters(node: &Swfd, want: &[u64]) -> Result<()> {
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let status = node.cluster_status().await?;
        if voters(&status) == want {
            return Ok(());
        }
        if Instant::now() > end {
            bail!(
                "voters {:?}, waited for {want:?}: {status}",
                voters(&status)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaling_up_joins_pods_and_scaling_down_removes_them_first() -> Result<()> {
    // Auth off whatever SWF_E2E_AUTH says: the pods started through the entrypoint here get no peer
    // certificates, which auth's mandatory mTLS would need.
    let nodes = Swfd::start_cluster_without_auth(3, &[]).await?;
    let token = nodes[0].admin_token_file();
    // kubectl scale --replicas=5: swfd-3 and swfd-4 start together (podManagementPolicy: Parallel).
    let pod3 = start_pod("swfd-3", &nodes)?;
    let pod4 = start_pod("swfd-4", &nodes)?;
    wait_voters(&nodes[0], &[1, 2, 3, 4, 5]).await?;
    let client = nodes[1].client();
    let fx = swf_e2e::setup_domain(&client, "scaled").await?;
    let on_five = swf_e2e::start_execution(&client, &fx, "on-five", "x").await?;

    // A restart of a member (not a scale-down): its preStop keeps it in the cluster.
    let out = pre_stop("swfd-2", &nodes[2].admin_endpoint(), 5, &token)?;
    assert!(out.contains("stays"), "{out}");
    wait_voters(&nodes[0], &[1, 2, 3, 4, 5]).await?;

    // kubectl scale --replicas=3: swfd-4 then swfd-3 leave in their preStop hooks, then stop.
    let out = pre_stop("swfd-4", &pod4.admin, 3, &token)?;
    assert!(out.contains("left the cluster"), "{out}");
    drop(pod4);
    wait_voters(&nodes[0], &[1, 2, 3, 4]).await?;
    let out = pre_stop("swfd-3", &pod3.admin, 3, &token)?;
    assert!(out.contains("left the cluster"), "{out}");
    drop(pod3);
    wait_voters(&nodes[0], &[1, 2, 3]).await?;

    // Never below three voters: scaling to 2 leaves the cluster as it is.
    let out = pre_stop("swfd-2", &nodes[2].admin_endpoint(), 2, &token)?;
    assert!(out.contains("not going below 3"), "{out}");
    wait_voters(&nodes[0], &[1, 2, 3]).await?;

    // The three go on serving, with what the five held.
    let client = nodes[2].client();
    swf_e2e::start_execution(&client, &fx, "on-three", "x").await?;
    let history = swf_e2e::full_history(&client, &fx.domain, &on_five).await?;
    assert!(!history.is_empty());
    Ok(())
}
