//! `Node`: starts a node (RocksDB, openraft, gRPC server), initialises a one-member cluster on first
//! start (a restart recovers from RocksDB and never re-initialises), reports whether it serves SWF
//! calls, and shuts down cleanly.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use openraft::{BasicNode, Config, Raft, SnapshotPolicy};
use swf_proto::cluster_server::ClusterServer as GrpcClusterServer;
use swf_proto::raft_service_server::RaftServiceServer;
use swf_proto::swf_node_server::SwfNodeServer as GrpcSwfNodeServer;
use swf_store::{open_db, Db, LogStore, StateMachineStore, StateReader, TypeConfig};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::clock::ClusterClock;
use crate::config::NodeConfig;
use crate::control::ClusterServer;
use crate::disk::DiskGuard;
use crate::elections::ElectionGate;
use crate::executor::Executor;
use crate::express::ExpressWaiters;
use crate::leader::LeaderPath;
use crate::matcher::Matcher;
use crate::membership::{MemberChange, Membership};
use crate::network::GrpcNetwork;
use crate::router::{Control, ControlDone, Router, Transferred};
use crate::service::{RaftServer, SwfNodeServer};
use crate::timing::*;
use crate::transfer::{Transfer, TransferRequest};
use swf_core::state::{QueuedTask, Write};

/// Errors starting a node.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the database: {0}")]
    Db(#[from] rocksdb::Error),
    #[error("raft: {0}")]
    Raft(String),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    ApplyVersion(String),
}

/// A running node.
pub struct Node {
    pub id: u64,
    pub raft: Raft<TypeConfig>,
    pub router: Arc<Router>,
    pub reader: StateReader,
    grpc_addr: String,
    db: Db,
    stop: watch::Sender<bool>,
    grpc_task: tokio::sync::Mutex<Option<JoinHandle<()>>>,
    matcher: Arc<Matcher>,
    elections: Arc<ElectionGate>,
    /// StartSyncExecution callers waiting here for their execution's close (`express`).
    express: Arc<ExpressWaiters>,
    /// The cluster's time as this node reads it (what the leader stamps; clients' clocks are judged
    /// by it too, see [`Node::cluster_now_secs`]).
    clock: Arc<ClusterClock>,
    /// The highest apply version this node offers (`--max-apply-version`).
    max_apply_version: u32,
    /// What the other members offered when this node, leading, last asked.
    offers: Arc<crate::apply_version::Offers>,
}

impl Node {
    /// Starts a node serving gRPC on `grpc_listener`.
    pub async fn start(
        config: NodeConfig,
        grpc_listener: TcpListener,
    ) -> Result<Arc<Node>, StartError> {
        std::fs::create_dir_all(&config.data_dir)?;
        let db = open_db(&config.data_dir.join("db"))?;
        // A build (or a --max-apply-version) behind the cluster's rules must not apply its log.
        let apply_version = swf_core::apply_version::check_supported(
            &StateReader::new(db.clone()),
            config.max_apply_version,
        )
        .map_err(StartError::ApplyVersion)?;
        tracing::info!(
            cluster = apply_version,
            offered = config.max_apply_version,
            "apply version"
        );
        let grpc_addr = grpc_listener.local_addr()?.to_string();
        let connector = crate::peer_tls::PeerConnector {
            tls: config.peer_tls.clone(),
        };

        crate::metrics::init();
        crate::metrics::METRICS.node_id.set(config.node_id as i64);
        let matcher = Arc::new(Matcher::new(config.max_pollers_per_task_list));
        let timer_wake = Arc::new(tokio::sync::Notify::new());
        let (hook_matcher, hook_timers) = (matcher.clone(), timer_wake.clone());
        let express = Arc::new(ExpressWaiters::default());
        let hook_express = express.clone();
        let recorder = crate::metrics::ApplyRecorder::default();
        let hook: swf_store::ApplyHook = Arc::new(move |writes: &[Write]| {
            recorder.record(writes);
            let queued: Vec<QueuedTask> = writes
                .iter()
                .filter_map(|w| match w {
                    Write::Enqueue(q) => Some(q.clone()),
                    _ => None,
                })
                .collect();
            if !queued.is_empty() {
                hook_matcher.notify(&queued);
            }
            if writes.iter().any(|w| matches!(w, Write::Arm(_))) {
                hook_timers.notify_one();
            }
            hook_express.observe(writes);
        });
        let log_store = LogStore::new(db.clone());
        let state_machine = StateMachineStore::new(db.clone(), config.limits.clone(), Some(hook));
        let clock = Arc::new(ClusterClock::new(state_machine.last_stamp()));
        let disk = Arc::new(DiskGuard::new(
            config.data_dir.clone(),
            config.min_free_disk,
        ));
        // Read once before Raft starts, so a node that starts on a full disk refuses at once.
        disk.check();

        let raft_config = Config {
            cluster_name: "swfd".into(),
            heartbeat_interval: HEARTBEAT_MS,
            election_timeout_min: ELECTION_TIMEOUT_MS.0,
            election_timeout_max: ELECTION_TIMEOUT_MS.1,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(config.snapshot_every),
            max_in_snapshot_log_to_keep: config.snapshot_every.min(1_000),
            // Each chunk RPC may take this long; the last one includes installing the whole snapshot
            // on the follower.
            install_snapshot_timeout: INSTALL_SNAPSHOT_TIMEOUT_MS,
            snapshot_max_chunk_size: SNAPSHOT_CHUNK_BYTES,
            ..Default::default()
        };
        let raft_config = Arc::new(
            raft_config
                .validate()
                .map_err(|e| StartError::Raft(e.to_string()))?,
        );
        let raft = Raft::new(
            config.node_id,
            raft_config,
            GrpcNetwork {
                connector: connector.clone(),
            },
            log_store,
            state_machine,
        )
        .await
        .map_err(|e| StartError::Raft(e.to_string()))?;

        let reader = StateReader::new(db.clone());
        let executor = Arc::new(Executor::new(
            raft.clone(),
            reader.clone(),
            config.limits.clone(),
            matcher.clone(),
            config.long_poll,
            clock.clone(),
            disk.clone(),
        ));
        let router = Arc::new(Router::new(
            config.node_id,
            grpc_addr.clone(),
            raft.clone(),
            config.long_poll,
            connector,
        ));

        let (stop, mut stopped) = watch::channel(false);
        let stop_log = stop.subscribe();
        crate::timers::spawn(
            config.node_id,
            raft.clone(),
            reader.clone(),
            executor.clone(),
            timer_wake,
            stop.subscribe(),
        );
        let elections = Arc::new(ElectionGate::new(raft.clone()));
        let heard = Arc::new(crate::heard::Heard::default());
        crate::elections::spawn_quorum_watch(
            config.node_id,
            raft.clone(),
            router.clone(),
            elections.clone(),
            clock.clone(),
            heard.clone(),
            stop.subscribe(),
        );
        let offers = Arc::new(crate::apply_version::Offers::default());
        crate::apply_version::spawn(
            crate::apply_version::Raiser {
                node_id: config.node_id,
                raft: raft.clone(),
                router: router.clone(),
                reader: reader.clone(),
                executor: executor.clone(),
                offered: config.max_apply_version,
                offers: offers.clone(),
            },
            stop.subscribe(),
        );
        let transfer = Arc::new(Transfer::new(
            config.node_id,
            raft.clone(),
            elections.clone(),
        ));
        crate::disk::spawn(
            disk.clone(),
            crate::disk::Effects {
                node_id: config.node_id,
                raft: raft.clone(),
                router: router.clone(),
                transfer: transfer.clone(),
                elections: elections.clone(),
            },
            stop.subscribe(),
        );
        let cluster_service = ClusterServer {
            node_id: config.node_id,
            raft: raft.clone(),
            router: router.clone(),
            transfer: transfer.clone(),
            membership: Arc::new(Membership::new(raft.clone(), config.member_catch_up)),
            executor: executor.clone(),
            max_apply_version: config.max_apply_version,
            reader: reader.clone(),
        };
        let leader_path = Arc::new(LeaderPath { executor, transfer });
        router.set_local(leader_path.clone());
        let swf_service = SwfNodeServer {
            node_id: config.node_id,
            raft: raft.clone(),
            leader: leader_path,
            router: router.clone(),
        };
        let raft_service = RaftServer {
            raft: raft.clone(),
            disk: disk.clone(),
            heard,
        };
        // No Nagle (a response written in two segments would otherwise wait for the peer's delayed
        // ACK); mutual TLS when configured: a peer without a certificate never reaches these services.
        let incoming = crate::peer_tls::incoming(grpc_listener, config.peer_tls.clone());
        let grpc_task = tokio::spawn(async move {
            let result = tonic::transport::Server::builder()
                .add_service(
                    GrpcSwfNodeServer::new(swf_service)
                        .max_decoding_message_size(64 << 20)
                        .max_encoding_message_size(64 << 20),
                )
                .add_service(GrpcClusterServer::new(cluster_service))
                .add_service(
                    RaftServiceServer::new(raft_service)
                        .max_decoding_message_size(256 << 20)
                        .max_encoding_message_size(256 << 20),
                )
                .serve_with_incoming_shutdown(incoming, async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await;
            if let Err(e) = result {
                tracing::error!(error = %e, "gRPC server failed");
            }
        });

        // Pollers re-check where they stand whenever leadership changes.
        // (and the term and leader changes are counted).
        let mut metrics = raft.metrics();
        let leadership_matcher = matcher.clone();
        tokio::spawn(async move {
            let (mut leader, mut term) = {
                let m = metrics.borrow();
                (m.current_leader, m.current_term)
            };
            while metrics.changed().await.is_ok() {
                let (now, now_term) = {
                    let m = metrics.borrow();
                    (m.current_leader, m.current_term)
                };
                if now_term != term {
                    term = now_term;
                    crate::metrics::METRICS.term_changes.inc();
                }
                if now != leader {
                    leader = now;
                    crate::metrics::METRICS.leader_changes.inc();
                    leadership_matcher.wake_all();
                }
            }
        });

        if !config.join
            && !raft
                .is_initialized()
                .await
                .map_err(|e| StartError::Raft(e.to_string()))?
        {
            // A pristine node: every member initialises with the same list (openraft allows it; the
            // ones that find the cluster already formed get NotAllowed, which is fine).
            let members: BTreeMap<u64, BasicNode> = match &config.initial_members {
                Some(list) => list
                    .iter()
                    .map(|(id, addr)| (*id, BasicNode { addr: addr.clone() }))
                    .collect(),
                None => BTreeMap::from([(
                    config.node_id,
                    BasicNode {
                        addr: grpc_addr.clone(),
                    },
                )]),
            };
            let size = members.len();
            // Every initial member derives the same id from the same list.
            let seed = serde_json::to_vec(&members).unwrap_or_default();
            if let Err(e) = swf_store::backup::ensure_cluster_id(
                &db,
                &swf_store::backup::derive_cluster_id(&seed),
            ) {
                tracing::warn!(error = %e, "cannot record the cluster id");
            }
            match raft.initialize(members).await {
                Ok(()) => tracing::info!(
                    node_id = config.node_id,
                    members = size,
                    "initialised a new cluster"
                ),
                Err(openraft::error::RaftError::APIError(
                    openraft::error::InitializeError::NotAllowed(_),
                )) => {
                    tracing::info!(node_id = config.node_id, "the cluster is already formed")
                }
                Err(e) => return Err(StartError::Raft(e.to_string())),
            }
        }

        Ok(Arc::new(Node {
            id: config.node_id,
            raft,
            router,
            reader,
            grpc_addr,
            db,
            stop,
            grpc_task: tokio::sync::Mutex::new(Some(grpc_task)),
            matcher,
            elections,
            express,
            clock,
            max_apply_version: config.max_apply_version,
            offers,
        }))
        .inspect(|node| node.spawn_not_serving_log(stop_log))
    }

    /// The bound address of the internal gRPC server.
    pub fn grpc_addr(&self) -> &str {
        &self.grpc_addr
    }

    /// Whether the node serves SWF calls: a leader is known and this node has applied its log.
    pub fn is_serving(&self) -> bool {
        let m = self.raft.metrics().borrow().clone();
        match m.current_leader {
            None => false,
            // A leader serves once it has applied an entry of its own term (the blank entry it
            // appends when elected): everything an earlier leader committed is applied by then.
            // Comparing applied with the last log index instead made a busy leader, whose log is
            // always a few entries ahead of what is applied, answer `/health` with 503. And it
            // serves only while a majority of the voters answers it (the quorum watch's probes):
            // a leader cut off from its quorum commits nothing.
            Some(leader) if leader == self.id => {
                let voters: Vec<u64> = m.membership_config.membership().voter_ids().collect();
                let silent = self.elections.silent_voters();
                let in_reach = voters.iter().filter(|v| !silent.contains(v)).count();
                m.last_applied.map(|l| l.leader_id.get_term()) == Some(m.current_term)
                    && (voters.len() <= 1 || in_reach > voters.len() / 2)
            }
            // A follower serves while it hears from the leader it follows: one cut off from its
            // leader (no probe answer and no heartbeat for a second) cannot forward calls.
            Some(leader) => !self.elections.silent_voters().contains(&leader),
        }
    }

    /// Why the node does not serve SWF calls, in words an operator can act on; `None` while it serves.
    pub fn not_serving_reason(&self) -> Option<String> {
        if self.is_serving() {
            return None;
        }
        let m = self.raft.metrics().borrow().clone();
        let membership = m.membership_config.membership();
        let voters: Vec<u64> = membership.voter_ids().collect();
        let list = |ids: &[u64]| {
            ids.iter()
                .map(|id| match membership.get_node(id) {
                    Some(n) => format!("{id} ({})", n.addr),
                    None => id.to_string(),
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let silent = self.elections.silent_voters();
        let majority = voters.len() / 2 + 1;
        let quorum_lost = voters.len() > 1 && voters.len() - silent.len() < majority;
        if m.current_leader == Some(self.id) && !quorum_lost {
            return Some(format!(
                "this node was just elected leader and is applying its log (applied {}, log {})",
                m.last_applied.map_or(0, |l| l.index),
                m.last_log_index.unwrap_or(0)
            ));
        }
        if !voters.contains(&self.id) {
            return Some(format!(
                "no leader known; this node is not a voter of its configuration (voters: {}) and \
                 waits to hear from the leader",
                list(&voters)
            ));
        }
        let mut why = match m.current_leader {
            Some(leader) if leader == self.id => {
                "this node leads but no majority of the voters acknowledges it".to_string()
            }
            Some(leader) => format!(
                "no leader in reach: this node follows node {}, which does not answer it",
                list(&[leader])
            ),
            None => "no leader".to_string(),
        };
        why.push_str(&format!(
            ": the configuration's voters are {} and a leader needs {majority} of them",
            list(&voters)
        ));
        if !silent.is_empty() {
            why.push_str(&format!(
                "; not answering this node: {} (only {} of {} in reach, this node included)",
                list(&silent),
                voters.len() - silent.len(),
                voters.len()
            ));
            if voters.len() - silent.len() < majority {
                why.push_str(
                    ". The quorum is lost: bring those nodes back, or recover this node as a new \
                     cluster (see docs/operations.md, \"A cluster that lost its quorum\")",
                );
            }
        } else {
            why.push_str("; an election is under way");
        }
        Some(why)
    }

    /// Logs why the node does not serve, every 10 s while it does not (after a first 5 s).
    fn spawn_not_serving_log(self: &Arc<Self>, mut stop: watch::Receiver<bool>) {
        let node = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut wait = Duration::from_secs(5);
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
                wait = Duration::from_secs(10);
                let Some(node) = node.upgrade() else { return };
                if let Some(why) = node.not_serving_reason() {
                    tracing::warn!(node_id = node.id, "not serving: {why}");
                }
            }
        });
    }

    /// The cluster's time now, in seconds since the Unix epoch: the lower median of the voters' clocks
    /// as this node reads them (`clock`), which one node's wrong clock does not move; this node's own
    /// clock while it has no majority of fresh readings (a single node, or cut off). The gateway judges
    /// a signed request's time by it (SigV4's 15 minutes of allowed skew), so a node whose own clock is
    /// off does not refuse clients whose clocks are right.
    pub fn cluster_now_secs(&self) -> i64 {
        self.clock.cluster_now_ms().div_euclid(1000)
    }

    /// Whether the node is ready for traffic: it serves SWF calls and its applied state is within
    /// `READY_LAG` entries of its log.
    pub fn is_ready(&self) -> bool {
        let m = self.raft.metrics().borrow().clone();
        let applied = m.last_applied.map(|l| l.index).unwrap_or(0);
        self.is_serving() && m.last_log_index.unwrap_or(0).saturating_sub(applied) <= READY_LAG
    }

    /// The node's view of the cluster, as `GET /cluster/status` returns it.
    pub fn cluster_status(&self) -> serde_json::Value {
        let m = self.raft.metrics().borrow().clone();
        let members: BTreeMap<String, String> = m
            .membership_config
            .membership()
            .nodes()
            .map(|(id, n)| (id.to_string(), n.addr.clone()))
            .collect();
        let voters: Vec<u64> = m.membership_config.membership().voter_ids().collect();
        serde_json::json!({
            "node_id": self.id,
            "cluster_id": swf_store::backup::cluster_id(&self.db).ok().flatten(),
            "leader_id": m.current_leader,
            "term": m.current_term,
            "last_log_index": m.last_log_index,
            "last_applied": m.last_applied.map(|l| l.index),
            "role": format!("{:?}", m.state),
            "snapshot_index": m.snapshot.map(|l| l.index),
            "purged_index": m.purged.map(|l| l.index),
            "members": members,
            "voters": voters,
            "serving": self.is_serving(),
            "not_serving_reason": self.not_serving_reason(),
            "pollers": self.matcher.total_pollers(),
            // The rules the cluster applies its log by (as far as this node has applied), and the
            // highest this node offers (swf-core's `apply_version`).
            "apply_version": swf_core::apply_version::load(&self.reader).ok(),
            "max_apply_version": self.max_apply_version,
            // Leader only, while the cluster is below what the leader offers: each other member's
            // answer in the latest round (null: no answer).
            "member_apply_versions": self.offers.latest(),
        })
    }

    /// The last applied index of each other voter, as its latest answer to this node's quorum watch
    /// said, and how long ago (the console's cluster page).
    pub fn peer_applied(&self) -> Vec<(u64, u64, Duration)> {
        self.elections.peer_applied()
    }

    /// The task lists of `domain` polled on this node, with their pollers now and the identities
    /// that polled them (the console's task-list page; polls wait on the leader only).
    pub fn task_lists(&self, domain: &str) -> Vec<crate::matcher::ListView> {
        self.matcher.lists_of(domain)
    }

    /// Sets the metrics that are read when scraped (`crate::metrics`): Raft's view, open executions,
    /// backlog and pollers per task list, RocksDB's sizes. Cheap: no scan of applied state.
    pub fn refresh_metrics(&self) {
        use crate::metrics::{domain_label, kind_label, set_task_lists, METRICS as M};
        let m = self.raft.metrics().borrow().clone();
        M.serving.set(self.is_serving() as i64);
        let role = match m.state {
            openraft::ServerState::Leader => "leader",
            openraft::ServerState::Follower => "follower",
            openraft::ServerState::Candidate => "candidate",
            openraft::ServerState::Learner => "learner",
            openraft::ServerState::Shutdown => "shutdown",
        };
        for r in ["leader", "follower", "candidate", "learner", "shutdown"] {
            M.raft_role.with_label_values(&[r]).set((r == role) as i64);
        }
        M.raft_term.set(m.current_term as i64);
        M.raft_leader_id.set(m.current_leader.unwrap_or(0) as i64);
        let last_log = m.last_log_index.unwrap_or(0);
        M.raft_last_log_index.set(last_log as i64);
        M.raft_applied_index
            .set(m.last_applied.map_or(0, |l| l.index) as i64);
        M.raft_snapshot_index
            .set(m.snapshot.map_or(0, |l| l.index) as i64);
        M.raft_purged_index
            .set(m.purged.map_or(0, |l| l.index) as i64);
        M.raft_voters
            .set(m.membership_config.membership().voter_ids().count() as i64);
        M.raft_millis_since_quorum_ack
            .set(m.millis_since_quorum_ack.map_or(-1, |ms| ms as i64));
        M.raft_replication_lag.reset();
        if let Some(replication) = &m.replication {
            for (id, matched) in replication.iter() {
                if *id == self.id {
                    continue;
                }
                let lag = last_log.saturating_sub(matched.map_or(0, |l| l.index));
                M.raft_replication_lag
                    .with_label_values(&[&id.to_string()])
                    .set(lag as i64);
            }
        }
        M.long_polls_held.set(self.matcher.total_pollers() as i64);
        let pollers = self
            .matcher
            .pollers_by_list()
            .into_iter()
            .map(|((d, k, l), n)| (domain_label(&d), kind_label(k), l, n as i64))
            .collect();
        set_task_lists(&M.task_pollers, pollers);
        if let Ok(backlog) = swf_store::hot_index::read(&self.db, |i| i.backlog()) {
            let rows = backlog
                .into_iter()
                .map(|((d, k, l), n)| (domain_label(&d), kind_label(k), l, n as i64))
                .collect();
            set_task_lists(&M.task_backlog, rows);
        }
        if let Ok(open) = swf_store::hot_index::open_executions(&self.db) {
            M.open_executions.set(open);
        }
        let counts = swf_core::state::Lookup::sfn_get(&self.reader, &swf_core::sfn::keys::counts());
        if let Ok(Some(bytes)) = counts {
            if let Ok(c) = serde_json::from_slice::<swf_core::sfn::records::Counts>(&bytes) {
                M.sfn_open_executions.set(c.open_executions as i64);
            }
        }
        let cfs = swf_store::db::STATE_CFS
            .iter()
            .chain([&swf_store::db::CF_LOGS, &swf_store::db::CF_META]);
        for cf in cfs {
            let Some(handle) = self.db.cf_handle(cf) else {
                continue;
            };
            let prop = |name: &str| {
                self.db
                    .property_int_value_cf(handle, name)
                    .ok()
                    .flatten()
                    .unwrap_or(0) as i64
            };
            M.rocksdb_sst_bytes
                .with_label_values(&[cf])
                .set(prop("rocksdb.total-sst-files-size"));
            M.rocksdb_live_data_bytes
                .with_label_values(&[cf])
                .set(prop("rocksdb.estimate-live-data-size"));
            M.rocksdb_pending_compaction_bytes
                .with_label_values(&[cf])
                .set(prop("rocksdb.estimate-pending-compaction-bytes"));
            M.rocksdb_memtable_bytes
                .with_label_values(&[cf])
                .set(prop("rocksdb.cur-size-all-mem-tables"));
            M.rocksdb_estimated_keys
                .with_label_values(&[cf])
                .set(prop("rocksdb.estimate-num-keys"));
        }
    }

    /// Moves leadership to the node the JSON `body` names (`{"to": N}`, or `{}` for the most
    /// up-to-date other voter), whichever node this is (the leader runs it, see `transfer`).
    pub async fn transfer_leader(&self, body: &[u8]) -> Result<Transferred, swf_types::Fault> {
        let body = if body.iter().all(u8::is_ascii_whitespace) {
            &b"{}"[..]
        } else {
            body
        };
        let req: TransferRequest = serde_json::from_slice(body).map_err(|e| {
            swf_types::Fault::validation(format!("expected {{\"to\": NODE_ID}} or {{}}: {e}"))
        })?;
        match self
            .router
            .control_leader(Control::TransferLeader { to: req.to }, 0)
            .await?
        {
            ControlDone::Transferred(t) => Ok(t),
            ControlDone::Done | ControlDone::Rotated(_) => Err(swf_types::Fault::internal(
                "the leader sent no transfer outcome",
            )),
        }
    }

    /// Runs the action `action` of `api` (SWF or Step Functions) with its JSON `input` on the leader,
    /// whichever node this is (see `router`); `request_id` identifies the client's call across
    /// forwarding and retries.
    pub async fn call(
        &self,
        api: crate::router::Api,
        action: &str,
        input: Vec<u8>,
        request_id: &str,
    ) -> Result<Vec<u8>, swf_types::Fault> {
        if api == crate::router::Api::Sfn && action == "StartSyncExecution" {
            // Started on the leader, waited for here (see `express`). Boxed: every other call's
            // future (a long poll's too) would otherwise be as large as this one's.
            return Box::pin(crate::express::start_sync_execution(
                &self.router,
                &self.reader,
                &self.express,
                input,
                request_id,
            ))
            .await;
        }
        self.router
            .call_api(api, action, input, 0, request_id)
            .await
    }

    /// Starts an online backup of the applied state on this node, which must lead (see `backup`).
    pub async fn backup(&self) -> Result<crate::backup::BackupStream, swf_types::Fault> {
        crate::backup::start(&self.raft, &self.db, self.id).await
    }

    /// This node's own applied-state digest (how replicas are compared; never forwarded).
    pub async fn digest(&self) -> Result<swf_store::digest::StateDigest, String> {
        let reader = self.reader.clone();
        match tokio::task::spawn_blocking(move || reader.digest()).await {
            Ok(Ok(d)) => Ok(d),
            Ok(Err(e)) => Err(e.0),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Adds a member (a learner until it has caught up, then a voter; see `membership`), on the
    /// leader, whichever node this is.
    pub async fn add_member(&self, change: MemberChange) -> Result<(), swf_types::Fault> {
        let addr = change
            .addr
            .filter(|a| !a.trim().is_empty())
            .ok_or_else(|| swf_types::Fault::validation("addr is required to add a member"))?;
        self.router
            .control_leader(
                Control::AddMember {
                    node_id: change.node_id,
                    addr,
                },
                0,
            )
            .await
            .map(|_| ())
    }

    /// Rotates the cluster's token key (`swf_core::keyring`), on the leader, whichever node this is;
    /// answers the new key's generation. Never sent twice once it may have run (a second rotation
    /// would retire the previous key's tokens).
    pub async fn rotate_token_key(&self) -> Result<u32, swf_types::Fault> {
        match self
            .router
            .control_leader(Control::RotateTokenKey, 0)
            .await?
        {
            ControlDone::Rotated(generation) => Ok(generation),
            _ => Err(swf_types::Fault::internal(
                "the leader sent no rotation outcome",
            )),
        }
    }

    /// Removes a member, on the leader, whichever node this is.
    pub async fn remove_member(&self, node_id: u64) -> Result<(), swf_types::Fault> {
        self.router
            .control_leader(Control::RemoveMember { node_id }, 0)
            .await
            .map(|_| ())
    }

    /// Waits until the node serves SWF calls or `timeout` passes; returns whether it serves.
    pub async fn wait_serving(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut metrics = self.raft.metrics();
        loop {
            if self.is_serving() {
                return true;
            }
            if tokio::time::timeout_at(deadline, metrics.changed())
                .await
                .is_err()
            {
                return self.is_serving();
            }
        }
    }

    /// Answers every held long poll empty and holds no new ones, and stops calling elections: the
    /// first step of a clean stop, so the HTTP server can drain in-flight calls without waiting out
    /// long polls, and the node does not take leadership it would drop a moment later.
    pub fn stop_polls(&self) {
        self.elections.set_stopping();
        self.matcher.close();
    }

    /// Stops Raft and the gRPC server and flushes the database.
    pub async fn shutdown(&self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.raft.shutdown().await {
            tracing::warn!(error = %e, "raft shutdown");
        }
        if let Some(task) = self.grpc_task.lock().await.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
        if let Err(e) = self.db.flush_wal(true) {
            tracing::warn!(error = %e, "wal flush");
        }
    }
}
