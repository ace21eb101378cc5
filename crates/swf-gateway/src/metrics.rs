//! The gateway's Prometheus metrics and the `/metrics` exposition (on the admin listener).
//!
//! Every call the node takes is counted by API, action, outcome (`ok` or the fault's code) and route
//! (`local`: this node led when the call came in; `forwarded`: it went to another node), with its
//! latency; open connections are counted per listener. A call is slow when it took longer than the
//! threshold (`--slow-call-ms`), long-poll wait excluded: it is counted and logged at WARN with
//! where the time went (`swf_node::call_timing`).
//!
//! `/metrics` refreshes the values read at scrape (`swf_node::Node::refresh_metrics`) and renders
//! the process's default registry (the store's, the node's, the gateway's and the process
//! collector's metrics) in the Prometheus text format with the `prometheus` crate's encoder.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts};
use swf_node::call_timing::{ms, Stages};
use swf_node::metrics::LATENCY_BUCKETS;

/// Registers `m` in the default registry and returns it.
fn register<T: prometheus::core::Collector + Clone + 'static>(m: T) -> T {
    if let Err(e) = prometheus::register(Box::new(m.clone())) {
        tracing::error!(error = %e, "registering a metric");
    }
    m
}

/// The gateway's metrics.
pub struct GatewayMetrics {
    pub calls: IntCounterVec,
    pub call_seconds: HistogramVec,
    pub slow_calls: IntCounterVec,
    pub connections: IntGaugeVec,
}

/// Registered on first use (`init` registers them at start).
pub static METRICS: LazyLock<GatewayMetrics> = LazyLock::new(|| {
    GatewayMetrics {
    calls: register(
        IntCounterVec::new(
            Opts::new(
                "swfd_calls_total",
                "Calls this node took, by API (swf, sfn), action, outcome (ok or the fault's code) \
                 and route (local: this node led; forwarded: sent to the leader)",
            ),
            &["api", "action", "outcome", "route"],
        )
        .expect("valid counter"),
    ),
    call_seconds: register(
        HistogramVec::new(
            HistogramOpts::new(
                "swfd_call_duration_seconds",
                "Time from a call's request to its answer on the node that took it (long polls \
                 include their wait), by API, action and route",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["api", "action", "route"],
        )
        .expect("valid histogram"),
    ),
    slow_calls: register(
        IntCounterVec::new(
            Opts::new(
                "swfd_slow_calls_total",
                "Calls slower than --slow-call-ms (long-poll wait excluded), by API and action",
            ),
            &["api", "action"],
        )
        .expect("valid counter"),
    ),
    connections: register(
        IntGaugeVec::new(
            Opts::new(
                "swfd_http_connections_open",
                "Client connections open, by listener (swf, admin)",
            ),
            &["listener"],
        )
        .expect("valid gauge"),
    ),
}
});

/// Registers every metric of the process.
pub fn init() {
    swf_node::metrics::init();
    LazyLock::force(&METRICS);
}

/// Counts an open connection of `listener` while it lives.
pub(crate) struct ConnectionGauge(&'static str);

impl ConnectionGauge {
    pub(crate) fn open(listener: &'static str) -> ConnectionGauge {
        METRICS.connections.with_label_values(&[listener]).inc();
        ConnectionGauge(listener)
    }
}

impl Drop for ConnectionGauge {
    fn drop(&mut self) {
        METRICS.connections.with_label_values(&[self.0]).dec();
    }
}

/// One finished call, as the gateway records it.
pub(crate) struct CallRecord<'a> {
    pub api: &'static str,
    pub action: &'a str,
    pub outcome: &'a str,
    pub forwarded: bool,
    pub took: Duration,
    pub stages: Stages,
}

/// Counts a call, and logs it at WARN when it was slow (inside the call's span, so the line carries
/// its request id).
pub(crate) fn record_call(c: &CallRecord<'_>) {
    let route = if c.forwarded { "forwarded" } else { "local" };
    let m = &*METRICS;
    m.calls
        .with_label_values(&[c.api, c.action, c.outcome, route])
        .inc();
    m.call_seconds
        .with_label_values(&[c.api, c.action, route])
        .observe(c.took.as_secs_f64());
    let s = c.stages;
    let busy = c.took.saturating_sub(Duration::from_micros(s.poll_wait_us));
    if !swf_node::call_timing::is_slow(busy) {
        return;
    }
    m.slow_calls.with_label_values(&[c.api, c.action]).inc();
    let total_us = c.took.as_micros() as u64;
    // Forwarded: the time not spent on the node that answered (network, routing, retries).
    let forward_us = if s.leader_us > 0 {
        total_us.saturating_sub(s.leader_us)
    } else {
        0
    };
    tracing::warn!(
        outcome = c.outcome,
        route,
        total_ms = ms(total_us),
        forward_ms = ms(forward_us),
        queue_ms = ms(s.queue_us),
        commit_ms = ms(s.commit_us),
        apply_ms = ms(s.apply_us),
        poll_wait_ms = ms(s.poll_wait_us),
        "slow call"
    );
}

/// Calls this node has taken since it started (the sum of `swfd_calls_total`): a console samples it
/// twice for a live call rate.
pub fn calls_total() -> u64 {
    use prometheus::core::Collector;
    METRICS
        .calls
        .collect()
        .iter()
        .flat_map(|family| family.get_metric())
        .map(|m| m.get_counter().get_value() as u64)
        .sum()
}

/// The Prometheus text exposition of every registered metric.
pub fn render() -> Vec<u8> {
    let mut out = Vec::new();
    if let Err(e) = prometheus::TextEncoder::new().encode(&prometheus::gather(), &mut out) {
        tracing::error!(error = %e, "encoding the metrics");
    }
    out
}

/// The `Content-Type` of [`render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
