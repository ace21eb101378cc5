//! The network the nodes live on. Preferred: one network namespace per node (`swfc-nN`, address
//! `10.77.0.(10+N)`), joined by veth pairs to a bridge (`swfc0`, `10.77.0.1`) in the root namespace,
//! where the workload runs. Partitions are iptables DROP rules inside the namespaces between node
//! addresses (client traffic from the bridge address is never dropped); slow and lossy links are
//! `tc netem` on a node's interface, or, where the kernel has no netem, a `tbf` rate limit plus an
//! iptables random drop. Fallback when namespaces cannot be made: plain loopback addresses
//! (127.0.0.11, ...) where partitions and link faults cannot tell nodes apart, so they are not run.
//!
//! Lanes (`--lane L`, 1 to 9) let runs share a machine: lane L names everything `swfcL-...`, uses
//! the subnet `10.77.L.0/24` (loopback `127.0.L.x`) and cleans only its own leftovers. Lane 0, the
//! default, keeps the names above.

use std::process::Command;
use std::sync::OnceLock;

static LANE: OnceLock<u8> = OnceLock::new();

/// Chooses the lane of this run (once, before anything is created).
pub fn set_lane(lane: u8) {
    let _ = LANE.set(lane);
}

fn lane() -> u8 {
    LANE.get().copied().unwrap_or(0)
}

/// Name prefix of everything this run creates (namespaces, links).
fn prefix() -> String {
    match lane() {
        0 => "swfc".to_string(),
        l => format!("swfc{l}"),
    }
}

fn bridge() -> String {
    match lane() {
        0 => "swfc0".to_string(),
        l => format!("swfc{l}br"),
    }
}

/// How nodes are addressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetMode {
    Namespaces,
    Loopback,
}

/// What this machine can do, probed at start.
#[derive(Debug, Clone)]
pub struct Capabilities {
    pub mode: NetMode,
    /// Why namespaces were not used (loopback mode only).
    pub namespace_error: Option<String>,
    pub iptables: bool,
    pub netem: bool,
    pub tbf: bool,
}

/// Runs a command; Ok(stdout) or Err(stderr / spawn error).
pub fn run(program: &str, args: &[&str]) -> Result<String, String> {
    match Command::new(program).args(args).output() {
        Err(e) => Err(format!("{program}: {e}")),
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).into_owned()),
        Ok(o) => Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr).trim()
        )),
    }
}

/// Runs a command inside node `n`'s namespace.
pub fn in_ns(n: usize, program: &str, args: &[&str]) -> Result<String, String> {
    let ns = ns_name(n);
    let mut all = vec!["netns", "exec", ns.as_str(), program];
    all.extend_from_slice(args);
    run("ip", &all)
}

pub fn ns_name(n: usize) -> String {
    format!("{}-n{n}", prefix())
}

/// The address of node `n` (1-based) in a mode.
pub fn node_ip(mode: NetMode, n: usize) -> String {
    match mode {
        NetMode::Namespaces => format!("10.77.{}.{}", lane(), 10 + n),
        NetMode::Loopback => format!("127.0.{}.{}", lane(), 10 + n),
    }
}

/// Removes what an earlier (crashed) run may have left: processes in our namespaces, the namespaces,
/// the bridge.
pub fn clean_leftovers() {
    if let Ok(list) = run("ip", &["netns", "list"]) {
        for line in list.lines() {
            let name = line.split_whitespace().next().unwrap_or("");
            if name.starts_with(&format!("{}-n", prefix())) {
                if let Ok(pids) = run("ip", &["netns", "pids", name]) {
                    for pid in pids.split_whitespace() {
                        let _ = run("kill", &["-CONT", pid]);
                        let _ = run("kill", &["-KILL", pid]);
                    }
                }
                let _ = run("ip", &["netns", "del", name]);
            }
        }
    }
    let _ = run("ip", &["link", "del", &bridge()]);
}

/// Creates the namespaces for `n` nodes (or falls back to loopback) and probes the fault tools.
pub fn setup(n: usize, force_loopback: bool) -> Capabilities {
    clean_leftovers();
    let ns = if force_loopback {
        Err("loopback requested with --loopback".to_string())
    } else {
        make_namespaces(n)
    };
    match ns {
        Ok(()) => {
            let iptables = in_ns(1, "iptables", &["-L", "-n"]).is_ok();
            let netem = probe_qdisc(&["netem", "delay", "1ms"]);
            let tbf = probe_qdisc(&[
                "tbf", "rate", "1mbit", "burst", "32kbit", "latency", "400ms",
            ]);
            Capabilities {
                mode: NetMode::Namespaces,
                namespace_error: None,
                iptables,
                netem,
                tbf,
            }
        }
        Err(e) => {
            clean_leftovers();
            Capabilities {
                mode: NetMode::Loopback,
                namespace_error: Some(e),
                iptables: false,
                netem: false,
                tbf: false,
            }
        }
    }
}

fn probe_qdisc(spec: &[&str]) -> bool {
    let mut args = vec!["qdisc", "add", "dev", "eth0", "root"];
    args.extend_from_slice(spec);
    let ok = in_ns(1, "tc", &args).is_ok();
    let _ = in_ns(1, "tc", &["qdisc", "del", "dev", "eth0", "root"]);
    ok
}

fn make_namespaces(n: usize) -> Result<(), String> {
    let bridge = bridge();
    let bridge_addr = format!("10.77.{}.1/24", lane());
    run("ip", &["link", "add", &bridge, "type", "bridge"])?;
    run("ip", &["addr", "add", &bridge_addr, "dev", &bridge])?;
    run("ip", &["link", "set", &bridge, "up"])?;
    for i in 1..=n {
        let ns = ns_name(i);
        let veth = format!("{}v{i}", prefix());
        run("ip", &["netns", "add", &ns])?;
        run(
            "ip",
            &[
                "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
            ],
        )?;
        run("ip", &["link", "set", &veth, "master", &bridge, "up"])?;
        let addr = format!("{}/24", node_ip(NetMode::Namespaces, i));
        in_ns(i, "ip", &["addr", "add", &addr, "dev", "eth0"])?;
        in_ns(i, "ip", &["link", "set", "eth0", "up"])?;
        in_ns(i, "ip", &["link", "set", "lo", "up"])?;
    }
    Ok(())
}

/// Drops all traffic between nodes `a` and `b` (both directions, in both namespaces).
pub fn cut(a: usize, b: usize) -> Result<(), String> {
    for (x, y) in [(a, b), (b, a)] {
        let peer = node_ip(NetMode::Namespaces, y);
        in_ns(x, "iptables", &["-A", "INPUT", "-s", &peer, "-j", "DROP"])?;
        in_ns(x, "iptables", &["-A", "OUTPUT", "-d", &peer, "-j", "DROP"])?;
    }
    Ok(())
}

/// A slow, lossy link on node `n`: netem where available, else tbf plus an iptables random drop.
/// Returns a description of what was applied.
pub fn degrade(
    caps: &Capabilities,
    n: usize,
    delay_ms: u32,
    loss_pct: u32,
) -> Result<String, String> {
    if caps.netem {
        let delay = format!("{delay_ms}ms");
        let jitter = format!("{}ms", delay_ms / 2);
        let loss = format!("{loss_pct}%");
        in_ns(
            n,
            "tc",
            &[
                "qdisc", "add", "dev", "eth0", "root", "netem", "delay", &delay, &jitter, "loss",
                &loss,
            ],
        )?;
        return Ok(format!("netem delay {delay} ±{jitter} loss {loss}"));
    }
    let mut done = Vec::new();
    if caps.tbf {
        in_ns(
            n,
            "tc",
            &[
                "qdisc", "add", "dev", "eth0", "root", "tbf", "rate", "256kbit", "burst", "8kbit",
                "latency", "500ms",
            ],
        )?;
        done.push("tbf rate 256kbit (no netem in this kernel)".to_string());
    }
    if caps.iptables {
        let p = format!("{:.2}", loss_pct as f64 / 100.0);
        for chain in ["INPUT", "OUTPUT"] {
            in_ns(
                n,
                "iptables",
                &[
                    "-A",
                    chain,
                    "-m",
                    "statistic",
                    "--mode",
                    "random",
                    "--probability",
                    &p,
                    "-j",
                    "DROP",
                ],
            )?;
        }
        done.push(format!("iptables random drop {loss_pct}%"));
    }
    if done.is_empty() {
        return Err("neither netem, tbf nor iptables is available".into());
    }
    Ok(done.join(" + "))
}

/// Removes every rule and qdisc from node `n`'s namespace.
pub fn heal_node(caps: &Capabilities, n: usize) {
    if caps.mode != NetMode::Namespaces {
        return;
    }
    if caps.iptables {
        let _ = in_ns(n, "iptables", &["-F"]);
    }
    let _ = in_ns(n, "tc", &["qdisc", "del", "dev", "eth0", "root"]);
}
