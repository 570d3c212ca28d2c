#!/usr/bin/env bash
# Mount benchmark: the same work on a revision through the revfs mount and on
# a native copy of that revision, in the same run, cold (page cache dropped,
# fresh mount) and warm; medians of RUNS runs, reported as ratios to native.
#   read-all   every file of revision 40 (find | xargs cat)
#   diff -r    revisions 10 and 40 (30 commits apart; 990 of 1,600 files differ)
#   diff -r 3  revisions 37 and 40 (3 commits apart: what diff costs when
#              little changed)
#   grep -r    a word through revision 40
#   seq 1 GiB  one 1 GiB random file, sequentially (cat)
# Needs root (drop_caches) and /dev/fuse.
#   tests/bench/mount_bench.sh [RUNS=3]
# INIT_ARGS (e.g. "--window 8") go to `revfs init`, MOUNT_OPTS (e.g.
# "readdirplus=all") to `revfs mount -o`.
set -euo pipefail
. "$(dirname "$0")/lib.sh"  # the helpers shared by the benchmark scripts
cd "$(dirname "$0")/../.."
root=$(pwd)
runs=${1:-3}

tests/install_deps.sh
build_bench "$root" revfs history_gen
revfs=$root/build/bench/mount/revfs
gen=$root/build/bench/tests/bench/history_gen

work=$(mktemp -d /tmp/revfs-mbench.XXXXXX)
mnt=$work/mnt
trap 'fusermount3 -u "$mnt" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$mnt" "$work/native"
echo "building a 50-revision history and a 1 GiB file ..." >&2
"$gen" "$work/src" 7 0
# shellcheck disable=SC2086
"$revfs" init "$work/store" ${INIT_ARGS:-} >/dev/null
for i in $(seq 0 49); do
  ((i > 0)) && "$gen" "$work/src" 7 "$i"
  "$revfs" commit "$work/store" "$work/src" >/dev/null
  ((i == 9)) && cp -a "$work/src" "$work/native/r10"
  ((i == 36)) && cp -a "$work/src" "$work/native/r37"
  ((i == 39)) && cp -a "$work/src" "$work/native/r40"
done
mkdir -p "$work/big"
head -c $((1 << 30)) /dev/urandom > "$work/big/file"
"$revfs" commit "$work/store" "$work/big" >/dev/null   # revision 51

remount() {
  fusermount3 -u "$mnt" 2>/dev/null || true
  "$revfs" mount ${MOUNT_OPTS:+-o "$MOUNT_OPTS"} "$work/store" "$mnt" || { echo "mount failed" >&2; exit 1; }
}
# time_ms WANT CMD...: runs CMD, prints its wall time in ms; a CMD that
# exits other than WANT stops the benchmark (a command failing fast must
# never be timed as fast).
time_ms() {
  local want=$1 a b rc=0
  shift
  a=$(date +%s%N)
  "$@" >/dev/null 2>"$work/time.err" || rc=$?
  b=$(date +%s%N)
  if ((rc != want)); then
    echo "$*: exit $rc, expected $want: $(head -c 300 "$work/time.err")" >&2
    exit 1
  fi
  echo $(( (b - a) / 1000000 ))
}
seq_read() { cat "$1" > /dev/null; }

declare -A t
run_case() {  # name mode(cold|warm) want native-cmd... -- revfs-cmd...
  local name=$1 mode=$2 want=$3; shift 3
  local native=() fs=()
  while [[ $1 != -- ]]; do native+=("$1"); shift; done; shift; fs=("$@")
  for r in $(seq 1 "$runs"); do
    if [[ $mode == cold ]]; then drop; fi
    t[$name,$mode,native,$r]=$(time_ms "$want" "${native[@]}")
    if [[ $mode == cold ]]; then drop; remount; fi
    t[$name,$mode,revfs,$r]=$(time_ms "$want" "${fs[@]}")
  done
}

remount
# The bytes first: what is timed through the mount must be what it stands
# for, else a ratio compares unequal work.
for r in 10 37 40; do
  diff -r "$mnt/revisions/$r" "$work/native/r$r" > /dev/null ||
    { echo "revision $r through the mount differs from its copy" >&2; exit 1; }
done
cmp "$mnt/revisions/51/file" "$work/big/file" || { echo "the 1 GiB file differs" >&2; exit 1; }
for mode in cold warm; do
  [[ $mode == warm ]] && remount && read_all "$mnt/revisions/40" && read_all "$mnt/revisions/10" \
    && read_all "$mnt/revisions/37" && read_all "$work/native/r37" \
    && seq_read "$mnt/revisions/51/file" && read_all "$work/native/r40" && read_all "$work/native/r10" \
    && seq_read "$work/big/file"
  run_case read-all "$mode" 0 read_all "$work/native/r40" -- read_all "$mnt/revisions/40"
  run_case diff-r "$mode" 1 diff_r "$work/native/r10" "$work/native/r40" -- \
    diff_r "$mnt/revisions/10" "$mnt/revisions/40"
  run_case diff-r-3 "$mode" 1 diff_r "$work/native/r37" "$work/native/r40" -- \
    diff_r "$mnt/revisions/37" "$mnt/revisions/40"
  run_case grep-r "$mode" 0 grep_r "$work/native/r40" -- grep_r "$mnt/revisions/40"
  run_case seq-1GiB "$mode" 0 seq_read "$work/big/file" -- seq_read "$mnt/revisions/51/file"
done
# Requests the kernel sent for one cold diff -r on a fresh mount (what
# directory read-ahead and shared st_ino save).
drop; remount
before=$(cat "$mnt/.revfs/stats")
diff_r "$mnt/revisions/10" "$mnt/revisions/40" || true
after=$(cat "$mnt/.revfs/stats")
diff_reads=$(( $(op_count "$after" read) - $(op_count "$before" read) - 1 ))  # less the stats read
diff_readdirs=$(( $(op_count "$after" readdir) - $(op_count "$before" readdir) ))
stats=$after
pid=$(pgrep -f "[r]evfs mount .*$work/store" | head -1)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")

out=tests/bench/results/mount.md
{
  echo "# Mount benchmark"
  echo
  measured_on "$root"
  echo "$(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r); a 50-revision generated source"
  echo "history (1,600 files, 22 MB per revision) and a 1 GiB random file; medians of"
  echo "$runs runs. Cold: page cache dropped and a fresh mount before each revfs run."
  echo "Command: \`${MOUNT_OPTS:+MOUNT_OPTS=$MOUNT_OPTS }tests/bench/mount_bench.sh $runs\`"
  echo
  echo "| work | mode | native ms | revfs ms | revfs ÷ native |"
  echo "|---|---|---:|---:|---:|"
  for name in read-all diff-r diff-r-3 grep-r seq-1GiB; do
    for mode in cold warm; do
      n=() f=()
      for r in $(seq 1 "$runs"); do n+=("${t[$name,$mode,native,$r]}"); f+=("${t[$name,$mode,revfs,$r]}"); done
      mn=$(median "${n[@]}"); mf=$(median "${f[@]}")
      echo "| $name | $mode | $mn | $mf | $(ratio "$mf" "$mn") |"
    done
  done
  echo
  echo "Daemon RSS after the run: $((rss / 1024)) MiB (default cache_size=256M)."
  echo
  echo "A cold \`diff -r\` of revisions 10 and 40 on a fresh mount sent $diff_reads read and"
  echo "$diff_readdirs readdir requests to the daemon."
} > "$out"
cat "$out"
