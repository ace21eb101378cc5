//! Long polls whose clients went away (issue 12, item 2): a held poll whose connection closes is
//! withdrawn at once, on the node that took it and on the leader it was forwarded to, so it takes no
//! task and holds no place in its task list. Raw sockets against the real swfd, on one node and
//! through a follower of a 3-node cluster; the leader's `pollers` in `GET /cluster/status` shows
//! which polls it holds.

use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use aws_sdk_swf::types::EventType;
use serde_json::{json, Value};
use swf_e2e::{full_history, poll_decision, setup_domain, start_execution, Fixture, Swfd};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// How long the leader may take to see a change in the polls it holds.
const SETTLE: Duration = Duration::from_secs(20);
/// The long-poll time of the servers: far beyond every deadline below, so a poll that is not
/// withdrawn stays held for the whole test.
const LONG_POLL: &str = "50";

/// Opens a connection and sends a PollForDecisionTask on it (the answer is never read).
async fn open_poll(entry: &Swfd, fx: &Fixture, identity: &str) -> Result<TcpStream> {
    let body = json!({"domain": fx.domain, "taskList": {"name": fx.decision_list},
        "identity": identity})
    .to_string();
    // Signed as the harness's clients sign (the suite may run with auth on).
    let request = format!(
        "{}{body}",
        swf_e2e::raw_head(
            "swf",
            "SimpleWorkflowService.PollForDecisionTask",
            body.as_bytes(),
            ""
        )
    );
    let mut stream = TcpStream::connect(entry.http_addr()).await?;
    stream.write_all(request.as_bytes()).await?;
    Ok(stream)
}

/// The polls the leader holds, from its `GET /cluster/status`.
async fn held_polls(leader: &Swfd) -> Result<u64> {
    let status: Value = leader.cluster_status().await?;
    status["pollers"]
        .as_u64()
        .with_context(|| format!("no pollers in {status}"))
}

/// Waits until the leader holds exactly `want` polls; returns how long that took.
async fn until_held(leader: &Swfd, want: u64, what: &str) -> Result<Duration> {
    let start = Instant::now();
    loop {
        let held = held_polls(leader).await?;
        if held == want {
            return Ok(start.elapsed());
        }
        ensure!(
            start.elapsed() < SETTLE,
            "{what}: the leader holds {held} polls after {SETTLE:?}, not {want}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The leader as a node of `nodes`, and a follower.
async fn leader_and_follower(nodes: &[Swfd]) -> Result<(usize, usize)> {
    let start = Instant::now();
    loop {
        let status = nodes[0].cluster_status().await?;
        if let Some(leader) = status["leader_id"].as_u64() {
            let leader = leader as usize - 1;
            return Ok((leader, (leader + 1) % nodes.len()));
        }
        ensure!(start.elapsed() < SETTLE, "no leader: {status}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// (a) A poll sent to `entry` and closed by its client after 0.2 s is withdrawn; a workflow started
/// afterwards goes to a real poller, promptly, and its DecisionTaskStarted names the real poller.
async fn closed_poll_takes_no_task(entry: &Swfd, leader: &Swfd, domain: &str) -> Result<()> {
    let client = entry.client();
    let fx = setup_domain(&client, domain).await?;
    let opened = Instant::now();
    let departed = open_poll(entry, &fx, "departed").await?;
    until_held(leader, 1, "the poll reaching the leader").await?;
    // The client gives up after 0.2 s (part of the scenario, not a wait for the server).
    tokio::time::sleep_until((opened + Duration::from_millis(200)).into()).await;
    drop(departed);
    let withdrawn = until_held(leader, 0, "the closed poll").await?;
    eprintln!("{domain}: closed poll withdrawn on the leader after {withdrawn:?}");

    let exec = start_execution(&client, &fx, &format!("{domain}-1"), "").await?;
    let asked = Instant::now();
    let task = tokio::time::timeout(Duration::from_secs(10), poll_decision(&client, &fx))
        .await
        .context("the real poller got nothing for 10 s")??;
    ensure!(
        task.workflow_execution() == Some(&exec),
        "the real poller got {task:?}"
    );
    ensure!(
        asked.elapsed() < Duration::from_secs(5),
        "the task came after {:?}",
        asked.elapsed()
    );
    let history = full_history(&client, &fx.domain, &exec).await?;
    let started: Vec<_> = history
        .iter()
        .filter(|e| e.event_type() == &EventType::DecisionTaskStarted)
        .map(|e| {
            e.decision_task_started_event_attributes()
                .and_then(|a| a.identity())
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    ensure!(
        started == ["e2e-decider"],
        "decision tasks started for {started:?}"
    );
    Ok(())
}

/// (b) 1,000 polls sent to `entry` fill the task list's cap (1,000 pollers), then their clients close
/// them; the list is free again at once: a real poll is accepted (not LimitExceededFault), waits,
/// and gets the next task.
async fn closed_polls_free_the_list(entry: &Swfd, leader: &Swfd, domain: &str) -> Result<()> {
    const POLLS: usize = 1000;
    let client = entry.client();
    let fx = setup_domain(&client, domain).await?;
    let mut polls = Vec::with_capacity(POLLS);
    for _ in 0..POLLS {
        polls.push(open_poll(entry, &fx, "departed").await?);
    }
    until_held(leader, POLLS as u64, "a thousand polls reaching the leader").await?;
    // The list is full: one more poll is refused.
    let full = client
        .poll_for_decision_task()
        .domain(&fx.domain)
        .task_list(fx.decision_task_list())
        .send()
        .await;
    let refused = swf_e2e::service_error(full);
    ensure!(refused.is_limit_exceeded_fault(), "{refused:?}");
    let closing = Instant::now();
    drop(polls);
    let closed = closing.elapsed();
    until_held(leader, 0, "a thousand closed polls").await?;
    eprintln!(
        "{domain}: {POLLS} closed polls all withdrawn on the leader {:?} after the first close \
         (closing them took {closed:?})",
        closing.elapsed()
    );

    let real = {
        let (client, fx) = (client.clone(), fx.clone());
        tokio::spawn(async move { poll_decision(&client, &fx).await })
    };
    until_held(leader, 1, "the real poll").await?;
    let exec = start_execution(&client, &fx, &format!("{domain}-1"), "").await?;
    let task = tokio::time::timeout(Duration::from_secs(10), real)
        .await
        .context("the real poller got nothing for 10 s")???;
    ensure!(
        task.workflow_execution() == Some(&exec),
        "the real poller got {task:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_closed_poll_is_withdrawn_and_takes_no_task() -> Result<()> {
    let swfd = Swfd::start_with(&["--long-poll-secs", LONG_POLL]).await?;
    closed_poll_takes_no_task(&swfd, &swfd, "departed-one").await
}

#[tokio::test]
async fn a_thousand_closed_polls_free_the_task_list() -> Result<()> {
    let swfd = Swfd::start_with(&["--long-poll-secs", LONG_POLL]).await?;
    closed_polls_free_the_list(&swfd, &swfd, "departed-many").await
}

/// Both, with the polls sent to a follower: it forwards them to the leader over gRPC, and the
/// client's close must reach the leader through that call.
#[tokio::test]
async fn polls_closed_on_a_follower_are_withdrawn_on_the_leader() -> Result<()> {
    let nodes = Swfd::start_cluster(3, &["--long-poll-secs", LONG_POLL]).await?;
    let (leader, follower) = leader_and_follower(&nodes).await?;
    closed_poll_takes_no_task(&nodes[follower], &nodes[leader], "follower-one").await?;
    closed_polls_free_the_list(&nodes[follower], &nodes[leader], "follower-many").await
}
