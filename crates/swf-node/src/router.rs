//! `Router`: how a gateway reaches the Raft leader. It sends each call over gRPC (`SwfNode.Execute`) to
//! the node it believes is the leader, or, when that is this node, hands it to the leader path
//! in-process (`LocalExecute`, no round trip to itself); a follower that gets a call forwards it the
//! same way (see `service`), so a stale view of the leader costs one extra hop.
//!
//! A leader can stall (a paused process, a partition, a full disk) while a call waits on it, so every
//! attempt carries a deadline (`CALL_TIMEOUT`; a long poll gets its long-poll time plus `POLL_MARGIN`),
//! and while an attempt is in flight the router watches this node's view of the leader: the moment it
//! names another node (or this one), the stalled attempt is cancelled and the call goes there at once.
//! A call is also sent again after backoff while there is no leader, the leader refused it before
//! proposing (`ServiceUnavailable`), the connection broke or the attempt timed out, until `LEADER_WAIT`
//! after the call began. An attempt that is given up may already have been proposed, and may still
//! commit; every attempt carries the client's request id, and the state machine answers a call it has
//! already applied with its first outcome (`swf_core::dedup`), so nothing applies twice.
//!
//! Cluster control (`Control`: probes, election holds, leader transfer, membership) travels over the
//! typed `Cluster` service instead: to one node (`control_node`), or to the leader (`control_leader`),
//! where it is not moved when the leader changes (a transfer changes it on purpose), gets a long
//! deadline (a membership change waits for a new node to catch up) and is not sent again once it may
//! have run.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use openraft::Raft;
use swf_proto::cluster_client::ClusterClient;
use swf_proto::swf_node_client::SwfNodeClient;
use swf_proto::{execute_response, ExecuteRequest};
use swf_store::TypeConfig;
use swf_types::{Fault, FaultKind};
use tokio::sync::watch;
use tokio::time::Instant;
use tonic::transport::Channel;

use crate::timing::CUT_OFF;

/// How long a call keeps looking for a leader that answers before it fails with ServiceUnavailable.
const LEADER_WAIT: Duration = Duration::from_secs(10);

/// Longest pause between two attempts while the leader is unknown or unreachable.
const MAX_BACKOFF: Duration = Duration::from_millis(100);

/// Deadline of one attempt of an ordinary call (not a long poll): far under clients' timeouts (60 s
/// and more), far over a healthy leader's answer (milliseconds; seconds when it is overloaded).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// What a forwarded long poll may take beyond its long-poll time.
pub const POLL_MARGIN: Duration = Duration::from_secs(3);

/// Deadline of a cluster-control call (membership changes wait for a new node to catch up).
const CONTROL_TIMEOUT: Duration = Duration::from_secs(300);

/// What a node answered a `Cluster.Ping` with; 0 for what a node of an older release does not tell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Probe {
    /// Its wall clock, ms since the Unix epoch.
    pub wall_ms: i64,
    /// Its last applied log index.
    pub applied_index: u64,
    /// The highest apply version it offers (`swf_core::apply_version`).
    pub apply_version: u32,
}

/// A cluster-control call, typed (the `Cluster` gRPC service).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// The quorum watch's liveness probe.
    Ping,
    /// Hold (or release) the receiver's election timer.
    HoldElections { hold: bool },
    /// The transfer's target: campaign now.
    Campaign,
    /// Move leadership to `to` (the most up-to-date other voter when `None`).
    TransferLeader { to: Option<u64> },
    /// Add a node (learner, then voter once caught up).
    AddMember { node_id: u64, addr: String },
    /// Remove a node.
    RemoveMember { node_id: u64 },
    /// Rotate the cluster's token key.
    RotateTokenKey,
}

/// The outcome of a successful leader transfer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Transferred {
    pub previous_leader_id: u64,
    pub leader_id: u64,
    pub term: u64,
    pub elapsed_ms: u64,
}

/// What a successful control call returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlDone {
    Done,
    Transferred(Transferred),
    /// The token key was rotated: the new key's generation.
    Rotated(u32),
}

/// The fault a control reply carries, if any.
fn reply_fault(f: Option<swf_proto::Fault>) -> Result<(), Fault> {
    match f {
        None => Ok(()),
        Some(f) => Err(Fault {
            kind: FaultKind::from_code(&f.code).unwrap_or(FaultKind::Internal),
            message: f.message,
        }),
    }
}

/// The wire form of a fault.
pub fn proto_fault(f: &Fault) -> swf_proto::Fault {
    swf_proto::Fault {
        code: f.code().to_string(),
        message: f.message.clone(),
    }
}

/// Runs a call on this node itself when it is the leader (in-process; see `leader::LeaderPath`).
pub trait LocalExecute: Send + Sync {
    /// Runs `action` of `api` with `input` here, as `SwfNode.Execute` would on this node.
    fn execute<'a>(
        &'a self,
        api: Api,
        action: &'a str,
        input: Vec<u8>,
        request_id: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, Fault>> + Send + 'a>>;
}

/// What became of one attempt.
enum Attempt {
    Done(Result<Vec<u8>, Fault>),
    /// This node learned of another leader while the attempt was in flight: it was cancelled.
    Moved,
    /// The attempt's deadline passed without an answer: it was cancelled.
    TimedOut,
}

/// Routes calls to the leader.
pub struct Router {
    /// Set by the quorum watch while this node is cut off from the majority (see `cut_off`).
    cut_off: watch::Sender<bool>,
    node_id: u64,
    self_addr: String,
    raft: Raft<TypeConfig>,
    /// The long-poll time of the cluster's nodes (a forwarded poll may wait that long).
    long_poll: Duration,
    /// This node's view of the leader, changed only when the leader changes (raft's own metrics
    /// change with every applied entry, too often to wake every waiting call).
    leader: watch::Receiver<Option<u64>>,
    /// One channel per peer address, shared by the SWF and the cluster-control clients.
    channels: Mutex<HashMap<String, Channel>>,
    /// How the channels connect (mutual TLS when configured).
    connector: crate::peer_tls::PeerConnector,
    /// This node's own leader path, once the node has wired it (`set_local`): a call taken by the
    /// leader runs in-process instead of over gRPC to itself.
    local: OnceLock<Arc<dyn LocalExecute>>,
}

impl Router {
    /// A router for the node `node_id` whose own gRPC address is `self_addr`, in a cluster whose long
    /// polls are held `long_poll`. Must be called within a tokio runtime (it starts a task following
    /// the leader).
    pub fn new(
        node_id: u64,
        self_addr: String,
        raft: Raft<TypeConfig>,
        long_poll: Duration,
        connector: crate::peer_tls::PeerConnector,
    ) -> Router {
        let mut metrics = raft.metrics();
        let (tx, leader) = watch::channel(metrics.borrow().current_leader);
        tokio::spawn(async move {
            while metrics.changed().await.is_ok() {
                let now = metrics.borrow_and_update().current_leader;
                tx.send_if_modified(|l| std::mem::replace(l, now) != now);
            }
        });
        Router {
            cut_off: watch::channel(false).0,
            node_id,
            self_addr,
            raft,
            long_poll,
            leader,
            channels: Mutex::new(HashMap::new()),
            connector,
            local: OnceLock::new(),
        }
    }

    /// Wires this node's own leader path: from now on a call this node takes while it leads runs
    /// in-process. Set once, when the node starts.
    pub fn set_local(&self, local: Arc<dyn LocalExecute>) {
        let _ = self.local.set(local);
    }

    /// The quorum watch's verdict, every 100 ms: this node is cut off from the majority — a follower
    /// that reaches no majority of the voters, or a leader that has heard from no majority for
    /// `CUT_OFF` (openraft 0.9 keeps such a leader leading). Calls through it are then refused at once
    /// (retryable, 503), including those in flight, so clients move to a node of the majority instead
    /// of waiting out the partition.
    pub fn set_cut_off(&self, cut_off: bool) {
        self.cut_off
            .send_if_modified(|c| std::mem::replace(c, cut_off) != cut_off);
    }

    /// Whether a leader with these metrics is cut off from the majority.
    pub fn leader_cut_off(m: &openraft::RaftMetrics<u64, openraft::BasicNode>) -> bool {
        m.state == openraft::ServerState::Leader
            && m.membership_config.membership().voter_ids().count() > 1
            && m.millis_since_quorum_ack
                .is_some_and(|ms| ms > CUT_OFF.as_millis() as u64)
    }

    fn cut_off_fault() -> Fault {
        Fault::unavailable(
            "This node is cut off from the majority of the cluster's voters; send the call to another node",
        )
    }

    /// The gRPC address of the current leader, if one is known.
    pub fn leader_addr(&self) -> Option<String> {
        let leader = self.raft.metrics().borrow().current_leader?;
        self.addr_of(leader)
    }

    /// The gRPC address of the node `id` (this node's own for itself).
    fn addr_of(&self, id: u64) -> Option<String> {
        if id == self.node_id {
            return Some(self.self_addr.clone());
        }
        self.raft
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .get_node(&id)
            .map(|n| n.addr.clone())
    }

    /// The channel to `addr`; it connects lazily, so this never waits on the peer.
    fn channel(&self, addr: &str) -> Result<Channel, Fault> {
        let mut channels = self.channels.lock().expect("router channels lock");
        if let Some(c) = channels.get(addr) {
            return Ok(c.clone());
        }
        let channel = crate::channel::lazy(addr, &self.connector)
            .map_err(|e| Fault::unavailable(format!("Bad address {addr}: {e}")))?;
        channels.insert(addr.to_string(), channel.clone());
        Ok(channel)
    }

    /// The SWF client for `addr`.
    fn client(&self, addr: &str) -> Result<SwfNodeClient<Channel>, Fault> {
        Ok(SwfNodeClient::new(self.channel(addr)?)
            .max_decoding_message_size(64 << 20)
            .max_encoding_message_size(64 << 20))
    }

    /// Runs `action` with `input` (validated SWF JSON) on the leader and returns its JSON output.
    pub async fn call(
        &self,
        action: &str,
        input: Vec<u8>,
        hops: u32,
        request_id: &str,
    ) -> Result<Vec<u8>, Fault> {
        self.call_api(Api::Swf, action, input, hops, request_id)
            .await
    }

    /// [`Router::call`] for an action of `api`.
    pub async fn call_api(
        &self,
        api: Api,
        action: &str,
        input: Vec<u8>,
        hops: u32,
        request_id: &str,
    ) -> Result<Vec<u8>, Fault> {
        let call = Call {
            api,
            action,
            input,
            hops,
            request_id,
        };
        route(self, &self.leader, &self.cut_off, self.long_poll, &call).await
    }

    /// Runs a cluster-control call on the leader (`hops`: how often it was forwarded already). Sent
    /// again while no leader is known, the leader could not be reached or refused it before running
    /// it (`ServiceUnavailable`), until `LEADER_WAIT`; never after a failure that may have come after
    /// it ran (then the caller gets `InternalFailure` and checks `swfd admin status`).
    pub async fn control_leader(&self, call: Control, hops: u32) -> Result<ControlDone, Fault> {
        let deadline = Instant::now() + LEADER_WAIT;
        let mut backoff = Duration::from_millis(10);
        loop {
            let result = match self.leader_addr() {
                None => Err(Fault::unavailable("No Raft leader is known yet")),
                Some(addr) => self.control_node(&addr, call.clone(), hops).await,
            };
            match result {
                Err(f) if f.kind == FaultKind::ServiceUnavailable && Instant::now() < deadline => {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                other => return other,
            }
        }
    }

    /// Whether the node at `addr` answers a `Cluster.Ping`, and what it tells (`Probe`). A node of
    /// the release before `Cluster` existed answers `Unimplemented`, which proves it alive just as well
    /// (rolling upgrades); it tells nothing.
    pub async fn probe(&self, addr: &str) -> Option<Probe> {
        let channel = self.channel(addr).ok()?;
        let mut req = tonic::Request::new(swf_proto::PingRequest {});
        req.set_timeout(CONTROL_TIMEOUT);
        match ClusterClient::new(channel).ping(req).await {
            Ok(reply) => {
                let reply = reply.into_inner();
                Some(Probe {
                    wall_ms: reply.wall_ms,
                    applied_index: reply.applied_index,
                    apply_version: reply.apply_version,
                })
            }
            Err(status) => {
                (status.code() == tonic::Code::Unimplemented).then_some(Probe::default())
            }
        }
    }

    /// Runs a cluster-control call on the node at `addr` itself (`hops`: how often it was forwarded
    /// already). A connection that could not be made is `ServiceUnavailable` (nothing ran); one that
    /// broke or timed out is `InternalFailure` (it may have run).
    pub async fn control_node(
        &self,
        addr: &str,
        call: Control,
        hops: u32,
    ) -> Result<ControlDone, Fault> {
        use swf_proto::*;
        let mut client = ClusterClient::new(self.channel(addr)?);
        fn req<T>(msg: T) -> tonic::Request<T> {
            let mut r = tonic::Request::new(msg);
            r.set_timeout(CONTROL_TIMEOUT);
            r
        }
        let result = match call {
            Control::Ping => client
                .ping(req(PingRequest {}))
                .await
                .map(|r| r.into_inner().fault),
            Control::HoldElections { hold } => client
                .hold_elections(req(HoldElectionsRequest { hold }))
                .await
                .map(|r| r.into_inner().fault),
            Control::Campaign => client
                .campaign(req(CampaignRequest {}))
                .await
                .map(|r| r.into_inner().fault),
            Control::AddMember { node_id, addr } => client
                .add_member(req(AddMemberRequest {
                    node_id,
                    addr,
                    hops,
                }))
                .await
                .map(|r| r.into_inner().fault),
            Control::RemoveMember { node_id } => client
                .remove_member(req(RemoveMemberRequest { node_id, hops }))
                .await
                .map(|r| r.into_inner().fault),
            Control::RotateTokenKey => {
                return match client
                    .rotate_token_key(req(RotateTokenKeyRequest { hops }))
                    .await
                {
                    Ok(r) => {
                        let r = r.into_inner();
                        reply_fault(r.fault)?;
                        Ok(ControlDone::Rotated(r.generation))
                    }
                    Err(status) => Err(control_status(addr, status)),
                };
            }
            Control::TransferLeader { to } => {
                return match client
                    .transfer_leader(req(TransferLeaderRequest { to, hops }))
                    .await
                {
                    Ok(r) => {
                        let r = r.into_inner();
                        reply_fault(r.fault)?;
                        Ok(ControlDone::Transferred(Transferred {
                            previous_leader_id: r.previous_leader_id,
                            leader_id: r.leader_id,
                            term: r.term,
                            elapsed_ms: r.elapsed_ms,
                        }))
                    }
                    Err(status) => Err(control_status(addr, status)),
                };
            }
        };
        match result {
            Ok(fault) => reply_fault(fault).map(|()| ControlDone::Done),
            Err(status) => Err(control_status(addr, status)),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn send(
        &self,
        api: Api,
        addr: &str,
        action: &str,
        input: Vec<u8>,
        hops: u32,
        request_id: &str,
        timeout: Duration,
    ) -> Result<Vec<u8>, Fault> {
        let mut client = self.client(addr)?;
        let mut req = tonic::Request::new(ExecuteRequest {
            action: action.to_string(),
            input,
            hops,
            request_id: request_id.to_string(),
            api: api.wire().to_string(),
            caller: crate::request::current_caller()
                .map(|c| c.to_wire())
                .unwrap_or_default(),
        });
        // The deadline travels with the call (`grpc-timeout`), so the node it is forwarded through
        // gives up no later than this one.
        req.set_timeout(timeout);
        match client.execute(req).await {
            Ok(resp) => match answered(resp.into_inner()) {
                Some(execute_response::Result::Output(out)) => Ok(out),
                Some(execute_response::Result::Fault(f)) => Err(Fault {
                    kind: FaultKind::from_code(&f.code).unwrap_or(FaultKind::Internal),
                    message: f.message,
                }),
                None => Err(Fault::internal("empty response from the leader")),
            },
            Err(status) => {
                // The connection failed or broke (a failover, a frozen peer noticed by keep-alive):
                // retry on the leader of the moment. A call that ran before the connection broke is
                // answered with its first outcome on retry (`swf_core::dedup`).
                Err(Fault::unavailable(format!(
                    "The leader at {addr} is unreachable: {}",
                    status.message()
                )))
            }
        }
    }
}

/// The result of an `Execute` answer, after taking in the stages the answering node reported (for
/// the slow-call log of the call being timed on this task, if any).
fn answered(resp: swf_proto::ExecuteResponse) -> Option<execute_response::Result> {
    if let (Some(times), Some(timing)) = (crate::call_timing::current(), &resp.timing) {
        times.absorb(timing);
    }
    resp.result
}

/// One call as the routing loop carries it.
pub(crate) struct Call<'a> {
    pub api: Api,
    pub action: &'a str,
    pub input: Vec<u8>,
    pub hops: u32,
    pub request_id: &'a str,
}

/// How one attempt of a call reaches a node: the router's own (in-process when the node tried is this
/// one and leads, gRPC otherwise), or a test's.
pub(crate) trait Transport: Sync {
    /// The address of node `id`, if it is a member (this node's own for itself).
    fn addr_of(&self, id: u64) -> Option<String>;

    /// Sends one attempt of `call` to node `to` at `addr`, with deadline `timeout` (the loop enforces
    /// it too).
    fn attempt<'a>(
        &'a self,
        to: u64,
        addr: &'a str,
        call: &'a Call<'a>,
        timeout: Duration,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, Fault>> + Send + 'a>>;
}

impl Transport for Router {
    fn addr_of(&self, id: u64) -> Option<String> {
        Router::addr_of(self, id)
    }

    fn attempt<'a>(
        &'a self,
        to: u64,
        addr: &'a str,
        call: &'a Call<'a>,
        timeout: Duration,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, Fault>> + Send + 'a>> {
        match self.local.get() {
            // This node leads: in-process, the same call the gRPC path would make. Its future is
            // boxed on its own, without the gRPC call's larger state (a long poll holds it a minute).
            Some(local) if to == self.node_id => {
                local.execute(call.api, call.action, call.input.clone(), call.request_id)
            }
            _ => Box::pin(async move {
                self.send(
                    call.api,
                    addr,
                    call.action,
                    call.input.clone(),
                    call.hops,
                    call.request_id,
                    timeout,
                )
                .await
            }),
        }
    }
}

/// The deadline of one attempt of `action`.
fn attempt_timeout(action: &str, long_poll: Duration) -> Duration {
    if is_poll(action) {
        long_poll + POLL_MARGIN
    } else {
        CALL_TIMEOUT
    }
}

/// Carries `call` to the leader `leader` names, through `transport` (see the module doc): moved the
/// moment another leader is known, sent again after backoff while no leader answers, refused at once
/// while this node is `cut_off`; `long_poll` is the cluster's long-poll time.
pub(crate) async fn route(
    transport: &impl Transport,
    leader: &watch::Receiver<Option<u64>>,
    cut_off: &watch::Sender<bool>,
    long_poll: Duration,
    call: &Call<'_>,
) -> Result<Vec<u8>, Fault> {
    let action = call.action;
    let started = Instant::now();
    // A poll that moved answers (empty) by the time its first attempt would have, so its client,
    // which waits a little over the long-poll time, still gets the answer.
    let poll_end = is_poll(action).then(|| started + long_poll + POLL_MARGIN);
    let deadline = (started + LEADER_WAIT).max(poll_end.unwrap_or(started));
    let mut backoff = Duration::from_millis(10);
    let mut leader = leader.clone();
    loop {
        let mut cut_off = cut_off.subscribe();
        if *cut_off.borrow_and_update() {
            return Err(Router::cut_off_fault());
        }
        let tried = *leader.borrow_and_update();
        let mut timeout = attempt_timeout(action, long_poll);
        if let Some(end) = poll_end {
            timeout = timeout.min(end.saturating_duration_since(Instant::now()));
        }
        // The leader tried is the one the watch shows, so a move is always a change from it.
        let attempt = match tried.and_then(|id| Some((id, transport.addr_of(id)?))) {
            None => Attempt::Done(Err(Fault::unavailable("No Raft leader is known yet"))),
            Some((to, addr)) => {
                let send = transport.attempt(to, &addr, call, timeout);
                tokio::select! {
                    r = tokio::time::timeout(timeout, send) => match r {
                        Ok(r) => Attempt::Done(r),
                        Err(_) => Attempt::TimedOut,
                    },
                    _ = leader_moved(&mut leader, tried) => {
                        Attempt::Moved
                    }
                    _ = cut_off.wait_for(|c| *c) => {
                        return Err(Router::cut_off_fault());
                    }
                }
            }
        };
        let retry = match &attempt {
            Attempt::Done(Err(f)) => f.kind == FaultKind::ServiceUnavailable,
            Attempt::Done(Ok(_)) => false,
            Attempt::Moved => true,
            Attempt::TimedOut => true,
        };
        let now = Instant::now();
        if retry && poll_end.is_some_and(|end| now >= end) {
            return Ok(empty_poll(action));
        }
        if !retry || now >= deadline {
            return match attempt {
                Attempt::Done(r) => r,
                Attempt::Moved | Attempt::TimedOut => Err(Fault::unavailable(format!(
                    "No answer from the leader within {:?}",
                    now - started
                ))),
            };
        }
        tracing::debug!(
            action,
            request_id = call.request_id,
            tried = ?tried,
            moved = matches!(attempt, Attempt::Moved),
            "sending the call again"
        );
        if matches!(attempt, Attempt::Moved) {
            continue; // straight to the new leader
        }
        // Retry after the backoff, or as soon as this node learns of another leader.
        let _ = tokio::time::timeout(backoff, leader_moved(&mut leader, tried)).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// The fault for a control call whose RPC failed.
fn control_status(addr: &str, status: tonic::Status) -> Fault {
    if status.code() == tonic::Code::Unavailable {
        Fault::unavailable(format!("Node {addr} is unreachable: {}", status.message()))
    } else {
        Fault::internal(format!(
            "Control call to {addr} failed (it may or may not have run): {}",
            status.message()
        ))
    }
}

/// The API an action belongs to; carried in `ExecuteRequest.api` because action names collide
/// between the two (TagResource, UntagResource, ListTagsForResource).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// Amazon SWF (`SimpleWorkflowService.<Action>`); the wire's default.
    Swf,
    /// AWS Step Functions (`AWSStepFunctions.<Action>`).
    Sfn,
}

impl Api {
    /// The value of the `api` label of metrics and logs.
    pub fn label(self) -> &'static str {
        match self {
            Api::Swf => "swf",
            Api::Sfn => "sfn",
        }
    }

    /// The value of `ExecuteRequest.api`.
    pub fn wire(self) -> &'static str {
        match self {
            Api::Swf => "",
            Api::Sfn => "sfn",
        }
    }

    /// Parses `ExecuteRequest.api`; `None` for an API this node does not know.
    pub fn from_wire(s: &str) -> Option<Api> {
        match s {
            "" => Some(Api::Swf),
            "sfn" => Some(Api::Sfn),
            _ => None,
        }
    }
}

/// Waits until the leader this node knows is a node other than `tried` (never returns otherwise).
async fn leader_moved(leader: &mut watch::Receiver<Option<u64>>, tried: Option<u64>) {
    loop {
        let now = *leader.borrow_and_update();
        if now.is_some() && now != tried {
            return;
        }
        if leader.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Whether `action` is a long poll.
fn is_poll(action: &str) -> bool {
    // GetActivityTask is Step Functions' long poll (no SWF action has that name).
    matches!(
        action,
        "PollForDecisionTask" | "PollForActivityTask" | "GetActivityTask"
    )
}

/// The answer to a long poll that got no task (as the executor gives it).
fn empty_poll(action: &str) -> Vec<u8> {
    if action == "PollForDecisionTask" {
        br#"{"previousStartedEventId":0,"startedEventId":0}"#.to_vec()
    } else if action == "GetActivityTask" {
        b"{}".to_vec()
    } else {
        br#"{"startedEventId":0}"#.to_vec()
    }
}

#[cfg(test)]
#[path = "router_test.rs"]
mod router_test;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_classified() {
        for (action, poll) in [
            ("PollForDecisionTask", true),
            ("PollForActivityTask", true),
            ("StartWorkflowExecution", false),
            ("SignalWorkflowExecution", false),
        ] {
            assert_eq!(is_poll(action), poll, "{action}");
        }
        assert!(std::str::from_utf8(&empty_poll("PollForDecisionTask"))
            .unwrap()
            .contains("previousStartedEventId"));
        assert_eq!(
            empty_poll("PollForActivityTask"),
            br#"{"startedEventId":0}"#
        );
    }

    #[tokio::test]
    async fn leader_moved_waits_for_another_known_leader() {
        let (tx, mut rx) = watch::channel(Some(1));
        // Still node 1, then no leader: not moved.
        let wait = leader_moved(&mut rx, Some(1));
        tokio::pin!(wait);
        for v in [Some(1), None] {
            tx.send(v).unwrap();
            assert!(futures_poll(&mut wait).await.is_none(), "{v:?}");
        }
        tx.send(Some(2)).unwrap();
        assert!(futures_poll(&mut wait).await.is_some());
        // Tried with no leader known: any leader counts, this node included.
        let (tx, mut rx) = watch::channel(None);
        let wait = leader_moved(&mut rx, None);
        tokio::pin!(wait);
        assert!(futures_poll(&mut wait).await.is_none());
        tx.send(Some(1)).unwrap();
        assert!(futures_poll(&mut wait).await.is_some());
    }

    /// Polls `f` until it has made all the progress it can without waiting: `Some` if it completed.
    async fn futures_poll<F: std::future::Future + Unpin>(f: &mut F) -> Option<F::Output> {
        tokio::select! {
            biased;
            out = f => Some(out),
            _ = tokio::task::yield_now() => None,
        }
    }
}
