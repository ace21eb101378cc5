//! Request handling: the SWF call (`Gateway::swf_call`, independent of the transport: target parsing,
//! the body limit, JSON and model validation, the JSON error format) and the axum routes of everything
//! else (`/health`, `/ready`, `/cluster/...`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use swf_node::router::Api;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use swf_node::membership::MemberChange;
use swf_node::Node;
use swf_types::Fault;
use tracing::Instrument;

/// Largest request body accepted (SWF's 1 MB request limit).
pub const MAX_BODY: usize = swf_types::model::MAX_REQUEST_BYTES;

const TARGET_PREFIX: &str = "SimpleWorkflowService.";
/// The `X-Amz-Target` prefix of AWS Step Functions actions (served on the same port).
const SFN_TARGET_PREFIX: &str = "AWSStepFunctions.";
pub(crate) const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// Shared state of the gateway.
pub struct Gateway {
    pub node: Arc<Node>,
    /// Differs between two runs of the process, so request ids are never reused after a restart (the
    /// state machine recognises a call sent again by its request id, see `swf_core::dedup`).
    boot: u64,
    requests: AtomicU64,
}

impl Gateway {
    /// A gateway in front of `node`.
    pub fn new(node: Arc<Node>) -> Arc<Gateway> {
        let boot = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Arc::new(Gateway {
            node,
            boot,
            requests: AtomicU64::new(0),
        })
    }

    /// A request id unique to this call: node id, process start, sequence number.
    fn request_id(&self) -> String {
        format!(
            "{:x}-{:x}-{:08x}",
            self.node.id,
            self.boot,
            self.requests.fetch_add(1, Ordering::Relaxed)
        )
    }
}

/// The axum router of the gateway: every route, `POST /` included (the HTTP server handles SWF calls
/// itself and gives the router the rest).
pub fn routes(gateway: Arc<Gateway>) -> axum::Router {
    axum::Router::new()
        .route("/", post(swf_call))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/cluster/status", get(cluster_status))
        .route("/cluster/digest", get(cluster_digest))
        .route("/cluster/members", post(add_member))
        .route("/cluster/members/remove", post(remove_member))
        .route("/cluster/transfer-leader", post(transfer_leader))
        .route("/cluster/token-key/rotate", post(rotate_token_key))
        .with_state(gateway)
}

async fn health(State(gw): State<Arc<Gateway>>) -> Response {
    match gw.node.not_serving_reason() {
        None => (StatusCode::OK, "ok\n").into_response(),
        Some(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not serving: {why}\n"),
        )
            .into_response(),
    }
}

async fn ready(State(gw): State<Arc<Gateway>>) -> Response {
    if gw.node.is_ready() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
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

/// Moves leadership (`{"to": N}` or `{}`); see `swf_node::transfer`.
async fn transfer_leader(State(gw): State<Arc<Gateway>>, body: Bytes) -> Response {
    let request_id = gw.request_id();
    match gw.node.transfer_leader(&body).await {
        Ok(out) => axum::Json(out).into_response(),
        Err(f) => fault_response(&f, &request_id),
    }
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

async fn cluster_status(State(gw): State<Arc<Gateway>>) -> Response {
    axum::Json(gw.node.cluster_status()).into_response()
}

/// This node's own applied-state digest (never forwarded: it is how replicas are compared).
async fn cluster_digest(State(gw): State<Arc<Gateway>>) -> Response {
    match gw.node.digest().await {
        Ok(d) => axum::Json(d).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
    }
}

fn respond(status: StatusCode, body: Bytes, request_id: &str) -> Response {
    let mut resp = (status, body).into_response();
    let headers = resp.headers_mut();
    headers.insert("content-type", HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", v);
    }
    resp
}

fn fault_response(fault: &Fault, request_id: &str) -> Response {
    let reply = SwfReply::fault(fault, request_id.to_string());
    respond(reply.status(), Bytes::from(reply.body), request_id)
}

/// The request body of an SWF call as the transport received it.
pub enum SwfBody {
    /// The whole body.
    Bytes(Vec<u8>),
    /// The body is larger than [`MAX_BODY`] (and was not read).
    TooLarge,
}

/// The answer to an SWF call: always `Content-Type: application/x-amz-json-1.0` and `x-amzn-RequestId`.
pub struct SwfReply {
    /// HTTP status code (200, or the fault's status).
    pub code: u16,
    /// The JSON body: the action's output or `{"__type": ..., "message": ...}`.
    pub body: Vec<u8>,
    /// The value of `x-amzn-RequestId`.
    pub request_id: String,
}

impl SwfReply {
    fn fault(fault: &Fault, request_id: String) -> SwfReply {
        let code = fault.kind.http_status();
        // The status a `StatusCode` can hold, else 400 (as the axum response did).
        let code = if (100..=999).contains(&code) {
            code
        } else {
            400
        };
        SwfReply {
            code,
            body: fault.to_json().to_string().into_bytes(),
            request_id,
        }
    }

    fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code).unwrap_or(StatusCode::BAD_REQUEST)
    }
}

/// `POST /` through axum (only reached for a request target the lean server does not route itself,
/// e.g. the absolute form `http://host/`).
async fn swf_call(State(gw): State<Arc<Gateway>>, headers: HeaderMap, body: Body) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    drop(headers);
    let body = match to_bytes(body, MAX_BODY).await {
        Ok(b) => SwfBody::Bytes(b.to_vec()),
        Err(_) => SwfBody::TooLarge,
    };
    let reply = gw.swf_call(&target, body).await;
    respond(reply.status(), Bytes::from(reply.body), &reply.request_id)
}

impl Gateway {
    /// Runs one SWF call, independent of the transport: `target` is the `X-Amz-Target` header's value
    /// (`""` when absent or not text), `body` the request body. Unknown targets, oversized, malformed
    /// or invalid bodies get their fault without reaching the node; the rest goes to the leader
    /// through the node (on to the leader; a long poll waits there).
    pub async fn swf_call(&self, target: &str, body: SwfBody) -> SwfReply {
        let request_id = self.request_id();
        // The API is decided by the target prefix only, and travels with the call to the leader.
        let (api, action, model) = if let Some(a) = target.strip_prefix(TARGET_PREFIX) {
            (Api::Swf, a, swf_types::model::model())
        } else if let Some(a) = target.strip_prefix(SFN_TARGET_PREFIX) {
            (Api::Sfn, a, swf_types::model::sfn_model())
        } else {
            return SwfReply::fault(&Fault::unknown_operation(target), request_id);
        };
        let body = match body {
            SwfBody::Bytes(b) => b,
            SwfBody::TooLarge => {
                let f = Fault::validation(format!(
                    "Request body is larger than the {MAX_BODY}-byte limit"
                ));
                let mut reply = SwfReply::fault(&f, request_id);
                reply.code = 413;
                return reply;
            }
        };
        // Only the model's actions come in from the network (cluster control is a gRPC service of its
        // own, never an action). The
        // body is validated against the model on the leader, which executes the call: every path
        // into the state machine is checked there (`swf_types::model::check_request`).
        if !model.operations.contains_key(action) {
            return SwfReply::fault(&Fault::unknown_operation(action), request_id);
        }
        let span = tracing::debug_span!("swf", action, api = api.wire(), request_id = %request_id);
        match self
            .node
            .call(api, action, body, &request_id)
            .instrument(span)
            .await
        {
            Ok(out) => SwfReply {
                code: 200,
                body: out,
                request_id,
            },
            Err(f) => {
                if f.kind.http_status() >= 500 {
                    tracing::warn!(action, code = f.code(), message = %f.message, "call failed");
                }
                SwfReply::fault(&f, request_id)
            }
        }
    }
}
