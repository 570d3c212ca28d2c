#!/usr/bin/env bash
# History benchmark: listing every version of one file, in a store of LONG
# revisions against one of SHORT, the file (hot.txt) changing 100 times in
# each (every LONG/100-th, SHORT/100-th revision) while each revision edits
# 5 other files of a 200-file tree (tree_gen). The same histories are
# committed to git, one commit per revision. Timed, medians of RUNS, warm
# (the command run once before) and cold (page cache dropped; the mount
# made anew):
#   - `revfs log STORE hot.txt` (the CLI: process start, store open, list);
#   - `ls MOUNT/history/hot.txt` (the versions' names, each looked up by
#     the kernel's readdirplus), and `ls -l` (each also asked for its ACL
#     and security label: two getxattr round trips per version);
#   - `git log --format=%H -- hot.txt` on the git history;
#   - a shell loop over MOUNT/revisions/N/hot.txt, N in numeric order,
#     printing the st_ino of each, consecutive equal ones folded (`uniq`):
#     the versions found by walking every revision, what a mount without
#     an index offers.
# For scale, the same pipeline lists a native directory of 100 files.
# Correctness first: each lists exactly 100 versions, and the history/
# versions hold the bytes of the file at their revisions.
#
#   tests/bench/history_bench.sh [LONG=10000] [SHORT=200] [RUNS=5]
# REVFS=path/to/revfs and TREE_GEN=path/to/tree_gen use existing binaries
# instead of building build/bench; KEEP=DIR keeps the histories made in DIR
# and uses them again on the next run (making 10,000 revisions twice, in
# revfs and git, takes minutes).
set -euo pipefail
. "$(dirname "$0")/lib.sh"  # the helpers shared by the benchmark scripts
cd "$(dirname "$0")/../.."
root=$(pwd)
long=${1:-10000}
short=${2:-200}
runs=${3:-5}
changes=100

if [[ -z ${REVFS:-} || -z ${TREE_GEN:-} ]]; then
  build_bench "$root" revfs tree_gen
fi
revfs=${REVFS:-$root/build/bench/mount/revfs}
gen=${TREE_GEN:-$root/build/bench/tests/bench/tree_gen}

work=${KEEP:-$(mktemp -d /tmp/revfs-history.XXXXXX)}
mkdir -p "$work"
mnt=$work/mnt
mkdir -p "$mnt"
cleanup() {
  fusermount3 -u "$mnt" 2>/dev/null || true
  [[ -n ${KEEP:-} ]] || rm -rf "$work"
}
trap cleanup EXIT
now() { date +%s%N; }

# make_history N: $work/hN/{store,git} of N revisions (kept with KEEP).
make_history() {
  local n=$1 dir=$work/h$1
  [[ -f $dir/done ]] && return 0
  rm -rf "$dir" && mkdir -p "$dir"
  local every=$((n / changes))
  "$gen" make "$dir/src/tree" 1 200 10  # edited; hot.txt beside it
  "$revfs" init "$dir/store" >/dev/null
  git init -q "$dir/git"
  git -C "$dir/git" config user.email bench@example.com
  git -C "$dir/git" config user.name bench
  for i in $(seq 1 "$n"); do
    "$gen" edit "$dir/src/tree" "$((1000 + i))" 5 >/dev/null
    if ((i % every == 0)); then echo "hot.txt at revision $i" >> "$dir/src/hot.txt"; fi
    "$revfs" commit "$dir/store" "$dir/src" -m "r$i" >/dev/null
    GIT_DIR=$dir/git/.git GIT_WORK_TREE=$dir/src git add -A
    GIT_DIR=$dir/git/.git GIT_WORK_TREE=$dir/src git commit -q -m "r$i"
  done
  touch "$dir/done"
}

remount() {  # remount STORE
  fusermount3 -u "$mnt" 2>/dev/null || true
  "$revfs" mount "$1" "$mnt" || { echo "mount of $1 failed" >&2; exit 1; }
}

# The four listings of hot.txt in history $1, each printing one line per
# version.
list_log() { "$revfs" log "$work/h$1/store" hot.txt | tail -n +2; }
list_mount() { ls "$mnt/history/hot.txt" | grep -c '^@[0-9]'; }
list_mount_l() { ls -l "$mnt/history/hot.txt" | grep -c '^-'; }
# The same listing of a native directory of 100 files named as versions:
# what the shell, ls and grep cost by themselves.
list_native() { ls "$work/native" | grep -c '^@[0-9]'; }
list_git() { git -C "$work/h$1/git" log --format=%H -- hot.txt; }
list_loop() {
  for r in $(ls "$mnt/revisions" | sort -n); do
    stat -c %i "$mnt/revisions/$r/hot.txt" 2>/dev/null || true
  done | uniq
}

# time_ms MODE N CMD: the median ms of RUNS runs of `CMD N`, its output
# checked to be 100 versions (list_mount* print the count themselves).
time_ms() {
  local mode=$1 n=$2 cmd=$3 times=() out a b
  [[ $mode == warm ]] && { remount "$work/h$n/store"; $cmd "$n" >/dev/null; }
  for _ in $(seq 1 "$runs"); do
    if [[ $mode == cold ]]; then drop; remount "$work/h$n/store"; fi
    a=$(now); out=$($cmd "$n"); b=$(now)
    local count
    if [[ $cmd == list_mount* || $cmd == list_native ]]; then
      count=$out
    else
      count=$(wc -l <<< "$out")
    fi
    if [[ $count != "$changes" ]]; then
      echo "$cmd on $n revisions listed $count versions, not $changes" >&2
      exit 1
    fi
    times+=($(( (b - a) / 1000 )))
  done
  awk -v us="$(median "${times[@]}")" 'BEGIN { printf "%.1f", us / 1000 }'
}

for n in "$short" "$long"; do make_history "$n"; done
rm -rf "$work/native" && mkdir -p "$work/native"
for i in $(seq 1 "$changes"); do echo "$i" > "$work/native/$(printf '@%08d_2026-12-02T000000Z' "$i")"; done

# The bytes first: every version in history/ is the file at its revision.
for n in "$short" "$long"; do
  remount "$work/h$n/store"
  for v in "$mnt/history/hot.txt"/@[0-9]*; do
    r=$((10#$(basename "$v" | cut -c2-9)))
    cmp -s "$v" "$mnt/revisions/$r/hot.txt" ||
      { echo "history/hot.txt/$(basename "$v") differs from revisions/$r/hot.txt" >&2; exit 1; }
    [[ $(tail -1 "$v") == "hot.txt at revision $r" ]] ||
      { echo "history/hot.txt/$(basename "$v") is not the version of revision $r" >&2; exit 1; }
  done
done

declare -A t
for mode in warm cold; do
  for m in list_native list_log list_mount list_mount_l list_git list_loop; do
    for n in "$short" "$long"; do t[$m.$mode.$n]=$(time_ms "$mode" "$n" "$m"); done
  done
done

out=tests/bench/results/history.md
{
  echo "## Versions of one file: $changes versions in $short and in $long revisions"
  echo
  echo "\`tests/bench/history_bench.sh $long $short $runs\` ($(measured_on "$root"))"
  echo
  echo "Medians of $runs runs, ms. Cold: page cache dropped and the store mounted anew"
  echo "before each run. A 200-file tree, 5 files edited per revision; hot.txt changes"
  echo "at every $((long / changes))th (every $((short / changes))nd) revision."
  echo
  echo "| listing | mode | $short revisions | $long revisions | $long ÷ $short |"
  echo "|---|---|---:|---:|---:|"
  for m in list_native list_log list_mount list_mount_l list_git list_loop; do
    case $m in
      list_native) name='`ls` of a native directory of 100 files (the same pipeline)' ;;
      list_log) name='`revfs log STORE hot.txt`' ;;
      list_mount) name='`ls MOUNT/history/hot.txt`' ;;
      list_mount_l) name='`ls -l MOUNT/history/hot.txt`' ;;
      list_git) name='`git log --format=%H -- hot.txt`' ;;
      list_loop) name='`stat` loop over `MOUNT/revisions/N/hot.txt`' ;;
    esac
    for mode in warm cold; do
      echo "| $name | $mode | ${t[$m.$mode.$short]} | ${t[$m.$mode.$long]} |" \
        "$(ratio "${t[$m.$mode.$long]}" "${t[$m.$mode.$short]}") |"
    done
  done
  echo
  echo "At $long revisions, against git log: \`revfs log\` $(ratio "${t[list_log.warm.$long]}" \
"${t[list_git.warm.$long]}")× warm, $(ratio "${t[list_log.cold.$long]}" "${t[list_git.cold.$long]}")× cold;" \
    "history/ $(ratio "${t[list_mount.warm.$long]}" "${t[list_git.warm.$long]}")× warm," \
    "$(ratio "${t[list_mount.cold.$long]}" "${t[list_git.cold.$long]}")× cold. The loop over revisions/:" \
    "$(ratio "${t[list_loop.cold.$long]}" "${t[list_mount.cold.$long]}")× history/'s time, cold."
  echo
  echo "Store sizes: $short revisions $(fmt_mib "$(du -sb "$work/h$short/store" | cut -f1)") MiB" \
    "(git $(fmt_mib "$(du -sb "$work/h$short/git/.git" | cut -f1)") MiB);" \
    "$long revisions $(fmt_mib "$(du -sb "$work/h$long/store" | cut -f1)") MiB" \
    "(git $(fmt_mib "$(du -sb "$work/h$long/git/.git" | cut -f1)") MiB)."
} | tee "$out"
