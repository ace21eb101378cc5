//! `swf-chaos`: Jepsen-style fault injection against a cluster of real `swfd` processes. It starts a
//! 3- or 5-node cluster (each node in its own network namespace where possible), drives a realistic
//! SWF workload with real HTTP clients while a seeded nemesis kills, pauses, partitions, slows,
//! transfers leadership and changes membership, heals everything, waits for quiescence, reads the
//! final state, and checks the recorded history against every guarantee SWF users rely on. It writes
//! a JSON report, a readable summary and an HTML timeline, and exits non-zero on any anomaly.

mod checker;
mod client;
mod cluster;
mod collect;
mod decider;
mod history;
mod nemesis;
mod net;
mod report;
mod sfn;
mod sfn_express;
mod sfn_nested;
mod skew;
mod timeline;
mod vanisher;
mod workload;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Parser;
use serde_json::json;

use crate::checker::{FinalState, Verdict};
use crate::cluster::Cluster;
use crate::history::{now_ms, Recorder};
use crate::nemesis::Nemesis;

#[derive(Parser, Debug)]
#[command(
    name = "swf-chaos",
    about = "Jepsen-style chaos testing of an swfd cluster"
)]
struct Args {
    /// Cluster size: 3 or 5.
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Seconds of workload under faults.
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// Seed of the fault schedule and the workload.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where to write the JSON report (the timeline and logs go next to it).
    #[arg(long, default_value = "target/chaos/report.json")]
    report: PathBuf,
    /// Fault kinds (comma-separated): kill,pause,partition,netem,leader-transfer,membership,bad-member,clock.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "kill,pause,partition,netem,leader-transfer,membership,bad-member,clock"
    )]
    faults: Vec<String>,
    /// The swfd binary (default: `swfd` next to this executable).
    #[arg(long)]
    swfd: Option<PathBuf>,
    /// Concurrent deciders.
    #[arg(long, default_value_t = 4)]
    deciders: usize,
    /// Concurrent activity workers.
    #[arg(long, default_value_t = 8)]
    workers: usize,
    /// Workflow starts per second.
    #[arg(long, default_value_t = 2.0)]
    rate: f64,
    /// Pollers that vanish mid-poll (open a poll, drop the connection), each about two a second.
    #[arg(long, default_value_t = 1)]
    vanishers: usize,
    /// Seconds after healing within which every workflow must close.
    #[arg(long, default_value_t = 120)]
    liveness_secs: u64,
    /// Use loopback addresses instead of network namespaces (no partitions or link faults).
    #[arg(long)]
    loopback: bool,
    /// Multiplies the workload: starts per second, deciders and workers (5: about 5× the calls per
    /// second and a few hundred workflows open at once on 3 nodes).
    #[arg(long, default_value_t = 1.0)]
    intensity: f64,
    /// Faults every few seconds: held 2–5 s with 1–3 s between them (default 3–9 s and 3–7 s).
    #[arg(long)]
    fast_faults: bool,
    /// Network lane, 0 to 9, so several runs can share a machine: each lane has namespaces, links
    /// and a subnet of its own (`net`). Concurrent runs need different lanes.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=9))]
    lane: u8,
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "swf_chaos=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    net::set_lane(args.lane);
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let code = rt.block_on(async {
        tokio::select! {
            r = run(args) => match r {
                Ok(true) => 0,
                Ok(false) => 1,
                Err(e) => {
                    eprintln!("swf-chaos: error: {e:#}");
                    2
                }
            },
            _ = tokio::signal::ctrl_c() => {
                eprintln!("swf-chaos: interrupted; cleaning up");
                130
            }
        }
    });
    // Processes are killed when the cluster is dropped; remove namespaces and rules.
    net::clean_leftovers();
    std::process::exit(code);
}

fn default_swfd() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("swfd")))
        .unwrap_or_else(|| PathBuf::from("swfd"))
}

async fn run(args: Args) -> anyhow::Result<bool> {
    if args.nodes != 3 && args.nodes != 5 {
        bail!("--nodes must be 3 or 5");
    }
    if !(args.intensity > 0.0 && args.intensity <= 50.0) {
        bail!("--intensity must be above 0 and at most 50");
    }
    for k in &args.faults {
        if !nemesis::ALL_KINDS.contains(&k.as_str()) {
            bail!(
                "unknown fault kind {k:?}; known: {}",
                nemesis::ALL_KINDS.join(",")
            );
        }
    }
    let swfd = args.swfd.clone().unwrap_or_else(default_swfd);
    if !swfd.exists() {
        bail!("swfd binary not found at {} (use --swfd)", swfd.display());
    }
    let out_dir = args
        .report
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let stem = args
        .report
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("report")
        .to_string();
    std::fs::create_dir_all(&out_dir)?;
    let work = out_dir.join(format!("{stem}-work"));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;

    let caps = net::setup(args.nodes, args.loopback);
    let shim = if args.faults.iter().any(|k| k == "clock") {
        skew::build(&work.join("clocks"))
    } else {
        Err("not asked for".into())
    };
    let (kinds, unavailable) = nemesis::availability(&caps, shim.as_ref().err(), &args.faults);
    let clocks = shim.ok().map(|lib| skew::Clocks {
        lib,
        dir: work.join("clocks"),
    });
    let mut notes = Vec::new();
    if let Some(e) = &caps.namespace_error {
        notes.push(format!(
            "network namespaces unavailable ({e}); nodes on loopback addresses"
        ));
    }
    if caps.mode == net::NetMode::Namespaces && !caps.netem {
        notes.push(
            "tc netem is not available in this kernel; link faults use tbf + iptables random drop"
                .into(),
        );
    }
    if args.intensity != 1.0 {
        notes.push(format!("workload intensity x{}", args.intensity));
    }
    if args.fast_faults {
        notes.push("fast faults: held 2-5 s, 1-3 s apart".into());
    }
    for (k, w) in &unavailable {
        tracing::warn!(kind = %k, reason = %w, "fault not available");
    }
    let long_poll = 10;
    tracing::info!(nodes = args.nodes, mode = ?caps.mode, "starting cluster");
    let mut cluster = Cluster::start(&swfd, caps.mode, args.nodes, &work, long_poll, clocks)
        .await
        .context("starting the cluster")?;
    let endpoints = cluster.endpoints();
    let rec = Recorder::default();
    workload::register(&endpoints, &rec).await?;

    let t0 = now_ms();
    let scaled = |n: usize| ((n as f64 * args.intensity).round() as usize).max(1);
    let cfg = workload::Config {
        seed: args.seed,
        deciders: scaled(args.deciders),
        workers: scaled(args.workers),
        rate: args.rate * args.intensity,
        long_poll_secs: long_poll,
        vanishers: args.vanishers,
    };
    let load = workload::Workload::start(&cfg, &endpoints, &rec);
    // Step Functions executions and activity workers run beside the SWF workload, on the same nodes.
    let mut sfn_load = sfn::SfnLoad::start(&endpoints, 2, long_poll, load.shared.clone())
        .await
        .context("starting the Step Functions load")?;
    // Nested (`startExecution.sync:2`) parents of that machine, and Express runs answered in the call.
    let mut nested = sfn_nested::NestedLoad::start(
        &endpoints,
        sfn_load.state_machine_arn(),
        load.shared.clone(),
    )
    .await;
    let mut express = sfn_express::ExpressLoad::start(&endpoints, load.shared.clone()).await;
    let plan = nemesis::schedule(
        args.seed,
        args.duration as f64,
        args.nodes,
        &kinds,
        args.fast_faults,
    );
    let mut nem = Nemesis {
        caps: caps.clone(),
        t0_ms: t0,
        log: Vec::new(),
    };
    for p in &plan {
        let wait = t0 + p.at * 1000.0 - now_ms();
        if wait > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(wait / 1000.0)).await;
        }
        nem.run_fault(&mut cluster, p).await;
    }
    let rest = t0 + args.duration as f64 * 1000.0 - now_ms();
    if rest > 0.0 {
        tokio::time::sleep(Duration::from_secs_f64(rest / 1000.0)).await;
    }
    load.shared
        .stop_new
        .store(true, std::sync::atomic::Ordering::SeqCst);
    tracing::info!("healing");
    nem.heal_all(&mut cluster).await;
    let mut verdict_extra = Verdict::default();
    if let Err(e) = collect::wait_quiescent(&cluster, Duration::from_secs(90)).await {
        verdict_extra.flag(
            "liveness",
            json!({"problem": "cluster not quiescent after healing", "detail": e}),
        );
    }
    let healed_ms = now_ms();
    tracing::info!("healed; waiting for every workflow to close");
    let reader = client::Swf::new(endpoints.clone(), Recorder::default(), "checker", 0);
    let liveness_deadline = healed_ms + args.liveness_secs as f64 * 1000.0;
    while now_ms() < liveness_deadline {
        if let Ok(0) = collect::count_open(&reader).await {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    load.stop(Duration::from_secs(long_poll + 5)).await;
    sfn_load.stop(Duration::from_secs(long_poll + 5)).await;
    if let Some(n) = nested.as_mut() {
        n.stop(Duration::from_secs(long_poll + 5)).await;
    }
    if let Some(x) = express.as_mut() {
        x.stop(Duration::from_secs(15)).await;
    }
    let _ = collect::wait_quiescent(&cluster, Duration::from_secs(30)).await;
    tracing::info!("reading the final state");
    let mut fs = FinalState {
        healed_ms,
        liveness_bound_s: args.liveness_secs as f64,
        ..FinalState::default()
    };
    collect::histories(&reader, &mut fs).await;
    fs.digests = collect::digests(&cluster, Duration::from_secs(30)).await;
    let ops = rec.snapshot();
    let availability = checker::availability::measure(&ops, &nem.log, t0, args.duration as f64);
    let mut verdicts = checker::check_all(&ops, &fs, &availability);
    let mut sfn_verdict = sfn_load.check(&endpoints).await;
    let more = [
        match &nested {
            Some(n) => Some(n.check(&endpoints).await),
            None => None,
        },
        express.as_ref().map(|x| x.check()),
    ];
    for v in more.into_iter().flatten() {
        sfn_verdict.checked += v.checked;
        sfn_verdict.anomalies.extend(v.anomalies);
    }
    verdicts.insert("step-functions".into(), sfn_verdict);
    if !fs.read_errors.is_empty() {
        let mut v = Verdict::default();
        v.flag("final-state-read", json!({"problem": "the final state could not be read completely", "errors": fs.read_errors}));
        verdicts.insert("final-state-read".into(), v);
    }
    if !verdict_extra.anomalies.is_empty() {
        verdicts
            .get_mut("liveness")
            .expect("liveness verdict")
            .anomalies
            .extend(verdict_extra.anomalies);
    }
    cluster.stop_all();

    let timeline_path = out_dir.join(format!("{stem}-timeline.html"));
    let inputs = report::Inputs {
        seed: args.seed,
        nodes: args.nodes,
        duration_s: args.duration,
        network: match caps.mode {
            net::NetMode::Namespaces => "namespaces".into(),
            net::NetMode::Loopback => "loopback".into(),
        },
        faults_requested: args.faults.clone(),
        faults_unavailable: unavailable,
        ops: &ops,
        fault_log: &nem.log,
        verdicts: &verdicts,
        availability: &availability,
        workflows: fs.histories.len(),
        notes,
        timeline: timeline_path.display().to_string(),
    };
    let (json_report, summary) = report::build(&inputs);
    std::fs::write(&args.report, serde_json::to_vec_pretty(&json_report)?)?;
    std::fs::write(
        &timeline_path,
        timeline::render(
            &format!("swf-chaos seed {} ({} nodes)", args.seed, args.nodes),
            &ops,
            &nem.log,
            &availability,
            t0,
            &summary,
        ),
    )?;
    let mut f = std::io::BufWriter::new(std::fs::File::create(
        out_dir.join(format!("{stem}-ops.jsonl")),
    )?);
    for op in &ops {
        serde_json::to_writer(&mut f, op)?;
        f.write_all(b"\n")?;
    }
    f.flush()?;
    // Keep the node logs, drop the data directories.
    for n in &cluster.nodes {
        let _ = std::fs::remove_dir_all(&n.data_dir);
    }
    print!("{summary}");
    println!("report: {}", args.report.display());
    Ok(json_report["ok"] == true)
}
