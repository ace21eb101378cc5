//! The gateway's request-head parser and chunked-body decoder, compiled from their source files
//! (`crates/swf-gateway/src/h1/`), exactly as the server runs them.
#![allow(dead_code)]

#[path = "../../crates/swf-gateway/src/h1/parse.rs"]
pub mod parse;

#[path = "../../crates/swf-gateway/src/h1/chunked.rs"]
pub mod chunked;
