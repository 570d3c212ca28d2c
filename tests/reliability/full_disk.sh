#!/usr/bin/env bash
# A full disk for real: a store on an 8 MiB tmpfs, committed to until the
# filesystem fills. The commit that meets ENOSPC must be a one-line error
# with exit 1, leave the store's lock free and `verify` clean at the last
# revision, and once space is freed the next commit must succeed and read
# back exactly.
#   tests/reliability/full_disk.sh REVFS_BINARY
set -euo pipefail
revfs=$1
source "$(dirname "$0")/lib.sh"
setup_work "full disk"
small=$work/small
mkdir -p "$small" "$work/src"
mount -t tmpfs -o size=8M tmpfs "$small" || fail "cannot mount a tmpfs (run as root)"
# Unmount the tmpfs however the script ends, then what setup_work cleans.
trap 'umount -l "$small" 2>/dev/null || true; fusermount3 -u "$mnt" 2>/dev/null || true; rm -rf "$work"' EXIT
store=$small/store
# Space to free later: the store alone fills what is left.
head -c $((1024 * 1024)) /dev/zero > "$small/filler"
timeout 60 "$revfs" init "$store" >/dev/null

failed_rc=0 last=0
for ((i = 1; i <= 40; i++)); do
  head -c $((700 * 1024)) /dev/urandom > "$work/src/f$i"  # incompressible
  rc=0
  timeout 120 "$revfs" commit "$store" "$work/src" -m "fill $i" > "$work/out" 2> "$work/err" || rc=$?
  if ((rc != 0)); then failed_rc=$rc; break; fi
  last=$i
done
((failed_rc != 0)) || fail "40 commits of 700 KiB never filled an 8 MiB filesystem"
((failed_rc == 1)) || fail "the commit on a full disk exited $failed_rc: $(cat "$work/err")"
[[ $(wc -l < "$work/err") == 1 ]] || fail "not one line on a full disk: $(cat "$work/err")"
grep -q '^revfs: ' "$work/err" || fail "not a revfs error: $(cat "$work/err")"
grep -qi 'space' "$work/err" || fail "the error does not say the disk is full: $(cat "$work/err")"
echo "full disk: $last commits fitted, commit $((last + 1)) failed: $(cat "$work/err")"

# The lock is free (a non-blocking flock succeeds) and the store is whole.
flock -n "$store/LOCK" true || fail "the store's lock is still held after the failed commit"
timeout 120 "$revfs" verify "$store" > "$work/verify" 2>&1 || fail "verify after ENOSPC: $(cat "$work/verify")"
latest=$(timeout 60 "$revfs" log "$store" --json | grep -o '"latest":[0-9]*' | cut -d: -f2)
((latest == last)) || fail "the store is at revision $latest after $last commits"

# Free space; the next commit succeeds and reads back.
rm "$small/filler" "$work/src/f$((last + 1))"
echo "after the disk was full" > "$work/src/after"
timeout 120 "$revfs" commit "$store" "$work/src" -m after > "$work/out" 2>&1 ||
  fail "commit after freeing space: $(cat "$work/out")"
timeout 120 "$revfs" verify "$store" > "$work/verify" 2>&1 || fail "verify after the next commit: $(cat "$work/verify")"
[[ $(timeout 60 "$revfs" cat "$store" latest after) == "after the disk was full" ]] || fail "the next commit does not read back"
for f in "$work"/src/f*; do
  timeout 60 "$revfs" cat "$store" latest "${f##*/}" | cmp -s - "$f" || fail "${f##*/} differs after the full disk"
done
echo "full disk: the next commit after freeing space landed as revision $((last + 1)), verify clean"
