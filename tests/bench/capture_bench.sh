#!/usr/bin/env bash
# Capture benchmark, three modes; times are medians over RUNS runs, figures
# are ratios against git measured in the same run, each import checked
# before it counts.
#
#   tests/bench/capture_bench.sh [REVISIONS=50] [RUNS=3]
#     A reproducible source-like history (about 1,600 files, 22 MB,
#     REVISIONS revisions of edits, additions, deletions and renames, made
#     in place) recorded with `revfs commit`, with `git add -A && git
#     commit`, and copied with `cp -a`; store sizes against the raw trees,
#     `tar | zstd -3` of each revision, and every unique file version
#     compressed on its own with `zstd -3`. Writes results/capture.md.
#   tests/bench/capture_bench.sh big [RUNS=3] [FILES=200000] [DIRS=2000]
#     The first commit of a generated tree of small files (tree_gen) into a
#     fresh store against `git add -A && git commit` into a fresh
#     repository, page cache dropped before each; the peak RSS of the
#     commit; then a commit after 100 edits (tree_gen edit), every file
#     stat'ed, against git's. Writes results/capture_big.md.
#   tests/bench/capture_bench.sh unpacked [REVISIONS=50] [RUNS=3]
#     The same history, but each revision unpacked from a tar archive into
#     a new directory (every file a new inode and ctime, most content
#     unchanged), committed by revfs and by git with its index
#     (`git --work-tree=NEWDIR add -A && git commit`); unpacking is not
#     timed, caches are warm for both. Writes results/capture_unpacked.md.
set -euo pipefail
. "$(dirname "$0")/lib.sh"  # the helpers shared by the benchmark scripts
cd "$(dirname "$0")/../.."
root=$(pwd)
mode=history
case ${1:-} in
  big | unpacked) mode=$1; shift ;;
esac
args=("$@")
revisions=${1:-50}
runs=${2:-3}

tests/install_deps.sh
need=()
for p in git zstd tar coreutils time; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if ((${#need[@]})); then apt-get update -qq && apt-get install -y -qq "${need[@]}"; fi

build_bench "$root" revfs history_gen tree_gen
revfs=$root/build/bench/mount/revfs
gen=$root/build/bench/tests/bench/history_gen
tree_gen=$root/build/bench/tests/bench/tree_gen

work=$(mktemp -d /tmp/revfs-bench.XXXXXX)
trap 'fusermount3 -u "$work/mnt" 2>/dev/null || true; rm -rf "$work"' EXIT
now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }
gitc() { git -c user.email=bench@example.com -c user.name=bench "$@"; }

# timed VAR CMD...: runs CMD, adds its milliseconds to VAR.
timed() {
  local var=$1 a b
  shift
  a=$(now); "$@" >/dev/null; b=$(now)
  printf -v "$var" '%s' $(( ${!var} + $(ms "$a" "$b") ))
}

# big: the first commit of a big tree of small files, and a commit after
# 100 edits of it, against git.
big_mode() {
  local files=${args[1]:-200000} dirs=${args[2]:-2000}
  runs=${args[0]:-3}
  local tree=$work/tree sample=$work/sample
  declare -a t_first_r t_first_g t_edit_r t_edit_g rss
  "$tree_gen" make "$tree" 1 "$files" "$dirs"
  (cd "$tree" && find . -type f | sort | awk 'NR % 997 == 1') | sed 's|^\./||' > "$sample"
  local apparent
  apparent=$(du -sb --apparent-size "$tree" | cut -f1)
  for run in $(seq 1 "$runs"); do
    rm -rf "$work/store" "$work/git" "$work/rss"
    "$revfs" init "$work/store" >/dev/null
    git init -q --bare "$work/git"
    # First commits, each from a cold page cache.
    drop
    local a b tr=0 tg=0
    a=$(now)
    /usr/bin/time -f %M -o "$work/rss" "$revfs" commit "$work/store" "$tree" -m first >/dev/null
    b=$(now); tr=$(ms "$a" "$b")
    drop
    a=$(now)
    gitc --git-dir="$work/git" --work-tree="$tree" add -A
    gitc --git-dir="$work/git" --work-tree="$tree" commit -q -m first
    b=$(now); tg=$(ms "$a" "$b")
    # Untimed: both hold the tree.
    [[ -z $(git --git-dir="$work/git" --work-tree="$tree" status --porcelain) ]] ||
      { echo "git did not record the whole tree" >&2; exit 1; }
    local n
    n=$("$revfs" log "$work/store" --json | grep -o '"files":[0-9]*' | tail -1 | cut -d: -f2)
    [[ $n == "$files" ]] || { echo "revfs recorded $n files, not $files" >&2; exit 1; }
    while read -r f; do
      "$revfs" cat "$work/store" 1 "$f" | cmp -s - "$tree/$f" ||
        { echo "revfs cat of $f differs from the tree" >&2; exit 1; }
    done < "$sample"
    t_first_r+=("$tr"); t_first_g+=("$tg"); rss+=("$(cat "$work/rss")")
    # 100 edits (different files each run), then a commit of each, warm:
    # revfs stats every file, git compares with its index.
    "$tree_gen" edit "$tree" "$((100 + run))" 100 > "$work/edited"
    local er=0 eg=0
    timed er "$revfs" commit "$work/store" "$tree" -m edits
    a=$(now)
    gitc --git-dir="$work/git" --work-tree="$tree" add -A
    gitc --git-dir="$work/git" --work-tree="$tree" commit -q -m edits
    b=$(now); eg=$(ms "$a" "$b")
    while read -r f; do
      "$revfs" cat "$work/store" 2 "$f" | cmp -s - "$tree/$f" ||
        { echo "revfs cat of edited $f differs from the tree" >&2; exit 1; }
    done < "$work/edited"
    [[ -z $(git --git-dir="$work/git" --work-tree="$tree" status --porcelain) ]] ||
      { echo "git did not record the edits" >&2; exit 1; }
    t_edit_r+=("$er"); t_edit_g+=("$eg")
  done
  local fr fg er eg mrss
  fr=$(median "${t_first_r[@]}"); fg=$(median "${t_first_g[@]}")
  er=$(median "${t_edit_r[@]}"); eg=$(median "${t_edit_g[@]}")
  mrss=$(median "${rss[@]}")
  local out=tests/bench/results/capture_big.md
  {
    echo "# Capture benchmark: a big tree of small files"
    echo
    measured_on "$root"
    echo "$(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r); \`tree_gen make T 1 $files $dirs\`"
    echo "($files files, $(fmt_mib "$apparent") MiB apparent); medians of $runs runs, each"
    echo "into a fresh store and a fresh git repository."
    echo "Command: \`tests/bench/capture_bench.sh big $runs $files $dirs\`"
    echo
    echo "| commit | revfs ms | git ms | revfs ÷ git |"
    echo "|---|---:|---:|---:|"
    echo "| first commit, page cache dropped before each | $fr | $fg | $(ratio "$fr" "$fg") |"
    echo "| after 100 edits (tree_gen edit), warm; revfs stats every file | $er | $eg | $(ratio "$er" "$eg") |"
    echo
    echo "Peak RSS of the first \`revfs commit\`: $(awk -v k="$mrss" 'BEGIN { printf "%.0f", k / 1024 }') MiB (median);"
    echo "git: \`git add -A && git commit\` (loose objects, its default settings)."
    echo "Checked before counting: revfs recorded $files files and a sample of"
    echo "$(wc -l < "$sample") files (and every edited one) reads back byte for byte"
    echo "(\`revfs cat\`); \`git status --porcelain\` is empty."
  } > "$out"
  cat "$out"
}

# unpacked: REVISIONS revisions of the history, each unpacked into a new
# directory, committed by revfs and by git.
unpacked_mode() {
  revisions=${args[0]:-50}
  runs=${args[1]:-3}
  mkdir -p "$work/tars"
  "$gen" "$work/src" 7 0
  for i in $(seq 0 $((revisions - 1))); do
    ((i > 0)) && "$gen" "$work/src" 7 "$i"
    tar cf "$work/tars/r$i.tar" -C "$work/src" .
    (cd "$work/src" && find . -type f -exec sha256sum {} + | sort) > "$work/tars/sums.$((i + 1))"
  done
  declare -a t_revfs t_git
  for run in $(seq 1 "$runs"); do
    rm -rf "$work/store" "$work/git" "$work/trees"
    mkdir -p "$work/trees"
    "$revfs" init "$work/store" >/dev/null
    git init -q --bare "$work/git"
    local tr=0 tg=0 prev=
    for i in $(seq 0 $((revisions - 1))); do
      local t=$work/trees/r$i
      mkdir "$t"
      tar xf "$work/tars/r$i.tar" -C "$t"
      timed tr "$revfs" commit "$work/store" "$t" -m "r$i"
      timed tg gitc --git-dir="$work/git" --work-tree="$t" add -A
      timed tg gitc --git-dir="$work/git" --work-tree="$t" commit -q -m "r$i"
      [[ -z $(git --git-dir="$work/git" --work-tree="$t" status --porcelain) ]] ||
        { echo "git did not record all of revision $i" >&2; exit 1; }
      [[ -n $prev ]] && rm -rf "$prev"
      prev=$t
    done
    t_revfs+=("$tr"); t_git+=("$tg")
    if ((run == 1)); then
      # Every revision revfs recorded reads back with its exact bytes.
      mkdir -p "$work/mnt"
      "$revfs" mount "$work/store" "$work/mnt" || { echo "cannot mount the store" >&2; exit 1; }
      local bad=0
      for ((r = 1; r <= revisions; r++)); do
        (cd "$work/mnt/revisions/$r" && find . -type f -exec sha256sum {} + | sort) |
          cmp -s - "$work/tars/sums.$r" || bad=$((bad + 1))
      done
      fusermount3 -u "$work/mnt"
      ((bad == 0)) || { echo "$bad revisions read back differently from their trees" >&2; exit 1; }
      s_revfs=$(du -sb "$work/store" | cut -f1)
      counters=$("$revfs" log "$work/store" --json | grep -o '"records_put":[0-9]*' | tail -1 | cut -d: -f2)
    fi
  done
  local mr mg
  mr=$(median "${t_revfs[@]}"); mg=$(median "${t_git[@]}")
  local out=tests/bench/results/capture_unpacked.md
  {
    echo "# Capture benchmark: a history unpacked revision by revision"
    echo
    measured_on "$root"
    echo "$(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r); $revisions revisions of history_gen's"
    echo "source tree (1,600 files, 22 MB), each unpacked with \`tar x\` into a new"
    echo "directory (new inodes and ctimes, mtimes kept); medians of $runs runs."
    echo "Command: \`tests/bench/capture_bench.sh unpacked $revisions $runs\`"
    echo
    echo "| import of $revisions unpacked revisions | ms (median) | revfs ÷ this |"
    echo "|---|---:|---:|"
    echo "| revfs commit | $mr | 1.00 |"
    echo "| git --work-tree=NEWDIR add -A && git commit | $mg | $(ratio "$mr" "$mg") |"
    echo
    echo "Per revision: revfs $((mr / revisions)) ms, git $((mg / revisions)) ms. The revfs store"
    echo "holds $(fmt_mib "$s_revfs") MiB; the last revision wrote $counters inode and other records"
    echo "(every file's record changes: it holds the source inode number, ctime"
    echo "and atime). Checked before counting: every revision read back through"
    echo "a mount matches its tree's sha256 sums; \`git status --porcelain\` is"
    echo "empty after each git commit."
  } > "$out"
  cat "$out"
}

if [[ $mode != history ]]; then
  "${mode}_mode"
  exit 0
fi

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
