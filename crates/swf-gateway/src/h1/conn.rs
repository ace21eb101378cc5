//! One client connection, served by one task: read a request head, read its body, run the handler,
//! write the response in one vectored write, repeat (keep-alive; pipelined requests are answered in
//! order because they are read one after the other).
//!
//! Memory is the point of this module: 10,000 held long polls are 10,000 connections waiting on their
//! handler. While a request is in the handler, the connection holds no read buffer (it is released
//! unless pipelined bytes are pending, and then shrunk to them) and no write buffer (the response head
//! is built after the handler returns), and the handler's future is boxed so the connection's own
//! future stays small. Between requests it waits for readability without a buffer.
//!
//! The stream is anything that reads and writes ([`Stream`]): a TCP socket, or TLS over one. Reads
//! go through `poll_read` into a buffer allocated for the read and released again when nothing
//! arrived, so an idle connection holds no buffer of its own (TLS keeps its own record buffers).
//!
//! Against hostile or broken clients: a request must arrive within its deadline once begun
//! ([`Handler::request_timeout`]), a connection idle between requests is closed after
//! [`Handler::idle_timeout`], every response write must finish within [`Handler::write_timeout`], and
//! a body is read as it arrives (its buffer grows with what came, never allocated up front from
//! `Content-Length`), so a stalled upload costs what it sent, not what it announced.
//!
//! A held request is still a connection: while an SWF call is in its handler, the socket is watched
//! for the client closing or resetting it (`held`). If it does, the handler's future is dropped at
//! once, which withdraws a long poll (its gRPC call to the leader is cancelled, and the leader drops
//! the poll and its place in the task list), and the connection ends without an answer. Bytes the
//! client sends meanwhile (pipelined requests) are not a close: they are kept for later, and past
//! [`PIPELINE_HOLD`] of them the watch stops.

use std::future::{poll_fn, Future};
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use axum::http;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio::time::{timeout, timeout_at, Instant};

use super::chunked::{ChunkError, ChunkedDecoder};
use super::parse::{parse_head, Framing, Head, Kind, Refusal};
use super::response::{self, Persist};
use crate::http::{SwfBody, SwfReply, MAX_BODY};

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Largest body of a non-SWF request (axum's default body limit).
pub const MAX_OTHER_BODY: usize = 2 * 1024 * 1024;
/// Bytes read at a time while looking for a request head.
const READ_CHUNK: usize = 4096;
/// How long a connection closed after a refused request keeps reading (and discarding) what the
/// client still sends, so that the answer is not lost to a reset.
const LINGER: Duration = Duration::from_secs(2);
/// At most this much is discarded while lingering.
const LINGER_BYTES: usize = 4 * 1024 * 1024;
/// While a request is in its handler, pipelined bytes are read (and kept) up to this much so that a
/// close behind them is seen; past it the connection is no longer watched until the handler is done.
const PIPELINE_HOLD: usize = 64 * 1024;
/// How long a request may take to arrive once its first byte has (head and body): a client that stalls
/// mid-request gets 408 and the connection is closed, so stalled clients cannot pile up connections.
/// Idle keep-alive connections between requests and requests waiting in their handler (long polls)
/// have no such limit.
pub const REQUEST_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a keep-alive connection may sit idle between requests before it is closed (longer than a
/// long poll, so a client that polls in a loop never meets a closed connection).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// How long writing one response may take before the connection is dropped (a client that does not
/// read its answers).
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// A body is read in steps of at most this much (and of at most what already arrived), so the buffer
/// grows with the bytes received.
const BODY_STEP: usize = 64 * 1024;

/// What a connection runs over: a TCP socket, or a TLS stream over one.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Stream for T {}

/// A response from the general (non-SWF) handler.
pub struct Routed {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: axum::body::Bytes,
    /// A body produced while it is sent (after `body`), in chunked framing; an `Err` item drops the
    /// connection without the last chunk, so the client sees a truncated response.
    pub stream: Option<BodyStream>,
}

/// The chunks of a streamed response body.
pub type BodyStream = tokio::sync::mpsc::Receiver<Result<Vec<u8>, String>>;

impl Routed {
    /// A response with a whole body.
    pub fn whole(status: u16, headers: http::HeaderMap, body: axum::body::Bytes) -> Routed {
        Routed {
            status,
            headers,
            body,
            stream: None,
        }
    }
}

/// What serves the requests of a connection.
pub trait Handler: Send + Sync + 'static {
    /// An SWF call (`POST /`).
    fn swf(&self, target: String, body: SwfBody) -> BoxFuture<'_, SwfReply>;
    /// An SWF call with its request head as received (what SigV4 signs); without auth, `swf`.
    fn swf_signed(&self, target: String, head: Vec<u8>, body: SwfBody) -> BoxFuture<'_, SwfReply> {
        drop(head);
        self.swf(target, body)
    }
    /// Any other request.
    fn other(&self, request: http::Request<axum::body::Body>) -> BoxFuture<'_, Routed>;
    /// The `listener` label of this handler's open-connections gauge.
    fn listener(&self) -> &'static str {
        "swf"
    }
    /// How long a request may take to arrive once it has begun.
    fn request_timeout(&self) -> Duration {
        REQUEST_READ_TIMEOUT
    }
    /// How long a connection may be idle between requests before it is closed.
    fn idle_timeout(&self) -> Duration {
        IDLE_TIMEOUT
    }
    /// How long writing one response may take.
    fn write_timeout(&self) -> Duration {
        WRITE_TIMEOUT
    }
}

/// The read buffer: the pending (unparsed) bytes are `data[start..]`. It owns no allocation while
/// released.
#[derive(Default)]
struct ReadBuf {
    data: Vec<u8>,
    start: usize,
}

impl ReadBuf {
    fn pending(&self) -> &[u8] {
        &self.data[self.start..]
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start >= self.data.len() {
            self.data.clear();
            self.start = 0;
        }
    }

    /// Lets go of the allocation, or shrinks it to the pending bytes (pipelined requests).
    fn release(&mut self) {
        if self.pending().is_empty() {
            self.data = Vec::new();
            self.start = 0;
        } else {
            self.data.drain(..self.start);
            self.start = 0;
            self.data.shrink_to_fit();
        }
    }

    /// Reads what the stream has: `Ready(Ok(0))` at its end, `Pending` (with the waker registered)
    /// if nothing arrived, and then no buffer is kept.
    fn poll_fill<S: Stream>(
        &mut self,
        stream: &mut S,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<io::Result<usize>> {
        if self.start > 0 {
            self.data.drain(..self.start);
            self.start = 0;
        }
        let old = self.data.len();
        let room = READ_CHUNK.max(old);
        self.data.resize(old + room, 0);
        let mut read = tokio::io::ReadBuf::new(&mut self.data[old..]);
        let polled = Pin::new(stream).poll_read(cx, &mut read);
        let n = read.filled().len();
        self.data.truncate(old + n);
        if self.data.is_empty() {
            // Nothing arrived: keep no buffer while waiting.
            self.data = Vec::new();
        }
        match polled {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(n)),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Waits for bytes (`Ok(0)` at the end of the stream). Cancel-safe: what a poll read is kept.
    async fn fill<S: Stream>(&mut self, stream: &mut S) -> io::Result<usize> {
        poll_fn(|cx| self.poll_fill(stream, cx)).await
    }
}

/// How a connection's exchange loop ended.
enum End {
    /// The peer closed, or the server stopped between requests: just drop the socket.
    Quiet,
    /// The server answered with `connection: close`; `linger` if request bytes may be unread.
    Close { linger: bool },
}

/// The outcome of reading a request body.
enum BodyRead {
    Full(Vec<u8>),
    TooLarge,
    /// A malformed chunked body, or one that did not arrive before the request's deadline.
    Refused(Refusal),
}

struct Conn<S: Stream, H: Handler> {
    stream: S,
    buf: ReadBuf,
    handler: Arc<H>,
    stop: watch::Receiver<bool>,
    /// When the request being read must have arrived (set by its first bytes).
    deadline: Option<Instant>,
}

/// The answer to a request that did not arrive in time.
const TIMED_OUT: Refusal = Refusal {
    status: 408,
    reason: "request not received in time",
};
/// The answer to a malformed chunked body.
const MALFORMED_BODY: Refusal = Refusal {
    status: 400,
    reason: "malformed chunked body",
};
/// The answer to a non-SWF request body over its limit.
const OTHER_TOO_LARGE: Refusal = Refusal {
    status: 413,
    reason: "length limit exceeded",
};

/// Serves one connection until the client closes it, a response closes it, or `stop` turns true
/// while it is idle between requests.
pub async fn serve_conn<S: Stream, H: Handler>(
    stream: S,
    handler: Arc<H>,
    stop: watch::Receiver<bool>,
) {
    let mut conn = Conn {
        stream,
        buf: ReadBuf::default(),
        handler,
        stop,
        deadline: None,
    };
    match conn.run().await {
        Ok(End::Close { linger }) => {
            let linger = linger || !conn.buf.pending().is_empty();
            // Dropped before lingering: it may be large.
            conn.buf = ReadBuf::default();
            let write_timeout = conn.handler.write_timeout();
            let _ = timeout(write_timeout, conn.stream.shutdown()).await;
            if linger {
                Box::pin(drain(&mut conn.stream)).await;
            }
        }
        Ok(End::Quiet) | Err(_) => {}
    }
}

/// Reads and discards what the client still sends, for a while, before the socket is closed.
async fn drain<S: Stream>(stream: &mut S) {
    let _ = tokio::time::timeout(LINGER, async {
        let mut scratch = vec![0u8; 8192];
        let mut total = 0;
        while total < LINGER_BYTES {
            match stream.read(&mut scratch).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    })
    .await;
}

impl<S: Stream, H: Handler> Conn<S, H> {
    async fn run(&mut self) -> io::Result<End> {
        loop {
            let head = match self.next_head().await? {
                Some(Ok(head)) => head,
                Some(Err(refusal)) => return self.refuse(refusal).await,
                None => return Ok(End::Quiet),
            };
            let Head {
                http10,
                keep_alive,
                expect_continue,
                framing,
                kind,
                ..
            } = head;
            let persist_ok = match kind {
                Kind::Swf { target, head } => {
                    let body = match self
                        .read_body_in_time(framing, expect_continue, MAX_BODY)
                        .await?
                    {
                        BodyRead::Full(b) => SwfBody::Bytes(b),
                        BodyRead::TooLarge => SwfBody::TooLarge,
                        BodyRead::Refused(refusal) => return self.refuse(refusal).await,
                    };
                    let complete = matches!(body, SwfBody::Bytes(_));
                    self.buf.release();
                    let handler = self.handler.swf_signed(target, head, body);
                    let Some(reply) = held(&mut self.stream, &mut self.buf, handler).await else {
                        // The client is gone: its call was dropped (a long poll withdrawn).
                        return Ok(End::Quiet);
                    };
                    let persist = self.persist(keep_alive && complete, http10);
                    let head = response::head(
                        reply.code,
                        &[
                            (b"content-type", crate::http::CONTENT_TYPE.as_bytes()),
                            (b"x-amzn-RequestId", reply.request_id.as_bytes()),
                        ],
                        reply.body.len(),
                        persist,
                    );
                    drop(reply.request_id);
                    self.write(&head, &reply.body).await?;
                    (persist != Persist::Close, complete)
                }
                Kind::Other(parts) => {
                    let body = match self
                        .read_body_in_time(framing, expect_continue, MAX_OTHER_BODY)
                        .await?
                    {
                        BodyRead::Full(b) => b,
                        BodyRead::TooLarge => return self.refuse(OTHER_TOO_LARGE).await,
                        BodyRead::Refused(refusal) => return self.refuse(refusal).await,
                    };
                    self.buf.release();
                    let is_head = parts.method == http::Method::HEAD;
                    let request = http::Request::from_parts(*parts, axum::body::Body::from(body));
                    let routed = self.handler.other(request).await;
                    let persist = self.persist(keep_alive, http10);
                    self.write_routed(routed, is_head, persist).await?;
                    (persist != Persist::Close, true)
                }
            };
            match persist_ok {
                (true, _) => continue,
                (false, complete) => return Ok(End::Close { linger: !complete }),
            }
        }
    }

    /// Whether the connection stays open after this response.
    fn persist(&self, keep_alive: bool, http10: bool) -> Persist {
        if !keep_alive || *self.stop.borrow() {
            Persist::Close
        } else if http10 {
            Persist::KeepAlive10
        } else {
            Persist::KeepAlive
        }
    }

    /// The next request head; `None` when the client closed, or the server is stopping and no request
    /// has begun.
    async fn next_head(&mut self) -> io::Result<Option<Result<Head, Refusal>>> {
        loop {
            if !self.buf.pending().is_empty() {
                match parse_head(self.buf.pending()) {
                    Ok(Some(head)) => {
                        self.buf.consume(head.len);
                        return Ok(Some(Ok(head)));
                    }
                    Ok(None) => {
                        // A request has begun: the rest of it must arrive in time.
                        let timeout = self.handler.request_timeout();
                        let deadline = *self
                            .deadline
                            .get_or_insert_with(|| Instant::now() + timeout);
                        // Boxed, like the idle wait below: a timer in the connection's own future
                        // would enlarge every held poll.
                        let read = Box::pin(timeout_at(deadline, self.buf.fill(&mut self.stream)));
                        match read.await {
                            Ok(Ok(0)) => return Ok(None),
                            Ok(read) => read?,
                            Err(_) => return Ok(Some(Err(TIMED_OUT))),
                        };
                    }
                    Err(refusal) => return Ok(Some(Err(refusal))),
                }
            } else {
                // Idle between requests: no buffer, and a stop closes the connection.
                if *self.stop.borrow() {
                    return Ok(None);
                }
                self.buf.release();
                let idle = self.handler.idle_timeout();
                let read = Box::pin(timeout(idle, self.buf.fill(&mut self.stream)));
                tokio::select! {
                    read = read => match read {
                        Ok(Ok(0)) => return Ok(None),
                        Ok(read) => read?,
                        // Idle for too long: closed quietly (nothing was asked).
                        Err(_) => return Ok(None),
                    },
                    changed = self.stop.changed() => {
                        if changed.is_err() {
                            return Ok(None);
                        }
                        continue;
                    }
                };
            }
        }
    }

    /// Reads the request body before the request's deadline (set by its first bytes, or now).
    async fn read_body_in_time(
        &mut self,
        framing: Framing,
        expect_continue: bool,
        limit: usize,
    ) -> io::Result<BodyRead> {
        let timeout = self.handler.request_timeout();
        let deadline = self
            .deadline
            .take()
            .unwrap_or_else(|| Instant::now() + timeout);
        match timeout_at(deadline, self.read_body(framing, expect_continue, limit)).await {
            Ok(read) => read,
            Err(_) => Ok(BodyRead::Refused(TIMED_OUT)),
        }
    }

    /// Reads the request body (sending `100 Continue` first when the client waits for it).
    async fn read_body(
        &mut self,
        framing: Framing,
        expect_continue: bool,
        limit: usize,
    ) -> io::Result<BodyRead> {
        const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";
        match framing {
            Framing::Length(0) => Ok(BodyRead::Full(Vec::new())),
            Framing::Length(n) => {
                let Some(n) = usize::try_from(n).ok().filter(|&n| n <= limit) else {
                    return Ok(BodyRead::TooLarge);
                };
                if expect_continue && self.buf.pending().is_empty() {
                    self.write(CONTINUE, &[]).await?;
                }
                let have = n.min(self.buf.pending().len());
                let mut body = self.buf.pending()[..have].to_vec();
                self.buf.consume(have);
                if have < n {
                    // The rest goes straight into the body, never past it (pipelined bytes stay
                    // in the stream), in steps no larger than what already came: the buffer grows
                    // with the bytes received, so an announced length costs nothing until it is sent.
                    self.buf.release();
                    while body.len() < n {
                        let step = (n - body.len()).min(body.len().clamp(READ_CHUNK, BODY_STEP));
                        let filled = body.len();
                        body.resize(filled + step, 0);
                        let k = self.stream.read(&mut body[filled..]).await;
                        body.truncate(filled + *k.as_ref().unwrap_or(&0));
                        if k? == 0 {
                            return Err(io::ErrorKind::UnexpectedEof.into());
                        }
                    }
                }
                Ok(BodyRead::Full(body))
            }
            Framing::Chunked => {
                if expect_continue && self.buf.pending().is_empty() {
                    self.write(CONTINUE, &[]).await?;
                }
                let mut decoder = ChunkedDecoder::default();
                let mut body = Vec::new();
                loop {
                    if !self.buf.pending().is_empty() {
                        match decoder.decode(self.buf.pending(), &mut body, limit) {
                            Ok(k) => self.buf.consume(k),
                            Err(ChunkError::TooLarge) => return Ok(BodyRead::TooLarge),
                            Err(ChunkError::Malformed) => {
                                return Ok(BodyRead::Refused(MALFORMED_BODY))
                            }
                        }
                        if decoder.is_done() {
                            return Ok(BodyRead::Full(body));
                        }
                    }
                    if self.buf.fill(&mut self.stream).await? == 0 {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                }
            }
        }
    }

    /// Answers a refused request with a short plain-text reason and `connection: close`; the
    /// connection is then closed (after lingering).
    async fn refuse(&mut self, refusal: Refusal) -> io::Result<End> {
        let body = format!("{}\n", refusal.reason);
        let head = response::head(
            refusal.status,
            &[(b"content-type", b"text/plain; charset=utf-8")],
            body.len(),
            Persist::Close,
        );
        self.write(&head, body.as_bytes()).await?;
        Ok(End::Close { linger: true })
    }

    /// Writes `a` then `b` and flushes, within the write timeout (past it the connection is dropped).
    async fn write(&mut self, a: &[u8], b: &[u8]) -> io::Result<()> {
        let limit = self.handler.write_timeout();
        // Boxed: the timer would otherwise enlarge the connection's future, held polls included.
        match Box::pin(timeout(limit, write_two(&mut self.stream, a, b))).await {
            Ok(done) => done,
            Err(_) => Err(io::ErrorKind::TimedOut.into()),
        }
    }

    /// Writes the router's response, with its own header fields except the framing ones.
    async fn write_routed(
        &mut self,
        routed: Routed,
        is_head: bool,
        persist: Persist,
    ) -> io::Result<()> {
        let mut fields: Vec<(&[u8], &[u8])> = Vec::with_capacity(routed.headers.len());
        let mut head_length = None;
        for (name, value) in &routed.headers {
            if name == http::header::CONTENT_LENGTH {
                head_length = std::str::from_utf8(value.as_bytes())
                    .ok()
                    .and_then(|v| v.parse::<usize>().ok());
                continue;
            }
            if name == http::header::TRANSFER_ENCODING
                || name == http::header::CONNECTION
                || name == http::header::DATE
                || name.as_str() == "keep-alive"
            {
                continue;
            }
            fields.push((name.as_str().as_bytes(), value.as_bytes()));
        }
        if let Some(stream) = routed.stream {
            let head = response::head_chunked(routed.status, &fields, persist);
            let body = if is_head { None } else { Some(routed.body) };
            // Boxed: it is rare, and inline it would enlarge every connection's future.
            return Box::pin(self.write_streamed(head, body, stream)).await;
        }
        let (length, body) = if is_head {
            (head_length.unwrap_or(routed.body.len()), &[][..])
        } else {
            (routed.body.len(), &routed.body[..])
        };
        let head = response::head(routed.status, &fields, length, persist);
        self.write(&head, body).await
    }

    /// Writes a streamed response: the head, then (unless `body` is `None`, a HEAD request) `body` and
    /// every chunk of `stream` in chunked framing, then the last chunk.
    async fn write_streamed(
        &mut self,
        head: Vec<u8>,
        body: Option<axum::body::Bytes>,
        mut stream: BodyStream,
    ) -> io::Result<()> {
        self.write(&head, &[]).await?;
        let Some(body) = body else {
            return Ok(());
        };
        if !body.is_empty() {
            self.write_chunk(&body).await?;
        }
        while let Some(chunk) = stream.recv().await {
            match chunk {
                Ok(c) if c.is_empty() => {}
                Ok(c) => self.write_chunk(&c).await?,
                Err(e) => return Err(io::Error::other(e)),
            }
        }
        self.write(b"0\r\n\r\n", &[]).await
    }

    /// Writes one chunk of a chunked body.
    async fn write_chunk(&mut self, data: &[u8]) -> io::Result<()> {
        let size = format!("{:x}\r\n", data.len());
        self.write(size.as_bytes(), data).await?;
        self.write(b"\r\n", &[]).await
    }
}

/// Runs a request's handler while watching its connection: `None`, with the handler's future dropped,
/// as soon as the client closes (end of stream, as hyper treats it without half-close) or resets the
/// connection. Bytes that arrive meanwhile are read into `buf` and kept (pipelined requests, answered
/// later); past [`PIPELINE_HOLD`] of them the socket is left alone until the handler is done. Only
/// readiness is polled, so no future beyond the handler's is stored.
async fn held<S: Stream, T>(
    stream: &mut S,
    buf: &mut ReadBuf,
    mut handler: BoxFuture<'_, T>,
) -> Option<T> {
    let mut watching = true;
    poll_fn(|cx| {
        if let Poll::Ready(out) = handler.as_mut().poll(cx) {
            return Poll::Ready(Some(out));
        }
        while watching {
            match buf.poll_fill(stream, cx) {
                Poll::Pending => break,
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => return Poll::Ready(None),
                Poll::Ready(Ok(_)) => watching = buf.pending().len() < PIPELINE_HOLD,
            }
        }
        Poll::Pending
    })
    .await
}

/// Writes `a` then `b` with as few (vectored) writes as the stream allows (one, normally), then
/// flushes (TLS buffers what it could not send yet).
async fn write_two<S: Stream>(stream: &mut S, mut a: &[u8], mut b: &[u8]) -> io::Result<()> {
    while !a.is_empty() || !b.is_empty() {
        let n = if a.is_empty() {
            stream.write(b).await?
        } else if b.is_empty() {
            stream.write(a).await?
        } else {
            stream
                .write_vectored(&[IoSlice::new(a), IoSlice::new(b)])
                .await?
        };
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        let from_a = n.min(a.len());
        a = &a[from_a..];
        b = &b[n - from_a..];
    }
    stream.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpStream;

    struct Echo;

    impl Handler for Echo {
        fn swf(&self, target: String, body: SwfBody) -> BoxFuture<'_, SwfReply> {
            Box::pin(async move {
                SwfReply {
                    code: 200,
                    body: match body {
                        SwfBody::Bytes(b) => b,
                        SwfBody::TooLarge => b"too large".to_vec(),
                    },
                    request_id: target,
                }
            })
        }

        fn other(&self, _: http::Request<axum::body::Body>) -> BoxFuture<'_, Routed> {
            Box::pin(async {
                Routed {
                    status: 404,
                    headers: http::HeaderMap::new(),
                    body: Default::default(),
                    stream: None,
                }
            })
        }
    }

    async fn pair() -> (TcpStream, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (client, server)
    }

    /// A held long poll costs its connection's future plus the boxed handler: keep the former small.
    #[tokio::test]
    async fn connection_future_is_small() {
        let (_client, server) = pair().await;
        let (_tx, rx) = watch::channel(false);
        let conn = serve_conn(server, Arc::new(Echo), rx);
        let size = std::mem::size_of_val(&conn);
        assert!(size <= 1024, "connection future is {size} bytes");
    }

    #[tokio::test]
    async fn pipelined_requests_in_order_then_stop() {
        let (mut client, server) = pair().await;
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(serve_conn(server, Arc::new(Echo), rx));
        client
            .write_all(
                b"POST / HTTP/1.1\r\nX-Amz-Target: one\r\nContent-Length: 1\r\n\r\nA\
                  POST / HTTP/1.1\r\nX-Amz-Target: two\r\nTransfer-Encoding: chunked\r\n\r\n\
                  1\r\nB\r\n0\r\n\r\n",
            )
            .await
            .unwrap();
        let mut got = Vec::new();
        while !String::from_utf8_lossy(&got).contains("\r\n\r\nB") {
            let mut chunk = [0u8; 1024];
            let n = client.read(&mut chunk).await.unwrap();
            assert!(n > 0, "closed early");
            got.extend_from_slice(&chunk[..n]);
        }
        let text = String::from_utf8(got).unwrap();
        let one = text.find("x-amzn-RequestId: one").unwrap();
        let two = text.find("x-amzn-RequestId: two").unwrap();
        assert!(one < two, "{text}");
        assert!(text.contains("\r\n\r\nA"));
        // Idle between requests: a stop closes the connection.
        tx.send(true).unwrap();
        task.await.unwrap();
        let mut rest = Vec::new();
        client.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
    }

    /// `Echo` with a short request timeout.
    struct Impatient;

    impl Handler for Impatient {
        fn swf(&self, target: String, body: SwfBody) -> BoxFuture<'_, SwfReply> {
            Echo.swf(target, body)
        }

        fn other(&self, request: http::Request<axum::body::Body>) -> BoxFuture<'_, Routed> {
            Echo.other(request)
        }

        fn request_timeout(&self) -> Duration {
            Duration::from_secs(5)
        }
    }

    async fn read_all(client: &mut TcpStream) -> String {
        let mut answer = Vec::new();
        let _ = client.read_to_end(&mut answer).await;
        String::from_utf8_lossy(&answer).into_owned()
    }

    /// A client that stalls mid-head or mid-body gets 408 and is disconnected once the request's time is
    /// up; an idle keep-alive connection is never timed out. (Paused clock: the runtime jumps to the
    /// next timer whenever every task waits.)
    #[tokio::test(start_paused = true)]
    async fn stalled_requests_time_out_and_idle_connections_do_not() {
        for partial in [
            &b"POST / HTTP/1.1\r\nX-Amz-Tar"[..],
            &b"POST / HTTP/1.1\r\nX-Amz-Target: t\r\nContent-Length: 10\r\n\r\nabc"[..],
            &b"POST / HTTP/1.1\r\nX-Amz-Target: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"[..],
        ] {
            let (mut client, server) = pair().await;
            let (_tx, rx) = watch::channel(false);
            let task = tokio::spawn(serve_conn(server, Arc::new(Impatient), rx));
            let started = Instant::now();
            client.write_all(partial).await.unwrap();
            let answer = read_all(&mut client).await;
            assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
            assert!(started.elapsed() >= Duration::from_secs(5));
            task.await.unwrap();
        }

        // Idle for far longer than the timeout, then a request: served.
        let (mut client, server) = pair().await;
        let (_tx, rx) = watch::channel(false);
        let task = tokio::spawn(serve_conn(server, Arc::new(Impatient), rx));
        tokio::time::sleep(Duration::from_secs(60)).await;
        client
            .write_all(b"POST / HTTP/1.1\r\nX-Amz-Target: late\r\nContent-Length: 1\r\nConnection: close\r\n\r\nZ")
            .await
            .unwrap();
        let answer = read_all(&mut client).await;
        assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
        assert!(answer.ends_with("\r\n\r\nZ"), "{answer}");
        task.await.unwrap();
    }

    /// An SWF handler that holds each call (a long poll) until released, and counts the calls dropped
    /// before they finished.
    struct Hold {
        release: watch::Receiver<bool>,
        dropped: Arc<std::sync::atomic::AtomicUsize>,
        /// Told when a call reaches the handler.
        entered: tokio::sync::mpsc::UnboundedSender<()>,
    }

    /// Counts a drop unless disarmed.
    struct DropCount(Option<Arc<std::sync::atomic::AtomicUsize>>);

    impl DropCount {
        fn disarm(&mut self) {
            self.0 = None;
        }
    }

    impl Drop for DropCount {
        fn drop(&mut self) {
            if let Some(c) = self.0.take() {
                c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
    }

    impl Handler for Hold {
        fn swf(&self, target: String, body: SwfBody) -> BoxFuture<'_, SwfReply> {
            let mut count = DropCount(Some(self.dropped.clone()));
            let mut release = self.release.clone();
            let _ = self.entered.send(());
            Box::pin(async move {
                let _ = release.wait_for(|r| *r).await;
                count.disarm();
                Echo.swf(target, body).await
            })
        }

        fn other(&self, request: http::Request<axum::body::Body>) -> BoxFuture<'_, Routed> {
            Echo.other(request)
        }
    }

    struct Held {
        client: TcpStream,
        task: tokio::task::JoinHandle<()>,
        release: watch::Sender<bool>,
        dropped: Arc<std::sync::atomic::AtomicUsize>,
        _stop: watch::Sender<bool>,
    }

    /// A connection served by `Hold`, with `bytes` sent on it and the first call in its handler.
    async fn held_connection(bytes: &[u8]) -> Held {
        let (mut client, server) = pair().await;
        let (release, rx) = watch::channel(false);
        let dropped = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (entered, mut entered_rx) = tokio::sync::mpsc::unbounded_channel();
        let handler = Hold {
            release: rx,
            dropped: dropped.clone(),
            entered,
        };
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(serve_conn(server, Arc::new(handler), stop_rx));
        client.write_all(bytes).await.unwrap();
        tokio::time::timeout(Duration::from_secs(10), entered_rx.recv())
            .await
            .expect("the call reaches its handler");
        Held {
            client,
            task,
            release,
            dropped,
            _stop: stop,
        }
    }

    const HELD_CALL: &[u8] = b"POST / HTTP/1.1\r\nX-Amz-Target: poll\r\nContent-Length: 1\r\n\r\nP";

    /// A held call whose client closes or resets the connection is dropped at once, unanswered (issue
    /// 12, item 2: it used to wait out its handler).
    #[tokio::test]
    async fn a_held_call_is_dropped_when_its_client_goes() {
        for reset in [false, true] {
            let held = held_connection(HELD_CALL).await;
            if reset {
                // Linger 0: the close sends a reset (and does not block).
                #[allow(deprecated)]
                held.client.set_linger(Some(Duration::ZERO)).unwrap();
            }
            drop(held.client);
            // The connection task ends by itself although the handler was never released.
            tokio::time::timeout(Duration::from_secs(10), held.task)
                .await
                .expect("the connection ends when its client goes")
                .unwrap();
            assert_eq!(held.dropped.load(std::sync::atomic::Ordering::SeqCst), 1);
            drop(held.release);
        }
    }

    /// Bytes sent while a call is held are pipelined requests, not a close: they are answered in order
    /// once the held call is; and a close behind them is still seen.
    #[tokio::test]
    async fn pipelined_bytes_behind_a_held_call_are_kept() {
        let mut held = held_connection(HELD_CALL).await;
        held.client
            .write_all(b"POST / HTTP/1.1\r\nX-Amz-Target: next\r\nContent-Length: 1\r\n\r\nN")
            .await
            .unwrap();
        // Nothing is answered while the first call is held.
        let mut byte = [0u8; 1];
        assert!(
            tokio::time::timeout(Duration::from_millis(200), held.client.read(&mut byte))
                .await
                .is_err(),
            "answered while held"
        );
        held.release.send(true).unwrap();
        let mut got = Vec::new();
        while !String::from_utf8_lossy(&got).contains("\r\n\r\nN") {
            let mut chunk = [0u8; 1024];
            let n = held.client.read(&mut chunk).await.unwrap();
            assert!(n > 0, "closed early");
            got.extend_from_slice(&chunk[..n]);
        }
        let text = String::from_utf8(got).unwrap();
        let first = text.find("x-amzn-RequestId: poll").unwrap();
        let second = text.find("x-amzn-RequestId: next").unwrap();
        assert!(first < second, "{text}");
        assert_eq!(held.dropped.load(std::sync::atomic::Ordering::SeqCst), 0);

        // Held again, with pipelined bytes pending, then the client goes.
        let held = held_connection(HELD_CALL).await;
        let mut client = held.client;
        client.write_all(b"POST / HTTP/1.1\r\n").await.unwrap();
        drop(client);
        tokio::time::timeout(Duration::from_secs(10), held.task)
            .await
            .expect("the connection ends when its client goes")
            .unwrap();
        assert_eq!(held.dropped.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    /// Garbage after plausible heads, fed to a real connection: any answer or a close, never a panic.
    #[tokio::test]
    async fn garbage_never_panics_the_connection() {
        let prefixes: [&[u8]; 4] = [
            b"",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n",
            b"GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        ];
        let mut x: u32 = 99;
        for round in 0..200 {
            let (mut client, server) = pair().await;
            let (_tx, rx) = watch::channel(false);
            let task = tokio::spawn(serve_conn(server, Arc::new(Echo), rx));
            let mut bytes = prefixes[round % prefixes.len()].to_vec();
            const ALPHABET: &[u8] = b"0123456789abcdefPOST / HTTP/1.1\r\n:;, \x00\xff";
            bytes.extend((0..round * 3).map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                ALPHABET[(x >> 16) as usize % ALPHABET.len()]
            }));
            let _ = client.write_all(&bytes).await;
            let _ = client.shutdown().await;
            let mut answer = Vec::new();
            let _ = client.read_to_end(&mut answer).await;
            task.await.expect("the connection task must not panic");
        }
    }

    /// Answers every other request with a streamed body: two chunks, then (for `/fail`) a failure.
    struct Streams;

    impl Handler for Streams {
        fn swf(&self, _: String, _: SwfBody) -> BoxFuture<'_, SwfReply> {
            Box::pin(async {
                SwfReply {
                    code: 404,
                    body: Vec::new(),
                    request_id: String::new(),
                }
            })
        }

        fn other(&self, request: http::Request<axum::body::Body>) -> BoxFuture<'_, Routed> {
            let fail = request.uri().path() == "/fail";
            Box::pin(async move {
                let (tx, rx) = tokio::sync::mpsc::channel(4);
                tx.send(Ok(b"hello ".to_vec())).await.unwrap();
                tx.send(Ok(b"world".to_vec())).await.unwrap();
                if fail {
                    tx.send(Err("broke".into())).await.unwrap();
                }
                Routed {
                    status: 200,
                    headers: http::HeaderMap::new(),
                    body: Default::default(),
                    stream: Some(rx),
                }
            })
        }
    }

    /// A streamed body goes out chunked and ends with the last chunk; a failed stream drops the
    /// connection before it, so the client sees a truncated body.
    #[tokio::test]
    async fn streamed_bodies_are_chunked_and_a_failure_truncates_them() {
        for (path, whole) in [("/ok", true), ("/fail", false)] {
            let (mut client, server) = pair().await;
            let (_tx, rx) = watch::channel(false);
            let task = tokio::spawn(serve_conn(server, Arc::new(Streams), rx));
            let request = format!("GET {path} HTTP/1.1\r\nConnection: close\r\n\r\n");
            client.write_all(request.as_bytes()).await.unwrap();
            let mut answer = Vec::new();
            let _ = client.read_to_end(&mut answer).await;
            let text = String::from_utf8_lossy(&answer);
            assert!(text.contains("transfer-encoding: chunked\r\n"), "{text}");
            assert!(!text.contains("content-length"), "{text}");
            assert!(
                text.contains("\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n"),
                "{text}"
            );
            assert_eq!(text.ends_with("0\r\n\r\n"), whole, "{path}: {text}");
            let _ = task.await;
        }
    }
}
