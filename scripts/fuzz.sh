#!/usr/bin/env bash
# Fuzzing (docs/security.md, "Fuzzing"): builds the libFuzzer targets in fuzz/ on the stable toolchain
# (cargo-fuzz's flags by hand, so `cargo fuzz` and nightly are not needed), replays the committed
# corpus of each target, then fuzzes each for a short smoke run.
#
#   scripts/fuzz.sh                 replay + 10 s per target
#   FUZZ_SECS=600 scripts/fuzz.sh   longer campaigns (new inputs go to fuzz/corpus-new/<target>)
#   scripts/fuzz.sh h1_head tokens  only these targets
#
# A crash leaves its input in fuzz/artifacts/<target>/; reproduce with
#   fuzz/target/x86_64-unknown-linux-gnu/release/<target> fuzz/artifacts/<target>/crash-...
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

TARGET_TRIPLE=x86_64-unknown-linux-gnu
SECS=${FUZZ_SECS:-10}
ALL=(h1_head h1_chunked request_validation decisions tokens sfn_definition)
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
for t in "${TARGETS[@]}"; do
  mkdir -p "corpus/$t" "corpus-new/$t" "artifacts/$t"
  echo "== $t: replaying $(ls "corpus/$t" | wc -l) corpus inputs"
  "$BIN/$t" -runs=0 "corpus/$t" 2>&1 | tail -n 2
  echo "== $t: fuzzing ${SECS}s"
  dict=()
  [ -f "dict/$t.dict" ] && dict=(-dict="dict/$t.dict")
  # New inputs go to corpus-new/ (not committed); the committed corpus is read only.
  "$BIN/$t" -max_total_time="$SECS" -max_len=8192 -timeout=10 -rss_limit_mb=1024 \
    -artifact_prefix="artifacts/$t/" -print_final_stats=1 "${dict[@]}" \
    "corpus-new/$t" "corpus/$t" 2>&1 | grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+[[:space:]]+DONE|Done [0-9]+ runs)|ERROR|panicked|SUMMARY" || true
  if [ -n "$(find "artifacts/$t" -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' \))" ]; then
    echo "FAIL: $t left findings in fuzz/artifacts/$t" >&2
    exit 1
  fi
done
echo "fuzz: all targets clean"
