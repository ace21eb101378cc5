//! Invariant 8, availability (a service level, not a safety property): in every fault window that
//! leaves a connected majority (a node killed, paused, removed or partitioned away, the leader
//! included), calls through the majority's nodes succeed again within `RECOVERY_S` of the fault and
//! run at no less than `MIN_RATIO` of their rate before it.
//!
//! Figures, per applied fault window (all of them are reported; the windows above are checked):
//! - `recovery_s`: the longest time within the window without a successful call through the nodes
//!   not cut off (the outage the fault caused; the window's start counts as a success, so calls that
//!   stop at the start and never resume give the whole window);
//! - `ratio`: successful calls per second through those nodes from `start + recovery bound` to the
//!   window's end, over the same in the `BASELINE_S` before the fault (after the previous fault healed
//!   and `SETTLE_S` passed).
//!
//! A successful call is an ok answer other than an empty poll (an empty poll is a success that says
//! nothing about throughput). The bounds take the run's own noise into account, measured in the calm
//! seconds outside fault windows: the recovery bound adds the longest calm gap between successes (up
//! to `MAX_NOISE_GAP_S`), and the ratio bound is lowered by two standard errors of the ratio that the
//! per-second spread of calm throughput alone would give (to at most half of `MIN_RATIO`). A loaded
//! 2-core machine thus gets the slack its own figures show, and a collapse (ratio near zero, or no
//! success for seconds after an election) is still caught.

use serde::Serialize;
use serde_json::json;

use super::Verdict;
use crate::history::{Op, OpKey};
use crate::nemesis::FaultRecord;

pub const NAME: &str = "availability";

/// Calls through the majority succeed again within this long of the fault.
pub const RECOVERY_S: f64 = 2.0;

/// ... and run at no less than this fraction of their rate before it.
pub const MIN_RATIO: f64 = 0.5;

/// The rate before a fault is measured over at most this long.
const BASELINE_S: f64 = 5.0;

/// After a fault heals, this long is neither a baseline nor calm (restarted nodes catch up).
const SETTLE_S: f64 = 1.0;

/// Shortest baseline worth a ratio.
const MIN_BASELINE_S: f64 = 2.0;

/// Most the calm gap between successes may add to the recovery bound.
const MAX_NOISE_GAP_S: f64 = 1.0;

/// Fault kinds whose windows are checked, recovery and ratio (when a majority stays connected). A
/// `pause` freezes a node that still accepts connections: the workload's drivers give up on it after
/// their attempt timeout and fail over, as a production client does (`workload::CALL_TIMEOUT`,
/// `workload::FAIL_BACK`); before they did, a paused node held them for their whole 10 s client
/// timeout and the ratio measured the drivers (0.19-0.96 for the same build), not the service.
const CHECKED_KINDS: &[&str] = &["kill", "pause", "partition"];

/// The figures of one fault window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowFigures {
    pub kind: String,
    /// Seconds since the workload started.
    pub start: f64,
    pub end: f64,
    /// Node ids cut off; the figures count calls through the other nodes.
    pub isolated: Vec<usize>,
    /// Whether the bounds apply to this window.
    pub checked: bool,
    pub baseline_per_s: Option<f64>,
    pub during_per_s: Option<f64>,
    pub ratio: Option<f64>,
    pub recovery_s: Option<f64>,
    /// The bounds this window was held to.
    pub ratio_bound: Option<f64>,
    pub recovery_bound: f64,
}

/// The run's noise, from the calm seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Noise {
    pub calm_seconds: usize,
    /// Successful calls per calm second: mean and standard deviation.
    pub calm_mean_per_s: f64,
    pub calm_sd_per_s: f64,
    /// The longest calm time without a success.
    pub calm_max_gap_s: f64,
}

/// Every window's figures and the noise they were judged with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Availability {
    pub windows: Vec<WindowFigures>,
    pub noise: Noise,
}

/// Whether `op` counts as a successful call.
fn success(op: &Op) -> bool {
    op.outcome.is_ok() && !(op.action.starts_with("Poll") && op.key == OpKey::Other)
}

/// Completion times (s since `t0_ms`) of the successful calls, sorted, with the node (1-based).
fn successes(ops: &[Op], t0_ms: f64) -> Vec<(f64, usize)> {
    let mut out: Vec<(f64, usize)> = ops
        .iter()
        .filter(|o| success(o))
        .map(|o| ((o.complete_ms - t0_ms) / 1000.0, o.node + 1))
        .collect();
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

fn count(s: &[(f64, usize)], from: f64, to: f64, excluded: &[usize]) -> usize {
    s.iter()
        .filter(|(t, n)| *t >= from && *t < to && !excluded.contains(n))
        .count()
}

/// Measures every applied fault window of `faults` (times in s since `t0_ms`) in `ops`; `end_s` is
/// when the workload stopped being under faults.
pub fn measure(ops: &[Op], faults: &[FaultRecord], t0_ms: f64, end_s: f64) -> Availability {
    let s = successes(ops, t0_ms);
    let mut faults: Vec<&FaultRecord> = faults.iter().collect();
    faults.sort_by(|a, b| a.start.total_cmp(&b.start));

    // Calm time: outside every window (from a second before it, as the fault's start is logged
    // before it is injected) and its settling time; the run's first seconds are the workload warming up.
    let mut busy: Vec<(f64, f64)> = vec![(0.0, SETTLE_S + 1.0)];
    busy.extend(faults.iter().map(|f| (f.start - 1.0, f.end + SETTLE_S)));
    let calm = |a: f64, b: f64| busy.iter().all(|(from, to)| b <= *from || a >= *to);
    let mut per_s = Vec::new();
    let mut sec = 0.0;
    while sec + 1.0 <= end_s {
        if calm(sec, sec + 1.0) {
            per_s.push(count(&s, sec, sec + 1.0, &[]) as f64);
        }
        sec += 1.0;
    }
    let calm_max_gap = s
        .windows(2)
        .filter(|w| w[1].0 <= end_s && calm(w[0].0, w[1].0))
        .map(|w| w[1].0 - w[0].0)
        .fold(0.0f64, f64::max);
    let n = per_s.len().max(1) as f64;
    let mean = per_s.iter().sum::<f64>() / n;
    let sd = (per_s.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / n).sqrt();
    let noise = Noise {
        calm_seconds: per_s.len(),
        calm_mean_per_s: mean,
        calm_sd_per_s: sd,
        calm_max_gap_s: calm_max_gap,
    };
    let recovery_bound = RECOVERY_S + calm_max_gap.min(MAX_NOISE_GAP_S);
    let cv = if mean > 0.0 { sd / mean } else { 1.0 };

    let mut windows = Vec::new();
    let mut prev_end = 0.0f64;
    for f in faults {
        let fault_prev_end = prev_end;
        prev_end = prev_end.max(f.end);
        if !f.applied || f.end - f.start < 1.0 {
            continue;
        }
        let excluded = &f.isolated;
        let base_from = (fault_prev_end + SETTLE_S)
            .max(f.start - BASELINE_S)
            .max(0.0);
        let base_len = f.start - base_from;
        let baseline = (base_len >= MIN_BASELINE_S)
            .then(|| count(&s, base_from, f.start, excluded) as f64 / base_len);
        let during_from = f.start + recovery_bound;
        let during_len = f.end - during_from;
        let during = (during_len >= 1.0)
            .then(|| count(&s, during_from, f.end, excluded) as f64 / during_len);
        let ratio = match (baseline, during) {
            (Some(b), Some(d)) if b > 0.0 => Some(d / b),
            _ => None,
        };
        // The longest stretch without a success through the majority, from the start to the end.
        let mut last = f.start;
        let mut gap: f64 = 0.0;
        for (t, node) in &s {
            if *t < f.start || excluded.contains(node) {
                continue;
            }
            if *t > f.end {
                break;
            }
            gap = gap.max(t - last);
            last = *t;
        }
        gap = gap.max(f.end - last);
        let ratio_bound = (baseline.is_some() && during.is_some()).then(|| {
            let se = cv * (1.0 / during_len + 1.0 / base_len).sqrt();
            (MIN_RATIO * (1.0 - 2.0 * se)).max(MIN_RATIO / 2.0)
        });
        windows.push(WindowFigures {
            kind: f.kind.clone(),
            start: f.start,
            end: f.end,
            isolated: f.isolated.clone(),
            checked: CHECKED_KINDS.contains(&f.kind.as_str()) && !f.isolated.is_empty(),
            baseline_per_s: baseline,
            during_per_s: during,
            ratio,
            recovery_s: Some(gap),
            ratio_bound,
            recovery_bound,
        });
    }
    Availability { windows, noise }
}

/// Flags every checked window that recovered too slowly or ran too slowly.
pub fn check(a: &Availability) -> Verdict {
    let mut v = Verdict::default();
    for w in a.windows.iter().filter(|w| w.checked) {
        v.checked += 1;
        if let Some(r) = w.recovery_s {
            if r > w.recovery_bound {
                v.flag(
                    NAME,
                    json!({"problem": format!("no successful call through the majority for {r:.1} s (bound {:.1} s)", w.recovery_bound),
                        "window": w, "noise": a.noise}),
                );
            }
        }
        if let (Some(ratio), Some(bound)) = (w.ratio, w.ratio_bound) {
            if ratio < bound {
                v.flag(
                    NAME,
                    json!({"problem": format!("throughput through the majority {:.0} % of before (bound {:.0} %)", ratio * 100.0, bound * 100.0),
                        "window": w, "noise": a.noise}),
                );
            }
        }
    }
    v
}

/// One line per window for the summary.
pub fn summary_lines(a: &Availability) -> Vec<String> {
    let f = |x: Option<f64>, d: usize| x.map_or("n/a".to_string(), |x| format!("{x:.d$}"));
    let mut out = vec![format!(
        "availability noise: {} calm s, {:.1} ± {:.1} ok calls/s, longest calm gap {:.2} s",
        a.noise.calm_seconds,
        a.noise.calm_mean_per_s,
        a.noise.calm_sd_per_s,
        a.noise.calm_max_gap_s
    )];
    for w in &a.windows {
        out.push(format!(
            "  {:<16} {:>5.1}-{:<5.1} s cut off {:?}: recovery {} s (bound {:.1}), rate {} -> {} /s, ratio {} (bound {}){}",
            w.kind,
            w.start,
            w.end,
            w.isolated,
            f(w.recovery_s, 2),
            w.recovery_bound,
            f(w.baseline_per_s, 1),
            f(w.during_per_s, 1),
            f(w.ratio, 2),
            f(w.ratio_bound, 2),
            if w.checked {
                ""
            } else {
                " [not checked]"
            }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::testkit::op;
    use crate::history::Outcome;

    /// `rate` successful calls per second to each node in `nodes` over `[from, to)` s.
    fn steady(ops: &mut Vec<Op>, from: f64, to: f64, rate: f64, nodes: &[usize]) {
        let mut t = from;
        while t < to {
            for &n in nodes {
                let mut o = op("SignalWorkflowExecution", Outcome::Ok, OpKey::Other, t);
                o.node = n;
                o.complete_ms = t * 1000.0;
                ops.push(o);
            }
            t += 1.0 / rate;
        }
    }

    fn fault(kind: &str, start: f64, end: f64, isolated: Vec<usize>) -> FaultRecord {
        FaultRecord {
            kind: kind.into(),
            targets: isolated.clone(),
            start,
            end,
            applied: true,
            detail: String::new(),
            isolated,
        }
    }

    #[test]
    fn a_quick_recovery_passes_and_a_collapse_is_flagged() {
        // Steady 10/s per node; node 1 (index 0) killed 20-28 s.
        let mut ok = Vec::new();
        steady(&mut ok, 0.0, 20.0, 10.0, &[0, 1, 2]);
        steady(&mut ok, 20.8, 28.0, 10.0, &[1, 2]);
        steady(&mut ok, 28.0, 40.0, 10.0, &[0, 1, 2]);
        let faults = vec![fault("kill", 20.0, 28.0, vec![1])];
        let a = measure(&ok, &faults, 0.0, 40.0);
        let w = &a.windows[0];
        assert!(w.checked);
        assert!((w.recovery_s.unwrap() - 0.8).abs() < 0.15, "{w:?}");
        assert!((w.ratio.unwrap() - 1.0).abs() < 0.1, "{w:?}");
        assert!(check(&a).anomalies.is_empty(), "{:?}", check(&a));

        // Zero throughput for the whole window (the defect this checker was written for).
        let mut stalled = Vec::new();
        steady(&mut stalled, 0.0, 20.0, 10.0, &[0, 1, 2]);
        steady(&mut stalled, 28.0, 40.0, 10.0, &[0, 1, 2]);
        let a = measure(&stalled, &faults, 0.0, 40.0);
        let v = check(&a);
        assert_eq!(v.anomalies.len(), 2, "slow recovery and low ratio: {v:?}");

        // Recovered after 4 s: too slow, although the rate afterwards is fine.
        let mut slow = Vec::new();
        steady(&mut slow, 0.0, 20.0, 10.0, &[0, 1, 2]);
        steady(&mut slow, 24.0, 40.0, 10.0, &[1, 2]);
        let v = check(&measure(&slow, &faults, 0.0, 40.0));
        assert_eq!(v.anomalies.len(), 1, "{v:?}");
        assert!(v.anomalies[0].evidence["problem"]
            .as_str()
            .unwrap()
            .contains("no successful call"));
    }

    #[test]
    fn calls_through_the_cut_off_node_and_empty_polls_do_not_count() {
        let mut ops = Vec::new();
        steady(&mut ops, 0.0, 20.0, 10.0, &[0, 1, 2]);
        // During the window only node 1 (cut off) answers, and empty polls elsewhere.
        steady(&mut ops, 20.0, 28.0, 10.0, &[0]);
        let mut t = 20.0;
        while t < 28.0 {
            let mut p = op("PollForActivityTask", Outcome::Ok, OpKey::Other, t);
            p.node = 1;
            p.complete_ms = t * 1000.0;
            ops.push(p);
            t += 0.1;
        }
        let a = measure(&ops, &[fault("partition", 20.0, 28.0, vec![1])], 0.0, 30.0);
        assert_eq!(a.windows[0].during_per_s, Some(0.0));
        assert_eq!(check(&a).anomalies.len(), 2);
    }

    #[test]
    fn a_pause_window_is_checked_for_its_ratio_too() {
        // Recovery is quick (calls go on through the majority) but at a fifth of the rate before.
        let mut ops = Vec::new();
        steady(&mut ops, 0.0, 20.0, 10.0, &[0, 1]);
        steady(&mut ops, 20.0, 28.0, 2.0, &[0, 1]);
        steady(&mut ops, 28.0, 30.0, 10.0, &[0, 1]);
        let a = measure(&ops, &[fault("pause", 20.0, 28.0, vec![2])], 0.0, 30.0);
        let w = &a.windows[0];
        assert!(w.checked && w.recovery_s.unwrap() < RECOVERY_S, "{w:?}");
        assert!(w.ratio.unwrap() < 0.3, "{w:?}");
        let v = check(&a);
        assert_eq!(v.anomalies.len(), 1, "{v:?}");
        assert!(v.anomalies[0].evidence["problem"]
            .as_str()
            .unwrap()
            .contains("throughput through the majority"));
    }

    #[test]
    fn unchecked_kinds_are_reported_and_noise_loosens_the_ratio_bound() {
        let mut ops = Vec::new();
        // Noisy calm throughput: alternating 2 and 18 calls a second.
        for s in 0..40 {
            let rate = if s % 2 == 0 { 2.0 } else { 18.0 };
            steady(&mut ops, s as f64, s as f64 + 1.0, rate, &[1]);
        }
        let faults = vec![
            fault("netem", 10.0, 16.0, vec![]),
            fault("pause", 24.0, 30.0, vec![1]),
        ];
        let a = measure(&ops, &faults, 0.0, 40.0);
        assert!(!a.windows[0].checked);
        assert!(a.windows[1].checked);
        assert!(a.noise.calm_sd_per_s > 5.0, "{:?}", a.noise);
        let bound = a.windows[1].ratio_bound.unwrap();
        assert!((MIN_RATIO / 2.0..MIN_RATIO).contains(&bound), "{bound}");
        // Steady calm throughput keeps the full bound.
        let mut ops = Vec::new();
        steady(&mut ops, 0.0, 40.0, 10.0, &[1]);
        let a = measure(&ops, &faults, 0.0, 40.0);
        assert!((a.windows[1].ratio_bound.unwrap() - MIN_RATIO).abs() < 0.05);
        assert_eq!(summary_lines(&a).len(), 3);
    }
}
