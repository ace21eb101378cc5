#!/usr/bin/env bash
# Runs the chaos suite: a seeded 60 s run of swf-chaos against 3 real swfd nodes, with every fault
# this machine supports (network namespaces, iptables and tc need root). Exits non-zero unless the
# report says ok. Override with CHAOS_NODES, CHAOS_DURATION, CHAOS_SEED, CHAOS_FAULTS.
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"

if [ "$(id -u)" -eq 0 ] && ! command -v iptables >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  echo "chaos: installing iptables" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iptables >/dev/null || true
fi

# The same build as scripts/test.sh (swf-chaos and swfd have integration tests, so their binaries are
# built by it): a separate `cargo build -p swfd -p swf-chaos` resolves other features and rebuilds RocksDB.
cargo test --workspace --no-run
mkdir -p "$target_dir/chaos"
args=(--nodes "${CHAOS_NODES:-3}" --duration "${CHAOS_DURATION:-60}" --seed "${CHAOS_SEED:-1}"
      --report "$target_dir/chaos/report.json")
[ -n "${CHAOS_FAULTS:-}" ] && args+=(--faults "$CHAOS_FAULTS")
if [ "$(id -u)" -ne 0 ]; then
  echo "chaos: not root: no network namespaces; running on loopback (kill, pause, membership only)" >&2
  args+=(--loopback --faults "${CHAOS_FAULTS:-kill,pause,leader-transfer,membership,bad-member}")
fi
"$target_dir/debug/swf-chaos" "${args[@]}"
