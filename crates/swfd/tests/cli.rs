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
    ] {
        assert!(help.contains(flag), "swfd --help lacks {flag}:\n{help}");
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
