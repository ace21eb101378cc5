//! Validation of a definition as AWS's CreateStateMachine / ValidateStateMachineDefinition do it, while
//! building the typed model: unknown and missing fields, field types and ranges, Next / Default / Catch
//! targets that do not exist, unreachable states, End vs Next, `States.ALL` alone and last in Retry /
//! Catch, path syntax (reference paths where AWS wants them), intrinsic syntax in payload templates, and
//! Task resources (only activity ARNs are served on-prem). Diagnostics have the model's
//! `ValidateStateMachineDefinitionDiagnostic` shape; [`invalid_definition_message`] gives the
//! `InvalidDefinition` text.

use crate::choice::{Choice, Kind, Operand, Rule, COMPARISONS, TESTS};
use crate::definition::*;
use crate::intrinsics;
use crate::path::Path;
use crate::wait::{parse_timestamp, WaitSpec};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// `ValidateStateMachineDefinitionSeverity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Error,
    Warning,
}

/// `ValidateStateMachineDefinitionDiagnostic`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// e.g. `SCHEMA_VALIDATION_FAILED`, `MISSING_TRANSITION_TARGET`, `DUPLICATE_STATE_NAME`.
    pub code: String,
    pub message: String,
    /// A JSON pointer into the definition, e.g. `/States/Foo/Next`.
    pub location: String,
}

/// The largest value of the integer fields (seconds, attempts) AWS accepts.
pub const MAX_INT_FIELD: u64 = 99_999_999;
/// Longest state name.
pub const MAX_STATE_NAME: usize = 80;

/// The message of an `InvalidDefinition` error, as CreateStateMachine words it:
/// `Invalid State Machine Definition: 'CODE: message at /location, CODE: ...'` (errors only).
pub fn invalid_definition_message(diags: &[Diagnostic]) -> String {
    let parts: Vec<String> = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| format!("{}: {} at {}", d.code, d.message, d.location))
        .collect();
    format!("Invalid State Machine Definition: '{}'", parts.join(", "))
}

/// All diagnostics of a definition (ValidateStateMachineDefinition).
pub fn validate(text: &str) -> Vec<Diagnostic> {
    check(text).1
}

/// Validates and builds. The definition is `None` only when the text is not a JSON object.
pub fn check(text: &str) -> (Option<Definition>, Vec<Diagnostic>) {
    let mut c = Checker::default();
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            c.err("INVALID_JSON_DESCRIPTION", format!("{e}"), "/");
            return (None, c.diags);
        }
    };
    let def = c.machine(&value, "", Scope::Top);
    for (loc, name) in validate_scope::outer_scope_assignments(&value) {
        c.err(
            SCHEMA,
            format!("The variable '{name}' belongs to an outer scope: a Parallel branch or Map iteration cannot assign it"),
            &loc,
        );
    }
    (def, c.diags)
}

const SCHEMA: &str = "SCHEMA_VALIDATION_FAILED";

/// Fields only JSONPath states have.
const JSONPATH_ONLY: [&str; 14] = [
    "InputPath",
    "OutputPath",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "Result",
    "ItemsPath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "SecondsPath",
    "TimestampPath",
    "ErrorPath",
    "CausePath",
    "MaxConcurrencyPath",
];

/// Fields only JSONata states have.
const JSONATA_ONLY: [&str; 3] = ["Arguments", "Output", "Items"];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    Top,
    Branch,
    Iterator,
    ItemProcessor,
}

#[derive(Default)]
struct Checker {
    diags: Vec<Diagnostic>,
    /// Every state name seen, anywhere in the machine (names are unique machine-wide).
    names: BTreeSet<String>,
    /// The machine's top-level `QueryLanguage` is JSONata (every state's default, nested ones too).
    top_jsonata: bool,
    /// The state being checked is a JSONata state (for its Catch and Choice rules).
    cur_jsonata: bool,
}

fn pointer(loc: &str, key: &str) -> String {
    format!("{loc}/{key}")
}

fn at(loc: &str) -> &str {
    if loc.is_empty() {
        "/"
    } else {
        loc
    }
}

impl Checker {
    fn err(&mut self, code: &str, message: impl Into<String>, location: &str) {
        self.diags.push(Diagnostic {
            severity: Severity::Error,
            code: code.into(),
            message: message.into(),
            location: at(location).into(),
        });
    }

    fn object<'a>(&mut self, v: &'a Value, loc: &str) -> Option<&'a Map<String, Value>> {
        let o = v.as_object();
        if o.is_none() {
            self.err(SCHEMA, "Expected value of type: Object", loc);
        }
        o
    }

    fn allowed(&mut self, obj: &Map<String, Value>, fields: &[&str], loc: &str) {
        for k in obj.keys() {
            if !fields.contains(&k.as_str()) {
                self.err(
                    SCHEMA,
                    format!("The field \"{k}\" is not supported by Step Functions"),
                    loc,
                );
            }
        }
    }

    fn required(&mut self, obj: &Map<String, Value>, fields: &[&str], loc: &str) {
        let missing: Vec<&str> = fields
            .iter()
            .copied()
            .filter(|f| !obj.contains_key(*f))
            .collect();
        if !missing.is_empty() {
            self.err(
                SCHEMA,
                format!("These fields are required: [{}]", missing.join(", ")),
                loc,
            );
        }
    }

    fn string(&mut self, obj: &Map<String, Value>, key: &str, loc: &str) -> Option<String> {
        match obj.get(key)? {
            Value::String(s) => Some(s.clone()),
            _ => {
                self.err(SCHEMA, "Expected value of type: String", &pointer(loc, key));
                None
            }
        }
    }

    fn uint(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        loc: &str,
        min: u64,
        max: u64,
    ) -> Option<u64> {
        let v = obj.get(key)?;
        match v.as_u64() {
            Some(n) if (min..=max).contains(&n) => Some(n),
            Some(_) => {
                self.err(
                    SCHEMA,
                    format!("Expected value of type: Integer, in range [{min}, {max}]"),
                    &pointer(loc, key),
                );
                None
            }
            None => {
                self.err(
                    SCHEMA,
                    format!("Expected value of type: Integer, in range [{min}, {max}]"),
                    &pointer(loc, key),
                );
                None
            }
        }
    }

    fn path(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        loc: &str,
        reference: bool,
    ) -> PathField {
        match obj.get(key) {
            None => PathField::Default,
            Some(Value::Null) if key != "ItemsPath" && !key.ends_with("SecondsPath") => {
                PathField::Null
            }
            Some(Value::String(s)) => {
                let parsed = if reference {
                    Path::parse_reference(s)
                } else {
                    Path::parse(s)
                };
                match parsed {
                    Ok(p) => PathField::Path(p),
                    Err(e) => {
                        let kind = if reference {
                            "ReferencePath"
                        } else {
                            "JSONPath"
                        };
                        self.err(
                            SCHEMA,
                            format!(
                                "The value for the field '{key}' must be a valid {kind}: {}",
                                e.reason
                            ),
                            &pointer(loc, key),
                        );
                        PathField::Default
                    }
                }
            }
            Some(_) => {
                self.err(SCHEMA, "Expected value of type: String", &pointer(loc, key));
                PathField::Default
            }
        }
    }

    fn opt_ref_path(&mut self, obj: &Map<String, Value>, key: &str, loc: &str) -> Option<Path> {
        match self.path(obj, key, loc, true) {
            PathField::Path(p) => Some(p),
            _ => None,
        }
    }

    /// A payload template (Parameters, ResultSelector, ItemSelector): `.$` values must be paths or
    /// intrinsic calls.
    fn template(&mut self, obj: &Map<String, Value>, key: &str, loc: &str) -> Option<Value> {
        let v = obj.get(key)?;
        let l = pointer(loc, key);
        if key != "Parameters" && !v.is_object() {
            self.err(SCHEMA, "Expected value of type: Object", &l);
            return None;
        }
        self.template_value(v, &l);
        Some(v.clone())
    }

    fn template_value(&mut self, v: &Value, loc: &str) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    let l = pointer(loc, k);
                    if let Some(stripped) = k.strip_suffix(".$") {
                        let _ = stripped;
                        let Some(s) = v.as_str() else {
                            self.err(SCHEMA, format!("The value for the field '{k}' must be a STRING that contains a JSONPath or an intrinsic function"), &l);
                            continue;
                        };
                        if intrinsics::is_intrinsic(s) {
                            if let Err(e) = intrinsics::parse(s) {
                                self.err(SCHEMA, format!("The value for the field '{k}' must be a valid intrinsic function: {}", e.reason), &l);
                            }
                        } else if let Err(e) = Path::parse(s) {
                            self.err(
                                SCHEMA,
                                format!(
                                    "The value for the field '{k}' must be a valid JSONPath: {}",
                                    e.reason
                                ),
                                &l,
                            );
                        }
                    } else {
                        self.template_value(v, &l);
                    }
                }
            }
            Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    self.template_value(v, &pointer(loc, &i.to_string()));
                }
            }
            _ => {}
        }
    }

    fn error_equals(&mut self, obj: &Map<String, Value>, loc: &str) -> Vec<String> {
        let l = pointer(loc, "ErrorEquals");
        let Some(arr) = obj.get("ErrorEquals").and_then(Value::as_array) else {
            if obj.contains_key("ErrorEquals") {
                self.err(SCHEMA, "Expected value of type: Array", &l);
            }
            return Vec::new();
        };
        if arr.is_empty() {
            self.err(
                SCHEMA,
                "ErrorEquals must contain at least one error name",
                &l,
            );
        }
        let mut out = Vec::new();
        for (i, e) in arr.iter().enumerate() {
            match e.as_str() {
                Some(s) => out.push(s.to_string()),
                None => self.err(
                    SCHEMA,
                    "Expected value of type: String",
                    &pointer(&l, &i.to_string()),
                ),
            }
        }
        if out.len() > 1 && out.iter().any(|e| e == "States.ALL") {
            self.err(
                SCHEMA,
                "The error name 'States.ALL' must appear alone in ErrorEquals",
                &l,
            );
        }
        out
    }

    fn retry(&mut self, obj: &Map<String, Value>, loc: &str) -> Vec<Retrier> {
        let Some(v) = obj.get("Retry") else {
            return Vec::new();
        };
        let l = pointer(loc, "Retry");
        let Some(arr) = v.as_array() else {
            self.err(SCHEMA, "Expected value of type: Array", &l);
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, r) in arr.iter().enumerate() {
            let rl = pointer(&l, &i.to_string());
            let Some(o) = self.object(r, &rl) else {
                continue;
            };
            self.allowed(
                o,
                &[
                    "ErrorEquals",
                    "IntervalSeconds",
                    "MaxAttempts",
                    "BackoffRate",
                    "MaxDelaySeconds",
                    "JitterStrategy",
                    "Comment",
                ],
                &rl,
            );
            self.required(o, &["ErrorEquals"], &rl);
            let error_equals = self.error_equals(o, &rl);
            if error_equals.iter().any(|e| e == "States.ALL") && i + 1 != arr.len() {
                self.err(
                    SCHEMA,
                    "A Retrier with 'States.ALL' must be the last Retrier",
                    &pointer(&rl, "ErrorEquals"),
                );
            }
            let backoff_rate = match o.get("BackoffRate") {
                None => 2.0,
                Some(b) => match b.as_f64() {
                    Some(f) if (1.0..=MAX_INT_FIELD as f64).contains(&f) => f,
                    _ => {
                        self.err(
                            SCHEMA,
                            "Expected value of type: Number, greater than or equal to 1.0",
                            &pointer(&rl, "BackoffRate"),
                        );
                        2.0
                    }
                },
            };
            let jitter = match self.string(o, "JitterStrategy", &rl).as_deref() {
                None | Some("NONE") => Jitter::None,
                Some("FULL") => Jitter::Full,
                Some(other) => {
                    self.err(
                        SCHEMA,
                        format!("Unexpected value '{other}'; expected one of [FULL, NONE]"),
                        &pointer(&rl, "JitterStrategy"),
                    );
                    Jitter::None
                }
            };
            out.push(Retrier {
                error_equals,
                interval_seconds: self
                    .uint(o, "IntervalSeconds", &rl, 1, MAX_INT_FIELD)
                    .unwrap_or(1),
                max_attempts: self
                    .uint(o, "MaxAttempts", &rl, 0, MAX_INT_FIELD)
                    .unwrap_or(3),
                backoff_rate,
                max_delay_seconds: self.uint(o, "MaxDelaySeconds", &rl, 1, 31_622_400),
                jitter,
            });
        }
        out
    }

    fn catch(&mut self, obj: &Map<String, Value>, loc: &str) -> Vec<Catcher> {
        let Some(v) = obj.get("Catch") else {
            return Vec::new();
        };
        let l = pointer(loc, "Catch");
        let Some(arr) = v.as_array() else {
            self.err(SCHEMA, "Expected value of type: Array", &l);
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, r) in arr.iter().enumerate() {
            let rl = pointer(&l, &i.to_string());
            let Some(o) = self.object(r, &rl) else {
                continue;
            };
            self.allowed(
                o,
                &[
                    "ErrorEquals",
                    "Next",
                    "ResultPath",
                    "Comment",
                    "Assign",
                    "Output",
                ],
                &rl,
            );
            let jsonata = self.cur_jsonata;
            for (f, bad) in [("ResultPath", jsonata), ("Output", !jsonata)] {
                if bad && o.contains_key(f) {
                    let (lang, other) = if jsonata {
                        ("JSONata", "JSONPath")
                    } else {
                        ("JSONPath", "JSONata")
                    };
                    self.err(SCHEMA, format!("The QueryLanguage is set to '{lang}', but field '{f}' is only supported for the '{other}' QueryLanguage"), &rl);
                }
            }
            let assign = self.assign(o.get("Assign"), &pointer(&rl, "Assign"), jsonata);
            let output = o.get("Output").cloned();
            if let Some(v) = &output {
                self.expressions(v, &pointer(&rl, "Output"));
            }
            self.required(o, &["ErrorEquals", "Next"], &rl);
            let error_equals = self.error_equals(o, &rl);
            if error_equals.iter().any(|e| e == "States.ALL") && i + 1 != arr.len() {
                self.err(
                    SCHEMA,
                    "A Catcher with 'States.ALL' must be the last Catcher",
                    &pointer(&rl, "ErrorEquals"),
                );
            }
            let result_path = self.path(o, "ResultPath", &rl, true);
            let next = self.string(o, "Next", &rl).unwrap_or_default();
            out.push(Catcher {
                error_equals,
                next,
                result_path,
                assign,
                output,
            });
        }
        out
    }

    fn machine(&mut self, v: &Value, loc: &str, scope: Scope) -> Option<Definition> {
        let obj = self.object(v, at(loc))?;
        let fields: &[&str] = match scope {
            Scope::Top => &[
                "Comment",
                "StartAt",
                "States",
                "TimeoutSeconds",
                "Version",
                "QueryLanguage",
            ],
            Scope::Branch | Scope::Iterator => &["Comment", "StartAt", "States"],
            Scope::ItemProcessor => &["Comment", "StartAt", "States", "ProcessorConfig"],
        };
        self.allowed(obj, fields, loc);
        self.required(obj, &["StartAt", "States"], loc);
        if let Some(q) = obj.get("QueryLanguage") {
            self.query_language(q, &pointer(loc, "QueryLanguage"));
            if scope == Scope::Top {
                self.top_jsonata = q.as_str() == Some("JSONata");
            }
        }
        if let Some(pc) = obj.get("ProcessorConfig") {
            let l = pointer(loc, "ProcessorConfig");
            if let Some(o) = self.object(pc, &l) {
                self.allowed(o, &["Mode", "ExecutionType"], &l);
                match o.get("ExecutionType") {
                    None => {}
                    Some(Value::String(t)) if t == "STANDARD" || t == "EXPRESS" => {}
                    Some(_) => self.err(
                        SCHEMA,
                        "Unexpected value; expected one of [STANDARD, EXPRESS]",
                        &pointer(&l, "ExecutionType"),
                    ),
                }
                match o.get("Mode").and_then(Value::as_str) {
                    None | Some("INLINE") | Some("DISTRIBUTED") => {}
                    Some(_) => self.err(
                        SCHEMA,
                        "Unexpected value; expected one of [INLINE, DISTRIBUTED]",
                        &pointer(&l, "Mode"),
                    ),
                }
            }
        }
        let comment = self.string(obj, "Comment", loc);
        let version = self.string(obj, "Version", loc);
        let timeout_seconds = self.uint(obj, "TimeoutSeconds", loc, 1, MAX_INT_FIELD);
        let start_at = self.string(obj, "StartAt", loc).unwrap_or_default();
        let mut states = BTreeMap::new();
        let states_loc = pointer(loc, "States");
        if let Some(sv) = obj.get("States") {
            if let Some(so) = self.object(sv, &states_loc) {
                if so.is_empty() {
                    self.err(
                        SCHEMA,
                        "States must contain at least one state",
                        &states_loc,
                    );
                }
                for (name, s) in so {
                    let sl = pointer(&states_loc, name);
                    if name.is_empty() || name.chars().count() > MAX_STATE_NAME {
                        self.err(
                            SCHEMA,
                            format!("State names must be 1 to {MAX_STATE_NAME} characters long"),
                            &sl,
                        );
                    }
                    if !self.names.insert(name.clone()) {
                        self.err(
                            "DUPLICATE_STATE_NAME",
                            format!("Duplicate State name: {name}"),
                            &sl,
                        );
                    }
                    if let Some(st) = self.state(name, s, &sl) {
                        states.insert(name.clone(), st);
                    }
                }
            }
        }
        if obj.contains_key("StartAt")
            && !start_at.is_empty()
            && obj.get("States").is_some_and(Value::is_object)
        {
            let exists = obj
                .get("States")
                .and_then(Value::as_object)
                .is_some_and(|s| s.contains_key(&start_at));
            if !exists {
                self.err(
                    "MISSING_TRANSITION_TARGET",
                    format!("Missing 'Next' target: {start_at}"),
                    &pointer(loc, "StartAt"),
                );
            }
        }
        self.links(
            &start_at,
            obj.get("States").and_then(Value::as_object),
            &states,
            &states_loc,
        );
        Some(Definition {
            comment,
            start_at,
            states,
            timeout_seconds,
            version,
        })
    }

    fn query_language(&mut self, q: &Value, loc: &str) {
        match q.as_str() {
            Some("JSONPath") | Some("JSONata") => {}
            _ => self.err(
                SCHEMA,
                "Unexpected value; expected one of [JSONPath, JSONata]",
                loc,
            ),
        }
    }

    /// Targets exist in this scope, and every state is reachable from StartAt.
    fn links(
        &mut self,
        start_at: &str,
        raw: Option<&Map<String, Value>>,
        states: &BTreeMap<String, State>,
        loc: &str,
    ) {
        let Some(raw) = raw else { return };
        let targets = |s: &State| -> Vec<(String, String)> {
            let mut t = Vec::new();
            if let Transition::Next(n) = &s.transition {
                t.push((n.clone(), "Next".to_string()));
            }
            if let StateKind::Choice { choices, default } = &s.kind {
                for (i, c) in choices.iter().enumerate() {
                    t.push((c.next.clone(), format!("Choices/{i}/Next")));
                }
                if let Some(d) = default {
                    t.push((d.clone(), "Default".to_string()));
                }
            }
            for (i, c) in s.catch.iter().enumerate() {
                t.push((c.next.clone(), format!("Catch/{i}/Next")));
            }
            t
        };
        for (name, s) in states {
            for (target, field) in targets(s) {
                if !raw.contains_key(&target) {
                    self.err(
                        "MISSING_TRANSITION_TARGET",
                        format!("Missing 'Next' target: {target}"),
                        &format!("{loc}/{name}/{field}"),
                    );
                }
            }
        }
        let mut seen = BTreeSet::new();
        let mut todo = vec![start_at.to_string()];
        while let Some(n) = todo.pop() {
            if !seen.insert(n.clone()) {
                continue;
            }
            if let Some(s) = states.get(&n) {
                todo.extend(targets(s).into_iter().map(|(t, _)| t));
            }
        }
        for name in raw.keys() {
            if states.contains_key(name) && !seen.contains(name) {
                // AWS reports an unreachable state under MISSING_TRANSITION_TARGET (a recorded
                // CreateStateMachine answer, quoted in localstack/localstack#12487).
                self.err(
                    "MISSING_TRANSITION_TARGET",
                    format!("State \"{name}\" is not reachable."),
                    &pointer(loc, name),
                );
            }
        }
    }

    fn transition(&mut self, obj: &Map<String, Value>, loc: &str) -> Transition {
        let next = self.string(obj, "Next", loc);
        let end = match obj.get("End") {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.err(
                    SCHEMA,
                    "Expected value of type: Boolean",
                    &pointer(loc, "End"),
                );
                None
            }
        };
        match (next, end) {
            (Some(_), Some(true)) => {
                self.err(
                    SCHEMA,
                    "Only one of the fields [Next, End] may be present",
                    loc,
                );
                Transition::End
            }
            (Some(n), _) => Transition::Next(n),
            (None, Some(true)) => Transition::End,
            (None, Some(false)) => {
                self.err(
                    SCHEMA,
                    "End must be true when Next is absent",
                    &pointer(loc, "End"),
                );
                Transition::End
            }
            (None, None) => {
                self.err(SCHEMA, "These fields are required: [Next or End]", loc);
                Transition::End
            }
        }
    }

    fn state(&mut self, name: &str, v: &Value, loc: &str) -> Option<State> {
        let obj = self.object(v, loc)?;
        let Some(ty) = obj.get("Type").and_then(Value::as_str) else {
            self.required(obj, &["Type"], loc);
            if obj.contains_key("Type") {
                self.err(
                    SCHEMA,
                    "Expected value of type: String",
                    &pointer(loc, "Type"),
                );
            }
            return None;
        };
        const IO: [&str; 5] = [
            "Type",
            "Comment",
            "InputPath",
            "OutputPath",
            "QueryLanguage",
        ];
        let fields: Vec<&str> = match ty {
            "Task" => [
                &IO[..],
                &[
                    "Resource",
                    "Parameters",
                    "ResultSelector",
                    "ResultPath",
                    "Next",
                    "End",
                    "Retry",
                    "Catch",
                    "TimeoutSeconds",
                    "TimeoutSecondsPath",
                    "HeartbeatSeconds",
                    "HeartbeatSecondsPath",
                    "Assign",
                    "Arguments",
                    "Output",
                ],
            ]
            .concat(),
            "Pass" => [
                &IO[..],
                &[
                    "Parameters",
                    "Result",
                    "ResultPath",
                    "Next",
                    "End",
                    "Assign",
                    "Output",
                ],
            ]
            .concat(),
            "Choice" => [&IO[..], &["Choices", "Default", "Assign", "Output"]].concat(),
            "Wait" => [
                &IO[..],
                &[
                    "Seconds",
                    "SecondsPath",
                    "Timestamp",
                    "TimestampPath",
                    "Next",
                    "End",
                    "Assign",
                    "Output",
                ],
            ]
            .concat(),
            "Succeed" => [&IO[..], &["Output"]].concat(),
            "Fail" => vec![
                "Type",
                "Comment",
                "Error",
                "ErrorPath",
                "Cause",
                "CausePath",
                "QueryLanguage",
            ],
            "Parallel" => [
                &IO[..],
                &[
                    "Branches",
                    "Parameters",
                    "ResultSelector",
                    "ResultPath",
                    "Next",
                    "End",
                    "Retry",
                    "Catch",
                    "Assign",
                    "Arguments",
                    "Output",
                ],
            ]
            .concat(),
            "Map" => [
                &IO[..],
                &[
                    "ItemsPath",
                    "ItemSelector",
                    "Parameters",
                    "ResultSelector",
                    "ResultPath",
                    "MaxConcurrency",
                    "MaxConcurrencyPath",
                    "Iterator",
                    "ItemProcessor",
                    "Next",
                    "End",
                    "Retry",
                    "Catch",
                    "Assign",
                    "Items",
                    "Output",
                ],
            ]
            .concat(),
            other => {
                self.err(SCHEMA, format!("Unexpected value '{other}'; expected one of [Task, Pass, Choice, Wait, Succeed, Fail, Parallel, Map]"), &pointer(loc, "Type"));
                return None;
            }
        };
        if ty == "Map" {
            validate_distributed::check_fields(self, obj, loc);
        }
        let known: Vec<&str> = fields
            .iter()
            .copied()
            .chain(if ty == "Map" {
                vec![
                    "ItemReader",
                    "ItemBatcher",
                    "ResultWriter",
                    "ToleratedFailurePercentage",
                    "ToleratedFailurePercentagePath",
                    "ToleratedFailureCount",
                    "ToleratedFailureCountPath",
                    "Label",
                ]
            } else {
                vec![]
            })
            .collect();
        self.allowed(obj, &known, loc);
        if let Some(q) = obj.get("QueryLanguage") {
            self.query_language(q, &pointer(loc, "QueryLanguage"));
        }
        let jsonata_state = self.state_language(obj, loc);
        self.cur_jsonata = jsonata_state;
        let assign = self.assign(obj.get("Assign"), &pointer(loc, "Assign"), jsonata_state);
        let mut jf = crate::jsonata::JsonataFields::default();
        let stripped;
        let obj = if jsonata_state {
            stripped = self.jsonata_fields(ty, obj, loc, &mut jf);
            &stripped
        } else {
            obj
        };
        let has = |f: &str| fields.contains(&f);
        let comment = self.string(obj, "Comment", loc);
        let input_path = self.path(obj, "InputPath", loc, false);
        let output_path = self.path(obj, "OutputPath", loc, false);
        let result_path = if has("ResultPath") {
            self.path(obj, "ResultPath", loc, true)
        } else {
            PathField::Default
        };
        let parameters = if has("Parameters") && ty != "Map" {
            self.template(obj, "Parameters", loc)
        } else {
            None
        };
        let result_selector = if has("ResultSelector") {
            self.template(obj, "ResultSelector", loc)
        } else {
            None
        };
        let retry = if has("Retry") {
            self.retry(obj, loc)
        } else {
            Vec::new()
        };
        let catch = if has("Catch") {
            self.catch(obj, loc)
        } else {
            Vec::new()
        };
        let transition = if has("Next") {
            self.transition(obj, loc)
        } else {
            Transition::None
        };
        let kind = match ty {
            "Task" => StateKind::Task(self.task(obj, loc)),
            "Pass" => StateKind::Pass {
                result: obj.get("Result").cloned(),
            },
            "Choice" => self.choice_state(obj, loc),
            "Wait" => StateKind::Wait(self.wait(obj, loc)),
            "Succeed" => StateKind::Succeed,
            "Fail" => StateKind::Fail(self.fail(obj, loc)),
            "Parallel" => {
                self.required(obj, &["Branches"], loc);
                let l = pointer(loc, "Branches");
                let mut branches = Vec::new();
                match obj.get("Branches") {
                    Some(Value::Array(a)) if !a.is_empty() => {
                        for (i, b) in a.iter().enumerate() {
                            if let Some(d) =
                                self.machine(b, &pointer(&l, &i.to_string()), Scope::Branch)
                            {
                                branches.push(d);
                            }
                        }
                    }
                    Some(_) => self.err(
                        SCHEMA,
                        "Expected value of type: Array with at least one branch",
                        &l,
                    ),
                    None => {}
                }
                StateKind::Parallel { branches }
            }
            _ => StateKind::Map(self.map(obj, loc)?),
        };
        Some(State {
            name: name.to_string(),
            comment,
            kind,
            transition,
            input_path,
            output_path,
            result_path,
            parameters,
            result_selector,
            retry,
            catch,
            assign,
            jsonata: jsonata_state.then(|| Box::new(jf)),
        })
    }

    /// The state's query language (its own `QueryLanguage`, else the machine's) is JSONata; refuses
    /// fields of the other language with AWS's messages (as measured with
    /// ValidateStateMachineDefinition, quoted in floci-io/floci#2968).
    fn state_language(&mut self, obj: &Map<String, Value>, loc: &str) -> bool {
        let own = obj.get("QueryLanguage").and_then(Value::as_str);
        if self.top_jsonata && own == Some("JSONPath") {
            self.err(
                SCHEMA,
                "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
                loc,
            );
        }
        let jsonata = match own {
            Some("JSONata") => true,
            Some("JSONPath") => false,
            _ => self.top_jsonata,
        };
        let (lang, other, only): (&str, &str, &[&str]) = if jsonata {
            ("JSONata", "JSONPath", &JSONPATH_ONLY)
        } else {
            ("JSONPath", "JSONata", &JSONATA_ONLY)
        };
        for f in only {
            if obj.contains_key(*f) {
                self.err(
                    SCHEMA,
                    format!("The QueryLanguage is set to '{lang}', but field '{f}' is only supported for the '{other}' QueryLanguage"),
                    loc,
                );
            }
        }
        jsonata
    }

    /// Checks the `{% %}` expressions of a JSONata field's value (anywhere inside it).
    fn expressions(&mut self, v: &Value, loc: &str) {
        match v {
            Value::String(s) => {
                if let Some(expr) = crate::jsonata::expression(s) {
                    // AWS's codes and texts (floci-io/floci#2745, #2670, measured with
                    // ValidateStateMachineDefinition); the parser's messages are the crate's.
                    let in_catcher = loc.contains("/Catch/");
                    if let Some((code, p)) = crate::jsonata::create_time_problem(expr, in_catcher) {
                        self.err(code, p, loc);
                    }
                }
            }
            Value::Object(m) => {
                for (k, x) in m {
                    self.expressions(x, &pointer(loc, k));
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    self.expressions(x, &pointer(loc, &i.to_string()));
                }
            }
            _ => {}
        }
    }

    /// A JSONata state's expression fields go into `jf`; returns the state's fields without them (a
    /// Wait's expression gets a placeholder `Seconds`) for the checks shared with JSONPath states.
    fn jsonata_fields(
        &mut self,
        ty: &str,
        obj: &Map<String, Value>,
        loc: &str,
        jf: &mut crate::jsonata::JsonataFields,
    ) -> Map<String, Value> {
        let mut rest = obj.clone();
        for f in ["Arguments", "Output", "Items"] {
            if let Some(v) = obj.get(f) {
                self.expressions(v, &pointer(loc, f));
            }
        }
        jf.arguments = rest.shift_remove("Arguments");
        jf.output = rest.shift_remove("Output");
        jf.items = rest.shift_remove("Items");
        if let Some(v) = &jf.items {
            if !v.is_array() && !crate::jsonata::is_expression(v) {
                self.err(
                    SCHEMA,
                    "The field 'Items' must be a JSON array or a JSONata expression",
                    &pointer(loc, "Items"),
                );
            }
        }
        if ty == "Map" {
            if let Some(v) = rest.shift_remove("ItemSelector") {
                self.expressions(&v, &pointer(loc, "ItemSelector"));
                jf.item_selector = Some(v);
            }
        }
        let mut take = |c: &mut Checker, f: &str| -> Option<Value> {
            if obj.get(f).is_some_and(|v| v.is_string()) {
                let v = rest.shift_remove(f)?;
                if !crate::jsonata::is_expression(&v)
                    && !matches!(f, "Error" | "Cause" | "Timestamp")
                {
                    c.err(
                        SCHEMA,
                        format!("The field '{f}' must be a number or a JSONata expression"),
                        &pointer(loc, f),
                    );
                }
                c.expressions(&v, &pointer(loc, f));
                if crate::jsonata::is_expression(&v) {
                    return Some(v);
                }
                rest.insert(f.into(), v);
            }
            None
        };
        match ty {
            "Task" => {
                jf.timeout_seconds = take(self, "TimeoutSeconds");
                jf.heartbeat_seconds = take(self, "HeartbeatSeconds");
            }
            "Map" => jf.max_concurrency = take(self, "MaxConcurrency"),
            "Wait" => {
                jf.seconds = take(self, "Seconds");
                jf.timestamp = take(self, "Timestamp");
                if jf.seconds.is_some() || jf.timestamp.is_some() {
                    rest.insert("Seconds".into(), Value::from(0));
                }
            }
            "Fail" => {
                jf.error = take(self, "Error");
                jf.cause = take(self, "Cause");
            }
            _ => {}
        }
        rest
    }

    /// `Assign`: an object whose names are valid variable names; JSONPath `.$` values are checked as
    /// payload templates, JSONata `{% %}` values as expressions.
    fn assign(&mut self, v: Option<&Value>, loc: &str, jsonata: bool) -> Option<Value> {
        let v = v?;
        let Some(m) = v.as_object() else {
            self.err(SCHEMA, "Expected value of type: Object", loc);
            return None;
        };
        for k in m.keys() {
            let name = if jsonata {
                k.as_str()
            } else {
                k.strip_suffix(".$").unwrap_or(k)
            };
            if let Some(p) = crate::variables::name_problem(name) {
                self.err(SCHEMA, p, &pointer(loc, k));
            }
        }
        if jsonata {
            self.expressions(v, loc);
        } else {
            self.template_value(v, loc);
        }
        Some(v.clone())
    }

    fn task(&mut self, obj: &Map<String, Value>, loc: &str) -> Task {
        self.required(obj, &["Resource"], loc);
        let resource = self.string(obj, "Resource", loc).unwrap_or_default();
        if obj.contains_key("Resource")
            && !resource.is_empty()
            && !is_activity_arn(&resource)
            && crate::nested::Mode::of(&resource).is_none()
        {
            self.err(
                SCHEMA,
                format!("The resource '{resource}' is not supported: this on-premises Step Functions runs activity tasks (arn:aws:states:<region>:<account>:activity:<name>) and nested executions (arn:aws:states:::states:startExecution, .sync, .sync:2, .waitForTaskToken)"),
                &pointer(loc, "Resource"),
            );
        }
        let pair = |c: &mut Checker, a: &str, b: &str| {
            if obj.contains_key(a) && obj.contains_key(b) {
                c.err(
                    SCHEMA,
                    format!("Only one of the fields [{a}, {b}] may be present"),
                    loc,
                );
            }
        };
        pair(self, "TimeoutSeconds", "TimeoutSecondsPath");
        pair(self, "HeartbeatSeconds", "HeartbeatSecondsPath");
        let timeout_seconds = self.uint(obj, "TimeoutSeconds", loc, 1, MAX_INT_FIELD);
        let heartbeat_seconds = self.uint(obj, "HeartbeatSeconds", loc, 1, MAX_INT_FIELD);
        if let (Some(t), Some(h)) = (timeout_seconds, heartbeat_seconds) {
            if h >= t {
                self.err(
                    SCHEMA,
                    "HeartbeatSeconds must be smaller than TimeoutSeconds",
                    &pointer(loc, "HeartbeatSeconds"),
                );
            }
        }
        Task {
            resource,
            timeout_seconds,
            timeout_seconds_path: self.opt_ref_path(obj, "TimeoutSecondsPath", loc),
            heartbeat_seconds,
            heartbeat_seconds_path: self.opt_ref_path(obj, "HeartbeatSecondsPath", loc),
        }
    }

    fn wait(&mut self, obj: &Map<String, Value>, loc: &str) -> WaitSpec {
        let given: Vec<&str> = ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"]
            .into_iter()
            .filter(|f| obj.contains_key(*f))
            .collect();
        if given.len() != 1 {
            self.err(SCHEMA, "Exactly one of the fields [Seconds, SecondsPath, Timestamp, TimestampPath] is required", loc);
        }
        match given.first().copied() {
            Some("Seconds") => WaitSpec::Seconds(
                self.uint(obj, "Seconds", loc, 0, MAX_INT_FIELD)
                    .unwrap_or(0),
            ),
            Some("SecondsPath") => self
                .opt_ref_path(obj, "SecondsPath", loc)
                .map(WaitSpec::SecondsPath)
                .unwrap_or(WaitSpec::Seconds(0)),
            Some("Timestamp") => {
                let t = self.string(obj, "Timestamp", loc).unwrap_or_default();
                if parse_timestamp(&t).is_none() {
                    self.err(SCHEMA, "The value for the field 'Timestamp' must be a valid ISO-8601 timestamp (e.g. 2016-03-14T01:59:00Z)", &pointer(loc, "Timestamp"));
                }
                WaitSpec::Timestamp(t)
            }
            Some(_) => self
                .opt_ref_path(obj, "TimestampPath", loc)
                .map(WaitSpec::TimestampPath)
                .unwrap_or(WaitSpec::Seconds(0)),
            None => WaitSpec::Seconds(0),
        }
    }

    fn fail(&mut self, obj: &Map<String, Value>, loc: &str) -> Fail {
        for (a, b) in [("Error", "ErrorPath"), ("Cause", "CausePath")] {
            if obj.contains_key(a) && obj.contains_key(b) {
                self.err(
                    SCHEMA,
                    format!("Only one of the fields [{a}, {b}] may be present"),
                    loc,
                );
            }
        }
        let dynamic = |c: &mut Checker, key: &str| {
            let s = c.string(obj, key, loc)?;
            let ok = if intrinsics::is_intrinsic(&s) {
                intrinsics::parse(&s).is_ok()
            } else {
                Path::parse_reference(&s).is_ok()
            };
            if !ok {
                c.err(SCHEMA, format!("The value for the field '{key}' must be a valid ReferencePath or intrinsic function"), &pointer(loc, key));
            }
            Some(s)
        };
        let error_path = dynamic(self, "ErrorPath");
        let cause_path = dynamic(self, "CausePath");
        Fail {
            error: self.string(obj, "Error", loc),
            error_path,
            cause: self.string(obj, "Cause", loc),
            cause_path,
        }
    }

    fn map(&mut self, obj: &Map<String, Value>, loc: &str) -> Option<MapState> {
        for (a, b) in [
            ("Iterator", "ItemProcessor"),
            ("Parameters", "ItemSelector"),
            ("MaxConcurrency", "MaxConcurrencyPath"),
        ] {
            if obj.contains_key(a) && obj.contains_key(b) {
                self.err(
                    SCHEMA,
                    format!("Only one of the fields [{a}, {b}] may be present"),
                    loc,
                );
            }
        }
        let (key, scope) = if obj.contains_key("ItemProcessor") {
            ("ItemProcessor", Scope::ItemProcessor)
        } else {
            ("Iterator", Scope::Iterator)
        };
        let Some(p) = obj.get(key) else {
            self.err(SCHEMA, "These fields are required: [ItemProcessor]", loc);
            return None;
        };
        let processor = self.machine(p, &pointer(loc, key), scope)?;
        let sel_key = if obj.contains_key("ItemSelector") {
            "ItemSelector"
        } else {
            "Parameters"
        };
        let item_selector = self.template(obj, sel_key, loc);
        if sel_key == "Parameters" && item_selector.as_ref().is_some_and(|v| !v.is_object()) {
            self.err(
                SCHEMA,
                "Expected value of type: Object",
                &pointer(loc, "Parameters"),
            );
        }
        let distributed = validate_distributed::parse(self, obj, loc);
        Some(MapState {
            distributed,
            items_path: self.opt_ref_path(obj, "ItemsPath", loc),
            item_selector,
            processor: Box::new(processor),
            max_concurrency: self
                .uint(obj, "MaxConcurrency", loc, 0, MAX_INT_FIELD)
                .unwrap_or(0),
            max_concurrency_path: self.opt_ref_path(obj, "MaxConcurrencyPath", loc),
        })
    }

    fn choice_state(&mut self, obj: &Map<String, Value>, loc: &str) -> StateKind {
        self.required(obj, &["Choices"], loc);
        let l = pointer(loc, "Choices");
        let mut choices = Vec::new();
        match obj.get("Choices") {
            Some(Value::Array(a)) if !a.is_empty() => {
                for (i, c) in a.iter().enumerate() {
                    let cl = pointer(&l, &i.to_string());
                    let Some(co) = self.object(c, &cl) else {
                        continue;
                    };
                    let next = self.string(co, "Next", &cl);
                    if next.is_none() {
                        self.required(co, &["Next"], &cl);
                    }
                    let jsonata = self.cur_jsonata;
                    let assign = self.assign(co.get("Assign"), &pointer(&cl, "Assign"), jsonata);
                    let output = co.get("Output").cloned();
                    let rule = if jsonata {
                        self.allowed(
                            co,
                            &["Condition", "Next", "Assign", "Output", "Comment"],
                            &cl,
                        );
                        self.required(co, &["Condition"], &cl);
                        let cond = co.get("Condition").cloned();
                        if let Some(c) = &cond {
                            if !c.is_boolean() && !crate::jsonata::is_expression(c) {
                                self.err(SCHEMA, "The field 'Condition' must be a boolean or a JSONata expression", &pointer(&cl, "Condition"));
                            }
                            self.expressions(c, &pointer(&cl, "Condition"));
                        }
                        if let Some(o) = &output {
                            self.expressions(o, &pointer(&cl, "Output"));
                        }
                        cond.map(Rule::Condition)
                    } else {
                        for f in ["Condition", "Output"] {
                            if co.contains_key(f) {
                                self.err(SCHEMA, format!("The QueryLanguage is set to 'JSONPath', but field '{f}' is only supported for the 'JSONata' QueryLanguage"), &cl);
                            }
                        }
                        self.rule(co, &cl, true)
                    };
                    if let Some(next) = next {
                        // A rule with errors still links to its Next, so its target is not reported
                        // unreachable as well; the definition is refused anyway.
                        choices.push(Choice {
                            rule: rule.unwrap_or(Rule::Or(Vec::new())),
                            next,
                            assign,
                            output,
                        });
                    }
                }
            }
            Some(_) => self.err(
                SCHEMA,
                "Expected value of type: Array with at least one rule",
                &l,
            ),
            None => {}
        }
        StateKind::Choice {
            choices,
            default: self.string(obj, "Default", loc),
        }
    }

    fn rule(&mut self, o: &Map<String, Value>, loc: &str, top: bool) -> Option<Rule> {
        let mut operators: Vec<&str> = Vec::new();
        for k in o.keys() {
            let k = k.as_str();
            match k {
                "Variable" | "Comment" => {}
                "Next" | "Assign" | "Condition" | "Output" if top => {}
                "And" | "Or" | "Not" => operators.push(k),
                _ if TESTS.iter().any(|(n, _)| *n == k) => operators.push(k),
                _ if COMPARISONS
                    .iter()
                    .any(|(n, _, _)| *n == k || k.strip_suffix("Path") == Some(n))
                    && k != "StringMatchesPath" =>
                {
                    operators.push(k)
                }
                _ => self.err(
                    SCHEMA,
                    format!("The field \"{k}\" is not supported by Step Functions"),
                    loc,
                ),
            }
        }
        if operators.len() != 1 {
            self.err(
                SCHEMA,
                "A choice rule must have exactly one comparison operator, or And / Or / Not",
                loc,
            );
            return None;
        }
        let op = operators[0];
        let l = pointer(loc, op);
        let v = o.get(op)?;
        let sub = |c: &mut Checker, v: &Value, l: &str| -> Option<Rule> {
            let so = c.object(v, l)?;
            c.rule(so, l, false)
        };
        if matches!(op, "And" | "Or" | "Not") {
            if o.contains_key("Variable") {
                self.err(
                    SCHEMA,
                    "The field \"Variable\" is not supported with And / Or / Not",
                    loc,
                );
            }
            if op == "Not" {
                return sub(self, v, &l).map(|r| Rule::Not(Box::new(r)));
            }
            let Some(arr) = v.as_array().filter(|a| !a.is_empty()) else {
                self.err(
                    SCHEMA,
                    "Expected value of type: Array with at least one rule",
                    &l,
                );
                return None;
            };
            let mut rules = Vec::new();
            for (i, r) in arr.iter().enumerate() {
                rules.push(sub(self, r, &pointer(&l, &i.to_string()))?);
            }
            return Some(if op == "And" {
                Rule::And(rules)
            } else {
                Rule::Or(rules)
            });
        }
        let Some(var_text) = self.string(o, "Variable", loc) else {
            self.required(o, &["Variable"], loc);
            return None;
        };
        let variable = match Path::parse(&var_text) {
            Ok(p) => p,
            Err(e) => {
                self.err(
                    SCHEMA,
                    format!(
                        "The value for the field 'Variable' must be a valid JSONPath: {}",
                        e.reason
                    ),
                    &pointer(loc, "Variable"),
                );
                return None;
            }
        };
        if let Some((_, test)) = TESTS.iter().find(|(n, _)| *n == op) {
            let Some(expected) = v.as_bool() else {
                self.err(SCHEMA, "Expected value of type: Boolean", &l);
                return None;
            };
            return Some(Rule::Test {
                variable,
                test: *test,
                expected,
            });
        }
        if op == "StringMatches" {
            let Some(pattern) = v.as_str() else {
                self.err(SCHEMA, "Expected value of type: String", &l);
                return None;
            };
            return Some(Rule::Matches {
                variable,
                pattern: pattern.to_string(),
            });
        }
        let (base, is_path) = match op.strip_suffix("Path") {
            Some(b) if COMPARISONS.iter().any(|(n, _, _)| *n == b) => (b, true),
            _ => (op, false),
        };
        let (_, kind, cmp) = COMPARISONS.iter().find(|(n, _, _)| *n == base).copied()?;
        let operand = if is_path {
            let Some(p) = v.as_str().and_then(|s| Path::parse_reference(s).ok()) else {
                self.err(
                    SCHEMA,
                    format!("The value for the field '{op}' must be a valid ReferencePath"),
                    &l,
                );
                return None;
            };
            Operand::Path(p)
        } else {
            let ok = match kind {
                Kind::String => v.is_string(),
                Kind::Numeric => v.is_number(),
                Kind::Boolean => v.is_boolean(),
                Kind::Timestamp => v.as_str().and_then(parse_timestamp).is_some(),
            };
            if !ok {
                let want = match kind {
                    Kind::String => "String",
                    Kind::Numeric => "Number",
                    Kind::Boolean => "Boolean",
                    Kind::Timestamp => "Timestamp (e.g. 2016-03-14T01:59:00Z)",
                };
                self.err(SCHEMA, format!("Expected value of type: {want}"), &l);
                return None;
            }
            Operand::Value(v.clone())
        };
        Some(Rule::Compare {
            variable,
            kind,
            cmp,
            operand,
        })
    }
}

/// `arn:<partition>:states:<region>:<account>:activity:<name>`.
pub fn is_activity_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(7, ':').collect();
    parts.len() == 7
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "states"
        && !parts[3].is_empty()
        && !parts[4].is_empty()
        && parts[5] == "activity"
        && !parts[6].is_empty()
        && parts[6].chars().count() <= 80
        && !parts[6].contains(':')
}

#[path = "validate_distributed.rs"]
mod validate_distributed;
#[path = "validate_scope.rs"]
mod validate_scope;

#[cfg(test)]
#[path = "validate_test.rs"]
mod validate_test;
