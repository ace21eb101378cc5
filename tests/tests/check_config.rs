//! `swfd check-config` (issue 18) through the real binary: a good configuration (file, flags, auth
//! configuration, TLS and mutual-TLS files, admin token, a data directory to create) passes with a
//! short summary and exit code 0; a bad one fails with every problem named, not only the first.

use std::path::Path;
use std::process::Output;

use anyhow::{Context, Result};
use swf_e2e::certs::{Ca, Validity};

fn check(args: &[&str]) -> Result<Output> {
    std::process::Command::new(swf_e2e::swfd_bin()?)
        .arg("check-config")
        .args(args)
        .env_remove("SWFD_ADMIN_TOKEN_FILE")
        .output()
        .context("running swfd check-config")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_good_configuration_passes_with_a_summary() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let ca = Ca::new("swfd test CA")?;
    let ca_file = ca.write(d, "ca.crt")?;
    let (peer_cert, peer_key) = ca
        .issue(&["swfd-peer"], Validity::Current)?
        .write(d, "peer")?;
    let (tls_cert, tls_key) = ca
        .issue(&["localhost"], Validity::Current)?
        .write(d, "tls")?;
    std::fs::write(d.join("auth.toml"), swf_e2e::sign::ALLOW_ALL)?;
    std::fs::write(d.join("token"), "0123456789abcdef0123\n")?;
    std::fs::write(
        d.join("swfd.toml"),
        format!(
            "node-id = 2\ninitial-members = \"1=127.0.0.1:7951,2=127.0.0.1:7961,3=127.0.0.1:7971\"\n\
             grpc-addr = \"127.0.0.1:7961\"\nauth-config = \"{}\"\n",
            s(&d.join("auth.toml"))
        ),
    )?;
    let out = check(&[
        "--config",
        s(&d.join("swfd.toml")),
        "--data-dir",
        s(&d.join("new/data")),
        "--tls-cert",
        s(&tls_cert),
        "--tls-key",
        s(&tls_key),
        "--peer-ca",
        s(&ca_file),
        "--peer-cert",
        s(&peer_cert),
        "--peer-key",
        s(&peer_key),
        "--peer-allowed-names",
        "swfd-peer",
        "--admin-token-file",
        s(&d.join("token")),
    ])?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for part in [
        "OK: node 2",
        "(TLS)",
        "(mutual TLS)",
        "will be created",
        "3 initial members",
        "auth on (1 principals)",
    ] {
        assert!(stdout.contains(part), "'{part}' missing from: {stdout}");
    }
    assert!(!d.join("new").exists(), "check-config created the data dir");
    Ok(())
}

#[test]
fn a_bad_configuration_names_every_problem() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let ca = Ca::new("swfd test CA")?;
    // A certificate with another certificate's key.
    let (tls_cert, _) = ca
        .issue(&["localhost"], Validity::Current)?
        .write(d, "tls")?;
    let (_, other_key) = ca
        .issue(&["localhost"], Validity::Current)?
        .write(d, "other")?;
    std::fs::write(d.join("auth.toml"), "this is not toml [")?;
    std::fs::write(d.join("token"), "short\n")?;
    std::fs::write(d.join("a-file"), "")?;
    let out = check(&[
        "--node-id",
        "4",
        "--initial-members",
        "1=127.0.0.1:7951,2=127.0.0.1:7961",
        "--http-addr",
        "not-an-address",
        "--long-poll-secs",
        "90",
        "--data-dir",
        s(&d.join("a-file/data")),
        "--tls-cert",
        s(&tls_cert),
        "--tls-key",
        s(&other_key),
        "--peer-ca",
        s(&d.join("missing-ca.crt")),
        "--peer-cert",
        s(&d.join("missing.crt")),
        "--peer-key",
        s(&d.join("missing.key")),
        "--peer-allowed-names",
        "swfd-peer",
        "--auth-config",
        s(&d.join("auth.toml")),
        "--admin-token-file",
        s(&d.join("token")),
    ])?;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let problems: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("problem: "))
        .collect();
    for part in [
        "initial-members must include this node (id 4)",
        "long-poll-secs must be at most 60",
        "http-addr 'not-an-address'",
        "TLS of the SWF endpoint",
        "mutual TLS between nodes",
        "the auth configuration",
        "shorter than 16 characters",
        "data dir",
    ] {
        assert!(
            problems.iter().any(|p| p.contains(part)),
            "'{part}' not named in:\n{stderr}"
        );
    }
    assert!(
        stderr.contains(&format!("{} problems", problems.len())),
        "{stderr}"
    );

    // A file that does not parse, and flags that go together given alone, are named as well.
    std::fs::write(d.join("bad.toml"), "no-such-key = 1\n")?;
    let out = check(&[
        "--config",
        s(&d.join("bad.toml")),
        "--tls-cert",
        s(&tls_cert),
        "--peer-ca",
        "x",
        "--join",
        "127.0.0.1:7952",
        "--data-dir",
        s(&d.join("data")),
    ])?;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    for part in [
        "no-such-key",
        "tls-cert and tls-key go together",
        "peer-ca, peer-cert",
    ] {
        assert!(stderr.contains(part), "'{part}' not named in:\n{stderr}");
    }
    Ok(())
}
