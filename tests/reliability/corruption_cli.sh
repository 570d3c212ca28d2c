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
files=(pages revisions superblock)
RANDOM=11
verify_caught=0 exact=0 errors=0 wrong=0 crashes=0
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
  mount_it=0
  if ((i <= mounted)) && timeout 60 "$revfs" mount "$work/c" "$mnt" 2>/dev/null; then mount_it=1; fi
  for rev in 1 2 3; do
    for p in text d/random d/small$rev; do
      rc=0
      timeout 60 "$revfs" cat "$work/c" "$rev" "$p" > "$work/out" 2>/dev/null || rc=$?
      if ((rc == 0)); then
        if cmp -s "$work/out" "$work/ref/$rev/$p"; then exact=$((exact + 1)); else wrong=$((wrong + 1)); fi
      elif ((rc == 1)); then
        errors=$((errors + 1))
      else
        crashes=$((crashes + 1)); echo "cat exit $rc on flip $i, revision $rev, $p" >&2
      fi
      if ((mount_it == 1)); then
        rc=0
        timeout 60 cat "$mnt/revisions/$rev/$p" > "$work/out" 2>/dev/null || rc=$?
        ((rc == 124)) && fail "the mount hung on flip $i"
        if ((rc == 0)); then
          if cmp -s "$work/out" "$work/ref/$rev/$p"; then exact=$((exact + 1)); else wrong=$((wrong + 1)); fi
        else
          errors=$((errors + 1))
        fi
      fi
    done
  done
  ((mount_it == 1)) && fusermount3 -u "$mnt"
done
echo "corruption (cli and mount): $flips flips/truncations, verify caught $verify_caught; reads: $exact exact, $errors clean errors, $wrong wrong bytes, $crashes crashes"
((wrong == 0 && crashes == 0)) || exit 1
((verify_caught == flips)) || fail "verify missed $((flips - verify_caught)) damaged stores"
