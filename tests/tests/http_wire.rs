//! The gateway's HTTP/1.1 server on the wire: raw TCP against the real `swfd`, for what SDKs rarely
//! send but any client may: pipelined requests, chunked bodies with trailers, `Expect: 100-continue`,
//! `Connection: close`, HTTP/1.0, refused framing (smuggling guards, limits, malformed heads), the
//! non-SWF routes, and the graceful stop answering a held long poll.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use swf_e2e::Swfd;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a test waits for any single answer.
const WAIT: Duration = Duration::from_secs(20);
const VALIDATION: &str = "com.amazon.coral.validate#ValidationException";

/// One parsed response.
#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Result<Value> {
        serde_json::from_slice(&self.body)
            .with_context(|| format!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }
}

/// A raw client connection with its own read buffer (responses may arrive together).
struct Wire {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Wire {
    async fn connect(swfd: &Swfd) -> Result<Wire> {
        let stream = TcpStream::connect(swfd.http_addr()).await?;
        stream.set_nodelay(true)?;
        Ok(Wire {
            stream,
            buf: Vec::new(),
        })
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<()> {
        self.stream.write_all(bytes).await?;
        Ok(())
    }

    /// Reads more bytes; false at end of stream.
    async fn fill(&mut self) -> Result<bool> {
        let mut chunk = [0u8; 16384];
        let n = tokio::time::timeout(WAIT, self.stream.read(&mut chunk))
            .await
            .context("timed out waiting for the server")??;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    }

    /// Reads one response (interim `1xx` responses included, as their own response).
    async fn response(&mut self) -> Result<Response> {
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if !self.fill().await? {
                bail!(
                    "connection closed before a response head: {:?}",
                    String::from_utf8_lossy(&self.buf)
                );
            }
        };
        let head = String::from_utf8(self.buf[..head_end].to_vec())?;
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let mut parts = status_line.splitn(3, ' ');
        if parts.next() != Some("HTTP/1.1") {
            bail!("bad status line {status_line:?}");
        }
        let status: u16 = parts.next().unwrap_or_default().parse()?;
        let headers: Vec<(String, String)> = lines
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (n, v) = l.split_once(':').unwrap_or((l, ""));
                (n.trim().to_string(), v.trim().to_string())
            })
            .collect();
        self.buf.drain(..head_end);
        let mut resp = Response {
            status,
            headers,
            body: Vec::new(),
        };
        if status >= 200 {
            let len: usize = resp
                .header("content-length")
                .context("response without content-length")?
                .parse()?;
            while self.buf.len() < len {
                if !self.fill().await? {
                    bail!("connection closed inside a response body");
                }
            }
            resp.body = self.buf.drain(..len).collect();
        }
        Ok(resp)
    }

    /// Asserts the server closes the connection (end of stream) with nothing more to read.
    async fn expect_closed(&mut self) -> Result<()> {
        if !self.buf.is_empty() {
            bail!("unexpected bytes after the last response: {:?}", self.buf);
        }
        match tokio::time::timeout(WAIT, self.stream.read_u8()).await {
            Err(_) => bail!("connection still open"),
            Ok(Ok(b)) => bail!("unexpected byte {b} after the last response"),
            Ok(Err(_)) => Ok(()),
        }
    }
}

/// An SWF call as raw bytes with a `Content-Length` body.
/// Signed as the harness's clients sign (the suite may run with auth on).
fn swf_request(action: &str, body: &Value, extra: &str) -> Vec<u8> {
    let body = body.to_string();
    format!(
        "{}{body}",
        swf_e2e::raw_head(
            "swf",
            &format!("SimpleWorkflowService.{action}"),
            body.as_bytes(),
            extra
        )
    )
    .into_bytes()
}

fn register(domain: &str) -> Value {
    json!({"name": domain, "workflowExecutionRetentionPeriodInDays": "1"})
}

/// A 200 SWF answer with the protocol's headers.
fn assert_swf_ok(resp: &Response) -> Result<Value> {
    assert_swf_ok_head(resp);
    resp.json()
}

/// Asserts a 200 with the head every SWF answer has.
fn assert_swf_ok_head(resp: &Response) {
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(
        resp.header("content-type"),
        Some("application/x-amz-json-1.0")
    );
    assert!(resp.header("x-amzn-requestid").is_some(), "{resp:?}");
    let date = resp.header("date").unwrap_or_default();
    assert!(date.ends_with(" GMT") && date.len() == 29, "{date:?}");
}

/// Asserts the answer of an action without output: 200 with an empty body, as SWF answers it
/// (simpleflow's recorded TerminateWorkflowExecution responses carry `content-length: 0`).
fn assert_swf_void(resp: &Response) {
    assert_swf_ok_head(resp);
    assert_eq!(resp.header("content-length"), Some("0"), "{resp:?}");
    assert!(resp.body.is_empty(), "{resp:?}");
}

#[tokio::test]
async fn pipelined_calls_are_answered_in_order() -> Result<()> {
    let swfd = Swfd::start().await?;
    let mut wire = Wire::connect(&swfd).await?;
    // The second call only succeeds after the first: the order is the order of the answers.
    let mut both = swf_request("RegisterDomain", &register("piped"), "");
    both.extend(swf_request("DescribeDomain", &json!({"name": "piped"}), ""));
    wire.send(&both).await?;
    let first = wire.response().await?;
    assert_swf_void(&first);
    let second = wire.response().await?;
    let described = assert_swf_ok(&second)?;
    assert_eq!(described["domainInfo"]["name"], "piped");
    assert_eq!(described["domainInfo"]["status"], "REGISTERED");
    assert_ne!(
        first.header("x-amzn-requestid"),
        second.header("x-amzn-requestid")
    );
    // The connection is still usable: a third call on it, sent byte by byte.
    for b in swf_request("DescribeDomain", &json!({"name": "piped"}), "") {
        wire.send(&[b]).await?;
    }
    assert_eq!(
        assert_swf_ok(&wire.response().await?)?["domainInfo"]["name"],
        "piped"
    );
    Ok(())
}

#[tokio::test]
async fn chunked_body_with_trailers() -> Result<()> {
    let swfd = Swfd::start().await?;
    let mut wire = Wire::connect(&swfd).await?;
    let body = register("chunky").to_string();
    let (a, b) = body.as_bytes().split_at(10);
    // Signed over the decoded body (the suite may run with auth on).
    let target = "SimpleWorkflowService.RegisterDomain";
    let signed: String = swf_e2e::sign::Signer::e2e()
        .sign(
            &[
                ("host".into(), "swf".into()),
                ("x-amz-target".into(), target.into()),
            ],
            body.as_bytes(),
        )
        .iter()
        .map(|(n, v)| format!("{n}: {v}\r\n"))
        .collect();
    let mut req = format!(
        "POST / HTTP/1.1\r\nHost: swf\r\nX-Amz-Target: {target}\r\n{signed}\
         Transfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    req.extend(format!("{:x};ext=1\r\n", a.len()).as_bytes());
    req.extend(a);
    req.extend(format!("\r\n{:X}\r\n", b.len()).as_bytes());
    req.extend(b);
    req.extend(b"\r\n0\r\nX-Checksum: none\r\n\r\n");
    // Split in two writes in the middle of a chunk-size line.
    let cut = req.len() - b.len() - 12;
    wire.send(&req[..cut]).await?;
    wire.send(&req[cut..]).await?;
    assert_swf_void(&wire.response().await?);
    wire.send(&swf_request(
        "DescribeDomain",
        &json!({"name": "chunky"}),
        "",
    ))
    .await?;
    assert_eq!(
        assert_swf_ok(&wire.response().await?)?["domainInfo"]["name"],
        "chunky"
    );
    // A malformed chunked body is refused and the connection closed.
    wire.send(
        b"POST / HTTP/1.1\r\nX-Amz-Target: SimpleWorkflowService.ListDomains\r\n\
          Transfer-Encoding: chunked\r\n\r\nzz\r\n",
    )
    .await?;
    assert_eq!(wire.response().await?.status, 400);
    wire.expect_closed().await
}

/// Trailers are header fields (issue 12, item 7): a request line after the last chunk does not end
/// the body as a "trailer"; the request is refused with 400 and the connection closed, and nothing
/// of it is run.
#[tokio::test]
async fn a_request_line_in_the_trailers_is_refused() -> Result<()> {
    let swfd = Swfd::start().await?;
    let body = register("smuggled").to_string();
    let mut wire = Wire::connect(&swfd).await?;
    let mut req = format!(
        "POST / HTTP/1.1\r\nHost: swf\r\nX-Amz-Target: SimpleWorkflowService.RegisterDomain\r\n\
         Transfer-Encoding: chunked\r\n\r\n{:x}\r\n",
        body.len()
    )
    .into_bytes();
    req.extend(body.as_bytes());
    req.extend(b"\r\n0\r\nGET /health HTTP/1.1\r\n\r\n");
    wire.send(&req).await?;
    let resp = wire.response().await?;
    assert_eq!(resp.status, 400, "{resp:?}");
    assert_eq!(resp.header("connection"), Some("close"));
    wire.expect_closed().await?;
    let (status, fault) = swfd
        .raw_call("DescribeDomain", json!({"name": "smuggled"}).to_string())
        .await?;
    assert_eq!(status, 400);
    assert_eq!(
        fault["__type"],
        "com.amazonaws.swf.base.model#UnknownResourceFault"
    );
    Ok(())
}

#[tokio::test]
async fn expect_100_continue() -> Result<()> {
    let swfd = Swfd::start().await?;
    let mut wire = Wire::connect(&swfd).await?;
    let req = swf_request(
        "RegisterDomain",
        &register("cont"),
        "Expect: 100-continue\r\n",
    );
    let head_len = req.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    wire.send(&req[..head_len]).await?;
    // The interim answer comes before any body byte is sent.
    let interim = wire.response().await?;
    assert_eq!(interim.status, 100);
    wire.send(&req[head_len..]).await?;
    assert_swf_void(&wire.response().await?);

    // Too large is refused at once, without 100 Continue, and the connection closed.
    wire.send(
        b"POST / HTTP/1.1\r\nX-Amz-Target: SimpleWorkflowService.RegisterDomain\r\n\
          Expect: 100-continue\r\nContent-Length: 2000000\r\n\r\n",
    )
    .await?;
    let refused = wire.response().await?;
    assert_eq!(refused.status, 413);
    assert_eq!(refused.json()?["__type"], VALIDATION);
    assert_eq!(refused.header("connection"), Some("close"));
    wire.expect_closed().await
}

#[tokio::test]
async fn connection_close_and_http10() -> Result<()> {
    let swfd = Swfd::start().await?;
    let mut wire = Wire::connect(&swfd).await?;
    wire.send(&swf_request(
        "ListDomains",
        &json!({"registrationStatus": "REGISTERED"}),
        "Connection: close\r\n",
    ))
    .await?;
    let resp = wire.response().await?;
    assert_eq!(assert_swf_ok(&resp)?, json!({"domainInfos": []}));
    assert_eq!(resp.header("connection"), Some("close"));
    wire.expect_closed().await?;

    // HTTP/1.0 closes by default...
    let mut wire = Wire::connect(&swfd).await?;
    wire.send(b"GET /health HTTP/1.0\r\n\r\n").await?;
    let resp = wire.response().await?;
    assert_eq!((resp.status, &resp.body[..]), (200, &b"ok\n"[..]));
    wire.expect_closed().await?;
    // ...and keeps the connection when asked to.
    let mut wire = Wire::connect(&swfd).await?;
    let ask = b"GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    wire.send(ask).await?;
    let resp = wire.response().await?;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("connection"), Some("keep-alive"));
    wire.send(ask).await?;
    assert_eq!(wire.response().await?.status, 200);
    Ok(())
}

#[tokio::test]
async fn body_over_the_limit_is_413_json() -> Result<()> {
    let swfd = Swfd::start().await?;
    // Declared too large: refused before the body is read.
    let mut wire = Wire::connect(&swfd).await?;
    wire.send(
        b"POST / HTTP/1.1\r\nX-Amz-Target: SimpleWorkflowService.RegisterDomain\r\n\
          Content-Length: 1048577\r\n\r\n{",
    )
    .await?;
    let resp = wire.response().await?;
    assert_eq!(resp.status, 413);
    assert_eq!(
        resp.header("content-type"),
        Some("application/x-amz-json-1.0")
    );
    let err = resp.json()?;
    assert_eq!(err["__type"], VALIDATION);
    assert!(
        err["message"].as_str().unwrap_or("").contains("1048576"),
        "{err}"
    );
    wire.expect_closed().await?;

    // Chunked and growing past the limit while it is sent.
    let mut wire = Wire::connect(&swfd).await?;
    wire.send(
        b"POST / HTTP/1.1\r\nX-Amz-Target: SimpleWorkflowService.RegisterDomain\r\n\
          Transfer-Encoding: chunked\r\n\r\n",
    )
    .await?;
    let chunk = format!("10000\r\n{}\r\n", "x".repeat(0x10000));
    // 20 chunks of 64 KiB: past the limit after 16. The server reads (and drops) what follows its
    // answer before closing, so every write goes through.
    for _ in 0..20 {
        wire.send(chunk.as_bytes()).await?;
    }
    let resp = wire.response().await?;
    assert_eq!(resp.status, 413);
    assert_eq!(resp.json()?["__type"], VALIDATION);
    Ok(())
}

#[tokio::test]
async fn refused_heads_and_framing() -> Result<()> {
    let swfd = Swfd::start().await?;
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (b"GARBAGE\x01\x02 / HTTP/1.1\r\n\r\n".to_vec(), 400),
        (b"GET / HTTP/1.1\r\nNo Colon\r\n\r\n".to_vec(), 400),
        (
            format!(
                "GET /health HTTP/1.1\r\nX-Big: {}\r\n\r\n",
                "a".repeat(70 * 1024)
            )
            .into_bytes(),
            431,
        ),
        (
            b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                .to_vec(),
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd".to_vec(),
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nContent-Length: 3x\r\n\r\nabc".to_vec(),
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n".to_vec(),
            501,
        ),
    ];
    for (request, status) in cases {
        let mut wire = Wire::connect(&swfd).await?;
        wire.send(&request).await?;
        let resp = wire.response().await?;
        assert_eq!(
            resp.status,
            status,
            "{:?}",
            String::from_utf8_lossy(&request[..request.len().min(80)])
        );
        assert_eq!(resp.header("connection"), Some("close"));
        wire.expect_closed().await?;
    }
    // The server is still fine.
    let (status, _) = swfd
        .raw_call("ListDomains", r#"{"registrationStatus":"REGISTERED"}"#)
        .await?;
    assert_eq!(status, 200);
    Ok(())
}

#[tokio::test]
async fn other_routes_go_to_the_router() -> Result<()> {
    // Unsigned requests (a POST without a target is an unknown operation before anything is
    // verified only without auth): auth off.
    let swfd = Swfd::start_without_auth(&[]).await?;
    let mut wire = Wire::connect(&swfd).await?;
    wire.send(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /no/such/path HTTP/1.1\r\n\r\nGET /cluster/status HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n")
        .await?;
    let health = wire.response().await?;
    assert_eq!((health.status, &health.body[..]), (200, &b"ok\n"[..]));
    assert!(health.header("date").is_some());
    assert_eq!(wire.response().await?.status, 404);
    // The admin routes are not on the SWF port any more (issue 16): an unknown path, as any other.
    assert_eq!(wire.response().await?.status, 404);
    // `/` only takes POST.
    assert_eq!(wire.response().await?.status, 405);
    // An SWF call without a target is an unknown operation, as before.
    wire.send(b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
        .await?;
    let resp = wire.response().await?;
    assert_eq!(resp.status, 400);
    assert_eq!(
        resp.json()?["__type"],
        "com.amazon.coral.service#UnknownOperationException"
    );
    Ok(())
}

#[tokio::test]
async fn stop_answers_a_held_poll_with_close() -> Result<()> {
    let mut swfd =
        Swfd::start_with(&["--long-poll-secs", "60", "--max-pollers-per-task-list", "1"]).await?;
    let mut idle = Wire::connect(&swfd).await?;
    idle.send(&swf_request("RegisterDomain", &register("stop"), ""))
        .await?;
    assert_swf_void(&idle.response().await?);
    // Two polls on a list that allows one poller: the second to arrive is refused at once, which
    // shows the first is held.
    let poll = swf_request(
        "PollForActivityTask",
        &json!({"domain": "stop", "taskList": {"name": "nothing-here"}}),
        "",
    );
    let mut a = Wire::connect(&swfd).await?;
    let mut b = Wire::connect(&swfd).await?;
    a.send(&poll).await?;
    b.send(&poll).await?;
    let (refused, mut held) = tokio::select! {
        r = a.response() => (r?, b),
        r = b.response() => (r?, a),
    };
    assert_eq!(refused.status, 400, "{refused:?}");
    assert_eq!(
        refused.json()?["__type"],
        "com.amazonaws.swf.base.model#LimitExceededFault"
    );
    // SIGTERM: the held poll is answered (no task) with `connection: close`, idle connections close.
    let status = swfd.terminate(WAIT).await?;
    assert!(status.success(), "{status}");
    let resp = held.response().await?;
    assert_eq!(assert_swf_ok(&resp)?["taskToken"], Value::Null);
    assert_eq!(resp.header("connection"), Some("close"));
    held.expect_closed().await?;
    idle.expect_closed().await
}
