//! Express executions in the chaos workload: a caller runs `StartSyncExecution` on an EXPRESS machine
//! (Pass with an intrinsic, Choice, Succeed) over and over, on every node in turn, through the faults.
//! Each answer of 200 must be the run to its end: status SUCCEEDED and the output the machine
//! computes from the input. Calls that get no answer are indeterminate (an Express run is
//! at-least-once: a retry is a new run), so only the answers are judged.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::task::JoinHandle;

use crate::checker::Verdict;
use crate::sfn::{call, call_retried, http};
use crate::workload::Shared;

/// The running caller and what it found.
pub struct ExpressLoad {
    verdict: Arc<Mutex<Verdict>>,
    task: Option<JoinHandle<()>>,
}

impl ExpressLoad {
    /// Creates the Express machine and starts the caller; `None` (with a warning) when the cluster
    /// refuses it.
    pub async fn start(endpoints: &[String], shared: Arc<Shared>) -> Option<ExpressLoad> {
        let definition = json!({"StartAt": "D", "States": {
            "D": {"Type": "Pass", "Parameters": {"i.$": "$.i", "double.$": "States.MathAdd($.i, $.i)"},
                  "Next": "C"},
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.double", "NumericGreaterThanEquals": 0,
                  "Next": "S"}], "Default": "F"},
            "S": {"Type": "Succeed"},
            "F": {"Type": "Fail", "Error": "Negative"}
        }});
        let made = call_retried(
            &http(),
            endpoints,
            0,
            "CreateStateMachine",
            &json!({"name": "chaos-sfn-express", "type": "EXPRESS",
                    "definition": definition.to_string(),
                    "roleArn": "arn:aws:iam::000000000000:role/chaos"}),
            20,
        )
        .await;
        let sm = match made {
            Ok(v) => v["stateMachineArn"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            Err(e) => {
                tracing::warn!(error = ?e, "Express executions left out: the machine was refused");
                return None;
            }
        };
        let verdict = Arc::new(Mutex::new(Verdict::default()));
        let task = tokio::spawn(caller(endpoints.to_vec(), sm, verdict.clone(), shared));
        Some(ExpressLoad {
            verdict,
            task: Some(task),
        })
    }

    /// Waits for the caller (it stops with the workload's flags), aborting it after `grace`.
    pub async fn stop(&mut self, grace: Duration) {
        if let Some(t) = self.task.take() {
            let abort = t.abort_handle();
            if tokio::time::timeout(grace, t).await.is_err() {
                abort.abort();
            }
        }
    }

    /// What the answers showed.
    pub fn check(&self) -> Verdict {
        let v = self.verdict.lock().expect("express verdict");
        Verdict {
            checked: v.checked,
            anomalies: v.anomalies.clone(),
        }
    }
}

async fn caller(
    endpoints: Vec<String>,
    sm: String,
    verdict: Arc<Mutex<Verdict>>,
    shared: Arc<Shared>,
) {
    let h = http();
    let mut seq = 0u64;
    while !shared.stop_new.load(Ordering::Relaxed) {
        seq += 1;
        let body = json!({"stateMachineArn": sm, "name": format!("x-{seq}"),
                          "input": json!({"i": seq}).to_string()});
        let endpoint = &endpoints[seq as usize % endpoints.len()];
        let answer = call(
            &h,
            endpoint,
            "StartSyncExecution",
            &body,
            Duration::from_secs(10),
        )
        .await;
        if let Ok(a) = answer {
            let output: Value = a["output"]
                .as_str()
                .and_then(|o| serde_json::from_str(o).ok())
                .unwrap_or(Value::Null);
            let mut v = verdict.lock().expect("express verdict");
            v.checked += 1;
            if a["status"] != "SUCCEEDED" || output != json!({"i": seq, "double": 2 * seq}) {
                v.flag(
                    "step-functions",
                    json!({"problem": "a StartSyncExecution answered 200 without the run's result",
                           "input": seq, "answer": a}),
                );
            }
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
}
