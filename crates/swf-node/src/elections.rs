//! Whether this node may call elections on its own timer: not while a leader transfer asks it to hold
//! (see `transfer`), not once it is stopping (a node draining its calls after SIGTERM that won an
//! election would leave the cluster leaderless a moment later), not while its data directory is low
//! on disk space (see `disk`), and not while it cannot reach a majority of the voters. openraft 0.9 has no
//! pre-vote, so a node cut off from the others would campaign again and again, raising its term each
//! time, and on reconnecting that term would depose a healthy leader for nothing. The quorum watch
//! probes each other voter (`Cluster.Ping`) ten times a second; when this node heard from fewer than
//! a majority (itself included) within the last 400 ms — less than a follower waits before its first
//! campaign — it stops campaigning, and it resumes as soon as a majority is heard again. A voter is
//! heard when it answers a probe or sends this node a Raft message (`heard`). The gate only ever
//! withholds a campaign that could not win, so it cannot delay a real failover: a survivor that
//! reaches the other survivors keeps its timer.
//!
//! The answers carry the answering node's wall clock, from which `ClusterClock` reads the cluster's
//! time (on every node, so a node that becomes leader has its readings already).
//!
//! The same probes (on a leader too) name the voters that went unheard for a second (`SILENT`), for a
//! node's account of why it does not serve (`Node::not_serving_reason`), and tell the router when
//! this node is cut off from the majority, so calls through it are refused at once instead of held
//! (`Router::set_cut_off`). That verdict refuses clients' calls, so it waits longer than the gate's:
//! the second a leader waits for its quorum's acks before it counts itself cut off (`timing::CUT_OFF`),
//! which a loaded node's late answers stay within.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openraft::{Raft, ServerState};
use swf_store::TypeConfig;
use tokio::sync::watch;

use crate::clock::ClusterClock;
use crate::heard::Heard;
use crate::router::Router;
use crate::timing::CUT_OFF;

/// How often the quorum watch probes each other voter.
const ROUND: Duration = Duration::from_millis(100);
/// How long a probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_millis(300);
/// A voter counts as in reach for the election gate if it was heard this recently. Shorter than the
/// 450 ms a follower waits before its first campaign, so a cut-off node stops before campaigning at
/// all.
const IN_REACH: Duration = Duration::from_millis(400);
/// A voter not heard for this long is silent: named as such, and counted against a majority when
/// the node judges whether it is cut off (and refuses calls).
const SILENT: Duration = CUT_OFF;

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
    heard: Arc<Heard>,
    mut stop: watch::Receiver<bool>,
) {
    tokio::spawn(async move {
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
                let (router, heard, clock, gate, v) = (
                    router.clone(),
                    heard.clone(),
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
                        heard.record(v);
                    }
                });
            }
            if started.elapsed() < IN_REACH {
                continue; // the first probes have not had time to answer
            }
            let verdict = judge(node_id, &voters, &heard);
            gate.set_silent(verdict.silent);
            if !leading {
                gate.set_isolated(verdict.isolated);
                router.set_cut_off(verdict.cut_off);
            }
        }
    });
}

/// What the quorum watch concludes from when this node last heard from each other voter.
#[derive(Debug, PartialEq)]
struct Verdict {
    /// The other voters not heard for `SILENT`.
    silent: Vec<u64>,
    /// No majority (this node included) heard within `IN_REACH`: a campaign could not win.
    isolated: bool,
    /// No majority heard within `SILENT`: calls through this node are refused.
    cut_off: bool,
}

/// The verdict of node `node_id` among `voters` (two or more, itself included).
fn judge(node_id: u64, voters: &[u64], heard: &Heard) -> Verdict {
    let others: Vec<u64> = voters.iter().filter(|v| **v != node_id).copied().collect();
    let majority = voters.len() / 2 + 1;
    let unheard = heard.silent_of(&others, IN_REACH).len();
    let silent = heard.silent_of(&others, SILENT);
    Verdict {
        isolated: others.len() - unheard + 1 < majority,
        cut_off: others.len() - silent.len() + 1 < majority,
        silent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `Heard` where each `(node, ms)` was last heard `ms` milliseconds ago.
    fn heard(ages: &[(u64, u64)]) -> Heard {
        let heard = Heard::default();
        for (node, ms) in ages {
            heard.record_at(*node, Instant::now() - Duration::from_millis(*ms));
        }
        heard
    }

    /// Voters, (voter, ms since last heard), then the verdict: silent, isolated, cut off.
    type Case<'a> = (&'a [u64], &'a [(u64, u64)], &'a [u64], bool, bool);

    #[test]
    fn verdicts() {
        // This node is 2.
        let cases: &[Case] = &[
            // Everyone answers.
            (&[1, 2, 3], &[(1, 50), (3, 80)], &[], false, false),
            // The leader's heartbeats alone keep a follower in the majority while the other
            // follower is gone.
            (&[1, 2, 3], &[(1, 30)], &[3], false, false),
            // Both peers late by 600-700 ms (a loaded machine): no campaign, but calls are served.
            (&[1, 2, 3], &[(1, 600), (3, 700)], &[], true, false),
            // Nothing for over a second: cut off.
            (&[1, 2, 3], &[(1, 1_200), (3, 1_500)], &[1, 3], true, true),
            // Never heard (a node that has just started, alone).
            (&[1, 2, 3], &[], &[1, 3], true, true),
            // Five voters: two heard make a majority of three with this node, one does not.
            (&[1, 2, 3, 4, 5], &[(1, 10), (4, 10)], &[3, 5], false, false),
            (
                &[1, 2, 3, 4, 5],
                &[(1, 10), (4, 1_100)],
                &[3, 4, 5],
                true,
                true,
            ),
            // Two voters: the other one is the majority.
            (&[1, 2], &[(1, 10)], &[], false, false),
            (&[1, 2], &[(1, 2_000)], &[1], true, true),
        ];
        for (voters, ages, silent, isolated, cut_off) in cases {
            let got = judge(2, voters, &heard(ages));
            let want = Verdict {
                silent: silent.to_vec(),
                isolated: *isolated,
                cut_off: *cut_off,
            };
            assert_eq!(got, want, "voters {voters:?}, heard {ages:?}");
        }
    }
}
