//! Variable scopes at create time: a state inside a Parallel branch or an inline Map iteration may
//! read the variables of the scopes around it but not assign one of them, and AWS refuses such a
//! definition at CreateStateMachine / ValidateStateMachineDefinition rather than at run time (the
//! run-time check in `variables::check_scope` stays for definitions stored before). A name counts as
//! an outer scope's when any state of an enclosing machine assigns it (a state's `Assign`, a Choice
//! rule's, a catcher's, the Parallel / Map state's own). A Distributed Map's iterations are child
//! executions that do not see the parent's variables, so its ItemProcessor starts a fresh scope.
//! AWS's wording of this refusal was not found; ours says what the run-time error says.

use serde_json::Value;
use std::collections::BTreeSet;

/// The assignments to an outer scope's variable: (the `Assign` entry's JSON pointer, the name).
pub(crate) fn outer_scope_assignments(def: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    machine(def, "", &BTreeSet::new(), &mut out);
    out
}

/// The `Assign` objects of a state (its own, its Choice rules', its catchers'), with their pointers.
fn assigns<'a>(st: &'a Value, loc: &str) -> Vec<(String, &'a serde_json::Map<String, Value>)> {
    let mut v = Vec::new();
    if let Some(a) = st.get("Assign").and_then(Value::as_object) {
        v.push((format!("{loc}/Assign"), a));
    }
    for field in ["Choices", "Catch"] {
        for (i, x) in st
            .get(field)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(a) = x.get("Assign").and_then(Value::as_object) {
                v.push((format!("{loc}/{field}/{i}/Assign"), a));
            }
        }
    }
    v
}

/// A variable name of an `Assign` key (`name` or `name.$`).
fn name(key: &str) -> &str {
    key.strip_suffix(".$").unwrap_or(key)
}

fn machine(m: &Value, loc: &str, outer: &BTreeSet<String>, out: &mut Vec<(String, String)>) {
    let Some(states) = m.get("States").and_then(Value::as_object) else {
        return;
    };
    let mut own: BTreeSet<String> = outer.clone();
    for (s, st) in states {
        for (aloc, a) in assigns(st, &format!("{loc}/States/{s}")) {
            for k in a.keys() {
                if outer.contains(name(k)) {
                    out.push((format!("{aloc}/{k}"), name(k).to_string()));
                }
                own.insert(name(k).to_string());
            }
        }
    }
    for (s, st) in states {
        let sloc = format!("{loc}/States/{s}");
        for (i, b) in st
            .get("Branches")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            machine(b, &format!("{sloc}/Branches/{i}"), &own, out);
        }
        for field in ["ItemProcessor", "Iterator"] {
            if let Some(p) = st.get(field) {
                let distributed = p.pointer("/ProcessorConfig/Mode").and_then(Value::as_str)
                    == Some("DISTRIBUTED");
                let scope = if distributed {
                    BTreeSet::new()
                } else {
                    own.clone()
                };
                machine(p, &format!("{sloc}/{field}"), &scope, out);
            }
        }
    }
}
