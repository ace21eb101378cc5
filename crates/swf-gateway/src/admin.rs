//! The admin API, served on a listener of its own (`--admin-addr`), never on the SWF port: cluster
//! status, membership changes, leader transfer, the state digest and online backups
//! (`GET /cluster/backup`, streamed) under `/cluster/...`, and the Prometheus metrics at `/metrics`
//! (open to anyone with `--metrics-open`). Every
//! request except `GET /health` and `GET /ready` must carry an admin credential, checked by an
//! [`AdminAuth`] before it is routed (an unknown path without a credential is refused too, so the
//! listener tells nothing to a caller without one).
//!
//! Credentials: [`BearerToken`] (`Authorization: Bearer <token>`, the token read from a file and
//! re-read when the file changes) and, with an auth configuration, a SigV4 signature of an admin
//! principal (`admin_sigv4`). [`AnyOf`] accepts a request that any of several checks accepts.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{self, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use swf_node::membership::MemberChange;
use swf_types::Fault;

use crate::h1::conn::{BoxFuture, Handler, Routed};
use crate::http::{fault_response, health, ready, Gateway, SwfBody, SwfReply};
use crate::serve::{route, Timeouts};

/// An admin request as a credential check sees it (the body is there for checks that sign it).
pub struct AdminRequest<'a> {
    pub method: &'a http::Method,
    pub uri: &'a http::Uri,
    pub headers: &'a http::HeaderMap,
    pub body: &'a [u8],
}

/// The outcome of a credential check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminVerdict {
    /// The caller is an administrator.
    Allowed,
    /// The request carries no credential this check understands.
    Missing,
    /// The request carries a credential of this kind, and it is not valid (the reason is logged, not
    /// sent).
    Denied(String),
    /// The request carries a credential of this kind and is refused with this AWS error (a SigV4
    /// signature that does not verify, a principal who is not an admin): sent as it is.
    Refused {
        status: u16,
        code: &'static str,
        message: String,
    },
}

/// Decides whether a request comes from an administrator.
pub trait AdminAuth: Send + Sync + 'static {
    fn check(&self, request: &AdminRequest<'_>) -> AdminVerdict;
}

/// Accepts what any of its checks accepts; otherwise the first denial, or `Missing`.
pub struct AnyOf(pub Vec<Arc<dyn AdminAuth>>);

impl AdminAuth for AnyOf {
    fn check(&self, request: &AdminRequest<'_>) -> AdminVerdict {
        let mut verdict = AdminVerdict::Missing;
        for auth in &self.0 {
            match auth.check(request) {
                AdminVerdict::Allowed => return AdminVerdict::Allowed,
                AdminVerdict::Missing => {}
                refusal if verdict == AdminVerdict::Missing => verdict = refusal,
                _ => {}
            }
        }
        verdict
    }
}

/// Shortest token accepted from a token file.
pub const MIN_TOKEN_LEN: usize = 16;

/// `Authorization: Bearer <token>`, the token being the first line of a file (surrounding whitespace
/// ignored). The file is re-read when its modification time or size changes, so a rotated token
/// takes effect without a restart; a file that became unreadable or too short keeps the last good
/// token and is logged.
pub struct BearerToken {
    path: PathBuf,
    state: Mutex<TokenState>,
}

struct TokenState {
    stamp: Option<(SystemTime, u64)>,
    token: Vec<u8>,
}

fn stamp(path: &std::path::Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

fn read_token(path: &std::path::Path) -> Result<Vec<u8>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("reading the admin token file {}: {e}", path.display()))?;
    let token = text.lines().next().unwrap_or("").trim();
    if token.len() < MIN_TOKEN_LEN {
        return Err(format!(
            "the admin token in {} is shorter than {MIN_TOKEN_LEN} characters",
            path.display()
        ));
    }
    Ok(token.as_bytes().to_vec())
}

impl BearerToken {
    /// Reads the token from `path` (an error here is a startup error).
    pub fn from_file(path: PathBuf) -> Result<BearerToken, String> {
        let stamp = stamp(&path);
        let token = read_token(&path)?;
        Ok(BearerToken {
            path,
            state: Mutex::new(TokenState { stamp, token }),
        })
    }

    fn current(&self) -> Vec<u8> {
        let mut state = self.state.lock().expect("token lock");
        let now = stamp(&self.path);
        if now != state.stamp {
            state.stamp = now;
            match read_token(&self.path) {
                Ok(token) => {
                    state.token = token;
                    tracing::info!(path = %self.path.display(), "admin token reloaded");
                }
                Err(e) => tracing::error!(error = %e, "keeping the previous admin token"),
            }
        }
        state.token.clone()
    }
}

/// Compares without an early exit, so the time taken says nothing about where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl AdminAuth for BearerToken {
    fn check(&self, request: &AdminRequest<'_>) -> AdminVerdict {
        let Some(value) = request.headers.get(http::header::AUTHORIZATION) else {
            return AdminVerdict::Missing;
        };
        let value = value.as_bytes();
        let Some(presented) = value
            .get(..7)
            .filter(|p| p.eq_ignore_ascii_case(b"bearer "))
            .map(|_| value[7..].trim_ascii())
        else {
            return AdminVerdict::Missing;
        };
        if same(presented, &self.current()) {
            AdminVerdict::Allowed
        } else {
            AdminVerdict::Denied("wrong admin token".into())
        }
    }
}

/// The admin listener's request handling.
pub struct AdminApp {
    auth: Arc<dyn AdminAuth>,
    gateway: Arc<Gateway>,
    routes: axum::Router,
    timeouts: Timeouts,
    /// `GET /metrics` without a credential (`--metrics-open`).
    metrics_open: bool,
}

/// The admin API of `gateway`, behind `auth`.
pub fn admin_router(gateway: Arc<Gateway>, auth: Arc<dyn AdminAuth>) -> AdminApp {
    crate::metrics::init();
    AdminApp {
        auth,
        routes: admin_routes(gateway.clone()),
        gateway,
        timeouts: Timeouts::default(),
        metrics_open: false,
    }
}

impl AdminApp {
    /// Serves `GET /metrics` to anyone (`--metrics-open`: for a scraper without the admin token);
    /// by default it needs the admin credential like every route but `/health` and `/ready`.
    pub fn with_open_metrics(mut self, open: bool) -> AdminApp {
        self.metrics_open = open;
        self
    }

    /// Sets the connection timeouts.
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> AdminApp {
        self.timeouts = timeouts;
        self
    }
}

fn admin_routes(gateway: Arc<Gateway>) -> axum::Router {
    axum::Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/cluster/status", get(cluster_status))
        .route("/cluster/digest", get(cluster_digest))
        .route("/cluster/members", post(add_member))
        .route("/cluster/members/remove", post(remove_member))
        .route("/cluster/transfer-leader", post(transfer_leader))
        .route("/cluster/token-key/rotate", post(rotate_token_key))
        .with_state(gateway)
}

/// A refusal of the admin API: JSON with `__type` and `message`, as its other errors.
fn refusal(status: u16, kind: &str, message: &str) -> Routed {
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if status == 401 {
        headers.insert(
            http::header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"swfd-admin\""),
        );
    }
    Routed {
        status,
        headers,
        body: serde_json::json!({ "__type": kind, "message": message })
            .to_string()
            .into(),
        stream: None,
    }
}

impl Handler for AdminApp {
    /// `POST /` is not an admin route: 404, whatever the target.
    fn swf(&self, _target: String, _body: SwfBody) -> BoxFuture<'_, SwfReply> {
        Box::pin(async {
            SwfReply {
                code: 404,
                body: Vec::new(),
                request_id: String::new(),
            }
        })
    }

    fn other(&self, request: http::Request<axum::body::Body>) -> BoxFuture<'_, Routed> {
        Box::pin(async move {
            let open = request.method() == http::Method::GET
                && match request.uri().path() {
                    "/health" | "/ready" => true,
                    "/metrics" => self.metrics_open,
                    _ => false,
                };
            if !open {
                let (parts, body) = request.into_parts();
                let bytes = axum::body::to_bytes(body, usize::MAX)
                    .await
                    .unwrap_or_default();
                let verdict = self.auth.check(&AdminRequest {
                    method: &parts.method,
                    uri: &parts.uri,
                    headers: &parts.headers,
                    body: &bytes,
                });
                match verdict {
                    AdminVerdict::Allowed => {}
                    AdminVerdict::Missing => {
                        tracing::warn!(
                            path = parts.uri.path(),
                            "admin call without a credential refused"
                        );
                        return refusal(
                            401,
                            "MissingAuthenticationTokenException",
                            "The admin API needs an admin credential (Authorization: Bearer <token>, \
                             or a SigV4 signature of an admin principal)",
                        );
                    }
                    AdminVerdict::Refused {
                        status,
                        code,
                        message,
                    } => {
                        tracing::warn!(path = parts.uri.path(), code, reason = %message, "admin call refused");
                        return refusal(status, code, &message);
                    }
                    AdminVerdict::Denied(why) => {
                        tracing::warn!(path = parts.uri.path(), reason = %why, "admin call refused");
                        return refusal(
                            403,
                            "AccessDeniedException",
                            "The admin credential is not valid",
                        );
                    }
                }
                if parts.uri.path() == "/cluster/backup" && parts.method == http::Method::GET {
                    return self.backup().await;
                }
                let request = http::Request::from_parts(parts, axum::body::Body::from(bytes));
                return route(&self.routes, request).await;
            }
            route(&self.routes, request).await
        })
    }

    fn listener(&self) -> &'static str {
        "admin"
    }

    fn request_timeout(&self) -> std::time::Duration {
        self.timeouts.request
    }

    fn idle_timeout(&self) -> std::time::Duration {
        self.timeouts.idle
    }

    fn write_timeout(&self) -> std::time::Duration {
        self.timeouts.write
    }
}

impl AdminApp {
    /// `GET /cluster/backup`: an online backup of the applied state, streamed as it is written
    /// (`swf_node::backup`; the leader only, others answer 503 naming the leader).
    async fn backup(&self) -> Routed {
        match self.gateway.node.backup().await {
            Ok(stream) => {
                let mut headers = http::HeaderMap::new();
                headers.insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/octet-stream"),
                );
                Routed {
                    status: 200,
                    headers,
                    body: Bytes::new(),
                    stream: Some(stream),
                }
            }
            Err(f) => refusal(f.kind.http_status(), &f.wire_type(), &f.message),
        }
    }
}

async fn add_member(State(gw): State<Arc<Gateway>>, body: Bytes) -> Response {
    let request_id = gw.request_id();
    let change = match member_change(&body) {
        Ok(c) => c,
        Err(f) => return fault_response(&f, &request_id),
    };
    match gw.node.add_member(change).await {
        Ok(()) => axum::Json(gw.node.cluster_status()).into_response(),
        Err(f) => fault_response(&f, &request_id),
    }
}

async fn remove_member(State(gw): State<Arc<Gateway>>, body: Bytes) -> Response {
    let request_id = gw.request_id();
    let change = match member_change(&body) {
        Ok(c) => c,
        Err(f) => return fault_response(&f, &request_id),
    };
    match gw.node.remove_member(change.node_id).await {
        Ok(()) => axum::Json(gw.node.cluster_status()).into_response(),
        Err(f) => fault_response(&f, &request_id),
    }
}

/// The body of a membership change, `{"node_id": N, "addr": "HOST:PORT"}` (no address to remove).
fn member_change(body: &[u8]) -> Result<MemberChange, Fault> {
    serde_json::from_slice(body)
        .map_err(|_| Fault::validation("expected {\"node_id\": N, \"addr\": \"HOST:PORT\"}"))
}

/// Rotates the cluster's token key, on the leader (`swf_core::keyring`); answers `{"generation": N}`.
async fn rotate_token_key(State(gw): State<Arc<Gateway>>) -> Response {
    let request_id = gw.request_id();
    match gw.node.rotate_token_key().await {
        Ok(generation) => {
            axum::Json(serde_json::json!({ "generation": generation })).into_response()
        }
        Err(f) => fault_response(&f, &request_id),
    }
}

/// Moves leadership (`{"to": N}` or `{}`); see `swf_node::transfer`.
async fn transfer_leader(State(gw): State<Arc<Gateway>>, body: Bytes) -> Response {
    let request_id = gw.request_id();
    match gw.node.transfer_leader(&body).await {
        Ok(out) => axum::Json(out).into_response(),
        Err(f) => fault_response(&f, &request_id),
    }
}

/// The Prometheus metrics (text format), with the values read at scrape refreshed first.
async fn metrics(State(gw): State<Arc<Gateway>>) -> Response {
    gw.node.refresh_metrics();
    (
        [(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
        )],
        crate::metrics::render(),
    )
        .into_response()
}

/// The node's view of the cluster, with `calls_total`: the calls this node took since it started
/// (sampled twice, a call rate).
async fn cluster_status(State(gw): State<Arc<Gateway>>) -> Response {
    let mut status = gw.node.cluster_status();
    status["calls_total"] = crate::metrics::calls_total().into();
    axum::Json(status).into_response()
}

/// This node's own applied-state digest (never forwarded: it is how replicas are compared).
async fn cluster_digest(State(gw): State<Arc<Gateway>>) -> Response {
    match gw.node.digest().await {
        Ok(d) => axum::Json(d).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
    }
}

#[cfg(test)]
#[path = "admin_test.rs"]
mod tests;
