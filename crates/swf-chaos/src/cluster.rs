//! The cluster under test: real `swfd` processes, one per node, each in its own namespace (or on its
//! own loopback address), with kill -9 / restart, SIGSTOP / SIGCONT, removal and re-join, and the
//! status and digest reads the nemesis and the checkers use.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::Value;

use crate::net::{self, NetMode};
use crate::skew::Clocks;

const HTTP_PORT: u16 = 7950;
const GRPC_PORT: u16 = 7951;
/// The admin listener of each node (on the node's own address, so the runner reaches it).
const ADMIN_PORT: u16 = 7952;

/// One node's process and addresses.
pub struct NodeProc {
    /// Raft node id (1-based; also the namespace index).
    pub id: usize,
    pub http: String,
    pub grpc: String,
    /// The admin listener (`/cluster/...`).
    pub admin: String,
    pub data_dir: PathBuf,
    pub log: PathBuf,
    pub child: Option<Child>,
    pub paused: bool,
    /// Removed from the membership (its data wiped); re-added with `--join`.
    pub removed: bool,
}

/// The running cluster.
pub struct Cluster {
    pub mode: NetMode,
    pub swfd: PathBuf,
    pub nodes: Vec<NodeProc>,
    pub long_poll_secs: u64,
    http: reqwest::Client,
    /// The admin token every node is started with (`--admin-token-file`).
    pub token: String,
    token_file: PathBuf,
    /// Set when the nodes run with the clock shim (the `clock` fault).
    pub clocks: Option<Clocks>,
}

impl Cluster {
    /// Starts `n` nodes forming one cluster; waits until every node serves.
    pub async fn start(
        swfd: &Path,
        mode: NetMode,
        n: usize,
        work_dir: &Path,
        long_poll_secs: u64,
        clocks: Option<Clocks>,
    ) -> anyhow::Result<Cluster> {
        let mut nodes = Vec::new();
        for id in 1..=n {
            let ip = net::node_ip(mode, id);
            nodes.push(NodeProc {
                id,
                http: format!("{ip}:{HTTP_PORT}"),
                grpc: format!("{ip}:{GRPC_PORT}"),
                admin: format!("{ip}:{ADMIN_PORT}"),
                data_dir: work_dir.join(format!("node{id}")),
                log: work_dir.join(format!("node{id}.log")),
                child: None,
                paused: false,
                removed: false,
            });
        }
        let token = format!(
            "chaos-admin-{:x}-{:x}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        );
        let token_file = work_dir.join("admin-token");
        std::fs::create_dir_all(work_dir)?;
        std::fs::write(&token_file, format!("{token}\n"))?;
        let mut cluster = Cluster {
            token,
            token_file,
            mode,
            swfd: swfd.to_path_buf(),
            nodes,
            long_poll_secs,
            clocks,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(3))
                .build()?,
        };
        for i in 0..n {
            cluster.spawn(i, None)?;
        }
        for i in 0..n {
            cluster.wait_serving(i, Duration::from_secs(60)).await?;
        }
        Ok(cluster)
    }

    pub fn endpoints(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| format!("http://{}", n.http))
            .collect()
    }

    fn initial_members(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("{}={}", n.id, n.grpc))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Starts node `i`'s process (a restart keeps its data); `join` makes a pristine node join
    /// through that admin endpoint instead of using the initial members.
    pub fn spawn(&mut self, i: usize, join: Option<String>) -> anyhow::Result<()> {
        let members = self.initial_members();
        let node = &mut self.nodes[i];
        std::fs::create_dir_all(&node.data_dir)?;
        let log = File::options().create(true).append(true).open(&node.log)?;
        let mut args: Vec<String> = vec![
            "--node-id".into(),
            node.id.to_string(),
            "--data-dir".into(),
            node.data_dir.display().to_string(),
            "--http-addr".into(),
            node.http.clone(),
            "--grpc-addr".into(),
            node.grpc.clone(),
            "--admin-addr".into(),
            node.admin.clone(),
            "--admin-token-file".into(),
            self.token_file.display().to_string(),
            "--long-poll-secs".into(),
            self.long_poll_secs.to_string(),
            "--snapshot-every".into(),
            "2000".into(),
            // A mistaken add (the bad-member fault) gives up quickly; a real re-join catches up
            // well within it.
            "--member-catch-up-secs".into(),
            "30".into(),
        ];
        match join {
            Some(url) => args.extend(["--join".into(), url]),
            None => args.extend(["--initial-members".into(), members]),
        }
        let mut cmd = match self.mode {
            NetMode::Namespaces => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", &net::ns_name(node.id)]);
                c.arg(&self.swfd);
                c
            }
            NetMode::Loopback => Command::new(&self.swfd),
        };
        if let Some(clocks) = &self.clocks {
            cmd.envs(clocks.env(node.id)?);
        }
        let child = cmd
            .args(&args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", self.swfd.display()))?;
        node.child = Some(child);
        node.paused = false;
        Ok(())
    }

    pub fn pid(&self, i: usize) -> Option<u32> {
        self.nodes[i].child.as_ref().map(|c| c.id())
    }

    pub fn is_running(&self, i: usize) -> bool {
        self.nodes[i].child.is_some()
    }

    /// kill -9.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.nodes[i].paused = false;
    }

    fn signal(&self, i: usize, sig: &str) -> Result<(), String> {
        match self.pid(i) {
            Some(pid) => net::run("kill", &[sig, &pid.to_string()]).map(|_| ()),
            None => Err("not running".into()),
        }
    }

    pub fn pause(&mut self, i: usize) -> Result<(), String> {
        self.signal(i, "-STOP")?;
        self.nodes[i].paused = true;
        Ok(())
    }

    pub fn resume(&mut self, i: usize) -> Result<(), String> {
        self.signal(i, "-CONT")?;
        self.nodes[i].paused = false;
        Ok(())
    }

    /// GET a node's JSON admin endpoint.
    pub async fn get_json(&self, i: usize, path: &str) -> Option<Value> {
        let url = format!("http://{}{}", self.nodes[i].admin, path);
        let resp = self
            .http
            .get(url)
            .bearer_auth(&self.token)
            .send()
            .await
            .ok()?;
        if !resp.status().is_success() {
            return None;
        }
        resp.json().await.ok()
    }

    pub async fn status(&self, i: usize) -> Option<Value> {
        self.get_json(i, "/cluster/status").await
    }

    /// The current leader's index (0-based) as some reachable node sees it.
    pub async fn leader(&self) -> Option<usize> {
        for i in 0..self.nodes.len() {
            if !self.is_running(i) || self.nodes[i].paused {
                continue;
            }
            if let Some(s) = self.status(i).await {
                if let Some(l) = s["leader_id"].as_u64() {
                    return self.nodes.iter().position(|n| n.id as u64 == l);
                }
            }
        }
        None
    }

    pub async fn wait_serving(&self, i: usize, timeout: Duration) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let url = format!("http://{}/health", self.nodes[i].http);
            if let Ok(r) = self.http.get(url).send().await {
                if r.status().is_success() {
                    return Ok(());
                }
            }
            if tokio::time::Instant::now() > deadline {
                bail!(
                    "node {} did not serve within {timeout:?} (log: {})",
                    self.nodes[i].id,
                    self.nodes[i].log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Removes node `i` from the membership through another node; Ok(detail) or Err(why).
    pub async fn remove_member(&self, i: usize) -> Result<String, String> {
        let via = (0..self.nodes.len())
            .find(|&j| j != i && self.is_running(j) && !self.nodes[j].paused)
            .ok_or("no other node to ask")?;
        let url = format!("http://{}/cluster/members/remove", self.nodes[via].admin);
        let body = serde_json::json!({"node_id": self.nodes[i].id});
        let resp = reqwest::Client::new()
            .post(url)
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(15))
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        if status.is_success() {
            Ok(format!("removed via node {}", self.nodes[via].id))
        } else {
            Err(format!("HTTP {status}: {text}"))
        }
    }

    /// A running, unpaused node other than `not`, to send an admin call through.
    pub fn other_live_node(&self, not: Option<usize>) -> Option<usize> {
        (0..self.nodes.len())
            .find(|&j| Some(j) != not && self.is_running(j) && !self.nodes[j].paused)
    }

    /// The voter ids of the cluster, as node `i` sees them.
    pub async fn voters(&self, i: usize) -> Option<Vec<u64>> {
        let s = self.status(i).await?;
        let mut v: Vec<u64> = s["voters"]
            .as_array()?
            .iter()
            .filter_map(Value::as_u64)
            .collect();
        v.sort();
        Some(v)
    }

    /// `swfd admin transfer-leader` to node `to`, asked of node `via`.
    pub fn transfer_leader(&self, via: usize, to: usize) -> Result<String, String> {
        let endpoint = format!("http://{}", self.nodes[via].admin);
        let id = self.nodes[to].id.to_string();
        let swfd = self.swfd.display().to_string();
        let token_file = self.token_file.display().to_string();
        net::run(
            &swfd,
            &[
                "admin",
                "transfer-leader",
                "--endpoint",
                &endpoint,
                "--token-file",
                &token_file,
                "--to",
                &id,
            ],
        )
        .map(|s| s.trim().to_string())
    }

    /// Kills every process (resuming paused ones first is not needed for SIGKILL).
    pub fn stop_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// POSTs a JSON admin call with the admin `token`; returns the HTTP status and the body, or why it
/// was not answered.
pub async fn post_json(
    url: String,
    token: String,
    body: Value,
    timeout: Duration,
) -> Result<(u16, String), String> {
    let resp = reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .timeout(timeout)
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    Ok((status, resp.text().await.unwrap_or_default()))
}
