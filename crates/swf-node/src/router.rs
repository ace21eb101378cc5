//! `Router`: how a gateway reaches the Raft leader. It sends each call over gRPC (`SwfNode.Execute`) to
//! the node it believes is the leader, the local node included, and retries with backoff while there is
//! no leader or the call was refused before being proposed (`ServiceUnavailable`); a retry goes out at
//! once when this node learns of a new leader, so a failover costs no more than the election. A follower that gets
//! a call forwards it (see `service`), so a stale view of the leader costs one extra hop.

use std::collections::HashMap;
use std::time::Duration;

use openraft::Raft;
use swf_proto::swf_node_client::SwfNodeClient;
use swf_proto::{execute_response, ExecuteRequest};
use swf_store::TypeConfig;
use swf_types::{Fault, FaultKind};
use tokio::sync::Mutex;
use tonic::transport::Channel;

/// How long a call keeps looking for a leader before it fails with ServiceUnavailable.
const LEADER_WAIT: Duration = Duration::from_secs(10);

/// Longest pause between two attempts while the leader is unknown or unreachable.
const MAX_BACKOFF: Duration = Duration::from_millis(100);

/// Routes calls to the leader.
pub struct Router {
    node_id: u64,
    self_addr: String,
    raft: Raft<TypeConfig>,
    clients: Mutex<HashMap<String, SwfNodeClient<Channel>>>,
}

impl Router {
    /// A router for the node `node_id` whose own gRPC address is `self_addr`.
    pub fn new(node_id: u64, self_addr: String, raft: Raft<TypeConfig>) -> Router {
        Router {
            node_id,
            self_addr,
            raft,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The gRPC address of the current leader, if one is known.
    pub fn leader_addr(&self) -> Option<String> {
        let metrics = self.raft.metrics().borrow().clone();
        let leader = metrics.current_leader?;
        if leader == self.node_id {
            return Some(self.self_addr.clone());
        }
        metrics
            .membership_config
            .membership()
            .get_node(&leader)
            .map(|n| n.addr.clone())
    }

    async fn client(&self, addr: &str) -> Result<SwfNodeClient<Channel>, tonic::transport::Error> {
        let mut clients = self.clients.lock().await;
        if let Some(c) = clients.get(addr) {
            return Ok(c.clone());
        }
        let channel = Channel::from_shared(format!("http://{addr}"))
            .expect("valid uri")
            .connect()
            .await?;
        let client = SwfNodeClient::new(channel)
            .max_decoding_message_size(64 << 20)
            .max_encoding_message_size(64 << 20);
        clients.insert(addr.to_string(), client.clone());
        Ok(client)
    }

    /// Runs `action` with `input` (validated SWF JSON) on the leader and returns its JSON output.
    pub async fn call(
        &self,
        action: &str,
        input: Vec<u8>,
        hops: u32,
        request_id: &str,
    ) -> Result<Vec<u8>, Fault> {
        let deadline = tokio::time::Instant::now() + LEADER_WAIT;
        let mut backoff = Duration::from_millis(10);
        let mut metrics = self.raft.metrics();
        loop {
            let tried_leader = metrics.borrow_and_update().current_leader;
            let attempt = match self.leader_addr() {
                None => Err(Fault::unavailable("No Raft leader is known yet")),
                Some(addr) => {
                    self.send(&addr, action, input.clone(), hops, request_id)
                        .await
                }
            };
            match attempt {
                Err(f)
                    if f.kind == FaultKind::ServiceUnavailable
                        && tokio::time::Instant::now() < deadline =>
                {
                    // Retry after the backoff, or as soon as this node learns of another leader.
                    let _ = tokio::time::timeout(backoff, async {
                        while metrics.changed().await.is_ok() {
                            let now = metrics.borrow_and_update().current_leader;
                            if now.is_some() && now != tried_leader {
                                return;
                            }
                        }
                        std::future::pending::<()>().await
                    })
                    .await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                other => return other,
            }
        }
    }

    /// Runs `action` on the node at `addr` itself, without looking for the leader or retrying (for
    /// the internal actions a node addresses to one peer).
    pub async fn call_node(
        &self,
        addr: &str,
        action: &str,
        input: Vec<u8>,
    ) -> Result<Vec<u8>, Fault> {
        self.send(addr, action, input, crate::service::MAX_HOPS, "internal")
            .await
    }

    async fn send(
        &self,
        addr: &str,
        action: &str,
        input: Vec<u8>,
        hops: u32,
        request_id: &str,
    ) -> Result<Vec<u8>, Fault> {
        let mut client = match self.client(addr).await {
            Ok(c) => c,
            // Not connected: nothing was sent, so retrying is safe.
            Err(e) => {
                return Err(Fault::unavailable(format!(
                    "Cannot reach the leader at {addr}: {e}"
                )))
            }
        };
        let req = ExecuteRequest {
            action: action.to_string(),
            input,
            hops,
            request_id: request_id.to_string(),
        };
        match client.execute(req).await {
            Ok(resp) => match resp.into_inner().result {
                Some(execute_response::Result::Output(out)) => Ok(out),
                Some(execute_response::Result::Fault(f)) => Err(Fault {
                    kind: FaultKind::from_code(&f.code).unwrap_or(FaultKind::Internal),
                    message: f.message,
                }),
                None => Err(Fault::internal("empty response from the leader")),
            },
            Err(status) => {
                self.clients.lock().await.remove(addr);
                if status.code() == tonic::Code::Unavailable {
                    // The leader's node is gone (a failover): retry on the next leader. A call that ran
                    // before the connection broke is answered by the state machine on retry (a closed
                    // task's token or a started workflow id is refused), as an SDK retry would be.
                    return Err(Fault::unavailable(format!(
                        "The leader at {addr} is unreachable: {}",
                        status.message()
                    )));
                }
                // The call may or may not have run: report it as a server error the client can retry.
                Err(Fault::internal(format!(
                    "Call to the leader at {addr} failed: {}",
                    status.message()
                )))
            }
        }
    }
}
