//! Authentication through the real swfd with `--auth-config` (SigV4 as AWS verifies it): every error
//! code and message in AWS's order (see `crates/swf-auth/tests/verify.rs` for the evidence of AWS's
//! texts), the ±15-minute window at ±899 s / ±901 s, `host` unsigned, duplicate and folded headers,
//! temporary keys (session token, expiry), single-byte changes to signed elements, a refused call
//! never reaching the log, and auth off by default with a loud log line. Each refused case counts
//! toward the negative tests of the issue (`NEGATIVE` at the end of each test).

mod auth_support;

use std::sync::atomic::{AtomicUsize, Ordering};

use auth_support::*;
use serde_json::json;
use swf_e2e::sign::Signer;
use swf_e2e::Swfd;

static NEGATIVE: AtomicUsize = AtomicUsize::new(0);

fn counted() -> usize {
    NEGATIVE.fetch_add(1, Ordering::Relaxed) + 1
}

const LIST: &str = "SimpleWorkflowService.ListDomains";
const MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

fn list_body() -> serde_json::Value {
    json!({"registrationStatus": "REGISTERED"})
}

fn set(headers: &mut [(String, String)], name: &str, value: String) {
    headers
        .iter_mut()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .unwrap()
        .1 = value;
}

fn get(headers: &[(String, String)], name: &str) -> String {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication_errors_in_aws_order() -> anyhow::Result<()> {
    let swfd = start(&[]).await?;
    let admin = Signer::e2e();
    let list = |s: Option<Signer>| {
        let swfd = &swfd;
        async move { call_with(swfd, s.as_ref(), LIST, &list_body(), |_| {}).await }
    };
    // Signed by the SDK's signer: allowed.
    list(Some(admin.clone())).await.ok();

    // 1. No Authorization header.
    list(None).await.is(
        "MissingAuthenticationTokenException",
        "Request is missing Authentication Token",
    );
    counted();
    // Also for a Step Functions call and an unknown action: authentication comes first.
    call_with(
        &swfd,
        None,
        "AWSStepFunctions.ListActivities",
        &json!({}),
        |_| {},
    )
    .await
    .is(
        "MissingAuthenticationTokenException",
        "Request is missing Authentication Token",
    );
    counted();
    call_with(
        &swfd,
        None,
        "SimpleWorkflowService.NoSuchAction",
        &json!({}),
        |_| {},
    )
    .await
    .is(
        "MissingAuthenticationTokenException",
        "Request is missing Authentication Token",
    );
    counted();

    // 2. Incomplete: parts missing, no date, no equal sign, malformed credential, other algorithm.
    let a = call_with(&swfd, Some(&admin), LIST, &list_body(), |h| {
        let auth = get(h, "authorization");
        let cred = auth.split(", ").next().unwrap().to_string();
        set(h, "authorization", cred);
    })
    .await;
    assert_eq!(a.code(), "IncompleteSignatureException", "{a:?}");
    assert!(a.message().starts_with("Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256 Credential=AKIDE2E/"), "{a:?}");
    counted();
    let a = call_with(&swfd, Some(&admin), LIST, &list_body(), |h| {
        h.retain(|(n, _)| n != "x-amz-date");
    })
    .await;
    assert_eq!(a.code(), "IncompleteSignatureException", "{a:?}");
    assert!(a.message().starts_with("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization="), "{a:?}");
    counted();
    let a = call_with(&swfd, Some(&admin), LIST, &list_body(), |h| {
        let auth =
            get(h, "authorization").replacen("Credential=AKIDE2E/", "Credential=AKIDE2E /", 1);
        set(h, "authorization", auth);
    })
    .await;
    assert_eq!(a.code(), "IncompleteSignatureException", "{a:?}");
    assert!(a.message().contains("not a valid key=value pair (missing equal-sign) in Authorization header: 'AWS4-HMAC-SHA256 Credential=AKIDE2E /"), "{a:?}");
    counted();
    let a = call_with(&swfd, Some(&admin), LIST, &list_body(), |h| {
        let auth = get(h, "authorization").replacen("/us-east-1/", "/", 1);
        set(h, "authorization", auth);
    })
    .await;
    assert_eq!(a.code(), "IncompleteSignatureException", "{a:?}");
    assert!(a.message().starts_with("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKIDE2E/"), "{a:?}");
    counted();
    call_with(&swfd, Some(&admin), LIST, &list_body(), |h| {
        let auth = get(h, "authorization").replacen("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512", 1);
        set(h, "authorization", auth);
    })
    .await
    .is(
        "IncompleteSignatureException",
        "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'",
    );
    counted();
    call_with(&swfd, Some(&admin), LIST, &list_body(), |h| {
        set(h, "x-amz-date", "2025-11-30T00:00:00Z".into());
    })
    .await
    .is(
        "IncompleteSignatureException",
        "Date must be in ISO-8601 'basic format'. Got '2025-11-30T00:00:00Z'. See http://en.wikipedia.org/wiki/ISO_8601",
    );
    counted();

    // 3. Invalid: region, service, terminator, date of the scope, host and target unsigned,
    //    x-amz-content-sha256, a mismatch.
    let other_region = Signer {
        region: "eu-west-1".into(),
        ..admin.clone()
    };
    list(Some(other_region)).await.is(
        "InvalidSignatureException",
        "Credential should be scoped to a valid region, not 'eu-west-1'. ",
    );
    counted();
    let states = Signer {
        service: "states".into(),
        ..admin.clone()
    };
    list(Some(states.clone())).await.is(
        "InvalidSignatureException",
        "Credential should be scoped to correct service: 'swf'. ",
    );
    counted();
    // ... and an SWF-scoped signature on a Step Functions call.
    call_with(
        &swfd,
        Some(&admin),
        "AWSStepFunctions.ListActivities",
        &json!({}),
        |_| {},
    )
    .await
    .is(
        "InvalidSignatureException",
        "Credential should be scoped to correct service: 'states'. ",
    );
    counted();
    call_with(
        &swfd,
        Some(&states),
        "AWSStepFunctions.ListActivities",
        &json!({}),
        |_| {},
    )
    .await
    .ok();
    call_with(&swfd, Some(&admin), LIST, &list_body(), |h| {
        let auth = get(h, "authorization").replacen("/aws4_request", "/aws5_request", 1);
        set(h, "authorization", auth);
    })
    .await
    .is(
        "InvalidSignatureException",
        "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. ",
    );
    counted();
    let a = call_with(&swfd, Some(&admin), LIST, &list_body(), |h| {
        let date = get(h, "x-amz-date");
        let auth = get(h, "authorization").replacen(&format!("/{}/", &date[..8]), "/20200101/", 1);
        set(h, "authorization", auth);
    })
    .await;
    assert_eq!(a.code(), "InvalidSignatureException", "{a:?}");
    assert!(a.message().starts_with("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20200101' != '"), "{a:?}");
    counted();
    call_with(&swfd, Some(&admin), LIST, &list_body(), |h| {
        let auth = get(h, "authorization").replacen("content-type;host;", "content-type;", 1);
        set(h, "authorization", auth);
    })
    .await
    .is(
        "InvalidSignatureException",
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
    );
    counted();
    call_with(&swfd, Some(&admin), LIST, &list_body(), |h| {
        let auth = get(h, "authorization").replacen(";x-amz-target", "", 1);
        set(h, "authorization", auth);
    })
    .await
    .is(
        "InvalidSignatureException",
        "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.",
    );
    counted();
    // X-Amz-Content-Sha256, signed, must be the body's hash (so UNSIGNED-PAYLOAD is refused) ...
    let body = serde_json::to_vec(&list_body())?;
    for value in [
        "UNSIGNED-PAYLOAD",
        "0000000000000000000000000000000000000000000000000000000000000000",
    ] {
        let mut h = vec![
            ("host".to_string(), swfd.http_addr().to_string()),
            ("content-type".to_string(), swf_e2e::AMZ_JSON.to_string()),
            ("x-amz-content-sha256".to_string(), value.to_string()),
            ("x-amz-target".to_string(), LIST.to_string()),
        ];
        let added = admin.sign(&h, &body);
        h.extend(added);
        raw_send(&swfd, &h, &body).await.is(
            "InvalidSignatureException",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        );
        counted();
    }
    // ... and must be signed when present.
    call_with(&swfd, Some(&admin), LIST, &list_body(), |h| {
        h.push(("x-amz-content-sha256".into(), "UNSIGNED-PAYLOAD".into()));
    })
    .await
    .is(
        "InvalidSignatureException",
        "'X-Amz-Content-Sha256' must be a 'SignedHeader' in the AWS Authorization.",
    );
    counted();
    let wrong_secret = signer("AKIDE2E", "not-the-secret");
    list(Some(wrong_secret))
        .await
        .is("InvalidSignatureException", MISMATCH);
    counted();

    // 4. Unknown keys; tokens that are not the key's.
    list(Some(signer("AKIDUNKNOWN", "x"))).await.is(
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    );
    counted();
    let temp_without_token = signer("AKIDTEMP", "temp-secret");
    list(Some(temp_without_token)).await.is(
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    );
    counted();
    let wrong_token = Signer {
        token: Some("tok-other".into()),
        ..signer("AKIDTEMP", "temp-secret")
    };
    list(Some(wrong_token)).await.is(
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    );
    counted();
    let token_on_long_term_key = Signer {
        token: Some("tok-temp".into()),
        ..Signer::e2e()
    };
    list(Some(token_on_long_term_key)).await.is(
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    );
    counted();

    // 5. Temporary keys: valid until they expire.
    let temp = Signer {
        token: Some("tok-temp".into()),
        ..signer("AKIDTEMP", "temp-secret")
    };
    list(Some(temp)).await.ok();
    let old = Signer {
        token: Some("tok-old".into()),
        ..signer("AKIDOLD", "old-secret")
    };
    list(Some(old.clone())).await.is(
        "ExpiredTokenException",
        "The security token included in the request is expired",
    );
    counted();
    // An expired key with a wrong signature: only the signature is reported.
    list(Some(Signer {
        secret: "wrong".into(),
        ..old
    }))
    .await
    .is("InvalidSignatureException", MISMATCH);
    counted();
    // A secret read from a file.
    list(Some(signer("AKIDFILER", "filer-secret"))).await.ok();

    let n = NEGATIVE.load(Ordering::Relaxed);
    assert!(n >= 24, "{n}");
    println!("authentication_errors_in_aws_order: {n} refused cases");
    Ok(())
}

/// The skew window through the real server: ±899 s passes, ±901 s fails ("Signature expired" /
/// "Signature not yet current"). Signing times are whole seconds, so the server's second can only
/// tick forward meanwhile; the +901 case is repeated if it did (it then legitimately reads +900).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_skew_window_is_fifteen_minutes() -> anyhow::Result<()> {
    let swfd = start(&[]).await?;
    for offset in [899, -899, 0, 60, -60] {
        let s = Signer {
            time: at(offset),
            ..Signer::e2e()
        };
        call_with(&swfd, Some(&s), LIST, &list_body(), |_| {})
            .await
            .ok();
    }
    let a = call_with(
        &swfd,
        Some(&Signer {
            time: at(-901),
            ..Signer::e2e()
        }),
        LIST,
        &list_body(),
        |_| {},
    )
    .await;
    assert_eq!(a.code(), "InvalidSignatureException", "{a:?}");
    assert!(a.message().starts_with("Signature expired: "), "{a:?}");
    assert!(a.message().ends_with(" - 15 min.)"), "{a:?}");
    counted();
    let mut refused = false;
    for _ in 0..5 {
        let before = at(0);
        let a = call_with(
            &swfd,
            Some(&Signer {
                time: at(901),
                ..Signer::e2e()
            }),
            LIST,
            &list_body(),
            |_| {},
        )
        .await;
        if at(0) != before {
            continue;
        }
        assert_eq!(a.code(), "InvalidSignatureException", "{a:?}");
        assert!(
            a.message().starts_with("Signature not yet current: "),
            "{a:?}"
        );
        assert!(a.message().ends_with(" + 15 min.)"), "{a:?}");
        refused = true;
        break;
    }
    assert!(refused);
    counted();
    // Far off either way.
    for offset in [-86_400, 86_400] {
        let a = call_with(
            &swfd,
            Some(&Signer {
                time: at(offset),
                ..Signer::e2e()
            }),
            LIST,
            &list_body(),
            |_| {},
        )
        .await;
        assert_eq!(a.code(), "InvalidSignatureException", "{a:?}");
        counted();
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_folded_and_changed_headers() -> anyhow::Result<()> {
    let swfd = start(&[]).await?;
    let admin = Signer::e2e();
    // Two Authorization headers.
    let a = call_with(&swfd, Some(&admin), LIST, &list_body(), |h| {
        let auth = get(h, "authorization");
        h.push(("authorization".into(), auth));
    })
    .await;
    assert_eq!(a.code(), "IncompleteSignatureException", "{a:?}");
    counted();
    // A second value of a signed header added after signing (the canonical request joins both).
    for name in ["x-amz-target", "x-amz-date", "content-type"] {
        let a = call_with(&swfd, Some(&admin), LIST, &list_body(), |h| {
            let v = get(h, name);
            h.push((name.into(), v));
        })
        .await;
        assert_eq!(a.code(), "InvalidSignatureException", "{name}: {a:?}");
        counted();
    }
    // Two security tokens.
    let temp = Signer {
        token: Some("tok-temp".into()),
        ..signer("AKIDTEMP", "temp-secret")
    };
    call_with(&swfd, Some(&temp), LIST, &list_body(), |h| {
        h.push(("x-amz-security-token".into(), "tok-temp".into()));
    })
    .await
    .is(
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    );
    counted();
    // Whitespace a proxy may add inside and around a signed value: still the same signature.
    call_with(&swfd, Some(&admin), LIST, &list_body(), |h| {
        set(h, "content-type", "  application/x-amz-json-1.0 \t".into());
        let t = get(h, "x-amz-target");
        set(h, "x-amz-target", format!("\t{t}  "));
    })
    .await
    .ok();
    // Folded (obs-fold) lines are refused by the HTTP parser before anything else.
    let a = call_with(&swfd, Some(&admin), LIST, &list_body(), |h| {
        let v = get(h, "content-type");
        set(h, "content-type", format!("{v}\r\n extra"));
    })
    .await;
    assert_eq!(a.status, 400, "{a:?}");
    counted();

    // Every single-byte change of a signed element: the body, the target, the host, the date
    // (another valid second), the signature. Each is refused, none proposes anything.
    let body = serde_json::to_vec(&list_body())?;
    for i in 0..body.len() {
        let mut changed = body.clone();
        changed[i] = if changed[i] == b'R' { b'S' } else { b'R' };
        let headers = {
            let mut h = vec![
                ("host".to_string(), swfd.http_addr().to_string()),
                ("content-type".to_string(), swf_e2e::AMZ_JSON.to_string()),
                ("x-amz-target".to_string(), LIST.to_string()),
            ];
            let added = admin.sign(&h, &body);
            h.extend(added);
            h
        };
        let a = raw_send(&swfd, &headers, &changed).await;
        assert_eq!(
            a.code(),
            "InvalidSignatureException",
            "body byte {i}: {a:?}"
        );
        counted();
    }
    for (name, at) in [
        ("x-amz-target", 5),
        ("host", 2),
        ("host", 10),
        ("content-type", 3),
    ] {
        let a = call_with(&swfd, Some(&admin), LIST, &list_body(), |h| {
            let mut v = get(h, name).into_bytes();
            v[at] = if v[at] == b'1' { b'2' } else { b'1' };
            set(h, name, String::from_utf8(v).unwrap());
        })
        .await;
        assert_eq!(a.code(), "InvalidSignatureException", "{name}[{at}]: {a:?}");
        counted();
    }
    let a = call_with(&swfd, Some(&admin), LIST, &list_body(), |h| {
        let mut v = get(h, "x-amz-date").into_bytes();
        v[14] = if v[14] == b'0' { b'1' } else { b'0' };
        set(h, "x-amz-date", String::from_utf8(v).unwrap());
    })
    .await;
    assert_eq!(a.code(), "InvalidSignatureException", "{a:?}");
    counted();
    for at in 0..64 {
        let a = call_with(&swfd, Some(&admin), LIST, &list_body(), |h| {
            let auth = get(h, "authorization");
            let sig = auth.rfind("Signature=").unwrap() + 10;
            let mut v = auth.into_bytes();
            v[sig + at] = if v[sig + at] == b'0' { b'1' } else { b'0' };
            set(h, "authorization", String::from_utf8(v).unwrap());
        })
        .await;
        a.is("InvalidSignatureException", MISMATCH);
        counted();
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_call_proposes_nothing() -> anyhow::Result<()> {
    let swfd = start(&[]).await?;
    // The digest is on the admin listener (docs/security.md, Transport). The first leader creates
    // the token keyring (one log entry, its record in the `sfn` column family) soon after it is
    // elected: wait for it, or it would land between the two digests.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let before = loop {
        let (_, digest) = swfd.admin_get("/cluster/digest").await?;
        if digest["column_families"]["sfn"]["entries"].as_u64() >= Some(1) {
            break digest;
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "no token keyring: {digest}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let body = json!({"name": "never", "workflowExecutionRetentionPeriodInDays": "1"});
    // Unsigned, badly signed, unknown key, expired key, denied by policy.
    call_with(
        &swfd,
        None,
        "SimpleWorkflowService.RegisterDomain",
        &body,
        |_| {},
    )
    .await
    .is(
        "MissingAuthenticationTokenException",
        "Request is missing Authentication Token",
    );
    swf(
        &swfd,
        &signer("AKIDE2E", "bad"),
        "RegisterDomain",
        body.clone(),
    )
    .await
    .is("InvalidSignatureException", MISMATCH);
    swf(
        &swfd,
        &signer("AKIDX", "bad"),
        "RegisterDomain",
        body.clone(),
    )
    .await
    .is(
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    );
    let old = Signer {
        token: Some("tok-old".into()),
        ..signer("AKIDOLD", "old-secret")
    };
    swf(&swfd, &old, "RegisterDomain", body.clone()).await.is(
        "ExpiredTokenException",
        "The security token included in the request is expired",
    );
    swf(
        &swfd,
        &signer("AKIDNOBODY", "nobody-secret"),
        "RegisterDomain",
        body.clone(),
    )
    .await
    .denied("nobody", "swf:RegisterDomain", &domain_arn("never"));
    for _ in 0..5 {
        counted();
    }
    let (_, after) = swfd.admin_get("/cluster/digest").await?;
    assert_eq!(before, after, "a refused call changed the state or the log");
    let (_, domains) = swfd
        .raw_call("ListDomains", r#"{"registrationStatus":"REGISTERED"}"#)
        .await?;
    assert_eq!(domains["domainInfos"], json!([]));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_auth_config_anyone_may_call_and_the_log_says_so() -> anyhow::Result<()> {
    let swfd = Swfd::start_without_auth(&[]).await?;
    assert!(
        swfd.log().contains("AUTH IS OFF"),
        "no loud line in the log:\n{}",
        swfd.log()
    );
    let a = call_with(&swfd, None, LIST, &list_body(), |_| {}).await;
    a.ok();
    let a = call_with(
        &swfd,
        Some(&signer("AKIDANY", "any")),
        LIST,
        &list_body(),
        |_| {},
    )
    .await;
    a.ok();
    Ok(())
}

/// `auth-config` in swfd's TOML configuration file turns auth on like `--auth-config`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_config_file_key_turns_auth_on() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let auth = dir.path().join("auth.toml");
    std::fs::write(&auth, swf_e2e::sign::ALLOW_ALL)?;
    let cfg = dir.path().join("swfd.toml");
    std::fs::write(
        &cfg,
        format!("auth-config = {:?}\n", auth.display().to_string()),
    )?;
    let cfg = cfg.display().to_string();
    // Auth on needs mutual TLS on the gRPC port; the harness adds it only for an --auth-config flag.
    let mut args = vec!["--config".to_string(), cfg];
    args.extend(swf_e2e::peer_tls_args(dir.path())?);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let swfd = Swfd::start_with(&args).await?;
    call_with(&swfd, None, LIST, &list_body(), |_| {}).await.is(
        "MissingAuthenticationTokenException",
        "Request is missing Authentication Token",
    );
    counted();
    call_with(&swfd, Some(&Signer::e2e()), LIST, &list_body(), |_| {})
        .await
        .ok();
    assert!(!swfd.log().contains("AUTH IS OFF"));
    Ok(())
}
