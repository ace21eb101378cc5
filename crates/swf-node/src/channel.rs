//! The gRPC channel settings every node-to-node connection uses (the router's `SwfNode` calls and the
//! Raft network), chosen so a dead or frozen peer is noticed in seconds rather than never: a bounded
//! TCP connect, and HTTP/2 keep-alive pings whose missing answer closes the connection and fails the
//! calls on it (a SIGSTOPped process still accepts TCP connections in its kernel backlog and keeps its
//! sockets open, so without pings a call to it waits forever). Connections are made by
//! [`PeerConnector`] (TCP without Nagle, then mutual TLS when the node has peer TLS).

use std::time::Duration;

use tonic::transport::{Channel, Endpoint};

use crate::peer_tls::PeerConnector;

/// Longest wait for a TCP connection to a peer (peers are on the same network).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// How often an HTTP/2 ping goes to a peer, idle or not.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(1);

/// How long a ping may go unanswered before the connection is closed. Generous against a peer whose
/// runtime is merely busy (a loaded 2-core machine), short against one that is gone.
pub const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(3);

/// The endpoint for the peer at `addr` (`host:port`) with the settings above.
pub fn endpoint(addr: &str) -> Result<Endpoint, tonic::transport::Error> {
    Ok(Endpoint::from_shared(format!("http://{addr}"))?
        .connect_timeout(CONNECT_TIMEOUT)
        .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
        .keep_alive_timeout(KEEPALIVE_TIMEOUT)
        .keep_alive_while_idle(true))
}

/// A channel to `addr`, connected now.
pub async fn connect(
    addr: &str,
    connector: &PeerConnector,
) -> Result<Channel, tonic::transport::Error> {
    endpoint(addr)?
        .connect_with_connector(connector.clone())
        .await
}

/// A channel to `addr` that connects on first use (and reconnects after a failure), so creating it
/// never waits on the peer.
pub fn lazy(addr: &str, connector: &PeerConnector) -> Result<Channel, tonic::transport::Error> {
    Ok(endpoint(addr)?.connect_with_connector_lazy(connector.clone()))
}
