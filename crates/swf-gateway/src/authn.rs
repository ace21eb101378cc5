//! Authentication of an SWF or Step Functions call (SigV4, `swf_auth`): the request head as
//! received is parsed again for its request line and header fields, the body hashed, and the
//! signature verified against the principals in force. The caller found travels with the call to
//! the leader, which authorises it. Without an auth configuration nothing is checked.

use std::sync::Arc;

use swf_auth::sigv4::Request;
use swf_auth::{Auth, Caller};
use swf_types::Fault;

use crate::h1::parse::MAX_HEADERS;

/// The SigV4 service name a call is signed for, by its `X-Amz-Target` prefix.
pub(crate) fn service_of(target: &str) -> &'static str {
    if target.starts_with("AWSStepFunctions.") {
        "states"
    } else {
        "swf"
    }
}

/// Verifies the call whose head (request line and header fields, as received) is `head`; `None`
/// for a head we could not get (treated as carrying no `Authorization`). `now` (seconds since the
/// epoch) is what the request's date and a temporary key's expiry are judged against: the cluster's
/// time (`Node::cluster_now_secs`), so a node whose own clock is off judges clients as the others do.
pub(crate) fn authenticate(
    auth: &Auth,
    now: i64,
    head: Option<&[u8]>,
    target: &str,
    body: &[u8],
) -> Result<Arc<Caller>, Fault> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut fields);
    let parsed = head.is_some_and(|h| matches!(req.parse(h), Ok(httparse::Status::Complete(_))));
    let (method, path) = match (parsed, req.method, req.path) {
        (true, Some(m), Some(p)) => (m, p),
        _ => ("POST", "/"),
    };
    let headers: Vec<(&str, &[u8])> = if parsed {
        req.headers.iter().map(|h| (h.name, h.value)).collect()
    } else {
        Vec::new()
    };
    let principal = auth
        .authenticate(
            &Request {
                method,
                target: path,
                headers: &headers,
                body,
            },
            service_of(target),
            now,
        )
        .map_err(|e| e.fault())?;
    Ok(Arc::new(auth.caller(&principal)))
}

/// A head in HTTP/1.1 form from axum's parts (for a call that reached the axum router).
pub(crate) fn head_of(method: &str, uri: &str, headers: &axum::http::HeaderMap) -> Vec<u8> {
    let mut out = format!("{method} {uri} HTTP/1.1\r\n").into_bytes();
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}
