#!/usr/bin/env bash
# Metadata benchmark: walks of every entry of a 200,000-file tree (1-3 KiB
# files in 2,000 directories, two levels: tree_gen make DIR 1 200000 2000)
# through the revfs mount, natively (the source directory) and through
# squashfuse over a squashfs image of the same tree, in the same run, cold
# (page cache dropped, and a fresh mount before each FUSE run) and warm;
# medians of RUNS runs, reported as ratios to native.
#   find       find DIR                           (names and types only)
#   find-stat  find DIR -printf '%s %m %T@\n'      (stat of every entry)
#   ls-lR      ls -lR DIR                         (stat of every entry)
# Then the requests one cold find and one cold find-stat sent to the daemon,
# and the record leaves it loaded for them (.revfs/stats).
# Needs root (drop_caches) and /dev/fuse. MOUNT_OPTS (e.g. "readdirplus=all")
# go to `revfs mount -o`.
#   tests/bench/metadata_bench.sh [RUNS=3] [FILES=200000] [DIRS=2000]
set -euo pipefail
. "$(dirname "$0")/lib.sh"  # the helpers shared by the benchmark scripts
cd "$(dirname "$0")/../.."
root=$(pwd)
runs=${1:-3}
files=${2:-200000}
dirs=${3:-2000}

tests/install_deps.sh squashfs-tools squashfuse
build_bench "$root" revfs tree_gen
revfs=$root/build/bench/mount/revfs
gen=$root/build/bench/tests/bench/tree_gen

work=$(mktemp -d /tmp/revfs-metabench.XXXXXX)
mnt=$work/mnt
sqmnt=$work/sqmnt
cleanup() {
  fusermount3 -u "$mnt" 2>/dev/null || true
  fusermount3 -u "$sqmnt" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$mnt" "$sqmnt"
echo "making a $files-file tree in $dirs directories, its store and a squashfs image ..." >&2
"$gen" make "$work/src" 1 "$files" "$dirs"
"$revfs" init "$work/store" >/dev/null
"$revfs" commit "$work/store" "$work/src" >/dev/null
mksquashfs "$work/src" "$work/tree.sqfs" -quiet -no-progress >/dev/null

remount() {
  fusermount3 -u "$mnt" 2>/dev/null || true
  "$revfs" mount ${MOUNT_OPTS:+-o "$MOUNT_OPTS"} "$work/store" "$mnt" || { echo "mount failed" >&2; exit 1; }
}
remount_sq() {
  fusermount3 -u "$sqmnt" 2>/dev/null || true
  squashfuse "$work/tree.sqfs" "$sqmnt" || { echo "squashfuse failed" >&2; exit 1; }
}
# time_ms CMD...: runs CMD, prints its wall time in ms; a CMD that fails
# stops the benchmark (a command failing fast must never be timed as fast).
time_ms() {
  local a b rc=0
  a=$(date +%s%N)
  "$@" >/dev/null 2>"$work/time.err" || rc=$?
  b=$(date +%s%N)
  if ((rc != 0)); then
    echo "$*: exit $rc: $(head -c 300 "$work/time.err")" >&2
    exit 1
  fi
  echo $(( (b - a) / 1000000 ))
}
walk_find() { find "$1"; }
walk_stat() { find "$1" -printf '%s %m %T@\n'; }
walk_ls() { ls -lR "$1"; }

remount
remount_sq
# What is timed must be the same tree: names, types, modes and mtimes of
# every entry and the sizes of files agree (times to the second: squashfs
# keeps no more; directory sizes differ by filesystem).
listing() {
  (cd "$1" && { find . -type f -printf '%p %y %s %m %TY%Tm%Td%TH%TM%TS\n'
                find . ! -type f -printf '%p %y %m %TY%Tm%Td%TH%TM%TS\n'; } |
     sed 's/\.[0-9]*$//' | sort)
}
listing "$work/src" > "$work/native.lst"
for d in "$mnt/latest" "$sqmnt"; do
  listing "$d" | cmp -s - "$work/native.lst" || { echo "$d differs from the source tree" >&2; exit 1; }
done
entries=$(wc -l < "$work/native.lst")

declare -A t
for mode in cold warm; do
  for name in find find-stat ls-lR; do
    case $name in
      find) fn=walk_find ;;
      find-stat) fn=walk_stat ;;
      ls-lR) fn=walk_ls ;;
    esac
    if [[ $mode == warm ]]; then  # one pass each first, then timed passes
      remount; remount_sq
      $fn "$work/src" >/dev/null; $fn "$mnt/latest/" >/dev/null; $fn "$sqmnt" >/dev/null
    fi
    for r in $(seq 1 "$runs"); do
      [[ $mode == cold ]] && drop
      t[$name,$mode,native,$r]=$(time_ms $fn "$work/src")
      [[ $mode == cold ]] && { drop; remount; }
      t[$name,$mode,revfs,$r]=$(time_ms $fn "$mnt/latest/")
      [[ $mode == cold ]] && { drop; remount_sq; }
      t[$name,$mode,squashfuse,$r]=$(time_ms $fn "$sqmnt")
    done
  done
done

# What one cold walk asks of the daemon.
count_ops() {  # walk-function
  drop; remount
  local before after
  before=$(cat "$mnt/.revfs/stats")
  $1 "$mnt/latest/" >/dev/null
  after=$(cat "$mnt/.revfs/stats")
  for op in lookup getattr readdir; do
    printf '%s=%s ' "$op" $(( $(op_count "$after" $op) - $(op_count "$before" $op) ))
  done
  printf 'leaf_combines=%s ' "$(sed -n 's/.*"leaf_combines":\([0-9]*\).*/\1/p' <<< "$after")"
  # Files listed by name alone (no entry, so no kernel inode: -o
  # readdirplus=auto) and the switches to entries bursts of lookups made.
  for key in files_listed_by_name file_entry_switches; do
    printf '%s=%s ' "$key" "$(sed -n "s/.*\"$key\":\([0-9]*\).*/\1/p" <<< "$after")"
  done
}
ops_find=$(count_ops walk_find)
ops_stat=$(count_ops walk_stat)

out=tests/bench/results/metadata.md
{
  echo "# Metadata benchmark"
  echo
  measured_on "$root"
  echo "$(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r); \`tree_gen make DIR 1 $files $dirs\`"
  echo "($entries entries), committed as one revision; medians of $runs runs. Cold: page"
  echo "cache dropped, and a fresh mount before each FUSE run. squashfuse: the same tree"
  echo "as a squashfs image (mksquashfs defaults)."
  echo "Command: \`${MOUNT_OPTS:+MOUNT_OPTS=$MOUNT_OPTS }tests/bench/metadata_bench.sh $runs $files $dirs\`"
  echo
  echo "| walk | mode | native ms | revfs ms | squashfuse ms | revfs ÷ native | squashfuse ÷ native |"
  echo "|---|---|---:|---:|---:|---:|---:|"
  for name in find find-stat ls-lR; do
    for mode in cold warm; do
      n=() f=() s=()
      for r in $(seq 1 "$runs"); do
        n+=("${t[$name,$mode,native,$r]}"); f+=("${t[$name,$mode,revfs,$r]}")
        s+=("${t[$name,$mode,squashfuse,$r]}")
      done
      mn=$(median "${n[@]}"); mf=$(median "${f[@]}"); ms=$(median "${s[@]}")
      echo "| $name | $mode | $mn | $mf | $ms | $(ratio "$mf" "$mn") | $(ratio "$ms" "$mn") |"
    done
  done
  echo
  echo "Requests and record leaves loaded for one cold walk on a fresh mount:"
  echo "- find: $ops_find"
  echo "- find-stat: $ops_stat"
} > "$out"
cat "$out"
