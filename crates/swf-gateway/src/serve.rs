//! The accept loop: one task per client connection (`h1::conn`, HTTP/1.1 with keep-alive), without
//! Nagle, optionally over TLS, and a graceful stop that closes idle connections and lets requests in
//! progress finish.
//!
//! SWF calls (`POST /`) go straight to [`Gateway::swf_call`]; everything else (`/health`, `/ready`,
//! unknown paths) goes to the axum router, shared by every connection. The admin listener runs the
//! same loop with [`crate::admin::AdminApp`].
//!
//! Against hostile clients: at most [`ServeOptions::max_connections`] connections are open at once
//! (TLS handshakes in progress included); past it a new connection is closed at once (after a short
//! `503` on plaintext), without touching the ones open, so held long polls keep working. A TLS
//! handshake must finish within [`TLS_HANDSHAKE_TIMEOUT`]. The per-connection timeouts are in
//! [`Timeouts`].

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http;
use http_body_util::BodyExt;
use swf_node::tls::Reloading;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt;

use crate::h1::conn::{self, serve_conn, BoxFuture, Handler, Routed};
use crate::http::{routes, Gateway, SwfBody, SwfReply};

/// How long a client has to complete its TLS handshake.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default cap on open connections per listener.
pub const MAX_CONNECTIONS: usize = 20_000;

/// The connection timeouts (see `h1::conn`).
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// A request must arrive (head and body) within this once its first byte has.
    pub request: Duration,
    /// A connection idle between requests this long is closed.
    pub idle: Duration,
    /// Writing one response may take this long.
    pub write: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            request: conn::REQUEST_READ_TIMEOUT,
            idle: conn::IDLE_TIMEOUT,
            write: conn::WRITE_TIMEOUT,
        }
    }
}

/// How a listener serves.
#[derive(Clone)]
pub struct ServeOptions {
    /// TLS (the server configuration in force, reloaded when its files change); `None`: plaintext.
    pub tls: Option<Arc<Reloading<rustls::ServerConfig>>>,
    /// Most connections open at once.
    pub max_connections: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            tls: None,
            max_connections: MAX_CONNECTIONS,
        }
    }
}

/// What the gateway serves: SWF calls on the gateway, the other routes on axum.
pub struct App {
    gateway: Arc<Gateway>,
    routes: axum::Router,
    timeouts: Timeouts,
}

/// The gateway's request handling, for [`serve`].
pub fn router(gateway: Arc<Gateway>) -> App {
    App {
        routes: routes(gateway.clone()),
        gateway,
        timeouts: Timeouts::default(),
    }
}

impl App {
    /// Sets the connection timeouts.
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> App {
        self.timeouts = timeouts;
        self
    }
}

/// Runs `request` through `routes` and collects the response.
pub(crate) async fn route(
    routes: &axum::Router,
    request: http::Request<axum::body::Body>,
) -> Routed {
    let response = match routes.clone().oneshot(request).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let (parts, body) = response.into_parts();
    match body.collect().await {
        Ok(collected) => Routed {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: collected.to_bytes(),
            stream: None,
        },
        Err(e) => Routed {
            status: 500,
            headers: http::HeaderMap::new(),
            body: format!("response body failed: {e}\n").into(),
            stream: None,
        },
    }
}

impl Handler for App {
    fn swf(&self, target: String, body: SwfBody) -> BoxFuture<'_, SwfReply> {
        let fut = Box::pin(async move { self.gateway.swf_call(&target, body).await });
        static LOGGED: AtomicBool = AtomicBool::new(false);
        if !LOGGED.swap(true, Ordering::Relaxed) {
            tracing::debug!(
                bytes = std::mem::size_of_val(&*fut),
                "size of an SWF call's handler future"
            );
        }
        fut
    }

    fn swf_signed(&self, target: String, head: Vec<u8>, body: SwfBody) -> BoxFuture<'_, SwfReply> {
        swf_node::boxed_sized!("SWF call's handler (signed)", async move {
            self.gateway
                .swf_call_signed(&target, Some(head), body)
                .await
        })
    }

    fn other(&self, request: http::Request<axum::body::Body>) -> BoxFuture<'_, Routed> {
        Box::pin(route(&self.routes, request))
    }

    fn request_timeout(&self) -> Duration {
        self.timeouts.request
    }

    fn idle_timeout(&self) -> Duration {
        self.timeouts.idle
    }

    fn write_timeout(&self) -> Duration {
        self.timeouts.write
    }
}

/// The answer to a connection over the cap, on plaintext (written only if the socket takes it at once).
const OVER_CAPACITY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 20\r\nconnection: close\r\n\r\ntoo many connections";

/// Serves `app` on `listener` until `shutdown` completes: then stops accepting, closes connections idle
/// between requests, answers requests in progress with `connection: close`, and returns once every
/// connection is done. `stopping` runs once every connection knows the server is stopping (swfd
/// answers its held long polls there, so their answers carry `connection: close`).
pub async fn serve<H: Handler>(
    listener: TcpListener,
    app: H,
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
    stopping: impl FnOnce(),
) {
    let app = Arc::new(app);
    // Every connection holds a receiver: `closed()` below resolves when the last one is done.
    let (stop_tx, stop_rx) = watch::channel(false);
    let open = Arc::new(Semaphore::new(options.max_connections));
    tokio::pin!(shutdown);
    let mut logged = false;
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            refuse_over_capacity(stream, options.tls.is_none(), &remote);
            continue;
        };
        let permit = (
            permit,
            crate::metrics::ConnectionGauge::open(app.listener()),
        );
        // Without Nagle: a response is one write, and delayed ACKs would stall it 40 ms.
        let _ = stream.set_nodelay(true);
        let (app, stop) = (app.clone(), stop_rx.clone());
        match &options.tls {
            None => {
                // The connection's future is made inside the task's: made outside and moved in, it
                // would take room twice (as the block's capture and as the awaited future), for the
                // life of the connection.
                let task = async move {
                    serve_conn(stream, app, stop).await;
                    drop(permit);
                };
                if !logged {
                    logged = true;
                    tracing::debug!(
                        bytes = std::mem::size_of_val(&task),
                        "size of a connection's future"
                    );
                }
                tokio::spawn(task);
            }
            // TLS that holds no buffer while the connection waits (`lean_tls`).
            Some(tls) => {
                let config = tls.current();
                tokio::spawn(async move {
                    let handshake = tokio::time::timeout(
                        TLS_HANDSHAKE_TIMEOUT,
                        crate::lean_tls::accept(stream, config),
                    )
                    .await;
                    match handshake {
                        Ok(Ok(tls_stream)) => serve_conn(tls_stream, app, stop).await,
                        Ok(Err(e)) => tracing::debug!(%remote, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%remote, "TLS handshake timed out"),
                    }
                    drop(permit);
                });
            }
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    stopping();
    drop(stop_rx);
    stop_tx.closed().await;
}

/// Closes a connection over the cap at once; on plaintext it first gets a `503` if the socket takes
/// it without waiting. Logged at most once a second.
fn refuse_over_capacity(stream: TcpStream, plaintext: bool, remote: &std::net::SocketAddr) {
    if plaintext {
        let _ = stream.try_write(OVER_CAPACITY);
    }
    static LAST: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    if LAST.swap(now, Ordering::Relaxed) != now {
        tracing::warn!(%remote, "connection refused: the connection cap is reached");
    }
    drop(stream);
}
