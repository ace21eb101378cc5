//! The web console on the SWF port (`swf_console` holds the files): `GET /console/...` serves a
//! file of the console by exact name, with its content type, an `ETag` and `Cache-Control:
//! no-cache` (the browser revalidates and gets `304` while the binary is the same); `/console`
//! redirects to `/console/`; a `Content-Security-Policy` keeps the pages to their own files and
//! server. The pages call the SWF and Step Functions API like any SDK (`POST /`,
//! signed in the browser when auth is on), so the console can do nothing its user's keys may not.
//!
//! Two read-only JSON routes serve what the API does not say:
//! - `GET /console/api/info`: whether auth is on and the region to sign for (nothing secret).
//! - `GET /console/api/cluster`: this node's view of the Raft cluster (members, leader, term, log
//!   and applied indexes, health; on the leader each member's matched index and lag; the calls this
//!   node's gateway received since it started, for the page's call rate). With auth on
//!   it needs a SigV4-signed request (service `swfd`) from an admin principal (`admin = true`), the
//!   same check the admin API makes of a SigV4 admin (`swf_auth::Auth::authenticate_admin`).
//! - `GET /console/api/pollers?domain=D`: the task lists of a domain polled on this node, the
//!   pollers waiting on each now, and the identities that polled each with how long ago (SWF has
//!   no call that tells these; polls wait on the leader, so a follower has none). The same admin
//!   check as the cluster view.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use swf_types::Fault;

use crate::http::Gateway;

/// The SigV4 service name the console signs its `/console/api/cluster` requests with (the admin
/// API's service name).
pub const ADMIN_SERVICE: &str = "swfd";

/// What the console's pages may load and reach: their own files and the server they came from,
/// nothing else (no inline script, no other origin, no framing).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
frame-ancestors 'none'; form-action 'none'";

/// The console's routes, merged into the gateway's router.
pub(crate) fn routes(gateway: Arc<Gateway>) -> axum::Router {
    axum::Router::new()
        .route("/console", get(redirect))
        .route("/console/", get(index))
        .route("/console/api/info", get(info))
        .route("/console/api/cluster", get(cluster))
        .route("/console/api/pollers", get(pollers))
        .route("/console/*path", get(file))
        .with_state(gateway)
}

async fn redirect() -> Response {
    (
        StatusCode::PERMANENT_REDIRECT,
        [(header::LOCATION, HeaderValue::from_static("/console/"))],
    )
        .into_response()
}

async fn index(headers: HeaderMap) -> Response {
    serve_file("", &headers)
}

async fn file(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve_file(&path, &headers)
}

fn serve_file(path: &str, headers: &HeaderMap) -> Response {
    let Some(asset) = swf_console::asset(path) else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "not found\n",
        )
            .into_response();
    };
    let etag = asset.etag();
    let mut resp = if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = asset.body.into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        );
        r
    };
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    resp
}

fn json_response(status: StatusCode, body: serde_json::Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn info(State(gw): State<Arc<Gateway>>) -> Response {
    json_response(
        StatusCode::OK,
        json!({
            "auth": gw.auth.is_some(),
            "region": gw.auth.as_ref().map(|a| a.region().to_string()),
            "adminService": ADMIN_SERVICE,
            "nodeId": gw.node.id,
        }),
    )
}

/// With auth on, the request must be signed (service [`ADMIN_SERVICE`]) by an admin principal; the
/// refusal to send otherwise.
fn admin_check(
    gw: &Gateway,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    action: &str,
) -> Option<Response> {
    let auth = gw.auth.as_ref()?;
    let target = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let fields: Vec<(&str, &[u8])> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_bytes()))
        .collect();
    let request = swf_auth::sigv4::Request {
        method: method.as_str(),
        target,
        headers: &fields,
        body: b"",
    };
    let e = auth
        .authenticate_admin(&request, ADMIN_SERVICE, swf_auth::time::now(), action, "*")
        .err()?;
    let f = e.fault();
    let status = StatusCode::from_u16(f.kind.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    tracing::warn!(code = f.code(), action, "console read refused");
    Some(json_response(status, f.to_json()))
}

async fn cluster(
    State(gw): State<Arc<Gateway>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = admin_check(&gw, &method, &uri, &headers, "swfd:DescribeCluster") {
        return refused;
    }
    let mut view = cluster_view(&gw.node);
    view["calls_received"] = json!(gw.calls_received());
    json_response(StatusCode::OK, view)
}

async fn pollers(
    State(gw): State<Arc<Gateway>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    if let Some(refused) = admin_check(&gw, &method, &uri, &headers, "swfd:DescribePollers") {
        return refused;
    }
    let Some(domain) = query.get("domain") else {
        return json_response(
            StatusCode::BAD_REQUEST,
            Fault::validation("expected ?domain=NAME").to_json(),
        );
    };
    let m = gw.node.raft.metrics().borrow().clone();
    let lists: Vec<serde_json::Value> = gw
        .node
        .task_lists(domain)
        .into_iter()
        .map(|l| {
            json!({
                "kind": l.kind_name(),
                "name": l.name,
                "pollers": l.pollers,
                "identities": l.identities.iter().map(|(id, ago)| json!({
                    "identity": id,
                    "secondsAgo": ago.as_secs_f64(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json_response(
        StatusCode::OK,
        json!({
            "nodeId": gw.node.id,
            "leaderId": m.current_leader,
            "leader": m.current_leader == Some(gw.node.id),
            "lists": lists,
        }),
    )
}

/// This node's `/cluster/status` view, with each member's matched log index and its lag behind the
/// leader's last log index when this node is the leader (`replication`, `null` on a follower: only
/// the leader knows), and how long ago a quorum last acknowledged the leader.
fn cluster_view(node: &swf_node::Node) -> serde_json::Value {
    let mut view = node.cluster_status();
    let m = node.raft.metrics().borrow().clone();
    let last = m.last_log_index.unwrap_or(0);
    let replication = m.replication.as_ref().map(|r| {
        r.iter()
            .map(|(id, matched)| {
                let matched = matched.map(|l| l.index);
                (
                    id.to_string(),
                    json!({
                        "matched": matched,
                        "lag": last.saturating_sub(matched.unwrap_or(0)),
                    }),
                )
            })
            .collect::<serde_json::Map<_, _>>()
    });
    view["replication"] = json!(replication);
    // Each voter's applied index: this node's own, and the others' from their answers to this node's
    // quorum watch (probed every 100 ms on every voter; `age_ms` says how fresh).
    let mut applied = serde_json::Map::new();
    applied.insert(
        node.id.to_string(),
        json!({"applied": m.last_applied.map_or(0, |l| l.index), "age_ms": 0}),
    );
    for (id, index, age) in node.peer_applied() {
        applied.insert(
            id.to_string(),
            json!({"applied": index, "age_ms": age.as_millis() as u64}),
        );
    }
    view["applied"] = serde_json::Value::Object(applied);
    view["millis_since_quorum_ack"] = json!(m.millis_since_quorum_ack);
    view
}
