#!/usr/bin/env bash
# A/B of two revfs binaries on one store: cold read-all and grep -r of
# revision 40 and diff -r of revisions 10 and 40 (the mount benchmark's
# history), alternating A and B each run, with the requests each sent.
# Used to tell a regression from the machine's noise. Needs root.
#   tests/bench/ab_bench.sh REVFS_A REVFS_B HISTORY_GEN [RUNS=5]
# (HISTORY_GEN: build/bench/tests/bench/history_gen; an older revfs: build
# it from a worktree of that commit.)
set -euo pipefail
. "$(dirname "$0")/lib.sh"  # the helpers shared by the benchmark scripts
a=$1 b=$2 gen=$3 runs=${4:-5}
work=$(mktemp -d /tmp/revfs-ab.XXXXXX)
mnt=$work/mnt
mkdir -p "$mnt"
trap 'fusermount3 -u "$mnt" 2>/dev/null || true; rm -rf "$work"' EXIT
"$gen" "$work/src" 7 0
"$a" init "$work/store" >/dev/null
for i in $(seq 0 49); do
  ((i > 0)) && "$gen" "$work/src" 7 "$i"
  "$a" commit "$work/store" "$work/src" >/dev/null
done
ms() {
  local t0 t1
  t0=$(date +%s%N)
  "$@" > /dev/null 2>&1 || true
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000000))
}
for r in $(seq 1 "$runs"); do
  for which in A B; do
    bin=$a
    [[ $which == B ]] && bin=$b
    for w in read_all grep_r diff_r; do
      drop
      "$bin" mount "$work/store" "$mnt"
      if [[ $w == diff_r ]]; then
        t=$(ms diff_r "$mnt/revisions/10" "$mnt/revisions/40")
      else
        t=$(ms "$w" "$mnt/revisions/40")
      fi
      stats=$(cat "$mnt/.revfs/stats")
      fusermount3 -u "$mnt"
      sleep 0.5
      echo "$which $w $t ms, $(op_count "$stats" read) reads, $(op_count "$stats" readdir) readdirs"
    done
  done
done
