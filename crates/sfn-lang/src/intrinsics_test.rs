//! Table tests of the intrinsic functions; expected values from the examples of the AWS guide's
//! "Intrinsic functions in JSONPath states" page unless said otherwise.

use super::*;
use serde_json::json;

fn run(expr: &str, input: Value) -> Result<Value, StatesError> {
    let call = parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
    evaluate(
        &call,
        &input,
        &json!({"Execution": {"Name": "run-1"}}),
        &mut Entropy::new(1),
    )
}

#[test]
fn documented_examples() {
    let nine = json!({"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "lookingFor": 5, "index": 5});
    let cases: Vec<(&str, Value, Value)> = vec![
        ("States.Format('Hello, my name is {}.', $.name)", json!({"name": "Arnav"}), json!("Hello, my name is Arnav.")),
        ("States.Format('{} and {} and {}', 1, true, null)", json!({}), json!("1 and true and null")),
        ("States.Format('\\{\\} \\'q\\' \\\\ {}', $$.Execution.Name)", json!({}), json!("{} 'q' \\ run-1")),
        ("States.StringToJson($.someString)", json!({"someString": "{\"number\": 20}"}), json!({"number": 20})),
        (
            "States.JsonToString($.someJson)",
            json!({"someJson": {"name": "Foo", "zipcode": "98101"}}),
            json!("{\"name\":\"Foo\",\"zipcode\":\"98101\"}"),
        ),
        (
            "States.Array('Foo', 2020, $.someJson, null)",
            json!({"someJson": {"random": "abcdefg"}}),
            json!(["Foo", 2020, {"random": "abcdefg"}, null]),
        ),
        ("States.ArrayPartition($.inputArray, 4)", nine.clone(), json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]])),
        ("States.ArrayContains($.inputArray, $.lookingFor)", nine.clone(), json!(true)),
        ("States.ArrayContains($.inputArray, 10)", nine.clone(), json!(false)),
        ("States.ArrayRange(1, 9, 2)", json!({}), json!([1, 3, 5, 7, 9])),
        ("States.ArrayRange(5, 1, -2)", json!({}), json!([5, 3, 1])),
        ("States.ArrayGetItem($.inputArray, $.index)", nine.clone(), json!(6)),
        ("States.ArrayLength($.inputArray)", nine.clone(), json!(9)),
        ("States.ArrayUnique($.a)", json!({"a": [1, 2, 3, 3, 3, 3, 3, 3, 4]}), json!([1, 2, 3, 4])),
        ("States.Base64Encode($.input)", json!({"input": "Data to encode"}), json!("RGF0YSB0byBlbmNvZGU=")),
        ("States.Base64Decode($.base64)", json!({"base64": "RGF0YSB0byBlbmNvZGU="}), json!("Data to encode")),
        ("States.Hash($.Data, $.Algorithm)", json!({"Data": "input data", "Algorithm": "SHA-1"}), json!("aaff4a450a104cd177d28d18d74485e8cae074b7")),
        // Digests of "abc" from FIPS 180 / RFC 1321 test vectors.
        ("States.Hash('abc', 'MD5')", json!({}), json!("900150983cd24fb0d6963f7d28e17f72")),
        ("States.Hash('abc', 'SHA-256')", json!({}), json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")),
        (
            "States.Hash('abc', 'SHA-384')",
            json!({}),
            json!("cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"),
        ),
        (
            "States.Hash('abc', 'SHA-512')",
            json!({}),
            json!("ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"),
        ),
        (
            "States.JsonMerge($.json1, $.json2, false)",
            json!({"json1": {"a": {"a1": 1, "a2": 2}, "b": 2}, "json2": {"a": {"a3": 1, "a4": 2}, "c": 3}}),
            json!({"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3}),
        ),
        ("States.MathAdd($.value1, $.step)", json!({"value1": 111, "step": -1}), json!(110)),
        ("States.StringSplit($.inputString, $.splitter)", json!({"inputString": "1,2,3,4,5", "splitter": ","}), json!(["1", "2", "3", "4", "5"])),
        (
            "States.StringSplit($.inputString, $.splitter)",
            json!({"inputString": "This.is+a,test=string", "splitter": ".+,="}),
            json!(["This", "is", "a", "test", "string"]),
        ),
        ("States.ArrayLength(States.Array(1, States.Array(2, 3)))", json!({}), json!(2)),
        ("States.JsonToString($.a[?(@ > 1)])", json!({"a": [1, 2, 3]}), json!("[2,3]")),
    ];
    for (expr, input, want) in cases {
        assert_eq!(run(expr, input), Ok(want), "{expr}");
    }
}

#[test]
fn random_values_come_from_the_entropy() {
    let call = parse("States.MathRandom(1, 999)").unwrap();
    let a = evaluate(&call, &json!({}), &json!({}), &mut Entropy::new(5)).unwrap();
    assert_eq!(
        a,
        evaluate(&call, &json!({}), &json!({}), &mut Entropy::new(5)).unwrap()
    );
    let n = a.as_i64().unwrap();
    assert!((1..999).contains(&n));
    let seeded = parse("States.MathRandom(1, 10, 42)").unwrap();
    let s1 = evaluate(&seeded, &json!({}), &json!({}), &mut Entropy::new(1)).unwrap();
    assert_eq!(
        s1,
        evaluate(&seeded, &json!({}), &json!({}), &mut Entropy::new(2)).unwrap(),
        "a seed argument fixes the value"
    );
    let wide = run(
        "States.MathRandom(-9223372036854775808, 9223372036854775807)",
        json!({}),
    )
    .unwrap();
    assert!(wide.is_i64(), "no overflow on the widest range");
    let u = run("States.UUID()", json!({})).unwrap();
    assert_eq!(u.as_str().map(str::len), Some(36));
}

#[test]
fn failures_are_intrinsic_failures() {
    let long = "x".repeat(MAX_STRING_CHARS + 1);
    let cases: Vec<(&str, Value)> = vec![
        ("States.Format('{} {}', 1)", json!({})),
        ("States.Format('{}', 1, 2)", json!({})),
        ("States.Format('{}', $.o)", json!({"o": {"a": 1}})),
        ("States.StringToJson('{bad')", json!({})),
        ("States.ArrayPartition($.a, 0)", json!({"a": [1]})),
        ("States.ArrayRange(1, 2000, 1)", json!({})),
        ("States.ArrayRange(1, 2, 0)", json!({})),
        ("States.ArrayGetItem($.a, 3)", json!({"a": [1]})),
        ("States.ArrayLength($.a)", json!({"a": "no"})),
        ("States.Base64Encode($.s)", json!({ "s": long })),
        ("States.Base64Decode('***')", json!({})),
        ("States.Hash('a', 'SHA-3')", json!({})),
        ("States.JsonMerge($.a, $.a, true)", json!({"a": {}})),
        ("States.MathAdd(2147483648, 1)", json!({})),
        ("States.MathAdd(1.5, 1)", json!({})),
        ("States.MathRandom(5, 5)", json!({})),
        ("States.UUID(1)", json!({})),
        ("States.ArrayLength($.missing)", json!({})),
    ];
    for (expr, input) in cases {
        match run(expr, input) {
            Err(StatesError::IntrinsicFailure(_)) => {}
            other => panic!("{expr}: {other:?}"),
        }
    }
}

#[test]
fn syntax() {
    for bad in [
        "States.Nope()",
        "States.Format('a'",
        "States.Format('a\\n')",
        "States.Array(1,)",
        "States.Array(1) x",
        "States.Array(foo)",
        "States.Array($.a[)",
        "States.Array('unterminated)",
    ] {
        assert!(parse(bad).is_err(), "{bad}");
    }
    let c =
        parse("States.Array( 'a, b' , -1.5e2, true, null, $.x['y z'], States.UUID() )").unwrap();
    assert_eq!(c.args.len(), 6);
    assert_eq!(
        c.args[0],
        Arg::Str {
            value: "a, b".into(),
            raw: "a, b".into()
        }
    );
    assert!(matches!(&c.args[4], Arg::Path(p) if p.text == "$.x['y z']"));
}
