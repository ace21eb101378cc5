//! A stalled leader does not stall the cluster. With the leader of three nodes frozen (SIGSTOP: its
//! sockets stay open, it answers nothing), calls sent through the other two nodes right away — while
//! those still believe in the frozen leader and forward to it — are moved to the new leader the moment
//! it is elected and complete in seconds (they used to wait on the frozen node until the client gave
//! up). A call moved that way is applied once, and so is a call the router sends twice with one request
//! id (as it does when the first attempt may already have been proposed by the old leader).

use std::time::{Duration, Instant};

use aws_sdk_swf::types::EventType;
use serde_json::{json, Value};
use swf_e2e::{agreed_leader, full_history, setup_domain, start_execution, Swfd};
use swf_proto::swf_node_client::SwfNodeClient;
use swf_proto::{execute_response, ExecuteRequest};

/// How long a call through a survivor may take while the leader is frozen: the election (under a
/// second) plus generous room for a loaded machine, far below the wait it replaces (unbounded).
const WITHIN: Duration = Duration::from_secs(8);

/// Whether `node` still names `leader` as the leader (so a call sent now is forwarded to it).
async fn still_follows(node: &Swfd, leader: u64) -> anyhow::Result<bool> {
    Ok(node.cluster_status().await?["leader_id"].as_u64() == Some(leader))
}

fn signals(events: &[aws_sdk_swf::types::HistoryEvent]) -> usize {
    events
        .iter()
        .filter(|e| e.event_type == EventType::WorkflowExecutionSignaled)
        .count()
}

#[tokio::test]
async fn starts_through_both_survivors_complete_while_the_leader_is_frozen() -> anyhow::Result<()> {
    let nodes = Swfd::start_cluster(3, &[]).await?;
    let all: Vec<&Swfd> = nodes.iter().collect();
    let leader = agreed_leader(&all, None).await?;
    let lx = (leader - 1) as usize;
    let (a, b) = match lx {
        0 => (1, 2),
        1 => (0, 2),
        _ => (0, 1),
    };
    let fx = setup_domain(&nodes[a].client(), "stall").await?;
    // Both survivors have forwarded to the leader already (their channels to it are open).
    start_execution(&nodes[a].client(), &fx, "warm-a", "").await?;
    start_execution(&nodes[b].client(), &fx, "warm-b", "").await?;

    nodes[lx].pause()?;
    let frozen = Instant::now();
    let (ca, cb) = (nodes[a].client(), nodes[b].client());
    let (ra, rb) = tokio::join!(
        tokio::time::timeout(WITHIN, start_execution(&ca, &fx, "during-a", "")),
        tokio::time::timeout(WITHIN, start_execution(&cb, &fx, "during-b", "")),
    );
    let took = frozen.elapsed();
    println!("both starts answered {took:?} after the leader was frozen");
    let ra = ra.map_err(|_| anyhow::anyhow!("the start through node {} hung", a + 1));
    let rb = rb.map_err(|_| anyhow::anyhow!("the start through node {} hung", b + 1));
    nodes[lx].resume()?;
    ra??;
    rb??;

    // The old leader comes back as a follower and serves again (forwarding to the new leader).
    let new_leader = agreed_leader(&all, Some(leader)).await?;
    assert_ne!(new_leader, leader);
    tokio::time::timeout(
        WITHIN,
        start_execution(&nodes[lx].client(), &fx, "after", ""),
    )
    .await??;
    Ok(())
}

#[tokio::test]
async fn a_signal_in_flight_to_a_frozen_leader_moves_and_applies_once() -> anyhow::Result<()> {
    let nodes = Swfd::start_cluster(3, &[]).await?;
    let all: Vec<&Swfd> = nodes.iter().collect();
    let leader = agreed_leader(&all, None).await?;
    let lx = (leader - 1) as usize;
    let via = (lx + 1) % 3;
    let client = nodes[via].client();
    let fx = setup_domain(&client, "stall-signal").await?;
    let run = start_execution(&client, &fx, "sig", "").await?;

    nodes[lx].pause()?;
    let forwarded_to_frozen = still_follows(&nodes[via], leader).await?;
    let signal = client
        .signal_workflow_execution()
        .domain(&fx.domain)
        .workflow_id("sig")
        .signal_name("go")
        .input("once")
        .send();
    let answer = tokio::time::timeout(WITHIN, signal).await;
    nodes[lx].resume()?;
    println!("sent while node {via} still followed the frozen leader: {forwarded_to_frozen}");
    answer
        .map_err(|_| anyhow::anyhow!("the signal hung on the frozen leader"))?
        .map_err(|e| anyhow::anyhow!("SignalWorkflowExecution: {e:?}"))?;

    // Once the old leader is back and everyone agrees on the new one, the history has one signal,
    // read through every node.
    agreed_leader(&all, Some(leader)).await?;
    for n in &nodes {
        let events = full_history(&n.client(), &fx.domain, &run).await?;
        assert_eq!(signals(&events), 1, "signals seen through {}", n.endpoint());
    }
    Ok(())
}

/// A deposed leader that does not know it yet must not answer from its stale state. Found by the chaos
/// suite (seed 1): a signal sent to a frozen leader was answered `UnknownResourceFault` when the
/// process came back, for a workflow started through another node meanwhile (its dry run read state
/// without the new leader's entries). Writes are no longer dry-run: a fault now comes only from
/// applying the committed entry, which a deposed leader cannot commit.
#[tokio::test]
async fn a_resumed_old_leader_does_not_answer_from_stale_state() -> anyhow::Result<()> {
    let nodes = Swfd::start_cluster(3, &[]).await?;
    let all: Vec<&Swfd> = nodes.iter().collect();
    let leader = agreed_leader(&all, None).await?;
    let lx = (leader - 1) as usize;
    let via = (lx + 1) % 3;
    let client = nodes[via].client();
    let fx = setup_domain(&client, "stall-stale").await?;

    nodes[lx].pause()?;
    // The survivors elect a new leader; a run is started through one of them.
    let survivors: Vec<&Swfd> = nodes
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != lx)
        .map(|(_, n)| n)
        .collect();
    agreed_leader(&survivors, Some(leader)).await?;
    start_execution(&client, &fx, "late", "").await?;
    // A signal for it reaches the frozen old leader, which takes it up the moment it resumes.
    let old = nodes[lx].client();
    let signal = old
        .signal_workflow_execution()
        .domain(&fx.domain)
        .workflow_id("late")
        .signal_name("go")
        .input("x")
        .send();
    let signal = tokio::spawn(signal);
    nodes[lx].resume()?;
    let answer = tokio::time::timeout(WITHIN, signal)
        .await
        .map_err(|_| anyhow::anyhow!("the signal hung"))??;
    answer.map_err(|e| anyhow::anyhow!("SignalWorkflowExecution through the old leader: {e:?}"))?;
    Ok(())
}

/// Sends `action` over the internal gRPC API (`SwfNode.Execute`) as a router does.
async fn execute(
    node: &Swfd,
    action: &str,
    input: &Value,
    request_id: &str,
) -> anyhow::Result<Result<Value, String>> {
    let mut client = SwfNodeClient::connect(format!("http://{}", node.grpc_addr())).await?;
    let resp = client
        .execute(ExecuteRequest {
            action: action.to_string(),
            input: serde_json::to_vec(input)?,
            hops: 0,
            request_id: request_id.to_string(),
            ..Default::default()
        })
        .await?
        .into_inner();
    Ok(match resp.result {
        // Void actions answer an empty body, as SWF does.
        Some(execute_response::Result::Output(out)) if out.is_empty() => {
            Ok(serde_json::Value::Null)
        }
        Some(execute_response::Result::Output(out)) => Ok(serde_json::from_slice(&out)?),
        Some(execute_response::Result::Fault(f)) => Err(f.code),
        None => Err("no result".into()),
    })
}

/// Cluster control is the typed `Cluster` service: the old `_` actions no longer run over
/// `SwfNode.Execute` (a membership change cannot ride on it), except the legacy probe `_Ping`, still
/// answered for nodes of the previous release during a rolling upgrade.
#[tokio::test]
async fn execute_takes_no_control_action_but_the_legacy_probe() -> anyhow::Result<()> {
    // Plaintext gRPC to the node: auth off (with auth on the port needs mTLS: tests/grpc_auth.rs).
    let node = Swfd::start_without_auth(&[]).await?;
    assert_eq!(
        execute(&node, "_Ping", &json!({}), "p").await?,
        Ok(json!({}))
    );
    for action in [
        "_AddMember",
        "_RemoveMember",
        "_TransferLeader",
        "_HoldElections",
        "_Campaign",
    ] {
        let body = json!({"node_id": 9, "addr": "127.0.0.1:9", "hold": true});
        assert_eq!(
            execute(&node, action, &body, "c").await?,
            Err("UnknownOperationException".to_string()),
            "{action}"
        );
    }
    let status = node.cluster_status().await?;
    assert_eq!(
        status["members"].as_object().map(|m| m.len()),
        Some(1),
        "{status}"
    );
    assert_eq!(status["voters"], json!([1]), "{status}");
    Ok(())
}

#[tokio::test]
async fn a_call_sent_twice_with_one_request_id_applies_once() -> anyhow::Result<()> {
    // Plaintext gRPC to the nodes: auth off (with auth on the port needs mTLS: tests/grpc_auth.rs).
    let nodes = Swfd::start_cluster_without_auth(3, &[]).await?;
    let all: Vec<&Swfd> = nodes.iter().collect();
    let leader = agreed_leader(&all, None).await?;
    let follower = &nodes[(leader as usize) % 3];
    let fx = setup_domain(&follower.client(), "dedup").await?;
    let start = json!({"domain": fx.domain, "workflowId": "dup",
        "workflowType": {"name": fx.workflow_type.name, "version": fx.workflow_type.version}});
    let signal = json!({"domain": fx.domain, "workflowId": "dup", "signalName": "s"});

    // Sent twice through a follower (forwarded with its id) and once to the leader itself.
    let first = execute(follower, "StartWorkflowExecution", &start, "e2e-start-1").await?;
    let again = execute(follower, "StartWorkflowExecution", &start, "e2e-start-1").await?;
    let leader_node = &nodes[(leader - 1) as usize];
    let third = execute(leader_node, "StartWorkflowExecution", &start, "e2e-start-1").await?;
    let run_id = first.clone().map_err(anyhow::Error::msg)?["runId"].clone();
    assert!(run_id.is_string(), "{first:?}");
    assert_eq!(again, first, "the second attempt gets the first answer");
    assert_eq!(third, first);
    // Another call for the same workflow id is refused, as SWF does.
    assert_eq!(
        execute(follower, "StartWorkflowExecution", &start, "e2e-start-2").await?,
        Err("WorkflowExecutionAlreadyStartedFault".to_string())
    );

    for id in [
        "e2e-signal-1",
        "e2e-signal-1",
        "e2e-signal-2",
        "e2e-signal-1",
    ] {
        assert_eq!(
            execute(follower, "SignalWorkflowExecution", &signal, id).await?,
            // A void action answers an empty body.
            Ok(serde_json::Value::Null)
        );
    }
    let run = aws_sdk_swf::types::WorkflowExecution::builder()
        .workflow_id("dup")
        .run_id(run_id.as_str().unwrap_or_default())
        .build()?;
    let events = full_history(&follower.client(), &fx.domain, &run).await?;
    assert_eq!(signals(&events), 2, "two calls, four attempts");
    Ok(())
}
