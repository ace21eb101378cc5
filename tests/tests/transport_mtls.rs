//! Mutual TLS between nodes on the gRPC port (issue 16, transport), through the real swfd. The probes
//! of the issue, replayed: a forged `Vote` / `AppendEntries` from a client without a peer
//! certificate, and rogue `--join` nodes without a valid one (another CA, a name not on the allowed
//! list, no TLS at all). With mTLS all of them are refused and change nothing; the forged RPCs are
//! first shown to work against a node without mTLS (its term jumps past the forged one), so the probe
//! is a real one. A node with a valid
//! certificate joins as before. Certificates are made in the test with rcgen.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use serde_json::{json, Value};
use swf_e2e::certs::{client_config, Ca, Leaf, Validity};
use swf_e2e::{agreed_leader, Swfd};
use swf_proto::raft_service_client::RaftServiceClient;
use swf_proto::RaftPayload;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The name every peer certificate of the test cluster carries, and the one allowed.
const PEER_NAME: &str = "swfd-peer";

/// A PKI on disk: a CA and one certificate for `names` signed by it.
struct Pki {
    _dir: tempfile::TempDir,
    ca: Ca,
    leaf: Leaf,
    args: Vec<String>,
}

impl Pki {
    /// `ca` signs a certificate for `names`; the swfd flags use it and allow [`PEER_NAME`].
    fn new(ca: Ca, names: &[&str]) -> Result<Pki> {
        let dir = tempfile::tempdir()?;
        let ca_path = ca.write(dir.path(), "ca.crt")?;
        let leaf = ca.issue(names, Validity::Current)?;
        let (cert, key) = leaf.write(dir.path(), "peer")?;
        let args = vec![
            "--peer-ca".into(),
            ca_path.display().to_string(),
            "--peer-cert".into(),
            cert.display().to_string(),
            "--peer-key".into(),
            key.display().to_string(),
            "--peer-allowed-names".into(),
            PEER_NAME.into(),
        ];
        Ok(Pki {
            _dir: dir,
            ca,
            leaf,
            args,
        })
    }

    fn args(&self) -> Vec<&str> {
        self.args.iter().map(String::as_str).collect()
    }
}

/// A `Vote` for a made-up candidate 9 with a far higher term and a longer log (openraft's JSON, as
/// the Raft network sends it).
fn forged_vote() -> Vec<u8> {
    json!({
        "vote": { "leader_id": { "term": 1000, "node_id": 9 }, "committed": false },
        "last_log_id": { "leader_id": { "term": 999, "node_id": 9 }, "index": 1_000_000 }
    })
    .to_string()
    .into_bytes()
}

/// An `AppendEntries` from a made-up leader 9 with a higher term.
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

/// Sends the forged RPCs to `addr` over plaintext gRPC; returns what each got.
async fn forge(addr: std::net::SocketAddr) -> Vec<Result<(), String>> {
    let mut out = Vec::new();
    let client = tokio::time::timeout(
        Duration::from_secs(5),
        RaftServiceClient::connect(format!("http://{addr}")),
    )
    .await;
    let mut client = match client {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return vec![Err(format!("connect: {e}"))],
        Err(_) => return vec![Err("connect timed out".into())],
    };
    for (kind, data) in [("vote", forged_vote()), ("append", forged_append())] {
        let call = async {
            match kind {
                "vote" => client.vote(RaftPayload { data }).await,
                _ => client.append_entries(RaftPayload { data }).await,
            }
        };
        out.push(
            match tokio::time::timeout(Duration::from_secs(5), call).await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(status)) => Err(format!("{kind}: {status}")),
                Err(_) => Err(format!("{kind}: timed out")),
            },
        );
    }
    out
}

/// Opens TLS to the gRPC port with `config`, sends the HTTP/2 preface and an empty SETTINGS frame,
/// and says whether the server answered with HTTP/2 (a SETTINGS frame) rather than closing.
async fn speaks_h2_to(addr: std::net::SocketAddr, config: rustls::ClientConfig) -> bool {
    let mut config = config;
    config.alpn_protocols = vec![b"h2".to_vec()];
    let Ok(mut stream) = swf_e2e::certs::connect(addr, PEER_NAME, &Arc::new(config)).await else {
        return false;
    };
    let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    hello.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    if stream.write_all(&hello).await.is_err() || stream.flush().await.is_err() {
        return false;
    }
    let mut head = [0u8; 9];
    matches!(
        tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut head)).await,
        Ok(Ok(_)) if head[3] == 4
    )
}

fn term(status: &Value) -> u64 {
    status["term"].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn forged_raft_rpcs_without_a_peer_certificate_are_refused() -> Result<()> {
    // Without mTLS the probe works: both forged RPCs are answered, and the forged AppendEntries
    // (term 99) deposes a lone leader, which comes back at a term above the forged one. (The Vote
    // itself is refused while the leader's lease holds.)
    let plain = Swfd::start_without_auth(&[]).await?;
    let results = forge(plain.grpc_addr()).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    // The deposed leader comes back above the forged term once it campaigns again (poll for it:
    // on a loaded machine that takes a moment).
    let deadline = Instant::now() + Duration::from_secs(20);
    while term(&plain.cluster_status().await?) < 99 {
        ensure!(
            Instant::now() < deadline,
            "the forged AppendEntries was not taken by a node without mTLS: {}",
            plain.cluster_status().await?
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(plain);

    let pki = Pki::new(Ca::new("cluster CA")?, &[PEER_NAME])?;
    let nodes = Swfd::start_cluster(3, &pki.args()).await?;
    let refs: Vec<&Swfd> = nodes.iter().collect();
    let leader = agreed_leader(&refs, None).await?;
    // The cluster works over mTLS: a call through a follower is forwarded and replicated.
    let follower = (0..nodes.len())
        .find(|&i| i as u64 + 1 != leader)
        .context("a follower")?;
    swf_e2e::setup_domain(&nodes[follower].client(), "over-mtls").await?;

    let before: Vec<Value> = statuses(&nodes).await?;
    for node in &nodes {
        // Plaintext gRPC: refused.
        let results = forge(node.grpc_addr()).await;
        assert!(results.iter().all(Result::is_err), "{results:?}");
        // TLS without a client certificate, with one from another CA, with one for a name not on
        // the list: refused (no HTTP/2 answer).
        let no_cert = client_config(&pki.ca.pem(), None)?;
        assert!(!speaks_h2_to(node.grpc_addr(), no_cert).await);
        let rogue_ca = Ca::new("rogue CA")?;
        let foreign = rogue_ca.issue(&[PEER_NAME], Validity::Current)?;
        let foreign = client_config(&pki.ca.pem(), Some(&foreign))?;
        assert!(!speaks_h2_to(node.grpc_addr(), foreign).await);
        let stranger = pki.ca.issue(&["intruder"], Validity::Current)?;
        let stranger = client_config(&pki.ca.pem(), Some(&stranger))?;
        assert!(!speaks_h2_to(node.grpc_addr(), stranger).await);
        // An expired certificate from the right CA for the right name: refused.
        let expired = pki.ca.issue(&[PEER_NAME], Validity::Expired)?;
        let expired = client_config(&pki.ca.pem(), Some(&expired))?;
        assert!(!speaks_h2_to(node.grpc_addr(), expired).await);
        // The same checks let a real peer's certificate through (the test's client is right).
        let peer = client_config(&pki.ca.pem(), Some(&pki.leaf))?;
        assert!(speaks_h2_to(node.grpc_addr(), peer).await);
    }
    // Nothing changed: no term moved to the forged ones, and the replicas still agree.
    let after = statuses(&nodes).await?;
    for (b, a) in before.iter().zip(&after) {
        assert!(term(a) < 99, "a forged term was taken: {a}");
        assert!(term(a) >= term(b));
    }
    let (_, d0) = nodes[0].admin_get("/cluster/digest").await?;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let mut same = true;
        for n in &nodes[1..] {
            let (_, d) = n.admin_get("/cluster/digest").await?;
            same &= d["digest"] == d0["digest"] && d["last_applied"] == d0["last_applied"];
        }
        if same {
            break;
        }
        ensure!(Instant::now() < deadline, "the replicas disagree");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refused = nodes.iter().any(|n| {
        n.log()
            .contains("refused a gRPC peer: TLS handshake failed")
    });
    assert!(refused, "the refusals are logged");
    Ok(())
}

/// Each node's status.
async fn statuses(nodes: &[Swfd]) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for n in nodes {
        out.push(n.cluster_status().await?);
    }
    Ok(out)
}

fn voters(status: &Value) -> Vec<u64> {
    let mut v: Vec<u64> = status["voters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_u64)
        .collect();
    v.sort();
    v
}

fn members(status: &Value) -> Vec<u64> {
    let mut v: Vec<u64> = status["members"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, _)| k.parse().ok())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn rogue_nodes_without_a_valid_peer_certificate_cannot_join() -> Result<()> {
    let pki = Pki::new(Ca::new("cluster CA")?, &[PEER_NAME])?;
    let mut args = pki.args();
    args.extend(["--member-catch-up-secs", "3"]);
    let nodes = Swfd::start_cluster(3, &args).await?;
    let refs: Vec<&Swfd> = nodes.iter().collect();
    agreed_leader(&refs, None).await?;
    swf_e2e::setup_domain(&nodes[0].client(), "secret-inputs").await?;
    let join = nodes[0].admin_endpoint();

    // Rogues with the admin token (the strongest case: only the certificate stops them).
    let foreign = Pki::new(Ca::new("rogue CA")?, &[PEER_NAME])?;
    // A certificate from the cluster CA for a name not on the list.
    let off_list_dir = tempfile::tempdir()?;
    let ca_path = pki.ca.write(off_list_dir.path(), "ca.crt")?;
    let (cert, key) = pki
        .ca
        .issue(&["intruder"], Validity::Current)?
        .write(off_list_dir.path(), "intruder")?;
    let off_list: Vec<String> = vec![
        "--peer-ca".into(),
        ca_path.display().to_string(),
        "--peer-cert".into(),
        cert.display().to_string(),
        "--peer-key".into(),
        key.display().to_string(),
        "--peer-allowed-names".into(),
        format!("{PEER_NAME},intruder"),
    ];
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("another CA", foreign.args.clone()),
        ("a name not on the list", off_list),
        ("no TLS", vec![]),
    ];
    for (i, (what, extra)) in cases.into_iter().enumerate() {
        let id = (7 + i).to_string();
        let mut rogue_args = vec!["--node-id", &id, "--join", &join];
        rogue_args.extend(extra.iter().map(String::as_str));
        let rogue = Swfd::launch_with(&rogue_args)?;
        // Watch for longer than two of its attempts (each waits 3 s for the catch-up).
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            let s = nodes[0].cluster_status().await?;
            assert_eq!(voters(&s), vec![1, 2, 3], "{what}: {s}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // The rogue got nothing: no log entry, no membership.
        let (_, s) = rogue.admin_get("/cluster/status").await?;
        assert!(
            s["last_applied"].is_null() && members(&s).is_empty(),
            "{what}: the rogue received data: {s}"
        );
        assert!(
            rogue.log().contains("joining the cluster; retrying"),
            "{what}: the join was refused"
        );
        drop(rogue);
    }
    // The attempts are undone: the rogue learners are removed again.
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let s = nodes[0].cluster_status().await?;
        if members(&s) == vec![1, 2, 3] {
            break;
        }
        ensure!(Instant::now() < end, "rogue learners left behind: {s}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A node with a valid certificate joins as before.
    let mut good_args = vec![
        "--node-id",
        "4",
        "--join",
        &join,
        "--member-catch-up-secs",
        "30",
    ];
    good_args.extend(pki.args());
    let _good = Swfd::launch_with(&good_args)?;
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let s = nodes[0].cluster_status().await.context("status")?;
        if voters(&s) == vec![1, 2, 3, 4] {
            break;
        }
        ensure!(Instant::now() < end, "the valid node did not join: {s}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}
