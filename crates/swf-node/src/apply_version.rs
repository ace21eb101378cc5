//! The leader's part in the cluster's apply version (`swf_core::apply_version`): the leader asks
//! every member (voters and learners) what it offers (`Cluster.Ping`; every 5 s, every 0.5 s while the
//! cluster is below what the leader itself offers), and proposes `Op::RaiseApplyVersion` to the lowest
//! offer when that is above the cluster's version. A member that does not answer, or one of a release
//! before the version existed (which tells 0), holds the cluster where it is; so does a member
//! started with a lower `--max-apply-version`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openraft::ServerState;
use swf_core::{Command, Op};
use swf_store::{StateReader, TypeConfig};
use swf_types::Fault;
use tokio::sync::watch;

use crate::executor::Executor;
use crate::router::Router;

pub use swf_core::apply_version::{APPLY_VERSION, BASE_APPLY_VERSION};

/// How often the leader asks the members what they offer.
const ROUND: Duration = Duration::from_secs(5);
/// How often while the cluster is below what the leader offers (a new cluster, an upgrade).
const RAISE_ROUND: Duration = Duration::from_millis(500);
/// How long one member's answer may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// What the leader's latest round learned, once it had acted on it: each other member's offered
/// version (`None`: it did not answer). Shown by `GET /cluster/status` as `member_apply_versions`,
/// so an operator sees which member holds the cluster back.
#[derive(Debug, Default)]
pub struct Offers(Mutex<BTreeMap<u64, Option<u32>>>);

impl Offers {
    /// The answers of the latest round (empty before the first one).
    pub fn latest(&self) -> BTreeMap<u64, Option<u32>> {
        self.0.lock().expect("offers lock").clone()
    }
}

/// The version every member offers, if each one answered: the lowest of the answers and `offered`.
pub(crate) fn lowest_offered(offered: u32, answers: &[Option<u32>]) -> Option<u32> {
    answers
        .iter()
        .try_fold(offered, |lowest, a| a.map(|v| lowest.min(v)))
}

/// What the leader's raise loop needs.
pub(crate) struct Raiser {
    pub node_id: u64,
    pub raft: openraft::Raft<TypeConfig>,
    pub router: Arc<Router>,
    pub reader: StateReader,
    pub executor: Arc<Executor>,
    /// The highest version this node offers.
    pub offered: u32,
    pub offers: Arc<Offers>,
}

/// Runs the leader's raise loop until `stop`.
pub(crate) fn spawn(raiser: Raiser, mut stop: watch::Receiver<bool>) {
    let Raiser {
        node_id,
        raft,
        router,
        reader,
        executor,
        offered,
        offers,
    } = raiser;
    tokio::spawn(async move {
        let mut pause = Duration::ZERO;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            pause = ROUND;
            let m = raft.metrics().borrow().clone();
            if m.state != ServerState::Leader {
                // Only a look at the metrics: soon after this node takes over, it asks.
                pause = RAISE_ROUND;
                offers.0.lock().expect("offers lock").clear();
                continue;
            }
            let current = match swf_core::apply_version::load(&reader) {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!(error = %e.0, "reading the cluster's apply version");
                    continue;
                }
            };
            if current < offered {
                pause = RAISE_ROUND;
            }
            let peers: Vec<(u64, String)> = m
                .membership_config
                .membership()
                .nodes()
                .filter(|(id, _)| **id != node_id)
                .map(|(id, n)| (*id, n.addr.clone()))
                .collect();
            let mut answers = Vec::with_capacity(peers.len());
            for (_, addr) in &peers {
                let probe = tokio::time::timeout(PROBE_TIMEOUT, router.probe(addr)).await;
                answers.push(probe.ok().flatten().map(|p| p.apply_version));
            }
            if let Some(to) = lowest_offered(offered, &answers).filter(|v| *v > current) {
                match executor.raise_apply_version(to).await {
                    Ok(()) => {
                        tracing::info!(from = current, to, "raised the cluster's apply version")
                    }
                    Err(e) => tracing::warn!(error = %e, to, "raising the cluster's apply version"),
                }
            }
            *offers.0.lock().expect("offers lock") =
                peers.iter().map(|(id, _)| *id).zip(answers).collect();
        }
    });
}

/// Refuses to add a member at `addr` that offers less than the cluster applies (it would apply the
/// log by older rules than its replicas). A node that does not answer is not judged here: adding it
/// waits for it to catch up, and one that never answers is given up. A node of a release before the
/// apply version tells 0 and applies by the base version's rules.
pub(crate) async fn check_new_member(
    router: &Router,
    reader: &StateReader,
    node_id: u64,
    addr: &str,
) -> Result<(), Fault> {
    let current = swf_core::apply_version::load(reader).map_err(|e| Fault::internal(e.0))?;
    let Ok(Some(probe)) = tokio::time::timeout(PROBE_TIMEOUT, router.probe(addr)).await else {
        return Ok(());
    };
    let offered = probe.apply_version.max(BASE_APPLY_VERSION);
    if offered < current {
        return Err(Fault::not_permitted(format!(
            "Node {node_id} offers apply version {offered}, and the cluster applies its log by the \
             rules of version {current}: start it with a release that knows version {current}"
        )));
    }
    Ok(())
}

impl Executor {
    /// Proposes `Op::RaiseApplyVersion` as the leader's own command (not de-duplicated: applying it
    /// twice changes nothing).
    pub(crate) async fn raise_apply_version(&self, version: u32) -> Result<(), Fault> {
        let cmd = Command {
            now: self.clock().estimate(),
            op: Op::RaiseApplyVersion { version },
            fresh_ids: Vec::new(),
            request_id: None,
        };
        self.propose_own(cmd).await
    }
}

#[cfg(test)]
mod tests {
    use super::lowest_offered;

    #[test]
    fn the_cluster_moves_only_to_what_every_member_offers() {
        // (offered by the leader, answers of the others, version to raise to)
        type Row<'a> = (u32, &'a [Option<u32>], Option<u32>);
        let table: &[Row] = &[
            (2, &[], Some(2)),
            (2, &[Some(2), Some(2)], Some(2)),
            (2, &[Some(3), Some(2)], Some(2)),
            (3, &[Some(2), Some(3)], Some(2)),
            (2, &[Some(1), Some(2)], Some(1)),
            (2, &[Some(0), Some(2)], Some(0)), // a release before the version: tells 0
            (2, &[Some(2), None], None),       // a member that did not answer
        ];
        for (offered, answers, want) in table {
            assert_eq!(
                lowest_offered(*offered, answers),
                *want,
                "{offered} {answers:?}"
            );
        }
    }
}
