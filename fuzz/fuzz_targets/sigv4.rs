//! SigV4: the `Authorization` header parser, the canonicalisation (URI, query, header values) and the
//! whole verification, on arbitrary requests. Besides "no panic": a request the signer (`swfd admin`'s,
//! `swf_auth::signer`) signs verifies, and the same request with one body byte changed does not.
//!
//! Input: the first line is `METHOD TARGET`, then `name: value` lines up to an empty line, then the
//! body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use swf_auth::canonical::{canonical_query, canonical_uri};
use swf_auth::signer::{sign_request, Credentials, Outgoing};
use swf_auth::sigv4::{
    parse_authorization, verify, Expect, KeyRef, Keys, Request, SigningKeyCache,
};

/// 2023-11-14T22:13:20Z.
const NOW: i64 = 1_700_000_000;

struct One(SigningKeyCache);

impl Keys for One {
    fn key(&self, id: &str) -> Option<KeyRef<'_>> {
        (id == "AKIDFUZZ").then(|| KeyRef {
            secret: "fuzz-secret",
            session_token: None,
            expires: None,
            cache: &self.0,
        })
    }
}

fuzz_target!(|data: &[u8]| {
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &[][..]),
    };
    let mut lines = head.split(|&b| b == b'\n');
    let first = std::str::from_utf8(lines.next().unwrap_or_default()).unwrap_or("");
    let (method, target) = first.split_once(' ').unwrap_or(("POST", "/"));
    let mut headers: Vec<(&str, &[u8])> = Vec::new();
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let Ok(name) = std::str::from_utf8(&line[..colon]) else {
            continue;
        };
        headers.push((name, &line[colon + 1..]));
    }
    let keys = One(SigningKeyCache::default());
    let expect = Expect {
        region: "us-east-1",
        service: "swf",
        now: NOW,
    };
    // Arbitrary requests: refused or verified, never a panic.
    let _ = verify(
        &Request {
            method,
            target,
            headers: &headers,
            body,
        },
        &keys,
        &expect,
    );
    if let Ok(text) = std::str::from_utf8(head) {
        let _ = parse_authorization(text, true);
        let _ = parse_authorization(text, false);
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let _ = canonical_uri(path);
    let _ = canonical_query(query);

    // The signer's requests verify. Only plain header fields are kept (what signing adds and what
    // verification treats specially are left to it), with text values.
    let plain: Vec<(&str, &str)> = headers
        .iter()
        .filter_map(|(n, v)| Some((*n, std::str::from_utf8(v).ok()?)))
        .filter(|(n, v)| {
            let n = n.to_ascii_lowercase();
            !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !n.starts_with("x-amz-")
                && !matches!(n.as_str(), "authorization" | "date" | "host")
                && v.bytes().all(|b| (0x20..0x7f).contains(&b))
        })
        .collect();
    let target_ok = target.starts_with('/')
        && target.bytes().all(|b| b.is_ascii_graphic())
        && method.bytes().all(|b| b.is_ascii_uppercase())
        && !method.is_empty();
    if !target_ok {
        return;
    }
    let mut signed: Vec<(&str, &str)> = vec![("host", "swf.fuzz")];
    signed.extend(plain.iter().copied());
    let creds = Credentials {
        access_key_id: "AKIDFUZZ".into(),
        secret_access_key: "fuzz-secret".into(),
        session_token: None,
    };
    let added = sign_request(
        &creds,
        "us-east-1",
        "swf",
        NOW,
        &Outgoing {
            method,
            target,
            headers: &signed,
            body,
        },
    );
    let mut all: Vec<(&str, &[u8])> = signed.iter().map(|(n, v)| (*n, v.as_bytes())).collect();
    all.extend(added.iter().map(|(n, v)| (n.as_str(), v.as_bytes())));
    let req = |body| Request {
        method,
        target,
        headers: &all,
        body,
    };
    assert!(
        verify(&req(body), &keys, &expect).is_ok(),
        "a signed request does not verify: {method} {target} {signed:?}"
    );
    if let Some(&b) = body.first() {
        let mut other = body.to_vec();
        other[0] = b ^ 1;
        assert!(
            verify(&req(&other), &keys, &expect).is_err(),
            "the body is not signed"
        );
    }
});
