//! The example programs start and describe their flags. (Also makes `cargo test` build them for the
//! end-to-end test that runs them against swfd.)

use std::process::Command;

#[test]
fn decider_and_worker_describe_their_flags() {
    for exe in [env!("CARGO_BIN_EXE_decider"), env!("CARGO_BIN_EXE_worker")] {
        let out = Command::new(exe)
            .arg("--help")
            .output()
            .expect("run --help");
        assert!(out.status.success(), "{exe}");
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(
            help.contains("--endpoint") && help.contains("--domain"),
            "{exe}: {help}"
        );
    }
}

#[test]
fn the_step_functions_worker_describes_its_flags() {
    let out = Command::new(env!("CARGO_BIN_EXE_sfn-worker"))
        .arg("--help")
        .output()
        .expect("run --help");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("--endpoint") && help.contains("--activity"),
        "{help}"
    );
}
