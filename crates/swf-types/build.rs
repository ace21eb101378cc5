//! Generates the Rust shapes of the SWF API (`shapes.rs` in OUT_DIR) from the model file, so every
//! request, response, decision and event shape is exactly what the model says: member names, which
//! members are required, and enum values. Validation of lengths and ranges reads the same model at run time.

use std::collections::BTreeMap;
use std::fmt::Write as _;

fn main() {
    let model_path = "model/swf-2012-01-25.service.json";
    println!("cargo:rerun-if-changed={model_path}");
    println!("cargo:rerun-if-changed=build.rs");
    let text = std::fs::read_to_string(model_path).expect("read model");
    let model: serde_json::Value = serde_json::from_str(&text).expect("parse model");
    let shapes = model["shapes"].as_object().expect("shapes");
    let shapes: BTreeMap<&String, &serde_json::Value> = shapes.iter().collect();

    let mut out = String::new();
    for (name, shape) in &shapes {
        let kind = shape["type"].as_str().unwrap_or_default();
        if shape
            .get("exception")
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
        {
            continue;
        }
        match kind {
            "structure" => structure(&mut out, name, shape, &shapes),
            "string" if shape.get("enum").is_some() => enumeration(&mut out, name, shape),
            _ => {}
        }
    }
    history_event_helpers(&mut out, shapes[&"HistoryEvent".to_string()]);
    decision_helpers(&mut out, shapes[&"Decision".to_string()]);
    let dest = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("shapes.rs");
    std::fs::write(dest, out).expect("write shapes.rs");

    // The actions of both APIs, as enums: dispatch on them is an exhaustive `match`, so an action
    // added to a model cannot be forgotten.
    let sfn_path = "model/stepfunctions-2016-11-23.service.json";
    println!("cargo:rerun-if-changed={sfn_path}");
    let sfn: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sfn_path).expect("read sfn model"))
            .expect("parse sfn model");
    let mut actions = String::new();
    action_enum(
        &mut actions,
        "SwfAction",
        "Amazon SWF (`X-Amz-Target: SimpleWorkflowService.<name>`)",
        &model,
    );
    action_enum(
        &mut actions,
        "SfnAction",
        "AWS Step Functions (`X-Amz-Target: AWSStepFunctions.<name>`)",
        &sfn,
    );
    let dest = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("actions.rs");
    std::fs::write(dest, actions).expect("write actions.rs");
}

/// `pub enum <name>`: one variant per operation of `model`, with its wire name both ways.
fn action_enum(out: &mut String, name: &str, what: &str, model: &serde_json::Value) {
    let ops: Vec<&String> = model["operations"]
        .as_object()
        .expect("operations")
        .keys()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    writeln!(out, "/// Every action of {what}, from its API model.").unwrap();
    writeln!(
        out,
        "#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]\npub enum {name} {{"
    )
    .unwrap();
    for op in &ops {
        writeln!(out, "    {op},").unwrap();
    }
    writeln!(out, "}}\n\nimpl {name} {{").unwrap();
    writeln!(
        out,
        "    /// Every action, in name order.\n    pub const ALL: &'static [{name}] = &["
    )
    .unwrap();
    for op in &ops {
        writeln!(out, "        {name}::{op},").unwrap();
    }
    writeln!(out, "    ];\n\n    /// The action's name on the wire.\n    pub fn name(self) -> &'static str {{\n        match self {{").unwrap();
    for op in &ops {
        writeln!(out, "            {name}::{op} => \"{op}\",").unwrap();
    }
    writeln!(out, "        }}\n    }}\n\n    /// The action named `name`, if the model has it.\n    pub fn from_name(name: &str) -> Option<{name}> {{\n        match name {{").unwrap();
    for op in &ops {
        writeln!(out, "            \"{op}\" => Some({name}::{op}),").unwrap();
    }
    writeln!(out, "            _ => None,\n        }}\n    }}\n}}\n").unwrap();
}

fn rust_type(shape_name: &str, shapes: &BTreeMap<&String, &serde_json::Value>) -> String {
    let shape = shapes[&shape_name.to_string()];
    match shape["type"].as_str().unwrap() {
        "string" if shape.get("enum").is_some() => shape_name.to_string(),
        "string" => "String".into(),
        "integer" => "i32".into(),
        "long" => "i64".into(),
        "boolean" => "bool".into(),
        "timestamp" => "crate::common::Timestamp".into(),
        "list" => {
            // A Vec already puts its elements on the heap: no Box for structure elements.
            let elem = rust_type(shape["member"]["shape"].as_str().unwrap(), shapes);
            let elem = elem
                .strip_prefix("Box<")
                .and_then(|e| e.strip_suffix('>'))
                .map(str::to_string)
                .unwrap_or(elem);
            format!("Vec<{elem}>")
        }
        "structure" => format!("Box<{shape_name}>"),
        other => panic!("unsupported type {other}"),
    }
}

fn snake(name: &str) -> String {
    let mut s = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                s.push('_');
            }
            s.push(c.to_ascii_lowercase());
        } else {
            s.push(c);
        }
    }
    match s.as_str() {
        "type" | "ref" | "match" | "in" | "fn" => format!("r#{s}"),
        _ => s,
    }
}

fn structure(
    out: &mut String,
    name: &str,
    shape: &serde_json::Value,
    shapes: &BTreeMap<&String, &serde_json::Value>,
) {
    let required: Vec<&str> = shape
        .get("required")
        .and_then(|r| r.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    let members = shape["members"].as_object().unwrap();
    writeln!(out, "/// The `{name}` shape of the SWF model.").unwrap();
    writeln!(
        out,
        "#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]"
    )
    .unwrap();
    writeln!(out, "pub struct {name} {{").unwrap();
    for (member, mref) in members {
        let ty = rust_type(mref["shape"].as_str().unwrap(), shapes);
        let field = snake(member);
        if required.contains(&member.as_str()) {
            writeln!(
                out,
                "    #[serde(rename = \"{member}\", default)]\n    pub {field}: {ty},"
            )
            .unwrap();
        } else {
            writeln!(
                out,
                "    #[serde(rename = \"{member}\", default, skip_serializing_if = \"Option::is_none\")]\n    pub {field}: Option<{ty}>,"
            )
            .unwrap();
        }
    }
    writeln!(out, "}}\n").unwrap();
}

fn variant(value: &str) -> String {
    if value.contains('_')
        || value
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        value
            .split('_')
            .map(|w| {
                let mut cs = w.chars();
                match cs.next() {
                    Some(f) => {
                        f.to_ascii_uppercase().to_string() + &cs.as_str().to_ascii_lowercase()
                    }
                    None => String::new(),
                }
            })
            .collect()
    } else {
        let mut cs = value.chars();
        cs.next().unwrap().to_ascii_uppercase().to_string() + cs.as_str()
    }
}

fn enumeration(out: &mut String, name: &str, shape: &serde_json::Value) {
    let values: Vec<&str> = shape["enum"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    writeln!(out, "/// The `{name}` enum of the SWF model.").unwrap();
    writeln!(out, "#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize)]").unwrap();
    writeln!(out, "pub enum {name} {{").unwrap();
    for (i, v) in values.iter().enumerate() {
        if i == 0 {
            writeln!(out, "    #[default]").unwrap();
        }
        writeln!(out, "    #[serde(rename = \"{v}\")]\n    {},", variant(v)).unwrap();
    }
    writeln!(out, "}}\n").unwrap();
    writeln!(out, "impl {name} {{\n    /// The value as written on the wire.\n    pub fn as_str(self) -> &'static str {{\n        match self {{").unwrap();
    for v in &values {
        writeln!(out, "            {name}::{} => \"{v}\",", variant(v)).unwrap();
    }
    writeln!(out, "        }}\n    }}\n}}\n").unwrap();
}

/// For each `<x>EventAttributes` member of HistoryEvent: a trait impl that knows the event type and where
/// the attributes go, so the core writes `HistoryEvent::new(id, time, attrs)`.
fn history_event_helpers(out: &mut String, shape: &serde_json::Value) {
    for (member, mref) in shape["members"].as_object().unwrap() {
        let Some(prefix) = member.strip_suffix("EventAttributes") else {
            continue;
        };
        let ty = mref["shape"].as_str().unwrap();
        let event_type = variant(prefix);
        let field = snake(member);
        writeln!(
            out,
            "impl crate::events::EventAttributes for {ty} {{\n    const EVENT_TYPE: EventType = EventType::{event_type};\n    fn put(self, event: &mut HistoryEvent) {{ event.{field} = Some(Box::new(self)); }}\n}}\n"
        )
        .unwrap();
    }
}

/// A match from decision type to "are its attributes present", used to reject a decision without them.
fn decision_helpers(out: &mut String, shape: &serde_json::Value) {
    writeln!(out, "impl Decision {{\n    /// The name of the attributes member this decision's type needs, and whether it is present.\n    pub fn attributes_member(&self) -> (&'static str, bool) {{\n        match self.decision_type {{").unwrap();
    for (member, _) in shape["members"].as_object().unwrap() {
        let Some(prefix) = member.strip_suffix("DecisionAttributes") else {
            continue;
        };
        let field = snake(member);
        writeln!(
            out,
            "            DecisionType::{} => (\"{member}\", self.{field}.is_some()),",
            variant(prefix)
        )
        .unwrap();
    }
    writeln!(out, "        }}\n    }}\n}}\n").unwrap();
}
