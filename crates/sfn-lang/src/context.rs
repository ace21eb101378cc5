//! The context object `$$`: what the caller (the engine, from leader-stamped, replicated state) knows
//! about the execution, the state, the task and the Map item, laid out with AWS's member names.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// The Map iteration a state runs in (`$$.Map.Item`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapItem {
    /// `$$.Map.Item.Index`, from 0.
    pub index: u64,
    /// `$$.Map.Item.Value`.
    pub value: Value,
}

/// Everything `$$` exposes. Times are RFC 3339 strings as AWS shows them (stamped by the leader).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Context {
    pub execution_id: String,
    pub execution_input: Value,
    pub execution_name: String,
    pub execution_role_arn: String,
    pub execution_start_time: String,
    pub state_name: String,
    pub state_entered_time: String,
    /// `$$.State.RetryCount`: how many retries of this state have happened so far.
    pub state_retry_count: u32,
    pub state_machine_id: String,
    pub state_machine_name: String,
    /// `$$.Task.Token`: present only while evaluating a Task state's Parameters.
    pub task_token: Option<String>,
    pub map_item: Option<MapItem>,
    /// `$$.Execution.RedriveCount`: how many times the execution was redriven (0 before any).
    #[serde(default)]
    pub execution_redrive_count: u32,
    /// `$$.Execution.RedriveTime`: the last redrive's time; present only once redriven.
    #[serde(default)]
    pub execution_redrive_time: Option<String>,
}

impl Context {
    /// The `$$` object, keys in the order AWS documents them.
    pub fn to_value(&self) -> Value {
        let mut root = Map::new();
        let mut execution = json!({
            "Id": self.execution_id,
            "Input": self.execution_input,
            "Name": self.execution_name,
            "RoleArn": self.execution_role_arn,
            "StartTime": self.execution_start_time,
            // Always there, 0 before any redrive (a context AWS handed a Lambda function, recorded in
            // DataDog/datadog-lambda-python's tests: `"StartTime": ..., "RedriveCount": 0`).
            "RedriveCount": self.execution_redrive_count,
        });
        if let Some(t) = &self.execution_redrive_time {
            execution["RedriveTime"] = json!(t);
        }
        root.insert("Execution".into(), execution);
        root.insert(
            "State".into(),
            json!({
                "EnteredTime": self.state_entered_time,
                "Name": self.state_name,
                "RetryCount": self.state_retry_count,
            }),
        );
        root.insert(
            "StateMachine".into(),
            json!({ "Id": self.state_machine_id, "Name": self.state_machine_name }),
        );
        if let Some(token) = &self.task_token {
            root.insert("Task".into(), json!({ "Token": token }));
        }
        if let Some(item) = &self.map_item {
            root.insert(
                "Map".into(),
                json!({ "Item": { "Index": item.index, "Value": item.value } }),
            );
        }
        Value::Object(root)
    }
}
