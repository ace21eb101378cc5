//! Observability through the real swfd (issue 17): `GET /metrics` on the admin listener in the
//! Prometheus text format, parsed with a real parser (`prometheus-parse`) and checked line by line
//! for its `# TYPE`s; the values move with the work (calls counted by action and outcome,
//! executions started and closed, backlog, schedule-to-start, applied index, Step Functions
//! executions), on one node and on a 3-node cluster (forwarded calls counted on the follower, peer
//! calls on the leader, replication lag per follower); every call's request id in the logs of the
//! node that took it and of the leader it was forwarded to; `--log-format json`; the slow-call log.

#[path = "sfn_support/mod.rs"]
mod sfn_support;

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use aws_sdk_swf::operation::RequestId;
use prometheus_parse::{Sample, Scrape, Value};
use serde_json::json;
use swf_e2e::{
    agreed_leader, complete_workflow, poll_decision, setup_domain, start_execution, Swfd,
    ADMIN_TOKEN,
};

/// A scrape of `/metrics`: the parsed samples and each family's `# TYPE`.
struct Metrics {
    scrape: Scrape,
    types: HashMap<String, String>,
}

impl Metrics {
    /// Samples of `name` whose labels include `labels`.
    fn matching<'a>(&'a self, name: &'a str, labels: &'a [(&str, &str)]) -> Vec<&'a Sample> {
        self.scrape
            .samples
            .iter()
            .filter(move |s| {
                s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
            })
            .collect()
    }

    /// The sum of the counter or gauge samples of `name` with `labels` (0 when there is none).
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.matching(name, labels)
            .iter()
            .map(|s| match &s.value {
                Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
                Value::Histogram(_) | Value::Summary(_) => 0.0,
            })
            .sum()
    }

    /// The observation count of the histogram `name` with `labels` (its `+Inf` bucket).
    fn histogram_count(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.matching(name, labels)
            .iter()
            .map(|s| match &s.value {
                Value::Histogram(buckets) => buckets
                    .iter()
                    .find(|b| b.less_than.is_infinite())
                    .map_or(0.0, |b| b.count),
                _ => 0.0,
            })
            .sum()
    }
}

/// `GET /metrics` on `swfd`'s admin listener with `token` (none: no Authorization): status and body.
async fn get_metrics(swfd: &Swfd, token: Option<&str>) -> Result<(u16, String, String)> {
    let mut req = swfd
        .http()
        .get(format!("{}/metrics", swfd.admin_endpoint()));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.context("GET /metrics")?;
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    Ok((status, content_type, resp.text().await?))
}

/// Scrapes and parses `/metrics` (with the admin token); checks that every sample belongs to a
/// family with a `# HELP` and a `# TYPE` line.
async fn scrape(swfd: &Swfd) -> Result<Metrics> {
    let (status, content_type, text) = get_metrics(swfd, Some(ADMIN_TOKEN)).await?;
    if status != 200 {
        bail!("GET /metrics: {status}\n{text}");
    }
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let mut types = HashMap::new();
    let mut helped = std::collections::HashSet::new();
    for line in text.lines() {
        let mut words = line.split(' ');
        match (words.next(), words.next(), words.next(), words.next()) {
            (Some("#"), Some("TYPE"), Some(name), Some(kind)) => {
                assert!(
                    ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                    "{line}"
                );
                assert!(
                    types.insert(name.to_string(), kind.to_string()).is_none(),
                    "two TYPE lines for {name}"
                );
            }
            (Some("#"), Some("HELP"), Some(name), _) => {
                helped.insert(name.to_string());
            }
            (Some(sample), ..) if !sample.starts_with('#') && !line.is_empty() => {
                let name = sample.split('{').next().unwrap_or(sample);
                let family = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|suffix| {
                        name.strip_suffix(suffix)
                            .filter(|base| types.get(*base).is_some_and(|t| t == "histogram"))
                    })
                    .unwrap_or(name);
                assert!(types.contains_key(family), "no TYPE line before {line}");
                assert!(helped.contains(family), "no HELP line for {family}");
            }
            _ => {}
        }
    }
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_string())))?;
    Ok(Metrics { scrape, types })
}

/// The families a node exports once it has served calls as the leader, with their types (a
/// labelled family appears with its first label set).
const FAMILIES: &[(&str, &str)] = &[
    ("swfd_calls_total", "counter"),
    ("swfd_call_duration_seconds", "histogram"),
    ("swfd_leader_calls_total", "counter"),
    ("swfd_executions_started_total", "counter"),
    ("swfd_history_events_total", "counter"),
    ("swfd_open_executions", "gauge"),
    ("swfd_sfn_open_executions", "gauge"),
    ("swfd_long_polls_held", "gauge"),
    ("swfd_proposer_batch_commands", "histogram"),
    ("swfd_proposer_entries_total", "counter"),
    ("swfd_proposer_queue_seconds", "histogram"),
    ("swfd_proposer_commit_seconds", "histogram"),
    ("swfd_wal_sync_seconds", "histogram"),
    ("swfd_apply_entry_seconds", "histogram"),
    ("swfd_snapshots_built_total", "counter"),
    ("swfd_snapshot_build_seconds", "histogram"),
    ("swfd_raft_role", "gauge"),
    ("swfd_raft_term", "gauge"),
    ("swfd_raft_leader_id", "gauge"),
    ("swfd_raft_last_log_index", "gauge"),
    ("swfd_raft_committed_index", "gauge"),
    ("swfd_raft_applied_index", "gauge"),
    ("swfd_raft_term_changes_total", "counter"),
    ("swfd_rocksdb_sst_bytes", "gauge"),
    ("swfd_rocksdb_pending_compaction_bytes", "gauge"),
    ("swfd_rocksdb_memtable_bytes", "gauge"),
    ("swfd_http_connections_open", "gauge"),
    ("process_resident_memory_bytes", "gauge"),
    ("process_threads", "gauge"),
    ("process_open_fds", "gauge"),
];

fn check_families(m: &Metrics) {
    for (name, kind) in FAMILIES {
        assert_eq!(
            m.types.get(*name).map(String::as_str),
            Some(*kind),
            "family {name}"
        );
    }
}

/// Scrapes until `done` holds (values read at scrape follow applied state, which a follower reaches
/// a moment after the leader answered).
async fn scrape_until(swfd: &Swfd, what: &str, done: impl Fn(&Metrics) -> bool) -> Result<Metrics> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let m = scrape(swfd).await?;
        if done(&m) {
            return Ok(m);
        }
        if tokio::time::Instant::now() > deadline {
            bail!("{what}: not reached within 10 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn metrics_on_one_node_move_with_the_work() -> Result<()> {
    let swfd = Swfd::start().await?;
    // The admin token is needed, as for every admin route.
    let (status, _, _) = get_metrics(&swfd, None).await?;
    assert_eq!(status, 401);
    let (status, _, _) = get_metrics(&swfd, Some("wrong-token-0123456789")).await?;
    assert_eq!(status, 403);
    // Not on the SWF port: it has an admin listener.
    let resp = swfd
        .http()
        .get(format!("{}/metrics", swfd.endpoint()))
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 404);

    let before = scrape(&swfd).await?;
    assert_eq!(before.value("swfd_raft_role", &[("role", "leader")]), 1.0);
    assert_eq!(before.value("swfd_raft_role", &[("role", "follower")]), 0.0);
    assert_eq!(before.value("swfd_raft_leader_id", &[]), 1.0);
    assert!(before.value("process_resident_memory_bytes", &[]) > 0.0);
    assert!(before.value("process_threads", &[]) >= 1.0);
    assert!(before.value("swfd_http_connections_open", &[("listener", "admin")]) >= 1.0);

    let client = swfd.client();
    let fx = setup_domain(&client, "metrics").await?;
    start_execution(&client, &fx, "wf-1", "in").await?;
    let during = scrape(&swfd).await?;
    assert_eq!(during.value("swfd_open_executions", &[]), 1.0);
    let list = [
        ("domain", "metrics"),
        ("kind", "decision"),
        ("task_list", fx.decision_list.as_str()),
    ];
    assert_eq!(during.value("swfd_task_backlog", &list), 1.0);
    // The decider takes the task and completes the run.
    let task = poll_decision(&client, &fx).await?;
    client
        .respond_decision_task_completed()
        .task_token(task.task_token())
        .decisions(complete_workflow("done"))
        .send()
        .await?;
    // A fault, counted by its code.
    let err = client.describe_domain().name("nope").send().await;
    assert!(err.is_err());

    let after = scrape(&swfd).await?;
    check_families(&after);
    let ok = |action: &str| {
        after.value(
            "swfd_calls_total",
            &[
                ("api", "swf"),
                ("action", action),
                ("outcome", "ok"),
                ("route", "local"),
            ],
        )
    };
    assert_eq!(ok("RegisterDomain"), 1.0);
    // The console's call rate: the calls taken so far, in /cluster/status.
    let taken = swfd.cluster_status().await?["calls_total"]
        .as_u64()
        .context("calls_total")?;
    // Three registrations, start, poll, respond, the failed describe.
    assert_eq!(taken, 7);
    assert_eq!(ok("StartWorkflowExecution"), 1.0);
    assert_eq!(ok("PollForDecisionTask"), 1.0);
    assert_eq!(ok("RespondDecisionTaskCompleted"), 1.0);
    assert_eq!(
        after.value(
            "swfd_calls_total",
            &[
                ("action", "DescribeDomain"),
                ("outcome", "UnknownResourceFault")
            ]
        ),
        1.0
    );
    assert_eq!(
        after.value(
            "swfd_leader_calls_total",
            &[("action", "StartWorkflowExecution"), ("source", "local")]
        ),
        1.0
    );
    assert!(
        after.histogram_count(
            "swfd_call_duration_seconds",
            &[("action", "StartWorkflowExecution")]
        ) >= 1.0
    );
    assert_eq!(after.value("swfd_executions_started_total", &[]), 1.0);
    assert_eq!(
        after.value("swfd_executions_closed_total", &[("status", "COMPLETED")]),
        1.0
    );
    assert_eq!(after.value("swfd_open_executions", &[]), 0.0);
    assert_eq!(after.value("swfd_task_backlog", &list), 0.0);
    // Started, DecisionTaskScheduled, Started, Completed, WorkflowExecutionCompleted.
    assert!(after.value("swfd_history_events_total", &[]) >= 5.0);
    assert_eq!(
        after.histogram_count("swfd_schedule_to_start_seconds", &[("kind", "decision")]),
        1.0
    );
    assert_eq!(
        after.histogram_count(
            "swfd_poll_wait_seconds",
            &[("kind", "decision"), ("outcome", "task")]
        ),
        1.0
    );
    assert!(
        after.value("swfd_raft_applied_index", &[]) > before.value("swfd_raft_applied_index", &[])
    );
    assert!(
        after.value("swfd_raft_committed_index", &[])
            >= after.value("swfd_raft_applied_index", &[])
    );
    assert!(
        after.value("swfd_proposer_entries_total", &[])
            > before.value("swfd_proposer_entries_total", &[])
    );
    assert!(
        after.histogram_count("swfd_wal_sync_seconds", &[])
            > before.histogram_count("swfd_wal_sync_seconds", &[])
    );

    // Step Functions: an execution started, then failed by its worker.
    let sfn = sfn_support::sfn_client(&swfd);
    let act = sfn_support::activity(&sfn, "metrics-act").await?;
    let def =
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": act, "End": true}}});
    let sm = sfn_support::machine(&sfn, "metrics-sm", &def).await?;
    sfn_support::start(&sfn, &sm, "e1", "{}").await?;
    let running = scrape(&swfd).await?;
    assert_eq!(
        running.value("swfd_sfn_executions_total", &[("status", "started")]),
        1.0
    );
    assert_eq!(running.value("swfd_sfn_open_executions", &[]), 1.0);
    assert_eq!(
        running.value(
            "swfd_task_backlog",
            &[("domain", "sfn:activities"), ("task_list", act.as_str())]
        ),
        1.0
    );
    let (token, _) = sfn_support::take(&sfn, &act).await?;
    sfn.send_task_failure()
        .task_token(token)
        .error("Oops")
        .send()
        .await?;
    let done = scrape(&swfd).await?;
    assert_eq!(
        done.value("swfd_sfn_executions_total", &[("status", "failed")]),
        1.0
    );
    assert_eq!(done.value("swfd_sfn_open_executions", &[]), 0.0);
    assert_eq!(
        done.value(
            "swfd_calls_total",
            &[
                ("api", "sfn"),
                ("action", "StartExecution"),
                ("outcome", "ok")
            ]
        ),
        1.0
    );
    Ok(())
}

#[tokio::test]
async fn metrics_open_serves_a_scrape_without_the_token() -> Result<()> {
    let swfd = Swfd::start_with(&["--metrics-open"]).await?;
    let (status, _, text) = get_metrics(&swfd, None).await?;
    assert_eq!(status, 200);
    assert!(text.contains("# TYPE swfd_raft_term gauge"), "{text}");
    // Only /metrics is opened.
    let (status, _) = swfd.admin_get("/cluster/status").await?;
    assert_eq!(status, 200);
    let resp = swfd
        .http()
        .get(format!("{}/cluster/status", swfd.admin_endpoint()))
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 401);
    Ok(())
}

/// The JSON log lines of `node` (every line must parse).
fn json_lines(node: &Swfd) -> Vec<serde_json::Value> {
    node.log()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l}"))
        })
        .collect()
}

/// The JSON log lines of `node` whose call span has `request_id`.
fn lines_of(node: &Swfd, request_id: &str) -> Vec<serde_json::Value> {
    json_lines(node)
        .into_iter()
        .filter(|l| l["span"]["request_id"] == request_id)
        .collect()
}

#[tokio::test]
async fn cluster_metrics_forwarded_calls_and_request_ids_in_both_logs() -> Result<()> {
    // Every call is "slow" (threshold 0), so each one logs a line on the node that took it and on
    // the leader it was forwarded to.
    let nodes = Swfd::start_cluster(3, &["--log-format", "json", "--slow-call-ms", "0"]).await?;
    let refs: Vec<&Swfd> = nodes.iter().collect();
    let leader_id = agreed_leader(&refs, None).await?;
    let leader = &nodes[leader_id as usize - 1];
    let follower = nodes
        .iter()
        .find(|n| !std::ptr::eq(*n, leader))
        .expect("a follower");
    let follower_id = follower.cluster_status().await?["node_id"]
        .as_u64()
        .context("node_id")?;

    let before = scrape(follower).await?;
    assert_eq!(before.value("swfd_raft_role", &[("role", "follower")]), 1.0);
    assert_eq!(before.value("swfd_raft_leader_id", &[]), leader_id as f64);

    let client = follower.client();
    let fx = setup_domain(&client, "cluster-metrics").await?;
    let out = client
        .start_workflow_execution()
        .domain(&fx.domain)
        .workflow_id("wf-forwarded")
        .workflow_type(fx.workflow_type.clone())
        .send()
        .await?;
    let request_id = out.request_id().context("x-amzn-RequestId")?.to_string();

    // The follower counted the calls it forwarded; the leader ran them for a peer.
    // Polled until both show it: a scrape reads the gauge (`refresh_metrics`) before it renders the
    // counter, so an apply between the two gives a scrape with the counter at 1 and the gauge at 0
    // (seen once in a full suite run under load).
    let on_follower = scrape_until(follower, "the follower applies the start", |m| {
        m.value("swfd_executions_started_total", &[]) >= 1.0
            && m.value("swfd_open_executions", &[]) >= 1.0
    })
    .await?;
    assert_eq!(
        on_follower.value(
            "swfd_calls_total",
            &[
                ("action", "StartWorkflowExecution"),
                ("outcome", "ok"),
                ("route", "forwarded")
            ]
        ),
        1.0
    );
    assert_eq!(on_follower.value("swfd_open_executions", &[]), 1.0);
    assert!(
        on_follower.value("swfd_raft_applied_index", &[])
            > before.value("swfd_raft_applied_index", &[])
    );
    let on_leader = scrape(leader).await?;
    assert_eq!(
        on_leader.value("swfd_raft_role", &[("role", "leader")]),
        1.0
    );
    assert_eq!(
        on_leader.value(
            "swfd_leader_calls_total",
            &[
                ("action", "StartWorkflowExecution"),
                ("outcome", "ok"),
                ("source", "peer")
            ]
        ),
        1.0
    );
    // One lag gauge per other member.
    let lags = on_leader.matching("swfd_raft_replication_lag_entries", &[]);
    assert_eq!(lags.len(), 2, "{:?}", lags);
    assert!(
        on_leader
            .matching(
                "swfd_raft_replication_lag_entries",
                &[("follower", follower_id.to_string().as_str())]
            )
            .len()
            == 1
    );

    // The call's request id is in the log lines of both nodes, as a field of its span.
    let wait = tokio::time::Instant::now() + Duration::from_secs(10);
    let (mine, theirs) = loop {
        let (mine, theirs) = (
            lines_of(follower, &request_id),
            lines_of(leader, &request_id),
        );
        if (!mine.is_empty() && !theirs.is_empty()) || tokio::time::Instant::now() > wait {
            break (mine, theirs);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let slow = mine
        .iter()
        .find(|l| l["fields"]["message"] == "slow call")
        .unwrap_or_else(|| panic!("no slow-call line for {request_id} on the follower: {mine:?}"));
    assert_eq!(slow["level"], "WARN");
    assert_eq!(slow["fields"]["route"], "forwarded");
    assert_eq!(slow["span"]["action"], "StartWorkflowExecution");
    for stage in [
        "total_ms",
        "forward_ms",
        "queue_ms",
        "commit_ms",
        "apply_ms",
    ] {
        assert!(slow["fields"][stage].is_number(), "{stage}: {slow}");
    }
    assert!(
        theirs.iter().any(|l| l["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("slow call"))),
        "no line for {request_id} on the leader: {theirs:?}"
    );
    // Every line of every node is JSON (checked by `json_lines`).
    for n in &nodes {
        assert!(!json_lines(n).is_empty());
    }
    Ok(())
}

#[tokio::test]
async fn slow_calls_are_logged_with_where_the_time_went() -> Result<()> {
    let swfd = Swfd::start_with(&["--slow-call-ms", "0"]).await?;
    let client = swfd.client();
    let out = client
        .register_domain()
        .name("slow")
        .workflow_execution_retention_period_in_days("1")
        .send()
        .await?;
    let request_id = out.request_id().context("x-amzn-RequestId")?.to_string();
    let log = swfd.log();
    let line = log
        .lines()
        .find(|l| l.contains("slow call") && l.contains(&request_id))
        .unwrap_or_else(|| panic!("no slow-call line with {request_id}:\n{log}"));
    assert!(line.contains("WARN"), "{line}");
    for field in [
        "RegisterDomain",
        "route=",
        "total_ms=",
        "queue_ms=",
        "commit_ms=",
        "apply_ms=",
    ] {
        assert!(line.contains(field), "{field} in {line}");
    }
    let m = scrape(&swfd).await?;
    assert!(m.value("swfd_slow_calls_total", &[("action", "RegisterDomain")]) >= 1.0);

    // With the default threshold (1 s) a quick call is not logged.
    let quiet = Swfd::start().await?;
    let out = quiet
        .client()
        .register_domain()
        .name("quick")
        .workflow_execution_retention_period_in_days("1")
        .send()
        .await?;
    let request_id = out.request_id().context("x-amzn-RequestId")?.to_string();
    assert!(!quiet.log().contains(&request_id), "{}", quiet.log());
    Ok(())
}
