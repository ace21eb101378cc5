//! JSONata results are the same on every replica: objects come out in document (insertion) order
//! under `$keys`, `$each`, `$spread`, `$sift`, `*`, `**`, `$string` and object construction, and the
//! same expressions give byte-identical output in two separate processes (the test binary re-runs
//! itself as a child, whose hash maps are seeded differently). The former evaluator kept objects
//! in randomly seeded hash maps, so these differed between processes.

use crate::entropy::Entropy;
use crate::jsonata::{evaluate_expression, Env};
use serde_json::{json, Map, Value};

/// 50 keys in an order that is neither sorted nor any hash order: `k37`, `k12`, `k49`, ...
fn keys() -> Vec<String> {
    (0..50)
        .map(|i| format!("k{}", (i * 37 + 11) % 50))
        .collect()
}

/// An object of the 50 keys (value: the key's position), nested one level under `inner` too, and
/// the same as a list of `{k, v}` pairs.
fn input() -> Value {
    let mut o = Map::new();
    for (i, k) in keys().into_iter().enumerate() {
        o.insert(k, json!(i));
    }
    let list: Vec<Value> = keys()
        .into_iter()
        .enumerate()
        .map(|(i, k)| json!({"k": k, "v": i}))
        .collect();
    json!({"obj": Value::Object(o.clone()), "deep": {"inner": Value::Object(o)}, "list": list})
}

fn eval(expr: &str) -> Value {
    let input = input();
    let context = json!({});
    let env = Env {
        input: &input,
        result: None,
        error_output: None,
        context: &context,
    };
    evaluate_expression(expr, &env, &mut Entropy::new(1))
        .unwrap_or_else(|e| panic!("{expr}: {e}"))
        .unwrap_or_else(|| panic!("{expr}: undefined"))
}

/// The expressions whose results depend on object order, with what document order gives.
fn cases() -> Vec<(&'static str, Value)> {
    let keys = keys();
    let positions: Vec<Value> = (0..keys.len()).map(|i| json!(i)).collect();
    let pairs: Vec<Value> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| json!(format!("{k}={i}")))
        .collect();
    let singletons: Vec<Value> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| json!({k: i}))
        .collect();
    let mut doubled = Map::new();
    for (i, k) in keys.iter().enumerate() {
        doubled.insert(format!("{k}x"), json!(2 * i));
    }
    let mut odd = Map::new();
    for (i, k) in keys.iter().enumerate().filter(|(i, _)| i % 2 == 1) {
        odd.insert(k.clone(), json!(i));
    }
    let text = serde_json::to_string(&input()["obj"]).unwrap();
    vec![
        ("$keys($states.input.obj)", json!(keys)),
        (
            "$each($states.input.obj, function($v, $k) { $k & '=' & $v })",
            Value::Array(pairs),
        ),
        ("$spread($states.input.obj)", Value::Array(singletons)),
        ("$states.input.obj.*", Value::Array(positions.clone())),
        // `**` over {"inner": {...}}: the inner object, then its values in order.
        (
            "$states.input.deep.**[$type($) = 'number']",
            Value::Array(positions),
        ),
        (
            "$merge($each($states.input.obj, function($v, $k) { {$k & 'x': $v * 2} }))",
            Value::Object(doubled.clone()),
        ),
        ("$states.input.list{k & 'x': v * 2}", Value::Object(doubled)),
        (
            "$sift($states.input.obj, function($v) { $v % 2 = 1 })",
            Value::Object(odd),
        ),
        ("$string($states.input.obj)", json!(text)),
        ("$states.input.obj", input()["obj"].clone()),
    ]
}

#[test]
fn objects_come_out_in_document_order() {
    for (expr, want) in cases() {
        let got = eval(expr);
        assert_eq!(
            serde_json::to_string(&got).unwrap(),
            serde_json::to_string(&want).unwrap(),
            "{expr}"
        );
    }
}

/// Set in the child process: it prints its results instead of comparing.
const CHILD: &str = "SFN_JSONATA_ORDER_CHILD";
const MARK: &str = "jsonata-order-result:";

/// Every case's result as JSON text, one line each.
fn results() -> String {
    cases()
        .iter()
        .map(|(expr, _)| format!("{MARK}{}\n", serde_json::to_string(&eval(expr)).unwrap()))
        .collect()
}

/// Runs in the child processes (a no-op in an ordinary run): prints the results.
#[test]
fn order_child() {
    if std::env::var_os(CHILD).is_some() {
        print!("{}", results());
    }
}

#[test]
fn two_processes_give_byte_identical_results() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let child = || {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "jsonata_order_test::order_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .output()
            .expect("running the test binary again");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter_map(|l| l.find(MARK).map(|at| format!("{}\n", &l[at..])))
            .collect::<String>()
    };
    let (a, b) = (child(), child());
    assert_eq!(a.lines().count(), cases().len(), "{a}");
    assert_eq!(a, b, "two processes disagree");
    assert_eq!(a, results(), "a child and this process disagree");
}
