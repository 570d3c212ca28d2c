# Helpers shared by the benchmark scripts (run.sh, mount_bench.sh,
# capture_bench.sh, ab_bench.sh): cache dropping, medians, ratios, sizes,
# and the workloads the mount benchmarks time. Sourced, never run:
#   . "$(dirname "$0")/lib.sh"
# Each script keeps its own clock (run.sh: µs from EPOCHREALTIME; the others:
# date +%s%N), so its figures are measured as they always were.

# drop: writes dirty pages back and drops the page cache (needs root).
drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }

# median N...: the middle of the numbers (the lower middle of an even count);
# an empty line when there are none.
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]}'; }

# ratio A B: A ÷ B with two decimals; n/a when either is missing or B is not
# above 0.
ratio() { [[ -n ${1:-} && -n ${2:-} ]] || { echo n/a; return; }; awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# fmt_mib BYTES: BYTES in MiB with one decimal; n/a when missing.
fmt_mib() { [[ -n ${1:-} ]] || { echo n/a; return; }; awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

# The workloads timed on a tree, through a mount or natively.
read_all() { find "$1" -type f -print0 | xargs -0 cat > /dev/null; }
grep_r() { grep -r -c status42 "$1" > /dev/null; }
diff_r() { diff -r "$1" "$2" > /dev/null; }

# op_count JSON OP: the count of FUSE operation OP in the .revfs/stats JSON.
op_count() { sed -n "s/.*\"$2\":{\"count\":\([0-9]*\).*/\1/p" <<< "$1"; }

# measured_on ROOT: the line every results file opens with, naming the commit
# its revfs was built from (and whether engine/, fusefs/ or mount/ had
# uncommitted changes).
measured_on() {
  echo "Measured on commit $(git -C "$1" rev-parse --short HEAD)$(git -C "$1" diff --quiet HEAD -- engine fusefs mount || echo ' with uncommitted changes')."
}

# build_bench ROOT TARGET...: the Release build of ROOT in ROOT/build/bench
# that the benchmarks time, with only TARGETs built.
build_bench() {
  local root=$1
  shift
  cmake -S "$root" -B "$root/build/bench" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null &&
    cmake --build "$root/build/bench" -j "$(nproc)" --target "$@" >/dev/null
}
