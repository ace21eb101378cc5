//! Reading the final state after healing: quiescence (one leader, every node a voter and caught up),
//! every execution of the domain and its full history, and each node's state digest at a common
//! applied index.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};

use crate::checker::{FinalState, NodeDigest, RunHistory};
use crate::client::Swf;
use crate::cluster::Cluster;
use crate::history::Outcome;
use crate::workload::DOMAIN;

const TIMEOUT: Duration = Duration::from_secs(15);

/// Waits until every node is up, agrees on one leader, every node is a voter, and every node has
/// applied the leader's log. Returns a description of the last state seen if it times out.
pub async fn wait_quiescent(cluster: &Cluster, timeout: Duration) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + timeout;
    let ids: BTreeSet<u64> = cluster.nodes.iter().map(|n| n.id as u64).collect();
    loop {
        let mut statuses = Vec::new();
        for i in 0..cluster.nodes.len() {
            statuses.push(cluster.status(i).await);
        }
        let ok = statuses.iter().all(|s| s.is_some()) && {
            let s: Vec<&Value> = statuses.iter().flatten().collect();
            let leader = s[0]["leader_id"].as_u64();
            let voters: BTreeSet<u64> = s[0]["voters"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_u64).collect())
                .unwrap_or_default();
            let top = s.iter().filter_map(|x| x["last_log_index"].as_u64()).max();
            leader.is_some()
                && voters == ids
                && s.iter()
                    .all(|x| x["leader_id"].as_u64() == leader && x["last_applied"].as_u64() == top)
        };
        if ok {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!("not quiescent after {timeout:?}: {statuses:?}"));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// A call retried until it answers ok or faults.
async fn call(c: &Swf, action: &str, body: &Value) -> Result<Value, String> {
    let mut last = String::new();
    for attempt in 0..10 {
        let r = c.call_once(attempt, action, body, TIMEOUT).await;
        match r.outcome {
            Outcome::Ok => return Ok(r.body),
            Outcome::Fault(f) => return Err(format!("{action}: {f} {}", r.body)),
            other => last = format!("{other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(format!("{action}: {last}"))
}

/// Open executions in the domain.
pub async fn count_open(c: &Swf) -> Result<u64, String> {
    let body = json!({"domain": DOMAIN, "startTimeFilter": {"oldestDate": 0}});
    let r = call(c, "CountOpenWorkflowExecutions", &body).await?;
    Ok(r["count"].as_u64().unwrap_or(0))
}

/// Every execution (open and closed) of the domain: (workflow id, run id).
async fn executions(c: &Swf, fs: &mut FinalState) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for action in ["ListOpenWorkflowExecutions", "ListClosedWorkflowExecutions"] {
        let mut token: Option<String> = None;
        loop {
            let mut body = json!({"domain": DOMAIN, "startTimeFilter": {"oldestDate": 0},
                "maximumPageSize": 1000});
            if let Some(t) = &token {
                body["nextPageToken"] = json!(t);
            }
            match call(c, action, &body).await {
                Err(e) => {
                    fs.read_errors.push(e);
                    break;
                }
                Ok(r) => {
                    for info in r["executionInfos"].as_array().into_iter().flatten() {
                        let ex = &info["execution"];
                        if let (Some(w), Some(run)) =
                            (ex["workflowId"].as_str(), ex["runId"].as_str())
                        {
                            out.push((w.to_string(), run.to_string()));
                        }
                    }
                    token = r["nextPageToken"].as_str().map(str::to_string);
                    if token.is_none() {
                        break;
                    }
                }
            }
        }
    }
    out
}

/// Reads every history of the domain into `fs`.
pub async fn histories(c: &Swf, fs: &mut FinalState) {
    for (wid, run) in executions(c, fs).await {
        let mut events = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut body = json!({"domain": DOMAIN, "execution": {"workflowId": wid, "runId": run},
                "maximumPageSize": 1000});
            if let Some(t) = &token {
                body["nextPageToken"] = json!(t);
            }
            match call(c, "GetWorkflowExecutionHistory", &body).await {
                Err(e) => {
                    fs.read_errors.push(e);
                    break;
                }
                Ok(r) => {
                    events.extend(r["events"].as_array().cloned().unwrap_or_default());
                    token = r["nextPageToken"].as_str().map(str::to_string);
                    if token.is_none() {
                        break;
                    }
                }
            }
        }
        fs.histories.insert(
            run,
            RunHistory {
                workflow_id: wid,
                events,
            },
        );
    }
}

/// Reads every node's digest until all stand at the same applied index (or `timeout`).
pub async fn digests(cluster: &Cluster, timeout: Duration) -> Vec<NodeDigest> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let mut out = Vec::new();
        for (i, n) in cluster.nodes.iter().enumerate() {
            let raw = cluster
                .get_json(i, "/cluster/digest")
                .await
                .unwrap_or(Value::Null);
            out.push(NodeDigest {
                node: n.id,
                last_applied: raw["last_applied"].as_u64(),
                digest: raw["digest"].as_str().map(str::to_string),
                raw,
            });
        }
        let same = out
            .iter()
            .all(|d| d.digest.is_some() && d.last_applied == out[0].last_applied);
        if same || tokio::time::Instant::now() > deadline {
            return out;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
