//! The request head: `httparse` parses the request line and the header fields, and this module reduces
//! them to what the connection needs (framing, keep-alive, `Expect`, the SWF target), refusing what
//! could be read two ways (request smuggling) or is too large. An SWF call (`POST /`) keeps only its
//! `X-Amz-Target` value; any other request keeps its whole head for the axum router.

use axum::http::{self, HeaderName, HeaderValue};

/// Largest request head (request line and header fields) accepted; larger gets 431.
pub const MAX_HEAD: usize = 64 * 1024;
/// Most header fields in one request head; more gets 431.
pub const MAX_HEADERS: usize = 128;

/// How the request body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length: n` (no header at all is a length of 0).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// What the request is for.
#[derive(Debug)]
pub enum Kind {
    /// `POST /`: an SWF call, with its `X-Amz-Target` value (`""` when absent or not visible text)
    /// and the head as received (for SigV4 verification, which signs the request line and headers;
    /// dropped once the call is authenticated).
    Swf { target: String, head: Vec<u8> },
    /// Anything else, routed by axum (the body is added once read).
    Other(Box<http::request::Parts>),
}

/// A parsed request head.
#[derive(Debug)]
pub struct Head {
    /// Bytes of the buffer the head took.
    pub len: usize,
    /// HTTP/1.0 (else 1.1).
    pub http10: bool,
    /// Whether the client allows another request on the connection after this one.
    pub keep_alive: bool,
    /// `Expect: 100-continue` (HTTP/1.1 only).
    pub expect_continue: bool,
    pub framing: Framing,
    pub kind: Kind,
}

/// A head refused with this status; the connection is closed after the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub reason: &'static str,
}

impl Refusal {
    const fn bad(reason: &'static str) -> Refusal {
        Refusal {
            status: 400,
            reason,
        }
    }
}

const TOO_LARGE: Refusal = Refusal {
    status: 431,
    reason: "request header fields too large",
};

/// Parses the head at the start of `buf`: `Ok(None)` while it is incomplete (and still within
/// [`MAX_HEAD`]).
pub fn parse_head(buf: &[u8]) -> Result<Option<Head>, Refusal> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut fields);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => return Err(TOO_LARGE),
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(TOO_LARGE),
        Err(_) => return Err(Refusal::bad("malformed request head")),
    };
    if len > MAX_HEAD {
        return Err(TOO_LARGE);
    }
    // A complete parse has the method, the target and the version.
    let (Some(method), Some(path), Some(version)) = (req.method, req.path, req.version) else {
        return Err(Refusal::bad("malformed request head"));
    };
    let http10 = version == 0;
    let mut content_length: Option<u64> = None;
    let mut te_seen = false;
    let mut chunked = false;
    let mut other_coding = false;
    let mut close = false;
    let mut keep_alive = false;
    let mut expect_continue = false;
    let mut target: Option<&[u8]> = None;
    for f in req.headers.iter() {
        let name = f.name.as_bytes();
        if name.eq_ignore_ascii_case(b"content-length") {
            for item in f.value.split(|&b| b == b',') {
                let n = parse_length(trim(item)).ok_or(Refusal::bad("invalid Content-Length"))?;
                if content_length.is_some_and(|c| c != n) {
                    return Err(Refusal::bad("conflicting Content-Length"));
                }
                content_length = Some(n);
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            te_seen = true;
            for coding in f.value.split(|&b| b == b',').map(trim) {
                if coding.is_empty() {
                    continue;
                }
                // `chunked` must be the final coding, and only once.
                if chunked {
                    return Err(Refusal::bad("chunked is not the final transfer coding"));
                }
                if coding.eq_ignore_ascii_case(b"chunked") {
                    chunked = true;
                } else {
                    other_coding = true;
                }
            }
        } else if name.eq_ignore_ascii_case(b"connection") {
            for token in f.value.split(|&b| b == b',').map(trim) {
                if token.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    keep_alive = true;
                }
            }
        } else if name.eq_ignore_ascii_case(b"expect") {
            expect_continue = trim(f.value).eq_ignore_ascii_case(b"100-continue");
        } else if name.eq_ignore_ascii_case(b"x-amz-target") && target.is_none() {
            target = Some(f.value);
        }
    }
    let framing = if te_seen {
        if content_length.is_some() {
            return Err(Refusal::bad("both Content-Length and Transfer-Encoding"));
        }
        if http10 {
            return Err(Refusal::bad("Transfer-Encoding in an HTTP/1.0 request"));
        }
        if !chunked {
            return Err(Refusal::bad("the final transfer coding is not chunked"));
        }
        if other_coding {
            return Err(Refusal {
                status: 501,
                reason: "only the chunked transfer coding is supported",
            });
        }
        Framing::Chunked
    } else {
        Framing::Length(content_length.unwrap_or(0))
    };
    let keep_alive = !close && (!http10 || keep_alive);
    let expect_continue = expect_continue && !http10;
    let kind = if method == "POST" && (path == "/" || path.starts_with("/?")) {
        Kind::Swf {
            target: target.map(header_text).unwrap_or_default(),
            head: buf[..len].to_vec(),
        }
    } else {
        Kind::Other(Box::new(other_parts(method, path, http10, req.headers)?))
    };
    Ok(Some(Head {
        len,
        http10,
        keep_alive,
        expect_continue,
        framing,
        kind,
    }))
}

/// The head of a non-SWF request as `http` types, for the axum router.
fn other_parts(
    method: &str,
    path: &str,
    http10: bool,
    fields: &[httparse::Header<'_>],
) -> Result<http::request::Parts, Refusal> {
    let method =
        http::Method::from_bytes(method.as_bytes()).map_err(|_| Refusal::bad("invalid method"))?;
    let uri: http::Uri = path
        .parse()
        .map_err(|_| Refusal::bad("invalid request target"))?;
    let (mut parts, ()) = http::Request::new(()).into_parts();
    parts.method = method;
    parts.uri = uri;
    parts.version = if http10 {
        http::Version::HTTP_10
    } else {
        http::Version::HTTP_11
    };
    parts.headers.reserve(fields.len());
    for f in fields {
        let name = HeaderName::from_bytes(f.name.as_bytes())
            .map_err(|_| Refusal::bad("invalid header name"))?;
        let value =
            HeaderValue::from_bytes(f.value).map_err(|_| Refusal::bad("invalid header value"))?;
        parts.headers.append(name, value);
    }
    Ok(parts)
}

/// A header value as text, as `HeaderValue::to_str` reads it: visible ASCII, spaces and tabs only.
fn header_text(value: &[u8]) -> String {
    if value
        .iter()
        .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b))
    {
        // Only ASCII, so this cannot fail.
        String::from_utf8_lossy(value).into_owned()
    } else {
        String::new()
    }
}

/// `1*DIGIT` without overflow.
fn parse_length(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')))
}

/// `s` without leading and trailing spaces and tabs.
fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| b != b' ' && b != b'\t');
    let Some(start) = start else { return &[] };
    let end = s
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .unwrap_or(start);
    &s[start..=end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(s: &str) -> Head {
        parse_head(s.as_bytes())
            .expect("accepted")
            .expect("complete")
    }

    fn refused(s: &[u8]) -> u16 {
        parse_head(s).expect_err("refused").status
    }

    #[test]
    fn swf_call_head() {
        let req =
            "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: SimpleWorkflowService.ListDomains\r\n\
                   Content-Length: 12\r\n\r\n{\"a\": \"b\"}..";
        let h = head(req);
        assert_eq!(h.framing, Framing::Length(12));
        assert!(h.keep_alive && !h.http10 && !h.expect_continue);
        match h.kind {
            Kind::Swf { target, .. } => assert_eq!(target, "SimpleWorkflowService.ListDomains"),
            other => panic!("{other:?}"),
        }
        assert_eq!(&req[h.len..], "{\"a\": \"b\"}..");
    }

    #[test]
    fn every_prefix_of_a_head_is_partial() {
        let full = "POST /?x=1 HTTP/1.1\r\nx-amz-target: T\r\nTransfer-Encoding: chunked\r\n\r\n";
        for cut in 0..full.len() {
            assert!(
                parse_head(&full.as_bytes()[..cut]).unwrap().is_none(),
                "prefix {cut}"
            );
        }
        let h = head(full);
        assert_eq!(h.len, full.len());
        assert_eq!(h.framing, Framing::Chunked);
        assert!(matches!(h.kind, Kind::Swf { ref target, .. } if target == "T"));
    }

    #[test]
    fn pipelined_heads_in_one_buffer() {
        let two = "GET /health HTTP/1.1\r\n\r\nGET /ready HTTP/1.1\r\nConnection: close\r\n\r\n";
        let a = head(two);
        assert_eq!(&two[..a.len], "GET /health HTTP/1.1\r\n\r\n");
        let b = head(&two[a.len..]);
        assert!(!b.keep_alive);
        match b.kind {
            Kind::Other(p) => {
                assert_eq!(p.uri.path(), "/ready");
                assert_eq!(p.method, http::Method::GET);
                assert_eq!(p.headers["connection"], "close");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keep_alive_by_version_and_connection() {
        let cases = [
            ("GET / HTTP/1.1\r\n\r\n", true),
            ("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false),
            (
                "GET / HTTP/1.1\r\nConnection: Keep-Alive, CLOSE\r\n\r\n",
                false,
            ),
            ("GET / HTTP/1.0\r\n\r\n", false),
            ("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true),
        ];
        for (req, keep) in cases {
            assert_eq!(head(req).keep_alive, keep, "{req:?}");
        }
    }

    #[test]
    fn expect_continue_only_for_http11() {
        assert!(head("POST / HTTP/1.1\r\nExpect: 100-Continue\r\n\r\n").expect_continue);
        assert!(!head("POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n").expect_continue);
    }

    #[test]
    fn framing_cases() {
        let ok = [
            ("Content-Length: 5", Framing::Length(5)),
            ("Content-Length: 5\r\nContent-Length: 5", Framing::Length(5)),
            ("Content-Length: 5, 5", Framing::Length(5)),
            ("Content-Length:  007 ", Framing::Length(7)),
            ("Transfer-Encoding: Chunked", Framing::Chunked),
            ("Transfer-Encoding: ,chunked", Framing::Chunked),
        ];
        for (field, framing) in ok {
            let req = format!("POST / HTTP/1.1\r\n{field}\r\n\r\n");
            assert_eq!(head(&req).framing, framing, "{field}");
        }
        let refusedcases = [
            ("Content-Length: 5\r\nTransfer-Encoding: chunked", 400),
            ("Transfer-Encoding: chunked\r\nContent-Length: 0", 400),
            ("Content-Length: 5\r\nContent-Length: 6", 400),
            ("Content-Length: 5, 6", 400),
            ("Content-Length: -5", 400),
            ("Content-Length: +5", 400),
            ("Content-Length: 0x5", 400),
            ("Content-Length: ", 400),
            ("Content-Length: 99999999999999999999", 400),
            ("Transfer-Encoding: gzip, chunked", 501),
            ("Transfer-Encoding: chunked, gzip", 400),
            ("Transfer-Encoding: chunked, chunked", 400),
            (
                "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
                400,
            ),
            ("Transfer-Encoding: identity", 400),
            ("Transfer-Encoding: ", 400),
        ];
        for (field, status) in refusedcases {
            let req = format!("POST / HTTP/1.1\r\n{field}\r\n\r\n");
            assert_eq!(refused(req.as_bytes()), status, "{field}");
        }
        assert_eq!(
            refused(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
            400
        );
    }

    #[test]
    fn limits() {
        let big = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD));
        assert_eq!(refused(big.as_bytes()), 431);
        // Incomplete but already over the limit.
        assert_eq!(refused(&big.as_bytes()[..MAX_HEAD + 10]), 431);
        let many: String = (0..=MAX_HEADERS).map(|i| format!("X-{i}: v\r\n")).collect();
        let req = format!("GET / HTTP/1.1\r\n{many}\r\n");
        assert_eq!(refused(req.as_bytes()), 431);
    }

    #[test]
    fn garbage_is_refused_or_partial_never_a_panic() {
        let cases: [&[u8]; 9] = [
            b"\x00\x01\x02\r\n\r\n",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n",
            b"GET / HTTP/3.0\r\n\r\n",
            b"GET  / HTTP/1.1\r\n\r\n",
            b"G\xffT / HTTP/1.1\r\n\r\n",
            b"GET /\xff HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\n folded: x\r\n\r\n",
        ];
        for c in cases {
            assert_eq!(refused(c), 400, "{:?}", String::from_utf8_lossy(c));
        }
        // Pseudo-random bytes: any answer but a panic.
        let mut x: u32 = 12345;
        for len in 0..2000 {
            let bytes: Vec<u8> = (0..len % 200)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (x >> 16) as u8
                })
                .collect();
            let _ = parse_head(&bytes);
        }
    }

    #[test]
    fn target_text() {
        let h = head("POST / HTTP/1.1\r\nX-Amz-Target: a\u{e9}\r\n\r\n");
        assert!(matches!(h.kind, Kind::Swf { ref target, .. } if target.is_empty()));
        let h = head("POST / HTTP/1.1\r\n\r\n");
        assert!(matches!(h.kind, Kind::Swf { ref target, .. } if target.is_empty()));
        let h = head("PUT / HTTP/1.1\r\n\r\n");
        assert!(matches!(h.kind, Kind::Other(_)));
    }
}
