//! A cheap guard on what an idle long poll weighs: the futures a held poll keeps on the heap for up to
//! a minute (the connection's task, the SWF call's handler, the leader path, the poll itself), as
//! swfd logs them at DEBUG (`swf_node::future_size`, `swf_gateway::serve`). 10,000 idle polls must
//! fit in 120 MB (issue 14); their size times the number of polls is most of that, and a change that
//! makes one of them twice as large (an `async fn` wrapper that awaits the future it is given, a
//! large action's state inlined into every call's future) fails here long before anyone measures
//! 10,000 polls (`idle_polls_measure.rs`, docs/benchmarks.md "Idle long polls").
//!
//! The bounds are 1.75× the sizes when this test was written (the debug build the suite runs and the
//! release build logged the same sizes); before session 16's fix the handler's future was 4,440
//! bytes.

use std::time::Duration;

use serde_json::json;
use swf_e2e::{setup_domain, Launch, Swfd};

/// Largest size (bytes) allowed for each future a held poll keeps: 1.75× its size when this test was
/// written (in the comment).
const BOUNDS: &[(&str, usize)] = &[
    // The connection's task (1,000 bytes; 976 in release).
    ("connection", 1_750),
    // The SWF call's boxed handler (1,392).
    ("SWF call's handler (signed)", 2_450),
    // The leader's in-process path (408).
    ("leader path (in-process)", 720),
    // The poll's own boxed future (2,072).
    ("PollForActivityTask", 3_650),
];

/// The `bytes=N` value of the first log line that contains `needle`.
fn logged_size(log: &str, needle: &str) -> Option<usize> {
    log.lines().filter(|l| l.contains(needle)).find_map(|l| {
        let at = l.find("bytes=")? + "bytes=".len();
        let digits: String = l[at..].chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    })
}

#[tokio::test]
async fn a_held_polls_futures_stay_small() -> anyhow::Result<()> {
    let launch = Launch {
        env: vec![(
            "SWFD_LOG".into(),
            "info,swf_node::future_size=debug,swf_gateway::serve=debug".into(),
        )],
        ..Launch::default()
    };
    let mut nodes =
        Swfd::start_cluster_launched_without_auth(1, &["--long-poll-secs", "1"], &[launch]).await?;
    let swfd = nodes.remove(0);
    setup_domain(&swfd.client(), "held").await?;
    // One long poll, held until the long-poll time passes (empty).
    let (status, body) = swfd
        .raw_call(
            "PollForActivityTask",
            json!({ "domain": "held", "taskList": { "name": "idle" } }).to_string(),
        )
        .await?;
    assert_eq!(status, 200, "{body}");
    // The lines are written as the futures are made; wait (by polling) until the poll's is there.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut log = swfd.log();
    while logged_size(&log, "future=\"PollForActivityTask\"").is_none() {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "no future sizes logged:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        log = swfd.log();
    }
    let mut sizes = Vec::new();
    for (what, bound) in BOUNDS {
        let needle = if *what == "connection" {
            "size of a connection's future".to_string()
        } else {
            format!("future=\"{what}\"")
        };
        let bytes = logged_size(&log, &needle)
            .ok_or_else(|| anyhow::anyhow!("no size logged for {what}:\n{log}"))?;
        sizes.push((what, bytes, bound));
    }
    println!("{sizes:?}");
    for (what, bytes, bound) in sizes {
        assert!(
            bytes <= *bound,
            "a held poll's {what} future is {bytes} bytes, over its bound of {bound}: something made \
             every idle long poll heavier (see the module doc)"
        );
    }
    Ok(())
}
