//! TLS on the client endpoint that holds no buffer while a connection is idle: rustls's unbuffered
//! API (`UnbufferedServerConnection`) over the TCP socket, with the buffers kept here and let go of
//! as soon as they are empty.
//!
//! Why: 10,000 idle long polls must fit in 200 MB (issue 16). rustls's buffered `ServerConnection`
//! (what `tokio-rustls` wraps) keeps a 4 KiB read buffer for the life of the connection (its
//! deframer buffer is never shrunk below one read's worth), plus its plaintext and TLS send and
//! receive queues; a connection whose request waits in its handler has no use for any of it. Here
//! the received TLS bytes (`incoming`), decrypted bytes the reader has not taken yet (`plain`) and
//! TLS bytes not yet sent (`outgoing`) are plain `Vec`s, released when emptied, so a held poll costs
//! rustls's connection state (keys, handshake results) and nothing else.
//!
//! [`accept`] runs the handshake (the caller bounds it in time); [`LeanTls`] is then an
//! `AsyncRead + AsyncWrite` stream like `tokio_rustls::server::TlsStream`: reads decrypt what
//! arrived, a write encrypts into `outgoing` and is accepted once the previous one has gone out
//! (so at most one write is buffered), `poll_flush` sends it, and `poll_shutdown` sends
//! `close_notify` first. Records rustls wants to send on its own after the handshake (TLS 1.3
//! session tickets, a key update's answer) go out with the next read or write.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::server::UnbufferedServerConnection;
use rustls::unbuffered::{ConnectionState, EncodeError, EncryptError, UnbufferedStatus};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Bytes read from the socket at a time (more when a record announces more).
const READ_CHUNK: usize = 4096;

/// A server-side TLS stream over TCP that keeps no buffer while idle (see the module doc).
pub struct LeanTls {
    tcp: TcpStream,
    conn: UnbufferedServerConnection,
    /// TLS bytes received and not processed yet.
    incoming: Vec<u8>,
    /// Decrypted bytes not read yet: `plain[plain_at..]`.
    plain: Vec<u8>,
    plain_at: usize,
    /// TLS bytes to send: `outgoing[out_at..]`.
    outgoing: Vec<u8>,
    out_at: usize,
    /// The peer sent `close_notify` (or closed the socket): reads end.
    read_closed: bool,
    /// `close_notify` is queued.
    close_sent: bool,
}

fn tls_error(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

/// What processing the received records came to.
enum Step {
    /// Application data may be written (the handshake is done) and nothing else is pending.
    Ready,
    /// More bytes from the peer are needed.
    NeedInput,
    /// The peer closed its side.
    PeerClosed,
}

impl LeanTls {
    /// Runs rustls on what was received until it needs more input or has nothing more to do:
    /// decrypted data goes to `plain`, records to send to `outgoing`.
    fn process(&mut self) -> io::Result<Step> {
        loop {
            let UnbufferedStatus { discard, state } =
                self.conn.process_tls_records(&mut self.incoming);
            let state = state.map_err(tls_error)?;
            let step = match state {
                ConnectionState::ReadTraffic(mut records) => {
                    while let Some(record) = records.next_record() {
                        let record = record.map_err(tls_error)?;
                        if self.plain_at == self.plain.len() {
                            self.plain.clear();
                            self.plain_at = 0;
                        }
                        self.plain.extend_from_slice(record.payload);
                    }
                    None
                }
                ConnectionState::EncodeTlsData(mut encode) => {
                    let at = self.outgoing.len();
                    let mut need = 1024;
                    loop {
                        self.outgoing.resize(at + need, 0);
                        match encode.encode(&mut self.outgoing[at..]) {
                            Ok(n) => {
                                self.outgoing.truncate(at + n);
                                break;
                            }
                            Err(EncodeError::InsufficientSize(s)) => need = s.required_size,
                            Err(e) => {
                                self.outgoing.truncate(at);
                                return Err(tls_error(e));
                            }
                        }
                    }
                    None
                }
                // Queued in `outgoing`, which goes out before anything else is read or written.
                ConnectionState::TransmitTlsData(transmit) => {
                    transmit.done();
                    None
                }
                ConnectionState::WriteTraffic(_) => Some(Step::Ready),
                ConnectionState::BlockedHandshake => Some(Step::NeedInput),
                ConnectionState::PeerClosed | ConnectionState::Closed => Some(Step::PeerClosed),
                // No early data is accepted (`max_early_data_size` is 0), and any other state is one
                // a later rustls adds: neither can be handled here.
                _ => return Err(tls_error("unexpected TLS connection state")),
            };
            if discard > 0 {
                self.incoming.drain(..discard);
            }
            if let Some(step) = step {
                if self.incoming.is_empty() {
                    self.incoming = Vec::new();
                }
                return Ok(step);
            }
        }
    }

    /// Reads more TLS bytes from the socket into `incoming`; `Ok(0)` at its end.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let old = self.incoming.len();
        self.incoming.resize(old + READ_CHUNK, 0);
        let mut buf = ReadBuf::new(&mut self.incoming[old..]);
        let polled = Pin::new(&mut self.tcp).poll_read(cx, &mut buf);
        let n = buf.filled().len();
        self.incoming.truncate(old + n);
        if self.incoming.is_empty() {
            self.incoming = Vec::new();
        }
        match polled {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(n)),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Sends `outgoing` until it is empty (then releases it).
    fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.out_at < self.outgoing.len() {
            let n = std::task::ready!(
                Pin::new(&mut self.tcp).poll_write(cx, &self.outgoing[self.out_at..])
            )?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.out_at += n;
        }
        self.outgoing = Vec::new();
        self.out_at = 0;
        Poll::Ready(Ok(()))
    }

    /// Drives rustls until application data may be written (`Ready`), sending what it queues and
    /// reading what it needs; `PeerClosed` if the peer closed first.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Step>> {
        loop {
            let step = self.process()?;
            std::task::ready!(self.poll_send(cx))?;
            match step {
                Step::Ready | Step::PeerClosed => return Poll::Ready(Ok(step)),
                Step::NeedInput => {
                    if std::task::ready!(self.poll_fill(cx))? == 0 {
                        return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()));
                    }
                }
            }
        }
    }

    /// Encrypts `data` into `outgoing`.
    fn encrypt(&mut self, data: &[u8], close: bool) -> io::Result<()> {
        let UnbufferedStatus { discard, state } = self.conn.process_tls_records(&mut self.incoming);
        let mut write = match state.map_err(tls_error)? {
            ConnectionState::WriteTraffic(w) => w,
            _ => return Err(tls_error("TLS connection not ready to write")),
        };
        let at = self.outgoing.len();
        // Five bytes of header, the content type and a 16-byte tag per record of at most 16 KiB.
        let mut need = data.len() + (data.len() / 16384 + 1) * 64;
        loop {
            self.outgoing.resize(at + need, 0);
            let result = if close {
                write.queue_close_notify(&mut self.outgoing[at..])
            } else {
                write.encrypt(data, &mut self.outgoing[at..])
            };
            match result {
                Ok(n) => {
                    self.outgoing.truncate(at + n);
                    break;
                }
                Err(EncryptError::InsufficientSize(s)) => need = s.required_size,
                Err(e) => {
                    self.outgoing.truncate(at);
                    return Err(tls_error(e));
                }
            }
        }
        if discard > 0 {
            self.incoming.drain(..discard);
        }
        Ok(())
    }
}

/// The TLS handshake of `tcp` under `config`; the stream once it is done.
pub async fn accept(tcp: TcpStream, config: Arc<rustls::ServerConfig>) -> io::Result<LeanTls> {
    let conn = UnbufferedServerConnection::new(config).map_err(tls_error)?;
    let mut tls = LeanTls {
        tcp,
        conn,
        incoming: Vec::new(),
        plain: Vec::new(),
        plain_at: 0,
        outgoing: Vec::new(),
        out_at: 0,
        read_closed: false,
        close_sent: false,
    };
    match std::future::poll_fn(|cx| tls.poll_ready(cx)).await? {
        Step::Ready => Ok(tls),
        _ => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the peer closed during the TLS handshake",
        )),
    }
}

impl AsyncRead for LeanTls {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.plain_at < this.plain.len() {
                let n = buf.remaining().min(this.plain.len() - this.plain_at);
                buf.put_slice(&this.plain[this.plain_at..this.plain_at + n]);
                this.plain_at += n;
                if this.plain_at == this.plain.len() {
                    this.plain = Vec::new();
                    this.plain_at = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if this.read_closed {
                return Poll::Ready(Ok(()));
            }
            let step = this.process()?;
            // What rustls queued on its own (tickets, a key update) goes out first; a peer that does
            // not read it is not a reason to stop reading.
            if let Poll::Ready(Err(e)) = this.poll_send(cx) {
                return Poll::Ready(Err(e));
            }
            if this.plain_at < this.plain.len() {
                continue;
            }
            match step {
                Step::PeerClosed => this.read_closed = true,
                Step::Ready | Step::NeedInput => {
                    if std::task::ready!(this.poll_fill(cx))? == 0 {
                        // The socket ended without close_notify: the end of the stream all the same
                        // (HTTP/1.1 frames its messages itself).
                        this.read_closed = true;
                    }
                }
            }
        }
    }
}

impl AsyncWrite for LeanTls {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        // The previous write goes out first: at most one is buffered.
        std::task::ready!(this.poll_send(cx))?;
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if this.close_sent {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        // Records received meanwhile (pipelined data) are decrypted and kept for the reader first, so
        // that rustls is in its writing state.
        this.process()?;
        this.encrypt(data, false)?;
        // Start sending at once; what does not go now goes with the flush or the next write.
        if let Poll::Ready(Err(e)) = this.poll_send(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(data.len()))
    }

    /// The slices as one write (one set of records: a response's head and body go out together).
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut non_empty = bufs.iter().filter(|b| !b.is_empty());
        match (non_empty.next(), non_empty.next()) {
            (None, _) => self.poll_write(cx, &[]),
            (Some(only), None) => self.poll_write(cx, only),
            _ => {
                let mut joined = Vec::with_capacity(bufs.iter().map(|b| b.len()).sum());
                for b in bufs {
                    joined.extend_from_slice(b);
                }
                self.poll_write(cx, &joined)
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        std::task::ready!(this.poll_send(cx))?;
        Pin::new(&mut this.tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.close_sent {
            std::task::ready!(this.poll_send(cx))?;
            this.close_sent = true;
            // Best effort: a connection rustls will not write on any more just closes.
            let _ = this.encrypt(&[], true);
        }
        std::task::ready!(this.poll_send(cx))?;
        Pin::new(&mut this.tcp).poll_shutdown(cx)
    }
}
