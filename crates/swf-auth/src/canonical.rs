//! SigV4's canonical request, as AWS builds it for services other than S3: the URI path with `.` and
//! `..` segments and empty segments removed and each segment URI-encoded (a path already encoded on
//! the wire is so encoded twice), the query parameters decoded, re-encoded (RFC 3986) and sorted, the
//! signed headers in lower case with each value trimmed and inner runs of whitespace collapsed to one
//! space (several fields of one name joined by `,` in the order sent), the signed-header list and
//! the hex SHA-256 of the body.

use sha2::{Digest, Sha256};

/// Appends `bytes` URI-encoded as SigV4 wants: everything but `A-Z a-z 0-9 - . _ ~` as `%XX`.
pub fn uri_encode(bytes: &[u8], out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
}

/// `%XX` sequences decoded (a `%` not followed by two hex digits stays as it is).
pub fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hi = (b[i + 1] as char).to_digit(16);
            let lo = (b[i + 2] as char).to_digit(16);
            if let (Some(hi), Some(lo)) = (hi, lo) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// The canonical URI of a request path (the part before `?`).
pub fn canonical_uri(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let trailing = path.ends_with('/') || path.ends_with("/.") || path.ends_with("/..");
    let mut out = String::with_capacity(path.len() + 8);
    for seg in &segments {
        out.push('/');
        uri_encode(seg.as_bytes(), &mut out);
    }
    if segments.is_empty() || trailing {
        out.push('/');
    }
    out
}

/// The canonical query string of the part after `?` (empty for none).
pub fn canonical_query(query: &str) -> String {
    if query.is_empty() {
        return String::new();
    }
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let mut ek = String::new();
            uri_encode(&percent_decode(k), &mut ek);
            let mut ev = String::new();
            uri_encode(&percent_decode(v), &mut ev);
            (ek, ev)
        })
        .collect();
    pairs.sort();
    let mut out = String::with_capacity(query.len() + 8);
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// A header value trimmed, inner runs of whitespace (spaces, tabs, folded line breaks) collapsed to
/// one space; `None` when it is not text.
pub fn canonical_value(raw: &[u8], out: &mut String) -> Option<()> {
    let text = std::str::from_utf8(raw).ok()?;
    let mut first = true;
    for word in text.split([' ', '\t', '\r', '\n']) {
        if word.is_empty() {
            continue;
        }
        if !first {
            out.push(' ');
        }
        out.push_str(word);
        first = false;
    }
    Some(())
}

/// The hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The parts of a request SigV4 signs.
pub struct Signed<'a> {
    pub method: &'a str,
    /// The request target as sent: path and optional `?query`.
    pub target: &'a str,
    /// Every header field as sent, in order (names in any case).
    pub headers: &'a [(&'a str, &'a [u8])],
    /// The signed header names, lower case, as listed in `SignedHeaders`.
    pub signed: &'a [&'a str],
    /// The hex SHA-256 of the body.
    pub payload_hash: &'a str,
}

/// The canonical request; `None` when a signed header is missing or not text.
pub fn canonical_request(r: &Signed<'_>) -> Option<String> {
    let (path, query) = r.target.split_once('?').unwrap_or((r.target, ""));
    let mut out = String::with_capacity(256);
    out.push_str(r.method);
    out.push('\n');
    out.push_str(&canonical_uri(path));
    out.push('\n');
    out.push_str(&canonical_query(query));
    out.push('\n');
    for name in r.signed {
        out.push_str(name);
        out.push(':');
        let mut found = false;
        for (n, v) in r.headers {
            if n.eq_ignore_ascii_case(name) {
                if found {
                    out.push(',');
                }
                canonical_value(v, &mut out)?;
                found = true;
            }
        }
        if !found {
            return None;
        }
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&r.signed.join(";"));
    out.push('\n');
    out.push_str(r.payload_hash);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_normalise_as_for_non_s3_services() {
        for (raw, want) in [
            ("/", "/"),
            ("", "/"),
            ("//", "/"),
            ("/./", "/"),
            ("/example/..", "/"),
            ("/example1/example2/../..", "/"),
            ("//example//", "/example/"),
            ("/example space/", "/example%20space/"),
            (
                "/test/@connections/JBDvjfGEIAMCERw%3D",
                "/test/%40connections/JBDvjfGEIAMCERw%253D",
            ),
            ("/a/./b/../c", "/a/c"),
        ] {
            assert_eq!(canonical_uri(raw), want, "{raw}");
        }
    }

    #[test]
    fn queries_sort_and_encode() {
        assert_eq!(
            canonical_query("Param-3=Value3&Param=Value2&%E1%88%B4=Value1"),
            "%E1%88%B4=Value1&Param=Value2&Param-3=Value3"
        );
        assert_eq!(canonical_query("b=2&a&a=1"), "a=&a=1&b=2");
        assert_eq!(canonical_query("a=%zz"), "a=%25zz");
    }

    #[test]
    fn values_trim_and_collapse() {
        let mut s = String::new();
        canonical_value(b"  a   b\t\tc  ", &mut s).unwrap();
        assert_eq!(s, "a b c");
        assert!(canonical_value(&[0xff], &mut String::new()).is_none());
    }
}
