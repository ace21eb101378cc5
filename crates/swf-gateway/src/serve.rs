//! The HTTP accept loop: one hyper connection task per client (HTTP/1.1 with keep-alive), without
//! Nagle, and a graceful stop that closes idle connections and lets answered ones finish.
//!
//! Written out instead of `axum::serve` for memory: axum 0.7 rebuilds the router's route tables for every
//! accepted connection (about 7 KB each), which a server holding 10,000 idle long polls pays 10,000
//! times. Here every connection shares one router.

use std::future::Future;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

/// Serves `app` on `listener` until `shutdown` completes, then waits for open connections to finish.
pub async fn serve(listener: TcpListener, app: axum::Router, shutdown: impl Future<Output = ()>) {
    // HTTP/1.1 only, as every SWF client speaks it; a connection costs less than with HTTP/2 on offer.
    // No timer, as with axum::serve: an idle keep-alive connection is closed by the client, not by a
    // header-read timeout.
    let mut builder = http1::Builder::new();
    builder.keep_alive(true);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
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
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let conn = builder.serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
