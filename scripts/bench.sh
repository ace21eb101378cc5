#!/usr/bin/env bash
# Side-by-side benchmark: runs swf-bench's workload against a single swfd node, a 3-node swfd cluster and
# moto_server (the SWF mock a team would otherwise run locally) in one go, then writes a markdown table
# and a throughput/latency plot into docs/benchmarks.md and docs/bench/. Reports land in target/bench/.
# Usage: scripts/bench.sh [--duration SECS] [--concurrency N] [--workload simple] [--skip-moto]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --python
cargo build --release -p swfd -p swf-bench
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
venv="$target_dir/bench-venv"
if [ ! -x "$venv/bin/moto_server" ] || ! "$venv/bin/python" -c "import matplotlib" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check 'moto[server]' matplotlib
fi
ulimit -n 65536 2>/dev/null || true
exec "$venv/bin/python" scripts/bench_compare.py \
  --swfd "$target_dir/release/swfd" --swf-bench "$target_dir/release/swf-bench" \
  --moto "$venv/bin/moto_server" --out "$target_dir/bench" "$@"
