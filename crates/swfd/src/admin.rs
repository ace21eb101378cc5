//! `swfd admin ...`: cluster administration against any node's admin endpoint (`--admin-addr`;
//! `status`, `members`, `add`, `remove`, `transfer-leader`, `rotate-token-key`, `backup`), signed
//! with an admin principal's key or carrying the admin bearer token of a file (`admin_client`), and
//! the request a `--join`ing node sends to be added. Also the offline subcommands `recover`,
//! `restore` and `check-config`.

use std::time::Duration;

use anyhow::{bail, Context};
use clap::Subcommand;
use serde_json::{json, Value};

/// Subcommands of swfd.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Administer a cluster through one of its nodes.
    Admin {
        /// The node's admin endpoint (its --admin-addr), e.g. http://127.0.0.1:7952.
        #[arg(long, global = true, default_value = "http://127.0.0.1:7952")]
        endpoint: String,
        /// File holding the admin token (the node's --admin-token-file; by default a node keeps it
        /// in <data-dir>/admin-token, and `swfd admin` reads swfd-data/admin-token). Given, it is
        /// used even when keys are.
        #[arg(long, global = true, env = "SWFD_ADMIN_TOKEN_FILE")]
        token_file: Option<std::path::PathBuf>,
        #[command(flatten)]
        keys: crate::admin_client::KeyArgs,
        #[command(subcommand)]
        action: Admin,
    },
    /// Prepares an empty (or new) data directory for a node of a NEW cluster from a backup taken with
    /// `swfd admin backup`: the state exactly as backed up (token keys included, so tokens of tasks
    /// open at backup time still work), the membership given, a fresh cluster id. Run it for every
    /// member with the same file and member list, then start them. A corrupt or truncated file is
    /// refused before anything is written.
    Restore {
        /// The backup file.
        #[arg(long)]
        backup: std::path::PathBuf,
        /// The data directory to prepare (absent or empty).
        #[arg(long)]
        data_dir: std::path::PathBuf,
        /// This node's Raft id (one of the members).
        #[arg(long)]
        node_id: u64,
        /// The members of the new cluster, `ID=HOST:PORT` (gRPC addresses) separated by commas.
        #[arg(long)]
        initial_members: String,
    },
    /// Checks a configuration (the same flags, environment and --config file a node takes, given
    /// after `check-config`) without starting anything: every problem is named and the exit code is
    /// non-zero; a short summary and exit code 0 when all is well. For an init container.
    CheckConfig {
        /// swfd's flags, as they would be given to the node.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        flags: Vec<String>,
    },
    /// Last resort for a cluster that lost its quorum for good: rewrites a *stopped* node's data
    /// directory so that it starts as the single voter of a new cluster, with everything its log
    /// holds. Entries only the lost members held are gone. Add the other nodes back afterwards, each
    /// with an empty data directory (see docs/operations.md).
    Recover {
        /// The stopped node's data directory (the one given to --data-dir).
        #[arg(long)]
        data_dir: std::path::PathBuf,
        /// The node's Raft id.
        #[arg(long)]
        node_id: u64,
        /// Its gRPC address in the new configuration (default: the one its configuration has).
        #[arg(long)]
        grpc_addr: Option<String>,
    },
}

/// Admin actions.
#[derive(Debug, Subcommand)]
pub enum Admin {
    /// The node's view of the cluster, as JSON.
    Status,
    /// The members (id, gRPC address, voter or learner) and the leader.
    Members,
    /// Adds a node: first a learner, a voter once it has caught up.
    Add {
        #[arg(long)]
        node_id: u64,
        /// The new node's gRPC address.
        #[arg(long)]
        addr: String,
    },
    /// Removes a node from the cluster.
    Remove {
        #[arg(long)]
        node_id: u64,
    },
    /// Moves leadership to another voter (the most up-to-date one without --to); prints the outcome
    /// once the new leader is elected. Calls are held, not failed, during the move.
    TransferLeader {
        /// The node to hand leadership to.
        #[arg(long)]
        to: Option<u64>,
    },
    /// Takes an online backup of the cluster's applied state: streamed from the leader (give several
    /// endpoints, comma-separated, to have the leader found among them) into --out, checked end to
    /// end. Everything acknowledged before it started is in it; the cluster goes on serving.
    Backup {
        /// The file to write (written as <out>.part first, renamed once checked).
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Rotates the cluster's task- and page-token key (on the leader, through any node): a new key
    /// signs from now on; tokens signed under the previous key stay valid until the next rotation.
    RotateTokenKey,
}

fn url(endpoint: &str, path: &str) -> String {
    format!("{}{path}", endpoint.trim_end_matches('/'))
}

/// The admin token of `path` (its first line).
pub fn read_token(path: &std::path::Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the admin token file {}", path.display()))?;
    Ok(text.lines().next().unwrap_or("").trim().to_string())
}

async fn get_status(
    http: &crate::admin_client::AdminClient,
    endpoint: &str,
) -> anyhow::Result<Value> {
    let resp = http
        .send(
            reqwest::Method::GET,
            &url(endpoint, "/cluster/status"),
            None,
        )
        .await
        .with_context(|| format!("reaching {endpoint}"))?;
    let status = resp.status();
    let out: Value = resp.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!(
            "{}: {}",
            out["__type"].as_str().unwrap_or(status.as_str()),
            out["message"].as_str().unwrap_or("")
        );
    }
    Ok(out)
}

async fn change(
    http: &crate::admin_client::AdminClient,
    endpoint: &str,
    path: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let resp = http
        .send(reqwest::Method::POST, &url(endpoint, path), Some(&body))
        .await
        .with_context(|| format!("reaching {endpoint}"))?;
    let status = resp.status();
    let out: Value = resp.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!(
            "{}: {}",
            out["__type"].as_str().unwrap_or("error"),
            out["message"].as_str().unwrap_or("")
        );
    }
    Ok(out)
}

/// Runs an admin command and prints its result.
pub async fn run(command: Command) -> anyhow::Result<()> {
    let (endpoint, token_file, keys, action) = match command {
        Command::Admin {
            endpoint,
            token_file,
            keys,
            action,
        } => (endpoint, token_file, keys, action),
        Command::Recover {
            data_dir,
            node_id,
            grpc_addr,
        } => return recover(&data_dir, node_id, grpc_addr),
        Command::Restore {
            backup,
            data_dir,
            node_id,
            initial_members,
        } => {
            let out = crate::backup::restore(&backup, &data_dir, node_id, &initial_members)?;
            println!("{}", serde_json::to_string_pretty(&out)?);
            return Ok(());
        }
        Command::CheckConfig { flags } => return crate::check_config::run(flags),
    };
    let http = crate::admin_client::AdminClient::new(token_file, &keys)?;
    let out = match action {
        Admin::Status => get_status(&http, &endpoint).await?,
        Admin::Members => {
            let s = get_status(&http, &endpoint).await?;
            let voters: Vec<u64> = s["voters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_u64)
                .collect();
            let mut members = Vec::new();
            for (id, addr) in s["members"].as_object().into_iter().flatten() {
                let id: u64 = id.parse().unwrap_or(0);
                let role = if Some(id) == s["leader_id"].as_u64() {
                    "leader"
                } else if voters.contains(&id) {
                    "voter"
                } else {
                    "learner"
                };
                members.push(json!({ "node_id": id, "addr": addr, "role": role }));
            }
            Value::Array(members)
        }
        Admin::Add { node_id, addr } => {
            change(
                &http,
                &endpoint,
                "/cluster/members",
                json!({ "node_id": node_id, "addr": addr }),
            )
            .await?
        }
        Admin::Remove { node_id } => {
            change(
                &http,
                &endpoint,
                "/cluster/members/remove",
                json!({ "node_id": node_id }),
            )
            .await?
        }
        Admin::TransferLeader { to } => {
            let body = match to {
                Some(id) => json!({ "to": id }),
                None => json!({}),
            };
            change(&http, &endpoint, "/cluster/transfer-leader", body).await?
        }
        Admin::Backup { out } => crate::backup::backup(&http, &endpoint, &out).await?,
        Admin::RotateTokenKey => {
            change(&http, &endpoint, "/cluster/token-key/rotate", json!({})).await?
        }
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

/// `swfd recover`: forces a stopped node's configuration to itself alone.
fn recover(
    data_dir: &std::path::Path,
    node_id: u64,
    grpc_addr: Option<String>,
) -> anyhow::Result<()> {
    let db_dir = data_dir.join("db");
    anyhow::ensure!(
        db_dir.join("CURRENT").is_file(),
        "{} holds no swfd database",
        data_dir.display()
    );
    // RocksDB's lock refuses a directory a running swfd has open.
    let db = swf_store::open_db(&db_dir)
        .with_context(|| format!("opening {} (is the node stopped?)", db_dir.display()))?;
    let done = swf_store::recover::force_single_voter(&db, node_id, grpc_addr)
        .map_err(|e| anyhow::anyhow!("recovery failed: {e}"))?;
    db.flush_wal(true)?;
    let out = json!({
        "node_id": node_id,
        "addr": done.addr,
        "previous_voters": done.previous_voters,
        "new_voters": [node_id],
        "membership_entry": { "term": done.entry.leader_id.term, "index": done.entry.index },
        "next": "start the node as before; it elects itself and serves. Add the other nodes back with \
                 empty data directories (swfd admin add, or --join).",
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

/// Asks the cluster at `endpoint` (a member's admin endpoint, or several separated by commas, tried in
/// turn) to add this node, with the admin token of `token_file`, retrying until one answers (the add
/// returns once this node has caught up).
pub async fn join(
    endpoint: String,
    node_id: u64,
    grpc_addr: String,
    token_file: std::path::PathBuf,
    admin_ca: Option<std::path::PathBuf>,
) {
    let endpoints: Vec<String> = endpoint
        .split(',')
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty())
        .collect();
    let mut turn = 0usize;
    let mut backoff = Duration::from_millis(200);
    loop {
        let endpoint = endpoints
            .get(turn % endpoints.len().max(1))
            .cloned()
            .unwrap_or_default();
        turn += 1;
        let http = match read_token(&token_file)
            .and_then(|t| crate::admin_client::AdminClient::bearer(&t, admin_ca.as_deref()))
        {
            Ok(http) => http,
            Err(e) => {
                tracing::warn!(node_id, error = %e, "joining the cluster: no admin token; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        match change(
            &http,
            &endpoint,
            "/cluster/members",
            json!({ "node_id": node_id, "addr": grpc_addr }),
        )
        .await
        {
            Ok(_) => {
                tracing::info!(node_id, %endpoint, "joined the cluster");
                return;
            }
            Err(e) => {
                tracing::warn!(node_id, %endpoint, error = format!("{e:#}"), "joining the cluster; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}
