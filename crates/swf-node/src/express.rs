//! StartSyncExecution on the node that took the call. The start is an ordinary replicated write
//! (`SfnOp::StartSyncExecution`, run on the leader through the router, de-duplicated by request id
//! if it has to be sent again); the wait for the execution's close happens here, on whichever node
//! took the call, because every node applies the log: the apply hook hands each applied entry's
//! writes to [`ExpressWaiters::observe`], which wakes the callers waiting on an execution whose
//! record was written closed. A leader change while the execution runs only moves where the
//! execution is driven (its record, timers and five-minute limit are replicated); the caller, held
//! by a follower, keeps waiting and is answered when its own replica applies the close.
//!
//! The caller registers before it reads its replica, so a close applied before the registration is
//! seen by the read and one applied after it wakes the caller. A closed Express record stays
//! `swf_core::sfn::express::RETENTION_MS`, far longer than that window. The replica is read again
//! every second as well (a snapshot install writes records without the hook), and the wait is
//! bounded by the five-minute limit plus a margin for elections.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;
use swf_core::sfn::records::Execution;
use swf_core::sfn::{express, keys};
use swf_core::state::{Lookup, Write};
use swf_store::StateReader;
use swf_types::Fault;
use tokio::sync::oneshot;

use crate::router::{Api, Router};

/// How long past the five-minute limit a caller still waits for the close (elections, a slow
/// replica).
const WAIT_MARGIN: Duration = Duration::from_secs(60);

/// How often a waiting caller reads its replica again.
const RECHECK: Duration = Duration::from_secs(1);

/// One waiting caller: its registration id and where its execution's closed record goes.
type Waiter = (u64, oneshot::Sender<Execution>);

/// Callers waiting for Express executions to close, by execution ARN.
#[derive(Default)]
pub struct ExpressWaiters {
    /// How many are registered: the apply hook does nothing while none are.
    count: AtomicUsize,
    waiting: Mutex<HashMap<String, Vec<Waiter>>>,
    next_id: AtomicUsize,
}

/// A registration, removed when dropped.
struct Registration<'a> {
    waiters: &'a ExpressWaiters,
    arn: String,
    id: u64,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        let mut w = self
            .waiters
            .waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(list) = w.get_mut(&self.arn) {
            let before = list.len();
            list.retain(|(id, _)| *id != self.id);
            self.waiters
                .count
                .fetch_sub(before - list.len(), Ordering::Relaxed);
            if list.is_empty() {
                w.remove(&self.arn);
            }
        }
    }
}

impl ExpressWaiters {
    fn register(&self, arn: &str) -> (Registration<'_>, oneshot::Receiver<Execution>) {
        let (tx, rx) = oneshot::channel();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) as u64;
        let mut w = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        w.entry(arn.to_string()).or_default().push((id, tx));
        self.count.fetch_add(1, Ordering::Relaxed);
        let reg = Registration {
            waiters: self,
            arn: arn.to_string(),
            id,
        };
        (reg, rx)
    }

    /// Called with each applied entry's writes: wakes the callers of every execution written closed.
    pub fn observe(&self, writes: &[Write]) {
        if self.count.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut w = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        for write in writes {
            let Write::Sfn {
                key,
                value: Some(value),
            } = write
            else {
                continue;
            };
            let Some(arn) = keys::execution_arn_of(key) else {
                continue;
            };
            if !w.contains_key(arn) {
                continue;
            }
            let Ok(x) = serde_json::from_slice::<Execution>(value) else {
                continue;
            };
            if x.is_running() {
                continue;
            }
            if let Some(list) = w.remove(arn) {
                self.count.fetch_sub(list.len(), Ordering::Relaxed);
                for (_, tx) in list {
                    let _ = tx.send(x.clone());
                }
            }
        }
    }
}

/// The record of `arn` on this replica, if it is there and closed.
fn closed(reader: &StateReader, arn: &str) -> Result<Option<Execution>, Fault> {
    let bytes = reader
        .sfn_get(&keys::execution(arn))
        .map_err(|e| Fault::internal(e.0))?;
    Ok(bytes
        .and_then(|b| serde_json::from_slice::<Execution>(&b).ok())
        .filter(|x| !x.is_running()))
}

/// StartSyncExecution: starts the execution through the leader, then waits here for its close and
/// answers `StartSyncExecutionOutput`.
pub(crate) async fn start_sync_execution(
    router: &Router,
    reader: &StateReader,
    waiters: &ExpressWaiters,
    input: Vec<u8>,
    request_id: &str,
) -> Result<Vec<u8>, Fault> {
    let body = serde_json::from_slice::<Value>(&input).unwrap_or_default();
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(String::from);
    let metadata_only = text("includedData").is_some_and(|d| d == "METADATA_ONLY");
    let trace_header = text("traceHeader");
    let started = router
        .call_api(Api::Sfn, "StartSyncExecution", input, 0, request_id)
        .await?;
    let arn = serde_json::from_slice::<Value>(&started)
        .ok()
        .and_then(|v| {
            v.get("executionArn")
                .and_then(Value::as_str)
                .map(String::from)
        })
        .ok_or_else(|| Fault::internal("the leader answered no executionArn"))?;
    let (_registration, mut rx) = waiters.register(&arn);
    let limit = Duration::from_millis(express::MAX_DURATION_MS as u64) + WAIT_MARGIN;
    let deadline = tokio::time::Instant::now() + limit;
    let mut woken = true;
    let x = loop {
        if let Some(x) = closed(reader, &arn)? {
            break x;
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Fault::internal(format!(
                "the Express execution {arn} did not close within {} s",
                limit.as_secs()
            )));
        }
        if woken {
            match tokio::time::timeout(RECHECK, &mut rx).await {
                Ok(Ok(x)) => break x,
                // Dropped: only the periodic read remains.
                Ok(Err(_)) => woken = false,
                Err(_) => {}
            }
        } else {
            tokio::time::sleep(RECHECK).await;
        }
    };
    let mut out = express::sync_output(&x, metadata_only);
    if let Some(t) = trace_header {
        // Echoed as given (there is no X-Ray on-prem).
        out["traceHeader"] = Value::String(t);
    }
    serde_json::to_vec(&out).map_err(|e| Fault::internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stored Express record (swf-core's golden file) under `arn` with `status`.
    fn record(arn: &str, status: &str) -> Write {
        let mut x: Execution = serde_json::from_str(include_str!(
            "../../swf-core/tests/golden/record/sfn_execution_express.json"
        ))
        .expect("a record");
        x.arn = arn.to_string();
        x.status = status.to_string();
        Write::Sfn {
            key: keys::execution(arn),
            value: Some(serde_json::to_vec(&x).unwrap()),
        }
    }

    #[tokio::test]
    async fn waiters_are_woken_by_a_closed_record_only_and_leave_no_trace() {
        let w = ExpressWaiters::default();
        // Nothing registered: nothing decoded.
        w.observe(&[record("a", "SUCCEEDED")]);
        let (reg, mut rx) = w.register("a");
        let (reg_b, _rx_b) = w.register("b");
        assert_eq!(w.count.load(Ordering::Relaxed), 2);
        // Still running, or another execution, or not a record: no wake.
        w.observe(&[record("a", "RUNNING"), record("c", "FAILED")]);
        w.observe(&[Write::Sfn {
            key: keys::history("a", 1),
            value: Some(b"{}".to_vec()),
        }]);
        assert!(rx.try_recv().is_err());
        w.observe(&[record("a", "SUCCEEDED")]);
        assert_eq!(rx.try_recv().expect("woken").status, "SUCCEEDED");
        assert_eq!(w.count.load(Ordering::Relaxed), 1);
        drop(reg);
        drop(reg_b);
        assert_eq!(w.count.load(Ordering::Relaxed), 0);
        assert!(w.waiting.lock().unwrap().is_empty());
    }
}
