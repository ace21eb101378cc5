//! The gRPC servers of a node for SWF calls and Raft: `SwfNode.Execute` runs an SWF action on the
//! leader (a follower forwards it to the leader, with a hop limit; the leader serves nothing while it
//! hands leadership over), and `RaftService` hands openraft's RPCs to the local Raft. Cluster control
//! has its own server (`control`).
//!
//! The leader runs an action with the call's request id in scope (`request::with_request_id`), so the
//! commands it proposes for the call carry it and a call sent again is not applied twice
//! (`swf_core::dedup`).

use std::sync::Arc;

use openraft::Raft;
use swf_proto::raft_service_server::RaftService;
use swf_proto::swf_node_server::SwfNode;
use swf_proto::{execute_response, ExecuteRequest, ExecuteResponse, RaftPayload};
use swf_store::TypeConfig;
use swf_types::Fault;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::call_timing::{with_times, CallTimes};

use crate::leader::LeaderPath;
use crate::request::MAX_HOPS;
use crate::router::Router;

/// The quorum probe of a node of the release before the `Cluster` service: still answered, so such a
/// node sees this one alive during a rolling upgrade. Nothing else is accepted that is not an SWF
/// action (the executor refuses any action the model does not have).
const LEGACY_PING: &str = "_Ping";

/// `SwfNode` server.
pub struct SwfNodeServer {
    pub node_id: u64,
    pub raft: Raft<TypeConfig>,
    pub leader: Arc<LeaderPath>,
    pub router: Arc<Router>,
}

#[tonic::async_trait]
impl SwfNode for SwfNodeServer {
    async fn execute(
        &self,
        request: Request<ExecuteRequest>,
    ) -> Result<Response<ExecuteResponse>, Status> {
        let req = request.into_inner();
        // The caller the first node authenticated travels on with the call (a malformed one is
        // refused: it can only come from a broken or hostile peer).
        let caller = if req.caller.is_empty() {
            None
        } else {
            match swf_auth::Caller::from_wire(&req.caller) {
                Ok(c) => Some(std::sync::Arc::new(c)),
                Err(e) => {
                    let f = Fault::validation(format!("Malformed caller: {e}"));
                    return Ok(Response::new(ExecuteResponse {
                        result: Some(execute_response::Result::Fault(crate::router::proto_fault(
                            &f,
                        ))),
                        timing: None,
                    }));
                }
            }
        };
        // Every log line of the call on this node carries its request id (the `call` span), as
        // on the node that took it.
        // ERROR level: enabled under any filter that shows a line of the call (see the gateway).
        // A call de-duplicated by its client's invocation id carries `REQUEST~DEDUP`
        // (`swf_core::dedup::split`): its lines show the gateway's request id, as there.
        let (request_id, dedup_id) = swf_core::dedup::split(&req.request_id);
        let span = tracing::error_span!(
            "call",
            request_id = %request_id,
            dedup_id,
            action = %req.action,
            api = crate::router::Api::from_wire(&req.api).map_or("?", |a| a.label()),
            hops = req.hops,
        );
        let times = std::sync::Arc::new(CallTimes::default());
        let began = std::time::Instant::now();
        let call = crate::request::with_caller(caller, self.execute_as(req));
        let mut response = with_times(times.clone(), call).instrument(span).await;
        if let Ok(r) = &mut response {
            r.get_mut().timing = Some(times.stages().to_wire(began.elapsed()));
        }
        response
    }
}

impl SwfNodeServer {
    /// `Execute` with the caller in scope.
    async fn execute_as(&self, req: ExecuteRequest) -> Result<Response<ExecuteResponse>, Status> {
        let leader = self.raft.metrics().borrow().current_leader;
        let api = crate::router::Api::from_wire(&req.api);
        let result = if api.is_none() {
            Err(Fault::unknown_operation(&req.action)
                .with_message(format!("Unknown API '{}'", req.api)))
        } else if req.action == LEGACY_PING {
            Ok(b"{}".to_vec())
        } else if leader == Some(self.node_id) {
            self.leader
                .run(
                    api.unwrap_or(crate::router::Api::Swf),
                    &req.action,
                    &req.input,
                    &req.request_id,
                    crate::leader::Source::Peer,
                )
                .await
        } else if req.hops >= MAX_HOPS {
            Err(Fault::unavailable(
                "Too many forwarding hops looking for the leader",
            ))
        } else {
            tracing::debug!(action = %req.action, request_id = %req.request_id, "forwarding to the leader");
            self.router
                .call_api(
                    api.unwrap_or(crate::router::Api::Swf),
                    &req.action,
                    req.input,
                    req.hops + 1,
                    &req.request_id,
                )
                .await
        };
        let result = match result {
            Ok(out) => execute_response::Result::Output(out),
            Err(f) => execute_response::Result::Fault(crate::router::proto_fault(&f)),
        };
        Ok(Response::new(ExecuteResponse {
            result: Some(result),
            timing: None,
        }))
    }
}

/// `RaftService` server.
pub struct RaftServer {
    pub raft: Raft<TypeConfig>,
    /// While it says the data directory is low on space, what would write to it is refused (see `disk`).
    pub disk: Arc<crate::disk::DiskGuard>,
    /// Every Raft message proves its sender in reach (the quorum watch's verdicts, see `heard`).
    pub heard: Arc<crate::heard::Heard>,
}

/// The answer to a Raft message that would write to a data directory low on space: the sender treats
/// the node as unreachable for now and retries later.
fn disk_low() -> Status {
    Status::unavailable("this node's data directory is low on disk space")
}

fn decode<T: serde::de::DeserializeOwned>(p: RaftPayload) -> Result<T, Status> {
    serde_json::from_slice(&p.data).map_err(|e| Status::invalid_argument(e.to_string()))
}

fn encode<T: serde::Serialize>(v: &T) -> Result<Response<RaftPayload>, Status> {
    Ok(Response::new(RaftPayload {
        data: serde_json::to_vec(v).map_err(|e| Status::internal(e.to_string()))?,
    }))
}

impl RaftServer {
    /// The sender of a Raft message carrying `vote` (the leader or candidate that sent it) is in reach.
    fn heard_from(&self, vote: &openraft::Vote<u64>) {
        if let Some(sender) = vote.leader_id().voted_for() {
            self.heard.record(sender);
        }
    }
}

#[tonic::async_trait]
impl RaftService for RaftServer {
    async fn append_entries(
        &self,
        request: Request<RaftPayload>,
    ) -> Result<Response<RaftPayload>, Status> {
        let mut req: openraft::raft::AppendEntriesRequest<TypeConfig> =
            decode(request.into_inner())?;
        self.heard_from(&req.vote);
        // Heartbeats (no entries) pass. Entries do not; the rest of the message (the leader's vote,
        // its commit index) is still taken, so the node knows the leader (it forwards calls to it)
        // and does not campaign, and then the sender is told to back off.
        if !req.entries.is_empty() && self.disk.is_low() {
            req.entries.clear();
            let _ = self.raft.append_entries(req).await;
            return Err(disk_low());
        }
        encode(&self.raft.append_entries(req).await)
    }

    /// Votes pass even while low on space: a vote is a few bytes (the margin is there for them), and a
    /// cluster that lost another node may need this one's to elect a leader.
    async fn vote(&self, request: Request<RaftPayload>) -> Result<Response<RaftPayload>, Status> {
        let req: openraft::raft::VoteRequest<u64> = decode(request.into_inner())?;
        self.heard_from(&req.vote);
        encode(&self.raft.vote(req).await)
    }

    async fn install_snapshot(
        &self,
        request: Request<RaftPayload>,
    ) -> Result<Response<RaftPayload>, Status> {
        let req = crate::network::decode_snapshot_chunk(&request.into_inner().data)
            .map_err(Status::invalid_argument)?;
        self.heard_from(&req.vote);
        if self.disk.is_low() {
            return Err(disk_low());
        }
        encode(&self.raft.install_snapshot(req).await)
    }
}
