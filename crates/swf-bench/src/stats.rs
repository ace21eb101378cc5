//! Latency and throughput recording: every call's duration per action, workflow completions, errors by
//! kind, and a per-second timeline; summarised as percentiles for the JSON report and the progress line.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
}

impl Percentiles {
    /// Summarises samples given in microseconds (sorts them in place).
    pub fn of(samples: &mut [u32]) -> Percentiles {
        if samples.is_empty() {
            return Percentiles::default();
        }
        samples.sort_unstable();
        let at = |q: f64| {
            let idx = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
            samples[idx] as f64 / 1000.0
        };
        let sum: u64 = samples.iter().map(|&s| s as u64).sum();
        Percentiles {
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            p999: at(0.999),
            max: *samples.last().expect("non-empty") as f64 / 1000.0,
            mean: sum as f64 / samples.len() as f64 / 1000.0,
        }
    }
}

/// One second of the run.
#[derive(Debug, Clone, Serialize)]
pub struct Tick {
    pub t: u64,
    pub workflows: u64,
    pub calls: u64,
    pub errors: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

#[derive(Default)]
struct Inner {
    /// Every call of the measured window: (action, microseconds).
    samples: Vec<(&'static str, u32)>,
    /// Latencies of the current second, for the timeline.
    interval: Vec<u32>,
    errors: BTreeMap<String, u64>,
    /// Extra distributions a workload records (e.g. timer lateness), in microseconds.
    extra: BTreeMap<&'static str, Vec<u32>>,
}

/// Shared by all drivers of one run.
#[derive(Default)]
pub struct Stats {
    inner: Mutex<Inner>,
    workflows: AtomicU64,
    calls: AtomicU64,
    errors: AtomicU64,
    /// False during warm-up: nothing is recorded.
    recording: std::sync::atomic::AtomicBool,
}

impl Stats {
    pub fn set_recording(&self, on: bool) {
        self.recording.store(on, Ordering::SeqCst);
    }

    fn recording(&self) -> bool {
        self.recording.load(Ordering::Relaxed)
    }

    pub fn call(&self, action: &'static str, took: Duration, error: Option<String>) {
        if !self.recording() {
            return;
        }
        let micros = took.as_micros().min(u32::MAX as u128) as u32;
        self.calls.fetch_add(1, Ordering::Relaxed);
        let mut inner = self.inner.lock().expect("stats lock");
        inner.samples.push((action, micros));
        inner.interval.push(micros);
        if let Some(kind) = error {
            self.errors.fetch_add(1, Ordering::Relaxed);
            *inner.errors.entry(kind).or_default() += 1;
        }
    }

    pub fn workflow_done(&self) {
        if self.recording() {
            self.workflows.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn extra(&self, name: &'static str, value: Duration) {
        if self.recording() {
            let micros = value.as_micros().min(u32::MAX as u128) as u32;
            let mut inner = self.inner.lock().expect("stats lock");
            inner.extra.entry(name).or_default().push(micros);
        }
    }

    pub fn totals(&self) -> (u64, u64, u64) {
        (
            self.workflows.load(Ordering::Relaxed),
            self.calls.load(Ordering::Relaxed),
            self.errors.load(Ordering::Relaxed),
        )
    }

    /// Takes the latencies recorded since the last call (for the per-second timeline).
    pub fn take_interval(&self) -> Vec<u32> {
        std::mem::take(&mut self.inner.lock().expect("stats lock").interval)
    }

    /// The final summary: overall and per-action percentiles, errors by kind, extra distributions.
    pub fn summary(&self) -> Summary {
        let inner = self.inner.lock().expect("stats lock");
        let mut all: Vec<u32> = inner.samples.iter().map(|&(_, m)| m).collect();
        let mut by_action: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
        for &(a, m) in &inner.samples {
            by_action.entry(a).or_default().push(m);
        }
        Summary {
            latency: Percentiles::of(&mut all),
            per_action: by_action
                .into_iter()
                .map(|(a, mut v)| {
                    (
                        a.to_string(),
                        ActionSummary {
                            calls: v.len() as u64,
                            latency_ms: Percentiles::of(&mut v),
                        },
                    )
                })
                .collect(),
            errors_by_kind: inner.errors.clone(),
            extra: inner
                .extra
                .iter()
                .map(|(k, v)| (k.to_string(), Percentiles::of(&mut v.clone())))
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ActionSummary {
    pub calls: u64,
    pub latency_ms: Percentiles,
}

pub struct Summary {
    pub latency: Percentiles,
    pub per_action: BTreeMap<String, ActionSummary>,
    pub errors_by_kind: BTreeMap<String, u64>,
    pub extra: BTreeMap<String, Percentiles>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_nearest_rank() {
        let mut v: Vec<u32> = (1..=1000).map(|i| i * 1000).collect();
        let p = Percentiles::of(&mut v);
        assert_eq!(p.p50, 500.0);
        assert_eq!(p.p90, 900.0);
        assert_eq!(p.p99, 990.0);
        assert_eq!(p.p999, 999.0);
        assert_eq!(p.max, 1000.0);
        assert_eq!(Percentiles::of(&mut []), Percentiles::default());
    }

    #[test]
    fn warm_up_is_not_recorded() {
        let s = Stats::default();
        s.call("A", Duration::from_millis(1), None);
        s.workflow_done();
        assert_eq!(s.totals(), (0, 0, 0));
        s.set_recording(true);
        s.call("A", Duration::from_millis(2), Some("Transport".into()));
        s.workflow_done();
        assert_eq!(s.totals(), (1, 1, 1));
        let sum = s.summary();
        assert_eq!(sum.per_action["A"].calls, 1);
        assert_eq!(sum.errors_by_kind["Transport"], 1);
        assert_eq!(sum.latency.max, 2.0);
    }
}
