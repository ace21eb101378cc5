#!/usr/bin/env bash
# Runs a single-node swfd with sensible defaults: SWF endpoint http://127.0.0.1:7950, data in ./swfd-data.
# Installs the build dependencies first if they are missing. Extra arguments go to swfd (see swfd --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo build --release -p swfd
exec ./target/release/swfd "$@"
