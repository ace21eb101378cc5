//! AWS's SigV4 test-suite vectors (`tests/sigv4-suite`, see its README): for every case our canonical
//! request equals AWS's byte for byte, and the signed request verifies at the signing time — and not
//! 901 s later, nor with any single byte of its signature changed.

use std::path::Path;

use swf_auth::canonical::{canonical_request, sha256_hex, Signed};
use swf_auth::sigv4::{verify, Expect, KeyRef, Keys, Request, SigningKeyCache};
use swf_auth::AuthError;

struct Case {
    name: String,
    method: String,
    target: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    canonical: String,
    secret: String,
    key_id: String,
    token: Option<String>,
    now: i64,
}

fn load(dir: &Path) -> Case {
    let ctx: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("context.json")).unwrap()).unwrap();
    let raw = std::fs::read(dir.join("header-signed-request.txt")).unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\n\n").unwrap_or((text.as_str(), ""));
    let mut lines = head.lines();
    let first = lines.next().unwrap();
    let method = first.split(' ').next().unwrap().to_string();
    let target = first[method.len() + 1..first.rfind(" HTTP/").unwrap()].to_string();
    let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            // A folded continuation line belongs to the field before it.
            let last = headers.last_mut().unwrap();
            last.1.push(b'\n');
            last.1.extend_from_slice(line.as_bytes());
        } else if let Some((n, v)) = line.split_once(':') {
            headers.push((n.to_string(), v.as_bytes().to_vec()));
        }
    }
    let len = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| {
            std::str::from_utf8(v)
                .unwrap()
                .trim()
                .parse::<usize>()
                .unwrap()
        })
        .unwrap_or(0);
    let creds = &ctx["credentials"];
    Case {
        name: dir.file_name().unwrap().to_string_lossy().into_owned(),
        method,
        target,
        headers,
        body: body.as_bytes()[..len].to_vec(),
        canonical: std::fs::read_to_string(dir.join("header-canonical-request.txt")).unwrap(),
        secret: creds["secret_access_key"].as_str().unwrap().to_string(),
        key_id: creds["access_key_id"].as_str().unwrap().to_string(),
        token: creds["token"].as_str().map(str::to_string),
        now: swf_auth::time::parse_rfc3339(ctx["timestamp"].as_str().unwrap()).unwrap(),
    }
}

struct OneKey<'a>(&'a Case, SigningKeyCache);

impl Keys for OneKey<'_> {
    fn key(&self, id: &str) -> Option<KeyRef<'_>> {
        (id == self.0.key_id).then_some(KeyRef {
            secret: &self.0.secret,
            session_token: self.0.token.as_deref(),
            expires: None,
            cache: &self.1,
        })
    }
}

fn cases() -> Vec<Case> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sigv4-suite");
    let mut dirs: Vec<_> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.iter().map(|d| load(d)).collect()
}

fn check(c: &Case, headers: &[(String, Vec<u8>)], now: i64) -> Result<(), AuthError> {
    let fields: Vec<(&str, &[u8])> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_slice()))
        .collect();
    let req = Request {
        method: &c.method,
        target: &c.target,
        headers: &fields,
        body: &c.body,
    };
    let keys = OneKey(c, SigningKeyCache::default());
    verify(
        &req,
        &keys,
        &Expect {
            region: "us-east-1",
            service: "service",
            now,
        },
    )
    .map(|_| ())
}

#[test]
fn canonical_requests_are_aws_s() {
    let all = cases();
    assert!(all.len() >= 30, "{} cases", all.len());
    for c in &all {
        let fields: Vec<(&str, &[u8])> = c
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_slice()))
            .collect();
        let signed_line = c.canonical.lines().rev().nth(1).unwrap().to_string();
        let signed: Vec<&str> = signed_line.split(';').collect();
        let hash = sha256_hex(&c.body);
        let ours = canonical_request(&Signed {
            method: &c.method,
            target: &c.target,
            headers: &fields,
            signed: &signed,
            payload_hash: &hash,
        })
        .unwrap();
        assert_eq!(ours, c.canonical, "{}", c.name);
    }
}

#[test]
fn signed_requests_verify_and_stale_or_altered_ones_do_not() {
    for c in cases() {
        check(&c, &c.headers, c.now).unwrap_or_else(|e| panic!("{}: {e:?}", c.name));
        check(&c, &c.headers, c.now + 899).unwrap();
        check(&c, &c.headers, c.now - 899).unwrap();
        for skew in [901, -901] {
            match check(&c, &c.headers, c.now + skew) {
                Err(AuthError::InvalidSignature(m)) => assert!(
                    m.starts_with("Signature expired")
                        || m.starts_with("Signature not yet current"),
                    "{m}"
                ),
                other => panic!("{}: {other:?}", c.name),
            }
        }
        // Every single-byte change of the signature is refused.
        let i = c
            .headers
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case("authorization"))
            .unwrap();
        let auth = c.headers[i].1.clone();
        let sig_at = auth.windows(10).position(|w| w == b"Signature=").unwrap() + 10;
        for (at, &b) in auth.iter().enumerate().skip(sig_at) {
            let mut changed = c.headers.clone();
            changed[i].1[at] = if b == b'0' { b'1' } else { b'0' };
            assert_eq!(
                check(&c, &changed, c.now),
                Err(AuthError::InvalidSignature(
                    swf_auth::error::SIGNATURE_MISMATCH.into()
                )),
                "{} byte {at}",
                c.name
            );
        }
    }
}
