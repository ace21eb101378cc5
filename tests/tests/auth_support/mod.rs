//! Shared by the auth tests: the principals of the test configuration, raw signed calls (the SDK's
//! signer, `swf_e2e::sign`) with headers changed after signing, and the checks of an AWS error.

#![allow(dead_code)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use swf_e2e::sign::Signer;
use swf_e2e::{Swfd, AMZ_JSON};

const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// The test configuration: principals with different keys and policies.
pub fn config() -> String {
    format!(
        r#"
[[principal]]
name = "e2e"
access_key_id = "AKIDE2E"
secret_access_key = "e2e-secret"
admin = true
policy = '{ALLOW_ALL}'

[[principal]]
name = "alice"
access_key_id = "AKIDALICE"
secret_access_key = "alice-secret"
policies = ["alpha-only", "no-terminate"]

[[principal]]
name = "bob"
access_key_id = "AKIDBOB"
secret_access_key = "bob-secret"
policy = '''{{"Version":"2012-10-17","Statement":[
  {{"Effect":"Allow","Action":["swf:ListDomains","swf:DescribeDomain"],"Resource":"*"}},
  {{"Effect":"Allow","Action":"swf:StartWorkflowExecution","Resource":"*",
    "Condition":{{"StringEquals":{{"swf:taskList.name":"bob-list"}}}}}},
  {{"Effect":"Allow","Action":"swf:PollForDecisionTask","Resource":"*",
    "Condition":{{"StringLike":{{"swf:taskList.name":"bob-*"}}}}}},
  {{"Effect":"Allow","Action":"swf:RegisterWorkflowType","Resource":"*",
    "Condition":{{"StringEquals":{{"swf:defaultTaskList.name":"bob-list"}}}}}},
  {{"Effect":"Allow","Action":"swf:ListOpenWorkflowExecutions","Resource":"*",
    "Condition":{{"StringEquals":{{"swf:tagFilter.tag":"bob"}}}}}}]}}'''

[[principal]]
name = "temp"
access_key_id = "AKIDTEMP"
secret_access_key = "temp-secret"
session_token = "tok-temp"
expires = "2100-01-01T00:00:00Z"
policy = '{ALLOW_ALL}'

[[principal]]
name = "old"
access_key_id = "AKIDOLD"
secret_access_key = "old-secret"
session_token = "tok-old"
expires = 2020-01-01T00:00:00Z
policy = '{ALLOW_ALL}'

[[principal]]
name = "nobody"
access_key_id = "AKIDNOBODY"
secret_access_key = "nobody-secret"

[[principal]]
name = "filer"
access_key_id = "AKIDFILER"
secret_access_key_file = "filer.secret"
policy = '{ALLOW_ALL}'

[[principal]]
name = "sfn"
access_key_id = "AKIDSFN"
secret_access_key = "sfn-secret"
policy = '''{{"Version":"2012-10-17","Statement":[
  {{"Effect":"Allow","Action":["states:ListActivities","states:CreateActivity","states:DescribeActivity"],"Resource":"*"}},
  {{"Effect":"Deny","Action":"states:*","Resource":"arn:aws:states:*:*:activity:secret-*"}}]}}'''

[policy.alpha-only]
document = '''{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"swf:*","Resource":"arn:aws:swf:*:*:/domain/alpha"}}]}}'''

[policy.no-terminate]
document = '''{{"Version":"2012-10-17","Statement":{{"Effect":"Deny","Action":"swf:Terminate*","Resource":"*"}}}}'''
"#
    )
}

/// Starts swfd with the test configuration (and the secret file it names).
pub async fn start(args: &[&str]) -> anyhow::Result<Swfd> {
    Swfd::start_with_auth_files(&config(), &[("filer.secret", "filer-secret\n")], args).await
}

/// A signer for a principal of the configuration, now.
pub fn signer(key: &str, secret: &str) -> Signer {
    Signer {
        key: key.into(),
        secret: secret.into(),
        ..Signer::e2e()
    }
}

/// The answer to a raw call: status and JSON body (`Null` when empty).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    /// The error code (the part of `__type` after `#`).
    pub fn code(&self) -> &str {
        let t = self.body["__type"].as_str().unwrap_or("");
        t.rsplit('#').next().unwrap_or(t)
    }

    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or("")
    }

    /// Asserts an error with this code and message.
    pub fn is(&self, code: &str, message: &str) {
        assert_eq!(self.status, 400, "{self:?}");
        assert_eq!(self.code(), code, "{self:?}");
        assert_eq!(self.message(), message, "{self:?}");
    }

    /// Asserts AccessDeniedException in AWS's form.
    pub fn denied(&self, user: &str, action: &str, resource: &str) {
        self.is(
            "AccessDeniedException",
            &format!(
                "User: arn:aws:iam::000000000000:user/{user} is not authorized to perform: {action} on resource: {resource}"
            ),
        );
    }

    pub fn ok(&self) {
        assert_eq!(self.status, 200, "{self:?}");
    }
}

/// The ARN of a domain.
pub fn domain_arn(name: &str) -> String {
    format!("arn:aws:swf:us-east-1:000000000000:/domain/{name}")
}

/// A raw call: `target` (full `X-Amz-Target`) and `body`, signed by `signer` (unless `None`), then
/// `change` applied to the headers (name, value) before sending.
pub async fn call_with(
    swfd: &Swfd,
    signer: Option<&Signer>,
    target: &str,
    body: &Value,
    change: impl FnOnce(&mut Vec<(String, String)>),
) -> Answer {
    let bytes = serde_json::to_vec(body).unwrap();
    call_bytes(swfd, signer, target, &bytes, change).await
}

/// [`call_with`] with the body as bytes.
pub async fn call_bytes(
    swfd: &Swfd,
    signer: Option<&Signer>,
    target: &str,
    bytes: &[u8],
    change: impl FnOnce(&mut Vec<(String, String)>),
) -> Answer {
    let mut headers = vec![
        ("host".to_string(), swfd.http_addr().to_string()),
        ("content-type".to_string(), AMZ_JSON.to_string()),
        ("x-amz-target".to_string(), target.to_string()),
    ];
    if let Some(s) = signer {
        let added = s.sign(&headers, bytes);
        headers.extend(added);
    }
    change(&mut headers);
    raw_send(swfd, &headers, bytes).await
}

/// Sends `POST /` with exactly these header fields (in order, duplicates kept) over a fresh
/// connection, and reads the answer.
pub async fn raw_send(swfd: &Swfd, headers: &[(String, String)], body: &[u8]) -> Answer {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(swfd.http_addr())
        .await
        .unwrap();
    let mut req = String::from("POST / HTTP/1.1\r\n");
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    stream.write_all(req.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Answer {
        status,
        body: serde_json::from_str(body).unwrap_or(Value::Null),
    }
}

/// A signed SWF call by `signer`.
pub async fn swf(swfd: &Swfd, signer: &Signer, action: &str, body: Value) -> Answer {
    call_with(
        swfd,
        Some(signer),
        &format!("SimpleWorkflowService.{action}"),
        &body,
        |_| {},
    )
    .await
}

/// Now, in whole seconds, plus `offset` seconds.
pub fn at(offset: i64) -> SystemTime {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    UNIX_EPOCH + Duration::from_secs((now + offset) as u64)
}

/// Registers `domain` with a workflow type `wf`/`1` (default task list `default_list`) and an
/// activity type `act`/`1` (default task list `acts`), as the allow-all principal.
pub async fn setup(swfd: &Swfd, domain: &str, default_list: &str) {
    let admin = Signer::e2e();
    swf(
        swfd,
        &admin,
        "RegisterDomain",
        json!({"name": domain, "workflowExecutionRetentionPeriodInDays": "1"}),
    )
    .await
    .ok();
    swf(
        swfd,
        &admin,
        "RegisterWorkflowType",
        json!({"domain": domain, "name": "wf", "version": "1",
        "defaultTaskList": {"name": default_list}, "defaultTaskStartToCloseTimeout": "30",
        "defaultExecutionStartToCloseTimeout": "3600", "defaultChildPolicy": "TERMINATE"}),
    )
    .await
    .ok();
    swf(
        swfd,
        &admin,
        "RegisterActivityType",
        json!({"domain": domain, "name": "act", "version": "1",
        "defaultTaskList": {"name": "acts"}, "defaultTaskStartToCloseTimeout": "30",
        "defaultTaskScheduleToStartTimeout": "30", "defaultTaskScheduleToCloseTimeout": "60",
        "defaultTaskHeartbeatTimeout": "NONE"}),
    )
    .await
    .ok();
}
