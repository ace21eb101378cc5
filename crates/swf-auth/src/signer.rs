//! SigV4 signing of a request, for swfd's own clients (`swfd admin` signs its calls to the admin
//! API with an admin principal's key). The mirror of `sigv4::verify`: the same canonical request
//! (`canonical`), the same scope and string to sign. Every header given is signed (`host`
//! included), plus the `x-amz-date` (and `x-amz-security-token` for a temporary key) signing adds.

use crate::canonical::{canonical_request, sha256_hex, Signed};
use crate::sigv4::{sign, ALGORITHM};
use crate::time::format_amz;

/// A key to sign with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    /// The session token of a temporary key.
    pub session_token: Option<String>,
}

/// A request to sign.
pub struct Outgoing<'a> {
    pub method: &'a str,
    /// Path and optional `?query`, as it will be sent.
    pub target: &'a str,
    /// The header fields to sign (`host` among them).
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

/// The headers to add to `req`, signed at `now` (seconds since the epoch) for `region` and
/// `service`: `x-amz-date`, `x-amz-security-token` for a temporary key, and `authorization`.
pub fn sign_request(
    creds: &Credentials,
    region: &str,
    service: &str,
    now: i64,
    req: &Outgoing<'_>,
) -> Vec<(String, String)> {
    let Outgoing {
        method,
        target,
        headers,
        body,
    } = *req;
    let amz = format_amz(now);
    let mut added = vec![("x-amz-date".to_string(), amz.clone())];
    if let Some(token) = &creds.session_token {
        added.push(("x-amz-security-token".to_string(), token.clone()));
    }
    let all: Vec<(String, Vec<u8>)> = headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.as_bytes().to_vec()))
        .chain(
            added
                .iter()
                .map(|(n, v)| (n.clone(), v.as_bytes().to_vec())),
        )
        .collect();
    let fields: Vec<(&str, &[u8])> = all.iter().map(|(n, v)| (n.as_str(), &v[..])).collect();
    let mut signed: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    signed.sort_unstable();
    signed.dedup();
    let payload_hash = sha256_hex(body);
    let canonical = canonical_request(&Signed {
        method,
        target,
        headers: &fields,
        signed: &signed,
        payload_hash: &payload_hash,
    })
    .unwrap_or_default();
    let scope = format!("{}/{region}/{service}/aws4_request", &amz[..8]);
    let signature = sign(&creds.secret_access_key, &amz, &scope, &canonical);
    added.push((
        "authorization".to_string(),
        format!(
            "{ALGORITHM} Credential={}/{scope}, SignedHeaders={}, Signature={signature}",
            creds.access_key_id,
            signed.join(";")
        ),
    ));
    added
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigv4::{verify, Expect, KeyRef, Keys, Request, SigningKeyCache};

    struct One(SigningKeyCache, Option<&'static str>);

    impl Keys for One {
        fn key(&self, id: &str) -> Option<KeyRef<'_>> {
            (id == "AKID").then_some(KeyRef {
                secret: "secret",
                session_token: self.1,
                expires: None,
                cache: &self.0,
            })
        }
    }

    #[test]
    fn what_it_signs_verifies_and_a_changed_byte_does_not() {
        for token in [None, Some("tok")] {
            let creds = Credentials {
                access_key_id: "AKID".into(),
                secret_access_key: "secret".into(),
                session_token: token.map(str::to_string),
            };
            let keys = One(SigningKeyCache::default(), token);
            let now = 1_700_000_000;
            let base = [
                ("host", "127.0.0.1:7952"),
                ("content-type", "application/json"),
            ];
            let body = br#"{"node_id": 2}"#;
            let added = sign_request(
                &creds,
                "us-east-1",
                "swfd",
                now,
                &Outgoing {
                    method: "POST",
                    target: "/cluster/members/remove",
                    headers: &base,
                    body,
                },
            );
            let mut all: Vec<(&str, &[u8])> =
                base.iter().map(|(n, v)| (*n, v.as_bytes())).collect();
            all.extend(added.iter().map(|(n, v)| (n.as_str(), v.as_bytes())));
            let expect = Expect {
                region: "us-east-1",
                service: "swfd",
                now,
            };
            let req = |target, body| Request {
                method: "POST",
                target,
                headers: &all,
                body,
            };
            assert!(verify(&req("/cluster/members/remove", body), &keys, &expect).is_ok());
            assert!(verify(&req("/cluster/members", body), &keys, &expect).is_err());
            assert!(verify(&req("/cluster/members/remove", b"{}"), &keys, &expect).is_err());
        }
    }
}
