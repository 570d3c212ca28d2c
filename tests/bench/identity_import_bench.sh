#!/usr/bin/env bash
# What the identity change costs an import: two revfs binaries, A (before:
# XXH3-128 identities, a reused chunk read back to confirm it) and B (after:
# SHA-256, nothing read back), alternating A and B each run, medians of RUNS:
#   history  the last REVISIONS first-parent commits of this repository, each
#            `git archive | tar -x` (every file new to stat), committed in turn;
#   big      a 1 GiB file of random bytes committed, then committed again
#            after 1 MiB in its middle was rewritten (so all but a few
#            chunks are reused: the re-commit is where a read-back costs).
# Each binary writes its own store (their formats differ). Not part of
# tests/run.sh.
#
#   tests/bench/identity_import_bench.sh REVFS_A REVFS_B [RUNS=3] [REVISIONS=50] [BIG_MB=1024]
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
. tests/bench/lib.sh
a=$1 b=$2 runs=${3:-3} revisions=${4:-50} big_mb=${5:-1024}
work=$(mktemp -d /tmp/revfs-identity-import.XXXXXX)
trap 'rm -rf "$work"' EXIT
ms() { echo $(($(date +%s%N) / 1000000)); }

mapfile -t commits < <(git -c safe.directory="*" -C "$root" log --first-parent -n "$revisions" --format=%H | tac)
n=${#commits[@]}
for ((k = 1; k <= n; k++)); do
  mkdir -p "$work/trees/$k"
  git -c safe.directory="*" -C "$root" archive "${commits[k - 1]}" | tar -x -C "$work/trees/$k"
done
mkdir -p "$work/big"
head -c $((big_mb << 20)) /dev/urandom > "$work/big/file"

declare -A t=()
add() { t[$1]="${t[$1]:-} $2"; }
for ((run = 1; run <= runs; run++)); do
  for which in A B; do
    bin=$a
    [[ $which == B ]] && bin=$b
    echo "== run $run/$runs: $which" >&2
    rm -rf "$work/s" && mkdir -p "$work/s"
    "$bin" init "$work/s/history" >/dev/null
    t0=$(ms)
    for ((k = 1; k <= n; k++)); do "$bin" commit "$work/s/history" "$work/trees/$k" >/dev/null; done
    add "history_$which" $(($(ms) - t0))
    # The big file: first commit, then an edit in the middle and a re-commit.
    dd if=/dev/urandom of="$work/big/file" bs=1M count=1 seek=$((big_mb / 2)) conv=notrunc status=none
    "$bin" init "$work/s/big" >/dev/null
    sync
    t0=$(ms); "$bin" commit "$work/s/big" "$work/big" >/dev/null; add "big_first_$which" $(($(ms) - t0))
    dd if=/dev/urandom of="$work/big/file" bs=1M count=1 seek=$((big_mb / 2)) conv=notrunc status=none
    t0=$(ms); "$bin" commit "$work/s/big" "$work/big" >/dev/null; add "big_again_$which" $(($(ms) - t0))
  done
done

med() { median ${t[$1]}; }
out=tests/bench/results/identity_import.md
mkdir -p tests/bench/results
{
  echo "# The identity change on imports: XXH3-128 + read-back (A) vs SHA-256 (B)"
  echo
  measured_on "$root"
  echo "tests/bench/identity_import_bench.sh A B $runs $revisions $big_mb; A and B alternating, medians of $runs runs, ms."
  echo "A: $("$a" --version 2>&1 | head -1) ($a); B: $("$b" --version 2>&1 | head -1) ($b)."
  echo
  echo "| import | A | B | B ÷ A |"
  echo "|---|---:|---:|---:|"
  echo "| $n revisions of this repository | $(med history_A) | $(med history_B) | $(ratio "$(med history_B)" "$(med history_A)") |"
  echo "| $big_mb MiB file, first commit | $(med big_first_A) | $(med big_first_B) | $(ratio "$(med big_first_B)" "$(med big_first_A)") |"
  echo "| $big_mb MiB file, again after a 1 MiB edit | $(med big_again_A) | $(med big_again_B) | $(ratio "$(med big_again_B)" "$(med big_again_A)") |"
} > "$out"
cat "$out"
