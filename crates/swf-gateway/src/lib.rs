//! The SWF JSON gateway: AWS JSON 1.0 over HTTP (`POST /` with `X-Amz-Target:
//! SimpleWorkflowService.<Action>`), exactly as SWF speaks it. It bounds the request size, parses the
//! target and the JSON body, validates the body against the SWF model (ValidationException naming the
//! member), and sends the call over gRPC to the Raft leader through the node's router. Errors are
//! `{"__type": ..., "message": ...}` with the status SWF uses. Also serves `GET /health` and `/ready`.
//! The `/cluster/...` administration routes are on a listener of their own, behind an admin
//! credential (`admin`). The HTTP/1.1 server is the project's own (`h1`), lean enough to hold many
//! idle long polls, over plaintext or TLS, with a connection cap and timeouts against hostile clients
//! (`serve`).
//! With an auth configuration (`Gateway::with_auth`) every SWF and Step Functions call must carry a
//! valid SigV4 signature (`authn`); without one, anyone may call anything.
//! The web console is served on the SWF port under `/console/` (`console`).
//! `GET /metrics` on the admin listener renders the Prometheus metrics (`metrics`); every call runs
//! in a `call` span carrying its request id, and a slow one is logged with where its time went.

mod admin;
mod admin_sigv4;
mod authn;
mod console;
mod h1;
mod http;
mod idempotency;
mod lean_tls;
pub mod metrics;
mod serve;

pub use admin::{
    admin_router, AdminApp, AdminAuth, AdminRequest, AdminVerdict, AnyOf, BearerToken,
    MIN_TOKEN_LEN,
};
pub use admin_sigv4::{admin_action, Clock, SigV4Admin, ADMIN_SERVICE};
pub use console::ADMIN_SERVICE as CONSOLE_ADMIN_SERVICE;
pub use http::{Gateway, SwfBody, SwfReply, MAX_BODY};
pub use serve::{
    router, serve, App, ServeOptions, Timeouts, MAX_CONNECTIONS, TLS_HANDSHAKE_TIMEOUT,
};
