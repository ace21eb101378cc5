//! End-to-end harness for `swfd`: starts the real server binary on a fresh data directory with
//! ephemeral ports, waits for `GET /health` to answer 200, and hands out SDK clients and raw HTTP
//! helpers. Every [`Swfd`] kills its process and removes its directory when dropped, so tests can
//! run in parallel, each against its own server.
//!
//! With `SWF_E2E_AUTH=1` every swfd the harness starts runs with auth on: an auth configuration
//! ([`sign::ALLOW_ALL`]) whose one principal, allowed everything, has the keys every SDK client of the
//! harness signs with; [`Swfd::raw_call`] signs its calls the same way. [`Swfd::start_with_auth`]
//! starts swfd with a configuration of the test's own. swfd requires mutual TLS between nodes
//! whenever auth is on, so every swfd started with `--auth-config` (and no `--peer-ca` of the
//! test's own) also gets the harness's peer certificates ([`peer_tls_args`]: one CA per test
//! process, one certificate for [`PEER_NAME`]).
//!
//! The binary is `$SWFD_BIN` if set, else `$SWF_BIN_DIR/swfd` if that is set (scripts/test.sh sets it to
//! the binaries `cargo test --workspace` just built, so no second build with other features happens);
//! otherwise `cargo build -p swfd --bin swfd` is run once per test binary and the result is taken from
//! the target directory this test binary lives in.
//!
//! Every node gets an admin listener on an ephemeral port and the admin token [`ADMIN_TOKEN`];
//! [`certs`] makes certificates for the TLS tests.

pub mod certs;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use aws_sdk_swf::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_swf::error::SdkError;
use aws_sdk_swf::types::{
    ActivityType, Decision, DecisionType, EventType, HistoryEvent,
    ScheduleActivityTaskDecisionAttributes, TaskList, WorkflowExecution, WorkflowType,
};
use aws_sdk_swf::Client;

pub mod sign;

/// Whether every swfd the harness starts runs with auth on (`SWF_E2E_AUTH=1`).
pub fn auth_by_default() -> bool {
    std::env::var("SWF_E2E_AUTH").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("on"))
}

/// How long the harness waits for swfd to bind, become healthy or exit.
const STARTUP_DEADLINE: Duration = Duration::from_secs(60);
/// Interval between polls while waiting for a condition.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// The `X-Amz-Target` prefix of every SWF action.
pub const TARGET_PREFIX: &str = "SimpleWorkflowService.";
/// The content type of the AWS JSON 1.0 protocol.
pub const AMZ_JSON: &str = "application/x-amz-json-1.0";
/// The admin token every node started by the harness has (`--admin-token-file`), so a node started
/// with `--join` can join any other.
pub const ADMIN_TOKEN: &str = "swfd-e2e-admin-token-0123456789";

/// The name on the harness's peer certificate, and the one its nodes allow.
pub const PEER_NAME: &str = "swfd-peer";

/// The harness's cluster CA (PEM) and the peer certificate it signed, made once per test process.
fn harness_pki() -> Result<&'static (String, certs::Leaf)> {
    static PKI: OnceLock<Result<(String, certs::Leaf), String>> = OnceLock::new();
    PKI.get_or_init(|| {
        let make = || -> Result<(String, certs::Leaf)> {
            let ca = certs::Ca::new("swf-e2e cluster CA")?;
            let leaf = ca.issue(&[PEER_NAME], certs::Validity::Current)?;
            Ok((ca.pem(), leaf))
        };
        make().map_err(|e| format!("{e:#}"))
    })
    .as_ref()
    .map_err(|e| anyhow!("making the harness's certificates: {e}"))
}

/// Writes the harness's peer CA and certificate into `dir`; the `--peer-*` flags naming them.
pub fn peer_tls_args(dir: &std::path::Path) -> Result<Vec<String>> {
    let (ca_pem, leaf) = harness_pki()?;
    let ca = dir.join("peer-ca.crt");
    std::fs::write(&ca, ca_pem).context("writing the peer CA")?;
    let (cert, key) = leaf.write(dir, "peer")?;
    Ok(vec![
        "--peer-ca".into(),
        ca.display().to_string(),
        "--peer-cert".into(),
        cert.display().to_string(),
        "--peer-key".into(),
        key.display().to_string(),
        "--peer-allowed-names".into(),
        PEER_NAME.into(),
    ])
}

/// Adds the harness's peer TLS flags to `args` when they turn auth on without peer TLS of their own.
fn add_peer_tls(args: &mut Vec<String>, dir: &std::path::Path) -> Result<()> {
    if args.iter().any(|a| a == "--auth-config") && !args.iter().any(|a| a == "--peer-ca") {
        args.extend(peer_tls_args(dir)?);
    }
    Ok(())
}

/// Runs `cargo build -p <package> --bin <bin>...` (with `$CARGO`, as set by `cargo test`).
fn cargo_build(package: &str, bins: &[&str]) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "-p", package]);
    // `cargo test` gives the test process its package's variables (CARGO_MANIFEST_DIR, …); build
    // scripts that watch them (ring's does) would otherwise be rerun, rebuilding half the tree.
    for (key, _) in std::env::vars_os() {
        let key_str = key.to_string_lossy();
        if key_str.starts_with("CARGO_PKG_")
            || [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_CRATE_NAME",
                "CARGO_BIN_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "OUT_DIR",
            ]
            .contains(&key_str.as_ref())
        {
            cmd.env_remove(&key);
        }
    }
    for bin in bins {
        cmd.args(["--bin", bin]);
    }
    let status = cmd
        .status()
        .with_context(|| format!("running cargo build -p {package}"))?;
    if !status.success() {
        bail!("cargo build -p {package} failed: {status}");
    }
    Ok(())
}

/// `<profile dir>/<name>`, which must exist.
fn built_bin(name: &str) -> Result<PathBuf> {
    let path = profile_dir()?.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !path.is_file() {
        bail!("{} does not exist", path.display());
    }
    Ok(path)
}

/// The cargo profile directory (`…/target/debug`) this test binary was built into.
pub fn profile_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("current_exe")?;
    // …/target/debug/deps/<test-binary> → …/target/debug
    let deps = exe
        .parent()
        .context("test binary has no parent directory")?;
    let dir = if deps.file_name().is_some_and(|n| n == "deps") {
        deps.parent().context("deps has no parent directory")?
    } else {
        deps
    };
    Ok(dir.to_path_buf())
}

/// The `swfd` binary under test: `$SWFD_BIN`, or built once per test binary.
pub fn swfd_bin() -> Result<PathBuf> {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(path) = std::env::var_os("SWFD_BIN") {
            return Ok(PathBuf::from(path));
        }
        if let Some(dir) = std::env::var_os("SWF_BIN_DIR") {
            return Ok(PathBuf::from(dir).join(format!("swfd{}", std::env::consts::EXE_SUFFIX)));
        }
        cargo_build("swfd", &["swfd"])
            .and_then(|()| built_bin("swfd"))
            .map_err(|e| format!("{e:#}"))
    })
    .clone()
    .map_err(|e| anyhow!(e))
}

/// The example binaries `(decider, worker)` of crate `swf-examples`, built once per test binary.
pub fn example_bins() -> Result<(PathBuf, PathBuf)> {
    static BINS: OnceLock<Result<(PathBuf, PathBuf), String>> = OnceLock::new();
    BINS.get_or_init(|| {
        let built = || -> Result<(PathBuf, PathBuf)> {
            if let Some(dir) = std::env::var_os("SWF_BIN_DIR") {
                let dir = PathBuf::from(dir);
                let exe = |n: &str| dir.join(format!("{n}{}", std::env::consts::EXE_SUFFIX));
                return Ok((exe("decider"), exe("worker")));
            }
            cargo_build("swf-examples", &["decider", "worker"])?;
            Ok((built_bin("decider")?, built_bin("worker")?))
        };
        built().map_err(|e| format!("{e:#}"))
    })
    .clone()
    .map_err(|e| anyhow!(e))
}

/// Builds the `LD_PRELOAD` clock shim (`crates/swf-chaos/clockshift.c`: moves a process's wall clock
/// by `SWF_CLOCKSHIFT_SECS` or the offset in the file `SWF_CLOCKSHIFT_FILE`) with the C compiler
/// (`$CC`, else `cc`) into a temporary directory of this process; its path.
pub fn clockshift_lib() -> Result<PathBuf> {
    const SOURCE: &str = include_str!("../../crates/swf-chaos/clockshift.c");
    let dir = std::env::temp_dir().join(format!("swf-e2e-clockshift-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let (src, lib) = (dir.join("clockshift.c"), dir.join("libclockshift.so"));
    if !lib.exists() {
        std::fs::write(&src, SOURCE)?;
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        let out = Command::new(&cc)
            .args(["-shared", "-fPIC", "-O2", "-o"])
            .arg(&lib)
            .arg(&src)
            .output()
            .with_context(|| format!("running {cc}"))?;
        if !out.status.success() {
            bail!(
                "{cc} clockshift.c: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    Ok(lib)
}

/// How to launch a node beyond its flags.
#[derive(Clone, Debug, Default)]
pub struct Launch {
    /// Environment variables (e.g. the clock shim's, see [`clockshift_lib`]).
    pub env: Vec<(String, String)>,
    /// A command that runs swfd: its program and arguments (where `{data-dir}` stands for the data
    /// directory), followed by swfd's path and flags (e.g. `unshare -m ...` to give the node a data
    /// directory on a filesystem of its own).
    pub wrapper: Vec<String>,
}

/// One running `swfd` process on its own temporary data directory.
pub struct Swfd {
    child: Option<Child>,
    /// Root temp dir: `data/` is swfd's data dir, `swfd.log` its stderr.
    root: tempfile::TempDir,
    extra_args: Vec<String>,
    /// Environment variables and a wrapper command for the process (see [`Launch`]).
    launch: Launch,
    /// The `--grpc-addr` to pass: port 0 for a lone node, a fixed port for a cluster member (its
    /// address is in the cluster's membership, so it must survive restarts).
    grpc_arg: String,
    http: SocketAddr,
    grpc: SocketAddr,
    admin: SocketAddr,
    http_client: reqwest::Client,
}

impl Swfd {
    /// Starts swfd on a fresh data directory with default options and ephemeral ports.
    pub async fn start() -> Result<Self> {
        Self::start_with(&[]).await
    }

    /// Starts swfd with extra command-line arguments without waiting for it to serve (for a node
    /// that is not expected to, e.g. one whose `--join` must fail).
    pub fn launch_with(args: &[&str]) -> Result<Self> {
        let root = tempfile::Builder::new()
            .prefix("swfd-e2e-")
            .tempdir()
            .context("creating temp dir")?;
        let mut extra_args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        add_peer_tls(&mut extra_args, root.path())?;
        let mut swfd = Swfd {
            child: None,
            root,
            extra_args,
            launch: Launch::default(),
            grpc_arg: "127.0.0.1:0".into(),
            http: ([127, 0, 0, 1], 0).into(),
            grpc: ([127, 0, 0, 1], 0).into(),
            admin: ([127, 0, 0, 1], 0).into(),
            http_client: reqwest::Client::new(),
        };
        swfd.launch()?;
        Ok(swfd)
    }

    /// Starts swfd with extra command-line arguments (e.g. `["--long-poll-secs", "1"]`).
    pub async fn start_with(args: &[&str]) -> Result<Self> {
        Self::start_inner(None, &[], args).await
    }

    /// Starts swfd with auth off whatever `SWF_E2E_AUTH` says (for a test of what a node without
    /// auth does, such as a plaintext gRPC port).
    pub async fn start_without_auth(args: &[&str]) -> Result<Self> {
        Self::start_inner(Some(""), &[], args).await
    }

    /// Starts swfd with auth on: `auth_toml` is written to the configuration file
    /// ([`Swfd::auth_config_path`]) given as `--auth-config`.
    pub async fn start_with_auth(auth_toml: &str, args: &[&str]) -> Result<Self> {
        Self::start_inner(Some(auth_toml), &[], args).await
    }

    /// [`Swfd::start_with_auth`] with more files next to the configuration (name, content), such
    /// as the secret files it names.
    pub async fn start_with_auth_files(
        auth_toml: &str,
        files: &[(&str, &str)],
        args: &[&str],
    ) -> Result<Self> {
        Self::start_inner(Some(auth_toml), files, args).await
    }

    async fn start_inner(
        auth_toml: Option<&str>,
        files: &[(&str, &str)],
        args: &[&str],
    ) -> Result<Self> {
        let root = tempfile::Builder::new()
            .prefix("swfd-e2e-")
            .tempdir()
            .context("creating temp dir")?;
        for (name, text) in files {
            std::fs::write(root.path().join(name), text)
                .with_context(|| format!("writing {name}"))?;
        }
        let mut extra_args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let auth_toml = auth_toml.or((auth_by_default()
            && !extra_args.iter().any(|a| a == "--auth-config"))
        .then_some(sign::ALLOW_ALL));
        // `Some("")`: auth off on purpose.
        if let Some(text) = auth_toml.filter(|t| !t.is_empty()) {
            let path = root.path().join("auth.toml");
            std::fs::write(&path, text).context("writing auth.toml")?;
            extra_args.push("--auth-config".into());
            extra_args.push(path.display().to_string());
        }
        add_peer_tls(&mut extra_args, root.path())?;
        let mut swfd = Swfd {
            child: None,
            root,
            extra_args,
            launch: Launch::default(),
            grpc_arg: "127.0.0.1:0".into(),
            http: ([127, 0, 0, 1], 0).into(),
            grpc: ([127, 0, 0, 1], 0).into(),
            admin: ([127, 0, 0, 1], 0).into(),
            http_client: reqwest::Client::new(),
        };
        swfd.spawn().await?;
        Ok(swfd)
    }

    /// Starts an `n`-node cluster (`--initial-members`, one fixed gRPC port each on 127.0.0.1) and waits
    /// until every node is healthy. Node `i + 1` is the `i`-th element.
    pub async fn start_cluster(n: usize, args: &[&str]) -> Result<Vec<Swfd>> {
        Self::start_cluster_inner(n, args, auth_by_default(), |_, _, _| Ok(()), &[]).await
    }

    /// [`Swfd::start_cluster`] with auth off whatever `SWF_E2E_AUTH` says (for tests of the
    /// plaintext gRPC port).
    pub async fn start_cluster_without_auth(n: usize, args: &[&str]) -> Result<Vec<Swfd>> {
        Self::start_cluster_inner(n, args, false, |_, _, _| Ok(()), &[]).await
    }

    /// [`Swfd::start_cluster`], with `prepare(node id, data dir, member list)` run for each node
    /// before it is launched (e.g. `swfd restore` into its data directory).
    pub async fn start_cluster_prepared(
        n: usize,
        args: &[&str],
        prepare: impl FnMut(u64, &std::path::Path, &str) -> Result<()>,
    ) -> Result<Vec<Swfd>> {
        Self::start_cluster_inner(n, args, auth_by_default(), prepare, &[]).await
    }

    /// [`Swfd::start_cluster`] with how to launch each node: `launch[i]` for node `i + 1` (nodes past
    /// the end of `launch` are launched plainly).
    pub async fn start_cluster_launched(
        n: usize,
        args: &[&str],
        launch: &[Launch],
    ) -> Result<Vec<Swfd>> {
        Self::start_cluster_inner(n, args, auth_by_default(), |_, _, _| Ok(()), launch).await
    }

    /// [`Swfd::start_cluster_launched`] with auth off whatever `SWF_E2E_AUTH` says (for tests that
    /// talk to the gRPC port in plaintext).
    pub async fn start_cluster_launched_without_auth(
        n: usize,
        args: &[&str],
        launch: &[Launch],
    ) -> Result<Vec<Swfd>> {
        Self::start_cluster_inner(n, args, false, |_, _, _| Ok(()), launch).await
    }

    /// [`Swfd::start_cluster_launched`] with auth on whatever `SWF_E2E_AUTH` says (the harness's
    /// allow-all configuration, and mutual TLS between the nodes).
    pub async fn start_cluster_launched_with_auth(
        n: usize,
        args: &[&str],
        launch: &[Launch],
    ) -> Result<Vec<Swfd>> {
        Self::start_cluster_inner(n, args, true, |_, _, _| Ok(()), launch).await
    }

    async fn start_cluster_inner(
        n: usize,
        args: &[&str],
        auth: bool,
        mut prepare: impl FnMut(u64, &std::path::Path, &str) -> Result<()>,
        launch: &[Launch],
    ) -> Result<Vec<Swfd>> {
        // The gRPC ports are picked here (bound to port 0 and let go) and bound again by swfd: another
        // process may take one in between ("Address already in use"). Then start again on new ports.
        let mut attempt = 0;
        loop {
            match Self::start_cluster_once(n, args, auth, &mut prepare, launch).await {
                Err(e) if attempt < 3 && format!("{e:#}").contains("Address already in use") => {
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn start_cluster_once(
        n: usize,
        args: &[&str],
        auth: bool,
        prepare: &mut impl FnMut(u64, &std::path::Path, &str) -> Result<()>,
        launch: &[Launch],
    ) -> Result<Vec<Swfd>> {
        let ports: Vec<u16> = (0..n)
            .map(|_| {
                std::net::TcpListener::bind("127.0.0.1:0")
                    .and_then(|l| l.local_addr())
                    .map(|a| a.port())
            })
            .collect::<std::io::Result<_>>()?;
        let members = ports
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{}=127.0.0.1:{p}", i + 1))
            .collect::<Vec<_>>()
            .join(",");
        let mut nodes = Vec::new();
        for (i, port) in ports.iter().enumerate() {
            let root = tempfile::Builder::new()
                .prefix("swfd-e2e-")
                .tempdir()
                .context("creating temp dir")?;
            let mut extra: Vec<String> = vec![
                "--node-id".into(),
                (i + 1).to_string(),
                "--initial-members".into(),
                members.clone(),
            ];
            extra.extend(args.iter().map(|s| s.to_string()));
            if auth && !extra.iter().any(|a| a == "--auth-config") {
                let path = root.path().join("auth.toml");
                std::fs::write(&path, sign::ALLOW_ALL).context("writing auth.toml")?;
                extra.push("--auth-config".into());
                extra.push(path.display().to_string());
            }
            add_peer_tls(&mut extra, root.path())?;
            let mut node = Swfd {
                child: None,
                root,
                extra_args: extra,
                launch: launch.get(i).cloned().unwrap_or_default(),
                grpc_arg: format!("127.0.0.1:{port}"),
                http: ([127, 0, 0, 1], 0).into(),
                grpc: ([127, 0, 0, 1], 0).into(),
                admin: ([127, 0, 0, 1], 0).into(),
                http_client: reqwest::Client::new(),
            };
            prepare((i + 1) as u64, &node.data_dir(), &members)?;
            // A member is healthy only once a majority runs: start all, then wait.
            node.launch()?;
            nodes.push(node);
        }
        for node in &mut nodes {
            if let Err(e) = node.await_healthy().await {
                let log = node.log();
                return Err(e.context(log));
            }
        }
        Ok(nodes)
    }

    /// This node's view of the cluster (`GET /cluster/status` on the admin listener).
    pub async fn cluster_status(&self) -> Result<serde_json::Value> {
        let (status, body) = self.admin_get("/cluster/status").await?;
        if status != 200 {
            bail!("GET /cluster/status: {status} {body}");
        }
        Ok(body)
    }

    /// `GET path` on the admin listener with the admin token: the status and the body as JSON
    /// (`Null` if it is not JSON).
    pub async fn admin_get(&self, path: &str) -> Result<(u16, serde_json::Value)> {
        let resp = self
            .http_client
            .get(format!("{}{path}", self.admin_endpoint()))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .with_context(|| format!("GET {path} (admin)"))?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await.unwrap_or(serde_json::Value::Null)))
    }

    /// `POST path` with a JSON body on the admin listener with the admin token: the status and the
    /// body as JSON (`Null` if it is not JSON).
    pub async fn admin_post(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<(u16, serde_json::Value)> {
        let resp = self
            .http_client
            .post(format!("{}{path}", self.admin_endpoint()))
            .bearer_auth(ADMIN_TOKEN)
            .json(body)
            .send()
            .await
            .with_context(|| format!("POST {path} (admin)"))?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await.unwrap_or(serde_json::Value::Null)))
    }

    /// The admin token file the node was started with.
    pub fn admin_token_file(&self) -> PathBuf {
        self.root.path().join("admin-token")
    }

    /// The auth configuration file of a swfd started with auth on.
    pub fn auth_config_path(&self) -> PathBuf {
        self.root.path().join("auth.toml")
    }

    /// Replaces the auth configuration file at once (a rename, as a Kubernetes Secret update does);
    /// swfd reads it again within a second or so.
    pub fn write_auth_config(&self, text: &str) -> Result<()> {
        let tmp = self.root.path().join("auth.toml.new");
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, self.auth_config_path())?;
        Ok(())
    }

    /// Sends SIGHUP (swfd reads its auth configuration again).
    pub fn sighup(&self) -> Result<()> {
        self.signal("-HUP")
    }

    /// The data directory swfd runs on (kept across [`Swfd::restart`]).
    pub fn data_dir(&self) -> PathBuf {
        self.root.path().join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.root.path().join("swfd.log")
    }

    /// What swfd has written to stderr so far (all runs of this instance).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    async fn spawn(&mut self) -> Result<()> {
        self.launch()?;
        self.await_healthy().await
    }

    /// Starts the process and reads its `swfd listening` line.
    fn launch(&mut self) -> Result<()> {
        let bin = swfd_bin()?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .context("opening swfd.log")?;
        std::fs::write(self.admin_token_file(), format!("{ADMIN_TOKEN}\n"))
            .context("writing the admin token file")?;
        let mut command = match self.launch.wrapper.split_first() {
            Some((program, rest)) => {
                let dir = self.data_dir().display().to_string();
                let mut c = Command::new(program);
                c.args(rest.iter().map(|a| a.replace("{data-dir}", &dir)))
                    .arg(&bin);
                c
            }
            None => Command::new(&bin),
        };
        let mut child = command
            .arg("--data-dir")
            .arg(self.data_dir())
            .args(["--http-addr", "127.0.0.1:0", "--grpc-addr", &self.grpc_arg])
            .args(["--admin-addr", "127.0.0.1:0", "--admin-token-file"])
            .arg(self.admin_token_file())
            .args(&self.extra_args)
            .envs(self.launch.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("spawning {}", bin.display()))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        self.child = Some(child);
        let listening = match read_listening_line(stdout) {
            Ok(addrs) => addrs,
            Err(e) => {
                let status = self.kill9();
                bail!(
                    "swfd did not announce its listeners ({e:#}); exit: {status:?}\n--- swfd log ---\n{}",
                    self.log()
                );
            }
        };
        self.http = listening.http;
        self.grpc = listening.grpc;
        self.admin = listening.admin;
        Ok(())
    }

    /// Waits for `GET /health` (on the admin listener, plaintext whatever the SWF endpoint speaks)
    /// to answer 200.
    async fn await_healthy(&mut self) -> Result<()> {
        if let Err(e) = self.wait_healthy().await {
            let status = self.kill9();
            bail!(
                "swfd did not become healthy ({e:#}); exit: {status:?}\n--- swfd log ---\n{}",
                self.log()
            );
        }
        Ok(())
    }

    async fn wait_healthy(&mut self) -> Result<()> {
        let url = format!("{}/health", self.admin_endpoint());
        let client = self.http_client.clone();
        let end = Instant::now() + STARTUP_DEADLINE;
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                bail!("swfd exited early with {status}");
            }
            if let Ok(resp) = client.get(&url).send().await {
                if resp.status() == reqwest::StatusCode::OK {
                    return Ok(());
                }
            }
            if Instant::now() >= end {
                bail!("GET /health did not answer 200 within {STARTUP_DEADLINE:?}");
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// `http://127.0.0.1:PORT` of the SWF (HTTP) listener.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.http)
    }

    /// The bound HTTP address.
    pub fn http_addr(&self) -> SocketAddr {
        self.http
    }

    /// `http://127.0.0.1:PORT` of the admin listener.
    pub fn admin_endpoint(&self) -> String {
        format!("http://{}", self.admin)
    }

    /// The bound admin address.
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin
    }

    /// The bound gRPC address.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc
    }

    /// The process id of the running swfd, if any.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// An SWF client for this server (region us-east-1, dummy static credentials).
    pub fn client(&self) -> Client {
        client_for(&self.endpoint())
    }

    /// A plain HTTP client, for raw-protocol tests.
    pub fn http(&self) -> &reqwest::Client {
        &self.http_client
    }

    /// Sends one raw AWS JSON 1.0 call: `POST /` with `X-Amz-Target: SimpleWorkflowService.<action>`.
    /// Returns the status and the body parsed as JSON (`Null` for an empty body).
    pub async fn raw_call(
        &self,
        action: &str,
        body: impl Into<reqwest::Body>,
    ) -> Result<(u16, serde_json::Value)> {
        let body: reqwest::Body = body.into();
        let bytes = body.as_bytes().map(<[u8]>::to_vec).unwrap_or_default();
        // Signed as the SDK signs (harmless when auth is off).
        let resp = signed_post(
            &self.http_client,
            &self.endpoint(),
            &format!("{TARGET_PREFIX}{action}"),
            bytes,
        )
        .await
        .with_context(|| format!("POST {action}"))?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await?;
        let json = if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes).with_context(|| {
                format!(
                    "{action}: response is not JSON: {}",
                    String::from_utf8_lossy(&bytes)
                )
            })?
        };
        Ok((status, json))
    }

    /// Kills the process with SIGKILL and reaps it; the data directory stays.
    pub fn kill9(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let _ = child.kill();
        child.wait().ok()
    }

    /// Freezes the process with SIGSTOP (it keeps its sockets: peers see a node that does not answer).
    pub fn pause(&self) -> Result<()> {
        self.signal("-STOP")
    }

    /// Resumes a process frozen by [`Swfd::pause`] with SIGCONT.
    pub fn resume(&self) -> Result<()> {
        self.signal("-CONT")
    }

    fn signal(&self, sig: &str) -> Result<()> {
        let pid = self.pid().context("swfd is not running")?;
        let status = Command::new("kill")
            .args([sig, &pid.to_string()])
            .status()
            .with_context(|| format!("running kill {sig}"))?;
        if !status.success() {
            bail!("kill {sig} {pid} failed");
        }
        Ok(())
    }

    /// Waits (up to `deadline`) for the process to exit by itself (e.g. one that refuses to start).
    pub async fn wait_exit(&mut self, deadline: Duration) -> Result<ExitStatus> {
        let end = Instant::now() + deadline;
        loop {
            let child = self.child.as_mut().context("swfd is not running")?;
            if let Some(status) = child.try_wait()? {
                self.child = None;
                return Ok(status);
            }
            if Instant::now() >= end {
                bail!("swfd did not exit within {deadline:?}");
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Sends SIGTERM and waits (up to `deadline`) for the process to exit.
    pub async fn terminate(&mut self, deadline: Duration) -> Result<ExitStatus> {
        let pid = self.pid().context("swfd is not running")?;
        let status = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .context("running kill -TERM")?;
        if !status.success() {
            bail!("kill -TERM {pid} failed");
        }
        self.wait_exit(deadline).await.context("after SIGTERM")
    }

    /// Sets (or with `None` removes) an environment variable of the process from its next start on.
    pub fn set_env(&mut self, key: &str, value: Option<&str>) {
        self.launch.env.retain(|(k, _)| k != key);
        if let Some(v) = value {
            self.launch.env.push((key.into(), v.into()));
        }
    }

    /// Starts swfd again on the same data directory (SIGKILL first if running) without waiting for it
    /// to be healthy: for a node that is not expected to serve (e.g. one whose quorum is gone).
    pub fn relaunch(&mut self) -> Result<()> {
        self.kill9();
        self.launch()
    }

    /// Waits (up to the startup deadline) for `GET /health` to answer 200; kills swfd if it does not.
    pub async fn wait_until_healthy(&mut self) -> Result<()> {
        self.await_healthy().await
    }

    /// Restarts swfd on the same data directory with new ephemeral ports (SIGKILL first if running).
    /// Clients made before must be replaced: the ports change.
    pub async fn restart(&mut self) -> Result<()> {
        self.kill9();
        self.spawn().await
    }
}

impl Drop for Swfd {
    /// Kills swfd and removes its directory. The tail of its log goes to stderr, which the test
    /// harness captures and shows only for a failing test (a test returning `Err` included).
    fn drop(&mut self) {
        self.kill9();
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(60)..].join("\n");
        eprintln!("--- swfd log (last 60 lines) ---\n{tail}");
        // SWF_E2E_LOG_DIR=dir keeps every swfd's whole log there (for a failure whose cause is
        // further back than the tail).
        if let Some(dir) = std::env::var_os("SWF_E2E_LOG_DIR") {
            let name = self.root.path().file_name().unwrap_or_default().to_owned();
            let kept = std::path::Path::new(&dir).join(name).with_extension("log");
            if std::fs::create_dir_all(&dir).is_ok() && std::fs::write(&kept, &log).is_ok() {
                eprintln!("--- swfd log kept in {}", kept.display());
            }
        }
    }
}

/// The addresses swfd announces it listens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listening {
    pub http: SocketAddr,
    pub grpc: SocketAddr,
    pub admin: SocketAddr,
}

/// Reads swfd's stdout until `swfd listening http=IP:PORT grpc=IP:PORT admin=IP:PORT`, then keeps
/// draining it in the background so the process never blocks on a full pipe.
fn read_listening_line(stdout: impl Read + Send + 'static) -> Result<Listening> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let mut tx = Some(tx);
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if line.starts_with("swfd listening ") {
                        if let Some(tx) = tx.take() {
                            let _ = tx.send(parse_listening_line(line.trim_end()));
                        }
                    }
                }
            }
        }
        if let Some(tx) = tx {
            let _ = tx.send(Err(anyhow!(
                "stdout closed before the `swfd listening` line"
            )));
        }
    });
    rx.recv_timeout(STARTUP_DEADLINE)
        .map_err(|_| anyhow!("no `swfd listening` line within {STARTUP_DEADLINE:?}"))?
}

/// Parses `swfd listening http=IP:PORT grpc=IP:PORT admin=IP:PORT`.
pub fn parse_listening_line(line: &str) -> Result<Listening> {
    let rest = line
        .strip_prefix("swfd listening ")
        .with_context(|| format!("not a listening line: {line:?}"))?;
    let (mut http, mut grpc, mut admin) = (None, None, None);
    for part in rest.split_whitespace() {
        if let Some(v) = part.strip_prefix("admin=") {
            admin = Some(
                v.parse::<SocketAddr>()
                    .with_context(|| format!("bad admin address {v:?}"))?,
            );
        }
        if let Some(v) = part.strip_prefix("http=") {
            http = Some(
                v.parse::<SocketAddr>()
                    .with_context(|| format!("bad http address {v:?}"))?,
            );
        } else if let Some(v) = part.strip_prefix("grpc=") {
            grpc = Some(
                v.parse::<SocketAddr>()
                    .with_context(|| format!("bad grpc address {v:?}"))?,
            );
        }
    }
    match (http, grpc, admin) {
        (Some(http), Some(grpc), Some(admin)) => Ok(Listening { http, grpc, admin }),
        _ => bail!("listening line lacks http=, grpc= or admin=: {line:?}"),
    }
}

/// `POST /` of one AWS JSON 1.0 call to `endpoint` (`http://HOST:PORT`) with `X-Amz-Target: target`,
/// signed as the harness's SDK clients sign (for `states` when the target is a Step Functions one;
/// harmless when auth is off).
pub async fn signed_post(
    http: &reqwest::Client,
    endpoint: &str,
    target: &str,
    body: Vec<u8>,
) -> reqwest::Result<reqwest::Response> {
    signed_post_with(http, endpoint, target, body, &[]).await
}

/// [`signed_post`] with more header fields, sent unsigned (e.g. `amz-sdk-invocation-id`).
pub async fn signed_post_with(
    http: &reqwest::Client,
    endpoint: &str,
    target: &str,
    body: Vec<u8>,
    extra: &[(&str, &str)],
) -> reqwest::Result<reqwest::Response> {
    let endpoint = endpoint.trim_end_matches('/');
    let host = endpoint.strip_prefix("http://").unwrap_or(endpoint);
    let headers = vec![
        ("host".to_string(), host.to_string()),
        ("content-type".to_string(), AMZ_JSON.to_string()),
        ("x-amz-target".to_string(), target.to_string()),
    ];
    let mut signer = sign::Signer::e2e();
    if target.starts_with("AWSStepFunctions.") {
        signer.service = "states".into();
    }
    let mut req = http
        .post(format!("{endpoint}/"))
        .header("X-Amz-Target", target)
        .header("Content-Type", AMZ_JSON);
    for (n, v) in signer.sign(&headers, &body) {
        req = req.header(n, v);
    }
    for (n, v) in extra {
        req = req.header(*n, *v);
    }
    req.body(body).send().await
}

/// The head of a raw `POST /` AWS JSON 1.0 call (request line and header fields, ending with the
/// blank line) for `host`, `target` and `body`, signed as the harness's clients sign (harmless when
/// auth is off): for tests that write requests to a socket themselves. `extra` header lines (each
/// ending with `\r\n`) are added unsigned.
pub fn raw_head(host: &str, target: &str, body: &[u8], extra: &str) -> String {
    let headers = vec![
        ("host".to_string(), host.to_string()),
        ("content-type".to_string(), AMZ_JSON.to_string()),
        ("x-amz-target".to_string(), target.to_string()),
    ];
    let mut signer = sign::Signer::e2e();
    if target.starts_with("AWSStepFunctions.") {
        signer.service = "states".into();
    }
    let mut head = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nX-Amz-Target: {target}\r\nContent-Type: {AMZ_JSON}\r\n\
         Content-Length: {}\r\n",
        body.len()
    );
    for (n, v) in signer.sign(&headers, body) {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str(extra);
    head.push_str("\r\n");
    head
}

/// An SWF client for `endpoint` with region us-east-1 and dummy static credentials.
pub fn client_for(endpoint: &str) -> Client {
    client_with_keys(endpoint, sign::E2E_KEY, sign::E2E_SECRET, None)
}

/// An SWF client for `endpoint` signing with these keys (a temporary key has a session token).
pub fn client_with_keys(endpoint: &str, key: &str, secret: &str, token: Option<&str>) -> Client {
    let config = aws_sdk_swf::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            key,
            secret,
            token.map(str::to_string),
            None,
            "swf-e2e",
        ));
    // The app name carries the endpoint so helpers given only a client can reach the server directly.
    let config = match endpoint_app_name(endpoint) {
        Some(name) => config.app_name(name),
        None => config,
    };
    Client::from_conf(config.build())
}

const APP_NAME_PREFIX: &str = "swf-e2e_";

/// `http://HOST:PORT` as an app name (`swf-e2e_HOST_PORT`); app names allow no `:` or `/`.
fn endpoint_app_name(endpoint: &str) -> Option<aws_sdk_swf::config::AppName> {
    let hostport = endpoint.strip_prefix("http://")?.trim_end_matches('/');
    aws_sdk_swf::config::AppName::new(format!("{APP_NAME_PREFIX}{}", hostport.replace(':', "_")))
        .ok()
}

/// The endpoint a client made by [`client_for`] talks to.
pub fn client_endpoint(client: &Client) -> Option<String> {
    let name = client.config().app_name()?.to_string();
    let hostport = name.strip_prefix(APP_NAME_PREFIX)?;
    let (host, port) = hostport.rsplit_once('_')?;
    Some(format!("http://{host}:{port}"))
}

/// Names used by [`setup_domain`]: one workflow type and one activity type in a domain, with defaults.
#[derive(Clone, Debug)]
pub struct Fixture {
    pub domain: String,
    pub workflow_type: WorkflowType,
    pub activity_type: ActivityType,
    pub decision_list: String,
    pub activity_list: String,
}

impl Fixture {
    pub fn decision_task_list(&self) -> TaskList {
        task_list(&self.decision_list)
    }

    pub fn activity_task_list(&self) -> TaskList {
        task_list(&self.activity_list)
    }
}

/// A [`TaskList`] named `name`.
pub fn task_list(name: &str) -> TaskList {
    TaskList::builder().name(name).build().expect("name is set")
}

/// Registers `domain` plus workflow type `wf`/`1` and activity type `greet`/`1`, both with default task
/// lists and timeouts, so that executions and activities can be started without extra options.
pub async fn setup_domain(client: &Client, domain: &str) -> Result<Fixture> {
    let fx = Fixture {
        domain: domain.to_string(),
        workflow_type: WorkflowType::builder().name("wf").version("1").build()?,
        activity_type: ActivityType::builder().name("greet").version("1").build()?,
        decision_list: format!("{domain}-decisions"),
        activity_list: format!("{domain}-activities"),
    };
    client
        .register_domain()
        .name(domain)
        .workflow_execution_retention_period_in_days("1")
        .send()
        .await
        .context("RegisterDomain")?;
    client
        .register_workflow_type()
        .domain(domain)
        .name(fx.workflow_type.name())
        .version(fx.workflow_type.version())
        .default_task_list(fx.decision_task_list())
        .default_execution_start_to_close_timeout("3600")
        .default_task_start_to_close_timeout("60")
        .default_child_policy(aws_sdk_swf::types::ChildPolicy::Terminate)
        .send()
        .await
        .context("RegisterWorkflowType")?;
    client
        .register_activity_type()
        .domain(domain)
        .name(fx.activity_type.name())
        .version(fx.activity_type.version())
        .default_task_list(fx.activity_task_list())
        .default_task_schedule_to_start_timeout("600")
        .default_task_start_to_close_timeout("600")
        .default_task_schedule_to_close_timeout("1200")
        .default_task_heartbeat_timeout("600")
        .send()
        .await
        .context("RegisterActivityType")?;
    Ok(fx)
}

/// Starts an execution of the fixture's workflow type with `input`; returns the execution.
pub async fn start_execution(
    client: &Client,
    fx: &Fixture,
    workflow_id: &str,
    input: &str,
) -> Result<WorkflowExecution> {
    let out = client
        .start_workflow_execution()
        .domain(&fx.domain)
        .workflow_id(workflow_id)
        .workflow_type(fx.workflow_type.clone())
        .input(input)
        .send()
        .await
        .context("StartWorkflowExecution")?;
    let run_id = out
        .run_id()
        .context("StartWorkflowExecution returned no runId")?;
    Ok(WorkflowExecution::builder()
        .workflow_id(workflow_id)
        .run_id(run_id)
        .build()?)
}

/// A ScheduleActivityTask decision for the fixture's activity type (defaults from the type).
pub fn schedule_activity(fx: &Fixture, activity_id: &str, input: &str) -> Decision {
    Decision::builder()
        .decision_type(DecisionType::ScheduleActivityTask)
        .schedule_activity_task_decision_attributes(
            ScheduleActivityTaskDecisionAttributes::builder()
                .activity_id(activity_id)
                .activity_type(fx.activity_type.clone())
                .input(input)
                .build()
                .expect("required members set"),
        )
        .build()
        .expect("decision type set")
}

/// The whole history of an execution, following nextPageToken.
pub async fn full_history(
    client: &Client,
    domain: &str,
    execution: &WorkflowExecution,
) -> Result<Vec<HistoryEvent>> {
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = client
            .get_workflow_execution_history()
            .domain(domain)
            .execution(execution.clone())
            .set_next_page_token(token.clone())
            .send()
            .await
            .context("GetWorkflowExecutionHistory")?;
        events.extend_from_slice(out.events());
        match out.next_page_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    if let Some(endpoint) = client_endpoint(client) {
        assert_valid_history(&endpoint, domain, execution).await?;
    }
    Ok(events)
}

/// Fetches a history as raw SWF JSON and checks it with the project's history validator
/// (`swf_core::validate`): every history an end-to-end test reads is checked this way.
pub async fn assert_valid_history(
    endpoint: &str,
    domain: &str,
    execution: &WorkflowExecution,
) -> Result<()> {
    let http = reqwest::Client::new();
    let mut events: Vec<swf_types::shapes::HistoryEvent> = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut body = serde_json::json!({
            "domain": domain,
            "execution": { "workflowId": execution.workflow_id(), "runId": execution.run_id() },
        });
        if let Some(t) = &token {
            body["nextPageToken"] = serde_json::Value::String(t.clone());
        }
        let page: serde_json::Value = signed_post(
            &http,
            endpoint,
            &format!("{TARGET_PREFIX}GetWorkflowExecutionHistory"),
            body.to_string().into_bytes(),
        )
        .await?
        .json()
        .await?;
        let batch: Vec<swf_types::shapes::HistoryEvent> =
            serde_json::from_value(page["events"].clone())
                .context("history events parse as the model's HistoryEvent")?;
        events.extend(batch);
        match page["nextPageToken"].as_str() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    let violations = swf_core::validate::validate_history(&events);
    if !violations.is_empty() {
        bail!(
            "history of {} breaks the rules: {violations:?}",
            execution.workflow_id()
        );
    }
    Ok(())
}

/// The event types of `events`, in order.
pub fn event_types(events: &[HistoryEvent]) -> Vec<EventType> {
    events.iter().map(|e| e.event_type().clone()).collect()
}

/// The service error (fault) of a call that must fail; panics on success or a transport error.
pub fn service_error<T, E, R>(res: Result<T, SdkError<E, R>>) -> E
where
    T: std::fmt::Debug,
    E: std::fmt::Debug,
    R: std::fmt::Debug,
{
    match res {
        Ok(v) => panic!("expected a fault, got Ok({v:?})"),
        Err(SdkError::ServiceError(e)) => e.into_err(),
        Err(other) => panic!("expected a service error, got {other:?}"),
    }
}

/// A CompleteWorkflowExecution decision with `result`.
pub fn complete_workflow(result: &str) -> Decision {
    Decision::builder()
        .decision_type(DecisionType::CompleteWorkflowExecution)
        .complete_workflow_execution_decision_attributes(
            aws_sdk_swf::types::CompleteWorkflowExecutionDecisionAttributes::builder()
                .result(result)
                .build(),
        )
        .build()
        .expect("decision type set")
}

/// Polls the fixture's decision task list once (returns at once when a task is ready).
pub async fn poll_decision(
    client: &Client,
    fx: &Fixture,
) -> Result<aws_sdk_swf::operation::poll_for_decision_task::PollForDecisionTaskOutput> {
    client
        .poll_for_decision_task()
        .domain(&fx.domain)
        .task_list(fx.decision_task_list())
        .identity("e2e-decider")
        .send()
        .await
        .context("PollForDecisionTask")
}

/// Polls the fixture's activity task list once (returns at once when a task is ready).
pub async fn poll_activity(
    client: &Client,
    fx: &Fixture,
) -> Result<aws_sdk_swf::operation::poll_for_activity_task::PollForActivityTaskOutput> {
    client
        .poll_for_activity_task()
        .domain(&fx.domain)
        .task_list(fx.activity_task_list())
        .identity("e2e-worker")
        .send()
        .await
        .context("PollForActivityTask")
}

/// Polls every node's `/cluster/status` until all live ones agree on a leader other than `not`;
/// returns its id.
pub async fn agreed_leader(nodes: &[&Swfd], not: Option<u64>) -> Result<u64> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let mut leaders = Vec::new();
        for n in nodes {
            let s: serde_json::Value = n.cluster_status().await?;
            leaders.push(s["leader_id"].as_u64());
        }
        if let Some(Some(l)) = leaders.first() {
            if Some(*l) != not && leaders.iter().all(|x| *x == Some(*l)) {
                return Ok(*l);
            }
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "no agreed leader: {leaders:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_know_their_endpoint() {
        let client = client_for("http://127.0.0.1:41337");
        assert_eq!(
            client_endpoint(&client).as_deref(),
            Some("http://127.0.0.1:41337")
        );
    }

    #[test]
    fn parses_the_listening_line() {
        let l = parse_listening_line(
            "swfd listening http=127.0.0.1:40001 grpc=127.0.0.1:40002 admin=127.0.0.1:40003",
        )
        .unwrap();
        assert_eq!(l.http, "127.0.0.1:40001".parse().unwrap());
        assert_eq!(l.grpc, "127.0.0.1:40002".parse().unwrap());
        assert_eq!(l.admin, "127.0.0.1:40003".parse().unwrap());
        assert!(
            parse_listening_line("swfd listening http=127.0.0.1:40001 grpc=127.0.0.1:40002")
                .is_err()
        );
        assert!(parse_listening_line("swfd listening http=127.0.0.1:1").is_err());
        assert!(parse_listening_line("hello").is_err());
    }

    #[test]
    fn profile_dir_is_the_parent_of_deps() {
        let dir = profile_dir().unwrap();
        assert_ne!(dir.file_name().unwrap(), "deps");
        assert!(dir.join("deps").is_dir(), "{}", dir.display());
    }
}
