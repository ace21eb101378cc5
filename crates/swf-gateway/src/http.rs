//! HTTP handling: routes, body limits, target parsing, validation, and the JSON error format.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use swf_node::Node;
use swf_types::Fault;
use tracing::Instrument;

/// Largest request body accepted (SWF's 1 MB request limit).
pub const MAX_BODY: usize = 1024 * 1024;

const TARGET_PREFIX: &str = "SimpleWorkflowService.";
const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// Shared state of the gateway.
pub struct Gateway {
    pub node: Arc<Node>,
    requests: AtomicU64,
}

impl Gateway {
    /// A gateway in front of `node`.
    pub fn new(node: Arc<Node>) -> Arc<Gateway> {
        Arc::new(Gateway {
            node,
            requests: AtomicU64::new(0),
        })
    }

    fn request_id(&self) -> String {
        format!(
            "{:x}-{:08x}",
            self.node.id,
            self.requests.fetch_add(1, Ordering::Relaxed)
        )
    }
}

/// The axum router of the gateway.
pub fn router(gateway: Arc<Gateway>) -> axum::Router {
    axum::Router::new()
        .route("/", post(swf_call))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/cluster/status", get(cluster_status))
        .route("/cluster/digest", get(cluster_digest))
        .route("/cluster/members", post(add_member))
        .route("/cluster/members/remove", post(remove_member))
        .route("/cluster/transfer-leader", post(transfer_leader))
        .with_state(gateway)
}

async fn health(State(gw): State<Arc<Gateway>>) -> Response {
    if gw.node.is_serving() {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not serving yet\n").into_response()
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
    admin(&gw, swf_node::executor::ADMIN_ADD_MEMBER, body).await
}

async fn remove_member(State(gw): State<Arc<Gateway>>, body: Bytes) -> Response {
    admin(&gw, swf_node::executor::ADMIN_REMOVE_MEMBER, body).await
}

/// Runs a membership change on the leader (through the same forwarding as SWF calls).
async fn admin(gw: &Gateway, action: &str, body: Bytes) -> Response {
    let request_id = gw.request_id();
    if serde_json::from_slice::<swf_node::executor::MemberChange>(&body).is_err() {
        return fault_response(
            &Fault::validation("expected {\"node_id\": N, \"addr\": \"HOST:PORT\"}"),
            &request_id,
        );
    }
    match gw
        .node
        .router
        .call(action, body.to_vec(), 0, &request_id)
        .await
    {
        Ok(_) => axum::Json(gw.node.cluster_status()).into_response(),
        Err(f) => fault_response(&f, &request_id),
    }
}

/// Moves leadership (`{"to": N}` or `{}`); see `swf_node::transfer`.
async fn transfer_leader(State(gw): State<Arc<Gateway>>, body: Bytes) -> Response {
    let request_id = gw.request_id();
    match gw.node.transfer_leader(&body, &request_id).await {
        Ok(out) => axum::Json(out).into_response(),
        Err(f) => fault_response(&f, &request_id),
    }
}

async fn cluster_status(State(gw): State<Arc<Gateway>>) -> Response {
    axum::Json(gw.node.cluster_status()).into_response()
}

/// This node's own applied-state digest (never forwarded: it is how replicas are compared).
async fn cluster_digest(State(gw): State<Arc<Gateway>>) -> Response {
    let reader = gw.node.reader.clone();
    match tokio::task::spawn_blocking(move || reader.digest()).await {
        Ok(Ok(d)) => axum::Json(d).into_response(),
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, e.0).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
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
    let status = StatusCode::from_u16(fault.kind.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    respond(status, Bytes::from(fault.to_json().to_string()), request_id)
}

async fn swf_call(State(gw): State<Arc<Gateway>>, headers: HeaderMap, body: Body) -> Response {
    let request_id = gw.request_id();
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(action) = target.strip_prefix(TARGET_PREFIX) else {
        return fault_response(&Fault::unknown_operation(target), &request_id);
    };
    // Header values share hyper's read buffer: keep only the action (see the body below).
    let action = action.to_string();
    drop(headers);
    let action = action.as_str();
    let body = match to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            let f = Fault::validation(format!(
                "Request body is larger than the {MAX_BODY}-byte limit"
            ));
            let mut resp = fault_response(&f, &request_id);
            *resp.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            return resp;
        }
    };
    let input: serde_json::Value = if body.iter().all(u8::is_ascii_whitespace) {
        serde_json::Value::Object(Default::default())
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return fault_response(
                    &Fault::validation(format!("Malformed JSON request body: {e}")),
                    &request_id,
                )
            }
        }
    };
    if !input.is_object() {
        return fault_response(
            &Fault::validation("The request body must be a JSON object"),
            &request_id,
        );
    }
    if let Err(f) = swf_types::model::validate_input(action, &input) {
        return fault_response(&f, &request_id);
    }
    // Copy the body out and let go of hyper's buffer (and the parsed JSON) before a possibly long wait
    // (a long poll): the received bytes share the connection's read buffer, which would otherwise stay
    // pinned and make hyper allocate a second one for the idle connection.
    let payload = body.to_vec();
    drop((body, input));
    let span = tracing::debug_span!("swf", action, request_id = %request_id);
    match gw
        .node
        .router
        .call(action, payload, 0, &request_id)
        .instrument(span)
        .await
    {
        Ok(out) => respond(StatusCode::OK, Bytes::from(out), &request_id),
        Err(f) => {
            if f.kind.http_status() >= 500 {
                tracing::warn!(action, code = f.code(), message = %f.message, "call failed");
            }
            fault_response(&f, &request_id)
        }
    }
}
