//! The admin API on its own listener (issue 16, transport), through the real swfd: the `/cluster/...`
//! routes are gone from the SWF port (404, as any unknown path); on the admin listener they need the
//! admin bearer token (401 without, 403 with a wrong one, and nothing changes), while `/health` and
//! `/ready` stay open on both listeners; `swfd admin` sends the token of its token file.

use anyhow::Result;
use serde_json::{json, Value};
use swf_e2e::{Swfd, ADMIN_TOKEN};

/// A request on `base` with an optional bearer token: (status, body as JSON or Null).
async fn call(
    http: &reqwest::Client,
    method: &str,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
) -> Result<(u16, Value)> {
    let mut req = match method {
        "GET" => http.get(url),
        _ => http.post(url),
    };
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    Ok((status, resp.json().await.unwrap_or(Value::Null)))
}

const ROUTES: [(&str, &str); 5] = [
    ("GET", "/cluster/status"),
    ("GET", "/cluster/digest"),
    ("POST", "/cluster/members"),
    ("POST", "/cluster/members/remove"),
    ("POST", "/cluster/transfer-leader"),
];

fn body_for(path: &str) -> Option<Value> {
    match path {
        "/cluster/members" => Some(json!({"node_id": 9, "addr": "127.0.0.1:9"})),
        "/cluster/members/remove" => Some(json!({"node_id": 1})),
        "/cluster/transfer-leader" => Some(json!({})),
        _ => None,
    }
}

#[tokio::test]
async fn admin_routes_need_the_admin_token_on_their_own_listener() -> Result<()> {
    let swfd = Swfd::start().await?;
    let http = swfd.http().clone();
    let before = swfd.cluster_status().await?;

    for (method, path) in ROUTES {
        // Gone from the SWF port: an unknown path there.
        let (status, _) = call(
            &http,
            method,
            format!("{}{path}", swfd.endpoint()),
            Some(ADMIN_TOKEN),
            body_for(path),
        )
        .await?;
        assert_eq!(status, 404, "{method} {path} on the SWF port");
        // No credential: 401; a wrong one: 403.
        let url = format!("{}{path}", swfd.admin_endpoint());
        let (status, out) = call(&http, method, url.clone(), None, body_for(path)).await?;
        assert_eq!(status, 401, "{method} {path}: {out}");
        assert_eq!(out["__type"], "MissingAuthenticationTokenException");
        let (status, out) = call(
            &http,
            method,
            url,
            Some("swfd-e2e-admin-token-0123456780"),
            body_for(path),
        )
        .await?;
        assert_eq!(status, 403, "{method} {path}: {out}");
        assert_eq!(out["__type"], "AccessDeniedException");
    }
    // Another scheme, or an unknown path without a credential: refused too.
    let resp = http
        .get(format!("{}/cluster/status", swfd.admin_endpoint()))
        .basic_auth("admin", Some(ADMIN_TOKEN))
        .send()
        .await?;
    assert_eq!(resp.status(), 401);
    let (status, _) = call(
        &http,
        "GET",
        format!("{}/no/such/path", swfd.admin_endpoint()),
        None,
        None,
    )
    .await?;
    assert_eq!(status, 401);
    // Nothing changed: node 1 is still the one voter, still leading.
    let after = swfd.cluster_status().await?;
    assert_eq!(after["voters"], before["voters"]);
    assert_eq!(after["members"], before["members"]);
    assert_eq!(after["leader_id"], 1);

    // With the token: served.
    let (status, out) = swfd.admin_get("/cluster/status").await?;
    assert_eq!((status, &out["node_id"]), (200, &json!(1)));
    let (status, out) = swfd.admin_get("/cluster/digest").await?;
    assert_eq!(status, 200, "{out}");
    assert!(out["digest"].is_string(), "{out}");

    // /health and /ready are open on both listeners.
    for base in [swfd.endpoint(), swfd.admin_endpoint()] {
        for path in ["/health", "/ready"] {
            let resp = http.get(format!("{base}{path}")).send().await?;
            assert_eq!(resp.status(), 200, "{base}{path}");
        }
    }
    // `POST /` is not an admin route.
    let (status, _) = call(
        &http,
        "POST",
        format!("{}/", swfd.admin_endpoint()),
        Some(ADMIN_TOKEN),
        Some(json!({})),
    )
    .await?;
    assert_eq!(status, 404);
    Ok(())
}

#[tokio::test]
async fn swfd_admin_sends_the_token_of_its_token_file() -> Result<()> {
    let swfd = Swfd::start().await?;
    let run = |token_file: &std::path::Path| -> Result<std::process::Output> {
        Ok(std::process::Command::new(swf_e2e::swfd_bin()?)
            .args(["admin", "status", "--endpoint", &swfd.admin_endpoint()])
            .arg("--token-file")
            .arg(token_file)
            .output()?)
    };
    let out = run(&swfd.admin_token_file())?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(status["node_id"], 1);

    let dir = tempfile::tempdir()?;
    let wrong = dir.path().join("token");
    std::fs::write(&wrong, "not-the-admin-token-at-all\n")?;
    let out = run(&wrong)?;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("AccessDeniedException"), "{stderr}");
    Ok(())
}
