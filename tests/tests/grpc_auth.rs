//! The gRPC port of a node with auth on (issue 16: "mTLS between nodes ... Required whenever auth is
//! on"), through the real swfd. A lone node used to accept `Execute` (with any caller, past the
//! gateway's SigV4 and policy checks) and Raft RPCs from any plaintext client even with
//! `--auth-config`; now swfd does not start with auth and without peer TLS, and a node with auth on
//! refuses plaintext `Execute`, `AppendEntries` and `Vote`. The probe is first shown to work on a node
//! without auth, so it is a real one.

use std::time::Duration;

use anyhow::Result;
use serde_json::json;
use swf_e2e::sign::ALLOW_ALL;
use swf_e2e::Swfd;
use swf_proto::raft_service_client::RaftServiceClient;
use swf_proto::swf_node_client::SwfNodeClient;
use swf_proto::{ExecuteRequest, RaftPayload};

/// An `Execute` of RegisterDomain with no caller (what a forger would send).
fn forged_execute() -> ExecuteRequest {
    ExecuteRequest {
        action: "RegisterDomain".into(),
        input: json!({"name": "forged", "workflowExecutionRetentionPeriodInDays": "1"})
            .to_string()
            .into_bytes(),
        hops: 0,
        request_id: "forged-1".into(),
        api: String::new(),
        caller: String::new(),
    }
}

fn forged_vote() -> Vec<u8> {
    json!({
        "vote": { "leader_id": { "term": 1000, "node_id": 9 }, "committed": false },
        "last_log_id": { "leader_id": { "term": 999, "node_id": 9 }, "index": 1_000_000 }
    })
    .to_string()
    .into_bytes()
}

fn forged_append() -> Vec<u8> {
    json!({
        "vote": { "leader_id": { "term": 99, "node_id": 9 }, "committed": true },
        "prev_log_id": null,
        "entries": [],
        "leader_commit": null
    })
    .to_string()
    .into_bytes()
}

/// The three forged RPCs over plaintext gRPC: what each got (`Ok` if answered at all).
async fn forge(addr: std::net::SocketAddr) -> Vec<Result<(), String>> {
    let url = format!("http://{addr}");
    let connect = tokio::time::timeout(Duration::from_secs(5), async {
        Ok::<_, tonic::transport::Error>((
            SwfNodeClient::connect(url.clone()).await?,
            RaftServiceClient::connect(url.clone()).await?,
        ))
    })
    .await;
    let (mut swf, mut raft) = match connect {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return vec![Err(format!("connect: {e}"))],
        Err(_) => return vec![Err("connect timed out".into())],
    };
    let limit = Duration::from_secs(5);
    let mut out = Vec::new();
    let r = tokio::time::timeout(limit, swf.execute(forged_execute())).await;
    out.push(match r {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(s)) => Err(format!("execute: {s}")),
        Err(_) => Err("execute: timed out".into()),
    });
    let r = tokio::time::timeout(
        limit,
        raft.vote(RaftPayload {
            data: forged_vote(),
        }),
    )
    .await;
    out.push(match r {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(s)) => Err(format!("vote: {s}")),
        Err(_) => Err("vote: timed out".into()),
    });
    let r = tokio::time::timeout(
        limit,
        raft.append_entries(RaftPayload {
            data: forged_append(),
        }),
    )
    .await;
    out.push(match r {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(s)) => Err(format!("append: {s}")),
        Err(_) => Err("append: timed out".into()),
    });
    out
}

#[tokio::test]
async fn a_node_with_auth_refuses_plaintext_execute_and_raft_rpcs() -> Result<()> {
    // Without auth the probe works: a domain registered through gRPC alone, past the gateway.
    let plain = Swfd::start_without_auth(&[]).await?;
    let results = forge(plain.grpc_addr()).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let (status, domains) = plain
        .raw_call("ListDomains", r#"{"registrationStatus": "REGISTERED"}"#)
        .await?;
    assert_eq!(status, 200);
    assert_eq!(domains["domainInfos"][0]["name"], "forged", "{domains}");
    drop(plain);

    // With auth on (and so mTLS, which the harness gives every node with auth), all three refused.
    let swfd = Swfd::start_with_auth(ALLOW_ALL, &[]).await?;
    let term_before = swfd.cluster_status().await?["term"].as_u64();
    let results = forge(swfd.grpc_addr()).await;
    assert!(results.iter().all(Result::is_err), "{results:?}");
    let (status, domains) = swfd
        .raw_call("ListDomains", r#"{"registrationStatus": "REGISTERED"}"#)
        .await?;
    assert_eq!(status, 200);
    assert_eq!(domains["domainInfos"], json!([]), "{domains}");
    assert_eq!(swfd.cluster_status().await?["term"].as_u64(), term_before);
    Ok(())
}

#[tokio::test]
async fn auth_without_peer_tls_does_not_start_on_a_single_node() -> Result<()> {
    // `launch_with` adds the harness's peer TLS to a node with --auth-config unless it has its own;
    // give none by starting the binary directly.
    let dir = tempfile::tempdir()?;
    let auth = dir.path().join("auth.toml");
    std::fs::write(&auth, ALLOW_ALL)?;
    let out = tokio::process::Command::new(swf_e2e::swfd_bin()?)
        .arg("--auth-config")
        .arg(&auth)
        .args(["--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0"])
        .args(["--admin-addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(30), out).await??;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("auth-config needs mutual TLS between nodes on the gRPC port"),
        "{stderr}"
    );
    Ok(())
}
