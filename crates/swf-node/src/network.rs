//! openraft's network over tonic gRPC: each RPC carries openraft's request serialized as JSON in a
//! `RaftPayload`, answered the same way. The server side is `service::RaftServer`.

use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::BasicNode;
use serde::{de::DeserializeOwned, Serialize};
use swf_proto::raft_service_client::RaftServiceClient;
use swf_proto::RaftPayload;
use swf_store::TypeConfig;
use tonic::transport::Channel;

/// Creates gRPC clients to other nodes.
#[derive(Clone, Default)]
pub struct GrpcNetwork;

/// A connection to one peer.
pub struct GrpcPeer {
    addr: String,
    client: Option<RaftServiceClient<Channel>>,
}

impl RaftNetworkFactory<TypeConfig> for GrpcNetwork {
    type Network = GrpcPeer;

    async fn new_client(&mut self, _target: u64, node: &BasicNode) -> GrpcPeer {
        GrpcPeer {
            addr: node.addr.clone(),
            client: None,
        }
    }
}

impl GrpcPeer {
    async fn call<Req, Resp, E>(
        &mut self,
        kind: &str,
        req: &Req,
    ) -> Result<Resp, RPCError<u64, BasicNode, E>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error,
    {
        if self.client.is_none() {
            let channel = Channel::from_shared(format!("http://{}", self.addr))
                .map_err(|e| RPCError::Network(NetworkError::new(&e)))?
                .connect()
                .await
                .map_err(|e| RPCError::Unreachable(Unreachable::new(&e)))?;
            self.client = Some(RaftServiceClient::new(channel));
        }
        let client = self.client.as_mut().expect("connected above");
        let data = serde_json::to_vec(req).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let payload = RaftPayload { data };
        let result = match kind {
            "append" => client.append_entries(payload).await,
            "vote" => client.vote(payload).await,
            _ => client.install_snapshot(payload).await,
        };
        let reply = result.map_err(|status| {
            self.client = None;
            RPCError::Unreachable(Unreachable::new(&status))
        })?;
        serde_json::from_slice::<Resp>(&reply.into_inner().data)
            .map_err(|e| RPCError::Network(NetworkError::new(&e)))
    }
}

/// The remote result of an RPC: openraft's response or its RaftError, serialized by the server.
pub type Remote<T, E> = Result<T, E>;

/// The result of one RPC as openraft wants it.
type RpcResult<T, E> = Result<T, RPCError<u64, BasicNode, RaftError<u64, E>>>;

fn flatten<T, E: std::error::Error>(
    r: RpcResult<Remote<T, RaftError<u64, E>>, E>,
) -> RpcResult<T, E> {
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(RPCError::RemoteError(openraft::error::RemoteError::new(
            0, e,
        ))),
        Err(e) => Err(e),
    }
}

impl RaftNetwork<TypeConfig> for GrpcPeer {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<AppendEntriesResponse<u64>, RPCError<u64, BasicNode, RaftError<u64>>> {
        flatten(self.call("append", &rpc).await)
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<u64>,
        RPCError<u64, BasicNode, RaftError<u64, InstallSnapshotError>>,
    > {
        flatten(self.call("snapshot", &rpc).await)
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<u64>,
        _option: RPCOption,
    ) -> Result<VoteResponse<u64>, RPCError<u64, BasicNode, RaftError<u64>>> {
        flatten(self.call("vote", &rpc).await)
    }
}
