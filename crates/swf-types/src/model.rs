//! The SWF API model (`model/swf-2012-01-25.service.json`, the AWS service definition) loaded once and used
//! to validate requests: required members, string and list lengths, integer ranges, enum values and JSON
//! types. Constraints are read from the model, never retyped, so our limits are the model's limits.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

use crate::fault::Fault;

/// The model text, embedded at build time.
pub const MODEL_JSON: &str = include_str!("../model/swf-2012-01-25.service.json");

/// One shape of the model, reduced to what validation needs.
#[derive(Debug, Deserialize)]
pub struct Shape {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub members: HashMap<String, MemberRef>,
    #[serde(default)]
    pub required: Vec<String>,
    #[serde(default)]
    pub member: Option<MemberRef>,
    #[serde(default)]
    pub min: Option<i64>,
    #[serde(default)]
    pub max: Option<i64>,
    #[serde(default, rename = "enum")]
    pub enum_values: Option<Vec<String>>,
}

/// A reference from a structure member or list element to its shape.
#[derive(Debug, Deserialize)]
pub struct MemberRef {
    pub shape: String,
}

/// One operation: its name and input shape.
#[derive(Debug, Deserialize)]
pub struct Operation {
    pub name: String,
    #[serde(default)]
    pub input: Option<MemberRef>,
    #[serde(default)]
    pub output: Option<MemberRef>,
}

/// The parts of the model we use.
#[derive(Debug, Deserialize)]
pub struct Model {
    pub operations: HashMap<String, Operation>,
    pub shapes: HashMap<String, Shape>,
}

/// The parsed model (parsed on first use).
pub fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL
        .get_or_init(|| serde_json::from_str(MODEL_JSON).expect("embedded SWF model is valid JSON"))
}

/// Largest SWF request body accepted (SWF's 1 MB request limit), on every path into the service.
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;

/// Checks one SWF call's raw JSON body as the service that executes it must: at most
/// [`MAX_REQUEST_BYTES`], a JSON object (all whitespace counts as `{}`), valid against the model's
/// input shape of `operation`. The leader runs this on every call whatever path it came by (the HTTP
/// gateway or the internal gRPC `Execute`), so nothing unvalidated reaches the state machine.
pub fn check_request(operation: &str, body: &[u8]) -> Result<(), Fault> {
    if !model().operations.contains_key(operation) {
        return Err(Fault::unknown_operation(operation));
    }
    if body.len() > MAX_REQUEST_BYTES {
        return Err(Fault::validation(format!(
            "Request body is larger than the {MAX_REQUEST_BYTES}-byte limit"
        )));
    }
    let input: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(body)
            .map_err(|e| Fault::validation(format!("Malformed JSON request body: {e}")))?
    };
    if !input.is_object() {
        return Err(Fault::validation("The request body must be a JSON object"));
    }
    validate_input(operation, &input)
}

/// Validates `input` as the input of `operation`. The error is a `ValidationException` naming the first
/// offending member by its path (`taskList.name`, `decisions.1.decisionType`), in the form AWS uses.
pub fn validate_input(operation: &str, input: &Value) -> Result<(), Fault> {
    let m = model();
    let Some(op) = m.operations.get(operation) else {
        return Err(Fault::unknown_operation(operation));
    };
    match &op.input {
        Some(input_ref) => validate_shape(m, &input_ref.shape, input, ""),
        None => Ok(()),
    }
}

/// Validates `value` against the named shape (also used by tests on our outputs).
pub fn validate_shape(m: &Model, shape_name: &str, value: &Value, path: &str) -> Result<(), Fault> {
    let shape = m
        .shapes
        .get(shape_name)
        .ok_or_else(|| Fault::internal(format!("model has no shape {shape_name}")))?;
    let err = |what: String| Err(violation(value, path, &what));
    match shape.kind.as_str() {
        "structure" => {
            let Value::Object(obj) = value else {
                return err("Member must be a structure".into());
            };
            for name in &shape.required {
                if obj.get(name).is_none_or(Value::is_null) {
                    return Err(violation(
                        &Value::Null,
                        &join(path, name),
                        "Member must not be null",
                    ));
                }
            }
            // Members are checked in a fixed order so the reported member does not depend on hashing.
            let mut names: Vec<&String> = obj.keys().collect();
            names.sort();
            for name in names {
                let v = &obj[name];
                if v.is_null() {
                    continue;
                }
                // Unknown members are ignored, as AWS JSON services do.
                if let Some(member) = shape.members.get(name) {
                    validate_shape(m, &member.shape, v, &join(path, name))?;
                }
            }
            Ok(())
        }
        "list" => {
            let Value::Array(items) = value else {
                return err("Member must be a list".into());
            };
            check_len(value, path, shape, items.len(), "length")?;
            let member = shape
                .member
                .as_ref()
                .map(|r| r.shape.as_str())
                .unwrap_or("");
            for (i, item) in items.iter().enumerate() {
                validate_shape(m, member, item, &join(path, &(i + 1).to_string()))?;
            }
            Ok(())
        }
        "string" => {
            let Value::String(s) = value else {
                return err("Member must be a string".into());
            };
            if let Some(values) = &shape.enum_values {
                if !values.iter().any(|e| e == s) {
                    return err(format!(
                        "Member must satisfy enum value set: [{}]",
                        values.join(", ")
                    ));
                }
            }
            check_len(value, path, shape, s.chars().count(), "length")
        }
        "integer" | "long" => {
            let Some(n) = value.as_i64() else {
                return err("Member must be an integer".into());
            };
            if let Some(min) = shape.min {
                if n < min {
                    return err(format!(
                        "Member must have value greater than or equal to {min}"
                    ));
                }
            }
            if let Some(max) = shape.max {
                if n > max {
                    return err(format!(
                        "Member must have value less than or equal to {max}"
                    ));
                }
            }
            Ok(())
        }
        "boolean" => match value {
            Value::Bool(_) => Ok(()),
            _ => err("Member must be a boolean".into()),
        },
        "timestamp" => match value {
            Value::Number(_) => Ok(()),
            _ => err("Member must be a timestamp in epoch seconds".into()),
        },
        other => Err(Fault::internal(format!("unsupported model type {other}"))),
    }
}

fn check_len(
    value: &Value,
    path: &str,
    shape: &Shape,
    len: usize,
    what: &str,
) -> Result<(), Fault> {
    let len = len as i64;
    if let Some(min) = shape.min {
        if len < min {
            return Err(violation(
                value,
                path,
                &format!("Member must have {what} greater than or equal to {min}"),
            ));
        }
    }
    if let Some(max) = shape.max {
        if len > max {
            return Err(violation(
                value,
                path,
                &format!("Member must have {what} less than or equal to {max}"),
            ));
        }
    }
    Ok(())
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn violation(value: &Value, path: &str, constraint: &str) -> Fault {
    let shown = match value {
        Value::Null => "null".to_string(),
        Value::String(s) if s.chars().count() > 64 => {
            format!("'{}...'", s.chars().take(64).collect::<String>())
        }
        Value::String(s) => format!("'{s}'"),
        Value::Object(_) | Value::Array(_) => "the given value".to_string(),
        other => other.to_string(),
    };
    Fault::validation(format!(
        "1 validation error detected: Value {shown} at '{path}' failed to satisfy constraint: {constraint}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Our embedded model must be the project's spec (`../shared/spec`, beside the checkout, when present).
    #[test]
    fn embedded_model_matches_the_spec() {
        let spec = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/spec/swf-2012-01-25.service.json");
        if let Ok(text) = std::fs::read_to_string(&spec) {
            let ours: Value = serde_json::from_str(MODEL_JSON).unwrap();
            let theirs: Value = serde_json::from_str(&text).unwrap();
            assert!(
                ours == theirs,
                "model/swf-2012-01-25.service.json differs from {}",
                spec.display()
            );
        }
    }

    #[test]
    fn model_has_all_39_operations() {
        assert_eq!(model().operations.len(), 39);
    }

    #[test]
    fn validation_cases() {
        let cases: Vec<(&str, Value, Option<&str>)> = vec![
            (
                "RegisterDomain",
                json!({"name": "d", "workflowExecutionRetentionPeriodInDays": "1"}),
                None,
            ),
            (
                "RegisterDomain",
                json!({"workflowExecutionRetentionPeriodInDays": "1"}),
                Some("'name'"),
            ),
            (
                "RegisterDomain",
                json!({"name": "", "workflowExecutionRetentionPeriodInDays": "1"}),
                Some("'name'"),
            ),
            (
                "RegisterDomain",
                json!({"name": "x".repeat(257), "workflowExecutionRetentionPeriodInDays": "1"}),
                Some("less than or equal to 256"),
            ),
            (
                "RegisterDomain",
                json!({"name": 5, "workflowExecutionRetentionPeriodInDays": "1"}),
                Some("must be a string"),
            ),
            (
                "ListDomains",
                json!({"registrationStatus": "BOGUS"}),
                Some("enum value set"),
            ),
            (
                "ListDomains",
                json!({"registrationStatus": "REGISTERED", "maximumPageSize": 1001}),
                Some("'maximumPageSize'"),
            ),
            (
                "PollForDecisionTask",
                json!({"domain": "d", "taskList": {}}),
                Some("'taskList.name'"),
            ),
            (
                "RespondDecisionTaskCompleted",
                json!({"taskToken": "t", "decisions": [{"decisionType": "StartTimer"}, {"decisionType": "Nope"}]}),
                Some("'decisions.2.decisionType'"),
            ),
            (
                "StartWorkflowExecution",
                json!({"domain": "d", "workflowId": "w", "workflowType": {"name": "n", "version": "v"}, "tagList": ["a","b","c","d","e","f"]}),
                Some("'tagList'"),
            ),
        ];
        for (op, input, expect) in cases {
            let got = validate_input(op, &input);
            match (expect, got) {
                (None, Ok(())) => {}
                (Some(needle), Err(f)) => {
                    assert_eq!(f.code(), "ValidationException", "{op} {input}");
                    assert!(
                        f.message.contains(needle),
                        "{op}: {} lacks {needle}",
                        f.message
                    );
                }
                (e, g) => panic!("{op} {input}: expected {e:?}, got {g:?}"),
            }
        }
    }

    #[test]
    fn check_request_refuses_what_the_internal_path_used_to_accept() {
        let long = |n: usize| "x".repeat(n);
        let start = |wid: String, input: String| json!({"domain": "d", "workflowId": wid, "workflowType": {"name": "n", "version": "v"}, "input": input});
        let cases: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
            ("RegisterDomain", json!({"name": "", "workflowExecutionRetentionPeriodInDays": "1"}).to_string().into_bytes(), Some("'name'")),
            ("RegisterDomain", json!({"name": long(5000), "workflowExecutionRetentionPeriodInDays": "1"}).to_string().into_bytes(), Some("'name'")),
            ("RegisterDomain", json!({"name": "d", "description": long(100_000), "workflowExecutionRetentionPeriodInDays": "1"}).to_string().into_bytes(), Some("'description'")),
            ("StartWorkflowExecution", start(long(10_000), String::new()).to_string().into_bytes(), Some("'workflowId'")),
            ("StartWorkflowExecution", start("w".into(), long(40_000)).to_string().into_bytes(), Some("'input'")),
            ("StartWorkflowExecution", start("w".into(), long(5_000_000)).to_string().into_bytes(), Some("larger than")),
            ("StartWorkflowExecution", b"[1]".to_vec(), Some("JSON object")),
            ("StartWorkflowExecution", b"{nope".to_vec(), Some("Malformed JSON")),
            ("_AddMember", b"{}".to_vec(), None),
            ("RegisterDomain", json!({"name": "d", "workflowExecutionRetentionPeriodInDays": "1"}).to_string().into_bytes(), None),
            ("ListDomains", b"  ".to_vec(), Some("'registrationStatus'")),
        ];
        for (op, body, expect) in cases {
            match (check_request(op, &body), expect) {
                (Ok(()), None) if op != "_AddMember" => {}
                (Err(f), None) => assert_eq!(f.code(), "UnknownOperationException", "{op}"),
                (Err(f), Some(needle)) => {
                    assert_eq!(f.code(), "ValidationException", "{op}");
                    assert!(
                        f.message.contains(needle),
                        "{op}: {} lacks {needle}",
                        f.message
                    );
                }
                (got, e) => panic!("{op}: expected {e:?}, got {got:?}"),
            }
        }
    }
}
