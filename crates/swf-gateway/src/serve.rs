//! The accept loop: one task per client connection (`h1::conn`, HTTP/1.1 with keep-alive), without
//! Nagle, and a graceful stop that closes idle connections and lets requests in progress finish.
//!
//! SWF calls (`POST /`) go straight to [`Gateway::swf_call`]; everything else (`/health`, `/ready`,
//! `/cluster/...`, unknown paths) goes to the axum router, shared by every connection.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http;
use http_body_util::BodyExt;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::h1::conn::{serve_conn, BoxFuture, Handler, Routed};
use crate::http::{routes, Gateway, SwfBody, SwfReply};

/// What the gateway serves: SWF calls on the gateway, the other routes on axum.
pub struct App {
    gateway: Arc<Gateway>,
    routes: axum::Router,
}

/// The gateway's request handling, for [`serve`].
pub fn router(gateway: Arc<Gateway>) -> App {
    App {
        routes: routes(gateway.clone()),
        gateway,
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
        Box::pin(async move {
            self.gateway
                .swf_call_signed(&target, Some(head), body)
                .await
        })
    }

    fn other(&self, request: http::Request<axum::body::Body>) -> BoxFuture<'_, Routed> {
        let routes = self.routes.clone();
        Box::pin(async move {
            let response = match routes.oneshot(request).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            let (parts, body) = response.into_parts();
            match body.collect().await {
                Ok(collected) => Routed {
                    status: parts.status.as_u16(),
                    headers: parts.headers,
                    body: collected.to_bytes(),
                },
                Err(e) => Routed {
                    status: 500,
                    headers: http::HeaderMap::new(),
                    body: format!("response body failed: {e}\n").into(),
                },
            }
        })
    }
}

/// Serves `app` on `listener` until `shutdown` completes: then stops accepting, closes connections idle
/// between requests, answers requests in progress with `connection: close`, and returns once every
/// connection is done. `stopping` runs once every connection knows the server is stopping (swfd
/// answers its held long polls there, so their answers carry `connection: close`).
pub async fn serve(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()>,
    stopping: impl FnOnce(),
) {
    let app = Arc::new(app);
    // Every connection holds a receiver: `closed()` below resolves when the last one is done.
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    let mut logged = false;
    loop {
        let (stream, _) = tokio::select! {
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
        // Without Nagle: a response is one write, and delayed ACKs would stall it 40 ms.
        let _ = stream.set_nodelay(true);
        let conn = serve_conn(stream, app.clone(), stop_rx.clone());
        if !logged {
            logged = true;
            tracing::debug!(
                bytes = std::mem::size_of_val(&conn),
                "size of a connection's future"
            );
        }
        tokio::spawn(conn);
    }
    drop(listener);
    let _ = stop_tx.send(true);
    stopping();
    drop(stop_rx);
    stop_tx.closed().await;
}
