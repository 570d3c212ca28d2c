#!/usr/bin/env bash
# Capture benchmark: a reproducible source-like history (about
# 1,600 files, 22 MB, REVISIONS revisions of edits, additions, deletions and
# renames) recorded with `revfs commit`, with `git add -A && git commit`, and
# copied with `cp -a`, in the same run; store sizes against the raw trees,
# `tar | zstd -3` of each revision, and every unique file version compressed
# on its own with `zstd -3`. Times are medians over RUNS runs.
#
#   tests/bench/capture_bench.sh [REVISIONS=50] [RUNS=3]
set -euo pipefail
. "$(dirname "$0")/lib.sh"  # the helpers shared by the benchmark scripts
cd "$(dirname "$0")/../.."
root=$(pwd)
revisions=${1:-50}
runs=${2:-3}

tests/install_deps.sh
need=()
for p in git zstd tar coreutils; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if ((${#need[@]})); then apt-get update -qq && apt-get install -y -qq "${need[@]}"; fi

cmake -S "$root" -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DREVFS_BUILD_TESTS=ON >/dev/null
cmake --build build/bench -j "$(nproc)" --target revfs history_gen >/dev/null
revfs=$root/build/bench/mount/revfs
gen=$root/build/bench/tests/bench/history_gen

work=$(mktemp -d /tmp/revfs-bench.XXXXXX)
trap 'fusermount3 -u "$work/mnt" 2>/dev/null || true; rm -rf "$work"' EXIT
now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }

declare -a t_revfs t_git t_cp
for run in $(seq 1 "$runs"); do
  rm -rf "$work"/*
  "$gen" "$work/src" 7 0
  "$revfs" init "$work/store" >/dev/null
  git --git-dir="$work/git" --work-tree="$work/src" init -q
  git --git-dir="$work/git" config user.email bench@example.com
  git --git-dir="$work/git" config user.name bench
  mkdir -p "$work/copies"
  tr=0 tg=0 tc=0
  raw=0 tarzst=0 unique=0
  declare -A seen=()
  touch -d '2000-01-01' "$work/stamp"
  for i in $(seq 0 $((revisions - 1))); do
    ((i > 0)) && "$gen" "$work/src" 7 "$i"
    a=$(now); "$revfs" commit "$work/store" "$work/src" -m "r$i" >/dev/null; b=$(now)
    tr=$((tr + $(ms "$a" "$b")))
    a=$(now); git --git-dir="$work/git" --work-tree="$work/src" add -A >/dev/null
    git --git-dir="$work/git" --work-tree="$work/src" commit -q -m "r$i" >/dev/null; b=$(now)
    tg=$((tg + $(ms "$a" "$b")))
    a=$(now); cp -a "$work/src" "$work/copies/r$i"; b=$(now)
    tc=$((tc + $(ms "$a" "$b")))
    # Untimed: each import holds what it stands for (a command that did
    # less, or failed quietly, is not timed as fast).
    diff -r "$work/src" "$work/copies/r$i" > /dev/null || { echo "cp -a of revision $i differs" >&2; exit 1; }
    rm -rf "$work/copies/r$i"
    [[ -z $(git --git-dir="$work/git" --work-tree="$work/src" status --porcelain) ]] ||
      { echo "git did not record all of revision $i" >&2; exit 1; }
    if ((run == 1)); then
      (cd "$work/src" && find . -type f -exec sha256sum {} + | sort) > "$work/sums.$((i + 1))"
    fi
    if ((run == 1)); then
      raw=$((raw + $(du -sb "$work/src" | cut -f1)))
      tarzst=$((tarzst + $(tar cf - -C "$work/src" . | zstd -3 -q -c | wc -c)))
      # Unique file versions, each compressed alone (only files changed since
      # the last revision can be new versions).
      while IFS= read -r -d '' f; do
        h=$(sha1sum "$f" | cut -c1-40)
        if [[ -z ${seen[$h]:-} ]]; then
          seen[$h]=1
          unique=$((unique + $(zstd -3 -q -c "$f" | wc -c)))
        fi
      done < <(find "$work/src" -type f -newer "$work/stamp" -print0)
      touch "$work/stamp"
      sleep 0.01
    fi
  done
  t_revfs+=("$tr"); t_git+=("$tg"); t_cp+=("$tc")
  if ((run == 1)); then
    # Every revision revfs recorded reads back with its exact bytes.
    mkdir -p "$work/mnt"
    "$revfs" mount "$work/store" "$work/mnt" || { echo "cannot mount the store" >&2; exit 1; }
    bad=0
    for ((r = 1; r <= revisions; r++)); do
      (cd "$work/mnt/revisions/$r" && find . -type f -exec sha256sum {} + | sort) |
        cmp -s - "$work/sums.$r" || bad=$((bad + 1))
    done
    fusermount3 -u "$work/mnt"
    ((bad == 0)) || { echo "$bad revisions read back differently from their trees" >&2; exit 1; }
    s_revfs=$(du -sb "$work/store" | cut -f1)
    s_git=$(du -sb "$work/git" | cut -f1)
    git --git-dir="$work/git" gc -q --aggressive 2>/dev/null || true
    s_git_gc=$(du -sb "$work/git" | cut -f1)
    s_raw=$raw s_tarzst=$tarzst s_unique=$unique
  fi
  unset seen
done

mr=$(median "${t_revfs[@]}"); mg=$(median "${t_git[@]}"); mc=$(median "${t_cp[@]}")

out=tests/bench/results/capture.md
{
  echo "# Capture benchmark"
  echo
  measured_on "$root"
  echo "$(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r); $revisions revisions of a generated"
  echo "source tree (1,600 files, 22 MB); medians of $runs runs."
  echo "Command: \`tests/bench/capture_bench.sh $revisions $runs\`"
  echo
  echo "| import of $revisions revisions | ms (median) | revfs ÷ this |"
  echo "|---|---:|---:|"
  echo "| revfs commit | $mr | 1.00 |"
  echo "| git add -A && git commit | $mg | $(ratio "$mr" "$mg") |"
  echo "| cp -a (native copy) | $mc | $(ratio "$mr" "$mc") |"
  echo
  echo "| storage for all revisions | MiB | revfs ÷ this |"
  echo "|---|---:|---:|"
  echo "| raw trees, summed | $(fmt_mib "$s_raw") | $(ratio "$s_revfs" "$s_raw") |"
  echo "| tar \\| zstd -3 of each revision | $(fmt_mib "$s_tarzst") | $(ratio "$s_revfs" "$s_tarzst") |"
  echo "| unique file versions, zstd -3 each | $(fmt_mib "$s_unique") | $(ratio "$s_revfs" "$s_unique") |"
  echo "| git repository (loose objects) | $(fmt_mib "$s_git") | $(ratio "$s_revfs" "$s_git") |"
  echo "| git repository after gc --aggressive | $(fmt_mib "$s_git_gc") | $(ratio "$s_revfs" "$s_git_gc") |"
  echo "| revfs store | $(fmt_mib "$s_revfs") | 1.00 |"
} > "$out"
cat "$out"
