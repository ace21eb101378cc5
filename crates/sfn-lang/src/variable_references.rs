//! DescribeStateMachine's (and DescribeStateMachineForExecution's) `variableReferences`: for each
//! state that reads workflow variables, the names it reads (states reading none are left out, and
//! the member is left out when no state reads one), as AWS reports them (recorded against AWS in
//! localstack's `tests/aws/services/stepfunctions/v2/test_sfn_api_variable_references` snapshots).
//!
//! JSONPath states: `$name...` in the `...Path` fields (`InputPath`, `OutputPath`, `ItemsPath`,
//! `SecondsPath`, a Choice rule's `Variable` and `...Path` operands, `MaxItemsPath`, ...), in `.$`
//! values of `Parameters`, `ResultSelector`, `ItemSelector` and `Assign`, and in intrinsic functions'
//! arguments; a plain string such as `"bucketName": "$bucket"` is a constant and not counted.
//! JSONata states: the `$name` variables their expressions read (not `$states`, not names the
//! expression binds itself with `:=` or as a function's parameters, not functions it calls). A Map's
//! or Parallel's nested states are listed under their own names (state names are unique
//! machine-wide). Names come sorted and once each.

use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The `variableReferences` of a definition; `None` when no state reads a variable (or the text is
/// not a definition).
pub fn references(definition: &str) -> Option<Value> {
    let def: Value = serde_json::from_str(definition).ok()?;
    let top_jsonata = def.get("QueryLanguage").and_then(Value::as_str) == Some("JSONata");
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    machine(&def, top_jsonata, &mut out);
    let refs: Map<String, Value> = out
        .into_iter()
        .filter(|(_, names)| !names.is_empty())
        .map(|(state, names)| (state, Value::from(names.into_iter().collect::<Vec<_>>())))
        .collect();
    (!refs.is_empty()).then_some(Value::Object(refs))
}

/// Fields holding a nested machine (listed state by state on their own).
const NESTED: [&str; 3] = ["Branches", "ItemProcessor", "Iterator"];

fn machine(m: &Value, top_jsonata: bool, out: &mut BTreeMap<String, BTreeSet<String>>) {
    let Some(states) = m.get("States").and_then(Value::as_object) else {
        return;
    };
    for (name, st) in states {
        let Some(obj) = st.as_object() else {
            continue;
        };
        let jsonata = match obj.get("QueryLanguage").and_then(Value::as_str) {
            Some("JSONata") => true,
            Some(_) => false,
            None => top_jsonata,
        };
        let names = out.entry(name.clone()).or_default();
        for (k, v) in obj {
            if NESTED.contains(&k.as_str()) {
                continue;
            }
            if jsonata {
                jsonata_value(v, names);
            } else {
                jsonpath_field(k, v, names);
            }
        }
        for nested in ["ItemProcessor", "Iterator"] {
            if let Some(sub) = obj.get(nested) {
                machine(sub, top_jsonata, out);
            }
        }
        for branch in obj
            .get("Branches")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            machine(branch, top_jsonata, out);
        }
    }
}

/// Every `{% %}` string inside a JSONata state's field.
fn jsonata_value(v: &Value, names: &mut BTreeSet<String>) {
    match v {
        Value::String(s) => {
            if let Some(expr) = crate::jsonata::expression(s) {
                names.extend(crate::jsonata::referenced_variables(expr));
            }
        }
        Value::Object(m) => m.values().for_each(|x| jsonata_value(x, names)),
        Value::Array(a) => a.iter().for_each(|x| jsonata_value(x, names)),
        _ => {}
    }
}

/// A JSONPath state's field `key` with value `v` (objects and arrays walked).
fn jsonpath_field(key: &str, v: &Value, names: &mut BTreeSet<String>) {
    match v {
        Value::String(s) if key.ends_with("Path") || key == "Variable" => {
            names.extend(path_variable(s));
        }
        Value::String(s) if key.ends_with(".$") => {
            if s.starts_with("States.") {
                names.extend(intrinsic_variables(s));
            } else {
                names.extend(path_variable(s));
            }
        }
        Value::Object(m) => m.iter().for_each(|(k, x)| jsonpath_field(k, x, names)),
        Value::Array(a) => a.iter().for_each(|x| jsonpath_field(key, x, names)),
        _ => {}
    }
}

/// The variable a path starts from: `$name`, `$name.field`, `$name[0]`.
fn path_variable(s: &str) -> Option<String> {
    let rest = s.strip_prefix('$')?;
    let name: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit())).then_some(name)
}

/// The variables an intrinsic function's arguments start from (outside its string literals).
fn intrinsic_variables(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut quoted = false;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if quoted => {
                chars.next();
            }
            '\'' => quoted = !quoted,
            '$' if !quoted => out.extend(path_variable(&s[i..])),
            _ => {}
        }
    }
    out
}
