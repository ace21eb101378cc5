//! The per-call cost of SigV4 verification, measured against a baseline in the same run: parsing the
//! call's JSON body into a `serde_json::Value` (which every call pays anyway). A typical SWF call
//! (PollForActivityTask, 5 signed headers, a 120-byte body) is signed once by `aws-sigv4` and
//! verified many times; the signing key comes from the cache after the first call, as on a server.
//! Prints both figures; `cargo test --release -p swf-auth --test cost -- --nocapture` for the numbers
//! recorded in docs/benchmarks.md. Asserts only a generous bound (a debug build is slow).

use std::time::{Duration, Instant, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use swf_auth::sigv4::{verify, Expect, KeyRef, Keys, Request, SigningKeyCache};

const NOW: i64 = 1_764_460_800;

struct One(SigningKeyCache);

impl Keys for One {
    fn key(&self, id: &str) -> Option<KeyRef<'_>> {
        (id == "AKIDCOST").then_some(KeyRef {
            secret: "cost-secret",
            session_token: None,
            expires: None,
            cache: &self.0,
        })
    }
}

#[test]
fn verification_costs_little_next_to_parsing_the_body() {
    let body = br#"{"domain":"prod","taskList":{"name":"workers-eu-west-1"},"identity":"worker-17@host-3.example.com:4711"}"#;
    let base = [
        ("host", "swf.example.internal:7950"),
        ("content-type", "application/x-amz-json-1.0"),
        ("x-amz-target", "SimpleWorkflowService.PollForActivityTask"),
        ("user-agent", "aws-sdk-rust/1.3 os/linux lang/rust/1.85"),
    ];
    let identity = Credentials::new("AKIDCOST", "cost-secret", None, None, "cost").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("swf")
        .time(UNIX_EPOCH + Duration::from_secs(NOW as u64))
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let signable = SignableRequest::new(
        "POST",
        "http://swf.example.internal:7950/",
        base.iter().copied(),
        SignableBody::Bytes(body),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let added: Vec<(String, String)> = instructions
        .headers()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    let mut headers: Vec<(&str, &[u8])> = base.iter().map(|(n, v)| (*n, v.as_bytes())).collect();
    headers.extend(added.iter().map(|(n, v)| (n.as_str(), v.as_bytes())));
    let keys = One(SigningKeyCache::default());
    let expect = Expect {
        region: "us-east-1",
        service: "swf",
        now: NOW,
    };
    let req = Request {
        method: "POST",
        target: "/",
        headers: &headers,
        body,
    };
    verify(&req, &keys, &expect).unwrap();
    let n = 20_000;
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(verify(std::hint::black_box(&req), &keys, &expect).unwrap());
    }
    let per_verify = t.elapsed() / n;
    let t = Instant::now();
    for _ in 0..n {
        let v: serde_json::Value = serde_json::from_slice(std::hint::black_box(body)).unwrap();
        std::hint::black_box(v);
    }
    let per_parse = t.elapsed() / n;
    println!(
        "SigV4 verification: {per_verify:?} per call; parsing the body as JSON: {per_parse:?} ({:.1}x)",
        per_verify.as_nanos() as f64 / per_parse.as_nanos().max(1) as f64
    );
    assert!(per_verify < Duration::from_millis(2), "{per_verify:?}");
}
