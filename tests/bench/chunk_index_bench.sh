#!/usr/bin/env bash
# The chunk index at scale (engine/FORMAT.md, "A chunk index without a
# ceiling"), on 24-byte chunks stored straight through the engine
# (tests/bench/chunk_index_bench.cc):
#   cost   commit cost per new chunk with 10^5, 10^6 and 10^7 chunks in the
#          index: the median of 5 commits of 10,000 new chunks, and the
#          average over the whole fill since the point before (merges
#          included);
#   dedup  DEDUP distinct chunks, then all of them again: the second pass
#          must store <= 1 % new bytes (the program exits 2 otherwise);
#          lookups and records read per chunk.
# With BEFORE=DIR, a checkout of an older commit, the cost run is made with
# that commit's engine too (this program built there), side by side.
# Writes results/chunk_index.md. Not part of tests/run.sh (about 10 minutes
# and 10 GB of disk at the defaults).
#
#   tests/bench/chunk_index_bench.sh [MAX=10000000] [DEDUP=20000000]
set -euo pipefail
. "$(dirname "$0")/lib.sh"  # the helpers shared by the benchmark scripts
cd "$(dirname "$0")/../.."
root=$(pwd)
max=${1:-10000000}
dedup=${2:-20000000}

build_bench "$root" chunk_index_bench
bench=$root/build/bench/tests/bench/chunk_index_bench
work=$(mktemp -d "${TMPDIR:-/tmp}/revfs-chunk-index.XXXXXX")
trap 'rm -rf "$work"' EXIT

out=tests/bench/results/chunk_index.md
{
  echo "# Chunk index at scale"
  echo
  measured_on "$root"
  echo
  echo "Command: tests/bench/chunk_index_bench.sh $max $dedup (Release build; 24-byte chunks,"
  echo "commits of 100,000 while filling)."
  echo
  echo "## Commit cost per new chunk"
  echo
  "$bench" cost "$work/cost" "$max"
  if [[ -n ${BEFORE:-} ]]; then
    cp tests/bench/chunk_index_bench.cc "$BEFORE/tests/bench/"
    build_bench "$BEFORE" chunk_index_bench
    echo
    echo "Before, the engine of $(git -C "$BEFORE" rev-parse --short HEAD) (65,536 buckets):"
    echo
    "$BEFORE/build/bench/tests/bench/chunk_index_bench" cost "$work/before" "$max"
  fi
  echo
  echo "## Deduplication past the old ceiling"
  echo
  "$bench" dedup "$work/dedup" "$dedup"
} | tee "$out"
