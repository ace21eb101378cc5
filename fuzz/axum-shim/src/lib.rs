//! `axum::http` and nothing else: the `http` crate under the path the gateway's parser names.
pub use http;
