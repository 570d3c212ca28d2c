#!/usr/bin/env bash
# Prune under SIGKILL: a history in small segments (64 KiB), revisions
# forgotten round by round (each `revfs forget` killed at a random moment),
# and each round's `revfs prune` killed ten times at random moments, then
# run again to the end (12 rounds: about 100 kills). After every kill `revfs verify`
# must be clean; after every round every kept revision must read back
# through a fresh mount byte-identical to the tree it was made from, the
# forgotten ones must be gone, and the store's segment files must have
# shrunk once the unique data of the forgotten revisions is dead.
#
#   tests/reliability/prune_crash.sh REVFS_BINARY [ROUNDS=12]
#
# Prints one line of figures; exits non-zero on any lost or damaged revision.
set -euo pipefail
revfs=$1
rounds=${2:-12}
source "$(dirname "$0")/lib.sh"
setup_work "prune crash"
store=$work/store src=$work/src copies=$work/rev
mkdir -p "$src/d" "$copies"
"$revfs" init "$store" --segment-size 64K >/dev/null

segment_bytes() { du -sb "$store/segments" | cut -f1; }
segment_names() { ls "$store/segments" | tr '\n' ' '; }

RANDOM=7
next=1
# Commits `n` revisions: each edits shared text files and writes a file of
# random bytes of its own (so that forgetting it frees real space).
commit_some() {
  local n=$1 k
  for ((k = 0; k < n; k++)); do
    rm -f "$src"/own-*
    head -c $((20000 + RANDOM % 60000)) /dev/urandom > "$src/own-$next"
    seq $((RANDOM % 2000)) | sed "s/^/rev $next line /" > "$src/d/t$((RANDOM % 5))"
    "$revfs" commit "$store" "$src" -m "rev $next" > "$work/out" 2>&1 ||
      fail "commit $next: $(cat "$work/out")"
    cp -a "$src" "$copies/$next"
    next=$((next + 1))
  done
}

kept=(0)
mkdir "$copies/0"  # revision 0: the empty tree
kills=0 mid_prune=0 shrunk=0 forget_kills=0
for ((round = 1; round <= rounds; round++)); do
  first=$next
  commit_some 8
  for ((r = first; r < next; r++)); do kept+=("$r"); done
  # Forget about half of the kept revisions, never the latest.
  forget=() keep=()
  for r in "${kept[@]}"; do
    if ((r != next - 1 && RANDOM % 2 == 0)); then forget+=("$r"); else keep+=("$r"); fi
  done
  kept=("${keep[@]}")
  if ((${#forget[@]} > 0)); then
    # forget, killed at a random moment: afterwards the store holds the old
    # retention state or the new one, never anything else.
    "$revfs" forget "$store" "${forget[@]}" > "$work/out" 2>&1 &
    pid=$!
    sleep "$(printf '0.%03d' $((RANDOM % 5)))"
    kill -9 "$pid" 2>/dev/null || true
    rc=0
    { wait "$pid"; } 2>/dev/null || rc=$?
    ((rc == 137)) && forget_kills=$((forget_kills + 1))
    ((rc == 0 || rc == 137)) || fail "forget ${forget[*]}: $(cat "$work/out")"
    timeout 120 "$revfs" verify "$store" > "$work/verify" 2>&1 ||
      fail "verify after the forget kill in round $round: $(cat "$work/verify")"
    # All of them forgotten or none: the switch is one superblock write.
    listed=0
    for r in "${forget[@]}"; do
      timeout 60 "$revfs" ls "$store" "$r" > /dev/null 2>&1 && listed=$((listed + 1))
    done
    if ((listed == ${#forget[@]})); then
      "$revfs" forget "$store" "${forget[@]}" > "$work/out" 2>&1 ||
        fail "forget ${forget[*]} after a kill: $(cat "$work/out")"
    elif ((listed != 0)); then
      fail "round $round: a killed forget left $listed of ${#forget[@]} revisions"
    fi
    for r in "${forget[@]}"; do rm -rf "${copies:?}/$r"; done
  fi

  # Prune, killed again and again at random moments (each kill lands in a
  # run that resumes what the killed ones left), verify clean after each.
  before=$(segment_bytes)
  for ((attempt = 0; attempt < 10; attempt++)); do
    names_before=$(segment_names)
    "$revfs" prune "$store" --max-unused 0 > "$work/out" 2>&1 &
    pid=$!
    sleep "$(printf '0.%03d' $((RANDOM % 15)))"
    kill -9 "$pid" 2>/dev/null || true
    rc=0
    { wait "$pid"; } 2>/dev/null || rc=$?
    if ((rc == 137)); then
      kills=$((kills + 1))
      [[ $(segment_names) != "$names_before" ]] && mid_prune=$((mid_prune + 1))
    else
      ((rc == 0)) || fail "prune in round $round: $(cat "$work/out")"
    fi
    timeout 120 "$revfs" verify "$store" > "$work/verify" 2>&1 ||
      fail "verify after prune kill $kills (round $round): $(cat "$work/verify")"
  done
  # The next prune finishes the work. Every prune supersedes the retention
  # page before it, a dead page in the segment appended to; once an eighth
  # of that segment is dead, the run after seals and packs it (writing the
  # retention page anew in the next segment first, so the packed one keeps
  # no page the next run would pack again). So within two more runs a
  # prune finds nothing to do.
  timeout 120 "$revfs" prune "$store" --max-unused 0 > "$work/out" 2>&1 ||
    fail "prune after the kill in round $round: $(cat "$work/out")"
  idle=0
  for ((extra = 1; extra <= 2 && idle == 0; extra++)); do
    timeout 120 "$revfs" prune "$store" --max-unused 0 --json > "$work/out" 2>&1 ||
      fail "prune $extra after the finishing one in round $round: $(cat "$work/out")"
    grep -q '"segments_packed":0,"segments_deleted":0' "$work/out" && idle=1
  done
  ((idle)) || fail "prunes never reach a fixed point in round $round: $(cat "$work/out")"
  after=$(segment_bytes)
  ((after < before)) && shrunk=$((shrunk + 1))
  timeout 120 "$revfs" verify "$store" > "$work/verify" 2>&1 ||
    fail "verify after round $round: $(cat "$work/verify")"

  timeout 60 "$revfs" mount "$store" "$mnt" || fail "cannot mount in round $round"
  for r in "${kept[@]}"; do
    [[ -d $mnt/revisions/$r ]] || fail "round $round: kept revision $r is gone"
    timeout 120 diff -r "$mnt/revisions/$r" "$copies/$r" > "$work/diff" 2>&1 ||
      fail "round $round: revision $r differs: $(head -5 "$work/diff")"
  done
  for r in "${forget[@]}"; do
    [[ ! -e $mnt/revisions/$r ]] || fail "round $round: forgotten revision $r is listed"
  done
  fusermount3 -u "$mnt"
done
echo "prune crash: $rounds rounds, $kills prunes killed ($mid_prune after changing segment files), $forget_kills forgets killed, store shrank in $shrunk rounds; ${#kept[@]} kept revisions read back exact"
# Kills that all land before prune touches a file prove nothing.
((kills >= 80)) || fail "only $kills prunes were killed (want 80 of $((rounds * 10)))"
((mid_prune * 4 >= rounds)) || fail "only $mid_prune prunes killed after changing segment files"
((shrunk * 2 >= rounds)) || fail "the store shrank in only $shrunk of $rounds rounds"
