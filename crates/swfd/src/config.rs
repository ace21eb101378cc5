//! Configuration of swfd: command-line flags, each also settable by an environment variable
//! (`SWFD_<FLAG>`), over an optional TOML file (`--config`, kebab-case keys), over defaults.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use serde::Deserialize;
use swf_node::NodeConfig;

/// Command-line flags. Unset flags fall back to the config file, then to the defaults.
#[derive(Debug, Parser)]
#[command(
    name = "swfd",
    version,
    about = "An Amazon SWF-compatible workflow service on Raft and RocksDB"
)]
pub struct Args {
    /// Without a subcommand, swfd runs a node.
    #[command(subcommand)]
    pub command: Option<crate::admin::Command>,
    /// TOML configuration file.
    #[arg(long, env = "SWFD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Directory for the Raft log and state (default ./swfd-data).
    #[arg(long, env = "SWFD_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address of the SWF JSON endpoint (default 127.0.0.1:7950).
    #[arg(long, env = "SWFD_HTTP_ADDR")]
    pub http_addr: Option<String>,
    /// Address of the internal gRPC endpoint (default 127.0.0.1:7951).
    #[arg(long, env = "SWFD_GRPC_ADDR")]
    pub grpc_addr: Option<String>,
    /// This node's Raft id (default 1).
    #[arg(long, env = "SWFD_NODE_ID")]
    pub node_id: Option<u64>,
    /// Seconds a long poll is held before an empty answer (default 55; clients time out at 60).
    #[arg(long, env = "SWFD_LONG_POLL_SECS")]
    pub long_poll_secs: Option<u64>,
    /// Members of a new cluster, `ID=HOST:PORT` (their gRPC addresses) separated by commas, this node
    /// included. Used only on a node's first start; a restart never re-initialises.
    #[arg(long, env = "SWFD_INITIAL_MEMBERS")]
    pub initial_members: Option<String>,
    /// The gRPC address other nodes reach this one at, when it differs from --grpc-addr (e.g. a pod's
    /// DNS name while binding 0.0.0.0). Used when joining.
    #[arg(long, env = "SWFD_GRPC_ADVERTISE_ADDR")]
    pub grpc_advertise_addr: Option<String>,
    /// Join a running cluster through this member's admin endpoint (e.g. http://10.0.0.1:7952) instead
    /// of initialising a new one: the node asks to be added (with the admin token of
    /// --admin-token-file) and is promoted to voter once caught up. Several endpoints, separated by
    /// commas, are tried in turn.
    #[arg(long, env = "SWFD_JOIN")]
    pub join: Option<String>,
    /// PEM CA certificate(s) to trust for an https:// --join endpoint: the CA of the other nodes'
    /// --admin-tls-cert, when it is a private one (the system's roots are trusted besides).
    #[arg(long, env = "SWFD_ADMIN_CA")]
    pub admin_ca: Option<PathBuf>,
    /// Snapshot the state (and purge the log behind it) every N applied entries (default 20000).
    #[arg(long, env = "SWFD_SNAPSHOT_EVERY")]
    pub snapshot_every: Option<u64>,
    /// Events one history may hold; reaching it terminates the execution (default 25000, SWF's limit).
    #[arg(long, env = "SWFD_MAX_HISTORY_EVENTS")]
    pub max_history_events: Option<usize>,
    /// Pollers that may wait on one task list at once; more get LimitExceededFault (default 1000).
    #[arg(long, env = "SWFD_MAX_POLLERS_PER_TASK_LIST")]
    pub max_pollers_per_task_list: Option<usize>,
    /// Step Functions activities that may exist; past it CreateActivity answers ActivityLimitExceeded
    /// (default 10000, AWS's quota).
    #[arg(long, env = "SWFD_SFN_MAX_ACTIVITIES")]
    pub sfn_max_activities: Option<usize>,
    /// Step Functions state machines that may exist; past it CreateStateMachine answers
    /// StateMachineLimitExceeded (default 10000, AWS's quota).
    #[arg(long, env = "SWFD_SFN_MAX_STATE_MACHINES")]
    pub sfn_max_state_machines: Option<usize>,
    /// Step Functions executions that may be open at once; past it StartExecution answers
    /// ExecutionLimitExceeded (default 1000000, AWS's quota).
    #[arg(long, env = "SWFD_SFN_MAX_OPEN_EXECUTIONS")]
    pub sfn_max_open_executions: Option<usize>,
    /// Region used in domain ARNs (default us-east-1).
    #[arg(long, env = "SWFD_REGION")]
    pub region: Option<String>,
    /// Account id used in domain ARNs (default 000000000000).
    #[arg(long, env = "SWFD_ACCOUNT_ID")]
    pub account_id: Option<String>,
    /// Seconds a node being added may take to catch up with the log before the add is given up and
    /// the node removed again (default 60); it becomes a voter only once caught up.
    #[arg(long, env = "SWFD_MEMBER_CATCH_UP_SECS")]
    pub member_catch_up_secs: Option<u64>,
    /// MiB that must stay free on the data directory's filesystem (default 64; 0: no check). Below it
    /// the node refuses writes (ServiceUnavailable, retryable), hands leadership away and stops taking
    /// log entries, until space is freed (see docs/operations.md, "Full disk").
    #[arg(long, env = "SWFD_MIN_FREE_DISK_MB")]
    pub min_free_disk_mb: Option<u64>,
    /// The highest apply version this node offers the cluster (default: the highest this build
    /// knows). The cluster moves to a version once every member offers it; give the previous one
    /// during an upgrade to keep the old rules, and the way back to the old release open, until the
    /// new release is trusted (docs/operations.md, "Upgrades and the data format").
    #[arg(long, env = "SWFD_MAX_APPLY_VERSION")]
    pub max_apply_version: Option<u32>,
    /// Seconds after SIGTERM/SIGINT within which swfd exits, whatever is still in flight (default 20;
    /// Kubernetes waits 30 by default before it kills).
    #[arg(long, env = "SWFD_SHUTDOWN_GRACE_SECS")]
    pub shutdown_grace_secs: Option<u64>,
    /// The auth configuration (TOML: principals, their keys and IAM policies; see docs/security.md).
    /// With it every SWF and Step Functions call must be signed (SigV4) by a principal whose policies
    /// allow it; it is read again when it changes and on SIGHUP. Without it anyone may call anything.
    #[arg(long, env = "SWFD_AUTH_CONFIG")]
    pub auth_config: Option<PathBuf>,
    /// Address of the admin API (`/cluster/...`, plus `/health` and `/ready`), a listener of its own
    /// (default 127.0.0.1:7952).
    #[arg(long, env = "SWFD_ADMIN_ADDR")]
    pub admin_addr: Option<String>,
    /// File holding the admin bearer token (first line, at least 16 characters; re-read when it
    /// changes). Default <data-dir>/admin-token, created with a random token if missing.
    #[arg(long, env = "SWFD_ADMIN_TOKEN_FILE")]
    pub admin_token_file: Option<PathBuf>,
    /// PEM certificate chain of the SWF endpoint: with --tls-key, the SWF endpoint speaks TLS only.
    /// Reloaded when the file changes and on SIGHUP.
    #[arg(long, env = "SWFD_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "SWFD_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// PEM certificate chain of the admin listener: with --admin-tls-key, the admin API speaks TLS
    /// only (it may be the same files as --tls-cert / --tls-key). Reloaded like --tls-cert.
    #[arg(long, env = "SWFD_ADMIN_TLS_CERT")]
    pub admin_tls_cert: Option<PathBuf>,
    /// PEM private key of --admin-tls-cert.
    #[arg(long, env = "SWFD_ADMIN_TLS_KEY")]
    pub admin_tls_key: Option<PathBuf>,
    /// PEM file of the cluster CA: with --peer-cert, --peer-key and --peer-allowed-names, the gRPC port
    /// and every connection to a peer use mutual TLS. Reloaded when the files change and on SIGHUP.
    #[arg(long, env = "SWFD_PEER_CA")]
    pub peer_ca: Option<PathBuf>,
    /// PEM certificate chain of this node, from the cluster CA (presented to peers both ways).
    #[arg(long, env = "SWFD_PEER_CERT")]
    pub peer_cert: Option<PathBuf>,
    /// PEM private key of --peer-cert.
    #[arg(long, env = "SWFD_PEER_KEY")]
    pub peer_key: Option<PathBuf>,
    /// Names a peer's certificate must be valid for (one of them), separated by commas, e.g.
    /// `swfd-peer` or `*.swfd.default.svc.cluster.local`.
    #[arg(long, env = "SWFD_PEER_ALLOWED_NAMES")]
    pub peer_allowed_names: Option<String>,
    /// Most client connections open at once on the SWF endpoint (and, separately, the admin one);
    /// past it new connections are closed at once (default 20000).
    #[arg(long, env = "SWFD_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Seconds a client connection may stay idle between requests before it is closed (default 120).
    #[arg(long, env = "SWFD_IDLE_TIMEOUT_SECS")]
    pub idle_timeout_secs: Option<u64>,
    /// Seconds writing one response may take before the connection is dropped (default 30).
    #[arg(long, env = "SWFD_WRITE_TIMEOUT_SECS")]
    pub write_timeout_secs: Option<u64>,
    /// Seconds a request may take to arrive once begun, head and body (default 60); past it: 408.
    #[arg(long, env = "SWFD_REQUEST_TIMEOUT_SECS")]
    pub request_timeout_secs: Option<u64>,
    /// Log format: `text` (default, for people) or `json` (one JSON object per line, for log
    /// shippers; a call's lines carry its request id in `span.request_id`).
    #[arg(long, env = "SWFD_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Calls slower than this many milliseconds (long-poll wait excluded) are logged at WARN with
    /// where the time went: forward, queue, commit, apply (default 1000; 0 logs every call).
    #[arg(long, env = "SWFD_SLOW_CALL_MS")]
    pub slow_call_ms: Option<u64>,
    /// Serve `GET /metrics` on the admin listener without the admin token. By default a scrape
    /// needs it, as every admin route but /health and /ready (Prometheus: `bearer_token_file`).
    #[arg(long, env = "SWFD_METRICS_OPEN")]
    pub metrics_open: bool,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line (tracing-subscriber's JSON format).
    Json,
}

/// The TOML file: the same settings, kebab-case.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub http_addr: Option<String>,
    pub grpc_addr: Option<String>,
    pub node_id: Option<u64>,
    pub long_poll_secs: Option<u64>,
    pub max_history_events: Option<usize>,
    pub max_pollers_per_task_list: Option<usize>,
    pub sfn_max_activities: Option<usize>,
    pub sfn_max_state_machines: Option<usize>,
    pub sfn_max_open_executions: Option<usize>,
    pub initial_members: Option<String>,
    pub snapshot_every: Option<u64>,
    pub region: Option<String>,
    pub account_id: Option<String>,
    pub member_catch_up_secs: Option<u64>,
    pub min_free_disk_mb: Option<u64>,
    pub max_apply_version: Option<u32>,
    pub shutdown_grace_secs: Option<u64>,
    pub auth_config: Option<PathBuf>,
    pub admin_addr: Option<String>,
    pub admin_token_file: Option<PathBuf>,
    pub admin_ca: Option<PathBuf>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub admin_tls_cert: Option<PathBuf>,
    pub admin_tls_key: Option<PathBuf>,
    pub peer_ca: Option<PathBuf>,
    pub peer_cert: Option<PathBuf>,
    pub peer_key: Option<PathBuf>,
    pub peer_allowed_names: Option<String>,
    pub max_connections: Option<usize>,
    pub idle_timeout_secs: Option<u64>,
    pub write_timeout_secs: Option<u64>,
    pub request_timeout_secs: Option<u64>,
    pub log_format: Option<LogFormat>,
    pub slow_call_ms: Option<u64>,
    pub metrics_open: Option<bool>,
}

/// The resolved settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub http_addr: String,
    pub grpc_addr: String,
    pub node_id: u64,
    pub long_poll: Duration,
    pub max_history_events: usize,
    pub max_pollers_per_task_list: usize,
    pub sfn_max_activities: usize,
    pub sfn_max_state_machines: usize,
    pub sfn_max_open_executions: usize,
    pub initial_members: Option<BTreeMap<u64, String>>,
    pub join: Option<String>,
    pub grpc_advertise_addr: Option<String>,
    pub snapshot_every: u64,
    pub region: String,
    pub account_id: String,
    pub member_catch_up: Duration,
    /// Bytes that must stay free in the data directory (0: no check).
    pub min_free_disk: u64,
    /// The highest apply version this node offers (`swf_core::apply_version`).
    pub max_apply_version: u32,
    pub shutdown_grace: Duration,
    pub auth_config: Option<PathBuf>,
    pub admin_addr: String,
    /// `None`: `<data-dir>/admin-token`, created if missing.
    pub admin_token_file: Option<PathBuf>,
    /// The CA trusted for an https:// `--join` endpoint besides the system's roots.
    pub admin_ca: Option<PathBuf>,
    /// TLS on the SWF endpoint: (certificate chain, key).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// TLS on the admin listener: (certificate chain, key).
    pub admin_tls: Option<(PathBuf, PathBuf)>,
    /// Mutual TLS between nodes.
    pub peer_tls: Option<swf_node::peer_tls::PeerTlsFiles>,
    pub max_connections: usize,
    pub timeouts: swf_gateway::Timeouts,
    pub log_format: LogFormat,
    /// Calls slower than this are logged (`swf_node::call_timing`).
    pub slow_call: Duration,
    /// `GET /metrics` without the admin token.
    pub metrics_open: bool,
}

impl Settings {
    /// Flags (and environment) over the file over the defaults, checked.
    pub fn resolve(args: &Args) -> anyhow::Result<Settings> {
        let settings = Settings::resolve_unchecked(args)?;
        settings.validate()?;
        Ok(settings)
    }

    /// Flags (and environment) over the file over the defaults, without the checks of `problems`.
    pub fn resolve_unchecked(args: &Args) -> anyhow::Result<Settings> {
        let file = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let defaults = NodeConfig::default().limits;
        let tls = match (
            args.tls_cert.clone().or(file.tls_cert),
            args.tls_key.clone().or(file.tls_key),
        ) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            _ => anyhow::bail!("tls-cert and tls-key go together"),
        };
        let admin_tls = match (
            args.admin_tls_cert.clone().or(file.admin_tls_cert),
            args.admin_tls_key.clone().or(file.admin_tls_key),
        ) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            _ => anyhow::bail!("admin-tls-cert and admin-tls-key go together"),
        };
        let peer_tls = match (
            args.peer_ca.clone().or(file.peer_ca),
            args.peer_cert.clone().or(file.peer_cert),
            args.peer_key.clone().or(file.peer_key),
            args.peer_allowed_names.clone().or(file.peer_allowed_names),
        ) {
            (Some(ca), Some(cert), Some(key), Some(names)) => {
                let allowed_names: Vec<String> = names
                    .split(',')
                    .map(|n| n.trim().to_string())
                    .filter(|n| !n.is_empty())
                    .collect();
                anyhow::ensure!(
                    !allowed_names.is_empty(),
                    "peer-allowed-names names no peer"
                );
                Some(swf_node::peer_tls::PeerTlsFiles {
                    ca,
                    cert,
                    key,
                    allowed_names,
                })
            }
            (None, None, None, None) => None,
            _ => anyhow::bail!(
                "peer-ca, peer-cert, peer-key and peer-allowed-names go together (mutual TLS between nodes)"
            ),
        };
        let timeout_defaults = swf_gateway::Timeouts::default();
        let secs = |flag: Option<u64>, file: Option<u64>, default: Duration| {
            flag.or(file).map(Duration::from_secs).unwrap_or(default)
        };
        let timeouts = swf_gateway::Timeouts {
            request: secs(
                args.request_timeout_secs,
                file.request_timeout_secs,
                timeout_defaults.request,
            ),
            idle: secs(
                args.idle_timeout_secs,
                file.idle_timeout_secs,
                timeout_defaults.idle,
            ),
            write: secs(
                args.write_timeout_secs,
                file.write_timeout_secs,
                timeout_defaults.write,
            ),
        };
        let settings = Settings {
            admin_addr: args
                .admin_addr
                .clone()
                .or(file.admin_addr)
                .unwrap_or_else(|| "127.0.0.1:7952".into()),
            admin_token_file: args.admin_token_file.clone().or(file.admin_token_file),
            admin_ca: args.admin_ca.clone().or(file.admin_ca),
            tls,
            admin_tls,
            peer_tls,
            max_connections: args
                .max_connections
                .or(file.max_connections)
                .unwrap_or(swf_gateway::MAX_CONNECTIONS),
            timeouts,
            data_dir: args
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from("swfd-data")),
            http_addr: args
                .http_addr
                .clone()
                .or(file.http_addr)
                .unwrap_or_else(|| "127.0.0.1:7950".into()),
            grpc_addr: args
                .grpc_addr
                .clone()
                .or(file.grpc_addr)
                .unwrap_or_else(|| "127.0.0.1:7951".into()),
            node_id: args.node_id.or(file.node_id).unwrap_or(1),
            long_poll: Duration::from_secs(
                args.long_poll_secs.or(file.long_poll_secs).unwrap_or(55),
            ),
            max_history_events: args
                .max_history_events
                .or(file.max_history_events)
                .unwrap_or(25_000),
            initial_members: args
                .initial_members
                .clone()
                .or(file.initial_members)
                .map(|s| parse_members(&s))
                .transpose()?,
            join: args.join.clone(),
            snapshot_every: args
                .snapshot_every
                .or(file.snapshot_every)
                .unwrap_or(20_000),
            grpc_advertise_addr: args.grpc_advertise_addr.clone(),
            max_pollers_per_task_list: args
                .max_pollers_per_task_list
                .or(file.max_pollers_per_task_list)
                .unwrap_or(1_000),
            sfn_max_activities: args
                .sfn_max_activities
                .or(file.sfn_max_activities)
                .unwrap_or(defaults.sfn_max_activities),
            sfn_max_state_machines: args
                .sfn_max_state_machines
                .or(file.sfn_max_state_machines)
                .unwrap_or(defaults.sfn_max_state_machines),
            sfn_max_open_executions: args
                .sfn_max_open_executions
                .or(file.sfn_max_open_executions)
                .unwrap_or(defaults.sfn_max_open_executions),
            region: args
                .region
                .clone()
                .or(file.region)
                .unwrap_or_else(|| "us-east-1".into()),
            account_id: args
                .account_id
                .clone()
                .or(file.account_id)
                .unwrap_or_else(|| "000000000000".into()),
            member_catch_up: Duration::from_secs(
                args.member_catch_up_secs
                    .or(file.member_catch_up_secs)
                    .unwrap_or(60),
            ),
            min_free_disk: args
                .min_free_disk_mb
                .or(file.min_free_disk_mb)
                .unwrap_or(64)
                .saturating_mul(1 << 20),
            max_apply_version: args
                .max_apply_version
                .or(file.max_apply_version)
                .unwrap_or(swf_node::apply_version::APPLY_VERSION),
            shutdown_grace: Duration::from_secs(
                args.shutdown_grace_secs
                    .or(file.shutdown_grace_secs)
                    .unwrap_or(20),
            ),
            auth_config: args.auth_config.clone().or(file.auth_config),
            log_format: args.log_format.or(file.log_format).unwrap_or_default(),
            slow_call: Duration::from_millis(
                args.slow_call_ms
                    .or(file.slow_call_ms)
                    .unwrap_or(swf_node::call_timing::DEFAULT_SLOW_CALL_MS),
            ),
            metrics_open: args.metrics_open || file.metrics_open.unwrap_or(false),
        };
        Ok(settings)
    }

    fn validate(&self) -> anyhow::Result<()> {
        match self.problems().into_iter().next() {
            Some(first) => Err(anyhow::Error::msg(first)),
            None => Ok(()),
        }
    }

    /// Every rule the settings break, in words (empty: valid).
    pub fn problems(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut rule = |broken: bool, what: &str| {
            if broken {
                out.push(what.to_string());
            }
        };
        rule(self.node_id == 0, "node-id must be at least 1");
        // With auth on, the gRPC port must not be the way around it (docs/security.md): a node
        // whose gRPC port is plaintext takes forged Raft entries and `Execute` calls (with any
        // caller, past the gateway's checks) from anyone who reaches it — a single node too, which
        // serves gRPC and may be given peers later (`swfd admin add`).
        rule(
            self.auth_config.is_some() && self.peer_tls.is_none(),
            "auth-config needs mutual TLS between nodes on the gRPC port, on a single node too: \
             give peer-ca, peer-cert, peer-key and peer-allowed-names too",
        );
        rule(
            self.long_poll < Duration::from_secs(1),
            "long-poll-secs must be at least 1",
        );
        rule(
            self.long_poll > Duration::from_secs(60),
            "long-poll-secs must be at most 60 (SWF's limit)",
        );
        rule(
            self.max_history_events < 10,
            "max-history-events must be at least 10",
        );
        rule(
            self.snapshot_every < 10,
            "snapshot-every must be at least 10",
        );
        rule(
            self.join.is_some() && self.initial_members.is_some(),
            "give either join or initial-members, not both",
        );
        rule(
            self.member_catch_up < Duration::from_secs(1),
            "member-catch-up-secs must be at least 1",
        );
        rule(
            self.shutdown_grace < Duration::from_secs(1),
            "shutdown-grace-secs must be at least 1",
        );
        rule(
            self.max_connections < 1,
            "max-connections must be at least 1",
        );
        {
            use swf_node::apply_version::{APPLY_VERSION, BASE_APPLY_VERSION};
            rule(
                !(BASE_APPLY_VERSION..=APPLY_VERSION).contains(&self.max_apply_version),
                &format!(
                    "max-apply-version must be from {BASE_APPLY_VERSION} to {APPLY_VERSION} (the \
                     versions this build knows)"
                ),
            );
        }
        rule(
            self.max_pollers_per_task_list < 1,
            "max-pollers-per-task-list must be at least 1",
        );
        // They name every resource (`arn:aws:swf:REGION:ACCOUNT:/domain/...`), and a signed
        // request's scope carries the region.
        rule(
            self.region.is_empty()
                || !self
                    .region
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            &format!(
                "region '{}' is not a region name (lowercase letters, digits and '-', e.g. \
                 us-east-1)",
                self.region
            ),
        );
        rule(
            self.account_id.len() != 12 || !self.account_id.bytes().all(|b| b.is_ascii_digit()),
            &format!(
                "account-id '{}' is not an AWS account id (12 digits)",
                self.account_id
            ),
        );
        for (name, t) in [
            ("request-timeout-secs", self.timeouts.request),
            ("idle-timeout-secs", self.timeouts.idle),
            ("write-timeout-secs", self.timeouts.write),
        ] {
            rule(
                t < Duration::from_secs(1),
                &format!("{name} must be at least 1"),
            );
        }
        if let Some(members) = &self.initial_members {
            rule(
                !members.contains_key(&self.node_id),
                &format!(
                    "initial-members must include this node (id {})",
                    self.node_id
                ),
            );
        }
        out
    }

    /// The node's configuration.
    pub fn node_config(&self) -> NodeConfig {
        let mut c = NodeConfig {
            node_id: self.node_id,
            data_dir: self.data_dir.clone(),
            long_poll: self.long_poll,
            ..Default::default()
        };
        c.limits.region = self.region.clone();
        c.limits.account_id = self.account_id.clone();
        c.limits.max_history_events = self.max_history_events;
        c.limits.sfn_max_activities = self.sfn_max_activities;
        c.limits.sfn_max_state_machines = self.sfn_max_state_machines;
        c.limits.sfn_max_open_executions = self.sfn_max_open_executions;
        c.max_pollers_per_task_list = self.max_pollers_per_task_list;
        c.initial_members = self.initial_members.clone();
        c.join = self.join.is_some();
        c.snapshot_every = self.snapshot_every;
        c.member_catch_up = self.member_catch_up;
        c.min_free_disk = self.min_free_disk;
        c.max_apply_version = self.max_apply_version;
        c
    }

    /// The admin token file: the one given, or `<data-dir>/admin-token`.
    pub fn admin_token_path(&self) -> PathBuf {
        self.admin_token_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("admin-token"))
    }
}

/// Parses `1=host:port,2=host:port`.
pub fn parse_members(s: &str) -> anyhow::Result<BTreeMap<u64, String>> {
    let mut members = BTreeMap::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (id, addr) = part
            .split_once('=')
            .with_context(|| format!("initial-members entry '{part}' is not ID=HOST:PORT"))?;
        let id: u64 = id
            .trim()
            .parse()
            .with_context(|| format!("initial-members: bad node id in '{part}'"))?;
        anyhow::ensure!(id > 0, "initial-members: node ids start at 1");
        anyhow::ensure!(
            addr.contains(':'),
            "initial-members: '{addr}' is not HOST:PORT"
        );
        anyhow::ensure!(
            members.insert(id, addr.trim().to_string()).is_none(),
            "initial-members: node {id} given twice"
        );
    }
    anyhow::ensure!(!members.is_empty(), "initial-members is empty");
    Ok(members)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_file_override_defaults() {
        let dir = std::env::temp_dir().join(format!("swfd-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("swfd.toml");
        std::fs::write(
            &file,
            "http-addr = \"127.0.0.1:9000\"\nnode-id = 3\nlong-poll-secs = 20\n",
        )
        .unwrap();
        let args = Args::parse_from(["swfd", "--config", file.to_str().unwrap(), "--node-id", "4"]);
        let s = Settings::resolve(&args).unwrap();
        assert_eq!(s.http_addr, "127.0.0.1:9000");
        assert_eq!(s.node_id, 4);
        assert_eq!(s.long_poll, Duration::from_secs(20));
        assert_eq!(s.grpc_addr, "127.0.0.1:7951");
        assert_eq!(s.data_dir, PathBuf::from("swfd-data"));
        std::fs::write(&file, "bogus-key = 1\n").unwrap();
        assert!(Settings::resolve(&args).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The transport flags: pairs go together, and the file's keys are those of the flags.
    #[test]
    fn transport_settings() {
        let resolve = |args: &[&str]| {
            let mut all = vec!["swfd"];
            all.extend_from_slice(args);
            Settings::resolve(&Args::parse_from(all))
        };
        let s = resolve(&[]).unwrap();
        assert_eq!(s.admin_addr, "127.0.0.1:7952");
        assert!(s.tls.is_none() && s.peer_tls.is_none());
        assert_eq!(
            s.admin_token_path(),
            PathBuf::from("swfd-data").join("admin-token")
        );
        let peer = [
            "--peer-ca",
            "ca.pem",
            "--peer-cert",
            "c.pem",
            "--peer-key",
            "k.pem",
            "--peer-allowed-names",
            " swfd-peer, *.swfd.svc ,",
        ];
        let s = resolve(&peer).unwrap();
        let files = s.peer_tls.unwrap();
        assert_eq!(files.allowed_names, vec!["swfd-peer", "*.swfd.svc"]);
        for bad in [
            &["--tls-cert", "c.pem"][..],
            &["--tls-key", "k.pem"][..],
            &peer[..6],
            &["--peer-allowed-names", "x"][..],
            &[
                "--peer-ca",
                "a",
                "--peer-cert",
                "b",
                "--peer-key",
                "c",
                "--peer-allowed-names",
                " , ",
            ][..],
            &["--max-connections", "0"][..],
            &["--idle-timeout-secs", "0"][..],
            &["--write-timeout-secs", "0"][..],
            &["--max-pollers-per-task-list", "0"][..],
            &["--region", ""][..],
            &["--region", "EU"][..],
            &["--account-id", "0000000000001"][..],
            &["--account-id", "00000000000x"][..],
        ] {
            assert!(resolve(bad).is_err(), "{bad:?}");
        }
        let s = resolve(&[
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
            "--idle-timeout-secs",
            "5",
            "--admin-token-file",
            "/etc/t",
        ])
        .unwrap();
        assert_eq!(
            s.tls,
            Some((PathBuf::from("c.pem"), PathBuf::from("k.pem")))
        );
        assert_eq!(s.timeouts.idle, Duration::from_secs(5));
        assert_eq!(s.timeouts.write, Duration::from_secs(30));
        assert_eq!(s.admin_token_path(), PathBuf::from("/etc/t"));
    }

    #[test]
    fn initial_members_parse() {
        let m = parse_members("1=127.0.0.1:7951, 2=127.0.0.2:7951,3=node-3:7951").unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(m[&3], "node-3:7951");
        for bad in ["", "1", "x=a:1", "0=a:1", "1=a:1,1=b:2", "1=nohostport"] {
            assert!(parse_members(bad).is_err(), "{bad}");
        }
    }
}
