//! The `swfd` command line: the flags operators and scripts rely on are there, and a bad configuration
//! is refused with a clear error instead of starting. (Also makes `cargo test` build the binary the
//! end-to-end tests run.)

use std::process::Command;

fn swfd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_swfd"))
}

#[test]
fn help_lists_the_contract_flags() {
    let out = swfd().arg("--help").output().expect("run swfd --help");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--data-dir",
        "--http-addr",
        "--grpc-addr",
        "--node-id",
        "--config",
        "--long-poll-secs",
        "--auth-config",
        "--admin-addr",
        "--admin-token-file",
        "--tls-cert",
        "--tls-key",
        "--admin-tls-cert",
        "--admin-tls-key",
        "--peer-ca",
        "--peer-cert",
        "--peer-key",
        "--peer-allowed-names",
        "--max-connections",
    ] {
        assert!(help.contains(flag), "swfd --help lacks {flag}:\n{help}");
    }
}

#[test]
fn admin_help_lists_the_credential_flags() {
    let out = swfd()
        .args(["admin", "status", "--help"])
        .output()
        .expect("run swfd admin status --help");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--endpoint",
        "--token-file",
        "--access-key-id",
        "--secret-access-key",
        "--session-token",
        "--profile",
        "--region",
        "--ca-cert",
    ] {
        assert!(
            help.contains(flag),
            "swfd admin --help lacks {flag}:\n{help}"
        );
    }
}

#[test]
fn bad_configuration_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("swfd.toml");
    std::fs::write(&file, "no-such-key = 1\n").expect("write config");
    let out = swfd()
        .arg("--config")
        .arg(&file)
        .output()
        .expect("run swfd");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no-such-key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = swfd()
        .args(["--long-poll-secs", "0", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("run swfd");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("long-poll-secs"));
}

#[test]
fn auth_on_a_cluster_without_peer_tls_is_refused() {
    // With auth on, plaintext between nodes would let anyone on the gRPC port forge Raft entries and
    // forwarded callers (issue 16): swfd refuses to start rather than run so.
    let dir = tempfile::tempdir().expect("temp dir");
    let auth = dir.path().join("auth.toml");
    std::fs::write(
        &auth,
        "[[principal]]\nname = \"ops\"\naccess_key_id = \"AKIDOPS\"\nsecret_access_key = \"s\"\nadmin = true\npolicy = '{\"Version\": \"2012-10-17\", \"Statement\": []}'\n",
    )
    .expect("write auth config");
    let mut child = swfd()
        .arg("--auth-config")
        .arg(&auth)
        .args(["--initial-members", "1=127.0.0.1:1,2=127.0.0.1:2"])
        .args(["--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0"])
        .args(["--admin-addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run swfd");
    // Poll for the exit: an swfd that (wrongly) starts would run until killed.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while child.try_wait().expect("wait for swfd").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("swfd started with auth on a cluster without mutual TLS");
        }
        std::thread::yield_now();
    }
    let out = child.wait_with_output().expect("swfd's output");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("needs mutual TLS between nodes"),
        "{stderr}"
    );
}
