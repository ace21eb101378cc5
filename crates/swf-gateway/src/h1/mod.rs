//! A lean HTTP/1.1 server for the gateway, written for what SWF clients send and for memory: one task
//! per connection, no buffers held while a request waits in its handler (a long poll), and SWF calls
//! handled without building an `http::Request` or a header map.
//!
//! - [`parse`]: the request head (`httparse`), framing and smuggling checks, limits.
//! - [`chunked`]: the chunked request-body decoder.
//! - [`response`]: response heads and the cached `Date` value.
//! - [`conn`]: the per-connection exchange loop.

pub mod chunked;
pub mod conn;
pub mod parse;
pub mod response;
