#!/usr/bin/env bash
# Fuzzing (docs/security.md, "Fuzzing"): builds the libFuzzer targets in fuzz/ on the stable toolchain
# (cargo-fuzz's flags by hand, so `cargo fuzz` and nightly are not needed), replays the committed
# corpus of each target, then fuzzes each for a short smoke run.
#
#   scripts/fuzz.sh                 replay + 10 s per target
#   FUZZ_SECS=20 scripts/fuzz.sh    what CI runs (.ci/run, after the tests): replay + 20 s per target
#   FUZZ_SECS=600 scripts/fuzz.sh   longer runs, by wall-clock time (new inputs go to fuzz/corpus-new/<target>)
#   scripts/fuzz.sh h1_head tokens  only these targets
#   FUZZ_CPU_SECS=3600 scripts/fuzz.sh [targets]
#                                   a long campaign per target, by CPU time: each target fuzzes until
#                                   its process has used that many CPU-seconds (user + system, read
#                                   from /proc; time spent waiting for a core on a busy machine does
#                                   not count), resuming from fuzz/corpus/<target> and whatever earlier
#                                   campaigns left in fuzz/corpus-new/<target>; then a row is appended
#                                   to the "Long campaigns" table of docs/security.md. FUZZ_NICE=19
#                                   (the default) runs it at low priority. The full log is kept in
#                                   fuzz/logs/.
#
# A crash leaves its input in fuzz/artifacts/<target>/; reproduce with
#   fuzz/target/x86_64-unknown-linux-gnu/release/<target> fuzz/artifacts/<target>/crash-...
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

# The host's own triple (x86_64-unknown-linux-gnu here): built for it explicitly, see RUSTFLAGS below.
TARGET_TRIPLE=$(rustc -vV | sed -n 's/^host: //p')
SECS=${FUZZ_SECS:-10}
CPU_SECS=${FUZZ_CPU_SECS:-}
NICE=${FUZZ_NICE:-19}

# A campaign must stay out of the way of a build or a benchmark beside it, and `nice` alone does not
# do that: with the kernel's autogroup scheduling (Debian's default) it ranks processes only within
# one session's group, and even a group at nice 19 keeps a CPU until a slice ends before a woken
# server thread gets it (on a 2-core machine, one observation: beside two campaigns at nice 19 one
# node's peak was 345 workflows/s, in the next round of the same benchmark with them idle-class 765;
# docs/benchmarks.md, session 20).
# A cgroup with cpu.idle = 1 is scheduled like SCHED_IDLE: it gets only a CPU nobody else wants.
# Made where the cpu controller can be written (cgroup v1's cpu hierarchy, or v2's root with cpu in
# its subtree_control, as root); elsewhere only the nice value applies.
idle_cgroup() {
  local g
  for g in /sys/fs/cgroup/cpu/swf-fuzz /sys/fs/cgroup/swf-fuzz; do
    [ -w "$(dirname "$g")" ] || continue
    { [ -d "$g" ] || mkdir "$g"; } 2>/dev/null || continue
    if echo 1 >"$g/cpu.idle" 2>/dev/null; then
      echo "$g"
      return
    fi
  done
}
IDLE_CGROUP=
[ -n "$CPU_SECS" ] && IDLE_CGROUP=$(idle_cgroup)
ALL=(h1_head h1_chunked h1_conn request_validation decisions tokens sfn_definition sigv4 policy)
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=("${ALL[@]}")

# What `cargo fuzz build` passes (sanitizer coverage for libFuzzer, the `fuzzing` cfg). An explicit
# --target keeps these flags away from build scripts and proc macros. No address sanitizer: that
# needs nightly, and the code under test has no `unsafe` (workspace lint `unsafe_code = "forbid"`).
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing"
cargo build --release --target "$TARGET_TRIPLE" $(printf -- '--bin %s ' "${TARGETS[@]}")

BIN=target/$TARGET_TRIPLE/release
DOC=../docs/security.md
TICKS=$(getconf CLK_TCK)

# CPU-seconds used so far by process $1 (user + system).
cpu_secs() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo -1; return; }
  # Fields after the command name (which may hold spaces): utime is the 12th, stime the 13th.
  set -- ${stat##*) }
  echo $(( (${12} + ${13}) / TICKS ))
}

# A long campaign of target $1, stopped at $CPU_SECS CPU-seconds; appends a row to $DOC.
campaign() {
  local t=$1 log pid used=0 start end status findings execs cov
  mkdir -p logs
  log="logs/$t-$(date -u +%Y%m%dT%H%M%SZ).log"
  start=$(date +%s)
  dict=()
  [ -f "dict/$t.dict" ] && dict=(-dict="dict/$t.dict")
  echo "== $t: campaign of ${CPU_SECS} CPU-seconds (log: fuzz/$log)"
  # Out of the way of builds and benchmarks beside it (see idle_cgroup): in a session of its own
  # whose autogroup gets the nice value too, and in the idle cgroup where there is one.
  setsid sh -c 'echo "$0" >/proc/self/autogroup 2>/dev/null; exec nice -n "$0" "$@"' "$NICE" \
    "$BIN/$t" -max_len=8192 -timeout=10 -rss_limit_mb=1024 \
    -artifact_prefix="artifacts/$t/" -print_final_stats=1 "${dict[@]}" \
    "corpus-new/$t" "corpus/$t" >"$log" 2>&1 &
  pid=$!
  # (Best effort: a refused move leaves it at the nice value, and must not end the script under set -e.)
  if [ -n "$IDLE_CGROUP" ]; then echo "$pid" >"$IDLE_CGROUP/cgroup.procs" 2>/dev/null || true; fi
  while kill -0 "$pid" 2>/dev/null; do
    used=$(cpu_secs "$pid")
    if [ "$used" -ge "$CPU_SECS" ]; then
      kill -INT "$pid" 2>/dev/null || true
      break
    fi
    sleep 5
  done
  status=0
  wait "$pid" || status=$?
  end=$(date +%s)
  # libFuzzer's -timeout is wall-clock time: at nice 19 beside a build, one input can wait many
  # seconds for a core. A timeout input that runs well within the limit when replayed alone was
  # starved, not slow: it is kept aside in artifacts/<target>/starved/ and not counted.
  local f
  for f in $(find "artifacts/$t" -maxdepth 1 -type f -name 'timeout-*'); do
    if timeout 10 "$BIN/$t" -runs=3 "$f" >/dev/null 2>&1; then
      mkdir -p "artifacts/$t/starved"
      mv "$f" "artifacts/$t/starved/"
      echo "   $t: $(basename "$f") replays within the limit (starved for CPU, not a finding)"
    fi
  done
  findings=$(find "artifacts/$t" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  # The last status line: `#<executions> <event> cov: <edges> ...`.
  execs=$(grep -aE '^#[0-9]+' "$log" | tail -n 1 | sed -E 's/^#([0-9]+).*/\1/')
  cov=$(grep -aE '^#[0-9]+.*cov: [0-9]+' "$log" | tail -n 1 | sed -E 's/.*cov: ([0-9]+).*/\1/')
  echo "   $t: ${used} CPU-s, $((end - start)) s wall, ${execs:-?} executions, cov ${cov:-?}, findings ${findings} (exit ${status})"
  if [ -f "$DOC" ] && grep -q '^<!-- campaign-rows -->' "$DOC"; then
    local row
    row="| $(date -u +%Y-%m-%d) | \`$(git rev-parse --short HEAD 2>/dev/null || echo '?')\` | \`$t\` | ${used} | $((end - start)) | ${execs:-?} | ${cov:-?} | $(ls "corpus/$t" "corpus-new/$t" | wc -l) | ${findings} |"
    # Rows go just above the marker, so the table reads oldest first.
    awk -v row="$row" '/^<!-- campaign-rows -->/ { print row } { print }' "$DOC" >"$DOC.tmp" && mv "$DOC.tmp" "$DOC"
  fi
  [ "$findings" -eq 0 ]
}

if [ -n "$CPU_SECS" ]; then
  failed=0
  for t in "${TARGETS[@]}"; do
    mkdir -p "corpus/$t" "corpus-new/$t" "artifacts/$t"
    campaign "$t" || { echo "FAIL: $t left findings in fuzz/artifacts/$t" >&2; failed=1; }
  done
  exit $failed
fi

for t in "${TARGETS[@]}"; do
  mkdir -p "corpus/$t" "corpus-new/$t" "artifacts/$t"
  echo "== $t: replaying $(ls "corpus/$t" | wc -l) corpus inputs"
  "$BIN/$t" -runs=0 -artifact_prefix="artifacts/$t/" "corpus/$t" 2>&1 | tail -n 2
  echo "== $t: fuzzing ${SECS}s"
  dict=()
  [ -f "dict/$t.dict" ] && dict=(-dict="dict/$t.dict")
  # New inputs go to corpus-new/ (not committed); the committed corpus is read only.
  "$BIN/$t" -max_total_time="$SECS" -max_len=8192 -timeout=10 -rss_limit_mb=1024 \
    -artifact_prefix="artifacts/$t/" -print_final_stats=1 "${dict[@]}" \
    "corpus-new/$t" "corpus/$t" 2>&1 | grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+[[:space:]]+DONE|Done [0-9]+ runs)|ERROR|panicked|SUMMARY" || true
  if [ -n "$(find "artifacts/$t" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' \))" ]; then
    echo "FAIL: $t left findings in fuzz/artifacts/$t" >&2
    exit 1
  fi
done
echo "fuzz: all targets clean"
