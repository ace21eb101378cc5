#!/usr/bin/env bash
# Starts a local 3-node swfd cluster for development on 127.0.0.1: nodes 1, 2 and 3 serve SWF on ports
# 7950, 7960 and 7970, gRPC on 7951, 7961 and 7971 and the admin API on 7952, 7962 and 7972, data in
# ./swfd-cluster/nodeN, logs beside it, one admin token for all three in ./swfd-cluster/admin-token
# (swfd admin status --endpoint http://127.0.0.1:7952 --token-file swfd-cluster/admin-token).
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
mkdir -p swfd-cluster
token=swfd-cluster/admin-token
[ -s "$token" ] || (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$token" && echo >>"$token")
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT INT TERM
for n in 1 2 3; do
  dir="swfd-cluster/node$n"
  mkdir -p "$dir"
  port=$((7940 + 10 * n))
  "$bin" --node-id "$n" --data-dir "$dir" \
    --http-addr "127.0.0.1:$port" --grpc-addr "127.0.0.1:$((port + 1))" \
    --admin-addr "127.0.0.1:$((port + 2))" --admin-token-file "$token" \
    --initial-members "$members" "$@" >"$dir/stdout.log" 2>"$dir/swfd.log" &
  pids+=($!)
done
for port in 7950 7960 7970; do
  until curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1; do sleep 0.2; done
done
echo "cluster up: http://127.0.0.1:7950 http://127.0.0.1:7960 http://127.0.0.1:7970"
curl -s -H "Authorization: Bearer $(head -n1 "$token")" http://127.0.0.1:7952/cluster/status; echo
wait
