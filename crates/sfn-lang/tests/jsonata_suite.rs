//! The official JSONata test suite (jsonata-js `test/test-suite`) run against the `seuil` crate
//! that sfn-lang's `jsonata` glue uses, to measure how much of JSONata it implements. Ignored by
//! default; the suite is not part of this repository. Run it with:
//!
//! ```text
//! JSONATA_SUITE=/path/to/jsonata/test/test-suite \
//!   cargo test -p sfn-lang --test jsonata_suite -- --ignored --nocapture
//! ```
//!
//! With `JSONATA_SUITE_GLUE=1` the cases go through sfn-lang's own glue instead
//! (`sfn_lang::jsonata::evaluate_standalone`: the crate plus the functions sfn-lang adds), which is
//! what a JSONata state evaluates with (the cases with `depth` / `timelimit` keep sfn-lang's limits).
//!
//! Each case runs on its own thread (large stack, 10 s limit); a case passes when the result equals
//! `result` (numbers compared as f64, objects regardless of key order, arrays as multisets when
//! `unordered`), when `undefinedResult` and nothing comes back, or when the error code equals `code`.
//! `result_re` cases are counted as passing when a string comes back. The summary prints the pass
//! rate overall and per group.

use bumpalo::Bump;
use serde_json::Value;
use seuil::clock::RealEnvironment;
use seuil::evaluator::engine::Evaluator;
use seuil::evaluator::Value as JValue;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

#[derive(Debug, PartialEq)]
enum Outcome {
    Pass,
    Fail(String),
}

/// Numbers as f64 so `1` and `1.0` compare equal.
fn normal(v: &Value) -> Value {
    match v {
        Value::Number(n) => serde_json::Number::from_f64(n.as_f64().unwrap_or(f64::NAN))
            .map(Value::Number)
            .unwrap_or(Value::Null),
        Value::Array(a) => Value::Array(a.iter().map(normal).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), normal(v))).collect()),
        other => other.clone(),
    }
}

fn close(a: &Value, b: &Value, unordered: bool) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            x == y || (x - y).abs() <= 1e-10 * x.abs().max(y.abs())
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            if unordered {
                let mut used = vec![false; y.len()];
                x.iter().all(|a| {
                    (0..y.len()).any(|i| {
                        if !used[i] && close(a, &y[i], false) {
                            used[i] = true;
                            true
                        } else {
                            false
                        }
                    })
                })
            } else {
                x.iter().zip(y).all(|(a, b)| close(a, b, false))
            }
        }
        (Value::Object(x), Value::Object(y)) if x.len() == y.len() => x
            .iter()
            .all(|(k, a)| y.get(k).is_some_and(|b| close(a, b, false))),
        _ => a == b,
    }
}

fn run_case(case: Value, dir: PathBuf, suite: PathBuf) -> Outcome {
    let expr = match (&case["expr"], &case["expr-file"]) {
        (Value::String(e), _) => e.clone(),
        (_, Value::String(f)) => match std::fs::read_to_string(dir.join(f)) {
            Ok(e) => e,
            Err(e) => return Outcome::Fail(format!("expr-file: {e}")),
        },
        _ => return Outcome::Fail("no expression".into()),
    };
    let data: Option<String> = match &case["dataset"] {
        Value::String(ds) => {
            match std::fs::read_to_string(suite.join("datasets").join(format!("{ds}.json"))) {
                Ok(t) => Some(t),
                Err(e) => return Outcome::Fail(format!("dataset: {e}")),
            }
        }
        _ => case.get("data").map(|d| d.to_string()),
    };
    if std::env::var_os("JSONATA_SUITE_GLUE").is_some() {
        let input: Option<Value> = data.as_deref().and_then(|t| serde_json::from_str(t).ok());
        let bindings = case["bindings"].as_object().cloned().unwrap_or_default();
        let got = sfn_lang::jsonata::evaluate_standalone(&expr, input.as_ref(), &bindings, 0);
        return judge(
            &case,
            got.map_err(|e| e.split([' ', ':']).next().unwrap_or_default().to_string()),
        );
    }
    // The crate alone, as its own `evaluate_with_config_and_bindings` runs it (default depth 1000,
    // time limit 5 s, the real clock), but keeping `undefined` apart from `null`.
    let arena = Bump::new();
    let env = RealEnvironment::new();
    let input: Option<Value> = data.as_deref().and_then(|t| serde_json::from_str(t).ok());
    let got = seuil::parser::parse(&expr).and_then(|ast| {
        let depth = case["depth"].as_u64().map_or(1000, |d| d as usize);
        let time = case["timelimit"].as_u64().or(Some(5000));
        let ev = Evaluator::new(&arena, &env, None, depth, time);
        ev.bind_natives();
        let input = match &input {
            Some(i) => &*JValue::from_json(&arena, i),
            None => JValue::undefined(&arena),
        };
        ev.bind("$", input);
        if let Some(b) = case["bindings"].as_object() {
            for (k, v) in b {
                ev.bind(arena.alloc_str(k), JValue::from_json(&arena, v));
            }
        }
        ev.evaluate(&ast, input).map(|v| match v {
            JValue::Undefined => None,
            v => serde_json::from_str::<Value>(&v.serialize(false)).ok(),
        })
    });
    judge(&case, got.map_err(|e| e.code().to_string()))
}

/// Compares an outcome (a result, or an error code) with what the case expects.
fn judge(case: &Value, got: Result<Option<Value>, String>) -> Outcome {
    let want_code = case["code"]
        .as_str()
        .or_else(|| case["error"]["code"].as_str())
        .map(str::to_string);
    match (got, want_code) {
        (Err(e), Some(code)) if e == code => Outcome::Pass,
        (Err(e), Some(code)) => Outcome::Fail(format!("wanted error {code}, got {e}")),
        (Err(e), None) => Outcome::Fail(format!("error {e}")),
        (Ok(_), Some(code)) => Outcome::Fail(format!("wanted error {code}, got a result")),
        (Ok(None), None) if case["undefinedResult"] == Value::Bool(true) => Outcome::Pass,
        (Ok(Some(Value::String(_))), None) if case.get("result_re").is_some() => Outcome::Pass,
        (Ok(Some(v)), None) => match case.get("result") {
            Some(want)
                if close(
                    &normal(&v),
                    &normal(want),
                    case["unordered"] == Value::Bool(true),
                ) =>
            {
                Outcome::Pass
            }
            _ => Outcome::Fail(format!("got {v}")),
        },
        (Ok(None), None) => Outcome::Fail("got undefined".into()),
    }
}

#[test]
#[ignore = "needs JSONATA_SUITE=<jsonata-js>/test/test-suite"]
fn official_jsonata_suite() {
    let Some(suite) = std::env::var_os("JSONATA_SUITE").map(PathBuf::from) else {
        eprintln!("JSONATA_SUITE is not set; nothing to run");
        return;
    };
    let mut per_group: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut groups: Vec<PathBuf> = std::fs::read_dir(suite.join("groups"))
        .expect("groups")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    groups.sort();
    for g in groups {
        let name = g.file_name().unwrap().to_string_lossy().to_string();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&g)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            let Ok(v) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            let cases = match v {
                Value::Array(a) => a,
                other => vec![other],
            };
            for case in cases {
                let (tx, rx) = mpsc::channel();
                let (dir, s) = (g.clone(), suite.clone());
                let _ = std::thread::Builder::new()
                    .stack_size(256 << 20)
                    .spawn(move || {
                        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            run_case(case, dir, s)
                        }))
                        .unwrap_or_else(|_| Outcome::Fail("panicked".into()));
                        let _ = tx.send(r);
                    });
                let r = rx
                    .recv_timeout(Duration::from_secs(10))
                    .unwrap_or(Outcome::Fail("timed out".into()));
                let e = per_group.entry(name.clone()).or_default();
                e.0 += 1;
                if r == Outcome::Pass {
                    e.1 += 1;
                } else if std::env::var_os("JSONATA_SUITE_VERBOSE").is_some() {
                    eprintln!("FAIL {}: {r:?}", f.display());
                }
            }
        }
    }
    let (total, passed) = per_group
        .values()
        .fold((0, 0), |(t, p), (gt, gp)| (t + gt, p + gp));
    for (g, (t, p)) in &per_group {
        if p < t {
            println!("{g}: {p}/{t}");
        }
    }
    let who = if std::env::var_os("JSONATA_SUITE_GLUE").is_some() {
        "sfn-lang's JSONata (seuil and the added functions)"
    } else {
        "seuil"
    };
    println!(
        "{who} on the JSONata test suite: {passed} of {total} cases pass ({:.1}%), {} groups",
        100.0 * passed as f64 / total.max(1) as f64,
        per_group.len()
    );
    assert!(Path::new(&suite).exists());
}
