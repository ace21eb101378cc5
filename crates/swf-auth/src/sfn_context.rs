//! The request context of a Step Functions call: `states:<Action>` on the ARN the call names — the
//! activity (`activityArn`), state machine (`stateMachineArn`), version (`stateMachineVersionArn`),
//! alias (`stateMachineAliasArn`), execution (`executionArn`) or tagged
//! resource (`resourceArn`); for a create, the ARN it would create; `*` for the list calls and the
//! task-token calls, which name no resource.

use serde_json::Value;

use crate::caller::Caller;
use crate::condition::Keys;
use crate::swf_context::Question;

/// The question a Step Functions call asks.
pub fn question(action: &str, body: &Value, caller: &Caller) -> Question {
    let field = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    let named = |kind: &str| {
        format!(
            "arn:aws:states:{}:{}:{kind}:{}",
            caller.region,
            caller.account,
            field("name").unwrap_or_default()
        )
    };
    let resource = match action {
        "CreateActivity" => named("activity"),
        "CreateStateMachine" => named("stateMachine"),
        // The alias's own ARN: the state machine of the versions it routes to, then its name.
        "CreateStateMachineAlias" => body
            .pointer("/routingConfiguration/0/stateMachineVersionArn")
            .and_then(Value::as_str)
            .and_then(|v| v.rsplit_once(':'))
            .map(|(sm, _)| format!("{sm}:{}", field("name").unwrap_or_default()))
            .unwrap_or_else(|| "*".to_string()),
        _ => field("activityArn")
            .or_else(|| field("stateMachineArn"))
            .or_else(|| field("stateMachineVersionArn"))
            .or_else(|| field("stateMachineAliasArn"))
            .or_else(|| field("mapRunArn"))
            .or_else(|| field("executionArn"))
            .or_else(|| field("resourceArn"))
            .unwrap_or_else(|| "*".to_string()),
    };
    Question {
        action: format!("states:{action}"),
        resource,
        keys: Keys::default(),
    }
}
