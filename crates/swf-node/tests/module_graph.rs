//! The module structure stays a tree of concerns: no import cycle between swf-node's modules (serving
//! calls, Raft wiring and cluster control each depend only downward), and swf-core's log format
//! (`command.rs`) imports no behaviour, only the stored records of `state`. Read from the sources:
//! a module depends on another when its code names `crate::<other>`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// `module -> modules it names`, for every `src/*.rs` of a crate (test modules left out).
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if path.extension().is_none_or(|e| e != "rs") || name.ends_with("_test") || name == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        // Unit tests at the end of a file may use anything.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        let mut deps = BTreeSet::new();
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            let dep: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_' || c.is_ascii_digit())
                .collect();
            if !dep.is_empty() && dep != name {
                deps.insert(dep);
            }
        }
        // `use crate::{a, b}` groups.
        for (i, _) in code.match_indices("crate::{") {
            let group = &code[i + "crate::{".len()..];
            let group = &group[..group.find('}').unwrap_or(0)];
            for part in group.split(',') {
                let dep: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if !dep.is_empty() && dep != name {
                    deps.insert(dep);
                }
            }
        }
        out.insert(name, deps);
    }
    out
}

/// A cycle in `g`, if there is one (as the list of modules around it).
fn find_cycle(g: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(n) {
            Some(1) => {
                let at = stack.iter().position(|s| s == n).unwrap();
                let mut cycle = stack[at..].to_vec();
                cycle.push(n.to_string());
                return Some(cycle);
            }
            Some(_) => return None,
            None => {}
        }
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for d in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(d, g, state, stack) {
                return Some(c);
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in g.keys() {
        if let Some(c) = visit(n, g, &mut state, &mut Vec::new()) {
            return Some(c);
        }
    }
    None
}

#[test]
fn swf_node_modules_have_no_import_cycle() {
    let g = graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(g.len() > 10, "read the modules: {g:?}");
    assert_eq!(find_cycle(&g), None, "{g:#?}");
    // Serving calls does not reach into cluster control, and cluster control not into serving.
    for serving in [
        "executor", "proposer", "matcher", "timers", "router", "request",
    ] {
        for control in ["control", "membership", "transfer", "elections", "node"] {
            assert!(
                !g[serving].contains(control),
                "{serving} depends on {control}"
            );
        }
    }
}

#[test]
fn swf_cores_log_format_imports_no_behaviour() {
    let core = Path::new(env!("CARGO_MANIFEST_DIR")).join("../swf-core/src");
    let g = graph(&core);
    let command = &g["command"];
    // The Step Functions part of the log format lives in `sfn/command.rs` (and names only the records
    // of `sfn/records.rs`).
    assert!(
        command.iter().all(|d| d == "state" || d == "sfn"),
        "command.rs may name only the stored records of state: {command:?}"
    );
    let text = std::fs::read_to_string(core.join("command.rs")).unwrap();
    for (i, _) in text.match_indices("crate::sfn::") {
        assert!(
            text[i..].starts_with("crate::sfn::command::"),
            "command.rs names Step Functions behaviour: {}",
            &text[i..i + 40]
        );
    }
    let sfn = graph(&core.join("sfn"));
    assert!(
        sfn["command"].is_empty(),
        "sfn/command.rs names {:?}",
        sfn["command"]
    );
    let sfn_command = std::fs::read_to_string(core.join("sfn/command.rs")).unwrap();
    for line in sfn_command.lines().filter(|l| l.contains("super::")) {
        assert!(
            line.contains("super::records::"),
            "sfn/command.rs names more than the records: {line}"
        );
    }
}

#[test]
fn swf_core_modules_have_no_import_cycle() {
    // The log format and the stored records (`command`, `state`, `items`) are data and may name each
    // other; behaviour depends on them, never the other way round. `apply` dispatches into the areas,
    // which share `ctx`.
    let core = Path::new(env!("CARGO_MANIFEST_DIR")).join("../swf-core/src");
    let mut g = graph(&core);
    for data in ["command", "state", "items"] {
        for other in ["command", "state", "items"] {
            g.get_mut(data).unwrap().remove(other);
        }
    }
    assert_eq!(find_cycle(&g), None, "{g:#?}");
    for data in ["command", "state", "items", "ctx"] {
        for behaviour in [
            "apply",
            "registry",
            "start",
            "tasks",
            "decisions",
            "external",
            "timeouts",
        ] {
            assert!(
                !g[data].contains(behaviour),
                "{data} depends on {behaviour}"
            );
        }
    }
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let g: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec![]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(find_cycle(&g).unwrap().len(), 4);
    let mut acyclic = g.clone();
    acyclic.get_mut("c").unwrap().clear();
    assert_eq!(find_cycle(&acyclic), None);
}
