//! Request handling: the SWF call (`Gateway::swf_call`, independent of the transport: target parsing,
//! the body limit, JSON and model validation, the JSON error format) and the axum routes of everything
//! else on the SWF port (`/health`, `/ready`, the console under `/console/`; any other path is 404). The admin routes are on a
//! listener of their own (`admin`). With an auth configuration every call is authenticated first
//! (`authn`), and its caller travels with it to the leader, which authorises it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use swf_node::router::Api;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use swf_node::call_timing::{with_times, CallTimes};
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
    /// The principals every SWF and Step Functions call must be signed by; `None`: auth is off,
    /// anyone may call anything.
    pub(crate) auth: Option<Arc<swf_auth::Auth>>,
    /// Differs between two runs of the process, so request ids are never reused after a restart (the
    /// state machine recognises a call sent again by its request id, see `swf_core::dedup`).
    boot: u64,
    requests: AtomicU64,
}

impl Gateway {
    /// A gateway in front of `node`.
    pub fn new(node: Arc<Node>) -> Arc<Gateway> {
        Gateway::with_auth(node, None)
    }

    /// A gateway in front of `node` that authenticates every call against `auth` (when given).
    pub fn with_auth(node: Arc<Node>, auth: Option<Arc<swf_auth::Auth>>) -> Arc<Gateway> {
        let boot = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Arc::new(Gateway {
            node,
            auth,
            boot,
            requests: AtomicU64::new(0),
        })
    }

    /// How many request ids this gateway has handed out since it started: every SWF and Step
    /// Functions call it received (and each admin change); the console's call rate.
    pub(crate) fn calls_received(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// A request id unique to this call: node id, process start, sequence number.
    pub(crate) fn request_id(&self) -> String {
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
        .with_state(gateway.clone())
        .merge(crate::console::routes(gateway))
}

pub(crate) async fn health(State(gw): State<Arc<Gateway>>) -> Response {
    match gw.node.not_serving_reason() {
        None => (StatusCode::OK, "ok\n").into_response(),
        Some(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not serving: {why}\n"),
        )
            .into_response(),
    }
}

pub(crate) async fn ready(State(gw): State<Arc<Gateway>>) -> Response {
    if gw.node.is_ready() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
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

pub(crate) fn fault_response(fault: &Fault, request_id: &str) -> Response {
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

/// The answer to a call refused before its action is known to be one of the model's (counted with
/// `api` and `action` "none", so no label takes a value a client made up).
fn refused(fault: &Fault, request_id: String) -> SwfReply {
    crate::metrics::METRICS
        .calls
        .with_label_values(&["none", "none", fault.code(), "local"])
        .inc();
    SwfReply::fault(fault, request_id)
}

/// `POST /` through axum (only reached for a request target the lean server does not route itself,
/// e.g. the absolute form `http://host/`).
async fn swf_call(
    State(gw): State<Arc<Gateway>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let head = crate::authn::head_of("POST", path, &headers);
    drop(headers);
    let body = match to_bytes(body, MAX_BODY).await {
        Ok(b) => SwfBody::Bytes(b.to_vec()),
        Err(_) => SwfBody::TooLarge,
    };
    let reply = gw.swf_call_signed(&target, Some(head), body).await;
    respond(reply.status(), Bytes::from(reply.body), &reply.request_id)
}

impl Gateway {
    /// Runs one SWF call, independent of the transport: `target` is the `X-Amz-Target` header's value
    /// (`""` when absent or not text), `body` the request body. Unknown targets, oversized, malformed
    /// or invalid bodies get their fault without reaching the node; the rest goes to the leader
    /// through the node (on to the leader; a long poll waits there).
    pub async fn swf_call(&self, target: &str, body: SwfBody) -> SwfReply {
        self.swf_call_signed(target, None, body).await
    }

    /// [`Gateway::swf_call`] with the request head as received (request line and header fields),
    /// which SigV4 verification needs when auth is on; the head is dropped once the call is
    /// authenticated, so a held long poll does not keep it.
    pub async fn swf_call_signed(
        &self,
        target: &str,
        head: Option<Vec<u8>>,
        body: SwfBody,
    ) -> SwfReply {
        let request_id = self.request_id();
        // Authentication comes first, as at AWS: an unsigned call learns nothing else.
        let caller = match (&self.auth, &body) {
            (Some(auth), SwfBody::Bytes(b)) => {
                let now = self.node.cluster_now_secs();
                match crate::authn::authenticate(auth, now, head.as_deref(), target, b) {
                    Ok(c) => Some(c),
                    Err(f) => return refused(&f, request_id),
                }
            }
            _ => None,
        };
        let invocation = head.as_deref().and_then(crate::idempotency::invocation_id);
        drop(head);
        // The API is decided by the target prefix only, and travels with the call to the leader.
        let (api, action, model) = if let Some(a) = target.strip_prefix(TARGET_PREFIX) {
            (Api::Swf, a, swf_types::model::model())
        } else if let Some(a) = target.strip_prefix(SFN_TARGET_PREFIX) {
            (Api::Sfn, a, swf_types::model::sfn_model())
        } else {
            return refused(&Fault::unknown_operation(target), request_id);
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
            return refused(&Fault::unknown_operation(action), request_id);
        }
        // Every log line the call produces on this node carries its request id (and the leader's
        // lines carry it too: it travels in `ExecuteRequest.request_id`). The span is at ERROR
        // level so that any filter that lets one of the call's lines through enables it too
        // (`SWFD_LOG=warn` still shows the slow-call line with its request id).
        // A call its SDK may send again is de-duplicated by its invocation id (`idempotency`).
        let dedup_id = invocation
            .filter(|_| crate::idempotency::applies_to(action))
            .map(|inv| {
                crate::idempotency::dedup_id(
                    &inv,
                    caller.as_ref().map(|c| c.user_arn.as_str()),
                    target,
                    &body,
                )
            });
        // What travels to the leader: the request id, and the de-duplication id after a `~`
        // (`swf_core::dedup::split`).
        let routed_id: std::borrow::Cow<str> = match &dedup_id {
            Some(d) => format!("{request_id}~{d}").into(),
            None => request_id.as_str().into(),
        };
        let span = tracing::error_span!(
            "call",
            request_id = %request_id,
            action,
            api = api.label(),
            dedup_id = dedup_id.as_deref()
        );
        let forwarded = self.node.raft.metrics().borrow().current_leader != Some(self.node.id);
        let times = Arc::new(CallTimes::default());
        let began = std::time::Instant::now();
        let result = with_times(
            times.clone(),
            swf_node::request::with_caller(caller, self.node.call(api, action, body, &routed_id)),
        )
        .instrument(span.clone())
        .await;
        let _entered = span.enter();
        let outcome = match &result {
            Ok(_) => "ok",
            Err(f) => f.code(),
        };
        crate::metrics::record_call(&crate::metrics::CallRecord {
            api: api.label(),
            action,
            outcome,
            forwarded,
            took: began.elapsed(),
            stages: times.stages(),
        });
        match result {
            Ok(out) => SwfReply {
                code: 200,
                body: out,
                request_id,
            },
            Err(f) => {
                if f.kind.http_status() >= 500 {
                    tracing::warn!(code = f.code(), message = %f.message, "call failed");
                }
                SwfReply::fault(&f, request_id)
            }
        }
    }
}
