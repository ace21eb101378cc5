//! The HTTP/1.1 request-head parser: any bytes give a head, "incomplete" or a refusal, never a panic;
//! a head is never longer than the limit, and a refusal is a 4xx/5xx status. Parsing is the same
//! whatever follows a complete head (no head is read two ways).
#![no_main]

use libfuzzer_sys::fuzz_target;

mod h1;

use h1::parse::{parse_head, Kind, MAX_HEAD};

fuzz_target!(|data: &[u8]| {
    match parse_head(data) {
        Ok(Some(head)) => {
            assert!(head.len <= data.len() && head.len <= MAX_HEAD);
            // The same head with other bytes after it parses the same way.
            let mut more = data[..head.len].to_vec();
            more.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
            let again = parse_head(&more).expect("same head").expect("complete");
            assert_eq!(again.len, head.len);
            assert_eq!(again.framing, head.framing);
            if let (Kind::Swf { target: a, .. }, Kind::Swf { target: b, .. }) = (&head.kind, &again.kind) {
                assert_eq!(a, b);
            }
        }
        Ok(None) => assert!(data.len() <= MAX_HEAD),
        Err(r) => assert!((400..600).contains(&r.status)),
    }
});
