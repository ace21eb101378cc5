//! TLS connections to the SWF endpoint as clients use them (issue 16, transport), through the real swfd
//! and a real TLS client (tokio-rustls): the endpoint's TLS holds no buffer while a connection is idle
//! (`swf-gateway` `lean_tls`, on rustls's unbuffered API), so what a buffered TLS stream did for free is
//! checked here — keep-alive (many calls on one connection, idle gaps between them), pipelined calls,
//! a request body and a response each spread over many TLS records, a long poll held and answered on
//! the same connection, a client that closes during a held poll (the poll is withdrawn), TLS 1.2 as
//! well as 1.3, and the connection closed after the client's `close_notify`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use swf_e2e::certs::{client_config, connect, Ca, Validity};
use swf_e2e::{Swfd, TARGET_PREFIX};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The bytes of a signed `POST /` call (signed as the harness's clients sign; the suite may run with
/// auth on), kept alive.
fn call(action: &str, body: &str) -> Vec<u8> {
    let mut req = swf_e2e::raw_head(
        "localhost",
        &format!("{TARGET_PREFIX}{action}"),
        body.as_bytes(),
        "",
    )
    .into_bytes();
    req.extend_from_slice(body.as_bytes());
    req
}

/// Reads one response (head and `content-length` body) from `s`, keeping what follows it in `rest`:
/// (status, body).
async fn read_response<S: AsyncRead + Unpin>(
    s: &mut S,
    rest: &mut Vec<u8>,
) -> Result<(u16, Value)> {
    loop {
        if let Some(end) = rest.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&rest[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .context("no content-length")?;
            if rest.len() >= end + 4 + length {
                let status: u16 = head
                    .strip_prefix("http/1.1 ")
                    .and_then(|r| r.get(..3))
                    .and_then(|c| c.parse().ok())
                    .with_context(|| format!("not an HTTP answer: {head}"))?;
                let body: Vec<u8> = rest.drain(..end + 4 + length).skip(end + 4).collect();
                let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
                return Ok((status, json));
            }
        }
        let mut chunk = [0u8; 8192];
        let n = tokio::time::timeout(Duration::from_secs(30), s.read(&mut chunk))
            .await
            .context("no answer within 30 s")??;
        if n == 0 {
            bail!("the connection ended before a whole answer");
        }
        rest.extend_from_slice(&chunk[..n]);
    }
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    rest: &mut Vec<u8>,
    request: &[u8],
) -> Result<(u16, Value)> {
    s.write_all(request).await?;
    s.flush().await?;
    read_response(s, rest).await
}

/// A client configuration for TLS 1.2 only, trusting `ca_pem`.
fn tls12_config(ca_pem: &str) -> Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in
        <rustls::pki_types::CertificateDer as rustls::pki_types::pem::PemObject>::pem_slice_iter(
            ca_pem.as_bytes(),
        )
    {
        roots.add(cert?)?;
    }
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS12])?
    .with_root_certificates(roots)
    .with_no_client_auth())
}

async fn pollers(swfd: &Swfd) -> Result<u64> {
    Ok(swfd.cluster_status().await?["pollers"]
        .as_u64()
        .unwrap_or(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_connections_behave_as_plain_ones() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let ca = Ca::new("swfd test CA")?;
    let (cert, key) = ca
        .issue(&["localhost"], Validity::Current)?
        .write(dir.path(), "server")?;
    let swfd = Swfd::start_with(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
        "--long-poll-secs",
        "4",
    ])
    .await?;
    let tls13 = Arc::new(client_config(&ca.pem(), None)?);
    let tls12 = Arc::new(tls12_config(&ca.pem())?);
    let list = call("ListDomains", r#"{"registrationStatus":"REGISTERED"}"#);

    for (version, config) in [("TLS 1.3", &tls13), ("TLS 1.2", &tls12)] {
        let mut s = connect(swfd.http_addr(), "localhost", config).await?;
        let mut rest = Vec::new();
        // Keep-alive: many calls on one connection, with an idle gap now and then.
        for i in 0..20 {
            let (status, body) = exchange(&mut s, &mut rest, &list).await?;
            assert_eq!(status, 200, "{version} call {i}: {body}");
            if i % 7 == 0 {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
        // Pipelined: three calls in one write, three answers in order.
        let three = [list.clone(), list.clone(), list.clone()].concat();
        s.write_all(&three).await?;
        s.flush().await?;
        for i in 0..3 {
            let (status, body) = read_response(&mut s, &mut rest).await?;
            assert_eq!(status, 200, "{version} pipelined {i}: {body}");
        }
        assert!(rest.is_empty(), "{version}: bytes past the answers");
    }

    // A request body over many TLS records (200 KB: JSON padded with whitespace) and a response
    // over many (40 domains with 1,000-character descriptions, about 45 KB).
    let mut s = connect(swfd.http_addr(), "localhost", &tls13).await?;
    let mut rest = Vec::new();
    for i in 0..40 {
        let body = json!({
            "name": format!("tls-big-{i:02}"),
            "workflowExecutionRetentionPeriodInDays": "1",
            "description": "d".repeat(1000),
        })
        .to_string();
        let (status, answer) = exchange(&mut s, &mut rest, &call("RegisterDomain", &body)).await?;
        assert_eq!(status, 200, "{answer}");
    }
    let padded = format!(
        "{{\"registrationStatus\":\"REGISTERED\",{}\"maximumPageSize\":1000}}",
        " ".repeat(200_000)
    );
    let (status, answer) = exchange(&mut s, &mut rest, &call("ListDomains", &padded)).await?;
    assert_eq!(status, 200, "{answer}");
    let domains = answer["domainInfos"].as_array().context("domainInfos")?;
    assert_eq!(domains.len(), 40, "{answer}");
    assert!(domains
        .iter()
        .all(|d| d["description"].as_str().map(str::len) == Some(1000)));

    // A long poll held over TLS and answered (empty, after --long-poll-secs) on the same
    // connection, which then serves another call.
    let poll = call(
        "PollForActivityTask",
        r#"{"domain":"tls-big-00","taskList":{"name":"tls-list"}}"#,
    );
    let began = Instant::now();
    let (status, answer) = exchange(&mut s, &mut rest, &poll).await?;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.get("taskToken").is_none_or(|t| t == ""), "{answer}");
    assert!(
        began.elapsed() >= Duration::from_secs(3),
        "answered at once"
    );
    assert_eq!(exchange(&mut s, &mut rest, &list).await?.0, 200);

    // A client that closes during a held poll: the poll is withdrawn.
    let mut held = connect(swfd.http_addr(), "localhost", &tls13).await?;
    let long = call(
        "PollForActivityTask",
        r#"{"domain":"tls-big-00","taskList":{"name":"tls-withdrawn"}}"#,
    );
    held.write_all(&long).await?;
    held.flush().await?;
    let end = Instant::now() + Duration::from_secs(10);
    while pollers(&swfd).await? < 1 {
        anyhow::ensure!(Instant::now() < end, "the poll was never held");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(held);
    // Well before the poll's own 4 s are up.
    let end = Instant::now() + Duration::from_millis(1500);
    while pollers(&swfd).await? > 0 {
        anyhow::ensure!(
            Instant::now() < end,
            "the poll of a closed connection was not withdrawn"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The end: after the client's close_notify the server closes the connection, adding nothing.
    s.shutdown().await?;
    let mut tail = Vec::new();
    let ended = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut tail))
        .await
        .context("the server kept the connection after close_notify")?;
    if let Err(e) = ended {
        // The server may close without a close_notify of its own (HTTP frames its messages).
        assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof, "{e}");
    }
    assert!(tail.is_empty(), "{:?}", String::from_utf8_lossy(&tail));
    Ok(())
}
