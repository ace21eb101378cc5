#!/usr/bin/env bash
# Starts a local 3-node swfd cluster for development on 127.0.0.1: nodes 1, 2 and 3 serve SWF on ports
# 7950, 7960 and 7970 and gRPC on 7951, 7961 and 7971, data in ./swfd-cluster/nodeN, logs beside it.
# Any node accepts any call. Ctrl-C stops all three. Extra arguments go to every swfd.
set -euo pipefail
cd "$(dirname "$0")/.."
# SWFD_BIN=path uses an already built binary instead of building a release one.
bin="${SWFD_BIN:-}"
if [ -z "$bin" ]; then
  bash scripts/install-deps.sh
  cargo build --release -p swfd
  bin=./target/release/swfd
fi
members="1=127.0.0.1:7951,2=127.0.0.1:7961,3=127.0.0.1:7971"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT INT TERM
for n in 1 2 3; do
  dir="swfd-cluster/node$n"
  mkdir -p "$dir"
  port=$((7940 + 10 * n))
  "$bin" --node-id "$n" --data-dir "$dir" \
    --http-addr "127.0.0.1:$port" --grpc-addr "127.0.0.1:$((port + 1))" \
    --initial-members "$members" "$@" >"$dir/stdout.log" 2>"$dir/swfd.log" &
  pids+=($!)
done
for port in 7950 7960 7970; do
  until curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1; do sleep 0.2; done
done
echo "cluster up: http://127.0.0.1:7950 http://127.0.0.1:7960 http://127.0.0.1:7970"
curl -s http://127.0.0.1:7950/cluster/status; echo
wait
