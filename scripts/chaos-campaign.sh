#!/usr/bin/env bash
# Usage: scripts/chaos-campaign.sh N [FIRST_SEED]
# Runs N seeded swf-chaos runs back to back (seeds FIRST_SEED.., default 1; odd-numbered runs on 3
# nodes, even-numbered on 5), each with every fault kind, the workload at 5x (--intensity 5) and faults
# every few seconds (--fast-faults), then prints a summary table and writes it to
# target/chaos/campaign/summary.md. Runs niced (it shares the machine). Exits non-zero if any run
# found anomalies or failed. Override with CAMPAIGN_DURATION (s, default 60), CAMPAIGN_INTENSITY
# (default 5), CAMPAIGN_FAULTS (default: all), CAMPAIGN_NODES (3 or 5: all runs on that size).
# Needs root, as scripts/chaos.sh does; builds nothing (run `cargo test --workspace --no-run` first).
set -uo pipefail
cd "$(dirname "$0")/.."
n="${1:?usage: chaos-campaign.sh N [FIRST_SEED]}"
first="${2:-1}"
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
out="$target_dir/chaos/campaign"
mkdir -p "$out"
bin="$target_dir/debug/swf-chaos"
[ -x "$bin" ] || { echo "chaos-campaign: $bin not built (cargo test --workspace --no-run)" >&2; exit 2; }

failed=0
for ((k = 0; k < n; k++)); do
  seed=$((first + k))
  nodes="${CAMPAIGN_NODES:-$(( k % 2 == 0 ? 3 : 5 ))}"
  report="$out/seed-$seed-n$nodes.json"
  args=(--nodes "$nodes" --duration "${CAMPAIGN_DURATION:-60}" --seed "$seed" --report "$report"
        --intensity "${CAMPAIGN_INTENSITY:-5}" --fast-faults)
  [ -n "${CAMPAIGN_FAULTS:-}" ] && args+=(--faults "$CAMPAIGN_FAULTS")
  echo "== chaos-campaign: run $((k + 1))/$n: seed $seed, $nodes nodes ($(date -u +%T))"
  nice -n 10 "$bin" "${args[@]}" > "$out/seed-$seed-n$nodes.out" 2>&1
  rc=$?
  [ "$rc" -ne 0 ] && failed=$((failed + 1))
  grep -E '^swf-chaos:|^operations:|^faults:|^ANOMALY' "$out/seed-$seed-n$nodes.out" | head -8
  # Each run's work dir keeps only logs; drop them for passing runs to save disk.
  [ "$rc" -eq 0 ] && rm -rf "$out/seed-$seed-n$nodes-work" "$out/seed-$seed-n$nodes-ops.jsonl"
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
