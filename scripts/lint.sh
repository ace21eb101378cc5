#!/usr/bin/env bash
# Lints the workspace as CI does: formatting (`cargo fmt --check`), unused dependencies
# (`cargo machete`) and clippy on every target with warnings as errors (the workspace's own lints are
# in the root Cargo.toml, `[workspace.lints]`). Installs rustfmt, clippy and cargo-machete if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"

if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  rustup component add rustfmt clippy
fi
if ! command -v cargo-machete >/dev/null 2>&1; then
  cargo install --locked --quiet cargo-machete@0.9.2
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo machete (unused dependencies)"
cargo machete
echo "== cargo clippy --all-targets -D warnings"
# Clippy checks with other settings than the test build, and RocksDB's build script would compile the
# C++ library a second time (10+ minutes on 2 cores): point it at the library the test build made.
cargo test --workspace --no-run --quiet
rocksdb_a="$(find "$target_dir/debug/build" -path '*librocksdb-sys-*/out/librocksdb.a' -print -quit)"
if [ -n "$rocksdb_a" ]; then
  export ROCKSDB_LIB_DIR="$(dirname "$rocksdb_a")" ROCKSDB_STATIC=1
fi
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "== fuzz targets compile (fuzz/ is a crate of its own, outside the workspace)"
# Type-checked here so a change in the gateway, the core or auth cannot leave them broken unnoticed;
# scripts/fuzz.sh builds and runs them.
(cd fuzz && cargo check --quiet --bins)
