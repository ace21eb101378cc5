//! Measurement, not a pass/fail test (ignored by default; run with
//! `cargo test -p swf-e2e --test idle_polls_measure -- --ignored --nocapture`): hold 10,000 idle long
//! polls (100 task lists × 100 pollers) on one swfd and read its resident memory, over plaintext
//! and over TLS (`--tls-cert`; the client is tokio-rustls). Recorded in docs/benchmarks.md.

use std::time::Duration;

use serde_json::json;
use swf_e2e::certs::{client_config, connect, Ca, Validity};
use swf_e2e::{setup_domain, Swfd, AMZ_JSON, TARGET_PREFIX};
use tokio::io::AsyncWriteExt;

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Prints the RSS figures of a measurement: before the polls, once held (`held`, when the RSS stopped
/// growing), and again after [`SETTLE`], once jemalloc has returned the pages that the connections'
/// setup (TLS handshakes, request parsing) freed: its dirty pages decay over 10 s. The steady state
/// of idle polls is the second figure.
async fn report(what: &str, pid: u32, before: u64, held: u64) {
    tokio::time::sleep(SETTLE).await;
    let settled = rss_kb(pid);
    let mib = |kb: u64| kb as f64 / 1024.0;
    let mb = |kb: u64| kb as f64 * 1.024 / 1000.0;
    println!(
        "{what}: RSS {:.1} MiB before; {:.1} MiB ({:.1} MB) once held, {:.1} KiB per poll; \
         {:.1} MiB ({:.1} MB) {}s later, {:.1} KiB per poll; {} open fds",
        mib(before),
        mib(held),
        mb(held),
        held.saturating_sub(before) as f64 / 10_000.0,
        mib(settled),
        mb(settled),
        SETTLE.as_secs(),
        settled.saturating_sub(before) as f64 / 10_000.0,
        open_fds(pid)
    );
}

/// How long after the polls are held the RSS is read again (jemalloc's `dirty_decay_ms` is 10 s).
const SETTLE: Duration = Duration::from_secs(15);

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: run explicitly"]
async fn ten_thousand_idle_polls() -> anyhow::Result<()> {
    let mut swfd = Swfd::start_with(&[
        "--long-poll-secs",
        "60",
        "--max-pollers-per-task-list",
        "1000",
    ])
    .await?;
    setup_domain(&swfd.client(), "idle").await?;
    let pid = swfd.pid().expect("running");
    let before = rss_kb(pid);
    let fds_before = open_fds(pid);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()?;
    let endpoint = swfd.endpoint();
    let mut polls = Vec::new();
    for i in 0..10_000 {
        let body = json!({ "domain": "idle", "taskList": { "name": format!("list-{}", i % 100) } })
            .to_string();
        let req = http
            .post(format!("{endpoint}/"))
            .header(
                "X-Amz-Target",
                format!("{TARGET_PREFIX}PollForActivityTask"),
            )
            .header("Content-Type", AMZ_JSON)
            .body(body);
        polls.push(tokio::spawn(req.send()));
    }
    // Wait (by polling) until the server holds a connection for every poll.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    // A few descriptors counted in `fds_before` (the setup's connection) may have closed since:
    // 9,900 more is every poll's connection.
    while open_fds(pid).saturating_sub(fds_before) < 9_900 {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "only {} connections",
            open_fds(pid).saturating_sub(fds_before)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The last requests may still be reaching the matcher: wait until the RSS stops growing.
    let mut held = rss_kb(pid);
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = rss_kb(pid);
        if now <= held + 1024 || tokio::time::Instant::now() > deadline {
            held = held.max(now);
            break;
        }
        held = now;
    }
    report("10,000 idle long polls", pid, before, held).await;
    // Stopping answers every held poll at once.
    let status = swfd.terminate(Duration::from_secs(30)).await?;
    assert!(status.success());
    let mut answered = 0;
    for p in polls {
        if p.await?.is_ok() {
            answered += 1;
        }
    }
    println!("{answered} polls answered on shutdown");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: run explicitly"]
async fn ten_thousand_idle_tls_polls() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let ca = Ca::new("measure CA")?;
    let (cert, key) = ca
        .issue(&["localhost"], Validity::Current)?
        .write(dir.path(), "server")?;
    let mut swfd = Swfd::start_with(&[
        "--long-poll-secs",
        "60",
        "--max-pollers-per-task-list",
        "1000",
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ])
    .await?;
    let config = std::sync::Arc::new(client_config(&ca.pem(), None)?);
    // The domain, over TLS (the SDK here has no TLS stack).
    let register =
        json!({"name": "idle", "workflowExecutionRetentionPeriodInDays": "1"}).to_string();
    let mut s = connect(swfd.http_addr(), "localhost", &config).await?;
    s.write_all(
        format!(
            "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: {TARGET_PREFIX}RegisterDomain\r\n\
             Content-Type: {AMZ_JSON}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{register}",
            register.len()
        )
        .as_bytes(),
    )
    .await?;
    let mut answer = Vec::new();
    let _ = tokio::io::AsyncReadExt::read_to_end(&mut s, &mut answer).await;
    anyhow::ensure!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let pid = swfd.pid().expect("running");
    let before = rss_kb(pid);
    let fds_before = open_fds(pid);
    let mut polls = Vec::new();
    // At most 64 handshakes at once: a debug build on a loaded machine does a few hundred a second,
    // and the server drops a handshake that takes over 10 s.
    let handshakes = std::sync::Arc::new(tokio::sync::Semaphore::new(64));
    for i in 0..10_000 {
        let body = json!({ "domain": "idle", "taskList": { "name": format!("list-{}", i % 100) } })
            .to_string();
        let request = format!(
            "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: {TARGET_PREFIX}PollForActivityTask\r\n\
             Content-Type: {AMZ_JSON}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let config = config.clone();
        let addr = swfd.http_addr();
        let handshakes = handshakes.clone();
        polls.push(tokio::spawn(async move {
            let permit = handshakes.acquire_owned().await?;
            let mut s = connect(addr, "localhost", &config).await?;
            drop(permit);
            // Poll again whenever a poll comes back empty, as a worker does, until the server
            // closes: the last answer is returned.
            loop {
                s.write_all(request.as_bytes()).await?;
                s.flush().await?;
                let answer = read_answer(&mut s).await?;
                let closes = String::from_utf8_lossy(&answer)
                    .to_ascii_lowercase()
                    .contains("connection: close");
                if closes || answer.is_empty() {
                    return anyhow::Ok(answer);
                }
            }
        }));
    }
    // Wait until every connection is made (each keeps a poll held, polling again when one ends).
    let started = tokio::time::Instant::now();
    let deadline = started + Duration::from_secs(900);
    // A few descriptors counted in `fds_before` (the setup's connection) may have closed since:
    // 9,900 more is every poll's connection.
    while open_fds(pid).saturating_sub(fds_before) < 9_900 {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "only {} connections",
            open_fds(pid).saturating_sub(fds_before)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    while swfd.cluster_status().await?["pollers"]
        .as_u64()
        .unwrap_or(0)
        < 9_900
    {
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "polls not all held");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!("9,900+ TLS polls held after {:?}", started.elapsed());
    let mut held = rss_kb(pid);
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = rss_kb(pid);
        if now <= held + 1024 || tokio::time::Instant::now() > deadline {
            held = held.max(now);
            break;
        }
        held = now;
    }
    report("10,000 idle long polls over TLS", pid, before, held).await;
    let status = swfd.terminate(Duration::from_secs(30)).await?;
    assert!(status.success());
    let mut answered = 0;
    for p in polls {
        if let Ok(Ok(a)) = p.await {
            if a.starts_with(b"HTTP/1.1 200") {
                answered += 1;
            }
        }
    }
    println!("{answered} TLS polls answered on shutdown");
    Ok(())
}

/// Reads one HTTP response (head and `content-length` body); empty at the end of the stream.
async fn read_answer<S: tokio::io::AsyncRead + Unpin>(s: &mut S) -> anyhow::Result<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    loop {
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if got.len() >= end + 4 + length {
                return Ok(got);
            }
        }
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return Ok(Vec::new());
        }
        got.extend_from_slice(&chunk[..n]);
    }
}
