//! Measurement, not a pass/fail test (ignored by default; run with
//! `SWF_BIN_DIR=$PWD/target/release cargo test --release -p swf-e2e --test open_work_measure -- --ignored --nocapture`):
//! the disk and memory one execution costs when every decision opens 999 zero-second timers, up to the
//! history limit, and what comes back once the closed run is purged (retention 0). The hostile probe of
//! issue 12 saw the data directory grow from 1 to 331 MiB and RSS from 22 to 340 MiB, and stay there.
//! Recorded in docs/benchmarks.md ("Write amplification").

use std::path::Path;
use std::time::{Duration, Instant};

use aws_sdk_swf::types::{Decision, DecisionType, StartTimerDecisionAttributes};
use swf_e2e::{poll_decision, start_execution, Fixture, Swfd};

fn dir_size(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

fn rss_mib(pid: Option<u32>) -> f64 {
    let status = pid
        .and_then(|p| std::fs::read_to_string(format!("/proc/{p}/status")).ok())
        .unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn timer(id: String) -> Decision {
    Decision::builder()
        .decision_type(DecisionType::StartTimer)
        .start_timer_decision_attributes(
            StartTimerDecisionAttributes::builder()
                .timer_id(id)
                .start_to_fire_timeout("0")
                .build()
                .expect("timer set"),
        )
        .build()
        .expect("decision type set")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: run explicitly"]
async fn thousand_timer_decisions_to_the_history_limit() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let c = swfd.client();
    let fx = Fixture {
        domain: "probe".into(),
        workflow_type: aws_sdk_swf::types::WorkflowType::builder()
            .name("wf")
            .version("1")
            .build()?,
        activity_type: aws_sdk_swf::types::ActivityType::builder()
            .name("a")
            .version("1")
            .build()?,
        decision_list: "probe-decisions".into(),
        activity_list: "probe-activities".into(),
    };
    c.register_domain()
        .name("probe")
        .workflow_execution_retention_period_in_days("0")
        .send()
        .await?;
    c.register_workflow_type()
        .domain("probe")
        .name("wf")
        .version("1")
        .default_task_list(fx.decision_task_list())
        .default_execution_start_to_close_timeout("3600")
        .default_task_start_to_close_timeout("600")
        .default_child_policy(aws_sdk_swf::types::ChildPolicy::Terminate)
        .send()
        .await?;
    let data = swfd.data_dir();
    let (size0, rss0) = (dir_size(&data), rss_mib(swfd.pid()));
    println!("start: data dir {:.1} MiB, RSS {rss0:.0} MiB", mib(size0));
    let run = start_execution(&c, &fx, "probe", "").await?;
    let t0 = Instant::now();
    let (mut decisions, mut peak_size, mut peak_rss) = (0, size0, rss0);
    let mut last_event = 0;
    loop {
        let task = poll_decision(&c, &fx).await?;
        if task.task_token().is_empty() {
            anyhow::bail!("no decision task within a long poll");
        }
        last_event = last_event.max(task.started_event_id());
        let decided = c
            .respond_decision_task_completed()
            .task_token(task.task_token())
            .set_decisions(Some(
                (0..999)
                    .map(|i| timer(format!("d{decisions}-t{i}")))
                    .collect(),
            ))
            .send()
            .await;
        peak_size = peak_size.max(dir_size(&data));
        peak_rss = peak_rss.max(rss_mib(swfd.pid()));
        if decided.is_err() {
            break; // the run was terminated meanwhile
        }
        decisions += 1;
        let open = c
            .describe_workflow_execution()
            .domain("probe")
            .execution(run.clone())
            .send()
            .await;
        match open {
            Ok(d)
                if d.execution_info()
                    .is_some_and(|i| i.close_status().is_none()) => {}
            _ => break, // closed (or already purged)
        }
    }
    println!(
        "{decisions} decisions of 999 timers in {:.1} s, last decision task started at event {last_event}; \
         peak data dir {:.1} MiB ({:.0} bytes per history event), peak RSS {peak_rss:.0} MiB",
        t0.elapsed().as_secs_f64(),
        mib(peak_size),
        (peak_size - size0) as f64 / 25_000.0,
    );
    // The run is purged at once (retention 0); watch the space come back.
    let t1 = Instant::now();
    let mut last = dir_size(&data);
    while t1.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let now = dir_size(&data);
        println!(
            "  {:>4.0} s after close: data dir {:.1} MiB, RSS {:.0} MiB",
            t1.elapsed().as_secs_f64(),
            mib(now),
            rss_mib(swfd.pid())
        );
        last = now;
    }
    println!(
        "a minute after close: data dir {:.1} MiB (peak {:.1}), RSS {:.0} MiB (peak {peak_rss:.0})",
        mib(last),
        mib(peak_size),
        rss_mib(swfd.pid())
    );
    Ok(())
}
