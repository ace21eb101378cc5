//! A recording SWF client over raw HTTP (AWS JSON 1.0, `X-Amz-Target: SimpleWorkflowService.<Action>`).
//! Every call is recorded with its invoke and complete times and outcome. Clients spread over all
//! nodes and retry on another node the way SDKs retry (timeouts, lost connections, 5xx).

use std::time::Duration;

use serde_json::Value;

use crate::history::{now_ms, Op, OpKey, Outcome, Recorder};

/// A client bound to the cluster's SWF endpoints.
#[derive(Clone)]
pub struct Swf {
    http: reqwest::Client,
    endpoints: Vec<String>,
    recorder: Recorder,
    /// The workload task name recorded with each call.
    pub process: String,
    /// The node this client prefers; retries move to the next one.
    pub home: usize,
}

/// What a call returned: the outcome and, for ok, the response body.
pub struct Reply {
    pub outcome: Outcome,
    pub body: Value,
    pub node: usize,
    pub invoke_ms: f64,
    pub complete_ms: f64,
}

impl Swf {
    pub fn new(endpoints: Vec<String>, recorder: Recorder, process: &str, home: usize) -> Swf {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .expect("http client");
        Swf {
            http,
            endpoints,
            recorder,
            process: process.to_string(),
            home,
        }
    }

    /// One call to one node, not recorded (the caller records it with its key).
    pub async fn call_once(
        &self,
        node: usize,
        action: &str,
        body: &Value,
        timeout: Duration,
    ) -> Reply {
        self.call_once_as(node, action, body, timeout, None).await
    }

    /// [`Swf::call_once`] as one attempt of a call its caller may make again: `invocation` is sent as
    /// `amz-sdk-invocation-id`, the same for every attempt, as the AWS SDKs do when they retry (the
    /// server then applies the call at most once, whichever attempts arrive).
    pub async fn call_once_as(
        &self,
        node: usize,
        action: &str,
        body: &Value,
        timeout: Duration,
        invocation: Option<&str>,
    ) -> Reply {
        let invoke_ms = now_ms();
        let url = format!("{}/", self.endpoints[node % self.endpoints.len()]);
        let mut request = self
            .http
            .post(url)
            .header("X-Amz-Target", format!("SimpleWorkflowService.{action}"))
            .header("Content-Type", "application/x-amz-json-1.0");
        if let Some(id) = invocation {
            request = request.header("amz-sdk-invocation-id", id);
        }
        let res = request.timeout(timeout).body(body.to_string()).send().await;
        let (outcome, body) = match res {
            Err(e) if e.is_connect() => (Outcome::Fail(short(&e)), Value::Null),
            Err(e) => (Outcome::Indeterminate(short(&e)), Value::Null),
            Ok(resp) => {
                let status = resp.status();
                match resp.bytes().await {
                    Err(e) => (Outcome::Indeterminate(short(&e)), Value::Null),
                    Ok(bytes) => {
                        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                        if status.is_success() {
                            (Outcome::Ok, v)
                        } else {
                            let code = v["__type"]
                                .as_str()
                                .map(|t| t.rsplit('#').next().unwrap_or(t).to_string())
                                .unwrap_or_else(|| format!("HTTP {status}"));
                            if status.is_server_error() {
                                (Outcome::Indeterminate(code), v)
                            } else {
                                (Outcome::Fault(code), v)
                            }
                        }
                    }
                }
            }
        };
        Reply {
            outcome,
            body,
            node: node % self.endpoints.len(),
            invoke_ms,
            complete_ms: now_ms(),
        }
    }

    /// Records a finished call.
    pub fn record(&self, action: &str, reply: &Reply, key: OpKey) {
        self.recorder.record(Op {
            process: self.process.clone(),
            action: action.to_string(),
            node: reply.node,
            invoke_ms: reply.invoke_ms,
            complete_ms: reply.complete_ms,
            outcome: reply.outcome.clone(),
            key,
        });
    }

    /// A call retried on the next node while it fails or is indeterminate, for up to `attempts`
    /// attempts; each attempt is recorded with `key`. Returns the last reply.
    pub async fn call(
        &self,
        action: &str,
        body: &Value,
        key: OpKey,
        timeout: Duration,
        attempts: usize,
    ) -> Reply {
        let mut backoff = Duration::from_millis(100);
        let mut last = None;
        for node in self.home..self.home + attempts.max(1) {
            let reply = self.call_once(node, action, body, timeout).await;
            self.record(action, &reply, key.clone());
            match reply.outcome {
                Outcome::Ok | Outcome::Fault(_) => return reply,
                _ => {}
            }
            last = Some(reply);
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
        last.expect("at least one attempt")
    }
}

fn short(e: &reqwest::Error) -> String {
    let s = e.to_string();
    if e.is_timeout() || s.contains("timed out") {
        "timeout".into()
    } else {
        s.chars().take(120).collect()
    }
}
