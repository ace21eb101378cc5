//! The leader's own path for a call: what `SwfNode.Execute` does with a call when this node leads, and
//! what the router does in-process (no gRPC round trip to itself) when the call was taken by the
//! leader itself. Both hand the executor the same action, input and request id, so a call behaves
//! the same whichever node took it; followers forward over gRPC as before.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use swf_types::Fault;

use crate::executor::Executor;
use crate::request::with_request_id;
use crate::router::{Api, LocalExecute};
use crate::transfer::Transfer;

/// Where a call the leader runs came from (the `source` label of `swfd_leader_calls_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Taken by this node's own gateway.
    Local,
    /// Forwarded by another node (`SwfNode.Execute`).
    Peer,
}

/// Runs calls on this node as the leader.
pub struct LeaderPath {
    pub executor: Arc<Executor>,
    pub transfer: Arc<Transfer>,
}

impl LeaderPath {
    /// Runs `action` of `api` here, with the call's request id in scope (so the commands it proposes
    /// carry it, see `swf_core::dedup`). Refused, retryably, while this leader hands leadership over.
    ///
    /// Counted in `swfd_leader_calls_total` by `source`; a call forwarded here that was slow is
    /// logged with its stages (the node that took it logs it with the forward too; a call taken
    /// here is logged by this node's gateway).
    pub async fn run(
        &self,
        api: Api,
        action: &str,
        input: &[u8],
        request_id: &str,
        source: Source,
    ) -> Result<Vec<u8>, Fault> {
        if self.transfer.in_progress() {
            // The router retries, and goes to the new leader once it is known.
            return Err(Fault::unavailable("Leadership is being transferred"));
        }
        let began = std::time::Instant::now();
        let result = with_request_id(
            request_id.to_string(),
            self.executor.execute_api(api, action, input),
        )
        .await;
        let took = began.elapsed();
        let m = &crate::metrics::METRICS;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(f) => f.code(),
        };
        let source_label = match source {
            Source::Local => "local",
            Source::Peer => "peer",
        };
        m.leader_calls
            .with_label_values(&[api.label(), action, outcome, source_label])
            .inc();
        m.leader_call_seconds
            .with_label_values(&[api.label(), action])
            .observe(took.as_secs_f64());
        if source == Source::Peer {
            if let Some(times) = crate::call_timing::current() {
                let s = times.stages();
                let busy = took.saturating_sub(std::time::Duration::from_micros(s.poll_wait_us));
                if crate::call_timing::is_slow(busy) {
                    use crate::call_timing::ms;
                    tracing::warn!(
                        outcome,
                        total_ms = ms(took.as_micros() as u64),
                        queue_ms = ms(s.queue_us),
                        commit_ms = ms(s.commit_us),
                        apply_ms = ms(s.apply_us),
                        poll_wait_ms = ms(s.poll_wait_us),
                        "slow call (leader side of a forwarded call)"
                    );
                }
            }
        }
        result
    }
}

impl LocalExecute for LeaderPath {
    fn execute<'a>(
        &'a self,
        api: Api,
        action: &'a str,
        input: Vec<u8>,
        request_id: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, Fault>> + Send + 'a>> {
        crate::boxed_sized!("leader path (in-process)", async move {
            self.run(api, action, &input, request_id, Source::Local)
                .await
        })
    }
}
