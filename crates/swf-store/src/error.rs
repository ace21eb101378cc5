//! `StoreError`: what can go wrong in the store below openraft's own error types. A read error of
//! applied state reaches swf-core as its `ReadError` (fatal for the node, never a client error).

use swf_core::ReadError;

/// A failure of the store.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// RocksDB failed.
    #[error("rocksdb: {0}")]
    Rocks(String),
    /// A stored value does not decode.
    #[error("corrupt value in column family {cf}: {message}")]
    Corrupt { cf: &'static str, message: String },
    /// A column family the store needs is missing.
    #[error("no column family {0}")]
    MissingColumnFamily(&'static str),
    /// A thread panicked while holding this in-memory structure.
    #[error("{0} poisoned")]
    Poisoned(&'static str),
}

impl From<rocksdb::Error> for StoreError {
    fn from(e: rocksdb::Error) -> StoreError {
        StoreError::Rocks(e.to_string())
    }
}

impl From<StoreError> for ReadError {
    fn from(e: StoreError) -> ReadError {
        ReadError(e.to_string())
    }
}
