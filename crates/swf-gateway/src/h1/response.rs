//! Response heads: status line, `Date` (formatted once a second per thread), `Content-Length`, and the
//! other fields, written into one small buffer that goes out with the body in a single vectored write.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;

thread_local! {
    /// The `Date` value for the current second: (seconds since the epoch, formatted).
    static DATE: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

/// Appends `Date: <now>` in the IMF-fixdate format.
fn push_date(out: &mut Vec<u8>) {
    let now = SystemTime::now();
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    DATE.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != secs {
            *cached = (secs, httpdate::fmt_http_date(now));
        }
        out.extend_from_slice(b"date: ");
        out.extend_from_slice(cached.1.as_bytes());
        out.extend_from_slice(b"\r\n");
    });
}

/// How the response ends the exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persist {
    /// The connection stays open (HTTP/1.1 default).
    KeepAlive,
    /// The connection stays open for an HTTP/1.0 client that asked for it (`Connection: keep-alive`).
    KeepAlive10,
    /// `Connection: close`, and the server closes after this response.
    Close,
}

/// Builds a response head: the status line, `date`, the given fields, `content-length` and the
/// connection field when needed.
pub fn head(status: u16, fields: &[(&[u8], &[u8])], body_len: usize, persist: Persist) -> Vec<u8> {
    head_framed(status, fields, Some(body_len), persist)
}

/// A response head for a body sent in chunks (`transfer-encoding: chunked`) as it is produced.
pub fn head_chunked(status: u16, fields: &[(&[u8], &[u8])], persist: Persist) -> Vec<u8> {
    head_framed(status, fields, None, persist)
}

fn head_framed(
    status: u16,
    fields: &[(&[u8], &[u8])],
    body_len: Option<usize>,
    persist: Persist,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        160 + fields
            .iter()
            .map(|(n, v)| n.len() + v.len() + 4)
            .sum::<usize>(),
    );
    let reason = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(itoa::Buffer::new().format(status).as_bytes());
    out.push(b' ');
    out.extend_from_slice(reason.as_bytes());
    out.extend_from_slice(b"\r\n");
    push_date(&mut out);
    for (name, value) in fields {
        out.extend_from_slice(name);
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    match body_len {
        Some(n) => {
            out.extend_from_slice(b"content-length: ");
            out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        None => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
    }
    match persist {
        Persist::KeepAlive => {}
        Persist::KeepAlive10 => out.extend_from_slice(b"connection: keep-alive\r\n"),
        Persist::Close => out.extend_from_slice(b"connection: close\r\n"),
    }
    out.extend_from_slice(b"\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_layout() {
        let h = head(
            413,
            &[(b"content-type", b"application/x-amz-json-1.0")],
            7,
            Persist::Close,
        );
        let text = String::from_utf8(h).unwrap();
        assert!(
            text.starts_with("HTTP/1.1 413 Payload Too Large\r\ndate: "),
            "{text}"
        );
        assert!(text.ends_with(
            " GMT\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: 7\r\nconnection: close\r\n\r\n"
        ), "{text}");
        let date = text.lines().nth(1).unwrap().trim_start_matches("date: ");
        assert!(httpdate::parse_http_date(date).is_ok(), "{date}");
        let h = String::from_utf8(head(200, &[], 0, Persist::KeepAlive10)).unwrap();
        assert!(h.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(h.ends_with("content-length: 0\r\nconnection: keep-alive\r\n\r\n"));
        let h = String::from_utf8(head(599, &[], 0, Persist::KeepAlive)).unwrap();
        assert!(h.starts_with("HTTP/1.1 599 \r\n"));
    }
}
