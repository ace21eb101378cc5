//! `swfd check-config [FLAGS...]`: checks a node's configuration (flags, environment, `--config`
//! file) without starting anything, for an init container or a deploy pipeline. Every problem found
//! is named (not only the first): the file parses, the flags that go together are given together,
//! the listen addresses resolve, the node id and the member list agree, the auth configuration loads
//! with its policies, the TLS and mutual-TLS files are readable and their keys match, the admin
//! token file is usable, and the data directory is writable or can be created. Exit code 1 with the
//! problems on stderr, or 0 with a short summary on stdout.

use std::net::ToSocketAddrs;
use std::path::Path;

use clap::Parser;

use crate::config::{parse_members, Args, FileConfig, Settings};

/// Runs the check on `flags` (swfd's flags, without the program name).
pub fn run(flags: Vec<String>) -> anyhow::Result<()> {
    let args = Args::try_parse_from(std::iter::once("swfd".to_string()).chain(flags))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let (problems, summary) = check(&args);
    if problems.is_empty() {
        println!("{summary}");
        return Ok(());
    }
    for p in &problems {
        eprintln!("problem: {p}");
    }
    anyhow::bail!(
        "{} problem{} in the configuration",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    )
}

/// Every problem of `args`, and the summary of a good configuration.
pub fn check(args: &Args) -> (Vec<String>, String) {
    let mut problems = Vec::new();
    // What `Settings::resolve` refuses first, each checked on its own so all of them are named.
    let file = match &args.config {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => match toml::from_str::<FileConfig>(&text) {
                Ok(f) => f,
                Err(e) => {
                    problems.push(format!("{}: {}", path.display(), e.message()));
                    FileConfig::default()
                }
            },
            Err(e) => {
                problems.push(format!("cannot read {}: {e}", path.display()));
                FileConfig::default()
            }
        },
        None => FileConfig::default(),
    };
    if args.tls_cert.is_some() != args.tls_key.is_some()
        || (args.tls_cert.is_none() && file.tls_cert.is_some() != file.tls_key.is_some())
    {
        problems.push("tls-cert and tls-key go together".into());
    }
    let peer = [
        args.peer_ca.is_some() || file.peer_ca.is_some(),
        args.peer_cert.is_some() || file.peer_cert.is_some(),
        args.peer_key.is_some() || file.peer_key.is_some(),
        args.peer_allowed_names.is_some() || file.peer_allowed_names.is_some(),
    ];
    if peer.iter().any(|p| *p) && !peer.iter().all(|p| *p) {
        problems.push(
            "peer-ca, peer-cert, peer-key and peer-allowed-names go together (mutual TLS between \
             nodes)"
                .into(),
        );
    }
    if let Some(members) = args
        .initial_members
        .as_ref()
        .or(file.initial_members.as_ref())
    {
        if let Err(e) = parse_members(members) {
            problems.push(format!("{e:#}"));
        }
    }
    let settings = match Settings::resolve_unchecked(args) {
        Ok(s) => s,
        Err(e) => {
            if problems.is_empty() {
                problems.push(format!("{e:#}"));
            }
            return (problems, String::new());
        }
    };
    problems.extend(settings.problems());
    for (name, addr) in [
        ("http-addr", &settings.http_addr),
        ("grpc-addr", &settings.grpc_addr),
        ("admin-addr", &settings.admin_addr),
    ] {
        if let Err(e) = addr.to_socket_addrs() {
            problems.push(format!("{name} '{addr}' is not a usable HOST:PORT: {e}"));
        }
    }
    if let Some(a) = &settings.grpc_advertise_addr {
        if !host_port(a) {
            problems.push(format!("grpc-advertise-addr '{a}' is not HOST:PORT"));
        }
    }
    if let Some(join) = &settings.join {
        for url in join.split(',').map(str::trim) {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                problems.push(format!(
                    "join '{url}' is not an admin endpoint URL (http://HOST:PORT)"
                ));
            }
        }
    }
    let auth = match &settings.auth_config {
        Some(path) => match swf_auth::Auth::load(path, &settings.region, &settings.account_id) {
            Ok(auth) => format!("on ({} principals)", auth.store().principals.len()),
            Err(e) => {
                problems.push(format!(
                    "the auth configuration {} does not load: {e}",
                    path.display()
                ));
                String::new()
            }
        },
        None => "off (anyone may call anything)".into(),
    };
    if let Some((cert, key)) = &settings.tls {
        if let Err(e) = swf_node::tls::http_server_config(cert, key) {
            problems.push(format!("TLS of the SWF endpoint: {e}"));
        }
    }
    if let Some(files) = &settings.peer_tls {
        if let Err(e) = swf_node::peer_tls::load(files.clone()) {
            problems.push(format!("mutual TLS between nodes: {e}"));
        }
    }
    match &settings.admin_token_file {
        Some(path) => token_problem(path, &mut problems),
        None => {
            let path = settings.admin_token_path();
            if path.exists() {
                token_problem(&path, &mut problems);
            }
        }
    }
    let data_dir = match data_dir_problem(&settings.data_dir) {
        Ok(state) => state,
        Err(e) => {
            problems.push(e);
            ""
        }
    };
    let members = match (&settings.initial_members, &settings.join) {
        (Some(m), _) => format!("{} initial members (this node included)", m.len()),
        (None, Some(j)) => format!("joins through {j}"),
        (None, None) => "a single-node cluster (or an existing data directory)".into(),
    };
    let summary = format!(
        "OK: node {} | http {}{} | grpc {}{} | admin {} | data dir {} ({data_dir}) | {members} | \
         auth {auth}",
        settings.node_id,
        settings.http_addr,
        if settings.tls.is_some() { " (TLS)" } else { "" },
        settings.grpc_addr,
        if settings.peer_tls.is_some() {
            " (mutual TLS)"
        } else {
            ""
        },
        settings.admin_addr,
        settings.data_dir.display(),
    );
    (problems, summary)
}

/// `HOST:PORT` with a numeric port.
fn host_port(s: &str) -> bool {
    s.rsplit_once(':')
        .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
}

fn token_problem(path: &Path, problems: &mut Vec<String>) {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let token = text.lines().next().unwrap_or("").trim();
            if token.len() < swf_gateway::MIN_TOKEN_LEN {
                problems.push(format!(
                    "the admin token in {} is shorter than {} characters",
                    path.display(),
                    swf_gateway::MIN_TOKEN_LEN
                ));
            }
        }
        Err(e) => problems.push(format!(
            "cannot read the admin token file {}: {e}",
            path.display()
        )),
    }
}

/// Whether the data directory is usable: it exists and takes a file, or the nearest existing parent
/// takes one (nothing is left behind).
fn data_dir_problem(dir: &Path) -> Result<&'static str, String> {
    let probe = |d: &Path| -> Result<(), String> {
        let p = d.join(format!(".swfd-check-config-{}", std::process::id()));
        std::fs::write(&p, b"")
            .map_err(|e| format!("data dir: cannot write in {}: {e}", d.display()))?;
        let _ = std::fs::remove_file(&p);
        Ok(())
    };
    if dir.exists() {
        if !dir.is_dir() {
            return Err(format!(
                "data dir {} exists and is not a directory",
                dir.display()
            ));
        }
        probe(dir)?;
        return Ok("exists, writable");
    }
    let mut parent = dir.parent();
    while let Some(p) = parent {
        let p = if p.as_os_str().is_empty() {
            Path::new(".")
        } else {
            p
        };
        if p.exists() {
            if !p.is_dir() {
                return Err(format!(
                    "data dir {}: {} is not a directory",
                    dir.display(),
                    p.display()
                ));
            }
            probe(p).map_err(|e| format!("{e} (to create {})", dir.display()))?;
            return Ok("will be created");
        }
        parent = p.parent();
    }
    Err(format!("data dir {} cannot be created", dir.display()))
}
