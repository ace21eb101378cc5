//! The report: JSON (`ok`, `operations`, `faults`, `fault_log`, `fault_windows` with each window's
//! availability figures, `anomalies`, per-invariant counts) and a readable summary.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};

use crate::checker::availability::{self, Availability};
use crate::checker::{Anomaly, Verdict, INVARIANTS};
use crate::history::Op;
use crate::nemesis::FaultRecord;

/// Everything the report is made of.
pub struct Inputs<'a> {
    pub seed: u64,
    pub nodes: usize,
    pub duration_s: u64,
    pub network: String,
    pub faults_requested: Vec<String>,
    pub faults_unavailable: Vec<(String, String)>,
    pub ops: &'a [Op],
    pub fault_log: &'a [FaultRecord],
    pub verdicts: &'a BTreeMap<String, Verdict>,
    /// The fault windows' throughput ratio and time to recover.
    pub availability: &'a Availability,
    pub workflows: usize,
    pub notes: Vec<String>,
    pub timeline: String,
}

#[derive(Serialize)]
struct InvariantCount {
    checked: u64,
    violations: usize,
}

/// The JSON report and the summary text.
pub fn build(i: &Inputs) -> (Value, String) {
    let mut by_action: BTreeMap<&str, BTreeMap<&str, u64>> = BTreeMap::new();
    let mut by_outcome: BTreeMap<&str, u64> = BTreeMap::new();
    for op in i.ops {
        *by_action
            .entry(&op.action)
            .or_default()
            .entry(op.outcome.kind())
            .or_default() += 1;
        *by_outcome.entry(op.outcome.kind()).or_default() += 1;
    }
    let mut fault_counts: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for f in i.fault_log {
        let c = fault_counts.entry(&f.kind).or_default();
        c.0 += 1;
        if f.applied {
            c.1 += 1;
        }
    }
    let anomalies: Vec<&Anomaly> = i.verdicts.values().flat_map(|v| &v.anomalies).collect();
    let invariants: BTreeMap<&str, InvariantCount> = INVARIANTS
        .iter()
        .map(|name| {
            let v = i.verdicts.get(*name).cloned().unwrap_or_default();
            (
                *name,
                InvariantCount {
                    checked: v.checked,
                    violations: v.anomalies.len(),
                },
            )
        })
        .collect();
    let ok = anomalies.is_empty();
    let mut s = String::new();
    s.push_str(&format!(
        "swf-chaos: {} — seed {}, {} nodes, {} s, network: {}\n",
        if ok { "OK" } else { "ANOMALIES FOUND" },
        i.seed,
        i.nodes,
        i.duration_s,
        i.network
    ));
    s.push_str(&format!(
        "operations: {} ({})\n",
        i.ops.len(),
        by_outcome
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    s.push_str(&format!("workflows in the final state: {}\n", i.workflows));
    s.push_str(&format!(
        "faults: {}\n",
        fault_counts
            .iter()
            .map(|(k, (n, a))| format!("{k} {a}/{n} applied"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    for (k, why) in &i.faults_unavailable {
        s.push_str(&format!("  not run: {k} ({why})\n"));
    }
    s.push_str("invariants:\n");
    for (name, c) in &invariants {
        s.push_str(&format!(
            "  {:<28} checked {:>6}  violations {}\n",
            name, c.checked, c.violations
        ));
    }
    for line in availability::summary_lines(i.availability) {
        s.push_str(&line);
        s.push('\n');
    }
    for n in &i.notes {
        s.push_str(&format!("note: {n}\n"));
    }
    for a in anomalies.iter().take(20) {
        let mut ev = a.evidence.to_string();
        ev.truncate(400);
        s.push_str(&format!("ANOMALY {}: {ev}\n", a.invariant));
    }
    s.push_str(&format!("timeline: {}\n", i.timeline));
    let report = json!({
        "ok": ok,
        "seed": i.seed,
        "nodes": i.nodes,
        "duration_secs": i.duration_s,
        "network": i.network,
        "faults_requested": i.faults_requested,
        "faults_unavailable": i.faults_unavailable.iter().map(|(k, w)| json!({"kind": k, "reason": w})).collect::<Vec<_>>(),
        "operations": {"total": i.ops.len(), "by_outcome": by_outcome, "by_action": by_action},
        "workflows": i.workflows,
        "faults": {
            "total": i.fault_log.len(),
            "applied": i.fault_log.iter().filter(|f| f.applied).count(),
            "by_kind": fault_counts.iter().map(|(k, (n, a))| (k.to_string(), json!({"planned": n, "applied": a}))).collect::<BTreeMap<_, _>>(),
        },
        "fault_log": i.fault_log,
        "fault_windows": i.availability,
        "anomalies": anomalies,
        "invariants": invariants,
        "notes": i.notes,
        "timeline": i.timeline,
        "summary": s,
    });
    (report, s)
}
