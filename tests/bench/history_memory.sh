#!/usr/bin/env bash
# History memory benchmark: listing every version of one file when there
# are SMALL and BIG of them (a one-file tree committed N times, each commit
# changing it; the stores in /dev/shm, so that making 100,000 revisions is
# not bound by fsync). Each listing runs in a fresh process
# (history_versions list): its time, and how much it raised the process's
# peak RSS over the opened store, for the engine's ListVersions (what
# `revfs log` runs) and for the mount's readdir of history/f in requests of
# 100 entries (a getdents buffer), with the daemon's caches and with small
# ones. Streaming shows as a growth bounded by the caches, not by the
# number of versions. Medians of RUNS.
#
#   tests/bench/history_memory.sh [BIG=100000] [SMALL=100] [RUNS=3]
# HISTORY_VERSIONS=path/to/history_versions uses an existing binary.
set -euo pipefail
. "$(dirname "$0")/lib.sh"  # the helpers shared by the benchmark scripts
cd "$(dirname "$0")/../.."
root=$(pwd)
big=${1:-100000}
small=${2:-100}
runs=${3:-3}

if [[ -z ${HISTORY_VERSIONS:-} ]]; then build_bench "$root" history_versions; fi
bin=${HISTORY_VERSIONS:-$root/build/bench/tests/bench/history_versions}
work=$(mktemp -d /dev/shm/revfs-history-versions.XXXXXX)
trap 'rm -rf "$work"' EXIT

small_cache=4  # MiB for each of the three caches: 12 MiB in all

# cell N WHAT [CACHE_MIB]: "ms / KiB", medians of RUNS fresh processes.
cell() {
  local n=$1 times=() growths=() seen ms kib
  for _ in $(seq 1 "$runs"); do
    read -r _ seen _ ms _ kib <<< "$("$bin" list "$work/h$n" "$2" ${3:-})"
    if [[ $seen != "$n" ]]; then echo "$2 of $n revisions saw $seen versions" >&2; exit 1; fi
    times+=("$ms")
    growths+=("$kib")
  done
  echo "$(median "${times[@]}") ms / $(median "${growths[@]}") KiB"
}

declare -A row
for n in "$small" "$big"; do
  a=$(date +%s%N)
  "$bin" make "$work/h$n" "$n"
  b=$(date +%s%N)
  make_s=$(awk -v t=$((b - a)) 'BEGIN { printf "%.1f", t / 1e9 }')
  row[$n]="| $n | $make_s | $(cell "$n" log) | $(cell "$n" readdir) |"
  row[$n]+=" $(cell "$n" log "$small_cache") | $(cell "$n" readdir "$small_cache") |"
  rm -rf "$work/h$n"
done

out=tests/bench/results/history_memory.md
{
  echo "## Listing the versions of one file: $small and $big versions"
  echo
  echo "\`tests/bench/history_memory.sh $big $small $runs\` ($(measured_on "$root"))"
  echo
  echo "Medians of $runs fresh processes each: the listing's time / how much it raised"
  echo "the process's peak RSS over the opened store (getrusage). Caches: the daemon's"
  echo "(fragments 32, pages 64, chunks 64 MiB), or $small_cache MiB each."
  echo
  echo "| versions | making them (s) | ListVersions | history/ readdir | ListVersions, small caches | history/ readdir, small caches |"
  echo "|---:|---:|---:|---:|---:|---:|"
  echo "${row[$small]}"
  echo "${row[$big]}"
} | tee "$out"
