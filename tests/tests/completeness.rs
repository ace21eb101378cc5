//! Every action of the SWF model is served: for each operation in the model file, a request built from
//! the model (its required members with the smallest valid values) gets either a 200 or one of the
//! faults the model lists for that operation (or ValidationException), never UnknownOperationException
//! and never a server error (DomainDeprecatedFault on registration into a deprecated domain is the one
//! fault we add). An unknown action gets UnknownOperationException.

use serde_json::{json, Map, Value};
use swf_e2e::{setup_domain, Swfd};

fn model() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/swf-types/model/swf-2012-01-25.service.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("model file")).expect("model JSON")
}

/// The smallest valid value of a shape: required members only, shortest strings, first enum value.
fn sample(model: &Value, shape_name: &str) -> Value {
    let shape = &model["shapes"][shape_name];
    match shape["type"].as_str().unwrap_or_default() {
        "structure" => {
            let mut obj = Map::new();
            for name in shape["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                let member = shape["members"][name]["shape"]
                    .as_str()
                    .expect("member shape");
                obj.insert(name.to_string(), sample(model, member));
            }
            Value::Object(obj)
        }
        "list" => Value::Array(Vec::new()),
        "string" => match shape["enum"].as_array() {
            Some(values) => values[0].clone(),
            None => {
                let min = shape["min"].as_u64().unwrap_or(0).max(1) as usize;
                Value::String("x".repeat(min))
            }
        },
        "integer" | "long" => json!(shape["min"].as_i64().unwrap_or(0)),
        "boolean" => json!(false),
        "timestamp" => json!(0),
        other => panic!("unexpected shape type {other}"),
    }
}

#[tokio::test]
async fn every_model_operation_is_served() -> anyhow::Result<()> {
    let swfd = Swfd::start_with(&["--long-poll-secs", "1"]).await?;
    let client = swfd.client();
    setup_domain(&client, "x").await?;
    let model = model();
    let ops = model["operations"].as_object().expect("operations");
    assert_eq!(ops.len(), 39);
    let mut served = 0;
    for (name, op) in ops {
        let input = op["input"]["shape"]
            .as_str()
            .map(|s| sample(&model, s))
            .unwrap_or_else(|| json!({}));
        let (status, body) = swfd.raw_call(name, input.to_string()).await?;
        if status == 200 {
            served += 1;
            continue;
        }
        assert_eq!(status, 400, "{name}: {body}");
        let code = body["__type"]
            .as_str()
            .and_then(|t| t.rsplit('#').next())
            .unwrap_or_default()
            .to_string();
        let modelled: Vec<&str> = op["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["shape"].as_str())
            .collect();
        // Registering into a deprecated domain is refused with DomainDeprecatedFault (our contract for
        // domain deprecation), a fault the model lists only for DeprecateDomain.
        let deprecated_domain = code == "DomainDeprecatedFault"
            && name.starts_with("Register")
            && name != "RegisterDomain";
        assert!(
            code == "ValidationException" || deprecated_domain || modelled.contains(&code.as_str()),
            "{name} answered {code}, which the model does not list ({modelled:?}): {body}"
        );
    }
    assert!(
        served >= 10,
        "only {served} operations succeeded with minimal input"
    );

    let (status, body) = swfd.raw_call("NoSuchAction", "{}").await?;
    assert_eq!(status, 400);
    assert_eq!(
        body["__type"],
        "com.amazon.coral.service#UnknownOperationException"
    );
    Ok(())
}
