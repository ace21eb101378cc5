//! `swfd check-config [FLAGS...]`: checks a node's configuration (flags, environment, `--config`
//! file) without starting anything, for an init container or a deploy pipeline. Every problem found
//! is named (not only the first): the file parses, the flags that go together are given together,
//! the listen addresses resolve, the node id and the member list agree, the auth configuration loads
//! with its policies, the TLS files (SWF endpoint, admin listener) and mutual-TLS files are readable
//! and their keys match, the admin token file is usable, the `--admin-ca` (trusted for an https://
//! `--join`) holds a certificate, the data directory is writable or can be created, and its
//! filesystem has the `--min-free-disk-mb` free that the node must keep. The rules on single values
//! (ranges, the region and account id) are `Settings::problems`, which swfd also applies at start.
//! Exit code 1 with the problems on stderr, or 0 with a short summary on stdout.

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
    // A pair may come half from the flags and half from the file, as `Settings::resolve` takes it.
    let given = |flag: &Option<std::path::PathBuf>, in_file: &Option<std::path::PathBuf>| {
        flag.is_some() || in_file.is_some()
    };
    if given(&args.tls_cert, &file.tls_cert) != given(&args.tls_key, &file.tls_key) {
        problems.push("tls-cert and tls-key go together".into());
    }
    if given(&args.admin_tls_cert, &file.admin_tls_cert)
        != given(&args.admin_tls_key, &file.admin_tls_key)
    {
        problems.push("admin-tls-cert and admin-tls-key go together".into());
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
    if let Some(ca) = &settings.admin_ca {
        if let Err(e) = crate::admin_client::http_client(Some(ca)) {
            problems.push(format!("admin-ca: {e:#}"));
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
    if let Some((cert, key)) = &settings.admin_tls {
        if let Err(e) = swf_node::tls::http_server_config(cert, key) {
            problems.push(format!("TLS of the admin listener: {e}"));
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
    let disk = match disk_space_problem(&settings.data_dir, settings.min_free_disk) {
        Ok(state) => state,
        Err(e) => {
            problems.push(e);
            String::new()
        }
    };
    let members = match (&settings.initial_members, &settings.join) {
        (Some(m), _) => format!("{} initial members (this node included)", m.len()),
        (None, Some(j)) => format!("joins through {j}"),
        (None, None) => "a single-node cluster (or an existing data directory)".into(),
    };
    let summary = format!(
        "OK: node {} | http {}{} | grpc {}{} | admin {}{} | data dir {} ({data_dir}{disk}) | \
         {members} | auth {auth}",
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
        if settings.admin_tls.is_some() {
            " (TLS)"
        } else {
            ""
        },
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

/// Whether the data directory's filesystem (or, before it exists, that of its nearest existing
/// parent) has the `--min-free-disk-mb` it must keep free (`min_free` bytes; 0: not checked). Below
/// it the node would refuse writes and leadership from its start (`swf_node::disk`). The summary
/// part on success.
fn disk_space_problem(dir: &Path, min_free: u64) -> Result<String, String> {
    if min_free == 0 {
        return Ok(String::new());
    }
    let Some(existing) = dir.ancestors().find(|p| {
        let p = if p.as_os_str().is_empty() {
            Path::new(".")
        } else {
            p
        };
        p.exists()
    }) else {
        return Ok(String::new()); // named by the data-dir check
    };
    let existing = if existing.as_os_str().is_empty() {
        Path::new(".")
    } else {
        existing
    };
    let (free, size) = swf_node::disk::space(existing).map_err(|e| {
        format!(
            "data dir {}: cannot read the free space of its filesystem: {e}",
            dir.display()
        )
    })?;
    let mib = |b: u64| b >> 20;
    if min_free > size {
        return Err(format!(
            "min-free-disk-mb {} is more than the whole filesystem of data dir {} ({} MiB)",
            mib(min_free),
            dir.display(),
            mib(size)
        ));
    }
    if free < min_free {
        return Err(format!(
            "data dir {}: {} MiB free on its filesystem, less than min-free-disk-mb {}: the node \
             would refuse writes and leadership from the start",
            dir.display(),
            mib(free),
            mib(min_free)
        ));
    }
    Ok(format!(
        ", {} MiB free, min-free-disk-mb {}",
        mib(free),
        mib(min_free)
    ))
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
