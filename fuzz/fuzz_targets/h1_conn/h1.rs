//! `crate::h1` of the gateway for the `h1_conn` target: the connection loop with its parser, chunked
//! decoder and response writer, compiled from their source files.
#![allow(dead_code)]

#[path = "../../../crates/swf-gateway/src/h1/parse.rs"]
pub mod parse;

#[path = "../../../crates/swf-gateway/src/h1/chunked.rs"]
pub mod chunked;

#[path = "../../../crates/swf-gateway/src/h1/response.rs"]
pub mod response;

#[path = "../../../crates/swf-gateway/src/h1/conn.rs"]
pub mod conn;
