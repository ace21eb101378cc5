#!/usr/bin/env bash
# Usage: scripts/chaos-campaign.sh N [FIRST_SEED]
# Runs N seeded swf-chaos runs (seeds FIRST_SEED.., default 1; odd-numbered runs on 3 nodes,
# even-numbered on 5), each with every fault kind, the workload at 5x (--intensity 5) and faults
# every few seconds (--fast-faults), then prints a summary table and writes it to
# target/chaos/campaign/summary.md. Runs niced (it shares the machine). Exits non-zero if any run
# found anomalies or failed. Override with CAMPAIGN_DURATION (s, default 60), CAMPAIGN_INTENSITY
# (default 5), CAMPAIGN_FAULTS (default: all), CAMPAIGN_NODES (3 or 5: all runs on that size),
# CAMPAIGN_LANES (default 1: runs at once, each in a network lane of its own, swf-chaos --lane) and
# CAMPAIGN_CHAOS_BIN (default target/debug/swf-chaos; its swfd is the one next to it, so a release
# build of both runs a release campaign).
# Needs root, as scripts/chaos.sh does; builds nothing (run `cargo test --workspace --no-run` first).
set -uo pipefail
cd "$(dirname "$0")/.."
n="${1:?usage: chaos-campaign.sh N [FIRST_SEED]}"
first="${2:-1}"
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
out="$target_dir/chaos/campaign"
mkdir -p "$out"
bin="${CAMPAIGN_CHAOS_BIN:-$target_dir/debug/swf-chaos}"
[ -x "$bin" ] || { echo "chaos-campaign: $bin not built (cargo test --workspace --no-run)" >&2; exit 2; }
lanes="${CAMPAIGN_LANES:-1}"
[ "$lanes" -ge 1 ] && [ "$lanes" -le 9 ] || { echo "chaos-campaign: CAMPAIGN_LANES must be 1 to 9" >&2; exit 2; }

# One run: seed $1 on $2 nodes in lane $3; its exit code in $out/seed-$1-n$2.rc.
one_run() {
  local seed=$1 nodes=$2 lane=$3 rc
  local report="$out/seed-$seed-n$nodes.json"
  local args=(--nodes "$nodes" --duration "${CAMPAIGN_DURATION:-60}" --seed "$seed" --report "$report"
              --intensity "${CAMPAIGN_INTENSITY:-5}" --fast-faults --lane "$lane")
  [ -n "${CAMPAIGN_FAULTS:-}" ] && args+=(--faults "$CAMPAIGN_FAULTS")
  nice -n 10 "$bin" "${args[@]}" > "$out/seed-$seed-n$nodes.out" 2>&1
  rc=$?
  echo "$rc" > "$out/seed-$seed-n$nodes.rc"
  echo "== chaos-campaign: seed $seed, $nodes nodes, lane $lane: exit $rc ($(date -u +%T))"
  grep -E '^swf-chaos:|^operations:|^faults:|^ANOMALY' "$out/seed-$seed-n$nodes.out" | head -8
  # Each run's work dir keeps only logs; drop them for passing runs to save disk.
  [ "$rc" -eq 0 ] && rm -rf "$out/seed-$seed-n$nodes-work" "$out/seed-$seed-n$nodes-ops.jsonl"
}

# Results of earlier campaigns with these seeds would be counted again.
for ((k = 0; k < n; k++)); do rm -f "$out"/seed-"$((first + k))"-n*.{rc,json}; done

# Lane L of the machine runs seeds k with k % lanes == L - 1, one after the other (lane 0 is left to
# scripts/chaos.sh).
for ((lane = 1; lane <= lanes; lane++)); do
  (
    for ((k = lane - 1; k < n; k += lanes)); do
      seed=$((first + k))
      nodes="${CAMPAIGN_NODES:-$(( k % 2 == 0 ? 3 : 5 ))}"
      echo "== chaos-campaign: run $((k + 1))/$n: seed $seed, $nodes nodes, lane $lane ($(date -u +%T))"
      one_run "$seed" "$nodes" "$lane"
    done
  ) &
done
wait
failed=0
for ((k = 0; k < n; k++)); do
  seed=$((first + k))
  for rcf in "$out"/seed-"$seed"-n*.rc; do
    [ "$(cat "$rcf" 2>/dev/null || echo 1)" -eq 0 ] || failed=$((failed + 1))
  done
done

python3 - "$out" "$first" "$n" <<'PY' | tee "$out/summary.md"
import json, os, sys, glob
out, first, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows, total_ok, kinds_all = [], 0, {}
print("| seed | nodes | result | calls | calls ÷ duration (liveness wait included) | workflows | faults applied (by kind) | anomalies |")
print("|---|---|---|---|---|---|---|---|")
for seed in range(first, first + n):
    for path in sorted(glob.glob(f"{out}/seed-{seed}-n*.json")):
        r = json.load(open(path))
        ops = r["operations"]["total"]
        dur = r["duration_secs"]
        kinds = r["faults"]["by_kind"]
        for k, v in kinds.items():
            kinds_all[k] = kinds_all.get(k, 0) + v["applied"]
        applied = ", ".join(f"{k} {v['applied']}" for k, v in sorted(kinds.items()))
        bad = {name: c["violations"] for name, c in r["invariants"].items() if c["violations"]}
        total_ok += r["ok"]
        print(f"| {seed} | {r['nodes']} | {'ok' if r['ok'] else '**ANOMALY**'} | {ops} | {ops / max(dur, 1):.0f} | {r['workflows']} | {applied} | {bad or '-'} |")
print()
print(f"{total_ok} of {n} runs ok; faults applied in all: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds_all.items())))
PY
echo "chaos-campaign: $failed of $n runs not ok; summary: $out/summary.md"
[ "$failed" -eq 0 ]
