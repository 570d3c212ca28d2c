#!/usr/bin/env bash
# Watch benchmark: a 200,000-file tree (tree_gen make DIR 1 200000 2000)
# committed once, then, per run and per watcher (fanotify, inotify), 100
# edited files (tree_gen edit) recorded two ways in the same run:
#   - `revfs commit` (a full walk: every entry lstat'ed), its wall time and
#     its capture_ms counter (walk and records, before the commit's write);
#   - `revfs watch -f --debounce D` running: the capture_ms counter of the
#     watched revision (the work after the debounce), and the latency from
#     the end of the edits to the revision's appearance in the store; for
#     the first 100 edits after the watcher's start, and for two more
#     rounds of 100 (a watcher that has been running: the leaves the round
#     before wrote are the ones it reads).
# Also the watcher's CPU time while idle for 10 s (utime+stime from
# /proc/PID/stat, in clock ticks: 0 means no polling). Medians over RUNS.
#
#   tests/bench/watch_bench.sh [RUNS=3] [DEBOUNCE=0.5] [FILES=200000]
set -euo pipefail
. "$(dirname "$0")/lib.sh"  # the helpers shared by the benchmark scripts
cd "$(dirname "$0")/../.."
root=$(pwd)
runs=${1:-3}
debounce=${2:-0.5}
files=${3:-200000}

build_bench "$root" revfs tree_gen
revfs=$root/build/bench/mount/revfs
gen=$root/build/bench/tests/bench/tree_gen

mkdir -p /tmp/watch
work=$(mktemp -d /tmp/watch/bench.XXXXXX)
pid=
trap '[[ -n $pid ]] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }
latest() { stat -c %s "$work/store/revisions"; }  # grows with every revision
# counter REV NAME: a counter of revision REV, and how REV was made. The
# revisions file grows before the commit's superblock is written: REV may
# not be listed yet, so this asks again for up to 5 s.
counter() {
  local out i
  for i in $(seq 1 500); do
    out=$("$revfs" log --json "$work/store" | python3 -c "import json,sys
rs = [r for r in json.load(sys.stdin)['revisions'] if r['revision'] == $1]
print(rs and '%s %s' % (rs[0]['counters'].get('$2', ''), rs[0].get('made', '')) or '')")
    if [[ -n $out ]]; then echo "$out"; return; fi
    sleep 0.01
  done
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

"$gen" make "$work/src" 1 "$files" 2000
"$revfs" init "$work/store" >/dev/null
t0=$(now)
"$revfs" commit "$work/store" "$work/src" >/dev/null
first_ms=$(ms "$t0" "$(now)")
rev=1

declare -A full_wall full_cap watch_cap watch_all latency idle later_cap later_all later_lat
seed=100
for run in $(seq 1 "$runs"); do
  for watcher in fanotify inotify; do
    # A full walk after 100 edits.
    "$gen" edit "$work/src" $((seed++)) 100 >/dev/null
    t0=$(now)
    "$revfs" commit "$work/store" "$work/src" >/dev/null
    full_wall[$watcher]+="$(ms "$t0" "$(now)") "
    rev=$((rev + 1))
    full_cap[$watcher]+="$(counter $rev capture_ms | cut -d' ' -f1) "

    # The watcher: its first walk, then idle, then 100 edits.
    before=$(latest)
    "$revfs" watch -f "$work/store" "$work/src" --debounce "$debounce" --watcher "$watcher" \
      2>>"$work/watch.log" &
    pid=$!
    while [[ $(latest) == "$before" ]]; do sleep 0.01; done
    rev=$((rev + 1))
    if ((run == 1)); then
      sleep 1
      a=$(ticks "$pid")
      sleep 10
      idle[$watcher]=$(( $(ticks "$pid") - a ))
    fi
    # Three rounds of 100 edits: the first after the watcher's start, the
    # others as a watcher that has been running meets them.
    for round in 1 2 3; do
      before=$(latest)
      "$gen" edit "$work/src" $((seed++)) 100 >/dev/null
      t0=$(now)
      while [[ $(latest) == "$before" ]]; do sleep 0.002; done
      lat=$(ms "$t0" "$(now)")
      rev=$((rev + 1))
      read -r cap made < <(counter $rev capture_ms)
      [[ $made == watched ]] || { echo "revision $rev was made by $made, not watched" >&2; exit 1; }
      sleep 0.3
      all=$(grep -o "revision $rev: .*, \([0-9.]*\) ms in all" "$work/watch.log" |
            sed 's/.*, \([0-9.]*\) ms in all/\1/')
      if ((round == 1)); then
        latency[$watcher]+="$lat "; watch_cap[$watcher]+="$cap "; watch_all[$watcher]+="$all "
      else
        later_lat[$watcher]+="$lat "; later_cap[$watcher]+="$cap "; later_all[$watcher]+="$all "
      fi
    done
    kill -TERM "$pid"
    wait "$pid"
    pid=
  done
done
"$revfs" verify "$work/store" >/dev/null

echo "$(measured_on "$root")"
echo
echo "Command: tests/bench/watch_bench.sh $runs $debounce $files (medians of $runs runs;"
echo "first commit of the $files-file tree: $first_ms ms)."
echo
echo "| watcher | full walk: wall ms | full walk: capture_ms | watched: capture_ms | watched: ms in all | watched ÷ full (capture_ms) | latency ms (debounce $debounce s) | idle CPU ticks / 10 s |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for watcher in fanotify inotify; do
  fw=$(median ${full_wall[$watcher]}); fc=$(median ${full_cap[$watcher]})
  wc=$(median ${watch_cap[$watcher]}); wa=$(median ${watch_all[$watcher]})
  echo "| $watcher, first edits after the start | $fw | $fc | $wc | $wa | $(ratio "$wc" "$fc") | $(median ${latency[$watcher]}) | ${idle[$watcher]} |"
  lc=$(median ${later_cap[$watcher]}); la=$(median ${later_all[$watcher]})
  echo "| $watcher, the next two rounds | | | $lc | $la | $(ratio "$lc" "$fc") | $(median ${later_lat[$watcher]}) | |"
done
