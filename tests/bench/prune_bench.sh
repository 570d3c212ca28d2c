#!/usr/bin/env bash
# Forget and prune on a real history, against a fresh store and against
# restic and borg, in one run, medians of RUNS runs:
#   the last REVISIONS first-parent commits of this repository (`git archive
#   | tar -x` per commit, so every file is new to stat) are committed; then
#   every revision but each 10th is forgotten and the store pruned.
# Reported: the store's size after prune vs a fresh store holding only the
# kept trees (goal <= 1.15x), prune's time vs committing the kept trees
# afresh (goal <= 2x), the bytes prune copied; restic (forget of the same
# snapshots + prune) and borg (delete of the same archives + compact) on the
# same history, their sizes and times as ratios to the same references.
# Not part of tests/run.sh. Needs root for apt-get.
#
#   [REVFS=BINARY] tests/bench/prune_bench.sh [RUNS=3] [REVISIONS=50]
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
. tests/bench/lib.sh
runs=${1:-3}
revisions=${2:-50}
tests/install_deps.sh restic borgbackup git >&2
# REVFS=path/to/revfs times that binary instead of the Release build.
if [[ -n ${REVFS:-} ]]; then
  revfs=$REVFS
else
  build_bench "$root" revfs
  revfs=$root/build/bench/mount/revfs
fi
work=$(mktemp -d /tmp/revfs-prune-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
export RESTIC_PASSWORD=revfs-bench RESTIC_CACHE_DIR=$work/cache/restic
export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_BASE_DIR=$work/cache/borg
ms() { echo $(($(date +%s%N) / 1000000)); }
size_of() { du -sb "$1" | cut -f1; }

mapfile -t commits < <(git -c safe.directory="*" -C "$root" log --first-parent -n "$revisions" --format=%H | tac)
((${#commits[@]} >= 20)) || { echo "$0: need at least 20 commits of history" >&2; exit 1; }
n=${#commits[@]}
for ((k = 1; k <= n; k++)); do
  mkdir -p "$work/trees/$k"
  git -c safe.directory="*" -C "$root" archive "${commits[k - 1]}" | tar -x -C "$work/trees/$k"
done
kept=() forgotten=()
for ((k = 1; k <= n; k++)); do
  if ((k % 10 == 0 || k == n)); then kept+=("$k"); else forgotten+=("$k"); fi
done

declare -A t=()  # key -> space-separated ms per run
declare -A sz=()
add() { t[$1]="${t[$1]:-} $2"; }
for ((run = 1; run <= runs; run++)); do
  echo "== run $run/$runs: $n revisions, keeping ${kept[*]}" >&2
  rm -rf "$work/s" && mkdir -p "$work/s"
  # revfs: the whole history, forget, prune.
  "$revfs" init "$work/s/revfs" >/dev/null
  for ((k = 1; k <= n; k++)); do
    "$revfs" commit "$work/s/revfs" "$work/trees/$k" -m "r$k" >/dev/null
  done
  sz[revfs_before]=$(size_of "$work/s/revfs")
  a=$(ms); "$revfs" forget "$work/s/revfs" "${forgotten[@]}" >/dev/null; add revfs_forget $(($(ms) - a))
  a=$(ms); "$revfs" prune "$work/s/revfs" --json > "$work/prune.json"; add revfs_prune $(($(ms) - a))
  sz[revfs_after]=$(size_of "$work/s/revfs")
  sz[revfs_copied]=$(grep -o '"bytes_copied":[0-9]*' "$work/prune.json" | cut -d: -f2 || true)
  "$revfs" verify "$work/s/revfs" >/dev/null
  # The reference: a fresh store of the kept trees only.
  "$revfs" init "$work/s/fresh" >/dev/null
  a=$(ms)
  for k in "${kept[@]}"; do "$revfs" commit "$work/s/fresh" "$work/trees/$k" >/dev/null; done
  add fresh_commit $(($(ms) - a))
  sz[fresh]=$(size_of "$work/s/fresh")
  "$revfs" prune "$work/s/fresh" --dry-run --json > "$work/fresh.json"
  # restic
  restic -q -r "$work/s/restic" init >/dev/null
  for ((k = 1; k <= n; k++)); do
    (cd "$work/trees/$k" && restic -q -r "$work/s/restic" backup --tag "r$k" . >/dev/null)
  done
  ids=()
  for k in "${forgotten[@]}"; do
    ids+=("$(restic -r "$work/s/restic" snapshots --json --tag "r$k" | grep -o '"short_id":"[0-9a-f]*"' | cut -d'"' -f4)")
  done
  a=$(ms)
  restic -q -r "$work/s/restic" forget "${ids[@]}" >/dev/null
  restic -q -r "$work/s/restic" prune >/dev/null
  add restic_prune $(($(ms) - a))
  sz[restic_after]=$(size_of "$work/s/restic")
  # borg
  borg init --encryption=none "$work/s/borg" >/dev/null 2>&1
  for ((k = 1; k <= n; k++)); do
    (cd "$work/trees/$k" && borg create "$work/s/borg::r$k" . >/dev/null 2>&1)
  done
  a=$(ms)
  for k in "${forgotten[@]}"; do borg delete "$work/s/borg::r$k" >/dev/null 2>&1; done
  borg compact "$work/s/borg" >/dev/null 2>&1
  add borg_prune $(($(ms) - a))
  sz[borg_after]=$(size_of "$work/s/borg")
done

med() { median ${t[$1]}; }
# The bytes of one kind of live page in a prune --json report (in its
# `live` object, or in the object named by a third argument).
live_of() { grep -o "\"${3:-live}\":{[^}]*}" "$1" | grep -o "\"$2\":[0-9]*" | cut -d: -f2 || true; }
kib() { if [[ -n ${1:-} ]]; then echo "$(($1 / 1024)) KiB"; else echo n/a; fi; }
out=tests/bench/results/prune.md
mkdir -p tests/bench/results
{
  echo "# Forget and prune ($n revisions of this repository's history, keeping ${#kept[@]})"
  echo
  measured_on "$root"
  echo "tests/bench/prune_bench.sh $runs $revisions; medians of $runs runs; sizes from the last run (du -sb)."
  echo
  echo "| | size after | vs fresh store | time (ms) | vs committing the kept trees afresh |"
  echo "|---|---|---|---|---|"
  echo "| revfs forget + prune | $(fmt_mib "${sz[revfs_after]}") MiB (was $(fmt_mib "${sz[revfs_before]}")) | $(ratio "${sz[revfs_after]}" "${sz[fresh]}") | $(med revfs_forget) + $(med revfs_prune) | $(ratio "$(($(med revfs_forget) + $(med revfs_prune)))" "$(med fresh_commit)") |"
  echo "| fresh revfs store of the kept trees | $(fmt_mib "${sz[fresh]}") MiB | 1.00 | $(med fresh_commit) | 1.00 |"
  echo "| restic forget + prune | $(fmt_mib "${sz[restic_after]}") MiB | $(ratio "${sz[restic_after]}" "${sz[fresh]}") | $(med restic_prune) | $(ratio "$(med restic_prune)" "$(med fresh_commit)") |"
  echo "| borg delete + compact | $(fmt_mib "${sz[borg_after]}") MiB | $(ratio "${sz[borg_after]}" "${sz[fresh]}") | $(med borg_prune) | $(ratio "$(med borg_prune)" "$(med fresh_commit)") |"
  echo
  echo "revfs prune copied $(fmt_mib "${sz[revfs_copied]}") MiB of live pages."
  echo
  echo "Where the live bytes of each revfs store go (prune --json's \`live\`; a delta"
  echo "base is a chunk that only live deltas need, no kept revision names it):"
  echo
  echo "| live bytes | after forget + prune | fresh store of the kept trees |"
  echo "|---|---|---|"
  for kind in revision_roots indirect_pages fragments chunks delta_bases; do
    echo "| $kind | $(kib "$(live_of "$work/prune.json" "$kind")") | $(kib "$(live_of "$work/fresh.json" "$kind")") |"
  done
  for kind in inodes map_blocks chunk_index chunk_log other; do
    echo "| fragments of $kind leaves | $(kib "$(live_of "$work/prune.json" "$kind" fragments_by_records)") | $(kib "$(live_of "$work/fresh.json" "$kind" fragments_by_records)") |"
  done
} > "$out"
cat "$out"
