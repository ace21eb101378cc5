#!/usr/bin/env bash
# Runs every test: the Rust workspace (unit tests, and end-to-end tests that start the real swfd and
# drive it with aws-sdk-swf) and the Python client smoke test (boto3 and the AWS CLI against swfd).
# Installs what is missing first (clang/libclang for RocksDB; python3-venv for the client tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --python

target_dir="${CARGO_TARGET_DIR:-$PWD/target}"

echo "== cargo build (tests and binaries)"
cargo test --workspace --no-run
echo "== cargo test"
# The end-to-end tests use the swfd and example binaries this very build made.
SWF_BIN_DIR="$target_dir/debug" cargo test --workspace

# The same tests again with auth on (SWF_E2E_AUTH=1: every swfd the harness starts has an auth
# configuration and mutual TLS between nodes, every client and raw request signs; docs/security.md).
# About 5 minutes more on a 2-core machine; no doctests (they start no swfd).
echo "== cargo test with auth on"
SWF_E2E_AUTH=1 SWF_BIN_DIR="$target_dir/debug" cargo test --workspace --tests

echo "== python client tests (boto3, AWS CLI; the console in headless Chromium)"
venv="$target_dir/py-venv"
# (Again when a requirement was added since the venv was made, e.g. selenium for the console tests.)
if [ ! -x "$venv/bin/pytest" ] || ! "$venv/bin/python" -c "import selenium, kubernetes" >/dev/null 2>&1; then
  [ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r tests/python/requirements.txt
fi
SWFD_BIN="$target_dir/debug/swfd" PATH="$venv/bin:$PATH" "$venv/bin/pytest" -q tests/python

echo "== rolling restart under load (swf-bench against 3 nodes: zero failed calls)"
SWFD_BIN="$target_dir/debug/swfd" BENCH_BIN="$target_dir/debug/swf-bench" DURATION=25 CONCURRENCY=4 \
  OUT="$target_dir/rolling-restart" bash scripts/rolling-restart-check.sh

echo "== chaos suite (seeded 60 s run on 3 nodes, see docs/chaos.md)"
bash scripts/chaos.sh
