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

/// Runs calls on this node as the leader.
pub struct LeaderPath {
    pub executor: Arc<Executor>,
    pub transfer: Arc<Transfer>,
}

impl LeaderPath {
    /// Runs `action` of `api` here, with the call's request id in scope (so the commands it proposes
    /// carry it, see `swf_core::dedup`). Refused, retryably, while this leader hands leadership over.
    pub async fn run(
        &self,
        api: Api,
        action: &str,
        input: &[u8],
        request_id: &str,
    ) -> Result<Vec<u8>, Fault> {
        if self.transfer.in_progress() {
            // The router retries, and goes to the new leader once it is known.
            return Err(Fault::unavailable("Leadership is being transferred"));
        }
        with_request_id(
            request_id.to_string(),
            self.executor.execute_api(api, action, input),
        )
        .await
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
        Box::pin(async move { self.run(api, action, &input, request_id).await })
    }
}
