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

    /// Calls `action` with a JSON body; returns the parsed JSON answer.
    pub async fn call(&mut self, action: &str, body: &Value) -> Result<Value, CallError> {
        let payload = serde_json::to_vec(body).map_err(|e| CallError::Transport(e.to_string()))?;
        let timeout = self.timeout;
        let authority = self.authority.clone();
        let target = format!("SimpleWorkflowService.{action}");
        let sender = self.connect().await?;
        let request = Request::post("/")
            .header("host", authority)
            .header("x-amz-target", target)
            .header("content-type", "application/x-amz-json-1.0")
            .body(Full::new(Bytes::from(payload)))
            .map_err(|e| CallError::Transport(e.to_string()))?;
        let exchange = async {
            sender.ready().await?;
            let resp = sender.send_request(request).await?;
            let status = resp.status();
            let body = resp.into_body().collect().await?.to_bytes();
            Ok::<_, hyper::Error>((status, body))
        };
        let outcome = tokio::time::timeout(timeout, exchange).await;
        let (status, body) = match outcome {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => {
                self.sender = None;
                return Err(CallError::Transport(e.to_string()));
            }
            Err(_) => {
                self.sender = None;
                return Err(CallError::Transport(format!("timed out after {timeout:?}")));
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
