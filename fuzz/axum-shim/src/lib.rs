//! What the gateway's HTTP/1.1 files compiled into the fuzz targets name of axum: `axum::http` (the
//! `http` crate, which axum re-exports under that name), and for the connection loop
//! `axum::body::{Body, Bytes}` (a body built from the bytes read; nothing reads it back here).
pub use http;

pub mod body {
    pub use bytes::Bytes;

    /// A request body: the bytes the connection read.
    pub struct Body(pub Vec<u8>);

    impl From<Vec<u8>> for Body {
        fn from(bytes: Vec<u8>) -> Body {
            Body(bytes)
        }
    }
}
