//! Nested executions: the Task resources that start an execution of another state machine on the same
//! cluster (`arn:aws:states:::states:startExecution`, `.sync`, `.sync:2`, `.waitForTaskToken`), what
//! each one waits for, and the outputs AWS gives them. The interpreter's side of these tasks is in
//! `interpret_nested`; the engine starts the child and reports back with the `Child*` events.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// The resource prefix of the Step Functions integration.
pub const PREFIX: &str = "arn:aws:states:::states:";

/// How a nested-execution Task waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// `startExecution`: done once the child started; the result is `{ExecutionArn, StartDate}`.
    FireAndForget,
    /// `startExecution.sync`: waits for the child to end; its `Output` stays a JSON string.
    Sync,
    /// `startExecution.sync:2`: as `Sync`, with `Output` parsed.
    Sync2,
    /// `startExecution.waitForTaskToken`: waits for SendTaskSuccess / Failure with `$$.Task.Token`.
    WaitForTaskToken,
}

impl Mode {
    /// The mode a Task resource names, if it is one of the nested-execution resources.
    pub fn of(resource: &str) -> Option<Mode> {
        Some(match resource.strip_prefix(PREFIX)? {
            "startExecution" => Mode::FireAndForget,
            "startExecution.sync" => Mode::Sync,
            "startExecution.sync:2" => Mode::Sync2,
            "startExecution.waitForTaskToken" => Mode::WaitForTaskToken,
            _ => return None,
        })
    }

    /// The `resource` member of the Task* history events (the resource without its prefix).
    pub fn resource(self) -> &'static str {
        match self {
            Mode::FireAndForget => "startExecution",
            Mode::Sync => "startExecution.sync",
            Mode::Sync2 => "startExecution.sync:2",
            Mode::WaitForTaskToken => "startExecution.waitForTaskToken",
        }
    }

    /// Whether the task ends when the child execution ends.
    pub fn waits_for_child(self) -> bool {
        matches!(self, Mode::Sync | Mode::Sync2)
    }
}

/// The `resourceType` of the Task* history events.
pub const RESOURCE_TYPE: &str = "states";

/// What the Task asks for: the child's state machine, name and input (JSON text), from the
/// effective input (its `Parameters`).
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub state_machine_arn: String,
    pub name: Option<String>,
    pub input: String,
}

/// Reads the request from the effective input; `Err` is the cause of a `States.Runtime` failure.
pub fn request(eff: &Value) -> Result<Request, String> {
    let Some(obj) = eff.as_object() else {
        return Err("The parameters of a startExecution task must be a JSON object".into());
    };
    let Some(sm) = obj.get("StateMachineArn").and_then(Value::as_str) else {
        return Err(
            "The field 'StateMachineArn' is required and must be a string in the parameters of a startExecution task".into(),
        );
    };
    let name = match obj.get("Name") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err("The field 'Name' must be a string".into()),
    };
    // `Input` is either a JSON value (sent as its text) or a string holding JSON text, as AWS takes it.
    let input = match obj.get("Input") {
        None | Some(Value::Null) => "{}".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => crate::error::json_text(v),
    };
    Ok(Request {
        state_machine_arn: sm.to_string(),
        name,
        input,
    })
}

/// The region in an ARN (`arn:aws:states:<region>:...`), for the `region` of TaskScheduled.
pub fn region(arn: &str) -> &str {
    arn.split(':').nth(3).unwrap_or_default()
}

/// StartExecution's answer as the integration returns it: `{ExecutionArn, StartDate}` (epoch
/// milliseconds, as the integration's outputs carry dates).
pub fn started_output(execution_arn: &str, start_date_ms: i64) -> Value {
    json!({"ExecutionArn": execution_arn, "StartDate": start_date_ms})
}

/// The result of a `.sync` / `.sync:2` task from the child's DescribeExecution-shaped `description`
/// (its `Output` a JSON string): `.sync:2` parses `Output`.
pub fn sync_result(mode: Mode, description: &Value) -> Value {
    let mut d = description.clone();
    if mode == Mode::Sync2 {
        if let Some(Value::String(text)) = d.get("Output") {
            let parsed = serde_json::from_str::<Value>(text).unwrap_or(Value::Null);
            d["Output"] = parsed;
        }
    }
    d
}

/// The details member of a Task* event: `resourceType`, `resource`, then `extra`'s members.
pub fn details(mode: Mode, extra: Value) -> Value {
    let mut d = Map::new();
    d.insert("resourceType".into(), json!(RESOURCE_TYPE));
    d.insert("resource".into(), json!(mode.resource()));
    if let Value::Object(m) = extra {
        d.extend(m);
    }
    Value::Object(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_requests_and_results() {
        let modes = [
            (
                "arn:aws:states:::states:startExecution",
                Some(Mode::FireAndForget),
            ),
            (
                "arn:aws:states:::states:startExecution.sync",
                Some(Mode::Sync),
            ),
            (
                "arn:aws:states:::states:startExecution.sync:2",
                Some(Mode::Sync2),
            ),
            (
                "arn:aws:states:::states:startExecution.waitForTaskToken",
                Some(Mode::WaitForTaskToken),
            ),
            ("arn:aws:states:::states:startExecution.sync:3", None),
            ("arn:aws:states:::states:startSyncExecution", None),
            ("arn:aws:states:::lambda:invoke", None),
        ];
        for (resource, mode) in modes {
            assert_eq!(Mode::of(resource), mode, "{resource}");
            // Create-time: exactly these integration resources are taken.
            let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task",
                "Resource": resource, "End": true}}});
            let refused = crate::Definition::parse(&def.to_string()).is_err();
            assert_eq!(refused, mode.is_none(), "{resource}");
        }
        let r = request(&json!({"StateMachineArn": "sm", "Input": {"a": 1}})).unwrap();
        assert_eq!((r.input.as_str(), r.name), ("{\"a\":1}", None));
        let r =
            request(&json!({"StateMachineArn": "sm", "Input": "{\"b\":2}", "Name": "n"})).unwrap();
        assert_eq!(
            (r.input.as_str(), r.name.as_deref()),
            ("{\"b\":2}", Some("n"))
        );
        assert_eq!(
            request(&json!({"StateMachineArn": "sm"})).unwrap().input,
            "{}"
        );
        assert!(request(&json!({"Input": {}})).is_err());
        assert!(request(&json!({"StateMachineArn": "sm", "Name": 3})).is_err());
        let d = json!({"Output": "{\"x\":1}", "Status": "SUCCEEDED"});
        assert_eq!(sync_result(Mode::Sync, &d)["Output"], json!("{\"x\":1}"));
        assert_eq!(sync_result(Mode::Sync2, &d)["Output"], json!({"x": 1}));
        assert_eq!(
            region("arn:aws:states:eu-west-1:1:execution:m:e"),
            "eu-west-1"
        );
    }
}
