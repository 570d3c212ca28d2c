#!/usr/bin/env bash
# The corruption campaign as users meet it: random single-byte flips (and
# truncations) of a committed store, each on a fresh copy; for each one
# `revfs verify` must exit non-zero, and every file of every revision read
# with `revfs cat` and through the mount must be either its exact bytes or a
# clean error (exit 1 / EIO) — never wrong bytes, never a crash, never a hang.
#   tests/reliability/corruption_cli.sh REVFS_BINARY [FLIPS=40] [MOUNTED=10]
set -euo pipefail
revfs=$1 flips=${2:-40} mounted=${3:-10}
source "$(dirname "$0")/lib.sh"
setup_work corruption
mkdir -p "$work/src/d" "$work/ref"
"$revfs" init "$work/store" >/dev/null
for rev in 1 2 3; do
  seq $((rev * 2000)) | sed "s/^/rev $rev /" > "$work/src/text"
  head -c $((50000 + rev)) /dev/urandom > "$work/src/d/random"
  echo "small $rev" > "$work/src/d/small$rev"
  "$revfs" commit "$work/store" "$work/src" >/dev/null
  cp -a "$work/src" "$work/ref/$rev"
done
files=(segments/0000000000 revisions superblock)
RANDOM=11
verify_caught=0 exact=0 errors=0 wrong=0 crashes=0 mounts=0 exact_mnt=0 errors_mnt=0 gone_mnt=0
for ((i = 1; i <= flips; i++)); do
  rm -rf "$work/c"
  cp -a "$work/store" "$work/c"
  f=$work/c/${files[RANDOM % 3]}
  size=$(stat -c %s "$f")
  at=$(( (RANDOM * 32768 + RANDOM) % size ))
  if ((i % 10 == 0)); then
    truncate -s "$at" "$f"
  else
    byte=$(od -An -tu1 -j "$at" -N1 "$f" | tr -d ' ')
    printf "$(printf '\\%03o' $(( (byte ^ 0xff) & 0xff )))" | dd of="$f" bs=1 seek="$at" conv=notrunc status=none
  fi
  rc=0
  timeout 60 "$revfs" verify "$work/c" >/dev/null 2>&1 || rc=$?
  ((rc == 124)) && fail "verify hung on flip $i"
  ((rc > 1)) && { crashes=$((crashes + 1)); echo "verify exit $rc on flip $i" >&2; }
  ((rc == 1)) && verify_caught=$((verify_caught + 1))
  # A store that `revfs log` opens must mount: a failed or hung mount is a
  # failure, not a reason to skip the reads through it.
  mount_it=0 daemon=
  if ((i <= mounted)); then
    opens=0
    timeout 60 "$revfs" log "$work/c" >/dev/null 2>&1 && opens=1
    # The daemon runs in the foreground as this script's child, so that
    # its exit status and log are checked after the unmount.
    "$revfs" mount "$work/c" "$mnt" -f > "$work/daemon.log" 2>&1 &
    daemon=$!
    for ((w = 0; w < 600; w++)); do
      grep -q " $mnt " /proc/mounts && break
      kill -0 "$daemon" 2>/dev/null || break
      sleep 0.1
    done
    if grep -q " $mnt " /proc/mounts; then
      mount_it=1 mounts=$((mounts + 1))
    else
      kill -9 "$daemon" 2>/dev/null || true
      rc=0
      wait "$daemon" || rc=$?
      if ((opens == 1)); then
        fail "flip $i: log opens the store but mount failed (exit $rc): $(head -c 300 "$work/daemon.log")"
      fi
    fi
  fi
  for rev in 1 2 3; do
    for p in text d/random d/small$rev; do
      rc=0
      timeout 60 "$revfs" cat "$work/c" "$rev" "$p" > "$work/out" 2>/dev/null || rc=$?
      cat_rc=$rc
      if ((rc == 0)); then
        if cmp -s "$work/out" "$work/ref/$rev/$p"; then exact=$((exact + 1)); else wrong=$((wrong + 1)); fi
      elif ((rc == 1)); then
        errors=$((errors + 1))
      else
        crashes=$((crashes + 1)); echo "cat exit $rc on flip $i, revision $rev, $p" >&2
      fi
      if ((mount_it == 1)); then
        rc=0
        timeout 60 cat "$mnt/revisions/$rev/$p" > "$work/out" 2> "$work/cat.err" || rc=$?
        ((rc == 124)) && fail "the mount hung on flip $i"
        # The daemon must outlive every read: a crash shows up as ENOTCONN
        # ("Transport endpoint is not connected"), never a clean error.
        if ! kill -0 "$daemon" 2>/dev/null; then
          fail "the daemon died reading revision $rev, $p on flip $i: $(cat "$work/cat.err")"
        fi
        timeout 10 stat "$mnt/revisions" >/dev/null 2>&1 || fail "the mount stopped answering on flip $i"
        if ((rc == 0)); then
          if cmp -s "$work/out" "$work/ref/$rev/$p"; then exact_mnt=$((exact_mnt + 1)); else wrong=$((wrong + 1)); fi
        elif grep -q 'Input/output error' "$work/cat.err"; then
          errors_mnt=$((errors_mnt + 1))
        elif grep -q 'No such file or directory' "$work/cat.err" && ((cat_rc == 1)) &&
             [[ ! -e $mnt/revisions/$rev ]]; then
          # The whole revision is gone, not a file inside it: the newer
          # superblock slot or the revision's index entry was damaged, and
          # `revfs cat` refused the revision too.
          gone_mnt=$((gone_mnt + 1))
        else
          fail "flip $i, revision $rev, $p through the mount: exit $rc, not EIO: $(cat "$work/cat.err")"
        fi
      fi
    done
  done
  if ((mount_it == 1)); then
    timeout 30 fusermount3 -u "$mnt" || fail "cannot unmount after flip $i"
    for ((w = 0; w < 200 && $(kill -0 "$daemon" 2>/dev/null && echo 1 || echo 0) == 1; w++)); do sleep 0.05; done
    kill -0 "$daemon" 2>/dev/null && fail "the daemon did not exit after unmounting flip $i"
    # After damage met, too: every segment back in the pool, exit 0.
    rc=0
    wait "$daemon" || rc=$?
    ((rc == 0)) || fail "flip $i: the daemon exited $rc: $(tail -c 400 "$work/daemon.log")"
    grep -q 'every segment back in the pool, no pin held' "$work/daemon.log" ||
      fail "flip $i: the daemon did not report its pool whole: $(tail -c 400 "$work/daemon.log")"
  fi
done
echo "corruption (cli and mount): $flips flips/truncations, verify caught $verify_caught; cat: $exact exact, $errors clean errors; mount ($mounts of the first $mounted flips mounted): $exact_mnt exact, $errors_mnt EIO, $gone_mnt ENOENT in revisions the store no longer has; $wrong wrong bytes, $crashes crashes"
((wrong == 0 && crashes == 0)) || exit 1
((verify_caught == flips)) || fail "verify missed $((flips - verify_caught)) damaged stores"
# The mount phase must have happened: most damaged stores still open.
((mounts * 2 >= mounted)) || fail "only $mounts of $mounted damaged stores mounted"
