//! Measurements, not pass/fail tests (ignored by default; run with
//! `SWFD_BIN=target/release/swfd cargo test --release -p swf-e2e --test history_measure -- --ignored --nocapture`):
//! - the latency of GetWorkflowExecutionHistory pages over an execution of 25,000 events;
//! - how long a node holding many history events (1,000,000 by default; `SWF_MEASURE_EVENTS` sets it)
//!   takes from process start to `/ready` after a restart.
//!
//! Recorded in docs/benchmarks.md. Events are made by signals (one event each), sent 32 at a time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use swf_e2e::{setup_domain, start_execution, Swfd};

/// Sends `count` signals to workflow `workflow_id`, 32 at a time; returns how many were accepted.
async fn signal_many(swfd: &Swfd, domain: &str, workflow_id: &str, count: usize) -> usize {
    let swfd = Arc::new((swfd.endpoint(), swfd.http().clone()));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let (swfd, next) = (swfd.clone(), next.clone());
        let (domain, workflow_id) = (domain.to_string(), workflow_id.to_string());
        tasks.spawn(async move {
            let mut ok = 0;
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < count {
                let body = json!({"domain": domain, "workflowId": workflow_id, "signalName": "s"});
                let sent = swfd
                    .1
                    .post(format!("{}/", swfd.0))
                    .header(
                        "X-Amz-Target",
                        "SimpleWorkflowService.SignalWorkflowExecution",
                    )
                    .header("Content-Type", swf_e2e::AMZ_JSON)
                    .body(body.to_string())
                    .send()
                    .await;
                if sent.is_ok_and(|r| r.status().is_success()) {
                    ok += 1;
                }
            }
            ok
        });
    }
    let mut ok = 0;
    while let Some(n) = tasks.join_next().await {
        ok += n.unwrap_or(0);
    }
    ok
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: run explicitly"]
async fn history_pages_of_a_25000_event_execution() -> anyhow::Result<()> {
    let swfd = Swfd::start().await?;
    let c = swfd.client();
    let fx = setup_domain(&c, "hist").await?;
    let run = start_execution(&c, &fx, "big", "").await?;
    let t0 = Instant::now();
    // The 25,000-event limit closes the execution (EVENT_LIMIT_EXCEEDED): 25,000 events, then the
    // termination.
    let accepted = signal_many(&swfd, "hist", "big", 25_000).await;
    println!(
        "{accepted} signals accepted in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let mut pages = Vec::new();
    let mut events = 0;
    for reverse in [false, true] {
        for _round in 0..4 {
            let mut token: Option<String> = None;
            loop {
                let mut body = json!({"domain": "hist", "execution": {"workflowId": "big",
                    "runId": run.run_id()}, "maximumPageSize": 1000, "reverseOrder": reverse});
                if let Some(t) = &token {
                    body["nextPageToken"] = json!(t);
                }
                let t = Instant::now();
                let (status, page) = swfd
                    .raw_call("GetWorkflowExecutionHistory", body.to_string())
                    .await?;
                pages.push(t.elapsed().as_secs_f64() * 1000.0);
                anyhow::ensure!(status == 200, "{page}");
                events += page["events"].as_array().map_or(0, |e| e.len());
                match page["nextPageToken"].as_str() {
                    Some(t) if !t.is_empty() => token = Some(t.to_string()),
                    _ => break,
                }
            }
        }
    }
    pages.sort_by(f64::total_cmp);
    println!(
        "history of {} events: {} pages of 1000 (both orders), latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        events / 8,
        pages.len(),
        percentile(&pages, 0.5),
        percentile(&pages, 0.99),
        pages.last().copied().unwrap_or(0.0)
    );
    assert_eq!(events / 8, 25_001);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: run explicitly"]
async fn restart_to_ready_with_a_million_events() -> anyhow::Result<()> {
    let target: usize = std::env::var("SWF_MEASURE_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let mut swfd = Swfd::start().await?;
    let c = swfd.client();
    let fx = setup_domain(&c, "many").await?;
    let t0 = Instant::now();
    let mut events = 0;
    let mut n = 0;
    while events < target {
        let id = format!("w{n}");
        start_execution(&c, &fx, &id, "").await?;
        // Start, decision scheduled, then one event per signal up to the 25,000 limit, then the
        // termination event.
        let signals = (target - events).min(24_998);
        signal_many(&swfd, "many", &id, signals).await;
        events += signals + 3;
        n += 1;
        println!(
            "{events} events in {n} executions after {:.0} s",
            t0.elapsed().as_secs_f64()
        );
    }
    let status = swfd.cluster_status().await?;
    println!(
        "written: {events} events, last_applied {}",
        status["last_applied"]
    );
    swfd.terminate(Duration::from_secs(30)).await?;
    let data = swfd.data_dir();
    let size: u64 = walk_size(&data);
    let t = Instant::now();
    swfd.restart().await?;
    let http = swfd.http().clone();
    loop {
        let ready = http.get(format!("{}/ready", swfd.endpoint())).send().await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!(
        "restart to ready with {events} history events ({:.0} MB on disk): {:.0} ms",
        size as f64 / 1e6,
        t.elapsed().as_secs_f64() * 1000.0
    );
    Ok(())
}

fn walk_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => walk_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}
