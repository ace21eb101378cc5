//! A whole connection of the gateway's HTTP/1.1 server (`h1/conn.rs`, with its parser, chunked
//! decoder and response writer, compiled in from their source files) over an in-memory stream: the
//! fuzzer's bytes arrive as the client's, in pieces whose sizes the first byte chooses, then the
//! client closes its side. Time is tokio's paused clock, so the request, idle and write timeouts fire
//! at once instead of after seconds. Besides "no panic": the connection ends (no hang), and what the
//! server wrote is a sequence of HTTP/1.1 responses, each with a status line and a head end.
#![no_main]

use std::sync::Arc;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `crate::h1`, as in the gateway.
#[path = "h1_conn/h1.rs"]
mod h1;

/// `crate::http`: the types the connection loop hands to its handler.
#[allow(dead_code)]
mod http {
    /// The gateway's request size limit.
    pub const MAX_BODY: usize = 1024 * 1024;
    /// The content type of SWF answers.
    pub const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

    pub enum SwfBody {
        Bytes(Vec<u8>),
        TooLarge,
    }

    pub struct SwfReply {
        pub code: u16,
        pub body: Vec<u8>,
        pub request_id: String,
    }
}

use h1::conn::{serve_conn, BoxFuture, Handler, Routed};
use http::{SwfBody, SwfReply};

/// Answers every SWF call with its body length, every other request with 200 "ok".
struct Echo;

impl Handler for Echo {
    fn swf(&self, target: String, body: SwfBody) -> BoxFuture<'_, SwfReply> {
        Box::pin(async move {
            let (code, len) = match body {
                SwfBody::Bytes(b) => (200, b.len()),
                SwfBody::TooLarge => (413, 0),
            };
            SwfReply {
                code,
                body: format!("{{\"target\":{:?},\"len\":{len}}}", target).into_bytes(),
                request_id: "fuzz".into(),
            }
        })
    }

    fn other(&self, _request: axum::http::Request<axum::body::Body>) -> BoxFuture<'_, Routed> {
        Box::pin(async {
            Routed {
                status: 200,
                headers: axum::http::HeaderMap::new(),
                body: axum::body::Bytes::from_static(b"ok\n"),
                stream: None,
            }
        })
    }
}

/// Checks that `out` is a sequence of HTTP/1.1 responses (heads at least; bodies are skipped by
/// their Content-Length).
fn check_responses(out: &[u8]) {
    let mut rest = out;
    while !rest.is_empty() {
        assert!(
            rest.starts_with(b"HTTP/1.1 "),
            "not a status line: {:?}",
            String::from_utf8_lossy(&rest[..rest.len().min(64)])
        );
        let end = rest
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a response head without its end");
        let head = std::str::from_utf8(&rest[..end]).expect("a response head is text");
        let status: u16 = head[9..12].parse().expect("a three-digit status");
        assert!((100..600).contains(&status));
        let len = head
            .lines()
            .find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0);
        let next = end + 4 + len;
        // A response to HEAD has a Content-Length and no body: what follows starts a response.
        rest = if next <= rest.len()
            && (next == rest.len() || rest[next..].starts_with(b"HTTP/1.1 "))
        {
            &rest[next..]
        } else {
            &rest[end + 4..]
        };
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&piece, input)) = data.split_first() else {
        return;
    };
    let piece = usize::from(piece).max(1) * 8;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime");
    let out = rt.block_on(async move {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let (_stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let conn = tokio::spawn(serve_conn(server, Arc::new(Echo), stop_rx));
        let (mut rd, mut wr) = tokio::io::split(client);
        let input = input.to_vec();
        let writer = tokio::spawn(async move {
            for chunk in input.chunks(piece) {
                if wr.write_all(chunk).await.is_err() {
                    return;
                }
                tokio::task::yield_now().await;
            }
            let _ = wr.shutdown().await;
        });
        let mut out = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(3600), rd.read_to_end(&mut out)).await;
        assert!(read.is_ok(), "the connection did not end");
        let _ = writer.await;
        tokio::time::timeout(Duration::from_secs(3600), conn)
            .await
            .expect("the connection task did not end")
            .expect("the connection task panicked");
        out
    });
    check_responses(&out);
});
