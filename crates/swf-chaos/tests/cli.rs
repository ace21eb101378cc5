//! The `swf-chaos` binary's command line. Having an integration test also makes `cargo test --workspace`
//! build this binary with the same features as everything else, so `scripts/chaos.sh` needs no second
//! build (a separate `cargo build -p swf-chaos` resolves other features and recompiles RocksDB).

use std::process::Command;

fn chaos() -> Command {
    Command::new(env!("CARGO_BIN_EXE_swf-chaos"))
}

#[test]
fn help_lists_every_fault_kind() {
    let out = chaos().arg("--help").output().expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for kind in [
        "kill",
        "pause",
        "partition",
        "netem",
        "leader-transfer",
        "membership",
        "bad-member",
    ] {
        assert!(text.contains(kind), "--help lacks {kind}: {text}");
    }
}

#[test]
fn an_unknown_fault_kind_is_refused_with_the_list() {
    let out = chaos()
        .args(["--faults", "kill,meteor", "--loopback", "--duration", "1"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("meteor"), "{text}");
    assert!(text.contains("bad-member"), "{text}");
}
