#!/usr/bin/env bash
# Side-by-side benchmark: runs swf-bench's workload against a single swfd node, a 3-node swfd cluster and
# moto_server (the SWF mock a team would otherwise run locally) in one go, then writes a markdown table
# and a throughput/latency plot into docs/benchmarks.md and docs/bench/. Reports land in target/bench/.
#
# Usage: scripts/bench.sh [--no-build] [--duration SECS] [--concurrency N] [--workload simple[,sfn,...]]
#                         [--skip-moto] [--baseline-swfd PATH [--baseline-label L]] [--label L]
#                         [--repeat N] [--idle-polls N] [--out DIR] [--no-docs]
#
# Prebuilt binaries: SWFD_BIN and SWF_BENCH_BIN name the swfd and swf-bench to bench; when both are set
# (or with --no-build) nothing is built. BENCH_VENV names the Python venv holding moto_server and
# matplotlib (default: $CARGO_TARGET_DIR/bench-venv, created when missing). --baseline-swfd benches a
# second swfd (e.g. an older build) back to back with the first in the same run and reports the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"

build=1
pass=()
for a in "$@"; do
  if [ "$a" = "--no-build" ]; then build=0; else pass+=("$a"); fi
done
if [ -n "${SWFD_BIN:-}" ] && [ -n "${SWF_BENCH_BIN:-}" ]; then build=0; fi
swfd="${SWFD_BIN:-$target_dir/release/swfd}"
swf_bench="${SWF_BENCH_BIN:-$target_dir/release/swf-bench}"

bash scripts/install-deps.sh --python
if [ "$build" = 1 ]; then
  cargo build --release -p swfd -p swf-bench
fi
for b in "$swfd" "$swf_bench"; do
  [ -x "$b" ] || { echo "bench.sh: $b is not an executable (build it, or set SWFD_BIN / SWF_BENCH_BIN)" >&2; exit 1; }
done
venv="${BENCH_VENV:-$target_dir/bench-venv}"
if [ ! -x "$venv/bin/moto_server" ] || ! "$venv/bin/python" -c "import matplotlib" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check 'moto[server]' matplotlib
fi
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec "$venv/bin/python" scripts/bench_compare.py \
  --swfd "$swfd" --swf-bench "$swf_bench" \
  --moto "$venv/bin/moto_server" --out "$target_dir/bench" ${pass[@]+"${pass[@]}"}
