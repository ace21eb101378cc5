//! openraft's network over tonic gRPC: each RPC carries openraft's request serialized as JSON in a
//! `RaftPayload`, answered the same way, except a snapshot chunk, whose bytes travel raw after its JSON
//! header (`encode_snapshot_chunk`). openraft sends a snapshot in chunks of `snapshot_max_chunk_size`
//! read from the snapshot file. The server side is `service::RaftServer`.

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
pub struct GrpcNetwork {
    /// How connections to peers are made (mutual TLS when configured).
    pub connector: crate::peer_tls::PeerConnector,
}

/// A connection to one peer.
pub struct GrpcPeer {
    addr: String,
    connector: crate::peer_tls::PeerConnector,
    client: Option<RaftServiceClient<Channel>>,
}

impl RaftNetworkFactory<TypeConfig> for GrpcNetwork {
    type Network = GrpcPeer;

    async fn new_client(&mut self, _target: u64, node: &BasicNode) -> GrpcPeer {
        GrpcPeer {
            addr: node.addr.clone(),
            connector: self.connector.clone(),
            client: None,
        }
    }
}

/// Encodes a snapshot chunk: a big-endian u32 length, the JSON of the request without its data, then
/// the data itself.
pub fn encode_snapshot_chunk(req: &InstallSnapshotRequest<TypeConfig>) -> Vec<u8> {
    let header = InstallSnapshotRequest::<TypeConfig> {
        vote: req.vote,
        meta: req.meta.clone(),
        offset: req.offset,
        data: Vec::new(),
        done: req.done,
    };
    let header = serde_json::to_vec(&header).expect("a snapshot request serializes");
    let mut out = Vec::with_capacity(4 + header.len() + req.data.len());
    out.extend_from_slice(&(header.len() as u32).to_be_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&req.data);
    out
}

/// Decodes what `encode_snapshot_chunk` produced.
pub fn decode_snapshot_chunk(bytes: &[u8]) -> Result<InstallSnapshotRequest<TypeConfig>, String> {
    let len: [u8; 4] = bytes
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or("snapshot chunk too short")?;
    let len = u32::from_be_bytes(len) as usize;
    let header = bytes
        .get(4..4usize.saturating_add(len))
        .ok_or("snapshot chunk header truncated")?;
    let mut req: InstallSnapshotRequest<TypeConfig> =
        serde_json::from_slice(header).map_err(|e| e.to_string())?;
    req.data = bytes[4 + len..].to_vec();
    Ok(req)
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
        let data = serde_json::to_vec(req).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        self.call_raw(kind, data).await
    }

    async fn call_raw<Resp, E>(
        &mut self,
        kind: &str,
        data: Vec<u8>,
    ) -> Result<Resp, RPCError<u64, BasicNode, E>>
    where
        Resp: DeserializeOwned,
        E: std::error::Error,
    {
        if self.client.is_none() {
            // Bounded connect and HTTP/2 keep-alive (see `channel`): a frozen peer is noticed.
            let channel = crate::channel::connect(&self.addr, &self.connector)
                .await
                .map_err(|e| RPCError::Unreachable(Unreachable::new(&e)))?;
            self.client = Some(
                RaftServiceClient::new(channel)
                    .max_decoding_message_size(256 << 20)
                    .max_encoding_message_size(256 << 20),
            );
        }
        let client = self.client.as_mut().expect("connected above");
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
        flatten(self.call_raw("snapshot", encode_snapshot_chunk(&rpc)).await)
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<u64>,
        _option: RPCOption,
    ) -> Result<VoteResponse<u64>, RPCError<u64, BasicNode, RaftError<u64>>> {
        flatten(self.call("vote", &rpc).await)
    }
}
