//! Pollers that vanish mid-poll: open a connection, send a PollForDecisionTask or PollForActivityTask
//! on one of the workload's task lists, and drop the connection a seeded 50–800 ms later without
//! reading the answer, as a crashed or impatient worker does. The server must withdraw such a poll at
//! once and never hand it a task; a task whose start was already in flight when the poller left goes
//! to another waiting poller or is recovered by its timeout (checked by `checker::vanished`). Their
//! identities start with [`IDENTITY_PREFIX`] so the checker can find the tasks started for them.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::history::{now_ms, Op, OpKey, Outcome, Recorder};
use crate::workload::{Shared, DOMAIN};

/// The identity of every vanishing poller starts with this.
pub const IDENTITY_PREFIX: &str = "vanisher-";

/// One vanishing poller's loop: about two vanished polls a second, on a node in turn, until the
/// workload stops. `seed` makes the lists, nodes and hold times repeatable.
pub async fn vanisher(
    endpoints: Vec<String>,
    recorder: Recorder,
    index: usize,
    seed: u64,
    shared: Arc<Shared>,
) {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x7a15_4e55 ^ index as u64);
    let process = format!("{IDENTITY_PREFIX}{index}");
    let mut n = index;
    while !shared.stop_all.load(Ordering::SeqCst) {
        let (action, list) = if rng.gen_bool(0.5) {
            ("PollForDecisionTask", "deciders")
        } else {
            ("PollForActivityTask", "workers")
        };
        let hold = Duration::from_millis(rng.gen_range(50..=800));
        let node = n % endpoints.len();
        n += 1;
        let invoke_ms = now_ms();
        let outcome = vanish(&endpoints[node], action, list, &process, hold).await;
        recorder.record(Op {
            process: process.clone(),
            action: action.to_string(),
            node,
            invoke_ms,
            complete_ms: now_ms(),
            outcome,
            key: OpKey::Other,
        });
        tokio::time::sleep(Duration::from_millis(rng.gen_range(100..=600))).await;
    }
}

/// Sends one poll to `endpoint` (`http://HOST:PORT`) and drops the connection after `hold`. The
/// outcome is indeterminate (the poller left; a task may have been started for it) unless the
/// connection could not be made.
async fn vanish(
    endpoint: &str,
    action: &str,
    list: &str,
    identity: &str,
    hold: Duration,
) -> Outcome {
    let addr = endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let body =
        json!({"domain": DOMAIN, "taskList": {"name": list}, "identity": identity}).to_string();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nX-Amz-Target: SimpleWorkflowService.{action}\r\n\
         Content-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let connected = tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(&addr)).await;
    let mut stream = match connected {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Outcome::Fail(format!("connect: {e}")),
        Err(_) => return Outcome::Fail("connect: timeout".into()),
    };
    if let Err(e) = stream.write_all(request.as_bytes()).await {
        return Outcome::Indeterminate(format!("vanished (write: {e})"));
    }
    tokio::time::sleep(hold).await;
    drop(stream);
    Outcome::Indeterminate("vanished".into())
}
