//! SigV4 verification (`AWS4-HMAC-SHA256` in the `Authorization` header), checked in AWS's order: a
//! missing header (`MissingAuthenticationTokenException`); a header or date that lacks something
//! (`IncompleteSignatureException`); a date outside ±15 minutes, a credential scoped to another date,
//! region, service or terminator, `host` (or `x-amz-target`) not signed, an
//! `x-amz-content-sha256` that is not the body's (so `UNSIGNED-PAYLOAD` too)
//! (`InvalidSignatureException`); an unknown key or a session token not the key's
//! (`UnrecognizedClientException`); a signature that differs, compared in constant time
//! (`InvalidSignatureException`); a temporary key past its expiry (`ExpiredTokenException`).
//!
//! The signing key (four HMACs) is cached per principal and scope, so a call costs the body's
//! SHA-256, the canonical request's, and two HMACs.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::canonical::{canonical_request, sha256_hex, Signed};
use crate::error::{AuthError, SIGNATURE_MISMATCH};
use crate::time::{format_amz, parse_amz, parse_http};

/// The only algorithm.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The clock skew allowed between the signer and us, in seconds (AWS's 15 minutes).
pub const MAX_SKEW: i64 = 15 * 60;

/// A request as the server received it.
pub struct Request<'a> {
    pub method: &'a str,
    /// The request target: path and optional `?query`, as sent.
    pub target: &'a str,
    /// Every header field, in order, names as sent.
    pub headers: &'a [(&'a str, &'a [u8])],
    pub body: &'a [u8],
}

impl<'a> Request<'a> {
    fn all(&self, name: &'static str) -> impl Iterator<Item = &'a [u8]> + 'a {
        let headers: &'a [(&'a str, &'a [u8])] = self.headers;
        headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    fn one(&self, name: &'static str) -> Option<&'a [u8]> {
        self.all(name).next()
    }
}

/// What the verifier needs of the key store.
pub trait Keys {
    /// The secret, the session token (temporary keys) and the expiry (seconds since the epoch) of
    /// `access_key_id`.
    fn key(&self, access_key_id: &str) -> Option<KeyRef<'_>>;
}

/// One key of the store.
pub struct KeyRef<'a> {
    pub secret: &'a str,
    pub session_token: Option<&'a str>,
    pub expires: Option<i64>,
    /// The signing-key cache of this key.
    pub cache: &'a SigningKeyCache,
}

/// The last signing keys derived for a key (one per scope; a handful at most, cleared when full).
#[derive(Default, Debug)]
pub struct SigningKeyCache(std::sync::Mutex<Vec<(String, [u8; 32])>>);

impl SigningKeyCache {
    fn get(&self, secret: &str, scope: &str) -> [u8; 32] {
        let mut cache = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, k)) = cache.iter().find(|(s, _)| s == scope) {
            return *k;
        }
        let key = signing_key(secret, scope);
        if cache.len() >= 8 {
            cache.clear();
        }
        cache.push((scope.to_string(), key));
        key
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// The signing key of `secret` for a scope `date/region/service/aws4_request`.
pub fn signing_key(secret: &str, scope: &str) -> [u8; 32] {
    let mut parts = scope.split('/');
    let date = parts.next().unwrap_or("");
    let mut key = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    for part in parts {
        key = hmac(&key, part.as_bytes());
    }
    key
}

/// What the verifier checks the scope against.
pub struct Expect<'a> {
    /// The region the server serves.
    pub region: &'a str,
    /// The service names this request may be scoped to (`swf` or `states`, by target).
    pub service: &'a str,
    /// Now, seconds since the epoch.
    pub now: i64,
}

/// The parsed `Authorization` header.
#[derive(Debug)]
pub struct Authorization<'a> {
    pub credential: &'a str,
    pub signed_headers: &'a str,
    pub signature: &'a str,
}

/// The combined message AWS gives for every missing part at once.
fn incomplete(header: &str, missing: &[&str], no_date: bool) -> AuthError {
    let mut m = String::new();
    for part in missing {
        m.push_str(&format!(
            "Authorization header requires '{part}' parameter. "
        ));
    }
    if no_date {
        m.push_str(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ",
        );
    }
    m.push_str(&format!("Authorization={header}"));
    AuthError::Incomplete(m)
}

/// Parses `AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`.
pub fn parse_authorization(header: &str, has_date: bool) -> Result<Authorization<'_>, AuthError> {
    let Some(rest) = header.strip_prefix(ALGORITHM) else {
        let alg = header.split_whitespace().next().unwrap_or("");
        return Err(AuthError::Incomplete(format!(
            "Unsupported AWS 'algorithm': '{alg}'"
        )));
    };
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return Err(AuthError::Incomplete(format!(
            "Unsupported AWS 'algorithm': '{}'",
            header.split_whitespace().next().unwrap_or("")
        )));
    }
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    // Parts are separated by commas and whitespace (a space inside a part splits it, as AWS reads
    // it: `Credential=KEY /date/...` names `/date/...` as a part without an equal sign).
    for pair in rest
        .split(|c: char| c == ',' || c.is_ascii_whitespace())
        .filter(|p| !p.is_empty())
    {
        let Some((k, v)) = pair.split_once('=') else {
            return Err(AuthError::Incomplete(format!(
                "'{pair}' not a valid key=value pair (missing equal-sign) in Authorization header: '{header}'."
            )));
        };
        let slot = match k.trim() {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(v.trim());
        }
    }
    let mut missing = Vec::new();
    for (name, v) in [
        ("Credential", credential),
        ("Signature", signature),
        ("SignedHeaders", signed_headers),
    ] {
        if v.is_none_or(str::is_empty) {
            missing.push(name);
        }
    }
    if !missing.is_empty() || !has_date {
        return Err(incomplete(header, &missing, !has_date));
    }
    Ok(Authorization {
        credential: credential.unwrap_or_default(),
        signed_headers: signed_headers.unwrap_or_default(),
        signature: signature.unwrap_or_default(),
    })
}

/// A verified request: who signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub access_key_id: String,
}

fn text(v: &[u8]) -> Option<&str> {
    std::str::from_utf8(v).ok().map(str::trim)
}

/// Verifies `req` against `keys`; see the module doc for the order of the checks.
pub fn verify(
    req: &Request<'_>,
    keys: &impl Keys,
    expect: &Expect<'_>,
) -> Result<Verified, AuthError> {
    // 1. The header.
    let mut auth_headers = req.all("authorization");
    let Some(header) = auth_headers.next() else {
        return Err(AuthError::MissingToken);
    };
    let header = std::str::from_utf8(header)
        .map_err(|_| AuthError::Incomplete("Authorization header is not text".into()))?
        .trim();
    if auth_headers.next().is_some() {
        return Err(AuthError::Incomplete(format!(
            "Authorization header appears more than once. Authorization={header}"
        )));
    }
    // 2. Its parts and the date.
    let amz_date = req.one("x-amz-date");
    let http_date = req.one("date");
    let auth = parse_authorization(header, amz_date.is_some() || http_date.is_some())?;
    let (date_header, stamp) = match amz_date {
        Some(v) => {
            let s = text(v).unwrap_or("");
            let t = parse_amz(s).ok_or_else(|| {
                AuthError::Incomplete(format!(
                    "Date must be in ISO-8601 'basic format'. Got '{s}'. See http://en.wikipedia.org/wiki/ISO_8601"
                ))
            })?;
            ("x-amz-date", t)
        }
        None => {
            let s = http_date.and_then(text).unwrap_or("");
            let t = parse_http(s).ok_or_else(|| {
                AuthError::Incomplete(format!("Date must be an HTTP date. Got '{s}'."))
            })?;
            ("date", t)
        }
    };
    let parts: Vec<&str> = auth.credential.split('/').collect();
    if parts.len() != 5 {
        return Err(AuthError::Incomplete(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{}'",
            auth.credential
        )));
    }
    let (key_id, scope_date, region, service, terminator) =
        (parts[0], parts[1], parts[2], parts[3], parts[4]);
    // 3. What can be checked without the key.
    let amz = format_amz(stamp);
    if stamp < expect.now - MAX_SKEW {
        return Err(AuthError::InvalidSignature(format!(
            "Signature expired: {amz} is now earlier than {} ({} - 15 min.)",
            format_amz(expect.now - MAX_SKEW),
            format_amz(expect.now)
        )));
    }
    if stamp > expect.now + MAX_SKEW {
        return Err(AuthError::InvalidSignature(format!(
            "Signature not yet current: {amz} is still later than {} ({} + 15 min.)",
            format_amz(expect.now + MAX_SKEW),
            format_amz(expect.now)
        )));
    }
    if scope_date != &amz[..8] {
        return Err(AuthError::InvalidSignature(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{scope_date}' != '{}', from '{}'.",
            &amz[..8],
            if date_header == "date" { "Date" } else { "X-Amz-Date" }
        )));
    }
    if region != expect.region {
        return Err(AuthError::InvalidSignature(format!(
            "Credential should be scoped to a valid region, not '{region}'. "
        )));
    }
    if service != expect.service {
        return Err(AuthError::InvalidSignature(format!(
            "Credential should be scoped to correct service: '{}'. ",
            expect.service
        )));
    }
    if terminator != "aws4_request" {
        return Err(AuthError::InvalidSignature(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'. "
        )));
    }
    let signed: Vec<&str> = auth.signed_headers.split(';').collect();
    let is_signed = |name: &str| signed.contains(&name);
    if !is_signed("host") {
        return Err(AuthError::InvalidSignature(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into(),
        ));
    }
    // The headers that choose what the call does, or carry the date or the token, must be signed.
    for (name, shown) in [
        ("x-amz-target", "X-Amz-Target"),
        ("x-amz-date", "X-Amz-Date"),
        ("x-amz-content-sha256", "X-Amz-Content-Sha256"),
    ] {
        if req.one(name).is_some() && !is_signed(name) {
            return Err(AuthError::InvalidSignature(format!(
                "'{shown}' must be a 'SignedHeader' in the AWS Authorization."
            )));
        }
    }
    if date_header == "date" && !is_signed("date") {
        return Err(AuthError::InvalidSignature(
            "'Date' must be a 'SignedHeader' in the AWS Authorization.".into(),
        ));
    }
    // SignedHeaders lists lower-case names, sorted, once each.
    let well_formed = signed
        .iter()
        .all(|s| !s.is_empty() && !s.bytes().any(|b| b.is_ascii_uppercase()))
        && signed.windows(2).all(|w| w[0] < w[1]);
    let present = |s: &str| req.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(s));
    if !well_formed || !signed.iter().all(|s| present(s)) {
        return Err(AuthError::InvalidSignature(SIGNATURE_MISMATCH.into()));
    }
    let payload_hash = sha256_hex(req.body);
    let mut content_sha = req.all("x-amz-content-sha256");
    if let Some(v) = content_sha.next() {
        if content_sha.next().is_some() || text(v) != Some(payload_hash.as_str()) {
            return Err(AuthError::InvalidSignature(
                "The provided 'x-amz-content-sha256' header does not match what was computed."
                    .into(),
            ));
        }
    }
    // 4. The key, and the session token of a temporary key.
    let key = keys.key(key_id).ok_or(AuthError::UnrecognizedClient)?;
    let mut tokens = req.all("x-amz-security-token");
    let token = tokens.next().and_then(text);
    if tokens.next().is_some() {
        return Err(AuthError::UnrecognizedClient);
    }
    match (key.session_token, token) {
        (None, None) => {}
        (Some(want), Some(got)) if bool::from(want.as_bytes().ct_eq(got.as_bytes())) => {}
        _ => return Err(AuthError::UnrecognizedClient),
    }
    // 5. The signature.
    let canonical = canonical_request(&Signed {
        method: req.method,
        target: req.target,
        headers: req.headers,
        signed: &signed,
        payload_hash: &payload_hash,
    })
    .ok_or_else(|| AuthError::InvalidSignature(SIGNATURE_MISMATCH.into()))?;
    let scope = &auth.credential[key_id.len() + 1..];
    let to_sign = format!(
        "{ALGORITHM}\n{amz}\n{scope}\n{}",
        sha256_hex(canonical.as_bytes())
    );
    let want = hmac(&key.cache.get(key.secret, scope), to_sign.as_bytes());
    let got = hex::decode(auth.signature).unwrap_or_default();
    if !bool::from(want.as_slice().ct_eq(&got)) {
        return Err(AuthError::InvalidSignature(SIGNATURE_MISMATCH.into()));
    }
    // 6. The expiry of a temporary key.
    if key.expires.is_some_and(|e| expect.now >= e) {
        return Err(AuthError::ExpiredToken);
    }
    Ok(Verified {
        access_key_id: key_id.to_string(),
    })
}

/// The signature of a canonical request (for tests and the suite vectors).
pub fn sign(secret: &str, amz_date: &str, scope: &str, canonical: &str) -> String {
    let to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical.as_bytes())
    );
    hex::encode(hmac(&signing_key(secret, scope), to_sign.as_bytes()))
}
