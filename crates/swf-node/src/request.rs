//! The context of one client call as it travels between nodes: its request id (so a call sent again
//! after an attempt that may have been proposed is not applied twice, see `swf_core::dedup`) and the
//! bound on how often a call may be forwarded looking for the leader.

use std::future::Future;

/// Most times one call may be forwarded between nodes.
pub const MAX_HOPS: u32 = 3;

tokio::task_local! {
    /// The request id of the call the leader is executing.
    static REQUEST_ID: String;
}

/// Runs `fut` (the leader executing a call) with the call's request id in scope, so the commands it
/// proposes carry it.
pub async fn with_request_id<F: Future>(request_id: String, fut: F) -> F::Output {
    REQUEST_ID.scope(request_id, fut).await
}

/// The request id of the call being executed on this task, if any (none for the leader's own
/// commands, such as the timer service's firings).
pub(crate) fn current_request_id() -> Option<String> {
    REQUEST_ID
        .try_with(|id| id.clone())
        .ok()
        .filter(|id| !id.is_empty())
}
