//! Every path into the state machine is validated against the model where the call is executed, on
//! the leader (issue 12, item 5). Before the fix, the internal gRPC `SwfNode.Execute` skipped the
//! HTTP gateway's validation: a domain named `""` or of 5,000 characters, a 100 KB description, a
//! 5,000,000-byte workflow input and a 10,000-character workflow id were accepted and then handed out
//! by polls. This drives the real swfd's gRPC port with the generated tonic client.

use serde_json::{json, Value};
use swf_e2e::Swfd;
use swf_proto::swf_node_client::SwfNodeClient;
use swf_proto::{execute_response, ExecuteRequest};

/// Runs `action` over the internal gRPC `Execute`; returns Ok(output JSON) or Err((code, message)).
async fn execute(
    client: &mut SwfNodeClient<tonic::transport::Channel>,
    action: &str,
    input: Vec<u8>,
) -> anyhow::Result<Result<Value, (String, String)>> {
    let resp = client
        .execute(ExecuteRequest {
            action: action.into(),
            input,
            hops: 0,
            request_id: "e2e".into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    Ok(match resp.result {
        Some(execute_response::Result::Output(out)) => {
            Ok(serde_json::from_slice(&out).unwrap_or(Value::Null))
        }
        Some(execute_response::Result::Fault(f)) => Err((f.code, f.message)),
        None => anyhow::bail!("empty Execute response"),
    })
}

#[tokio::test]
async fn the_internal_path_validates_every_call_on_the_leader() -> anyhow::Result<()> {
    // Plaintext gRPC to the node: auth off (with auth on the port needs mTLS: tests/grpc_auth.rs).
    let node = Swfd::start_without_auth(&[]).await?;
    let mut grpc = SwfNodeClient::connect(format!("http://{}", node.grpc_addr()))
        .await?
        .max_encoding_message_size(64 << 20)
        .max_decoding_message_size(64 << 20);
    // A valid call goes through this path.
    let ok = execute(
        &mut grpc,
        "RegisterDomain",
        json!({"name": "d", "workflowExecutionRetentionPeriodInDays": "1"})
            .to_string()
            .into_bytes(),
    )
    .await?;
    assert!(ok.is_ok(), "{ok:?}");
    let (code, out) = node
        .raw_call(
            "RegisterWorkflowType",
            json!({"domain": "d", "name": "t", "version": "1"}).to_string(),
        )
        .await?;
    assert_eq!(code, 200, "{out}");

    let long = |n: usize| "x".repeat(n);
    let domain = |name: String, description: Option<String>| {
        let mut v = json!({"name": name, "workflowExecutionRetentionPeriodInDays": "1"});
        if let Some(d) = description {
            v["description"] = json!(d);
        }
        v.to_string().into_bytes()
    };
    let start = |wid: String, input: String| {
        json!({
            "domain": "d", "workflowId": wid, "workflowType": {"name": "t", "version": "1"},
            "taskList": {"name": "tl"}, "executionStartToCloseTimeout": "60",
            "taskStartToCloseTimeout": "10", "childPolicy": "TERMINATE", "input": input
        })
        .to_string()
        .into_bytes()
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("RegisterDomain", domain(String::new(), None), "'name'"),
        ("RegisterDomain", domain(long(5000), None), "'name'"),
        (
            "RegisterDomain",
            domain("e".into(), Some(long(100_000))),
            "'description'",
        ),
        (
            "StartWorkflowExecution",
            start(long(10_000), String::new()),
            "'workflowId'",
        ),
        (
            "StartWorkflowExecution",
            start("w".into(), long(5_000_000)),
            "larger than",
        ),
        (
            "StartWorkflowExecution",
            start("w".into(), long(40_000)),
            "'input'",
        ),
        (
            "StartWorkflowExecution",
            b"not json".to_vec(),
            "Malformed JSON",
        ),
    ];
    for (action, input, needle) in cases {
        let got = execute(&mut grpc, action, input).await?;
        match got {
            Err((code, message)) => {
                assert_eq!(code, "ValidationException", "{action}: {message}");
                assert!(
                    message.contains(needle),
                    "{action}: {message} lacks {needle}"
                );
            }
            Ok(v) => panic!("{action} was accepted over gRPC: {v}"),
        }
    }
    // An action name that is not SWF's is unknown, not executed.
    let got = execute(&mut grpc, "NoSuchAction", b"{}".to_vec()).await?;
    assert_eq!(got.unwrap_err().0, "UnknownOperationException");

    // Nothing of it was applied: one domain, no execution.
    let (_, domains) = node
        .raw_call(
            "ListDomains",
            json!({"registrationStatus": "REGISTERED"}).to_string(),
        )
        .await?;
    let names: Vec<&str> = domains["domainInfos"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["name"].as_str())
        .collect();
    assert_eq!(names, vec!["d"], "{domains}");
    let (_, count) = node
        .raw_call(
            "CountOpenWorkflowExecutions",
            json!({"domain": "d", "startTimeFilter": {"oldestDate": 0}}).to_string(),
        )
        .await?;
    assert_eq!(count["count"], json!(0), "{count}");

    // The HTTP path answers the same fault, now decided on the leader.
    let (code, out) = node
        .raw_call(
            "RegisterDomain",
            String::from_utf8(domain(String::new(), None))?,
        )
        .await?;
    assert_eq!(code, 400, "{out}");
    assert!(
        out["__type"]
            .as_str()
            .unwrap_or("")
            .ends_with("ValidationException"),
        "{out}"
    );
    Ok(())
}
