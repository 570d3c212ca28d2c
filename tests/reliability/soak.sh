#!/usr/bin/env bash
# Soak: a store mounted with a small cache, read by several parallel readers
# (random revisions, files, offsets; every byte checked against the source)
# while commits land. The daemon's RSS is sampled throughout: the median of
# the last quarter must be within 10 % of the second quarter's (no growth),
# and at the end .revfs/stats must show zero pins and the pool conserved.
#
#   tests/reliability/soak.sh REVFS_BINARY SOAK_READER [OPS_PER_READER=3000] [READERS=4]
set -euo pipefail
revfs=$1 reader=$2 ops=${3:-3000} readers=${4:-4}
source "$(dirname "$0")/lib.sh"
setup_work soak
store=$work/store src=$work/src ref=$work/ref
mkdir -p "$src/a/b" "$ref"
"$revfs" init "$store" >/dev/null

RANDOM=7
change_tree() {  # rev: rewrites some files, some text, some random, sizes up to 3 MB
  local rev=$1 k f
  for ((k = 0; k < 6; k++)); do
    f=$src/$(((RANDOM % 2)) && echo a/b || echo a)/f$((RANDOM % 10))
    if ((RANDOM % 2)); then
      head -c $((RANDOM * 90)) /dev/urandom > "$f"
    else
      seq $((RANDOM * 3)) | sed "s/^/rev $rev /" > "$f"
    fi
  done
}
commit() {  # rev
  timeout 120 "$revfs" commit "$store" "$src" -m "soak $1" >/dev/null || fail "commit $1"
  cp -a "$src" "$ref/$1"
}
for rev in 1 2 3 4 5 6; do change_tree "$rev"; commit "$rev"; done

timeout 60 "$revfs" mount "$store" "$mnt" -o cache_size=16M || fail "cannot mount"
pid=$(pgrep -f "[r]evfs mount $store $mnt" | head -1)
[[ -n $pid ]] || fail "no daemon"

: > "$work/rss"
( while kill -0 "$pid" 2>/dev/null; do
    awk '/VmRSS/ {print $2}' "/proc/$pid/status" >> "$work/rss" 2>/dev/null || true
    sleep 0.1
  done ) &
sampler=$!

# Commits land while the readers run (readers only read revisions 1..6).
( for rev in 7 8 9 10 11 12; do sleep 0.5; change_tree "$rev"; commit "$rev"; done ) &
committer=$!

pids=()
for ((r = 0; r < readers; r++)); do
  timeout 600 "$reader" "$mnt" "$ref" 6 "$ops" "$((r + 1))" > "$work/reader$r" 2>&1 &
  pids+=($!)
done
bad=0
for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
wait "$committer" || fail "a commit failed while mounted"
((bad == 0)) || { cat "$work"/reader*; fail "$bad readers saw wrong bytes or errors"; }
[[ $(readlink "$mnt/latest") == revisions/12 ]] || fail "latest is $(readlink "$mnt/latest"), not revisions/12"
# The commits made while mounted read back too.
for rev in 7 12; do
  timeout 120 diff -r "$mnt/revisions/$rev" "$ref/$rev" > /dev/null || fail "revision $rev differs"
done

sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
stats=""
for _ in $(seq 1 30); do
  stats=$(timeout 10 cat "$mnt/.revfs/stats")
  [[ $stats == *'"pins_held":0,'* ]] && break
  sleep 0.1
done
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
[[ $stats == *'"pins_held":0,'* ]] || fail "pins still held: $stats"
num() { grep -o "\"$1\":[0-9]*" <<<"$stats" | head -1 | cut -d: -f2; }
in_use=$(num bytes_in_use) cached=$(num cached_bytes)
((in_use == cached)) || fail "pool not conserved: $in_use bytes in use, $cached cached"

n=$(wc -l < "$work/rss")
((n >= 8)) || fail "too few RSS samples ($n)"
median() { sed -n "$1,$2p" "$work/rss" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
q=$((n / 4))
second=$(median $((q + 1)) $((2 * q)))
last=$(median $((3 * q + 1)) "$n")
drift=$(awk -v a="$last" -v b="$second" 'BEGIN { printf "%.1f", (a - b) * 100 / b }')
total_ops=$((ops * readers))
echo "soak: $readers readers, $total_ops random reads checked, 6 commits landed; RSS median $((second / 1024)) MiB (2nd quarter) -> $((last / 1024)) MiB (last quarter), drift ${drift}%; pins 0, pool conserved"
awk -v a="$last" -v b="$second" 'BEGIN { exit !(a <= b * 1.10) }' || fail "RSS grew by ${drift}%"
