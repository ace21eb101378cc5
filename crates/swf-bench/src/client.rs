//! A lean SWF wire-protocol client: one HTTP/1.1 keep-alive connection per driver, AWS JSON 1.0 bodies,
//! and SWF-style faults decoded from `{"__type": ..., "message": ...}`. It never links the server's code, so
//! it measures any endpoint (swfd, a cluster, moto_server, ...).

use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;

/// The outcome of one call, as the driver sees it.
#[derive(Debug)]
pub enum CallError {
    /// The service answered with a fault (`__type`).
    Fault { kind: String, message: String },
    /// Transport trouble or an unreadable answer: the call may or may not have happened.
    Transport(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Fault { kind, message } => write!(f, "{kind}: {message}"),
            CallError::Transport(e) => write!(f, "transport: {e}"),
        }
    }
}

impl CallError {
    /// The short name used to count errors in the report.
    pub fn label(&self) -> String {
        match self {
            CallError::Fault { kind, .. } => kind.rsplit('#').next().unwrap_or(kind).to_string(),
            CallError::Transport(_) => "Transport".to_string(),
        }
    }
}

/// An Authorization header with SigV4's shape and a dummy signature (servers that route on it, such as
/// moto_server, need the `swf` credential scope; swfd does not check signatures yet).
const AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=swfbench/20260101/us-east-1/swf/aws4_request, \
SignedHeaders=content-type;host;x-amz-target, Signature=0000000000000000000000000000000000000000000000000000000000000000";

/// One keep-alive connection to an SWF endpoint.
pub struct SwfClient {
    authority: String,
    addr: String,
    sender: Option<SendRequest<Full<Bytes>>>,
    timeout: Duration,
}

/// Splits `http://host:port[/]` into `host:port`.
pub fn authority_of(endpoint: &str) -> Result<String> {
    let rest = endpoint
        .strip_prefix("http://")
        .ok_or_else(|| anyhow!("endpoint must start with http:// (got {endpoint})"))?;
    let authority = rest.trim_end_matches('/');
    if authority.is_empty() || authority.contains('/') {
        return Err(anyhow!(
            "endpoint must be http://HOST:PORT (got {endpoint})"
        ));
    }
    Ok(authority.to_string())
}

impl SwfClient {
    pub fn new(endpoint: &str, timeout: Duration) -> Result<Self> {
        let authority = authority_of(endpoint)?;
        Ok(SwfClient {
            addr: authority.clone(),
            authority,
            sender: None,
            timeout,
        })
    }

    async fn connect(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, CallError> {
        if self.sender.as_ref().is_some_and(|s| !s.is_closed()) {
            return Ok(self.sender.as_mut().expect("checked"));
        }
        let stream = TcpStream::connect(&self.addr)
            .await
            .map_err(|e| CallError::Transport(format!("connect {}: {e}", self.addr)))?;
        let _ = stream.set_nodelay(true);
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| CallError::Transport(e.to_string()))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        self.sender = Some(sender);
        Ok(self.sender.as_mut().expect("just set"))
    }

    /// Calls `action` with a JSON body; returns the parsed JSON answer. A keep-alive connection the
    /// server closed before the request went out (moto_server does that) is replaced and the call sent
    /// once more; an answer lost after sending is reported, never retried.
    pub async fn call(&mut self, action: &str, body: &Value) -> Result<Value, CallError> {
        let payload =
            Bytes::from(serde_json::to_vec(body).map_err(|e| CallError::Transport(e.to_string()))?);
        let mut attempt = 0;
        let (status, body) = loop {
            attempt += 1;
            match self.exchange(action, payload.clone()).await {
                Ok(answer) => break answer,
                Err((e, unsent)) => {
                    self.sender = None;
                    if !(unsent && attempt == 1) {
                        return Err(e);
                    }
                }
            }
        };
        let value: Value = if body.is_empty() {
            Value::Object(Default::default())
        } else {
            serde_json::from_slice(&body).map_err(|e| {
                CallError::Transport(format!("HTTP {status}: unreadable body ({e})"))
            })?
        };
        if status.is_success() {
            return Ok(value);
        }
        let kind = value
            .get("__type")
            .and_then(Value::as_str)
            .unwrap_or("UnknownError")
            .to_string();
        let message = value
            .get("message")
            .or_else(|| value.get("Message"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        Err(CallError::Fault { kind, message })
    }

    /// One request on the current connection; on failure, whether it surely never reached the server.
    async fn exchange(
        &mut self,
        action: &str,
        payload: Bytes,
    ) -> Result<(hyper::StatusCode, Bytes), (CallError, bool)> {
        let timeout = self.timeout;
        let request = Request::post("/")
            .header("host", self.authority.as_str())
            // An action with a prefix (`AWSStepFunctions.StartExecution`) is sent as it is.
            .header("x-amz-target", target(action))
            .header("content-type", "application/x-amz-json-1.0")
            // Unsigned, but shaped like SigV4: moto_server picks the service from the credential scope.
            .header("authorization", AUTHORIZATION)
            .body(Full::new(payload))
            .map_err(|e| (CallError::Transport(e.to_string()), false))?;
        let sender = self.connect().await.map_err(|e| (e, false))?;
        if sender.ready().await.is_err() {
            return Err((CallError::Transport("connection closed".into()), true));
        }
        let exchange = async {
            let resp = sender.send_request(request).await?;
            let status = resp.status();
            let body = resp.into_body().collect().await?.to_bytes();
            Ok::<_, hyper::Error>((status, body))
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                let unsent = e.is_canceled();
                Err((CallError::Transport(e.to_string()), unsent))
            }
            Err(_) => Err((
                CallError::Transport(format!("timed out after {timeout:?}")),
                false,
            )),
        }
    }

    /// Like [`call`](Self::call), also returning how long it took.
    pub async fn timed(
        &mut self,
        action: &str,
        body: &Value,
    ) -> (Duration, Result<Value, CallError>) {
        let t0 = Instant::now();
        let r = self.call(action, body).await;
        (t0.elapsed(), r)
    }
}

/// The `X-Amz-Target` of `action`: SWF's unless the action names its own prefix.
fn target(action: &str) -> String {
    if action.contains('.') {
        action.to_string()
    } else {
        format!("SimpleWorkflowService.{action}")
    }
}

/// Checks that `endpoint` answers SWF calls at all (a cheap ListDomains).
pub async fn probe(endpoint: &str) -> Result<()> {
    let mut c = SwfClient::new(endpoint, Duration::from_secs(10))?;
    c.call(
        "ListDomains",
        &serde_json::json!({"registrationStatus": "REGISTERED", "maximumPageSize": 1}),
    )
    .await
    .map_err(|e| anyhow!("{e}"))
    .with_context(|| format!("probing {endpoint}"))?;
    Ok(())
}
