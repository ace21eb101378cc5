//! Skewed clocks: a 3-node cluster where node 2's clock is an hour behind and node 3's an hour ahead
//! (the `LD_PRELOAD` clock shim, `crates/swf-chaos/clockshift.c`; Debian's libfaketime deadlocks swfd
//! before `main`, see that file), with leadership moved among all three while timers run. The leader
//! stamps the cluster time (the lower median of the voters' clocks, never below the last applied
//! stamp; `swf-node::clock`), so judged by the test's own clock — the reference — no history time goes
//! backwards or strays from the reference, and no timer fires early, across every leader change
//! (including an hour-behind leader handing over to an hour-ahead one, and back).
//!
//! The shim is built with the C compiler the RocksDB build needs anyway. Without one the test says so
//! and passes, except under CI (`CI` set), where it fails.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_swf::types::{Decision, DecisionType, EventType, StartTimerDecisionAttributes};
use serde_json::Value;
use swf_e2e::{
    agreed_leader, complete_workflow, full_history, poll_decision, setup_domain, start_execution,
    Launch, Swfd,
};

/// The timers' length.
const TIMER_SECS: u64 = 2;
/// How far a history time may stray from the reference clock (the skews are an hour).
const TOLERANCE_MS: i64 = 1_000;
/// How much earlier than its length a timer may be seen fired, by the reference clock: the cluster
/// time errs late, so this is only millisecond rounding.
const EARLY_SLACK_MS: i64 = 20;

/// The environment that runs a node `offset_secs` off the real clock (the monotonic clock untouched,
/// as NTP leaves it).
fn skewed(lib: &std::path::Path, offset_secs: i64) -> Vec<(String, String)> {
    vec![
        ("LD_PRELOAD".into(), lib.display().to_string()),
        ("SWF_CLOCKSHIFT_SECS".into(), format!("{offset_secs:+}")),
    ]
}

/// The reference clock: this test process's, ms since the epoch.
fn reference_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after the epoch")
        .as_millis() as i64
}

fn start_timer(id: &str, secs: u64) -> Decision {
    Decision::builder()
        .decision_type(DecisionType::StartTimer)
        .start_timer_decision_attributes(
            StartTimerDecisionAttributes::builder()
                .timer_id(id)
                .start_to_fire_timeout(secs.to_string())
                .build()
                .expect("timer"),
        )
        .build()
        .expect("decision")
}

/// Runs `swfd admin transfer-leader --to <to>` against `node`.
fn transfer_leader(node: &Swfd, to: u64) -> anyhow::Result<Value> {
    let out = std::process::Command::new(swf_e2e::swfd_bin()?)
        .args([
            "admin",
            "transfer-leader",
            "--endpoint",
            &node.admin_endpoint(),
        ])
        .arg("--token-file")
        .arg(node.admin_token_file())
        .args(["--to", &to.to_string()])
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "transfer-leader --to {to}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// The wall clock `node` answers `Cluster.Ping` with: proves the shim took effect.
async fn node_wall_ms(node: &Swfd) -> anyhow::Result<i64> {
    let mut client =
        swf_proto::cluster_client::ClusterClient::connect(format!("http://{}", node.grpc_addr()))
            .await?;
    Ok(client
        .ping(swf_proto::PingRequest {})
        .await?
        .into_inner()
        .wall_ms)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn skewed_clocks_never_move_history_back_nor_fire_timers_early() -> anyhow::Result<()> {
    let lib = match swf_e2e::clockshift_lib() {
        Ok(lib) => lib,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("SKIPPED: the clock shim could not be built: {e:#}");
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let launch = [None, Some(-3600), Some(3600)].map(|offset| Launch {
        env: offset.map(|o| skewed(&lib, o)).unwrap_or_default(),
        wrapper: Vec::new(),
    });
    // Without auth whatever SWF_E2E_AUTH says: the test reads each node's clock with a plaintext
    // `Cluster.Ping` on its gRPC port, which auth (and its mandatory mTLS) would refuse.
    let nodes =
        Swfd::start_cluster_launched_without_auth(3, &["--long-poll-secs", "5"], &launch).await?;
    for (i, want) in [(1usize, -3_600_000i64), (2, 3_600_000)] {
        let off = node_wall_ms(&nodes[i]).await? - reference_ms();
        anyhow::ensure!(
            (off - want).abs() < 60_000,
            "node {} runs {off} ms off the reference, not {want}: the clock shim did not take",
            i + 1
        );
    }
    let refs: Vec<&Swfd> = nodes.iter().collect();
    let client = nodes[0].client();
    let test_start = reference_ms();
    let fx = setup_domain(&client, "clock-skew").await?;

    // Each step: arm a timer under the current leader, hand leadership to the next node, and see the
    // timer fire no earlier than its length after the decision that armed it was sent.
    let order = [1u64, 2, 3, 1, 3, 2, 1];
    let mut leader = agreed_leader(&refs, None).await?;
    if leader != order[0] {
        transfer_leader(&nodes[0], order[0])?;
        leader = agreed_leader(&refs, None).await?;
        anyhow::ensure!(leader == order[0], "leader is {leader}, not {}", order[0]);
    }
    let mut executions = Vec::new();
    for (step, next) in order.iter().skip(1).enumerate() {
        let wf = format!("skew-{step}-{leader}-to-{next}");
        let exec = start_execution(&client, &fx, &wf, "").await?;
        let task = loop {
            let t = poll_decision(&client, &fx).await?;
            if !t.task_token().is_empty() {
                break t;
            }
        };
        let armed_at = reference_ms();
        client
            .respond_decision_task_completed()
            .task_token(task.task_token())
            .decisions(start_timer("t", TIMER_SECS))
            .send()
            .await?;
        transfer_leader(&nodes[0], *next)?;
        leader = agreed_leader(&refs, None).await?;
        anyhow::ensure!(leader == *next, "leader is {leader}, not {next}");
        let waited = Instant::now();
        let fired = loop {
            anyhow::ensure!(
                waited.elapsed() < Duration::from_secs(30),
                "{wf}: the timer did not fire within 30 s"
            );
            let t = poll_decision(&client, &fx).await?;
            if t.task_token().is_empty() {
                continue;
            }
            anyhow::ensure!(
                t.workflow_execution().map(|e| e.workflow_id()) == Some(wf.as_str()),
                "a decision task of another execution"
            );
            break t;
        };
        let seen_at = reference_ms();
        anyhow::ensure!(
            fired
                .events()
                .iter()
                .any(|e| *e.event_type() == EventType::TimerFired),
            "{wf}: the decision task after the leader change has no TimerFired"
        );
        let early = TIMER_SECS as i64 * 1000 - (seen_at - armed_at);
        anyhow::ensure!(
            early <= EARLY_SLACK_MS,
            "{wf}: the timer was seen fired {} ms after it was armed, {early} ms early by the reference clock",
            seen_at - armed_at
        );
        client
            .respond_decision_task_completed()
            .task_token(fired.task_token())
            .decisions(complete_workflow("done"))
            .send()
            .await?;
        executions.push((wf, exec));
    }
    let test_end = reference_ms();

    // Every history: times in order, and within the test's window by the reference clock.
    let mut previous_end = i64::MIN;
    for (wf, exec) in &executions {
        let events = full_history(&client, &fx.domain, exec).await?;
        let times: Vec<i64> = events
            .iter()
            .map(|e| {
                let t = e.event_timestamp();
                t.secs() * 1000 + i64::from(t.subsec_nanos() / 1_000_000)
            })
            .collect();
        for pair in times.windows(2) {
            anyhow::ensure!(
                pair[0] <= pair[1],
                "{wf}: history time goes back: {times:?}"
            );
        }
        anyhow::ensure!(
            times[0] >= previous_end,
            "{wf} starts at {} before the previous execution closed at {previous_end}",
            times[0]
        );
        previous_end = *times.last().expect("events");
        for t in &times {
            anyhow::ensure!(
                *t >= test_start - TOLERANCE_MS && *t <= test_end + TOLERANCE_MS,
                "{wf}: event time {t} outside the test's window [{test_start}, {test_end}] by the reference clock: {times:?}"
            );
        }
        let started = events
            .iter()
            .find(|e| *e.event_type() == EventType::TimerStarted);
        let fired = events
            .iter()
            .find(|e| *e.event_type() == EventType::TimerFired);
        let (Some(s), Some(f)) = (started, fired) else {
            anyhow::bail!("{wf}: no TimerStarted/TimerFired");
        };
        let ms = |e: &aws_sdk_swf::types::HistoryEvent| {
            let t = e.event_timestamp();
            t.secs() * 1000 + i64::from(t.subsec_nanos() / 1_000_000)
        };
        anyhow::ensure!(
            ms(f) - ms(s) >= TIMER_SECS as i64 * 1000,
            "{wf}: TimerFired {} ms after TimerStarted",
            ms(f) - ms(s)
        );
    }
    Ok(())
}
