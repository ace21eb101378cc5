//! Membership changes on the leader, made so that an operator's mistake cannot take the cluster down.
//!
//! - **Add** makes the node a *learner* first (it gets the log but does not vote), waits a bounded time
//!   for it to catch up (it must hold the entry that added it and be within `READY_LAG` entries of the
//!   leader), and only then promotes it to voter. A node that is not there or cannot keep up is removed
//!   again and the call fails with a clear message, so an add never costs the cluster its quorum.
//!   openraft's own blocking `add_learner` cannot be used for this: it counts a learner that has not
//!   replicated anything as up to date while the log is shorter than its lag threshold (5,000).
//! - **One change at a time.** A second add or a voter removal while a change is under way is refused
//!   at once (`OperationNotPermittedFault`) and names the change in progress.
//! - **Removing a learner always works**, even while its add is waiting: that is how a stuck add is
//!   aborted (the waiting add then fails, saying so).
//! - Removing a voter goes through openraft's joint consensus; the last voter cannot be removed.

use std::collections::BTreeSet;
use std::time::Duration;

use openraft::{BasicNode, ChangeMembers, Raft};
use serde::{Deserialize, Serialize};
use swf_store::TypeConfig;
use swf_types::Fault;
use tokio::sync::Mutex;

/// A membership change asked for through the admin API.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemberChange {
    pub node_id: u64,
    #[serde(default)]
    pub addr: Option<String>,
}

/// The leader's membership operations.
pub struct Membership {
    raft: Raft<TypeConfig>,
    /// How long a new learner may take to catch up before the add is given up.
    catch_up: Duration,
    /// Held while a change (an add with its catch-up, or a voter removal) is under way; the text says
    /// which, for the refusal of a second change.
    change: Mutex<()>,
    in_progress: std::sync::Mutex<Option<String>>,
}

/// A refusal the caller must act on (not retried by the router).
fn refused(message: String) -> Fault {
    Fault::not_permitted(message)
}

/// A failed Raft membership call.
fn failed(e: &dyn std::fmt::Display) -> Fault {
    Fault::unavailable(format!("membership change failed: {e}"))
}

/// Marks a change as under way for as long as it lives.
struct InProgress<'a>(&'a std::sync::Mutex<Option<String>>);

impl Drop for InProgress<'_> {
    fn drop(&mut self) {
        *self.0.lock().expect("in-progress lock") = None;
    }
}

impl Membership {
    /// Membership operations on `raft`, giving a new learner `catch_up` to catch up.
    pub fn new(raft: Raft<TypeConfig>, catch_up: Duration) -> Membership {
        Membership {
            raft,
            catch_up,
            change: Mutex::new(()),
            in_progress: std::sync::Mutex::new(None),
        }
    }

    /// Starts a change described by `what`, or refuses it if another one is under way.
    fn begin(
        &self,
        what: String,
    ) -> Result<(tokio::sync::MutexGuard<'_, ()>, InProgress<'_>), Fault> {
        let Ok(guard) = self.change.try_lock() else {
            let current = self
                .in_progress
                .lock()
                .expect("in-progress lock")
                .clone()
                .unwrap_or_else(|| "another membership change".into());
            return Err(refused(format!(
                "A membership change is already in progress ({current}); only one change is made at a \
                 time. Wait for it to finish, or abort an add by removing the node being added."
            )));
        };
        *self.in_progress.lock().expect("in-progress lock") = Some(what);
        Ok((guard, InProgress(&self.in_progress)))
    }

    /// Adds `change.node_id` at `change.addr`: a learner first, a voter once it has caught up.
    pub async fn add(&self, change: MemberChange) -> Result<(), Fault> {
        let id = change.node_id;
        let addr = change
            .addr
            .filter(|a| !a.trim().is_empty())
            .ok_or_else(|| Fault::validation("addr is required to add a member"))?;
        if addr
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse::<u16>().ok())
            .is_none()
        {
            return Err(Fault::validation(format!(
                "addr must be the node's gRPC address as HOST:PORT, got {addr:?}"
            )));
        }
        let m = self.raft.metrics().borrow().clone();
        let membership = m.membership_config.membership();
        if let Some(node) = membership.get_node(&id) {
            let voter = membership.voter_ids().any(|v| v == id);
            if node.addr != addr {
                return Err(refused(format!(
                    "Node {id} is already a member at {}; remove it first to change its address",
                    node.addr
                )));
            }
            if voter {
                return Ok(()); // already there: adding again changes nothing
            }
        }
        let (_guard, _marker) = self.begin(format!("adding node {id} at {addr}"))?;
        // The log at the time of the add: the learner must hold at least this much before it votes.
        let added = self
            .raft
            .add_learner(id, BasicNode { addr: addr.clone() }, false)
            .await
            .map_err(|e| failed(&e))?;
        let target = added.log_id.index;
        tracing::info!(node_id = id, %addr, log_index = target, "learner added; waiting for it to catch up");
        if let Err(f) = self.wait_caught_up(id, &addr, target).await {
            // Leave no learner behind that the operator did not ask to keep (unless it was already
            // removed, which is how an add is aborted).
            if self.is_member(id) {
                let _ = self
                    .raft
                    .change_membership(ChangeMembers::RemoveNodes(BTreeSet::from([id])), false)
                    .await;
            }
            return Err(f);
        }
        self.raft
            .change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([id])), false)
            .await
            .map_err(|e| failed(&e))?;
        tracing::info!(node_id = id, "member added as a voter");
        Ok(())
    }

    fn is_member(&self, id: u64) -> bool {
        self.raft
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .get_node(&id)
            .is_some()
    }

    /// Waits until learner `id` has replicated the log up to `target` and is within `READY_LAG` of
    /// the leader, at most `catch_up`.
    async fn wait_caught_up(&self, id: u64, addr: &str, target: u64) -> Result<(), Fault> {
        let deadline = tokio::time::Instant::now() + self.catch_up;
        let mut metrics = self.raft.metrics();
        loop {
            let m = metrics.borrow_and_update().clone();
            if m.membership_config.membership().get_node(&id).is_none() {
                return Err(refused(format!(
                    "Adding node {id} was aborted: it was removed while it was catching up"
                )));
            }
            let Some(replication) = &m.replication else {
                return Err(Fault::unavailable(format!(
                    "This node stopped being the leader while node {id} was catching up; it stays a \
                     learner: add it again through the new leader to promote it"
                )));
            };
            let matched = replication.get(&id).cloned().flatten().map(|l| l.index);
            let last = m.last_log_index.unwrap_or(0);
            if let Some(matched) = matched {
                if matched >= target && last.saturating_sub(matched) <= crate::timing::READY_LAG {
                    return Ok(());
                }
            }
            if tokio::time::timeout_at(deadline, metrics.changed())
                .await
                .is_err()
            {
                let got = matched.map_or("nothing".to_string(), |i| format!("up to index {i}"));
                return Err(refused(format!(
                    "Node {id} at {addr} did not catch up within {} s (it has replicated {got}; the \
                     log is at {last}), so it was not made a voter and was removed again. Check that \
                     it runs and that {addr} is reachable from the leader, then add it again.",
                    self.catch_up.as_secs()
                )));
            }
        }
    }

    /// Removes `change.node_id`: a learner at once (aborting its add if one is waiting), a voter
    /// through joint consensus when no other change is under way.
    pub async fn remove(&self, change: MemberChange) -> Result<(), Fault> {
        let id = change.node_id;
        let m = self.raft.metrics().borrow().clone();
        let membership = m.membership_config.membership();
        if membership.get_node(&id).is_none() {
            return Err(Fault::unknown_resource(format!(
                "Node {id} is not a member of the cluster"
            )));
        }
        let voters: BTreeSet<u64> = membership.voter_ids().collect();
        if !voters.contains(&id) {
            // A learner: always removable, also while its own add waits for it.
            self.raft
                .change_membership(ChangeMembers::RemoveNodes(BTreeSet::from([id])), false)
                .await
                .map_err(|e| failed(&e))?;
            tracing::info!(node_id = id, "learner removed");
            return Ok(());
        }
        if voters.len() == 1 {
            return Err(refused(format!(
                "Node {id} is the cluster's only voter and cannot be removed"
            )));
        }
        let (_guard, _marker) = self.begin(format!("removing node {id}"))?;
        self.raft
            .change_membership(ChangeMembers::RemoveVoters(BTreeSet::from([id])), false)
            .await
            .map_err(|e| failed(&e))?;
        tracing::info!(node_id = id, "member removed");
        Ok(())
    }
}
