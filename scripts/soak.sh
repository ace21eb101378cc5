#!/usr/bin/env bash
# Soak (issue 18): a local 3-node cluster (ports 7650..7672) under a steady load for a long time, in a
# domain with retention 0 (closed runs are purged at once), sampled once a period: swf-bench --soak
# writes a CSV row per period (workflows/s, calls/s, errors, p50 and p99 of the period's calls, and
# each node's RSS and data-directory size), and a plot of it is made as a PNG. What to look for:
# RSS and data-directory size level off (compaction reclaims what retention purges), p99 stays flat,
# no errors. RocksDB's per-column-family figures are sampled alongside (rocksdb.txt). The results go in
# docs/benchmarks.md ("Soak").
#
#   SWFD_BIN=target/release/swfd BENCH_BIN=target/release/swf-bench RATE=270 DURATION=3600 scripts/soak.sh
#
# RATE: workflows started per second (open loop; default 250, about half of the cluster's peak on a
# 2-core machine, docs/benchmarks.md), DURATION: measured seconds (default 3600), EVERY: seconds per
# row (default 60), CONCURRENCY: swf-bench's drivers (default 32), OUT: where the CSV, the PNG, the
# JSON report and the nodes' logs go (default ./soak-out, emptied first). Extra arguments go to every
# swfd. The plot uses matplotlib from a venv (SOAK_VENV, default target/soak-venv, made on first use);
# PLOT=0 skips it (scripts/soak_plot.py CSV PNG makes it later).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$(realpath "${SWFD_BIN:-target/release/swfd}")"
bench="$(realpath "${BENCH_BIN:-target/release/swf-bench}")"
rate="${RATE:-250}"
duration="${DURATION:-3600}"
every="${EVERY:-60}"
concurrency="${CONCURRENCY:-32}"
out="$(realpath -m "${OUT:-soak-out}")"
venv="$(realpath -m "${SOAK_VENV:-target/soak-venv}")"
rm -rf "$out"
mkdir -p "$out"
token="$out/admin-token"
(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$token" && echo >>"$token")
members="1=127.0.0.1:7651,2=127.0.0.1:7661,3=127.0.0.1:7671"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

watch=()
for n in 1 2 3; do
  dir="$out/node$n"
  mkdir -p "$dir/data"
  port=$((7640 + 10 * n))
  "$bin" --node-id "$n" --data-dir "$dir/data" --http-addr "127.0.0.1:$port" \
    --grpc-addr "127.0.0.1:$((port + 1))" --admin-addr "127.0.0.1:$((port + 2))" \
    --admin-token-file "$token" --initial-members "$members" "$@" \
    >"$dir/stdout.log" 2>"$dir/swfd.log" </dev/null &
  pids+=($!)
  watch+=(--watch "node$n=$!:$dir/data")
done
for port in 7652 7662 7672; do
  until curl -sf "http://127.0.0.1:$port/ready" >/dev/null 2>&1; do sleep 0.2; done
done
echo "soak: 3 nodes ready; ${rate} workflows/s for ${duration}s, a row every ${every}s in $out/soak.csv"

# RocksDB's own figures per column family (SST bytes, memtable bytes, estimated keys, pending
# compaction) from each node's /metrics, once a period: $out/rocksdb.txt, "SECONDS NODE METRIC VALUE".
(
  started=$(date +%s)
  while sleep "$every"; do
    for n in 1 2 3; do
      curl -sf -H "Authorization: Bearer $(head -n 1 "$token")" "http://127.0.0.1:$((7642 + 10 * n))/metrics" |
        awk -v t=$(($(date +%s) - started)) -v n="node$n" '/^swfd_rocksdb_|^swfd_raft_(purged|snapshot)_index/ {print t, n, $1, $2}' ||
        true
    done >>"$out/rocksdb.txt"
  done
) &
pids+=($!)

"$bench" --endpoint http://127.0.0.1:7650,http://127.0.0.1:7660,http://127.0.0.1:7670 \
  --rate "$rate" --duration "$duration" --concurrency "$concurrency" --warmup 5 \
  --retention-days 0 --label "soak ${rate}/s" --report "$out/report.json" \
  --soak "$out/soak.csv" --soak-every "$every" "${watch[@]}" 2>"$out/bench.log"
tail -n 1 "$out/bench.log"
column -s, -t <"$out/soak.csv" || cat "$out/soak.csv"

if [ "${PLOT:-1}" != 0 ]; then
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import matplotlib" >/dev/null 2>&1; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check matplotlib
  fi
  "$venv/bin/python" scripts/soak_plot.py "$out/soak.csv" "$out/soak.png"
  echo "soak: plot in $out/soak.png"
fi
