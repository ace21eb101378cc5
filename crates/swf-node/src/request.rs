//! The context of one client call as it travels between nodes: its request id (so a call sent again
//! after an attempt that may have been proposed is not applied twice, see `swf_core::dedup`) and the
//! bound on how often a call may be forwarded looking for the leader, and its authenticated caller
//! (authorised by the leader, see `authorize`).

use std::future::Future;

/// Most times one call may be forwarded between nodes.
pub const MAX_HOPS: u32 = 3;

tokio::task_local! {
    /// The request id of the call the leader is executing.
    static REQUEST_ID: String;
}

/// Runs `fut` (the leader executing a call) with the call's request id in scope, so the commands it
/// proposes carry it.
///
/// A plain function returning the scope's future, not an `async fn`: an `async fn` that awaits a
/// future it was given keeps room for that future twice (as its argument and as the awaited value),
/// and a long poll holds its futures for a minute (see `future_size`).
pub fn with_request_id<F: Future>(request_id: String, fut: F) -> impl Future<Output = F::Output> {
    REQUEST_ID.scope(request_id, fut)
}

/// The request id of the call being executed on this task, if any (none for the leader's own
/// commands, such as the timer service's firings).
pub(crate) fn current_request_id() -> Option<String> {
    REQUEST_ID
        .try_with(|id| id.clone())
        .ok()
        .filter(|id| !id.is_empty())
}

tokio::task_local! {
    /// The authenticated caller of the call being handled (absent when the gateway that took the
    /// call has no auth configuration: then anyone may call anything).
    static CALLER: Option<std::sync::Arc<swf_auth::Caller>>;
}

/// Runs `fut` (a call on its way to the leader, or executed there) as `caller`. (Not an `async fn`,
/// for the reason given at [`with_request_id`].)
pub fn with_caller<F: Future>(
    caller: Option<std::sync::Arc<swf_auth::Caller>>,
    fut: F,
) -> impl Future<Output = F::Output> {
    CALLER.scope(caller, fut)
}

/// The caller of the call being handled on this task, if it was authenticated.
pub(crate) fn current_caller() -> Option<std::sync::Arc<swf_auth::Caller>> {
    CALLER.try_with(|c| c.clone()).ok().flatten()
}
