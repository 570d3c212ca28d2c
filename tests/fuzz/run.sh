#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 (ASan+UBSan), or takes them from
# BUILD_DIR (configured with -DREVFS_FUZZ=ON, as tests/run.sh's ASan pass is),
# and runs each for a bounded time from the seed corpus in tests/fuzz/corpus/ (the corpus in the
# repository is not modified). Inputs once found to crash are kept in
# tests/fuzz/regressions/<target>/ and replayed first. Exits non-zero on any
# crash, leak or sanitizer report; a crashing input is left in build/fuzz/crashes/.
#   tests/fuzz/run.sh [SECONDS_PER_TARGET=60] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
seconds=${1:-60}
build=${2:-}
if [[ -z $build ]]; then
  build=build/fuzz
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DREVFS_FUZZ=ON \
    -DREVFS_BUILD_TESTS=OFF -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 >/dev/null
fi
cmake --build "$build" -j "$(nproc)" --target fuzz_page fuzz_combine fuzz_record fuzz_superblock
mkdir -p build/fuzz/crashes
total=0
for target in fuzz_page fuzz_combine fuzz_record fuzz_superblock; do
  bin=$build/tests/fuzz/$target
  if [[ -d tests/fuzz/regressions/$target ]] && ls tests/fuzz/regressions/$target/* >/dev/null 2>&1; then
    "$bin" tests/fuzz/regressions/$target/*
  fi
  work=$(mktemp -d)
  log=$build/$target.log
  if ! "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
      -artifact_prefix="build/fuzz/crashes/$target-" "$work" "tests/fuzz/corpus/$target" >"$log" 2>&1; then
    tail -40 "$log"
    echo "=== $target: crashed; the input is in build/fuzz/crashes/" >&2
    rm -rf "$work"
    exit 1
  fi
  runs=$(grep -o 'Done [0-9]* runs' "$log" | grep -o '[0-9]*' || echo 0)
  total=$((total + runs))
  echo "=== $target: $runs executions in ${seconds}s, no crash"
  rm -rf "$work"
done
echo "=== fuzzing: $total executions over 4 targets, no crash"
