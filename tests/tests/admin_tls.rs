//! TLS on the admin listener (`--admin-tls-cert` / `--admin-tls-key`), through the real swfd: the
//! admin API and `/health` are served over TLS, `swfd admin` reaches it with `--ca-cert` (and fails
//! without the CA), and plaintext against the admin port gets no HTTP answer; a node `--join`s
//! through an https:// admin endpoint whose certificate is from a private CA when given that CA
//! (`--admin-ca`), and cannot without it.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use swf_e2e::certs::{client_config, Ca, Validity};
use swf_e2e::{swfd_bin, Swfd, ADMIN_TOKEN};

#[tokio::test]
async fn the_admin_listener_speaks_tls() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let ca = Ca::new("admin CA")?;
    let ca_path = ca.write(dir.path(), "ca.crt")?;
    let (cert, key) = ca
        .issue(&["localhost", "127.0.0.1"], Validity::Current)?
        .write(dir.path(), "admin")?;
    let swfd = Swfd::launch_with(&[
        "--admin-tls-cert",
        cert.to_str().unwrap(),
        "--admin-tls-key",
        key.to_str().unwrap(),
    ])?;
    let tls = reqwest::Client::builder()
        .use_preconfigured_tls(client_config(&ca.pem(), None)?)
        .build()?;
    let https = format!("https://localhost:{}", swfd.admin_addr().port());
    // Healthy over TLS (the harness's own health check speaks plaintext, so wait here).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = tls.get(format!("{https}/health")).send().await {
            if r.status() == 200 {
                break;
            }
        }
        if Instant::now() > deadline {
            bail!("no /health over TLS:\n{}", swfd.log());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The admin API over TLS with the token.
    let r = tls
        .get(format!("{https}/cluster/status"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    // Plaintext against the TLS port: no HTTP answer.
    let plain = reqwest::Client::new()
        .get(format!("{}/health", swfd.admin_endpoint()))
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    assert!(plain.is_err(), "{plain:?}");
    // `swfd admin` with --ca-cert reaches it; without the CA it does not.
    let token_file = swfd.admin_token_file();
    let run = |ca: Option<&std::path::Path>| {
        let mut cmd = Command::new(swfd_bin()?);
        cmd.args(["admin", "--endpoint", &https, "status", "--token-file"])
            .arg(&token_file)
            .env_remove("SWFD_ADMIN_CA_CERT");
        if let Some(ca) = ca {
            cmd.arg("--ca-cert").arg(ca);
        }
        cmd.output().context("running swfd admin")
    };
    let out = run(Some(&ca_path))?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(status["leader_id"], 1);
    let other = Ca::new("another CA")?.write(dir.path(), "other.crt")?;
    assert!(!run(Some(&other))?.status.success());
    Ok(())
}

/// Waits until `/health` answers 200 over TLS at `https`.
async fn healthy_over_tls(tls: &reqwest::Client, https: &str, swfd: &Swfd) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = tls.get(format!("{https}/health")).send().await {
            if r.status() == 200 {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            bail!("no /health over TLS:\n{}", swfd.log());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The voters of the node behind `https`, from its status.
async fn voters(tls: &reqwest::Client, https: &str) -> Result<Vec<u64>> {
    let status: serde_json::Value = tls
        .get(format!("{https}/cluster/status"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await?
        .json()
        .await?;
    let mut v: Vec<u64> = status["voters"]
        .as_array()
        .context("voters")?
        .iter()
        .filter_map(|x| x.as_u64())
        .collect();
    v.sort_unstable();
    Ok(v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_joins_through_an_https_admin_endpoint_with_a_private_ca() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let ca = Ca::new("private admin CA")?;
    let ca_path = ca.write(dir.path(), "ca.crt")?;
    let (cert, key) = ca
        .issue(&["localhost", "127.0.0.1"], Validity::Current)?
        .write(dir.path(), "admin")?;
    let first = Swfd::launch_with(&[
        "--admin-tls-cert",
        cert.to_str().unwrap(),
        "--admin-tls-key",
        key.to_str().unwrap(),
    ])?;
    let tls = reqwest::Client::builder()
        .use_preconfigured_tls(client_config(&ca.pem(), None)?)
        .build()?;
    let https = format!("https://localhost:{}", first.admin_addr().port());
    healthy_over_tls(&tls, &https, &first).await?;

    // Without the CA the join call cannot verify the endpoint's certificate: the node keeps
    // retrying, and says why.
    let untrusting = Swfd::launch_with(&["--node-id", "3", "--join", &https])?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let log = untrusting.log();
        if log.contains("joining the cluster; retrying") {
            assert!(
                log.to_ascii_lowercase().contains("certificate"),
                "the refusal does not name the certificate:\n{log}"
            );
            break;
        }
        if Instant::now() > deadline {
            bail!("no failed join attempt logged:\n{log}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(voters(&tls, &https).await?, vec![1]);

    // With --admin-ca it joins and becomes a voter.
    let _joined = Swfd::launch_with(&[
        "--node-id",
        "2",
        "--join",
        &https,
        "--admin-ca",
        ca_path.to_str().unwrap(),
    ])?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if voters(&tls, &https).await? == vec![1, 2] {
            break;
        }
        if Instant::now() > deadline {
            bail!("node 2 did not join:\n{}", first.log());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // An --admin-ca that holds no certificate is refused at start.
    std::fs::write(dir.path().join("empty.pem"), "")?;
    let out = Command::new(swfd_bin()?)
        .args(["--node-id", "4", "--join", &https, "--admin-ca"])
        .arg(dir.path().join("empty.pem"))
        .arg("--data-dir")
        .arg(dir.path().join("data4"))
        .args(["--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0"])
        .args(["--admin-addr", "127.0.0.1:0"])
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && stderr.contains("admin-ca")
            && stderr.contains("no PEM certificate"),
        "{stderr}"
    );
    Ok(())
}
