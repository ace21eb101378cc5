#!/usr/bin/env bash
# Starts a local 3-node swfd cluster for development on 127.0.0.1: node N serves SWF on port 79N0 and
# gRPC on 79N1 (7950/7951, 7960/7961, 7970/7971), data in ./swfd-cluster/nodeN, logs beside it.
# Any node accepts any call. Ctrl-C stops all three. Extra arguments go to every swfd.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo build --release -p swfd
members="1=127.0.0.1:7951,2=127.0.0.1:7961,3=127.0.0.1:7971"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT INT TERM
for n in 1 2 3; do
  dir="swfd-cluster/node$n"
  mkdir -p "$dir"
  ./target/release/swfd --node-id "$n" --data-dir "$dir" \
    --http-addr "127.0.0.1:79${n}0" --grpc-addr "127.0.0.1:79${n}1" \
    --initial-members "$members" "$@" >"$dir/stdout.log" 2>"$dir/swfd.log" &
  pids+=($!)
done
for n in 1 2 3; do
  until curl -sf "http://127.0.0.1:79${n}0/health" >/dev/null 2>&1; do sleep 0.2; done
done
echo "cluster up: http://127.0.0.1:7950 http://127.0.0.1:7960 http://127.0.0.1:7970"
curl -s http://127.0.0.1:7950/cluster/status; echo
wait
