#!/usr/bin/env bash
# Builds revfs and runs every test: once as built for users (RelWithDebInfo),
# once under AddressSanitizer + UndefinedBehaviorSanitizer, and the
# concurrency tests under ThreadSanitizer, then the libFuzzer targets for a
# bounded time each (FUZZ_SECONDS, default 45). Before the sanitizer passes,
# a clang build checks the locking annotations (-Wthread-safety, as errors)
# and runs nothing. Exits non-zero on any failure.
#
#   tests/run.sh            all passes
#   tests/run.sh --quick    the plain pass only
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

jobs=$(nproc)
quick=0
[[ ${1:-} == --quick ]] && quick=1
if ((quick == 0)); then
  tests/install_deps.sh clang-14 libclang-rt-14-dev
else
  tests/install_deps.sh
fi

# The rules no compiler checks (file sizes, layers, annotations, commit
# subjects): seconds, before anything is built.
tests/house_rules.sh

pass() {  # name, build dir, cmake args..., -- ctest args...
  local name=$1 dir=$2
  shift 2
  local cmake_args=() ctest_args=()
  while (($#)) && [[ $1 != -- ]]; do cmake_args+=("$1"); shift; done
  (($#)) && shift
  ctest_args=("$@")
  echo "=== $name: configure and build ($dir)"
  cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${cmake_args[@]}" >/dev/null
  cmake --build "$dir" -j "$jobs"
  echo "=== $name: test"
  local log=$dir/ctest.log rc=0
  (cd "$dir" && ctest --output-on-failure -j "$jobs" "${ctest_args[@]}") 2>&1 | tee "$log" || rc=$?
  # Whatever happened, no test may leave a mount behind.
  local left
  left=$(grep -E ' /tmp/revfs-[^ ]*' /proc/mounts || true)
  if [[ -n $left ]]; then
    echo "=== $name: mounts left behind by the tests:" >&2
    echo "$left" >&2
    exit 1
  fi
  ((rc == 0)) || exit "$rc"
  # Under CI a skipped test is a test that did not check anything: fail the
  # pass. ctest lists them as "<n> - <name> (Skipped)" after the summary.
  local skipped
  skipped=$(grep -cE '^[[:space:]]*[0-9]+ - .* \(Skipped\)$' "$log" || true)
  if [[ ${CI:-} == true ]] && ((skipped > 0)); then
    echo "=== $name: $skipped tests skipped under CI=true:" >&2
    grep -E ' \(Skipped\)$' "$log" >&2
    exit 1
  fi
}

pass "plain" build/plain
if ((quick == 0)); then
  # Compile only, unoptimized and without debug info to stay cheap: the
  # program and the engine and fusefs test binaries (a template's members,
  # SegmentCache's, are checked only where they are used, some only by those
  # tests); the CLI tests hold no locks and are left out.
  echo "=== clang thread-safety: build only (build/clang-check)"
  cmake -S "$root" -B build/clang-check -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O0 \
    -DCMAKE_CXX_COMPILER=clang++-14 -DREVFS_BUILD_BENCH=OFF -DREVFS_WERROR_THREAD_SAFETY=ON >/dev/null
  cmake --build build/clang-check -j "$jobs" --target revfs engine_tests fusefs_tests
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    pass "asan+ubsan" build/asan -DREVFS_SANITIZE=address -DREVFS_BUILD_BENCH=OFF
  TSAN_OPTIONS=halt_on_error=1 \
    pass "tsan" build/tsan -DREVFS_SANITIZE=thread -DREVFS_BUILD_BENCH=OFF -- -R 'Concurren|Thread|DirReadAhead|Parallel|Sigterm|MountDaemon'
  echo "=== fuzz"
  tests/fuzz/run.sh "${FUZZ_SECONDS:-45}"
fi
echo "=== all test passes succeeded"
