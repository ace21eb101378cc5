//! The `Cluster` gRPC server: cluster control, typed. Probes, election holds and campaigns run on the
//! node they are sent to; leader transfers and membership changes run on the leader, and a follower
//! forwards them there (at most `MAX_HOPS` times); so does a token key rotation (`token_key`). See `transfer` and `membership` for what each does;
//! the gateway's admin routes reach them through `Node`'s methods and the router.

use std::sync::Arc;

use openraft::Raft;
use swf_proto::cluster_server::Cluster;
use swf_proto::{
    AddMemberRequest, CampaignRequest, ControlReply, HoldElectionsRequest, PingRequest,
    RemoveMemberRequest, RotateTokenKeyReply, RotateTokenKeyRequest, TransferLeaderReply,
    TransferLeaderRequest,
};
use swf_store::TypeConfig;
use swf_types::Fault;
use tonic::{Request, Response, Status};

use crate::executor::Executor;
use crate::membership::{MemberChange, Membership};
use crate::request::MAX_HOPS;
use crate::router::{proto_fault, Control, ControlDone, Router};
use crate::transfer::{Transfer, TransferRequest};

/// `Cluster` server of one node.
pub struct ClusterServer {
    pub node_id: u64,
    pub raft: Raft<TypeConfig>,
    pub router: Arc<Router>,
    pub transfer: Arc<Transfer>,
    pub membership: Arc<Membership>,
    /// The leader's executor (token key rotation proposes through it).
    pub executor: Arc<Executor>,
    /// The highest apply version this node offers, told in every ping.
    pub max_apply_version: u32,
    /// The applied state (the cluster's apply version, for adding a member).
    pub reader: swf_store::StateReader,
}

fn reply(result: Result<(), Fault>) -> Result<Response<ControlReply>, Status> {
    Ok(Response::new(ControlReply {
        fault: result.err().as_ref().map(proto_fault),
        wall_ms: 0,
        applied_index: 0,
        apply_version: 0,
    }))
}

impl ClusterServer {
    fn leads(&self) -> bool {
        self.raft.metrics().borrow().current_leader == Some(self.node_id)
    }

    /// Forwards `call` to the leader, unless it went round too often already.
    async fn forward(&self, call: Control, hops: u32) -> Result<ControlDone, Fault> {
        if hops >= MAX_HOPS {
            return Err(Fault::unavailable(
                "Too many forwarding hops looking for the leader",
            ));
        }
        self.router.control_leader(call, hops + 1).await
    }

    /// Runs a membership change here when leading, else on the leader.
    async fn change(&self, call: Control, hops: u32) -> Result<(), Fault> {
        if !self.leads() {
            return self.forward(call, hops).await.map(|_| ());
        }
        match call {
            Control::AddMember { node_id, addr } => {
                crate::apply_version::check_new_member(&self.router, &self.reader, node_id, &addr)
                    .await?;
                self.membership
                    .add(MemberChange {
                        node_id,
                        addr: Some(addr),
                    })
                    .await
            }
            Control::RemoveMember { node_id } => {
                self.membership
                    .remove(MemberChange {
                        node_id,
                        addr: None,
                    })
                    .await
            }
            other => Err(Fault::internal(format!(
                "not a membership change: {other:?}"
            ))),
        }
    }
}

#[tonic::async_trait]
impl Cluster for ClusterServer {
    async fn ping(&self, _: Request<PingRequest>) -> Result<Response<ControlReply>, Status> {
        Ok(Response::new(ControlReply {
            fault: None,
            wall_ms: crate::clock::wall_ms(),
            applied_index: self
                .raft
                .metrics()
                .borrow()
                .last_applied
                .map_or(0, |l| l.index),
            apply_version: self.max_apply_version,
        }))
    }

    async fn hold_elections(
        &self,
        request: Request<HoldElectionsRequest>,
    ) -> Result<Response<ControlReply>, Status> {
        self.transfer.hold(request.into_inner().hold);
        reply(Ok(()))
    }

    async fn campaign(
        &self,
        _: Request<CampaignRequest>,
    ) -> Result<Response<ControlReply>, Status> {
        reply(self.transfer.campaign().await)
    }

    async fn transfer_leader(
        &self,
        request: Request<TransferLeaderRequest>,
    ) -> Result<Response<TransferLeaderReply>, Status> {
        let req = request.into_inner();
        let result = if self.leads() {
            self.transfer
                .run(&self.router, TransferRequest { to: req.to })
                .await
        } else {
            match self
                .forward(Control::TransferLeader { to: req.to }, req.hops)
                .await
            {
                Ok(ControlDone::Transferred(t)) => Ok(t),
                Ok(ControlDone::Done | ControlDone::Rotated(_)) => {
                    Err(Fault::internal("the leader sent no transfer outcome"))
                }
                Err(f) => Err(f),
            }
        };
        Ok(Response::new(match result {
            Ok(t) => TransferLeaderReply {
                fault: None,
                previous_leader_id: t.previous_leader_id,
                leader_id: t.leader_id,
                term: t.term,
                elapsed_ms: t.elapsed_ms,
            },
            Err(f) => TransferLeaderReply {
                fault: Some(proto_fault(&f)),
                ..Default::default()
            },
        }))
    }

    async fn add_member(
        &self,
        request: Request<AddMemberRequest>,
    ) -> Result<Response<ControlReply>, Status> {
        let req = request.into_inner();
        let call = Control::AddMember {
            node_id: req.node_id,
            addr: req.addr,
        };
        reply(self.change(call, req.hops).await)
    }

    async fn remove_member(
        &self,
        request: Request<RemoveMemberRequest>,
    ) -> Result<Response<ControlReply>, Status> {
        let req = request.into_inner();
        let call = Control::RemoveMember {
            node_id: req.node_id,
        };
        reply(self.change(call, req.hops).await)
    }

    async fn rotate_token_key(
        &self,
        request: Request<RotateTokenKeyRequest>,
    ) -> Result<Response<RotateTokenKeyReply>, Status> {
        let hops = request.into_inner().hops;
        let result = if self.leads() {
            self.executor.rotate_token_key().await
        } else {
            match self.forward(Control::RotateTokenKey, hops).await {
                Ok(ControlDone::Rotated(generation)) => Ok(generation),
                Ok(_) => Err(Fault::internal("the leader sent no rotation outcome")),
                Err(f) => Err(f),
            }
        };
        Ok(Response::new(match result {
            Ok(generation) => RotateTokenKeyReply {
                fault: None,
                generation,
            },
            Err(f) => RotateTokenKeyReply {
                fault: Some(proto_fault(&f)),
                generation: 0,
            },
        }))
    }
}
