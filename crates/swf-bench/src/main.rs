//! `swf-bench`: a load generator that speaks the SWF wire protocol (AWS JSON 1.0) and nothing else, so it
//! measures any SWF endpoint the same way: swfd on one node, a swfd cluster, or moto_server. It runs closed-
//! loop drivers (or paces starts with `--rate`), prints a progress line every second, and writes a JSON report
//! with workflows and calls per second, latency percentiles overall and per action, errors and a timeline.
//! `--soak FILE` adds a CSV row per minute with the nodes' memory and data-directory size (`soak`).

mod client;
mod soak;
mod stats;
mod workload;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use clap::Parser;
use serde_json::json;

use crate::client::SwfClient;
use crate::stats::{Percentiles, Stats, Tick};
use crate::workload::{Shared, Workload};

#[derive(Parser, Debug)]
#[command(
    name = "swf-bench",
    about = "Load generator for SWF endpoints (swfd, moto_server, ...)"
)]
struct Args {
    /// SWF endpoint, http://HOST:PORT. Repeat (or separate with commas) to spread drivers over several nodes.
    #[arg(long, required = true, value_delimiter = ',')]
    endpoint: Vec<String>,
    /// Measured seconds (after the warm-up).
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Concurrent drivers (each one a closed-loop decider and worker with its own task lists).
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Where to write the JSON report.
    #[arg(long)]
    report: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Workload::Simple)]
    workload: Workload,
    /// Start at most this many workflows per second in all (open-loop pacing); unlimited when absent.
    #[arg(long)]
    rate: Option<f64>,
    /// Seconds of load before measuring starts.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Domain to run in (registered if missing); a fresh name per run by default.
    #[arg(long)]
    domain: Option<String>,
    /// Per-call timeout in seconds (long polls included).
    #[arg(long, default_value_t = 70)]
    call_timeout: u64,
    /// A label stored in the report (e.g. "swfd 1 node").
    #[arg(long)]
    label: Option<String>,
    /// No progress lines.
    #[arg(long)]
    quiet: bool,
    /// Attempts per call, retried as the AWS SDKs' standard retry mode does (transient errors and
    /// throttling, jittered exponential backoff, a retry quota); a refused connection sends the next
    /// attempt to the next endpoint. 1: no retries.
    #[arg(long, default_value_t = 3)]
    max_attempts: u32,
    /// The domain's workflowExecutionRetentionPeriodInDays when it is registered ("0": closed runs
    /// are purged at once, as a soak wants).
    #[arg(long, default_value = "1")]
    retention_days: String,
    /// Soak mode: write a CSV row to this file every --soak-every seconds of the measured run (calls,
    /// errors, p50/p99 of the period, and each --watch node's RSS and data-directory size).
    #[arg(long)]
    soak: Option<PathBuf>,
    /// Seconds per soak row.
    #[arg(long, default_value_t = 60)]
    soak_every: u64,
    /// A node to sample in soak mode, NAME=PID:DIR (its process id and data directory). Repeat.
    #[arg(long)]
    watch: Vec<soak::Watch>,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if let Err(e) = run(args).await {
        eprintln!("swf-bench: {e:#}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<()> {
    anyhow::ensure!(args.concurrency > 0, "--concurrency must be at least 1");
    anyhow::ensure!(args.duration > 0, "--duration must be at least 1");
    if let Some(rate) = args.rate {
        anyhow::ensure!(rate > 0.0, "--rate must be positive");
    }
    for e in &args.endpoint {
        client::probe(e).await?;
    }
    let unix = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis();
    let run_tag = format!("{unix:x}");
    let domain = args
        .domain
        .clone()
        .unwrap_or_else(|| format!("swf-bench-{run_tag}"));
    let mut admin = SwfClient::new(&args.endpoint[0], Duration::from_secs(30))?;
    workload::setup(&mut admin, &domain, &args.retention_days)
        .await
        .context("registering the domain and types")?;

    let stats = Arc::new(Stats::default());
    let shared = Arc::new(Shared {
        domain: domain.clone(),
        workload: args.workload,
        stats: stats.clone(),
        stop: AtomicBool::new(false),
        rate: args.rate,
        started_at: Instant::now(),
        next_slot: AtomicU64::new(0),
        run_tag,
        endpoints: args.endpoint.clone(),
        max_attempts: args.max_attempts,
    });
    let timeout = Duration::from_secs(args.call_timeout);
    let drivers: Vec<_> = (0..args.concurrency)
        .map(|i| {
            let endpoint = args.endpoint[i % args.endpoint.len()].clone();
            tokio::spawn(workload::drive(i, endpoint, shared.clone(), timeout))
        })
        .collect();

    let mut soak = match &args.soak {
        Some(path) => Some(
            soak::Soak::create(path, args.watch.clone(), args.soak_every)
                .with_context(|| format!("creating {}", path.display()))?,
        ),
        None => None,
    };
    tokio::time::sleep(Duration::from_secs(args.warmup)).await;
    stats.set_recording(true);
    stats.take_interval();
    let measured_from = Instant::now();
    let mut timeline = Vec::new();
    let mut last = (0, 0, 0);
    let mut next = measured_from;
    for t in 1..=args.duration {
        next += Duration::from_secs(1);
        tokio::time::sleep_until(next.into()).await;
        let now = stats.totals();
        let mut interval = stats.take_interval();
        if let Some(soak) = &mut soak {
            if let Some(row) = soak.second(t, &interval, now)? {
                if !args.quiet {
                    eprintln!("[soak] {row}");
                }
            }
        }
        let p = Percentiles::of(&mut interval);
        let tick = Tick {
            t,
            workflows: now.0 - last.0,
            calls: now.1 - last.1,
            errors: now.2 - last.2,
            p50_ms: p.p50,
            p99_ms: p.p99,
        };
        if !args.quiet {
            eprintln!(
                "[{t:>4}s] workflows/s {:>6}  calls/s {:>7}  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {}",
                tick.workflows, tick.calls, tick.p50_ms, tick.p99_ms, tick.errors
            );
        }
        timeline.push(tick);
        last = now;
    }
    stats.set_recording(false);
    let elapsed = measured_from.elapsed().as_secs_f64();
    shared.stop.store(true, Ordering::SeqCst);
    // Closed-loop drivers finish their current call; long polls are cut off.
    let grace = tokio::time::sleep(Duration::from_secs(5));
    tokio::pin!(grace);
    for d in &drivers {
        if !d.is_finished() {
            tokio::select! {
                _ = &mut grace => break,
                _ = tokio::time::sleep(Duration::from_millis(10)) => {}
            }
        }
    }
    for d in drivers {
        d.abort();
    }

    let (workflows, calls, errors) = stats.totals();
    let summary = stats.summary();
    let report = json!({
        "label": args.label,
        "endpoint": args.endpoint,
        "workload": args.workload.name(),
        "concurrency": args.concurrency,
        "rate": args.rate,
        "duration_secs": elapsed,
        "domain": domain,
        "workflows": workflows,
        "workflows_per_sec": workflows as f64 / elapsed,
        "calls": calls,
        "calls_per_sec": calls as f64 / elapsed,
        "latency_ms": summary.latency,
        "per_action": summary.per_action,
        "errors": errors,
        "errors_by_kind": summary.errors_by_kind,
        "max_attempts": args.max_attempts,
        "retries": client::RETRIES.load(Ordering::Relaxed),
        "extra_ms": summary.extra,
        "timeline": timeline,
    });
    let text = serde_json::to_string_pretty(&report)?;
    match &args.report {
        Some(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
        }
        None => println!("{text}"),
    }
    eprintln!(
        "swf-bench: {} {:.1} workflows/s, {:.1} calls/s, p50 {:.2} ms, p99 {:.2} ms, {} errors",
        args.workload.name(),
        workflows as f64 / elapsed,
        calls as f64 / elapsed,
        summary.latency.p50,
        summary.latency.p99,
        errors
    );
    Ok(())
}
