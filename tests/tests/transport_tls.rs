//! TLS on the SWF endpoint (issue 16, transport), through the real swfd and a real TLS client
//! (tokio-rustls): calls are served over TLS; a client that trusts another CA refuses the server;
//! plaintext against the TLS port gets no HTTP answer; certificates are reloaded without a restart
//! when their files change and on SIGHUP; an expired certificate is refused by clients; a broken
//! file keeps the previous certificate in force. Certificates are made in the test with rcgen.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use swf_e2e::certs::{client_config, connect, Ca, Validity};
use swf_e2e::{Swfd, TARGET_PREFIX};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends one request with `connection: close` over `stream` and reads the whole answer: (status,
/// body).
async fn exchange<S>(stream: &mut S, request: &str) -> Result<(u16, String)>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    stream.write_all(request.as_bytes()).await?;
    stream.flush().await?;
    let mut answer = Vec::new();
    // A TLS peer may close without close_notify after `connection: close`: what arrived counts.
    let _ = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|c| c.parse().ok())
        .with_context(|| format!("not an HTTP answer: {text:?}"))?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    Ok((status, body.to_string()))
}

/// A ListDomains call, signed as the harness's clients sign (the suite may run with auth on).
fn list_domains() -> String {
    let body = r#"{"registrationStatus":"REGISTERED"}"#;
    format!(
        "{}{body}",
        swf_e2e::raw_head(
            "localhost",
            &format!("{TARGET_PREFIX}ListDomains"),
            body.as_bytes(),
            "Connection: close\r\n"
        )
    )
}

const HEALTH: &str = "GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

/// An SWF call over TLS with a client trusting `config`'s CA.
async fn call_over_tls(swfd: &Swfd, config: &Arc<rustls::ClientConfig>) -> Result<(u16, String)> {
    let mut stream = connect(swfd.http_addr(), "localhost", config).await?;
    exchange(&mut stream, &list_domains()).await
}

#[tokio::test]
async fn the_swf_endpoint_speaks_tls_and_refuses_what_it_must() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let ca = Ca::new("swfd test CA")?;
    let (cert, key) = ca
        .issue(&["localhost", "127.0.0.1"], Validity::Current)?
        .write(dir.path(), "server")?;
    let swfd = Swfd::start_with(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ])
    .await?;
    let trusting = Arc::new(client_config(&ca.pem(), None)?);

    // SWF calls and /health over TLS.
    let (status, body) = call_over_tls(&swfd, &trusting).await?;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("domainInfos"), "{body}");
    let mut stream = connect(swfd.http_addr(), "localhost", &trusting).await?;
    assert_eq!(exchange(&mut stream, HEALTH).await?, (200, "ok\n".into()));

    // A client trusting another CA refuses the server's certificate.
    let other = Arc::new(client_config(&Ca::new("another CA")?.pem(), None)?);
    let refused = connect(swfd.http_addr(), "localhost", &other)
        .await
        .err()
        .context("a client trusting another CA completed the handshake")?;
    assert!(
        format!("{refused:#}").contains("UnknownIssuer"),
        "{refused:#}"
    );

    // Plaintext HTTP against the TLS port: no HTTP answer, the connection is closed.
    let mut plain = TcpStream::connect(swfd.http_addr()).await?;
    plain.write_all(HEALTH.as_bytes()).await?;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(15), plain.read_to_end(&mut answer))
        .await
        .context("the TLS port kept a plaintext connection open")?;
    assert!(
        !answer.starts_with(b"HTTP/"),
        "plaintext got an HTTP answer: {:?}",
        String::from_utf8_lossy(&answer)
    );

    // The admin listener stays plaintext (loopback) and /health is open there.
    let health = reqwest::get(format!("{}/health", swfd.admin_endpoint())).await?;
    assert_eq!(health.status(), 200);

    // Still serving after all that.
    assert_eq!(call_over_tls(&swfd, &trusting).await?.0, 200);
    Ok(())
}

/// Polls `f` until it returns true, for at most `limit`.
async fn until<F, Fut>(limit: Duration, what: &str, mut f: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = Instant::now() + limit;
    loop {
        if f().await {
            return Ok(());
        }
        if Instant::now() > end {
            bail!("{what}: not within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn certificates_reload_without_a_restart() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (first, second) = (Ca::new("first CA")?, Ca::new("second CA")?);
    let names = ["localhost", "127.0.0.1"];
    let (cert, key) = first
        .issue(&names, Validity::Current)?
        .write(dir.path(), "server")?;
    let swfd = Swfd::start_with(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ])
    .await?;
    let pid = swfd.pid();
    let trusts_first = Arc::new(client_config(&first.pem(), None)?);
    let trusts_second = Arc::new(client_config(&second.pem(), None)?);
    assert_eq!(call_over_tls(&swfd, &trusts_first).await?.0, 200);
    // A connection opened before the change keeps working after it.
    let mut open = connect(swfd.http_addr(), "localhost", &trusts_first).await?;

    // The files change: new connections get the new certificate, without a restart.
    second
        .issue(&names, Validity::Current)?
        .write(dir.path(), "server")?;
    until(
        Duration::from_secs(15),
        "the second CA's certificate served",
        || async { matches!(call_over_tls(&swfd, &trusts_second).await, Ok((200, _))) },
    )
    .await?;
    assert!(call_over_tls(&swfd, &trusts_first).await.is_err());
    assert_eq!(exchange(&mut open, HEALTH).await?.0, 200);

    // A broken file is not loaded: the certificate in force stays.
    std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\nnot base64\n")?;
    until(
        Duration::from_secs(15),
        "the failed reload logged",
        || async { swfd.log().contains("TLS reload failed") },
    )
    .await?;
    assert_eq!(call_over_tls(&swfd, &trusts_second).await?.0, 200);

    // An expired certificate: loaded (the server does not judge), refused by clients.
    first
        .issue(&names, Validity::Expired)?
        .write(dir.path(), "server")?;
    let expired = until(
        Duration::from_secs(15),
        "the expired certificate refused",
        || async {
            match call_over_tls(&swfd, &trusts_first).await {
                Err(e) => format!("{e:#}").to_lowercase().contains("expired"),
                Ok(_) => false,
            }
        },
    )
    .await;
    expired?;

    // SIGHUP reloads at once (the current files: the first CA's valid certificate again).
    first
        .issue(&names, Validity::Current)?
        .write(dir.path(), "server")?;
    let status = std::process::Command::new("kill")
        .args(["-HUP", &pid.context("running")?.to_string()])
        .status()?;
    assert!(status.success());
    until(Duration::from_secs(15), "served after SIGHUP", || async {
        matches!(call_over_tls(&swfd, &trusts_first).await, Ok((200, _)))
    })
    .await?;
    until(Duration::from_secs(15), "SIGHUP logged", || async {
        swfd.log().contains("SIGHUP: reloading certificates")
    })
    .await?;
    // The same process all along.
    assert_eq!(swfd.pid(), pid);
    Ok(())
}
