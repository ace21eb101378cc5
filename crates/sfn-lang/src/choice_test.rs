//! Table tests of Choice rules, parsed from definitions as a user writes them.

use super::*;
use crate::definition::{Definition, StateKind};
use serde_json::json;

fn choice_state(choices: Value, default: Option<&str>) -> (Vec<Choice>, Option<String>) {
    let mut targets: Vec<String> = choices
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["Next"].as_str().unwrap().to_string())
        .collect();
    targets.extend(default.map(String::from));
    let mut states = serde_json::Map::new();
    let mut c = json!({"Type": "Choice", "Choices": choices});
    if let Some(d) = default {
        c["Default"] = json!(d);
    }
    states.insert("C".into(), c);
    for t in targets {
        states.insert(t, json!({"Type": "Succeed"}));
    }
    let def = Definition::parse(&json!({"StartAt": "C", "States": states}).to_string()).unwrap();
    match &def.state("C").unwrap().kind {
        StateKind::Choice { choices, default } => (choices.clone(), default.clone()),
        _ => unreachable!(),
    }
}

#[test]
fn the_guides_choice_example() {
    // The Choice state page of the AWS guide.
    let (choices, default) = choice_state(
        json!([
            {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"},
            {"Variable": "$.value", "NumericEquals": 0, "Next": "ValueIsZero"},
            {"And": [{"Variable": "$.value", "NumericGreaterThanEquals": 20}, {"Variable": "$.value", "NumericLessThan": 30}], "Next": "ValueInTwenties"}
        ]),
        Some("DefaultState"),
    );
    let cases = [
        (json!({"type": "Public"}), Ok("Public")),
        (json!({"type": "Private", "value": 0}), Ok("ValueIsZero")),
        (
            json!({"type": "Private", "value": 22}),
            Ok("ValueInTwenties"),
        ),
        (json!({"type": "Private", "value": 30}), Ok("DefaultState")),
        (json!({"type": "Private"}), Err("States.Runtime")),
    ];
    for (input, want) in cases {
        let got = choose(&choices, default.as_deref(), &input, &json!({})).map_err(|e| e.name());
        assert_eq!(got, want, "{input}");
    }
    let (choices, _) = choice_state(
        json!([{"Variable": "$.v", "IsPresent": true, "Next": "X"}]),
        None,
    );
    let err = choose(&choices, None, &json!({}), &json!({})).unwrap_err();
    assert_eq!(err.name(), "States.NoChoiceMatched");
}

#[test]
fn every_operator() {
    let input = json!({
        "s": "abc", "n": 10, "f": 2.5, "b": true, "t": "2016-03-14T01:59:00Z", "t2": "2016-03-14T02:59:00+01:00",
        "null": null, "other": "abd", "ten": 10.0, "file": "log-2024.txt", "star": "a*b", "bs": "a\\b"
    });
    let cases: Vec<(&str, Value, bool)> = vec![
        ("StringEquals", json!("abc"), true),
        ("StringEquals", json!("abd"), false),
        ("StringLessThan", json!("abd"), true),
        ("StringGreaterThan", json!("abb"), true),
        ("StringLessThanEquals", json!("abc"), true),
        ("StringGreaterThanEquals", json!("abd"), false),
        ("StringEqualsPath", json!("$.other"), false),
        ("StringLessThanPath", json!("$.other"), true),
        ("StringGreaterThanPath", json!("$.other"), false),
        ("StringLessThanEqualsPath", json!("$.s"), true),
        ("StringGreaterThanEqualsPath", json!("$.s"), true),
        ("StringMatches", json!("a*"), true),
        ("StringMatches", json!("*c"), true),
        ("StringMatches", json!("*b*"), true),
        ("StringMatches", json!("a*d"), false),
        ("StringMatches", json!("abc"), true),
        ("StringMatches", json!("ab"), false),
    ];
    let num: Vec<(&str, Value, bool)> = vec![
        ("NumericEquals", json!(10), true),
        ("NumericEquals", json!(10.0), true),
        ("NumericLessThan", json!(10.5), true),
        ("NumericGreaterThan", json!(9), true),
        ("NumericLessThanEquals", json!(10), true),
        ("NumericGreaterThanEquals", json!(11), false),
        ("NumericEqualsPath", json!("$.ten"), true),
        ("NumericLessThanPath", json!("$.f"), false),
        ("NumericGreaterThanPath", json!("$.f"), true),
        ("NumericLessThanEqualsPath", json!("$.ten"), true),
        ("NumericGreaterThanEqualsPath", json!("$.ten"), true),
        ("NumericEqualsPath", json!("$.s"), false),
    ];
    let mut all: Vec<(&str, &str, Value, bool)> = cases
        .into_iter()
        .map(|(o, v, w)| ("$.s", o, v, w))
        .collect();
    all.extend(num.into_iter().map(|(o, v, w)| ("$.n", o, v, w)));
    all.extend([
        ("$.b", "BooleanEquals", json!(true), true),
        ("$.b", "BooleanEquals", json!(false), false),
        ("$.b", "BooleanEqualsPath", json!("$.b"), true),
        ("$.s", "BooleanEquals", json!(true), false),
        (
            "$.t",
            "TimestampEquals",
            json!("2016-03-14T01:59:00Z"),
            true,
        ),
        ("$.t", "TimestampEqualsPath", json!("$.t2"), true),
        (
            "$.t",
            "TimestampLessThan",
            json!("2016-03-14T02:00:00Z"),
            true,
        ),
        (
            "$.t",
            "TimestampGreaterThan",
            json!("2016-03-14T01:58:59.999Z"),
            true,
        ),
        (
            "$.t",
            "TimestampLessThanEquals",
            json!("2016-03-14T01:59:00Z"),
            true,
        ),
        (
            "$.t",
            "TimestampGreaterThanEquals",
            json!("2016-03-15T00:00:00Z"),
            false,
        ),
        ("$.t", "TimestampLessThanPath", json!("$.t2"), false),
        ("$.t", "TimestampGreaterThanPath", json!("$.t2"), false),
        ("$.t", "TimestampLessThanEqualsPath", json!("$.t2"), true),
        ("$.t", "TimestampGreaterThanEqualsPath", json!("$.t2"), true),
        (
            "$.s",
            "TimestampEquals",
            json!("2016-03-14T01:59:00Z"),
            false,
        ),
        ("$.null", "IsNull", json!(true), true),
        ("$.s", "IsNull", json!(false), true),
        ("$.missing", "IsPresent", json!(false), true),
        ("$.s", "IsPresent", json!(true), true),
        ("$.f", "IsNumeric", json!(true), true),
        ("$.s", "IsNumeric", json!(true), false),
        ("$.s", "IsString", json!(true), true),
        ("$.b", "IsBoolean", json!(true), true),
        ("$.t", "IsTimestamp", json!(true), true),
        ("$.s", "IsTimestamp", json!(false), true),
        // StringMatches page: "log-*.txt"; escapes per the guide: \\* is a literal star.
        ("$.file", "StringMatches", json!("log-*.txt"), true),
        ("$.star", "StringMatches", json!("a\\*b"), true),
        ("$.s", "StringMatches", json!("a\\*c"), false),
        ("$.bs", "StringMatches", json!("a\\\\b"), true),
    ]);
    for (var, op, operand, want) in all {
        let (choices, _) = choice_state(
            json!([{"Variable": var, op: operand, "Next": "Y"}]),
            Some("N"),
        );
        let got = choose(&choices, Some("N"), &input, &json!({})).unwrap();
        assert_eq!(got == "Y", want, "{var} {op} {operand}");
    }
}

#[test]
fn boolean_composition_and_missing_paths() {
    let input = json!({"a": 1, "b": "x"});
    let cases: Vec<(Value, Result<bool, &str>)> = vec![
        (
            json!({"And": [{"Variable": "$.a", "NumericEquals": 1}, {"Variable": "$.b", "StringEquals": "x"}]}),
            Ok(true),
        ),
        (
            json!({"Or": [{"Variable": "$.a", "NumericEquals": 2}, {"Variable": "$.b", "StringEquals": "x"}]}),
            Ok(true),
        ),
        (
            json!({"Not": {"Or": [{"Variable": "$.a", "NumericEquals": 2}]}}),
            Ok(true),
        ),
        (
            json!({"And": [{"Variable": "$.a", "NumericEquals": 2}, {"Variable": "$.zz", "NumericEquals": 2}]}),
            Ok(false),
        ),
        (
            json!({"Variable": "$.zz", "NumericEquals": 2}),
            Err("States.Runtime"),
        ),
        (
            json!({"Variable": "$.a", "NumericEqualsPath": "$.zz"}),
            Err("States.Runtime"),
        ),
        (
            json!({"Variable": "$$.Execution.Name", "StringEquals": "run"}),
            Ok(true),
        ),
    ];
    for (rule, want) in cases {
        let mut r = rule.clone();
        r["Next"] = json!("Y");
        let (choices, _) = choice_state(json!([r]), Some("N"));
        let got = evaluate(
            &choices[0].rule,
            &input,
            &json!({"Execution": {"Name": "run"}}),
        )
        .map_err(|e| e.name());
        assert_eq!(got, want, "{rule}");
    }
}
