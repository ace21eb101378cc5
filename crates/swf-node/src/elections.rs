//! Whether this node may call elections on its own timer: not while a leader transfer asks it to hold
//! (see `transfer`), not once it is stopping (a node draining its calls after SIGTERM that won an
//! election would leave the cluster leaderless a moment later), not while its data directory is low
//! on disk space (see `disk`), and not while it cannot reach a majority of the voters. openraft 0.9 has no
//! pre-vote, so a node cut off from the others would campaign again and again, raising its term each
//! time, and on reconnecting that term would depose a healthy leader for nothing. The quorum watch
//! probes each other voter (`Cluster.Ping`) ten times a second; when fewer than a
//! majority (itself included) answered within the last 400 ms — less than a follower waits before its
//! first campaign — the node stops campaigning, and it resumes as soon as a majority answers again.
//! It only ever withholds a campaign that could not win, so it cannot delay a real failover: a survivor
//! that reaches the other survivors keeps its timer.
//!
//! The answers carry the answering node's wall clock, from which `ClusterClock` reads the cluster's
//! time (on every node, so a node that becomes leader has its readings already).
//!
//! The same probes (on a leader too) name the voters that do not answer, for a node's account of why
//! it does not serve (`Node::not_serving_reason`), and tell the router when this node is cut off from
//! the majority, so calls through it are refused at once instead of held (`Router::set_cut_off`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openraft::{Raft, ServerState};
use swf_store::TypeConfig;
use tokio::sync::watch;

use crate::clock::ClusterClock;
use crate::router::Router;

/// How often the quorum watch probes each other voter.
const ROUND: Duration = Duration::from_millis(100);
/// How long a probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_millis(300);
/// A voter counts as in reach if it answered a probe this recently. Shorter than the 450 ms a
/// follower waits before its first campaign, so a cut-off node stops before campaigning at all.
const IN_REACH: Duration = Duration::from_millis(400);

/// The three reasons to keep this node from campaigning on its own.
pub struct ElectionGate {
    raft: Raft<TypeConfig>,
    held: AtomicBool,
    isolated: AtomicBool,
    stopping: AtomicBool,
    disk_low: AtomicBool,
    /// The other voters that did not answer the quorum watch's probes lately (empty while the watch
    /// does not probe: on a leader, a learner, or a single voter).
    silent: Mutex<Vec<u64>>,
    /// The applied index each other voter answered the quorum watch's last probe with, and when
    /// (for the console; 0 from a release that does not tell).
    applied: Mutex<HashMap<u64, (u64, Instant)>>,
}

impl ElectionGate {
    /// A gate that lets `raft` campaign.
    pub fn new(raft: Raft<TypeConfig>) -> ElectionGate {
        ElectionGate {
            raft,
            held: AtomicBool::new(false),
            isolated: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            disk_low: AtomicBool::new(false),
            silent: Mutex::new(Vec::new()),
            applied: Mutex::new(HashMap::new()),
        }
    }

    /// A leader transfer holds (or releases) this node's own elections.
    pub fn set_held(&self, held: bool) {
        self.held.store(held, Ordering::SeqCst);
        self.apply();
    }

    /// The node is stopping: it never campaigns again (it still votes and follows).
    pub fn set_stopping(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.apply();
    }

    /// Whether this node's data directory is low on disk space (a leader it elected could not write).
    pub fn set_disk_low(&self, low: bool) {
        self.disk_low.store(low, Ordering::SeqCst);
        self.apply();
    }

    /// Whether this node cannot reach a majority of the voters.
    pub fn set_isolated(&self, isolated: bool) {
        if self.isolated.swap(isolated, Ordering::SeqCst) != isolated {
            if isolated {
                tracing::warn!("no majority of the voters in reach: not campaigning");
            } else {
                tracing::info!("a majority of the voters is in reach again");
            }
        }
        self.apply();
    }

    /// The other voters that have not answered this node's probes lately.
    pub fn silent_voters(&self) -> Vec<u64> {
        self.silent.lock().expect("silent voters lock").clone()
    }

    fn record_applied(&self, node: u64, index: u64) {
        self.applied
            .lock()
            .expect("applied lock")
            .insert(node, (index, Instant::now()));
    }

    /// The last applied index of each other voter, as its latest answer to the quorum watch said, with
    /// how long ago (only while this node is a voter of two or more; learners are not probed).
    pub fn peer_applied(&self) -> Vec<(u64, u64, Duration)> {
        let mut out: Vec<(u64, u64, Duration)> = self
            .applied
            .lock()
            .expect("applied lock")
            .iter()
            .map(|(node, (index, at))| (*node, *index, at.elapsed()))
            .collect();
        out.sort();
        out
    }

    fn set_silent(&self, silent: Vec<u64>) {
        *self.silent.lock().expect("silent voters lock") = silent;
    }

    fn apply(&self) {
        let allowed = !self.held.load(Ordering::SeqCst)
            && !self.isolated.load(Ordering::SeqCst)
            && !self.stopping.load(Ordering::SeqCst)
            && !self.disk_low.load(Ordering::SeqCst);
        self.raft.runtime_config().elect(allowed);
    }
}

/// Runs the quorum watch of node `node_id` until `stop` turns true.
pub fn spawn_quorum_watch(
    node_id: u64,
    raft: Raft<TypeConfig>,
    router: Arc<Router>,
    gate: Arc<ElectionGate>,
    clock: Arc<ClusterClock>,
    mut stop: watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        // Last answer from each voter, written by the probes.
        let answered: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
        let started = Instant::now();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(ROUND) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            let m = raft.metrics().borrow().clone();
            let membership = m.membership_config.membership().clone();
            let voters: Vec<u64> = membership.voter_ids().collect();
            let leading = m.state == ServerState::Leader;
            clock.set_voters(
                voters.len(),
                voters.iter().filter(|v| **v != node_id).copied().collect(),
            );
            if !voters.contains(&node_id) || voters.len() < 2 {
                gate.set_silent(Vec::new());
                gate.set_isolated(false);
                router.set_cut_off(false);
                continue;
            }
            if leading {
                // A leader never withholds campaigns; whether it is cut off is its quorum acks'.
                gate.set_isolated(false);
                router.set_cut_off(crate::router::Router::leader_cut_off(&m));
            }
            for v in voters.iter().filter(|v| **v != node_id) {
                let Some(addr) = membership.get_node(v).map(|n| n.addr.clone()) else {
                    continue;
                };
                let (router, answered, clock, gate, v) = (
                    router.clone(),
                    answered.clone(),
                    clock.clone(),
                    gate.clone(),
                    *v,
                );
                tokio::spawn(async move {
                    let sent = Instant::now();
                    if let Ok(Some(probe)) =
                        tokio::time::timeout(PROBE_TIMEOUT, router.probe(&addr)).await
                    {
                        clock.record(v, probe.wall_ms, sent.elapsed());
                        gate.record_applied(v, probe.applied_index);
                        answered
                            .lock()
                            .expect("probe map lock")
                            .insert(v, Instant::now());
                    }
                });
            }
            if started.elapsed() < IN_REACH {
                continue; // the first probes have not had time to answer
            }
            let silent: Vec<u64> = {
                let answered = answered.lock().expect("probe map lock");
                voters
                    .iter()
                    .filter(|v| **v != node_id)
                    .filter(|v| answered.get(v).is_none_or(|t| t.elapsed() >= IN_REACH))
                    .copied()
                    .collect()
            };
            let in_reach = voters.len() - 1 - silent.len();
            gate.set_silent(silent);
            let majority = voters.len() / 2 + 1;
            if !leading {
                gate.set_isolated(in_reach + 1 < majority);
                router.set_cut_off(in_reach + 1 < majority);
            }
        }
    });
}
