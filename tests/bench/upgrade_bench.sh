#!/usr/bin/env bash
# `revfs upgrade` of a format-2 store with a real history, medians of RUNS:
#   the last REVISIONS first-parent commits of this repository (`git archive
#   | tar -x` per commit) are committed by the format-2 program; the store
#   is then upgraded in place, verified, and the last tree, unpacked again
#   (every file new to stat), committed once more.
# Reported: the upgrade's time against copying the store's files (`cp -r`,
# what any conversion that rewrites the store costs at least); what that
# commit after the upgrade adds (format 2's chunks are not found by SHA-256,
# so its files are stored again) against the same commit on a store that
# was format 3 from the start and against the tree's size; verify's time.
# Not part of tests/run.sh.
#
#   FORMAT2_REVFS=BINARY [REVFS=BINARY] tests/bench/upgrade_bench.sh [RUNS=3] [REVISIONS=50]
#   FORMAT2_REVFS: `revfs` built from commit e8fab87, the last format-2
#   program (tests/fixtures/format2/make.sh says how).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
. tests/bench/lib.sh
runs=${1:-3}
revisions=${2:-50}
old=${FORMAT2_REVFS:?set FORMAT2_REVFS to a format-2 revfs binary}
if [[ -n ${REVFS:-} ]]; then
  revfs=$REVFS
else
  build_bench "$root" revfs
  revfs=$root/build/bench/mount/revfs
fi
work=$(mktemp -d /tmp/revfs-upgrade-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
ms() { echo $(($(date +%s%N) / 1000000)); }
size_of() { du -sb "$1" | cut -f1; }

mapfile -t commits < <(git -c safe.directory="*" -C "$root" log --first-parent -n "$revisions" --format=%H | tac)
n=${#commits[@]}
for ((k = 1; k <= n; k++)); do
  mkdir -p "$work/trees/$k"
  git -c safe.directory="*" -C "$root" archive "${commits[k - 1]}" | tar -x -C "$work/trees/$k"
done
mkdir -p "$work/again" && git -c safe.directory="*" -C "$root" archive "${commits[n - 1]}" | tar -x -C "$work/again"

declare -A t=() sz=()
add() { t[$1]="${t[$1]:-} $2"; }
for ((run = 1; run <= runs; run++)); do
  echo "== run $run/$runs: $n revisions" >&2
  rm -rf "$work/s" && mkdir -p "$work/s"
  "$old" init "$work/s/f2" >/dev/null
  "$revfs" init "$work/s/f3" >/dev/null
  for ((k = 1; k <= n; k++)); do
    "$old" commit "$work/s/f2" "$work/trees/$k" -m "r$k" >/dev/null
    "$revfs" commit "$work/s/f3" "$work/trees/$k" -m "r$k" >/dev/null
  done
  sz[store]=$(size_of "$work/s/f2")
  sync
  a=$(ms); cp -r "$work/s/f2" "$work/s/copy"; sync; add copy $(($(ms) - a))
  a=$(ms); "$revfs" upgrade "$work/s/f2" > "$work/upgrade.out"; add upgrade $(($(ms) - a))
  a=$(ms); "$revfs" verify "$work/s/f2" >/dev/null; add verify $(($(ms) - a))
  before=$(size_of "$work/s/f2")
  a=$(ms); "$revfs" commit "$work/s/f2" "$work/again" >/dev/null; add commit_upgraded $(($(ms) - a))
  sz[grew_upgraded]=$(($(size_of "$work/s/f2") - before))
  before=$(size_of "$work/s/f3")
  a=$(ms); "$revfs" commit "$work/s/f3" "$work/again" >/dev/null; add commit_fresh $(($(ms) - a))
  sz[grew_fresh]=$(($(size_of "$work/s/f3") - before))
  "$revfs" verify "$work/s/f2" >/dev/null
done
sz[tree]=$(size_of "$work/again")

med() { median ${t[$1]}; }
out=tests/bench/results/upgrade.md
mkdir -p tests/bench/results
{
  echo "# Upgrade of a format-2 store ($n revisions of this repository's history)"
  echo
  measured_on "$root"
  echo "tests/bench/upgrade_bench.sh $runs $revisions; medians of $runs runs; sizes from the last run (du -sb)."
  sed "s|$work/s/f2|STORE|" "$work/upgrade.out"
  echo
  echo "| | ms | ratio |"
  echo "|---|---|---|"
  echo "| revfs upgrade ($(fmt_mib "${sz[store]}") MiB store) | $(med upgrade) | $(ratio "$(med upgrade)" "$(med copy)") x cp -r of the store |"
  echo "| cp -r of the store + sync | $(med copy) | 1.00 |"
  echo "| revfs verify after it | $(med verify) | |"
  echo "| commit of the last tree again, upgraded store | $(med commit_upgraded) | $(ratio "$(med commit_upgraded)" "$(med commit_fresh)") x on a format-3 store |"
  echo "| the same commit on a store format 3 from the start | $(med commit_fresh) | 1.00 |"
  echo
  echo "That commit added $(fmt_mib "${sz[grew_upgraded]}") MiB to the upgraded store"
  echo "($(ratio "${sz[grew_upgraded]}" "${sz[tree]}") x the tree's $(fmt_mib "${sz[tree]}") MiB) and"
  echo "$(fmt_mib "${sz[grew_fresh]}") MiB to the format-3 one: format 2's chunks are not found by"
  echo "SHA-256, so each file read again is stored anew, as a delta against its previous"
  echo "version's chunk where that is close (here: the same bytes)."
} > "$out"
cat "$out"
