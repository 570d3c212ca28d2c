#!/usr/bin/env bash
# History memory benchmark: listing every version of one file when there
# are SMALL and BIG of them (a one-file tree committed N times, each commit
# changing it; the stores in /dev/shm, so that making 100,000 revisions is
# not bound by fsync). Each listing runs in a fresh process
# (history_versions list): the versions it saw, its time, and how much it
# raised the process's peak RSS over the opened store, for the engine's
# ListVersions (what `revfs log` runs) and for the mount's readdir of
# history/f in requests of 100 entries (a getdents buffer). Streaming shows
# as a growth that does not follow the number of versions. Medians of RUNS.
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

declare -A row
for n in "$small" "$big"; do
  a=$(date +%s%N)
  "$bin" make "$work/h$n" "$n"
  b=$(date +%s%N)
  make_s=$(awk -v t=$((b - a)) 'BEGIN { printf "%.1f", t / 1e9 }')
  declare -a log_ms=() dir_ms=() log_kib=() dir_kib=()
  for _ in $(seq 1 "$runs"); do
    read -r _ seen listed _ lm _ dm _ _ _ lk _ dk <<< "$("$bin" list "$work/h$n")"
    if [[ $seen != "$n" || $listed != "$n" ]]; then
      echo "$n revisions: revfs log saw $seen versions, history/ listed $listed" >&2
      exit 1
    fi
    log_ms+=("$lm"); dir_ms+=("$dm"); log_kib+=("$lk"); dir_kib+=("$dk")
  done
  row[$n]="| $n | $make_s | $(median "${log_ms[@]}") | $(median "${log_kib[@]}") |"
  row[$n]+=" $(median "${dir_ms[@]}") | $(median "${dir_kib[@]}") |"
  rm -rf "$work/h$n"
done

out=tests/bench/results/history_memory.md
{
  echo "## Listing the versions of one file: $small and $big versions"
  echo
  echo "\`tests/bench/history_memory.sh $big $small $runs\` ($(measured_on "$root"))"
  echo
  echo "Medians of $runs fresh processes each. RSS growth: the peak RSS the listing"
  echo "added over the opened store (getrusage), KiB."
  echo
  echo "| versions | making them (s) | ListVersions ms | its RSS growth | history/ readdir ms | its RSS growth |"
  echo "|---:|---:|---:|---:|---:|---:|"
  echo "${row[$small]}"
  echo "${row[$big]}"
} | tee "$out"
