//! The nemesis: a seeded schedule of faults, carried out against the cluster one at a time, each
//! logged with its kind, targets, start and end. Fault windows are followed by a heal and a gap; at the
//! end everything is healed (processes restarted and resumed, rules and qdiscs removed, removed nodes
//! re-joined). A fault this machine cannot inject is logged as not applied, with the reason.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::cluster::Cluster;
use crate::history::now_ms;
use crate::net::{self, Capabilities, NetMode};

/// Every fault kind, as named on the command line.
pub const ALL_KINDS: &[&str] = &[
    "kill",
    "pause",
    "partition",
    "netem",
    "leader-transfer",
    "membership",
    "bad-member",
    "clock",
];

/// One fault of the schedule, before it runs: when, how long, and the seeded choices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Planned {
    pub kind: String,
    /// Seconds after the workload started.
    pub at: f64,
    pub duration: f64,
    /// Seeded choices: whether to aim at the leader, a node index, a shuffle of nodes.
    pub aim_leader: bool,
    pub order: Vec<usize>,
    pub variant: u32,
}

/// One fault as it happened.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FaultRecord {
    pub kind: String,
    /// Node ids affected (for partitions: every node, see `detail`).
    pub targets: Vec<usize>,
    /// Seconds since the run started.
    pub start: f64,
    pub end: f64,
    pub applied: bool,
    pub detail: String,
    /// Node ids cut off from a majority that stays connected (a killed, paused or removed node, the
    /// minority of a clean partition); empty when no such majority is defined (bridge partitions,
    /// slow links, leader transfers). The availability checker measures calls through the others.
    #[serde(default)]
    pub isolated: Vec<usize>,
}

/// The seeded schedule for `duration` seconds over `nodes` nodes with the given kinds. Faults are held
/// 3–9 s with 3–7 s between them, or with `fast` 2–5 s with 1–3 s between (the same draws, so a seed's
/// choices of kinds and targets are the same either way).
pub fn schedule(
    seed: u64,
    duration: f64,
    nodes: usize,
    kinds: &[String],
    fast: bool,
) -> Vec<Planned> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x6e656d65736973);
    let mut out = Vec::new();
    if kinds.is_empty() {
        return out;
    }
    let mut t = 3.0 + rng.gen_range(0.0..2.0);
    let end = duration - 4.0;
    loop {
        let kind = kinds[rng.gen_range(0..kinds.len())].clone();
        let dur = if kind == "leader-transfer" {
            0.0
        } else if fast {
            rng.gen_range(2.0..5.0)
        } else {
            rng.gen_range(3.0..9.0)
        };
        if t + dur > end {
            break;
        }
        let mut order: Vec<usize> = (0..nodes).collect();
        order.shuffle(&mut rng);
        out.push(Planned {
            kind,
            at: t,
            duration: dur,
            aim_leader: rng.gen_bool(0.5),
            order,
            variant: rng.gen_range(0..3),
        });
        t += dur
            + if fast {
                rng.gen_range(1.0..3.0)
            } else {
                rng.gen_range(3.0..7.0)
            };
    }
    out
}

/// Which kinds can run on this machine; the others with the reason.
pub fn availability(
    caps: &Capabilities,
    clock_shim_error: Option<&String>,
    kinds: &[String],
) -> (Vec<String>, Vec<(String, String)>) {
    let mut ok = Vec::new();
    let mut not = Vec::new();
    for k in kinds {
        let why = match k.as_str() {
            "partition" if caps.mode == NetMode::Loopback => Some(
                "nodes share loopback and tonic cannot bind a source address, so rules cannot tell nodes apart"
                    .to_string(),
            ),
            "partition" if !caps.iptables => Some("iptables is not installed".into()),
            "netem" if caps.mode == NetMode::Loopback => {
                Some("no per-node interface on loopback".into())
            }
            "netem" if !caps.netem && !caps.tbf && !caps.iptables => {
                Some("neither tc netem, tc tbf nor iptables works here".into())
            }
            "clock" if clock_shim_error.is_some() => Some(format!(
                "the clock shim could not be built: {}",
                clock_shim_error.map_or("", |e| e.as_str())
            )),
            _ => None,
        };
        match why {
            Some(w) => not.push((k.clone(), w)),
            None => ok.push(k.clone()),
        }
    }
    (ok, not)
}

/// Carries out faults and heals.
pub struct Nemesis {
    pub caps: Capabilities,
    pub t0_ms: f64,
    pub log: Vec<FaultRecord>,
}

impl Nemesis {
    fn now(&self) -> f64 {
        (now_ms() - self.t0_ms) / 1000.0
    }

    /// Chooses the target node index: the leader (if aimed and known) or the first in the order.
    async fn target(&self, cluster: &Cluster, p: &Planned) -> usize {
        if p.aim_leader {
            if let Some(l) = cluster.leader().await {
                return l;
            }
        }
        p.order[0]
    }

    /// Runs one planned fault to its end (inject, hold, heal) and logs it.
    pub async fn run_fault(&mut self, cluster: &mut Cluster, p: &Planned) {
        let start = self.now();
        let hold = Duration::from_secs_f64(p.duration);
        let n = cluster.nodes.len();
        let mut isolated = Vec::new();
        let (targets, applied, detail) = match p.kind.as_str() {
            "kill" => {
                let i = self.target(cluster, p).await;
                cluster.kill(i);
                isolated.push(i + 1);
                tokio::time::sleep(hold).await;
                let r = cluster.spawn(i, None);
                (vec![i + 1], true, format!("kill -9, restart: {r:?}"))
            }
            "pause" => {
                let i = self.target(cluster, p).await;
                match cluster.pause(i) {
                    Ok(()) => {
                        isolated.push(i + 1);
                        tokio::time::sleep(hold).await;
                        let r = cluster.resume(i);
                        (vec![i + 1], true, format!("SIGSTOP, SIGCONT: {r:?}"))
                    }
                    Err(e) => (vec![i + 1], false, e),
                }
            }
            "partition" => {
                let leader = cluster.leader().await;
                let (groups, name) = partition_groups(p, leader, n);
                if name != "bridge" {
                    // Two disjoint groups: the smaller one is cut off from the majority.
                    if let Some(minority) = groups.iter().min_by_key(|g| g.len()) {
                        isolated.extend(minority.iter().map(|i| i + 1));
                    }
                }
                let mut errs = Vec::new();
                for a in 0..n {
                    for b in a + 1..n {
                        if !groups.iter().any(|g| g.contains(&a) && g.contains(&b)) {
                            if let Err(e) = net::cut(a + 1, b + 1) {
                                errs.push(e);
                            }
                        }
                    }
                }
                let desc = format!(
                    "{name}: {}",
                    groups
                        .iter()
                        .map(|g| format!("{:?}", g.iter().map(|i| i + 1).collect::<Vec<_>>()))
                        .collect::<Vec<_>>()
                        .join(" | ")
                );
                if errs.is_empty() {
                    tokio::time::sleep(hold).await;
                }
                for i in 0..n {
                    net::heal_node(&self.caps, i + 1);
                }
                (
                    (1..=n).collect(),
                    errs.is_empty(),
                    if errs.is_empty() {
                        desc
                    } else {
                        format!("{desc}; {}", errs.join("; "))
                    },
                )
            }
            "netem" => {
                let i = self.target(cluster, p).await;
                let (delay, loss) = [(100, 5), (300, 10), (50, 30)][p.variant as usize % 3];
                match net::degrade(&self.caps, i + 1, delay, loss) {
                    Ok(d) => {
                        tokio::time::sleep(hold).await;
                        net::heal_node(&self.caps, i + 1);
                        (vec![i + 1], true, d)
                    }
                    Err(e) => {
                        net::heal_node(&self.caps, i + 1);
                        (vec![i + 1], false, e)
                    }
                }
            }
            "leader-transfer" => {
                let leader = cluster.leader().await;
                let to = p
                    .order
                    .iter()
                    .copied()
                    .find(|&i| Some(i) != leader)
                    .unwrap_or(0);
                let via = leader.unwrap_or(to);
                match cluster.transfer_leader(via, to) {
                    Ok(out) => (vec![to + 1], true, format!("to node {}: {out}", to + 1)),
                    Err(e) => (vec![to + 1], false, e),
                }
            }
            "membership" => {
                let i = self.target(cluster, p).await;
                match cluster.remove_member(i).await {
                    Ok(d) => {
                        cluster.kill(i);
                        isolated.push(i + 1);
                        let _ = std::fs::remove_dir_all(&cluster.nodes[i].data_dir);
                        cluster.nodes[i].removed = true;
                        tokio::time::sleep(hold).await;
                        let r = self.rejoin(cluster, i).await;
                        (vec![i + 1], true, format!("{d}; data wiped; re-join: {r}"))
                    }
                    Err(e) => (vec![i + 1], false, format!("remove refused: {e}")),
                }
            }
            "bad-member" => {
                let (targets, applied, detail) = self.bad_member(cluster, p, hold).await;
                (targets, applied, detail)
            }
            "clock" => self.skew_clocks(cluster, p, hold).await,
            other => (vec![], false, format!("unknown fault kind {other}")),
        };
        let end = self.now();
        tracing::info!(kind = %p.kind, ?targets, applied, %detail, "fault");
        self.log.push(FaultRecord {
            kind: p.kind.clone(),
            targets,
            start,
            end,
            applied,
            detail,
            isolated,
        });
    }

    /// An operator's mistake: adds a node that does not exist (a closed port on node 1's address)
    /// through one node, then removes it through another while the add waits for it to catch up.
    /// Applied when the add is refused (aborted or not caught up), the removal answers, and the
    /// voters are unchanged; the checkers then judge the workload around it as usual.
    async fn bad_member(
        &self,
        cluster: &mut Cluster,
        p: &Planned,
        hold: Duration,
    ) -> (Vec<usize>, bool, String) {
        let id = 100 + p.variant as u64;
        let via = p
            .order
            .iter()
            .copied()
            .find(|&i| cluster.is_running(i) && !cluster.nodes[i].paused);
        let Some(via) = via else {
            return (vec![], false, "no live node to ask".into());
        };
        let before = cluster.voters(via).await;
        let dead = format!("{}:9", net::node_ip(cluster.mode, 1));
        let url = format!("http://{}/cluster/members", cluster.nodes[via].admin);
        let add = tokio::spawn(crate::cluster::post_json(
            url,
            cluster.token.clone(),
            serde_json::json!({"node_id": id, "addr": dead}),
            Duration::from_secs(90),
        ));
        tokio::time::sleep(hold / 2).await;
        let remover = cluster.other_live_node(Some(via)).unwrap_or(via);
        let url = format!(
            "http://{}/cluster/members/remove",
            cluster.nodes[remover].admin
        );
        let mut removed = String::new();
        for _ in 0..20 {
            let r = crate::cluster::post_json(
                url.clone(),
                cluster.token.clone(),
                serde_json::json!({"node_id": id}),
                Duration::from_secs(15),
            )
            .await;
            removed = format!("{r:?}");
            match r {
                Ok((200, _)) => break,
                // Not a member (any more, or not yet): the add may still be on its way or done.
                Ok((400, body)) if body.contains("UnknownResourceFault") && add.is_finished() => {
                    break
                }
                _ => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
        let added = match tokio::time::timeout(Duration::from_secs(95), add).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("the add did not answer".into()),
        };
        tokio::time::sleep(hold / 2).await;
        let after = cluster.voters(remover).await;
        let refused =
            matches!(&added, Ok((400, body)) if body.contains("OperationNotPermittedFault"));
        let applied = refused && before.is_some() && before == after;
        (
            vec![via + 1, remover + 1],
            applied,
            format!(
                "add of dead node {id} at {dead} via node {}: {added:?}; remove via node {}: {removed}; voters {before:?} -> {after:?}",
                via + 1,
                remover + 1
            ),
        )
    }

    /// Moves the wall clocks of a minority of the nodes (the leader among them when aimed at it) an
    /// hour ahead or behind, or jumps them 10 minutes one way and then the other halfway through,
    /// hands leadership to the first of them (a leader whose clock is off is the case that matters),
    /// and sets the clocks right again at the end (one more jump).
    async fn skew_clocks(
        &self,
        cluster: &mut Cluster,
        p: &Planned,
        hold: Duration,
    ) -> (Vec<usize>, bool, String) {
        let Some(clocks) = cluster.clocks.clone() else {
            return (vec![], false, "nodes do not run with the clock shim".into());
        };
        let n = cluster.nodes.len();
        let first = self.target(cluster, p).await;
        let mut targets = vec![first];
        targets.extend(
            p.order
                .iter()
                .copied()
                .filter(|&i| i != first)
                .take((n - 1) / 2 - 1),
        );
        let mut detail = Vec::new();
        let mut later = Vec::new();
        for (k, &i) in targets.iter().enumerate() {
            let (now, then) = crate::skew::offsets(p.variant, k);
            if let Err(e) = clocks.set(i + 1, now) {
                return (
                    vec![i + 1],
                    false,
                    format!("setting node {}'s clock: {e}", i + 1),
                );
            }
            detail.push(format!("node {} {now:+} s", i + 1));
            if let Some(then) = then {
                later.push((i, then));
            }
        }
        // The shim re-reads the file at most every 100 ms.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let leader = cluster.leader().await;
        if leader != Some(first) {
            let via = leader.unwrap_or(first);
            match cluster.transfer_leader(via, first) {
                Ok(_) => detail.push(format!("leadership to node {}", first + 1)),
                Err(e) => detail.push(format!("transfer to node {} refused: {e}", first + 1)),
            }
        }
        tokio::time::sleep(hold / 2).await;
        for (i, then) in later {
            let _ = clocks.set(i + 1, then);
            detail.push(format!("then node {} jumps to {then:+} s", i + 1));
        }
        tokio::time::sleep(hold / 2).await;
        let mut ok = true;
        for &i in &targets {
            ok &= clocks.set(i + 1, 0).is_ok();
        }
        (
            targets.iter().map(|i| i + 1).collect(),
            ok,
            detail.join("; "),
        )
    }

    async fn rejoin(&self, cluster: &mut Cluster, i: usize) -> String {
        let via = (0..cluster.nodes.len()).find(|&j| j != i && cluster.is_running(j));
        let Some(via) = via else {
            return "no node to join through".into();
        };
        let url = format!("http://{}", cluster.nodes[via].admin);
        match cluster.spawn(i, Some(url.clone())) {
            Ok(()) => {
                cluster.nodes[i].removed = false;
                format!("started with --join {url}")
            }
            Err(e) => format!("failed: {e}"),
        }
    }

    /// Heals everything: resumes paused nodes, restarts killed ones, re-joins removed ones, removes
    /// every rule and qdisc.
    pub async fn heal_all(&mut self, cluster: &mut Cluster) {
        for i in 0..cluster.nodes.len() {
            net::heal_node(&self.caps, i + 1);
            if let Some(clocks) = &cluster.clocks {
                let _ = clocks.set(i + 1, 0);
            }
            if cluster.nodes[i].paused {
                let _ = cluster.resume(i);
            }
        }
        for i in 0..cluster.nodes.len() {
            if cluster.nodes[i].removed {
                self.rejoin(cluster, i).await;
            } else if !cluster.is_running(i) {
                let _ = cluster.spawn(i, None);
            }
        }
    }
}

/// The groups of a partition: isolate the leader, majority/minority halves, or a bridge (two halves
/// that share one node).
pub fn partition_groups(
    p: &Planned,
    leader: Option<usize>,
    n: usize,
) -> (Vec<Vec<usize>>, &'static str) {
    let order = &p.order;
    match p.variant % 3 {
        0 => {
            let l = leader.unwrap_or(order[0]);
            let rest: Vec<usize> = (0..n).filter(|&i| i != l).collect();
            (vec![vec![l], rest], "isolate leader")
        }
        1 => {
            let minority = (n - 1) / 2;
            (
                vec![order[..minority].to_vec(), order[minority..].to_vec()],
                "majority/minority",
            )
        }
        _ => {
            let half = n / 2;
            let bridge = order[half];
            let mut a = order[..half].to_vec();
            a.push(bridge);
            let b = order[half..].to_vec();
            (vec![a, b], "bridge")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_is_seeded_and_fits_the_run() {
        let kinds: Vec<String> = ALL_KINDS.iter().map(|s| s.to_string()).collect();
        let a = schedule(7, 60.0, 3, &kinds, false);
        assert_eq!(a, schedule(7, 60.0, 3, &kinds, false));
        assert_ne!(a, schedule(8, 60.0, 3, &kinds, false));
        assert!(a.len() >= 3, "{a:?}");
        for w in a.windows(2) {
            assert!(w[0].at + w[0].duration < w[1].at, "faults do not overlap");
        }
        assert!(a.iter().all(|p| p.at + p.duration <= 56.0));
        // Fast: more faults, a few seconds apart, still not overlapping.
        let f = schedule(7, 60.0, 3, &kinds, true);
        assert!(f.len() > a.len(), "{} fast vs {}", f.len(), a.len());
        for w in f.windows(2) {
            assert!(w[0].at + w[0].duration < w[1].at);
            assert!(w[1].at - (w[0].at + w[0].duration) <= 3.0);
        }
    }

    #[test]
    fn partition_groups_cover_every_node() {
        for variant in 0..3 {
            for n in [3usize, 5] {
                let p = Planned {
                    kind: "partition".into(),
                    at: 0.0,
                    duration: 1.0,
                    aim_leader: false,
                    order: (0..n).rev().collect(),
                    variant,
                };
                let (groups, _) = partition_groups(&p, Some(1), n);
                for i in 0..n {
                    assert!(groups.iter().any(|g| g.contains(&i)));
                }
                // Some pair is cut, and no group alone is everything.
                assert!(groups.iter().all(|g| g.len() < n));
            }
        }
    }
}
