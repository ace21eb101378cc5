//! Table tests of the JSONPath evaluator.

use super::*;
use serde_json::json;

fn store() -> Value {
    // The document of the AWS guide's "Paths" page (Jayway's store example).
    json!({"store": {"book": [
        {"category": "reference", "author": "Nigel Rees", "title": "Sayings of the Century", "price": 8.95},
        {"category": "fiction", "author": "Evelyn Waugh", "title": "Sword of Honour", "price": 12.99},
        {"category": "fiction", "author": "Herman Melville", "title": "Moby Dick", "isbn": "0-553-21311-3", "price": 8.99}
    ], "bicycle": {"color": "red", "price": 19.95}}})
}

#[test]
fn queries() {
    let ctx = json!({"Execution": {"Id": "arn:x"}});
    // From the States Language spec's Parameters example (also in the AWS guide).
    let vals = json!({"flagged": 7, "vals": [0, 10, 20, 30, 40, 50]});
    let cases: Vec<(&str, Value, Option<Value>)> = vec![
        ("$", vals.clone(), Some(vals.clone())),
        ("$.vals[0]", vals.clone(), Some(json!(0))),
        ("$.vals[3:]", vals.clone(), Some(json!([30, 40, 50]))),
        ("$.vals[-1]", vals.clone(), Some(json!(50))),
        ("$.vals[0:4:2]", vals.clone(), Some(json!([0, 20]))),
        ("$.vals[0,2]", vals.clone(), Some(json!([0, 20]))),
        ("$['flagged']", vals.clone(), Some(json!(7))),
        ("$.missing", vals.clone(), None),
        ("$.vals[9]", vals.clone(), None),
        ("$$.Execution.Id", vals.clone(), Some(json!("arn:x"))),
        (
            "$.store.book[*].author",
            store(),
            Some(json!(["Nigel Rees", "Evelyn Waugh", "Herman Melville"])),
        ),
        (
            "$..author",
            store(),
            Some(json!(["Nigel Rees", "Evelyn Waugh", "Herman Melville"])),
        ),
        (
            "$.store.book[?(@.isbn)].title",
            store(),
            Some(json!(["Moby Dick"])),
        ),
        (
            "$.store.book[?(@.price < 10)].price",
            store(),
            Some(json!([8.95, 8.99])),
        ),
        (
            "$.store.book[?(@.category == 'fiction' && @.price > 10)].title",
            store(),
            Some(json!(["Sword of Honour"])),
        ),
        (
            "$.store.book[?(@.category != 'fiction' || @.price > 12)].author",
            store(),
            Some(json!(["Nigel Rees", "Evelyn Waugh"])),
        ),
        (
            "$.store.book[?(!(@.price > 9))].author",
            store(),
            Some(json!(["Nigel Rees", "Herman Melville"])),
        ),
        ("$..book[-1:].title", store(), Some(json!(["Moby Dick"]))),
        ("$.store.*.color", store(), Some(json!(["red"]))),
        ("$.nothing[*]", store(), Some(json!([]))),
    ];
    for (path, input, want) in cases {
        let p = Path::parse(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(p.query(&input, &ctx), want, "{path}");
    }
}

#[test]
fn syntax_errors_and_reference_paths() {
    for bad in [
        "",
        "foo",
        "$.",
        "$[",
        "$['a'",
        "$[?(@.a ==)]",
        "$.a[1:2:0]",
        "$ x",
        "$[abc]",
    ] {
        assert!(Path::parse(bad).is_err(), "{bad:?} should not parse");
    }
    let deep = format!("$[?({}@.a{})]", "(".repeat(100_000), ")".repeat(100_000));
    assert!(
        Path::parse(&deep).is_err(),
        "deep nesting is refused, not a stack overflow"
    );
    let nots = format!("$[?({}@.a)]", "!".repeat(100_000));
    assert!(Path::parse(&nots).is_err());
    for ok in ["$", "$.a.b", "$['a b'][0]", "$$.Map.Item.Value", "$.a[-1]"] {
        assert!(
            Path::parse_reference(ok).is_ok(),
            "{ok} is a reference path"
        );
    }
    for not_ref in ["$.a[*]", "$..a", "$.a[0:1]", "$.a[?(@.b)]", "$['a','b']"] {
        assert!(
            Path::parse(not_ref).is_ok() && Path::parse_reference(not_ref).is_err(),
            "{not_ref}"
        );
    }
}

#[test]
fn set_for_result_path() {
    let cases: Vec<(&str, Value, Option<Value>)> = vec![
        ("$", json!({"a": 1}), Some(json!(42))),
        ("$.r", json!({"a": 1}), Some(json!({"a": 1, "r": 42}))),
        ("$.a", json!({"a": 1}), Some(json!({"a": 42}))),
        (
            "$.x.y",
            json!({"a": 1}),
            Some(json!({"a": 1, "x": {"y": 42}})),
        ),
        ("$.a.y", json!({"a": 1}), None),
        ("$.r", json!("text"), None),
        ("$.l[1]", json!({"l": [0, 1]}), Some(json!({"l": [0, 42]}))),
        ("$.l[5]", json!({"l": [0, 1]}), None),
    ];
    for (path, input, want) in cases {
        let p = Path::parse_reference(path).unwrap();
        assert_eq!(p.set(input, json!(42)), want, "{path}");
    }
}
