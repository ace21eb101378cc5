//! Leader transfer on openraft 0.9, which has no transfer API of its own.
//!
//! The leader runs the transfer (`swfd admin transfer-leader` reaches it through `POST
//! /cluster/transfer-leader`, `Node::transfer_leader` and the `Cluster.TransferLeader` RPC):
//! 1. it stops serving calls (the router retries them, on the new leader once it is known) and waits
//!    until the target has every entry of its log;
//! 2. it asks the other voters to hold their own election timers for a while, so they do not race
//!    the target, and stops sending heartbeats;
//! 3. once the voters' leader lease (the maximum election timeout) has run out since the last
//!    heartbeat, it asks the target to campaign; the target wins a plain Raft election (its log is
//!    as long as anyone's), and its first append makes the old leader step down;
//! 4. whatever the outcome, heartbeats, elections and serving are re-enabled.
//!
//! Safety is Raft's own: the target can only win with a log at least as up to date as a majority's,
//! so no acknowledged write is lost, and the old leader serves nothing from the moment it starts the
//! transfer until it has stepped down (or the transfer failed and it still leads), so at most one node
//! accepts writes. If the leader dies mid-transfer, the held voters resume their timers on their own
//! after `HOLD`.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft::Raft;
use serde::{Deserialize, Serialize};
use swf_store::TypeConfig;
use swf_types::Fault;

use crate::elections::ElectionGate;
use crate::router::{Control, Router, Transferred};
use crate::timing::{ELECTION_TIMEOUT_MS, HEARTBEAT_MS};

/// How long a voter holds its election timer at most (in case the leader dies mid-transfer).
const HOLD: Duration = Duration::from_secs(3);
/// How long the target may take to catch up with the leader's log.
const CATCH_UP: Duration = Duration::from_secs(5);
/// How long the target may take to win once asked to campaign.
const ELECTION: Duration = Duration::from_secs(3);
/// How long one internal call to a peer (hold, campaign) may take: a peer cut off by the network must
/// not keep the leader from serving.
const PEER_CALL: Duration = Duration::from_millis(500);

/// The body of a transfer request.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// The node to hand leadership to; the most up-to-date other voter when absent.
    #[serde(default)]
    pub to: Option<u64>,
}

/// A node's part in leader transfers: the serving gate on the leader and the election hold on voters.
pub struct Transfer {
    node_id: u64,
    raft: Raft<TypeConfig>,
    /// Set while this node, as leader, hands leadership over: it serves no call.
    transferring: AtomicBool,
    /// Bumped on each hold or release, so a stale hold timer does not release a newer hold.
    hold_generation: Arc<AtomicU64>,
    /// This node's own elections.
    elections: Arc<ElectionGate>,
}

/// Re-enables what a transfer disabled on the leader, however the transfer ends.
struct Restore<'a>(&'a Transfer);

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        self.0.raft.runtime_config().heartbeat(true);
        self.0.transferring.store(false, Ordering::SeqCst);
    }
}

impl Transfer {
    /// The transfer state of node `node_id`.
    pub fn new(node_id: u64, raft: Raft<TypeConfig>, elections: Arc<ElectionGate>) -> Transfer {
        Transfer {
            node_id,
            raft,
            transferring: AtomicBool::new(false),
            hold_generation: Arc::new(AtomicU64::new(0)),
            elections,
        }
    }

    /// Whether this node is handing leadership over (and must not serve calls).
    pub fn in_progress(&self) -> bool {
        self.transferring.load(Ordering::SeqCst)
    }

    /// Campaigns now (this node is the transfer's target; see `Cluster.Campaign`).
    pub async fn campaign(&self) -> Result<(), Fault> {
        let m = self.raft.metrics().borrow().clone();
        if !m
            .membership_config
            .membership()
            .voter_ids()
            .any(|v| v == self.node_id)
        {
            return Err(Fault::not_permitted(format!(
                "Node {} is not a voter",
                self.node_id
            )));
        }
        tracing::info!(node_id = self.node_id, "campaigning for a leader transfer");
        self.raft
            .trigger()
            .elect()
            .await
            .map_err(|e| Fault::internal(format!("Cannot campaign: {e}")))?;
        Ok(())
    }

    /// Holds (or releases) this node's own elections, for at most `HOLD` (see `Cluster.HoldElections`).
    pub fn hold(&self, hold: bool) {
        let generation = self.hold_generation.fetch_add(1, Ordering::SeqCst) + 1;
        self.elections.set_held(hold);
        if hold {
            let (gate, current) = (self.elections.clone(), self.hold_generation.clone());
            tokio::spawn(async move {
                tokio::time::sleep(HOLD).await;
                if current.load(Ordering::SeqCst) == generation {
                    gate.set_held(false);
                }
            });
        }
    }

    /// Moves leadership from this node (the leader) to `req.to`.
    pub async fn run(&self, router: &Router, req: TransferRequest) -> Result<Transferred, Fault> {
        let started = Instant::now();
        let m = self.raft.metrics().borrow().clone();
        if m.current_leader != Some(self.node_id) {
            return Err(Fault::unavailable("This node is no longer the leader"));
        }
        let membership = m.membership_config.membership().clone();
        let voters: BTreeSet<u64> = membership.voter_ids().collect();
        let matched = |m: &openraft::RaftMetrics<u64, openraft::BasicNode>, id: u64| {
            m.replication
                .as_ref()
                .and_then(|r| r.get(&id).cloned().flatten())
                .map(|l| l.index)
        };
        let target = match req.to {
            Some(to) if to == self.node_id => {
                return Ok(outcome(self.node_id, self.node_id, m.current_term, started));
            }
            Some(to) if voters.contains(&to) => to,
            Some(to) => {
                return Err(Fault::validation(format!(
                    "Node {to} is not a voter of the cluster (voters: {voters:?})"
                )))
            }
            None => voters
                .iter()
                .copied()
                .filter(|v| *v != self.node_id)
                .max_by_key(|v| matched(&m, *v))
                .ok_or_else(|| {
                    Fault::not_permitted("There is no other voter to transfer leadership to")
                })?,
        };
        let addr = |id: u64| membership.get_node(&id).map(|n| n.addr.clone());
        let target_addr = addr(target).ok_or_else(|| Fault::internal("target has no address"))?;
        if self
            .transferring
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return Err(Fault::not_permitted(
                "A leader transfer is already in progress",
            ));
        }
        let _restore = Restore(self);
        let previous = self.node_id;
        tracing::info!(from = previous, to = target, "leader transfer: started");

        // 1. No new calls; the target gets every entry.
        self.wait_caught_up(target, CATCH_UP).await.map_err(|e| {
            Fault::internal(format!("Leader transfer to node {target} failed: {e}"))
        })?;

        // 2. The others hold their timers; no more heartbeats.
        let others: Vec<String> = voters
            .iter()
            .filter(|v| **v != previous && **v != target)
            .filter_map(|v| addr(*v))
            .collect();
        let hold = |on: bool| {
            let others = &others;
            async move {
                for a in others {
                    // A voter that cannot be reached cannot race the target either.
                    let call = router.control_node(a, Control::HoldElections { hold: on }, 0);
                    match tokio::time::timeout(PEER_CALL, call).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(f)) => {
                            tracing::debug!(addr = %a, error = %f.message, "election hold not delivered")
                        }
                        Err(_) => tracing::debug!(addr = %a, "election hold timed out"),
                    }
                }
            }
        };
        hold(true).await;
        self.raft.runtime_config().heartbeat(false);
        let quiet_since = Instant::now();

        // 3. After the lease, the target campaigns.
        let result = async {
            let lease = Duration::from_millis(ELECTION_TIMEOUT_MS.1 + 2 * HEARTBEAT_MS);
            tokio::time::sleep(lease.saturating_sub(quiet_since.elapsed())).await;
            self.wait_caught_up(target, CATCH_UP).await?;
            let campaign = router.control_node(&target_addr, Control::Campaign, 0);
            tokio::time::timeout(PEER_CALL, campaign)
                .await
                .map_err(|_| format!("node {target} did not answer the request to campaign"))?
                .map_err(|f| f.message)?;
            self.wait_leader_other_than(previous, ELECTION).await
        }
        .await;
        hold(false).await;
        let leader = result.map_err(|e| {
            Fault::internal(format!("Leader transfer to node {target} failed: {e}"))
        })?;
        let term = self.raft.metrics().borrow().current_term;
        if leader != target {
            return Err(Fault::internal(format!(
                "Leadership moved to node {leader} instead of node {target}"
            )));
        }
        // The previous leader now follows; on a loaded machine it may miss the new leader's first
        // heartbeats and campaign back (seen in rolling restarts): it holds its own timer a while too.
        self.hold(true);
        tracing::info!(from = previous, to = target, term, elapsed = ?started.elapsed(), "leader transfer: done");
        Ok(outcome(previous, target, term, started))
    }

    /// Waits until `target` has replicated this leader's whole log.
    async fn wait_caught_up(&self, target: u64, within: Duration) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + within;
        let mut metrics = self.raft.metrics();
        loop {
            {
                let m = metrics.borrow_and_update();
                if m.current_leader != Some(self.node_id) {
                    return Err("this node lost leadership".into());
                }
                let matched = m
                    .replication
                    .as_ref()
                    .and_then(|r| r.get(&target).cloned().flatten())
                    .map(|l| l.index);
                if matched.is_some() && matched == m.last_log_index {
                    return Ok(());
                }
            }
            if tokio::time::timeout_at(deadline, metrics.changed())
                .await
                .is_err()
            {
                return Err(format!(
                    "node {target} did not catch up with the log within {within:?}"
                ));
            }
        }
    }

    /// Waits until this node knows of a leader other than `previous`; returns it.
    async fn wait_leader_other_than(&self, previous: u64, within: Duration) -> Result<u64, String> {
        let deadline = tokio::time::Instant::now() + within;
        let mut metrics = self.raft.metrics();
        loop {
            if let Some(l) = metrics.borrow_and_update().current_leader {
                if l != previous {
                    return Ok(l);
                }
            }
            if tokio::time::timeout_at(deadline, metrics.changed())
                .await
                .is_err()
            {
                return Err(format!("no new leader was elected within {within:?}"));
            }
        }
    }
}

fn outcome(previous: u64, leader: u64, term: u64, started: Instant) -> Transferred {
    Transferred {
        previous_leader_id: previous,
        leader_id: leader,
        term,
        elapsed_ms: started.elapsed().as_millis() as u64,
    }
}
