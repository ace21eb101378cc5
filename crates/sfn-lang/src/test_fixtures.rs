//! What the interpreter's table tests share: an activity ARN, a start time, a definition parser that
//! panics with the refusal, and the `ExecutionInfo` of a run named `run` of machine `sm`.

use serde_json::Value;

use crate::definition::Definition;
use crate::interpret::ExecutionInfo;

pub(crate) const ACT: &str = "arn:aws:states:us-east-1:123456789012:activity:work";
pub(crate) const T0: i64 = 1_700_000_000_000;

/// A definition that must parse.
pub(crate) fn def(v: Value) -> Definition {
    Definition::parse(&v.to_string()).unwrap_or_else(|e| panic!("{e}"))
}

/// The refusal of a definition that must not parse.
pub(crate) fn refused(v: Value) -> String {
    Definition::parse(&v.to_string())
        .expect_err("refused")
        .to_string()
}

/// The execution `run` of state machine `sm`, started at `T0` with `input`.
pub(crate) fn info(input: Value) -> ExecutionInfo {
    ExecutionInfo {
        execution_arn: "arn:aws:states:us-east-1:123456789012:execution:sm:run".into(),
        name: "run".into(),
        role_arn: "arn:aws:iam::123456789012:role/r".into(),
        start_time_ms: T0,
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:sm".into(),
        state_machine_name: "sm".into(),
        input,
        version_arn: None,
        alias_arn: None,
        redrive_count: 0,
        redrive_time_ms: None,
    }
}
