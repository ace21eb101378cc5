//! `swfd`: the SWF service daemon. Parses flags, an optional TOML file and environment variables,
//! sets up logging, binds the HTTP (SWF JSON, optionally TLS), admin and gRPC (internal, optionally
//! mutual TLS) listeners, starts the node and the gateway (with the auth configuration, if any),
//! reloads certificates on SIGHUP, and shuts down on SIGTERM or SIGINT. `swfd admin ...` administers
//! a running cluster.

mod admin;
mod admin_client;
mod auth;
mod backup;
mod check_config;
mod config;
mod data_dir;
mod security;

use std::sync::{Arc, OnceLock};

use anyhow::Context;
use clap::Parser;
use tokio::net::TcpListener;

use crate::config::{Args, Settings};

/// jemalloc instead of glibc's malloc, for Rust and (unprefixed) RocksDB's C++: glibc's allocator
/// took ~19% of the leader's CPU under load (profile of release 1bc7aed, `docs/benchmarks.md`) and
/// fragments with many idle connections. (Without the `jemalloc` feature: the system allocator, for
/// heap profilers.)
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    if let Some(command) = args.command.take() {
        return admin::run(command).await;
    }
    let settings = Settings::resolve(&args)?;
    if let Err(e) = data_dir::check_writable(&settings.data_dir) {
        eprintln!("{}", data_dir::not_writable_message(&settings.data_dir, &e));
        std::process::exit(data_dir::EXIT_NOT_WRITABLE);
    }
    init_logging(settings.log_format);
    swf_node::call_timing::set_slow_call_threshold(settings.slow_call);

    // The auth configuration first: the admin listener verifies admin principals with it.
    let auth = auth::start(&settings)?;
    // Signed admin calls are judged by the cluster's time once the node runs (as SWF calls are).
    let started: Arc<OnceLock<Arc<swf_node::Node>>> = Arc::default();
    let clock: swf_gateway::Clock = {
        let started = started.clone();
        Arc::new(move || {
            started
                .get()
                .map_or_else(swf_auth::time::now, |n| n.cluster_now_secs())
        })
    };
    let transport = security::Transport::load(&settings, auth.as_ref(), clock)?;
    // The CA a --join call trusts: one that cannot be used is a configuration error, not a reason
    // to retry the join for ever.
    if settings.join.is_some() {
        admin_client::http_client(settings.admin_ca.as_deref()).context("admin-ca")?;
    }
    let http = TcpListener::bind(&settings.http_addr)
        .await
        .with_context(|| format!("binding HTTP address {}", settings.http_addr))?;
    let grpc = TcpListener::bind(&settings.grpc_addr)
        .await
        .with_context(|| format!("binding gRPC address {}", settings.grpc_addr))?;
    let admin_listener = TcpListener::bind(&settings.admin_addr)
        .await
        .with_context(|| format!("binding admin address {}", settings.admin_addr))?;
    let http_addr = http.local_addr()?;
    let grpc_addr = grpc.local_addr()?;
    let admin_addr = admin_listener.local_addr()?;
    println!("swfd listening http={http_addr} grpc={grpc_addr} admin={admin_addr}");

    let mut node_config = settings.node_config();
    node_config.peer_tls = transport.peer.clone();
    let node = swf_node::Node::start(node_config, grpc)
        .await
        .context("starting the node")?;
    tracing::info!(node_id = node.id, %http_addr, %grpc_addr, data_dir = %settings.data_dir.display(), "swfd started");
    let _ = started.set(node.clone());

    // A joining node asks the cluster to add it (it is not initialised on its own).
    if let Some(join) = settings.join.clone() {
        let advertised = settings
            .grpc_advertise_addr
            .clone()
            .unwrap_or_else(|| grpc_addr.to_string());
        tokio::spawn(admin::join(
            join,
            node.id,
            advertised,
            settings.admin_token_path(),
            settings.admin_ca.clone(),
        ));
    }
    transport.reload_on_sighup();
    let gateway = swf_gateway::Gateway::with_auth(node.clone(), auth);
    let app = swf_gateway::router(gateway.clone()).with_timeouts(settings.timeouts);
    let admin_app = swf_gateway::admin_router(gateway, transport.admin_auth.clone())
        .with_timeouts(settings.timeouts)
        .with_open_metrics(settings.metrics_open);
    let options = swf_gateway::ServeOptions {
        tls: transport.http.clone(),
        max_connections: settings.max_connections,
    };
    let admin_options = swf_gateway::ServeOptions {
        tls: transport.admin.clone(),
        max_connections: settings.max_connections,
    };
    // One signal stops both listeners.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut admin_stop = stop_rx.clone();
    let admin_task = tokio::spawn(swf_gateway::serve(
        admin_listener,
        admin_app,
        admin_options,
        async move {
            let _ = admin_stop.wait_for(|s| *s).await;
        },
        || {},
    ));
    let stopping = node.clone();
    let grace = settings.shutdown_grace;
    let stop_signal = async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
        // However the stop goes (calls waiting for a quorum that is gone, a Raft core that does not
        // answer), the process is gone within the grace period. Everything acknowledged is already
        // on disk: an acknowledged call's log entry was synced before its answer.
        std::thread::spawn(move || {
            std::thread::sleep(grace);
            tracing::error!(
                grace_secs = grace.as_secs(),
                "the grace period is over with calls still in flight: exiting now"
            );
            std::process::exit(1);
        });
    };
    // Held long polls are answered once every connection knows the server stops, so the answers
    // carry `connection: close`.
    swf_gateway::serve(http, app, options, stop_signal, move || {
        tracing::info!("stopping: answering held long polls");
        stopping.stop_polls();
    })
    .await;
    drop(stop_rx);
    let _ = admin_task.await;
    tracing::info!("shutting down");
    node.shutdown().await;
    Ok(())
}

/// Logs to stderr, filtered by `SWFD_LOG` (default `info,openraft=warn`), as text or one JSON
/// object per line. A call's lines carry its `call` span (request id, action, API): in text
/// before the message, in JSON as `span` (and `spans`). Colours only when stderr is a terminal.
fn init_logging(format: config::LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SWFD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,openraft=warn"));
    // Colours only on a terminal: a file or a log shipper gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    match format {
        config::LogFormat::Text => builder.init(),
        config::LogFormat::Json => builder.json().init(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
