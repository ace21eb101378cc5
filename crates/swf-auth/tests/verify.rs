//! The verifier against the real signer of the AWS SDK for Rust (`aws-sigv4`): SWF and Step Functions
//! calls it signs verify; every error comes in AWS's order with AWS's message; every single-byte change
//! to a signed element (method, path, target, host, date, body, signature, credential) is refused.
//!
//! Message texts as AWS returns them (evidence, quoted in the issues where they were reported):
//! - "Request is missing Authentication Token" (MissingAuthenticationToken, amzn/selling-partner-api-docs#3081);
//! - "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature'
//!   parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires
//!   existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=..." (bKash-developer/webhook-endpoint-php#3,
//!   aws/chalice#828);
//! - "'...' not a valid key=value pair (missing equal-sign) in Authorization header: '...'."
//!   (IncompleteSignatureException, iann0036/cloud9-sync#10, aws/aws-sdk-go#289);
//! - "Signature expired: 20140325T143453Z is now earlier than 20140325T143751Z (20140325T145251Z - 15 min.)"
//!   (InvalidSignatureException, aws/aws-sdk-js#254);
//! - "Credential should be scoped to a valid region, not 'us-west-1'. " (aws/aws-sdk-java#1097,
//!   aws/aws-sdk-ruby#508) and "Credential should be scoped to correct service: 'elasticmapreduce'. "
//!   (aws/aws-sdk-ruby#431, a JSON service's `InvalidSignatureException` body);
//! - "The request signature we calculated does not match the signature you provided. Check your AWS
//!   Secret Access Key and signing method. Consult the service documentation for details." (aws/aws-sdk-js#168);
//! - "The security token included in the request is invalid." (UnrecognizedClientException,
//!   aws/aws-sdk-php#2444, a JSON service's body);
//! - "The security token included in the request is expired" (ExpiredTokenException, cloudquery/cq-provider-aws#1171).

use std::time::{Duration, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use swf_auth::error::SIGNATURE_MISMATCH;
use swf_auth::sigv4::{verify, Expect, KeyRef, Keys, Request, SigningKeyCache};
use swf_auth::AuthError;

const NOW: i64 = 1_764_460_800; // 2025-11-30T00:00:00Z
const KEY: &str = "AKIDSWFTEST";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const BODY: &str = r#"{"domain":"d","taskList":{"name":"tl"}}"#;

struct Store {
    token: Option<&'static str>,
    expires: Option<i64>,
    cache: SigningKeyCache,
}

impl Keys for Store {
    fn key(&self, id: &str) -> Option<KeyRef<'_>> {
        (id == KEY).then_some(KeyRef {
            secret: SECRET,
            session_token: self.token,
            expires: self.expires,
            cache: &self.cache,
        })
    }
}

fn store() -> Store {
    Store {
        token: None,
        expires: None,
        cache: SigningKeyCache::default(),
    }
}

/// A request as the SDK signs it: headers in order, body.
#[derive(Clone)]
struct Req {
    method: String,
    target: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

fn signed(service: &str, region: &str, at: i64, token: Option<&str>, body: &str) -> Req {
    let creds = Credentials::new(KEY, SECRET, token.map(str::to_string), None, "test");
    let identity = creds.into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(UNIX_EPOCH + Duration::from_secs(at as u64))
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let base = vec![
        (
            "host".to_string(),
            "swf.us-east-1.amazonaws.com".to_string(),
        ),
        (
            "content-type".to_string(),
            "application/x-amz-json-1.0".to_string(),
        ),
        (
            "x-amz-target".to_string(),
            "SimpleWorkflowService.PollForDecisionTask".to_string(),
        ),
    ];
    let signable = SignableRequest::new(
        "POST",
        "https://swf.us-east-1.amazonaws.com/",
        base.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        SignableBody::Bytes(body.as_bytes()),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut headers: Vec<(String, Vec<u8>)> =
        base.into_iter().map(|(n, v)| (n, v.into_bytes())).collect();
    for (n, v) in instructions.headers() {
        headers.push((n.to_string(), v.as_bytes().to_vec()));
    }
    Req {
        method: "POST".into(),
        target: "/".into(),
        headers,
        body: body.as_bytes().to_vec(),
    }
}

fn run(r: &Req, keys: &Store, now: i64) -> Result<(), AuthError> {
    let fields: Vec<(&str, &[u8])> = r
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_slice()))
        .collect();
    verify(
        &Request {
            method: &r.method,
            target: &r.target,
            headers: &fields,
            body: &r.body,
        },
        keys,
        &Expect {
            region: "us-east-1",
            service: "swf",
            now,
        },
    )
    .map(|_| ())
}

fn header_mut<'a>(r: &'a mut Req, name: &str) -> &'a mut Vec<u8> {
    &mut r
        .headers
        .iter_mut()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .unwrap()
        .1
}

fn without(r: &Req, name: &str) -> Req {
    let mut r = r.clone();
    r.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    r
}

fn mismatch() -> Result<(), AuthError> {
    Err(AuthError::InvalidSignature(SIGNATURE_MISMATCH.into()))
}

#[test]
fn the_sdk_signer_verifies_within_the_skew_window() {
    let r = signed("swf", "us-east-1", NOW, None, BODY);
    for skew in [0, 899, -899, 900, -900] {
        assert_eq!(run(&r, &store(), NOW + skew), Ok(()), "{skew}");
    }
    assert_eq!(
        run(&r, &store(), NOW + 901),
        Err(AuthError::InvalidSignature(
            "Signature expired: 20251130T000000Z is now earlier than 20251130T000001Z (20251130T001501Z - 15 min.)".into()
        ))
    );
    assert_eq!(
        run(&r, &store(), NOW - 901),
        Err(AuthError::InvalidSignature(
            "Signature not yet current: 20251130T000000Z is still later than 20251129T235959Z (20251129T234459Z + 15 min.)".into()
        ))
    );
}

#[test]
fn errors_come_in_aws_order_with_aws_messages() {
    let r = signed("swf", "us-east-1", NOW, None, BODY);
    assert_eq!(
        run(&without(&r, "authorization"), &store(), NOW),
        Err(AuthError::MissingToken)
    );
    assert_eq!(
        AuthError::MissingToken.fault().to_json().to_string(),
        r#"{"__type":"com.amazon.coral.service#MissingAuthenticationTokenException","message":"Request is missing Authentication Token"}"#
    );
    // An incomplete header wins over everything after it, even a stale date.
    let mut bad = r.clone();
    *header_mut(&mut bad, "authorization") =
        b"AWS4-HMAC-SHA256 Credential=AKIDSWFTEST/20251130/us-east-1/swf/aws4_request".to_vec();
    assert_eq!(
        run(&bad, &store(), NOW + 5000),
        Err(AuthError::Incomplete(
            "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256 Credential=AKIDSWFTEST/20251130/us-east-1/swf/aws4_request".into()
        ))
    );
    let no_date = without(&r, "x-amz-date");
    match run(&no_date, &store(), NOW) {
        Err(AuthError::Incomplete(m)) => assert!(
            m.starts_with("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256 Credential="),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
    let mut no_eq = r.clone();
    *header_mut(&mut no_eq, "authorization") = b"AWS4-HMAC-SHA256 Credential=AKIDSWFTEST /20251130/us-east-1/swf/aws4_request, SignedHeaders=host, Signature=00".to_vec();
    assert_eq!(
        run(&no_eq, &store(), NOW),
        Err(AuthError::Incomplete(
            "'/20251130/us-east-1/swf/aws4_request' not a valid key=value pair (missing equal-sign) in Authorization header: 'AWS4-HMAC-SHA256 Credential=AKIDSWFTEST /20251130/us-east-1/swf/aws4_request, SignedHeaders=host, Signature=00'.".into()
        ))
    );
    // Scope.
    let other_region = signed("swf", "eu-west-1", NOW, None, BODY);
    assert_eq!(
        run(&other_region, &store(), NOW),
        Err(AuthError::InvalidSignature(
            "Credential should be scoped to a valid region, not 'eu-west-1'. ".into()
        ))
    );
    let other_service = signed("states", "us-east-1", NOW, None, BODY);
    assert_eq!(
        run(&other_service, &store(), NOW),
        Err(AuthError::InvalidSignature(
            "Credential should be scoped to correct service: 'swf'. ".into()
        ))
    );
    // An unknown key is UnrecognizedClient (after the stateless checks).
    let nobody = Store {
        token: Some("x"),
        ..store()
    };
    assert_eq!(run(&r, &nobody, NOW), Err(AuthError::UnrecognizedClient));
    // A temporary key: the token must be the key's, and it expires.
    let temp = signed("swf", "us-east-1", NOW, Some("tok"), BODY);
    let temp_store = |expires| Store {
        token: Some("tok"),
        expires,
        cache: SigningKeyCache::default(),
    };
    assert_eq!(run(&temp, &temp_store(Some(NOW + 1)), NOW), Ok(()));
    assert_eq!(
        run(&temp, &temp_store(Some(NOW)), NOW),
        Err(AuthError::ExpiredToken)
    );
    assert_eq!(
        run(&temp, &store(), NOW),
        Err(AuthError::UnrecognizedClient)
    );
    let mut wrong_token = temp.clone();
    *header_mut(&mut wrong_token, "x-amz-security-token") = b"tok2".to_vec();
    assert_eq!(
        run(&wrong_token, &temp_store(None), NOW),
        Err(AuthError::UnrecognizedClient)
    );
    // A bad signature with an expired key is still a bad signature (only the key's holder learns
    // that it expired).
    let mut bad_sig = temp.clone();
    let auth = header_mut(&mut bad_sig, "authorization");
    let last = auth.len() - 1;
    auth[last] = if auth[last] == b'0' { b'1' } else { b'0' };
    assert_eq!(run(&bad_sig, &temp_store(Some(NOW)), NOW), mismatch());
}

#[test]
fn host_and_target_must_be_signed_and_the_payload_hash_must_be_the_body_s() {
    let r = signed("swf", "us-east-1", NOW, None, BODY);
    let mut unsigned_host = r.clone();
    let auth = String::from_utf8(header_mut(&mut unsigned_host, "authorization").clone()).unwrap();
    *header_mut(&mut unsigned_host, "authorization") = auth
        .replace(
            "SignedHeaders=content-type;host;",
            "SignedHeaders=content-type;",
        )
        .into_bytes();
    assert_eq!(
        run(&unsigned_host, &store(), NOW),
        Err(AuthError::InvalidSignature(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into()
        ))
    );
    let mut unsigned_target = r.clone();
    *header_mut(&mut unsigned_target, "authorization") =
        auth.replace(";x-amz-target", "").into_bytes();
    assert_eq!(
        run(&unsigned_target, &store(), NOW),
        Err(AuthError::InvalidSignature(
            "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.".into()
        ))
    );
    // X-Amz-Content-Sha256: checked when present; UNSIGNED-PAYLOAD refused.
    for value in [
        "UNSIGNED-PAYLOAD",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    ] {
        let mut with = r.clone();
        with.headers
            .push(("x-amz-content-sha256".into(), value.as_bytes().to_vec()));
        let a = auth.replace(";x-amz-date;", ";x-amz-content-sha256;x-amz-date;");
        *header_mut(&mut with, "authorization") = a.into_bytes();
        assert_eq!(
            run(&with, &store(), NOW),
            Err(AuthError::InvalidSignature(
                "The provided 'x-amz-content-sha256' header does not match what was computed."
                    .into()
            )),
            "{value}"
        );
    }
    // Duplicate Authorization headers.
    let mut twice = r.clone();
    let a = header_mut(&mut twice, "authorization").clone();
    twice.headers.push(("Authorization".into(), a));
    assert!(matches!(
        run(&twice, &store(), NOW),
        Err(AuthError::Incomplete(_))
    ));
}

#[test]
fn every_single_byte_change_to_a_signed_element_is_refused() {
    let r = signed("swf", "us-east-1", NOW, None, BODY);
    assert_eq!(run(&r, &store(), NOW), Ok(()));
    let flip = |b: u8| if b == b'a' { b'b' } else { b'a' };
    let mut refused = 0;
    // The body.
    for i in 0..r.body.len() {
        let mut m = r.clone();
        m.body[i] = flip(m.body[i]);
        assert_eq!(run(&m, &store(), NOW), mismatch(), "body byte {i}");
        refused += 1;
    }
    // The method and the path.
    let mut m = r.clone();
    m.method = "PUT".into();
    assert_eq!(run(&m, &store(), NOW), mismatch());
    let mut m = r.clone();
    m.target = "/a".into();
    assert_eq!(run(&m, &store(), NOW), mismatch());
    // Each signed header's value (the date: the same second written differently, so only the
    // signature can tell), and the signature.
    for name in ["host", "x-amz-target", "content-type"] {
        let len = header_mut(&mut r.clone(), name).len();
        for i in 0..len {
            let mut m = r.clone();
            let v = header_mut(&mut m, name);
            v[i] = flip(v[i]);
            assert_eq!(run(&m, &store(), NOW), mismatch(), "{name} byte {i}");
            refused += 1;
        }
    }
    let auth = header_mut(&mut r.clone(), "authorization").clone();
    let sig = auth.windows(10).position(|w| w == b"Signature=").unwrap() + 10;
    for i in sig..auth.len() {
        let mut m = r.clone();
        let v = header_mut(&mut m, "authorization");
        v[i] = if v[i] == b'0' { b'1' } else { b'0' };
        assert_eq!(run(&m, &store(), NOW), mismatch(), "signature byte {i}");
        refused += 1;
    }
    // The access key id in the credential: an unknown key.
    let mut m = r.clone();
    let v = header_mut(&mut m, "authorization");
    let at = v.windows(11).position(|w| w == KEY.as_bytes()).unwrap();
    v[at] = b'B';
    assert_eq!(run(&m, &store(), NOW), Err(AuthError::UnrecognizedClient));
    assert!(refused > 150, "{refused}");
}

#[test]
fn whitespace_in_signed_values_is_collapsed_as_the_signer_does() {
    // Inner runs of spaces and tabs are one space, leading and trailing ones nothing: the same
    // signature verifies.
    let r = signed("swf", "us-east-1", NOW, None, BODY);
    let mut m = r.clone();
    *header_mut(&mut m, "content-type") = b"  application/x-amz-json-1.0 \t ".to_vec();
    assert_eq!(run(&m, &store(), NOW), Ok(()));
}

#[test]
fn garbage_never_panics_the_verifier() {
    // A small deterministic generator: headers and authorization values made of the bytes that
    // matter to the parser (separators, digits, slashes, spaces, non-UTF-8).
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let alphabet = b"AWS4-HMAC-SHA256 Credential=Signature=SignedHeaders=,;/=0123456789TZ \t%\xff\x00aws4_request";
    let r = signed("swf", "us-east-1", NOW, Some("tok"), BODY);
    for round in 0..20_000 {
        let mut m = r.clone();
        let which = (next() % m.headers.len() as u64) as usize;
        let len = (next() % 120) as usize;
        let value: Vec<u8> = (0..len)
            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
            .collect();
        if round % 3 == 0 {
            // Keep the prefix and mangle the rest of the Authorization header.
            let auth = header_mut(&mut m, "authorization");
            let keep = (next() % auth.len() as u64) as usize;
            auth.truncate(keep);
            auth.extend_from_slice(&value);
        } else {
            m.headers[which].1 = value;
        }
        if round % 5 == 0 {
            m.target = String::from_utf8_lossy(&m.headers[which].1).into_owned();
        }
        let keys = Store {
            token: Some("tok"),
            ..store()
        };
        let _ = run(&m, &keys, NOW);
    }
}
