#!/usr/bin/env bash
# Measures a rolling restart under load (issue 18): starts a local 3-node cluster (ports 7850..7872),
# runs swf-bench against all three nodes, restarts every node with scripts/rolling-restart.sh while it
# runs, and reports swf-bench's errors (zero expected) with the p99 of the seconds of the roll.
#   SWFD_BIN=target/release/swfd BENCH_BIN=target/release/swf-bench scripts/rolling-restart-check.sh
# OLD_BIN=path starts the cluster on that (older) binary and restarts each node on SWFD_BIN: an upgrade,
# with a mixed-version cluster while it runs. DURATION (default 60) is swf-bench's measured seconds and
# CONCURRENCY (default 6) its drivers; OUT (default ./rolling-restart-out) keeps logs and the report.
set -euo pipefail
cd "$(dirname "$0")/.."
new_bin="$(realpath "${SWFD_BIN:-target/release/swfd}")"
old_bin="$(realpath "${OLD_BIN:-$new_bin}")"
bench="$(realpath "${BENCH_BIN:-target/release/swf-bench}")"
duration="${DURATION:-60}"
concurrency="${CONCURRENCY:-6}"
out="$(realpath -m "${OUT:-rolling-restart-out}")"
rm -rf "$out"
mkdir -p "$out"
token="$out/admin-token"
(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$token" && echo >>"$token")
members="1=127.0.0.1:7851,2=127.0.0.1:7861,3=127.0.0.1:7871"

# One node: its flags in node$N/args, its pid in node$N/pid; start.sh N BIN starts it in the background.
cat >"$out/start.sh" <<EOF
#!/usr/bin/env bash
set -eu
n=\$1; bin=\$2; dir="$out/node\$n"; port=\$((7840 + 10 * n))
mkdir -p "\$dir/data"
echo "\$(date -u +%T) start \$bin" >>"\$dir/events"
nohup "\$bin" --node-id "\$n" --data-dir "\$dir/data" --http-addr "127.0.0.1:\$port" \\
  --grpc-addr "127.0.0.1:\$((port + 1))" --admin-addr "127.0.0.1:\$((port + 2))" \\
  --admin-token-file "$token" --initial-members "$members" \\
  >>"\$dir/stdout.log" 2>>"\$dir/swfd.log" </dev/null &
echo \$! >"\$dir/pid"
EOF
# restart.sh N: SIGTERM (swfd drains in-flight calls), wait for the exit, start on the new binary.
cat >"$out/restart.sh" <<EOF
#!/usr/bin/env bash
set -eu
n=\$1; dir="$out/node\$n"; pid=\$(cat "\$dir/pid")
echo "\$(date -u +%T) stop" >>"\$dir/events"
kill -TERM "\$pid"
while kill -0 "\$pid" 2>/dev/null; do sleep 0.1; done
bash "$out/start.sh" "\$n" "$new_bin"
EOF
chmod +x "$out/start.sh" "$out/restart.sh"

cleanup() {
  for n in 1 2 3; do
    [ -f "$out/node$n/pid" ] && kill -TERM "$(cat "$out/node$n/pid")" 2>/dev/null || true
  done
  [ -n "${bench_pid:-}" ] && kill "$bench_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

for n in 1 2 3; do bash "$out/start.sh" "$n" "$old_bin"; done
for port in 7852 7862 7872; do
  until curl -sf "http://127.0.0.1:$port/ready" >/dev/null 2>&1; do sleep 0.2; done
done
echo "cluster up on $old_bin" >&2

bench_t0=$(date +%s)
"$bench" --endpoint http://127.0.0.1:7850,http://127.0.0.1:7860,http://127.0.0.1:7870 \
  --concurrency "$concurrency" --duration "$duration" --warmup 3 --call-timeout 30 \
  --report "$out/bench.json" --label "rolling restart" 2>"$out/bench.log" &
bench_pid=$!
sleep 8
roll_start=$(date +%s)
bash scripts/rolling-restart.sh --token-file "$token" --restart "bash $out/restart.sh {id}" \
  http://127.0.0.1:7852 http://127.0.0.1:7862 http://127.0.0.1:7872 2>&1 | tee "$out/roll.log" >&2
roll_end=$(date +%s)
wait "$bench_pid"
bench_pid=""

# The seconds of the roll in swf-bench's timeline: tick t covers [t0 + warm-up + t - 1, t0 + warm-up + t).
first=$((roll_start - bench_t0 - 3))
last=$((roll_end - bench_t0 - 3 + 1))
jq --argjson first "$first" --argjson last "$last" '
  [.timeline[] | select(.t >= $first and .t <= $last)] as $roll
  | {errors, errors_by_kind, retries, max_attempts, workflows, workflows_per_sec: (.workflows_per_sec|floor),
     p50_ms_overall: .latency_ms.p50, p99_ms_overall: .latency_ms.p99,
     roll_ticks: [$first, $last],
     roll_worst_second_p99_ms: ([$roll[].p99_ms] | max),
     roll_median_second_p99_ms: ([$roll[].p99_ms] | sort | .[length / 2 | floor]),
     roll_seconds_without_calls: ([$roll[] | select(.calls == 0)] | length)}' \
  "$out/bench.json" | tee "$out/summary.json"
echo "roll: $(grep -c 'restarting node' "$out/roll.log") nodes restarted in $((roll_end - roll_start)) s" >&2
errors=$(jq .errors "$out/bench.json")
[ "$errors" = 0 ] || { echo "FAILED: $errors failed calls during the roll" >&2; exit 1; }
echo "OK: zero failed calls" >&2
