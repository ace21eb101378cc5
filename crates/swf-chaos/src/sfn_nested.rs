//! Nested Step Functions executions in the chaos workload: a parent machine whose one Task starts an
//! execution of the main chaos machine (`sfn`) with `arn:aws:states:::states:startExecution.sync:2`
//! and waits for it to close, so a child's activity task crosses every fault the run injects. The
//! checker reads the parents back after healing: no acknowledged StartExecution lost, histories
//! valid, and a parent that succeeded names a child that exists and succeeded with the input it was
//! given; a parent that failed, timed out or was aborted is an anomaly (nothing in the run fails one).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::task::JoinHandle;

use crate::checker::Verdict;
use crate::sfn::{call_retried, check_history, history, http, list_executions, starter};
use crate::workload::Shared;

/// The running parents.
pub struct NestedLoad {
    started: Arc<Mutex<Vec<String>>>,
    task: Option<JoinHandle<()>>,
    parent_arn: String,
}

impl NestedLoad {
    /// Creates the parent machine over `child_sm` and starts its starter; `None` (with a warning)
    /// when the cluster refuses the definition.
    pub async fn start(
        endpoints: &[String],
        child_sm: &str,
        shared: Arc<Shared>,
    ) -> Option<NestedLoad> {
        let definition = json!({"StartAt": "N", "States": {
            "N": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
                  "Parameters": {"StateMachineArn": child_sm, "Input": {"i.$": "$.i"},
                                 "Name.$": "States.Format('{}-child', $$.Execution.Name)"},
                  "ResultSelector": {"status.$": "$.Status", "child.$": "$.ExecutionArn", "output.$": "$.Output"},
                  "End": true}
        }});
        let made = call_retried(
            &http(),
            endpoints,
            0,
            "CreateStateMachine",
            &json!({"name": "chaos-sfn-parent", "definition": definition.to_string(),
                    "roleArn": "arn:aws:iam::000000000000:role/chaos"}),
            20,
        )
        .await;
        let parent_arn = match made {
            Ok(v) => v["stateMachineArn"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            Err(e) => {
                tracing::warn!(error = ?e, "nested executions left out: the parent machine was refused");
                return None;
            }
        };
        let started = Arc::new(Mutex::new(Vec::new()));
        let acknowledged = started.clone();
        let task = tokio::spawn(starter(
            endpoints.to_vec(),
            parent_arn.clone(),
            "p-",
            Duration::from_millis(1500),
            move |name| acknowledged.lock().expect("nested log").push(name),
            shared,
        ));
        Some(NestedLoad {
            started,
            task: Some(task),
            parent_arn,
        })
    }

    /// Waits for the starter (it stops with the workload's flags), aborting it after `grace`.
    pub async fn stop(&mut self, grace: Duration) {
        if let Some(t) = self.task.take() {
            let abort = t.abort_handle();
            if tokio::time::timeout(grace, t).await.is_err() {
                abort.abort();
            }
        }
    }

    /// Reads every parent back (see the module doc).
    pub async fn check(&self, endpoints: &[String]) -> Verdict {
        let mut v = Verdict::default();
        let h = http();
        let started = self.started.lock().expect("nested log").clone();
        let listed = match list_executions(&h, endpoints, &self.parent_arn).await {
            Ok(l) => l,
            Err(e) => {
                v.flag(
                    "step-functions",
                    json!({"problem": "ListExecutions of the parents failed", "error": e}),
                );
                return v;
            }
        };
        for name in &started {
            if !listed.iter().any(|(n, _, _)| n == name) {
                v.flag(
                    "step-functions",
                    json!({"problem": "an acknowledged StartExecution of a parent is lost", "name": name}),
                );
            }
        }
        for (name, arn, status) in &listed {
            match history(&h, endpoints, arn).await {
                Ok(events) => {
                    v.checked += 1;
                    check_history(&mut v, arn, &events);
                }
                Err(e) => v.flag(
                    "step-functions",
                    json!({"problem": "GetExecutionHistory failed", "execution": arn, "error": e}),
                ),
            }
            match status.as_str() {
                "RUNNING" => {}
                "SUCCEEDED" => check_child(&h, endpoints, &mut v, name, arn).await,
                other => v.flag(
                    "step-functions",
                    json!({"problem": "a parent execution did not succeed", "execution": arn, "status": other}),
                ),
            }
        }
        v
    }
}

/// A parent that succeeded: its output names its child, which succeeded with the parent's `i`.
async fn check_child(
    h: &reqwest::Client,
    endpoints: &[String],
    v: &mut Verdict,
    name: &str,
    arn: &str,
) {
    let described = call_retried(
        h,
        endpoints,
        0,
        "DescribeExecution",
        &json!({"executionArn": arn}),
        10,
    )
    .await;
    let output: Value = described
        .ok()
        .and_then(|d| {
            d["output"]
                .as_str()
                .and_then(|o| serde_json::from_str(o).ok())
        })
        .unwrap_or(Value::Null);
    let want_i: Option<u64> = name.strip_prefix("p-").and_then(|n| n.parse().ok());
    let child_i = output["output"]["i"].as_u64();
    let child = output["child"].as_str().unwrap_or_default().to_string();
    let child_status = match call_retried(
        h,
        endpoints,
        0,
        "DescribeExecution",
        &json!({"executionArn": child}),
        10,
    )
    .await
    {
        Ok(d) => d["status"].as_str().unwrap_or_default().to_string(),
        Err(e) => format!("{e:?}"),
    };
    if output["status"] != "SUCCEEDED"
        || child_status != "SUCCEEDED"
        || child_i.is_none()
        || child_i != want_i
        || !child.ends_with(&format!(":{name}-child"))
    {
        v.flag(
            "step-functions",
            json!({"problem": "a parent succeeded without its child's result", "execution": arn,
                   "output": output, "child_status": child_status}),
        );
    }
}
