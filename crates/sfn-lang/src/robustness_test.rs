//! Network input must never panic a node: thousands of mutated definitions (JSONata ones too), paths,
//! intrinsic calls and JSONata expressions
//! (deterministic mutations from a fixed seed) go through parsing, validation and evaluation, and the
//! definitions that still validate are run by the interpreter.

use crate::context::Context;
use crate::definition::Definition;
use crate::entropy::Entropy;
use crate::interpret::{handle, start, Effect, Event, ExecutionInfo, Stamp};
use crate::intrinsics;
use crate::path::Path;
use serde_json::{json, Value};

const ALPHABET: &[char] = &[
    '{', '}', '[', ']', '"', ':', ',', '$', '.', '*', '?', '(', ')', '@', '\'', '\\', '-', '0',
    '9', 'a', ' ', '!', '=', '<',
];

fn mutate(text: &str, rng: &mut Entropy) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..1 + rng.next_u64() % 3 {
        if chars.is_empty() {
            break;
        }
        let at = (rng.next_u64() % chars.len() as u64) as usize;
        match rng.next_u64() % 3 {
            0 => {
                chars.remove(at);
            }
            1 => chars.insert(
                at,
                ALPHABET[(rng.next_u64() % ALPHABET.len() as u64) as usize],
            ),
            _ => chars[at] = ALPHABET[(rng.next_u64() % ALPHABET.len() as u64) as usize],
        }
    }
    chars.into_iter().collect()
}

fn drive(def: &Definition, input: Value) {
    let info = ExecutionInfo {
        execution_arn: "arn:aws:states:r:1:execution:sm:x".into(),
        name: "x".into(),
        role_arn: String::new(),
        start_time_ms: 0,
        state_machine_arn: "arn:aws:states:r:1:stateMachine:sm".into(),
        state_machine_name: "sm".into(),
        input,
        version_arn: None,
        alias_arn: None,
        redrive_count: 0,
        redrive_time_ms: None,
    };
    let (mut ex, mut out) = start(def, info, 3, Stamp { now_ms: 0 });
    for step in 0..50 {
        let Some(effect) = out.effects.first().cloned() else {
            break;
        };
        let ev = match effect {
            Effect::ScheduleActivity { task_id, .. } if step % 2 == 0 => Event::ActivitySucceeded {
                task_id,
                output: json!({"ok": step}),
            },
            Effect::ScheduleActivity { task_id, .. } => Event::ActivityFailed {
                task_id,
                error: Some("E".into()),
                cause: None,
            },
            Effect::ArmTimer { timer_id, .. } => Event::TimerFired { timer_id },
            _ => break,
        };
        out = handle(def, &mut ex, &ev, Stamp { now_ms: step });
    }
}

#[test]
fn mutated_inputs_never_panic() {
    let act = "arn:aws:states:us-east-1:123456789012:activity:work";
    let seed_def = json!({"StartAt": "P", "States": {
        "P": {"Type": "Pass", "Parameters": {"a.$": "$.a", "f.$": "States.Format('{}-{}', $.a, $.b[0])"}, "ResultPath": "$.p", "Next": "T"},
        "T": {"Type": "Task", "Resource": act, "TimeoutSecondsPath": "$.t", "Retry": [{"ErrorEquals": ["E"], "MaxAttempts": 1}],
              "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "C"}], "Next": "C"},
        "C": {"Type": "Choice", "Choices": [{"And": [{"Variable": "$.a", "NumericGreaterThan": 1}, {"Variable": "$.s", "StringMatches": "x*"}], "Next": "M"}], "Default": "W"},
        "W": {"Type": "Wait", "SecondsPath": "$.a", "Next": "M"},
        "M": {"Type": "Map", "ItemsPath": "$.b", "ItemSelector": {"v.$": "$$.Map.Item.Value"}, "MaxConcurrency": 1,
              "ItemProcessor": {"StartAt": "X", "States": {"X": {"Type": "Task", "Resource": act, "End": true}}}, "Next": "Par"},
        "Par": {"Type": "Parallel", "Branches": [{"StartAt": "Y", "States": {"Y": {"Type": "Pass", "End": true}}}], "Next": "F"},
        "F": {"Type": "Fail", "CausePath": "States.JsonToString($)"}}})
    .to_string();
    let input = json!({"a": 2, "b": [1, 2], "s": "xyz", "t": 5});
    let mut rng = Entropy::new(2026);
    let mut ran = 0;
    for _ in 0..3000 {
        let text = mutate(&seed_def, &mut rng);
        if let Ok(def) = Definition::parse(&text) {
            drive(&def, input.clone());
            ran += 1;
        }
    }
    assert!(
        ran > 100,
        "enough mutants stay valid to exercise the interpreter ({ran})"
    );
    drive(&Definition::parse(&seed_def).unwrap(), input.clone());

    let ctx = Context::default().to_value();
    let paths = [
        "$.a.b[0]",
        "$..x[?(@.y > 1 && !(@.z == 'q'))]",
        "$[1:-1:2]",
        "$$.Map['Item']",
    ];
    let calls = [
        "States.Format('{} \\{', $.a)",
        "States.ArrayRange(1, $.a, 1)",
        "States.Hash(States.JsonToString($), 'SHA-256')",
        "States.StringSplit('a,b', ',')",
    ];
    for _ in 0..3000 {
        let p = mutate(paths[(rng.next_u64() % 4) as usize], &mut rng);
        if let Ok(p) = Path::parse(&p) {
            let _ = p.query(&input, &ctx);
            let _ = p.set(input.clone(), json!(1));
        }
        let c = mutate(calls[(rng.next_u64() % 4) as usize], &mut rng);
        if let Ok(c) = intrinsics::parse(&c) {
            let _ = intrinsics::evaluate(&c, &input, &ctx, &mut rng);
        }
    }
}

#[test]
fn mutated_jsonata_definitions_never_panic() {
    // JSONata states and variables: mutated definitions (expressions included) are validated and the
    // valid ones run; mutated expressions are evaluated on their own.
    let act = "arn:aws:states:us-east-1:123456789012:activity:work";
    let seed_def = json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
        "P": {"Type": "Pass", "Assign": {"n": "{% $count($states.input.b) %}", "m": "{% $states.input.b[0] %}"},
              "Output": {"x": "{% $states.input.a * 2 %}", "s": "{% $string($states.input) %}"}, "Next": "T"},
        "T": {"Type": "Task", "Resource": act, "Arguments": {"k": "{% $n & '-' & $uuid() %}"},
              "TimeoutSeconds": "{% $n + 3 %}", "Output": "{% $merge([$states.input, $states.result]) %}",
              "Catch": [{"ErrorEquals": ["States.ALL"], "Output": "{% $states.errorOutput %}", "Next": "C"}], "Next": "C"},
        "C": {"Type": "Choice", "Choices": [{"Condition": "{% $n > 1 and $m < 5 %}", "Assign": {"k": "{% $random() %}"}, "Next": "M"}], "Default": "W"},
        "W": {"Type": "Wait", "Seconds": "{% $n %}", "Next": "M"},
        "M": {"Type": "Map", "Items": "{% $range(1, $n, 1) %}", "ItemSelector": {"v": "{% $states.context.Map.Item.Value %}"},
              "ItemProcessor": {"StartAt": "X", "States": {"X": {"Type": "Pass", "Output": "{% $states.input.v ~> $string() %}", "End": true}}}, "Next": "F"},
        "F": {"Type": "Fail", "Error": "{% 'E' & $n %}", "Cause": "{% $join($states.input, ',') %}"}}})
    .to_string();
    let input = json!({"a": 2, "b": [1, 2], "s": "xyz"});
    let mut rng = Entropy::new(2027);
    let mut ran = 0;
    for _ in 0..1500 {
        let text = mutate(&seed_def, &mut rng);
        if let Ok(def) = Definition::parse(&text) {
            drive(&def, input.clone());
            ran += 1;
        }
    }
    assert!(ran > 50, "enough mutants stay valid ({ran})");
    drive(&Definition::parse(&seed_def).unwrap(), input.clone());
    let exprs = [
        "$states.input.b[$ > 1].{'v': $}",
        "($f := function($x){ $x > 0 ? $f($x - 1) : 0 }; $f(3))",
        "$sum($map([1..5], function($v, $i){ $v * $i }))",
        "$states.input ~> |$|{'z': 1}|",
    ];
    let ctx =
        crate::variables::with_variables(Context::default().to_value(), &serde_json::Map::new(), 0);
    let env = crate::jsonata::Env {
        input: &input,
        result: None,
        error_output: None,
        context: &ctx,
    };
    for _ in 0..1500 {
        let e = mutate(exprs[(rng.next_u64() % 4) as usize], &mut rng);
        let _ = crate::jsonata::evaluate_expression(&e, &env, &mut rng);
    }
}

#[test]
fn long_jsonata_chains_are_refused_not_overflowed() {
    // The parser and evaluator recurse on the stack once per operator even without brackets (up to
    // ~40 KiB a level in a debug build; 15,000 `+ 1` overflowed a 64 MiB stack): chains over the
    // operator bound are refused at create time and at run time, shorter ones evaluate; and the
    // deepest recursion the evaluation depth allows ends as an error, not an overflow.
    let ctx =
        crate::variables::with_variables(Context::default().to_value(), &serde_json::Map::new(), 0);
    let input = json!({"a": {"a": 1}});
    let env = crate::jsonata::Env {
        input: &input,
        result: None,
        error_output: None,
        context: &ctx,
    };
    let chains: [(&str, &str, &str); 10] = [
        ("1", " + 1", ""),
        ("", "-", "1"),
        ("$states.input", ".a", ""),
        ("", "true ? 1 : ", "2"),
        ("", "$a := ", "1"),
        ("[1]", "[0]", ""),
        ("true", " and true", ""),
        ("'a'", " & 'a'", ""),
        ("1", " ~> $string()", ""),
        ("", "$not(", "true"),
    ];
    for (head, link, tail) in chains {
        for n in [5, 150, 400, 20_000] {
            let e = format!("{head}{}{tail}", link.repeat(n));
            let long = crate::jsonata::syntax_problem(&e);
            let r = crate::jsonata::evaluate_expression(&e, &env, &mut Entropy::new(1));
            if n >= 400 {
                assert!(
                    long.is_some(),
                    "{head}{link}... x{n} is refused at create time"
                );
                assert!(r.is_err(), "{head}{link}... x{n} is refused at run time");
            }
            if n == 5 && !link.contains('(') {
                assert_eq!(long, None, "{e}");
            }
        }
    }
    let recursion = [
        "($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(100000))",
        "($f := function($n){ $n = 0 ? 0 : $f($n - 1) }; $f(100000000))",
        "($f := function($n){ [$f($n)] }; $f(1))",
    ];
    for e in recursion {
        let r = crate::jsonata::evaluate_expression(e, &env, &mut Entropy::new(1));
        assert!(r.is_err(), "{e}: {r:?}");
    }
}
