//! `swfd check-config` (issue 18) through the real binary: a good configuration (file, flags, auth
//! configuration, TLS and mutual-TLS files, admin token, a data directory to create) passes with a
//! short summary and exit code 0; a bad one fails with every problem named, not only the first; and
//! `--min-free-disk-mb` is checked against the free space of the data directory's filesystem.

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
        "--admin-tls-cert",
        s(&tls_cert),
        "--admin-tls-key",
        s(&other_key),
        "--min-free-disk-mb",
        "999999999999",
        "--account-id",
        "12345",
        "--region",
        "US East",
        "--max-pollers-per-task-list",
        "0",
        "--admin-ca",
        s(&d.join("a-file")),
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
        "TLS of the admin listener",
        "min-free-disk-mb 999999999999 is more than the whole filesystem",
        "account-id '12345' is not an AWS account id",
        "region 'US East' is not a region name",
        "max-pollers-per-task-list must be at least 1",
        "admin-ca: ",
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
        "--admin-tls-key",
        s(&other_key),
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
        "admin-tls-cert and admin-tls-key go together",
        "peer-ca, peer-cert",
    ] {
        assert!(stderr.contains(part), "'{part}' not named in:\n{stderr}");
    }
    Ok(())
}

/// (free MiB, size MiB) of the filesystem holding `path`, as `df` reads them.
fn df_mib(path: &Path) -> Result<(u64, u64)> {
    let out = std::process::Command::new("df")
        .args(["-B1048576", "--output=avail,size"])
        .arg(path)
        .output()
        .context("running df")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut numbers = text
        .lines()
        .nth(1)
        .context("df printed no figures")?
        .split_whitespace()
        .map(|n| n.parse::<u64>());
    Ok((
        numbers.next().context("no avail")??,
        numbers.next().context("no size")??,
    ))
}

/// `--min-free-disk-mb` (issue 18, full disk) against the data directory's filesystem: more than is
/// free now would have the node refuse writes and leadership from its start, so check-config names
/// it (also for a data directory still to be created: its parent's filesystem), exits non-zero, and
/// accepts a minimum the filesystem has free, saying how much is free.
#[test]
fn min_free_disk_is_checked_against_the_data_directorys_filesystem() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let (free, size) = df_mib(d)?;
    anyhow::ensure!(
        size > free + 2,
        "the filesystem of {d:?} is all free? ({free} of {size})"
    );
    // Between what is free and the filesystem's size: only the free space can be short.
    let short = (free + size) / 2;
    for data_dir in [d.to_path_buf(), d.join("to/be/created")] {
        let out = check(&[
            "--data-dir",
            s(&data_dir),
            "--min-free-disk-mb",
            &short.to_string(),
        ])?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        let want = format!("less than min-free-disk-mb {short}: the node would refuse writes");
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with("problem: ") && l.contains(&want)),
            "'{want}' not named in:\n{stderr}"
        );
        assert!(
            stderr.contains("1 problem in the configuration"),
            "{stderr}"
        );
    }
    let out = check(&["--data-dir", s(d), "--min-free-disk-mb", "1"])?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("MiB free, min-free-disk-mb 1)"), "{stdout}");
    // 0 turns the guard off: nothing to check.
    let out = check(&["--data-dir", s(d), "--min-free-disk-mb", "0"])?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && !stdout.contains("min-free-disk-mb"),
        "{stdout}"
    );
    // Not a number: refused by the flag parser, named.
    let out = check(&["--data-dir", s(d), "--min-free-disk-mb", "lots"])?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("--min-free-disk-mb"),
        "{stderr}"
    );
    Ok(())
}
