#!/usr/bin/env bash
# Builds revfs and runs every test: the system tests against the build
# users get (RelWithDebInfo), the unit tests under AddressSanitizer +
# UndefinedBehaviorSanitizer (clang; the same build checks the locking
# annotations and holds the libFuzzer targets), the concurrency unit tests
# under ThreadSanitizer, then the libFuzzer targets for a bounded time each
# (FUZZ_SECONDS, default 45). Exits non-zero on any failure.
#
#   tests/run.sh            all passes
#   tests/run.sh --quick    every test, plain build only
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
  # $targets (when set) limits the build to what the pass runs.
  # shellcheck disable=SC2086
  cmake --build "$dir" -j "$jobs" ${targets:+--target $targets}
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

if ((quick == 1)); then
  pass "plain" build/plain -DREVFS_TESTS=all -DREVFS_BUILD_BENCH=ON
  echo "=== all test passes succeeded"
  exit 0
fi
# Every test runs once, where it finds the most: the system tests (the
# revfs binary as users run it: command-line and mount tests, the SIGKILL
# loops, the corruption campaign, the soak) against the plain build; the
# unit tests (engine_tests, fusefs_tests, in process) built by clang under
# ASan+UBSan, a build that also checks the locking annotations
# (-Wthread-safety as errors) and holds the libFuzzer targets; the
# concurrency unit tests again under TSan (the in-process ones: the
# daemon's own, in cli/, run against the plain build only; the benchmarks
# are built by --quick and by tests/bench/). The sanitizer builds are -O1
# with line tables only (stack traces keep their lines, the build is
# cheaper), and each builds only what it runs.
targets="" pass "plain (system tests)" build/plain -DREVFS_TESTS=system -DREVFS_BUILD_BENCH=OFF
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  targets="engine_tests fusefs_tests fuzz_page fuzz_combine fuzz_record fuzz_superblock" \
  pass "asan+ubsan (unit tests; clang, thread-safety checked)" build/asan -DREVFS_TESTS=unit \
  -DREVFS_SANITIZE=address -DREVFS_FUZZ=ON -DREVFS_BUILD_BENCH=OFF -DREVFS_WERROR_THREAD_SAFETY=ON \
  -DCMAKE_CXX_COMPILER=clang++-14 "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only"
TSAN_OPTIONS=halt_on_error=1 targets="engine_tests fusefs_tests" \
  pass "tsan (concurrency unit tests)" build/tsan -DREVFS_TESTS=unit -DREVFS_SANITIZE=thread \
  -DREVFS_BUILD_BENCH=OFF "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" \
  -- -R 'Concurren|Thread|DirReadAhead|Parallel'
echo "=== fuzz"
tests/fuzz/run.sh "${FUZZ_SECONDS:-45}" build/asan
echo "=== all test passes succeeded"
