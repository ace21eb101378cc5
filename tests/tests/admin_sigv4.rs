//! The admin API with SigV4 (issue 16: "requires an admin principal (SigV4 or a bearer token from a
//! file); `swfd admin` signs its calls"), through the real swfd. A request signed (service `swfd`)
//! by a principal with `admin = true` is served; one signed by any other principal gets
//! `AccessDeniedException` in AWS's form naming the admin action, and a signature that does not
//! verify gets the AWS error SigV4 verification gives on the SWF port. Requests here are signed by
//! the AWS SDK's own signer (`aws-sigv4`) and by `swfd admin` (with flags, the AWS environment
//! variables, or a profile of a shared credentials file). The bearer token keeps working, and a
//! `swfd admin` with AWS variables exported falls back to the token file against a node without auth.

use std::path::Path;
use std::process::{Command, Output};

use anyhow::{Context, Result};
use serde_json::Value;
use swf_e2e::sign::Signer;
use swf_e2e::{swfd_bin, Swfd};

const CONFIG: &str = r#"
account = "123456789012"

[[principal]]
name = "ops"
access_key_id = "AKIDOPS"
secret_access_key = "ops-secret"
admin = true

[[principal]]
name = "dev"
access_key_id = "AKIDDEV"
secret_access_key = "dev-secret"
admin = false
policy = '''{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'''

[[principal]]
name = "e2e"
access_key_id = "AKIDE2E"
secret_access_key = "e2e-secret"
policy = '''{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'''
"#;

/// A signer for the admin API (`swfd`, us-east-1) with these keys.
fn signer(key: &str, secret: &str) -> Signer {
    Signer {
        key: key.into(),
        secret: secret.into(),
        token: None,
        region: "us-east-1".into(),
        service: "swfd".into(),
        time: std::time::SystemTime::now(),
    }
}

/// Sends `method path` to the admin listener, signed by `signer` over `signed_body` (None: not
/// signed), with `body`; the status and the JSON answer.
async fn call(
    swfd: &Swfd,
    method: &str,
    path: &str,
    signer: Option<&Signer>,
    signed_body: &[u8],
    body: &[u8],
) -> Result<(u16, Value)> {
    let host = swfd.admin_addr().to_string();
    let mut headers = vec![("host".to_string(), host)];
    if !body.is_empty() {
        headers.push(("content-type".into(), "application/json".into()));
    }
    let mut req = swfd
        .http()
        .request(method.parse()?, format!("{}{path}", swfd.admin_endpoint()));
    for (n, v) in &headers {
        req = req.header(n, v);
    }
    if let Some(s) = signer {
        for (n, v) in s.sign_request(method, path, &headers, signed_body) {
            req = req.header(n, v);
        }
    }
    let resp = req.body(body.to_vec()).send().await?;
    let status = resp.status().as_u16();
    Ok((status, resp.json().await.unwrap_or(Value::Null)))
}

/// Runs `swfd admin --endpoint <admin> <args>` in `dir` with only `env` of the AWS and swfd
/// variables.
fn swfd_admin(swfd: &Swfd, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<Output> {
    let mut cmd = Command::new(swfd_bin()?);
    cmd.current_dir(dir)
        .args(["admin", "--endpoint", &swfd.admin_endpoint()])
        .args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") || k.starts_with("SWFD_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOME", dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().context("running swfd admin")
}

fn stdout_json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "swfd admin failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("swfd admin prints JSON")
}

#[tokio::test]
async fn admin_calls_need_an_admin_principal_or_the_token() -> Result<()> {
    let swfd = Swfd::start_with_auth(CONFIG, &[]).await?;
    let ops = signer("AKIDOPS", "ops-secret");
    let dev = signer("AKIDDEV", "dev-secret");

    // An admin principal, signed by the AWS SDK's signer: served.
    let (status, body) = call(&swfd, "GET", "/cluster/status", Some(&ops), b"", b"").await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["leader_id"], 1);
    let rotate = br#"{}"#;
    let (status, body) = call(
        &swfd,
        "POST",
        "/cluster/token-key/rotate",
        Some(&ops),
        rotate,
        rotate,
    )
    .await?;
    assert_eq!(
        (status, body["generation"].as_u64()),
        (200, Some(2)),
        "{body}"
    );

    // A principal without `admin = true` (allowed everything on the SWF port): AccessDenied in
    // AWS's form, naming the admin action and the cluster (in the server's --account-id, as its
    // domain ARNs; the user in the auth configuration's account).
    for (method, path, action) in [
        ("GET", "/cluster/status", "swfd:GetClusterStatus"),
        ("GET", "/cluster/digest", "swfd:GetClusterDigest"),
        ("POST", "/cluster/members/remove", "swfd:RemoveMember"),
        ("POST", "/cluster/transfer-leader", "swfd:TransferLeader"),
        ("POST", "/cluster/token-key/rotate", "swfd:RotateTokenKey"),
        ("GET", "/no/such/route", "swfd:Admin"),
    ] {
        let body: &[u8] = if method == "POST" {
            br#"{"node_id": 1}"#
        } else {
            b""
        };
        let (status, out) = call(&swfd, method, path, Some(&dev), body, body).await?;
        assert_eq!(status, 403, "{path}: {out}");
        assert_eq!(out["__type"], "AccessDeniedException", "{path}");
        assert_eq!(
            out["message"],
            format!(
                "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: {action} \
                 on resource: arn:aws:swfd:us-east-1:000000000000:cluster"
            ),
            "{path}"
        );
    }
    // ... and nothing happened: node 1 is still the member, the key generation still 2.
    let status = swfd.cluster_status().await?;
    assert!(status["members"]["1"].is_string(), "{status}");

    // Signatures that do not verify: the AWS errors of SigV4 verification.
    let (status, out) = call(&swfd, "GET", "/cluster/status", None, b"", b"").await?;
    assert_eq!(
        (status, out["__type"].as_str()),
        (401, Some("MissingAuthenticationTokenException"))
    );
    let wrong_secret = signer("AKIDOPS", "not-the-secret");
    let unknown = signer("AKIDNOBODY", "x");
    let mut wrong_service = ops.clone();
    wrong_service.service = "swf".into();
    let mut expired = ops.clone();
    expired.time = std::time::SystemTime::now() - std::time::Duration::from_secs(901);
    for (s, code) in [
        (&wrong_secret, "InvalidSignatureException"),
        (&unknown, "UnrecognizedClientException"),
        (&wrong_service, "InvalidSignatureException"),
        (&expired, "InvalidSignatureException"),
    ] {
        let (status, out) = call(&swfd, "GET", "/cluster/status", Some(s), b"", b"").await?;
        assert_eq!((status, out["__type"].as_str()), (403, Some(code)), "{out}");
    }
    // The body is signed: another body than the one signed is refused.
    let (status, out) = call(
        &swfd,
        "POST",
        "/cluster/transfer-leader",
        Some(&ops),
        br#"{}"#,
        br#"{"to": 7}"#,
    )
    .await?;
    assert_eq!(
        (status, out["__type"].as_str()),
        (403, Some("InvalidSignatureException"))
    );
    // The path is signed: a signature for /cluster/status does not open /cluster/digest.
    let mut headers = vec![("host".to_string(), swfd.admin_addr().to_string())];
    let signed = ops.sign_request("GET", "/cluster/status", &headers, b"");
    headers.extend(signed);
    let mut req = swfd
        .http()
        .get(format!("{}/cluster/digest", swfd.admin_endpoint()));
    for (n, v) in &headers {
        req = req.header(n, v);
    }
    assert_eq!(req.send().await?.status().as_u16(), 403);

    // The bearer token still works next to SigV4.
    let (status, _) = swfd.admin_get("/cluster/status").await?;
    assert_eq!(status, 200);

    // `swfd admin` signs: with flags, with the AWS environment variables, with a profile.
    let dir = tempfile::tempdir()?;
    let out = swfd_admin(
        &swfd,
        dir.path(),
        &[
            "status",
            "--access-key-id",
            "AKIDOPS",
            "--secret-access-key",
            "ops-secret",
        ],
        &[],
    )?;
    assert_eq!(stdout_json(&out)["leader_id"], 1);
    let out = swfd_admin(
        &swfd,
        dir.path(),
        &["rotate-token-key"],
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDOPS"),
            ("AWS_SECRET_ACCESS_KEY", "ops-secret"),
        ],
    )?;
    assert_eq!(stdout_json(&out)["generation"], 3);
    let creds = dir.path().join("credentials");
    std::fs::write(
        &creds,
        "[default]\naws_access_key_id = AKIDDEV\naws_secret_access_key = dev-secret\n\n\
         [ops]\naws_access_key_id = AKIDOPS\naws_secret_access_key = ops-secret\n",
    )?;
    let creds = creds.display().to_string();
    let out = swfd_admin(
        &swfd,
        dir.path(),
        &["members", "--profile", "ops"],
        &[("AWS_SHARED_CREDENTIALS_FILE", &creds)],
    )?;
    assert_eq!(stdout_json(&out)[0]["role"], "leader");
    // A non-admin principal's keys: refused, with AWS's message.
    let out = swfd_admin(
        &swfd,
        dir.path(),
        &["status"],
        &[
            ("AWS_PROFILE", "default"),
            ("AWS_SHARED_CREDENTIALS_FILE", &creds),
        ],
    )?;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("AccessDeniedException")
            && stderr.contains("user/dev is not authorized to perform: swfd:GetClusterStatus"),
        "{stderr}"
    );
    // The token file given wins over keys.
    let token_file = swfd.admin_token_file().display().to_string();
    let out = swfd_admin(
        &swfd,
        dir.path(),
        &["status", "--token-file", &token_file],
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDDEV"),
            ("AWS_SECRET_ACCESS_KEY", "dev-secret"),
        ],
    )?;
    assert_eq!(stdout_json(&out)["leader_id"], 1);
    Ok(())
}

#[tokio::test]
async fn swfd_admin_with_aws_variables_uses_the_token_file_on_a_node_without_auth() -> Result<()> {
    let swfd = Swfd::start_without_auth(&[]).await?;
    // The quickstart's layout: swfd-data/admin-token under the working directory.
    let dir = tempfile::tempdir()?;
    std::fs::create_dir(dir.path().join("swfd-data"))?;
    std::fs::copy(
        swfd.admin_token_file(),
        dir.path().join("swfd-data/admin-token"),
    )?;
    let out = swfd_admin(
        &swfd,
        dir.path(),
        &["status"],
        &[
            ("AWS_ACCESS_KEY_ID", "local"),
            ("AWS_SECRET_ACCESS_KEY", "local"),
        ],
    )?;
    assert_eq!(stdout_json(&out)["leader_id"], 1);
    // Signed calls are refused by a node without auth (it takes no SigV4): 401.
    let (status, out) = call(
        &swfd,
        "GET",
        "/cluster/status",
        Some(&signer("local", "local")),
        b"",
        b"",
    )
    .await?;
    assert_eq!(
        (status, out["__type"].as_str()),
        (401, Some("MissingAuthenticationTokenException"))
    );
    Ok(())
}
