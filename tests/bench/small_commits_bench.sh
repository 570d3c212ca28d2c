#!/usr/bin/env bash
# Small-commits benchmark: COUNT commits that each change 5 small files of a
# 200-file tree (`tree_gen make SRC 1 200 10`, then `tree_gen edit SRC
# SEED_i 5` before each commit), recorded by `revfs commit` under every
# versioning approach and by `git add -A && git commit` (loose objects, no gc
# or pack; the git directory outside the tree). Reports, per approach, the
# store's growth per revision (apparent size after the COUNT commits minus
# after the first commit) against git's `.git/objects`, the time per commit
# against git's, and where a revision's bytes go (the revisions' counters:
# chunk pages, indirect pages, leaf fragments by record kind; the revision
# root and its index entry are what remains). Correctness first: the latest
# revision holds every file of the tree byte for byte and `revfs verify`
# passes, or the run fails.
#
#   tests/bench/small_commits_bench.sh [COUNT=2000] [APPROACHES="sliding full
#     incremental differential"]
# INIT_ARGS (e.g. "--window 8") go to `revfs init`.
# REVFS=path/to/revfs and TREE_GEN=path/to/tree_gen use existing binaries
# instead of building build/bench.
set -euo pipefail
. "$(dirname "$0")/lib.sh"  # the helpers shared by the benchmark scripts
cd "$(dirname "$0")/../.."
root=$(pwd)
count=${1:-2000}
approaches=${2:-"sliding full incremental differential"}

if [[ -z ${REVFS:-} || -z ${TREE_GEN:-} ]]; then
  build_bench "$root" revfs tree_gen
fi
revfs=${REVFS:-$root/build/bench/mount/revfs}
gen=${TREE_GEN:-$root/build/bench/tests/bench/tree_gen}

work=$(mktemp -d /tmp/revfs-small-commits.XXXXXX)
trap 'rm -rf "$work"' EXIT
now() { date +%s%N; }
size() { du --apparent-size -sb "$1" | cut -f1; }

# git, once: the same edits (the seeds are the same for every run).
"$gen" make "$work/src" 1 200 10
export GIT_DIR=$work/git GIT_WORK_TREE=$work/src
git init -q
git config user.email bench@example.com
git config user.name bench
git add -A && git commit -q -m r0
git_base=$(size "$work/git/objects")
tg=0
for i in $(seq 1 "$count"); do
  "$gen" edit "$work/src" "$((1000 + i))" 5 >/dev/null
  a=$(now); git add -A; git commit -q -m "r$i"; b=$(now)
  tg=$((tg + b - a))
done
git_growth=$(( $(size "$work/git/objects") - git_base ))
unset GIT_DIR GIT_WORK_TREE
git_per=$((git_growth / count))
git_ms=$(awk -v t="$tg" -v n="$count" 'BEGIN { printf "%.2f", t / n / 1e6 }')

echo "## Small commits: $count commits of 5 edited files in a 200-file tree"
echo
echo "\`tests/bench/small_commits_bench.sh $count\` ($(measured_on "$root"))"
echo
echo "git loose objects: $git_growth bytes, $git_per bytes per commit, $git_ms ms per commit"
echo
echo "| approach | bytes / revision | ÷ git | ms / commit | ÷ git |"
echo "|---|---:|---:|---:|---:|"
breakdowns=""
for approach in $approaches; do
  rm -rf "$work/src" "$work/store"
  "$gen" make "$work/src" 1 200 10
  # shellcheck disable=SC2086
  "$revfs" init "$work/store" --versioning "$approach" ${INIT_ARGS:-} >/dev/null
  "$revfs" commit "$work/store" "$work/src" -m r0 >/dev/null
  base=$(size "$work/store")
  tr=0
  for i in $(seq 1 "$count"); do
    "$gen" edit "$work/src" "$((1000 + i))" 5 >/dev/null
    a=$(now); "$revfs" commit "$work/store" "$work/src" -m "r$i" >/dev/null; b=$(now)
    tr=$((tr + b - a))
  done
  growth=$(( $(size "$work/store") - base ))
  # Correctness: every file of the tree, byte for byte, and a clean verify.
  (cd "$work/src" && find . -type f | sed 's|^\./||') | while read -r f; do
    cmp -s <("$revfs" cat "$work/store" latest "$f") "$work/src/$f" ||
      { echo "$approach: $f differs in the latest revision" >&2; exit 1; }
  done
  "$revfs" verify "$work/store" >/dev/null || { echo "$approach: verify failed" >&2; exit 1; }
  per=$((growth / count))
  ms=$(awk -v t="$tr" -v n="$count" 'BEGIN { printf "%.2f", t / n / 1e6 }')
  echo "| $approach | $per | $(ratio "$per" "$git_per") | $ms | $(ratio "$ms" "$git_ms") |"
  breakdowns+="$approach: $("$revfs" log "$work/store" --json | python3 -c '
import json, sys
doc = json.load(sys.stdin)
revs = doc["revisions"] if isinstance(doc, dict) else doc
revs = [r for r in revs if r["revision"] >= 2]
n = len(revs)
keys = ["bytes_chunks", "bytes_indirect", "bytes_leaves_meta", "bytes_leaves_inodes",
        "bytes_leaves_maps", "bytes_leaves_chunk_index", "bytes_leaves_chunk_log", "pages_written", "bytes_written"]
avg = {k: sum(r["counters"].get(k, 0) for r in revs) / n for k in keys}
print(", ".join("%s %.0f" % (k, avg[k]) for k in keys))
')"$'\n'
done
echo
echo "Average per revision (revision 2 on; bytes_written is every page but the"
echo "revision root; the root and its 48-byte index entry are the rest):"
echo
echo '```'
printf '%s' "$breakdowns"
echo '```'
