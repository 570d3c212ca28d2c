#!/usr/bin/env bash
# Crash loop: real `revfs commit` processes killed with SIGKILL at random
# moments (every other one once it has begun writing pages). After each kill the store must open at the last revision reported
# committed or at the one being written (never in between, never earlier),
# `revfs verify` must be clean, and at the end every revision that was
# reported committed must read back through the mount byte-identical to the
# tree it was made from. The store's segments are small (64 KiB), so kills
# land in commits that roll over to a new segment file too.
#
#   tests/reliability/crash_loop.sh REVFS_BINARY [COMMITS=200]
#
# Prints one line of figures; exits non-zero on any lost or damaged revision.
set -euo pipefail
revfs=$1
commits=${2:-200}
source "$(dirname "$0")/lib.sh"
setup_work "crash loop"
store=$work/store src=$work/src copies=$work/rev
mkdir -p "$src/d" "$copies"
"$revfs" init "$store" --segment-size 64K >/dev/null
cp -a "$src" "$copies/0"

# The bytes in the page log: the sizes of all segment files.
log_size() {
  local total=0 size
  for size in $(stat -c %s "$store"/segments/*); do total=$((total + size)); done
  echo "$total"
}
latest() { timeout 60 "$revfs" log "$store" --json | grep -o '"latest":[0-9]*' | cut -d: -f2; }

RANDOM=42
reported=0 kills=0 completed=0 landed_unreported=0 mid_commit=0 before_writing=0
for ((i = 1; i <= commits; i++)); do
  # Change the tree: rewrite some files (a few large enough to take time),
  # delete or rename one now and then.
  for ((k = 0; k < 3; k++)); do
    f=$src/d/f$((RANDOM % 12))
    if ((RANDOM % 4 == 0)); then
      head -c $((RANDOM * 60)) /dev/urandom > "$f"
    else
      seq $((RANDOM % 3000)) | sed "s/^/commit $i line /" > "$f"
    fi
  done
  ((RANDOM % 7 == 0)) && rm -f "$src/d/f$((RANDOM % 12))"
  ((RANDOM % 11 == 0)) && { [[ -e $src/d/f1 ]] && mv "$src/d/f1" "$src/d/moved$i" || true; }

  pages_before=$(log_size)
  "$revfs" commit "$store" "$src" -m "commit $i" > "$work/out" 2>&1 &
  pid=$!
  if ((i % 2 == 0)); then
    sleep "$(printf '0.%03d' $((RANDOM % 30)))"  # any moment: 0 to 29 ms
  else
    # While it writes: a commit of this small tree writes its pages in a
    # few ms after a longer scan, so kills at random moments mostly land
    # before; poll the page log (each stat takes about a ms) and kill as
    # soon as it grows.
    for ((w = 0; w < 5000; w++)); do
      (($(log_size) > pages_before)) && break
      kill -0 "$pid" 2>/dev/null || break
    done
  fi
  killed=0
  if kill -9 "$pid" 2>/dev/null; then killed=1; fi
  rc=0
  { wait "$pid"; } 2>/dev/null || rc=$?
  pages_after=$(log_size)
  now=$(latest) || fail "store does not open after kill $i"
  if ((killed == 1 && rc != 0)); then
    kills=$((kills + 1))
    # Killed: the store is at the last reported revision or the one being written.
    # Classify the kill: after the revision landed, mid-commit (pages
    # written, no new revision), or before the commit wrote anything.
    if ((now == reported + 1)); then
      landed_unreported=$((landed_unreported + 1))
      reported=$now
      cp -a "$src" "$copies/$now"
    elif ((now != reported)); then
      fail "after kill $i the store is at revision $now; last reported $reported"
    elif ((pages_after > pages_before)); then
      mid_commit=$((mid_commit + 1))
    else
      before_writing=$((before_writing + 1))
    fi
  else
    ((rc == 0)) || fail "commit $i failed: $(cat "$work/out")"
    got=$(grep -o 'committed revision [0-9]*' "$work/out" | grep -o '[0-9]*$')
    ((got == reported + 1)) || fail "commit $i reported revision $got after $reported"
    ((now == got)) || fail "commit $i reported revision $got but the store is at $now"
    completed=$((completed + 1))
    reported=$got
    cp -a "$src" "$copies/$got"
  fi
  timeout 120 "$revfs" verify "$store" > "$work/verify" 2>&1 || fail "verify after commit $i: $(cat "$work/verify")"
done

# Every revision reported committed reads back byte-identical.
timeout 60 "$revfs" mount "$store" "$mnt" || fail "cannot mount"
lost=0 damaged=0
for ((r = 1; r <= reported; r++)); do
  if [[ ! -d $mnt/revisions/$r ]]; then
    lost=$((lost + 1))
  elif ! timeout 120 diff -r "$mnt/revisions/$r" "$copies/$r" > "$work/diff" 2>&1; then
    damaged=$((damaged + 1))
    head -5 "$work/diff" >&2
  fi
done
echo "crash loop: $commits commits, $kills killed ($mid_commit mid-commit, $landed_unreported after their revision landed, $before_writing before writing a page), $completed completed; $reported revisions checked: $lost lost, $damaged damaged"
((lost == 0 && damaged == 0)) || exit 1
# A loop whose kills all miss the commit's writes proves nothing: at least a
# quarter of the commit processes must die between their first page and
# their revision.
((mid_commit * 4 >= commits)) || fail "only $mid_commit of $commits commits killed mid-commit (want 25 %)"
