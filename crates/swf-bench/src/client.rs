//! A lean SWF wire-protocol client: one HTTP/1.1 keep-alive connection per driver, AWS JSON 1.0 bodies,
//! and SWF-style faults decoded from `{"__type": ..., "message": ...}`. It never links the server's code, so
//! it measures any endpoint (swfd, a cluster, moto_server, ...).

use std::sync::atomic::{AtomicU64, Ordering};
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
    /// The service answered with a fault (`__type`), with this HTTP status.
    Fault {
        kind: String,
        message: String,
        status: u16,
    },
    /// Transport trouble or an unreadable answer: the call may or may not have happened.
    Transport(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Fault { kind, message, .. } => write!(f, "{kind}: {message}"),
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
    /// Other endpoints to turn to when this one refuses connections (as a client behind a load
    /// balancer or a Kubernetes Service reaches another pod), in order.
    fallbacks: Vec<String>,
    retry: Retry,
}

/// Retries made by every client of this process (reported by swf-bench).
pub static RETRIES: AtomicU64 = AtomicU64::new(0);

/// The AWS SDKs' standard retry mode
/// (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html): up to
/// `max_attempts` attempts (3 by default); transient errors (no HTTP answer: refused or closed
/// connections, timeouts; HTTP 500, 502, 503, 504) and throttling errors are retried after an
/// exponential backoff with full jitter (`random(0, 1) * 2^retry` seconds, at most 20 s), while the
/// retry quota lasts (500 tokens; a retry costs 5, 10 after a timeout; a success gives back what its
/// retry cost, or 1 on a first attempt).
struct Retry {
    max_attempts: u32,
    quota: u32,
    seed: u64,
}

const QUOTA: u32 = 500;
const RETRY_COST: u32 = 5;
const TIMEOUT_COST: u32 = 10;
const MAX_BACKOFF: Duration = Duration::from_secs(20);

/// Fault codes the standard mode treats as throttling or transient.
const RETRIED_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
    "RequestTimeout",
    "RequestTimeoutException",
];

impl Retry {
    /// What a retry after `e` costs, if it is retried at all.
    fn cost(e: &CallError) -> Option<u32> {
        match e {
            CallError::Transport(m) if m.starts_with("timed out") => Some(TIMEOUT_COST),
            CallError::Transport(_) => Some(RETRY_COST),
            CallError::Fault { kind, status, .. } => {
                let code = kind.rsplit('#').next().unwrap_or(kind);
                (matches!(status, 500 | 502 | 503 | 504) || RETRIED_CODES.contains(&code))
                    .then_some(RETRY_COST)
            }
        }
    }

    /// Jittered backoff before retry number `retry` (1 for the first).
    fn backoff(&mut self, retry: u32) -> Duration {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        let jitter = (self.seed >> 11) as f64 / (1u64 << 53) as f64;
        Duration::from_secs_f64(jitter * 2f64.powi(retry as i32 - 1)).min(MAX_BACKOFF)
    }
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
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
            | 1;
        Ok(SwfClient {
            addr: authority.clone(),
            authority,
            sender: None,
            timeout,
            fallbacks: Vec::new(),
            retry: Retry {
                max_attempts: 3,
                quota: QUOTA,
                seed,
            },
        })
    }

    /// Sets the attempts per call (1: no retries) and the endpoints to turn to, in order, when the
    /// current one refuses connections.
    pub fn with_retries(mut self, max_attempts: u32, fallbacks: &[String]) -> Result<Self> {
        self.retry.max_attempts = max_attempts.max(1);
        self.fallbacks = fallbacks
            .iter()
            .map(|e| authority_of(e))
            .collect::<Result<_>>()?;
        Ok(self)
    }

    /// Calls `action` as the standard retry mode does (see [`Retry`]); returns the last outcome.
    pub async fn call(&mut self, action: &str, body: &Value) -> Result<Value, CallError> {
        let mut attempt = 1;
        let mut spent = 0;
        loop {
            match self.call_once(action, body).await {
                Ok(v) => {
                    self.retry.quota = (self.retry.quota + spent.max(1)).min(QUOTA);
                    return Ok(v);
                }
                Err(e) => {
                    let Some(cost) = Retry::cost(&e) else {
                        return Err(e);
                    };
                    if attempt >= self.retry.max_attempts || self.retry.quota < cost {
                        return Err(e);
                    }
                    self.retry.quota -= cost;
                    spent = cost;
                    if matches!(&e, CallError::Transport(m) if m.starts_with("connect ")) {
                        self.next_endpoint();
                    }
                    RETRIES.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(self.retry.backoff(attempt)).await;
                    attempt += 1;
                }
            }
        }
    }

    /// Moves to the next endpoint of the fallbacks (the current one goes to their end).
    fn next_endpoint(&mut self) {
        if self.fallbacks.is_empty() {
            return;
        }
        let next = self.fallbacks.remove(0);
        let current = std::mem::replace(&mut self.addr, next);
        self.authority = self.addr.clone();
        self.fallbacks.push(current);
        self.sender = None;
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

    /// Calls `action` with a JSON body once; returns the parsed JSON answer. A keep-alive connection
    /// the server closed before the request went out (moto_server does that) is replaced and the call
    /// sent once more.
    async fn call_once(&mut self, action: &str, body: &Value) -> Result<Value, CallError> {
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
        Err(CallError::Fault {
            kind,
            message,
            status: status.as_u16(),
        })
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
