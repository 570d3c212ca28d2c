#!/usr/bin/env bash
# The benchmark suite: revfs against native and against the tools users would
# otherwise pick (git, restic, borg, squashfs images), in one run, medians of
# RUNS runs. Not part of tests/run.sh.
#
#   Import, for two histories: a synthetic one (REVISIONS revisions from
#   history_gen: 1,600 files, 22 MB, a few percent changed per revision) and
#   this project's own git history (the last up-to-GIT_COMMITS first-parent
#   commits, `git archive | tar -x` per commit): time and store size of
#   revfs init + commit, git add -A && commit, restic backup, borg create and
#   mksquashfs (one image per revision).
#
#   Reads, on the synthetic history, through a native copy, the revfs mount,
#   restic mount, borg mount and squashfuse, cold (page cache dropped and a
#   fresh mount before every measurement) and warm (same mount, after one
#   untimed pass):
#     read-all  every file of revision B (find | xargs cat)
#     diff-r    diff -r of revisions A and B
#     grep-r    grep -r -c status42 over revision B
#     seq-big   cat of one BIG_MB random file (its own revision / snapshot /
#               archive / image)
#     rand-4k   2,000 preads of 4 KiB at random aligned offsets of that file
#   A = REVISIONS/5 and B = REVISIONS*4/5 (10 and 40 for 50 revisions).
#   Then the revfs daemon's RSS and .revfs/stats after the warm pass.
#
# Writes tests/bench/RESULTS.md and prints it. A tool that fails is reported
# as n/a (the reason goes to stderr) and the run goes on. Needs root
# (apt-get, drop_caches) and /dev/fuse.
#
#   tests/bench/run.sh [RUNS=3] [REVISIONS=50]
#   env: BIG_MB=1024  GIT_COMMITS=50  GIT_REPO=<the repository of this script>
set -euo pipefail
. "$(dirname "$0")/lib.sh"  # the helpers shared by the benchmark scripts
cd "$(dirname "$0")/../.."
root=$(pwd)
runs=${1:-3}
revisions=${2:-50}
big_mb=${BIG_MB:-1024}
git_commits=${GIT_COMMITS:-50}
git_repo=${GIT_REPO:-$root}

usage() { echo "usage: $0 [RUNS=3] [REVISIONS=50]   (env BIG_MB=1024 GIT_COMMITS=50 GIT_REPO=DIR)" >&2; exit 1; }
for v in "$runs" "$revisions" "$big_mb" "$git_commits"; do [[ $v =~ ^[0-9]+$ ]] || usage; done
((runs >= 1 && revisions >= 2 && big_mb >= 1 && git_commits >= 1)) || usage
if [[ $(id -u) -ne 0 ]]; then
  echo "$0: must run as root (apt-get, /proc/sys/vm/drop_caches, mounts)" >&2
  exit 1
fi
[[ -c /dev/fuse ]] || { echo "$0: /dev/fuse is missing" >&2; exit 1; }

rev_a=$((revisions / 5)) rev_b=$((revisions * 4 / 5))
((rev_a >= 1)) || rev_a=1
((rev_b > rev_a)) || rev_b=$((rev_a + 1))
((rev_b <= revisions)) || rev_b=$revisions
rev_big=$((revisions + 1))

# --- packages and build --------------------------------------------------------
echo "== apt-get update and packages" >&2
apt-get update -qq >&2 || echo "$0: apt-get update failed; trying with the package lists at hand" >&2
# python3-pyfuse3: `borg mount` needs it and is only a Recommends of borgbackup
# (install_deps.sh installs without recommends).
tests/install_deps.sh restic borgbackup squashfuse squashfs-tools git python3-pyfuse3 >&2

work=$(mktemp -d /tmp/revfs-suite.XXXXXX)
restic_pid=
cleanup() {
  set +e
  local m
  # every mount below the work directory, deepest first
  for _ in 1 2; do
    while read -r m; do
      fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
    done < <(findmnt -rn -o TARGET | grep -F "$work/" | sort -r)
    [[ -n $restic_pid ]] && kill "$restic_pid" 2>/dev/null
    sleep 0.2
  done
  if findmnt -rn -o TARGET | grep -qF "$work/"; then
    echo "$0: something is still mounted below $work; left it in place" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== building revfs, history_gen and random_reads into build/bench" >&2
if ! { cmake -S "$root" -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release &&
       cmake --build build/bench -j "$(nproc)" --target revfs history_gen random_reads; } >"$work/build.log" 2>&1; then
  cat "$work/build.log" >&2
  echo "$0: build failed" >&2
  exit 1
fi
revfs=$root/build/bench/mount/revfs
gen=$root/build/bench/tests/bench/history_gen
rr=$root/build/bench/tests/bench/random_reads

export RESTIC_PASSWORD=revfs-bench RESTIC_CACHE_DIR=$work/cache/restic
export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
export BORG_BASE_DIR=$work/cache/borg
gitc=(git -c user.name=bench -c user.email=bench@example.com -c gc.auto=0 -c core.autocrlf=false)

# --- helpers -------------------------------------------------------------------
now() { echo "${EPOCHREALTIME//[^0-9]/}"; }  # µs
fmt_ms() {  # µs -> ms
  [[ -n ${1:-} ]] || { echo n/a; return; }
  awk -v u="$1" 'BEGIN { m = u / 1000; if (m >= 100) printf "%.0f", m; else printf "%.1f", m }'
}
size_of() { du -sb "$1" | cut -f1; }

declare -A bad=()  # key -> why it is n/a
fail() {  # fail KEY WHY...
  local key=$1; shift
  if [[ -z ${bad[$key]:-} ]]; then
    bad[$key]="$*"
    echo "$0: $key failed, recorded as n/a: $*" >&2
  fi
}
# attempt KEY CMD...: runs CMD (output to a log) unless KEY has failed; a
# failure marks KEY with the command and its last lines of output.
attempt() {
  local key=$1 rc=0; shift
  [[ -z ${bad[$key]:-} ]] || return 1
  "$@" >"$work/attempt.log" 2>&1 || rc=$?
  ((rc == 0)) && return 0
  fail "$key" "\`$*\` exited $rc: $(tail -n 3 "$work/attempt.log" | tr '\n' ' ')"
  return 1
}

# --- import --------------------------------------------------------------------
import_tools=(revfs git restic borg squashfs)
declare -A imp_us=() imp_size=() raw_size=() gc_us=() gc_size=()

# imp_init H DIR T0: a fresh, empty store of every tool under DIR
imp_init() {
  local h=$1 d=$2 t0=$3 a
  mkdir -p "$d/sqfs"
  a=$(now)
  attempt "imp:$h:revfs" "$revfs" init "$d/revfs" ${t0:+--time "$t0"} && t_tool[revfs]=$(($(now) - a))
  a=$(now)
  attempt "imp:$h:git" "${gitc[@]}" --git-dir="$d/git" init -q && t_tool[git]=$(($(now) - a))
  a=$(now)
  attempt "imp:$h:restic" restic -r "$d/restic" init && t_tool[restic]=$(($(now) - a))
  a=$(now)
  attempt "imp:$h:borg" borg init --encryption=none "$d/borg" && t_tool[borg]=$(($(now) - a))
  t_tool[squashfs]=0
}
# imp_commit H DIR TREE NAME [TIME]: TREE as the next revision of every tool
imp_commit() {
  local h=$1 d=$2 tree=$3 name=$4 when=${5:-} a
  a=$(now)
  attempt "imp:$h:revfs" "$revfs" commit "$d/revfs" "$tree" -m "$name" ${when:+--time "$when"} &&
    t_tool[revfs]=$((t_tool[revfs] + $(now) - a))
  a=$(now)
  attempt "imp:$h:git" "${gitc[@]}" --git-dir="$d/git" --work-tree="$tree" add -A &&
    attempt "imp:$h:git" "${gitc[@]}" --git-dir="$d/git" --work-tree="$tree" commit -q --allow-empty -m "$name" &&
    t_tool[git]=$((t_tool[git] + $(now) - a))
  a=$(now)
  attempt "imp:$h:restic" restic -r "$d/restic" backup -q --tag "$name" "$tree" &&
    t_tool[restic]=$((t_tool[restic] + $(now) - a))
  a=$(now)
  # from inside the tree, so an archive's root is the tree itself
  attempt "imp:$h:borg" bash -c 'cd "$1" && borg create "$2" .' _ "$tree" "$d/borg::$name" &&
    t_tool[borg]=$((t_tool[borg] + $(now) - a))
  a=$(now)
  attempt "imp:$h:squashfs" mksquashfs "$tree" "$d/sqfs/$name.sqfs" -comp zstd -noappend -quiet &&
    t_tool[squashfs]=$((t_tool[squashfs] + $(now) - a))
  return 0
}
# imp_finish H DIR: records this run's times and sizes
imp_finish() {
  local h=$1 d=$2 tool a
  for tool in "${import_tools[@]}"; do
    [[ -z ${bad[imp:$h:$tool]:-} ]] || continue
    imp_us[$h,$tool]+="${t_tool[$tool]} "
    case $tool in
      squashfs) imp_size[$h,$tool]+="$(size_of "$d/sqfs") " ;;
      *) imp_size[$h,$tool]+="$(size_of "$d/$tool") " ;;
    esac
  done
  if [[ -z ${bad[imp:$h:git]:-} ]]; then
    a=$(now)
    if attempt "imp:$h:git-gc" "${gitc[@]}" --git-dir="$d/git" gc -q; then
      gc_us[$h]+="$((t_tool[git] + $(now) - a)) "
      gc_size[$h]+="$(size_of "$d/git") "
    fi
  fi
}

declare -A t_tool=()
synth=$work/imp/synth
for run in $(seq 1 "$runs"); do
  echo "== import of the synthetic history ($revisions revisions), run $run/$runs" >&2
  rm -rf "$work/imp/synth" "$work/src"
  imp_init synth "$synth" ""
  raw=0
  for k in $(seq 1 "$revisions"); do
    "$gen" "$work/src" 7 $((k - 1))
    imp_commit synth "$synth" "$work/src" "r$k"
    ((run == 1)) && raw=$((raw + $(size_of "$work/src")))
    if ((run == runs)) && ((k == rev_a || k == rev_b)); then
      rm -rf "$work/native/r$k"
      mkdir -p "$work/native"
      cp -a "$work/src" "$work/native/r$k"
    fi
  done
  ((run == 1)) && raw_size[synth]=$raw
  imp_finish synth "$synth"
done
# The big file: the next revision / snapshot / archive and its own image.
echo "== a $big_mb MiB random file as revision $rev_big" >&2
mkdir -p "$work/big"
head -c $((big_mb << 20)) /dev/urandom > "$work/big/file"
attempt imp:synth:revfs "$revfs" commit "$synth/revfs" "$work/big" -m big || true
attempt imp:synth:restic restic -r "$synth/restic" backup -q --tag big "$work/big" || true
attempt imp:synth:borg bash -c 'cd "$1" && borg create "$2" .' _ "$work/big" "$synth/borg::big" || true
attempt imp:synth:squashfs mksquashfs "$work/big" "$synth/sqfs/big.sqfs" -comp zstd -noappend -quiet || true
rm -rf "$synth/git"

# The project's own history.
mapfile -t commits < <(git -c safe.directory="*" -C "$git_repo" log --first-parent -n "$git_commits" --format='%H %ct' 2>/dev/null | tac)
git_head=$(git -c safe.directory="*" -C "$git_repo" rev-parse --short HEAD 2>/dev/null || echo "?")
if ((${#commits[@]} == 0)); then
  for tool in "${import_tools[@]}"; do fail "imp:git:$tool" "$git_repo has no git history"; done
else
  first_time=${commits[0]##* }
  t0=$(date -u -d "@$((first_time - 1))" +%Y-%m-%dT%H:%M:%SZ)
  gh=$work/imp/githist
  for run in $(seq 1 "$runs"); do
    echo "== import of the last ${#commits[@]} commits of $git_repo, run $run/$runs" >&2
    rm -rf "$gh"
    mkdir -p "$work/tree"
    imp_init git "$gh" "$t0"
    raw=0 last=$((first_time - 1)) k=0
    for line in "${commits[@]}"; do
      hash=${line%% *} t=${line##* }
      ((t > last)) || t=$((last + 1))  # revfs commit times may not go backwards
      last=$t k=$((k + 1))
      find "$work/tree" -mindepth 1 -delete
      git -c safe.directory="*" -C "$git_repo" archive "$hash" | tar -x -C "$work/tree"
      imp_commit git "$gh" "$work/tree" "r$k" "$(date -u -d "@$t" +%Y-%m-%dT%H:%M:%SZ)"
      ((run == 1)) && raw=$((raw + $(size_of "$work/tree")))
    done
    ((run == 1)) && raw_size[git]=$raw
    imp_finish git "$gh"
  done
  rm -rf "$gh" "$work/tree"
fi

# --- reads ---------------------------------------------------------------------
read_tools=(native revfs restic borg squashfuse)
workloads=(read-all diff-r grep-r seq-big rand-4k)
declare -A needs=([read-all]="B" [diff-r]="A B" [grep-r]="B" [seq-big]="big" [rand-4k]="big")
declare -A arch=([A]="r$rev_a" [B]="r$rev_b" [big]="big")
declare -A revno=([A]=$rev_a [B]=$rev_b [big]=$rev_big)
declare -A srcdir=([A]="$work/src" [B]="$work/src" [big]="$work/big")
declare -A restic_id=()
for tool in revfs restic borg; do
  [[ -z ${bad[imp:synth:$tool]:-} ]] || fail "read:$tool" "the import into $tool failed"
done
[[ -z ${bad[imp:synth:squashfs]:-} ]] || fail "read:squashfuse" "mksquashfs failed"
if [[ -z ${bad[read:restic]:-} ]]; then
  for key in A B big; do
    id=$(restic -r "$synth/restic" snapshots --json --tag "${arch[$key]}" 2>"$work/attempt.log" |
      grep -o '"short_id":"[0-9a-f]*"' | head -1 | cut -d'"' -f4) || true
    [[ -n $id ]] || { fail read:restic "no snapshot tagged ${arch[$key]}: $(tail -n 2 "$work/attempt.log")"; break; }
    restic_id[$key]=$id
  done
fi
mnt=$work/mnt
mkdir -p "$mnt"/{revfs,restic,borg-A,borg-B,borg-big,sq-A,sq-B,sq-big}
revfs_daemon() { pgrep -f "revfs mount $synth/revfs $mnt/revfs" | head -1 || true; }

down() {  # down TOOL: unmounts every mount of TOOL
  local m pid
  case $1 in
    native) ;;
    revfs)
      pid=$(revfs_daemon)
      mountpoint -q "$mnt/revfs" && { fusermount3 -u "$mnt/revfs" || fusermount3 -uz "$mnt/revfs"; }
      for _ in $(seq 50); do [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done ;;
    restic)
      mountpoint -q "$mnt/restic" && { fusermount3 -u "$mnt/restic" || fusermount3 -uz "$mnt/restic"; }
      if [[ -n $restic_pid ]]; then
        for _ in $(seq 100); do kill -0 "$restic_pid" 2>/dev/null || break; sleep 0.1; done
        kill "$restic_pid" 2>/dev/null || true
        wait "$restic_pid" 2>/dev/null || true
        restic_pid=
      fi ;;
    borg)
      for m in "$mnt"/borg-*; do
        mountpoint -q "$m" && { borg umount "$m" || fusermount3 -uz "$m"; }
      done ;;
    squashfuse)
      for m in "$mnt"/sq-*; do
        mountpoint -q "$m" && { fusermount3 -u "$m" || fusermount3 -uz "$m"; }
      done ;;
  esac
  return 0
}
up() {  # up TOOL KEYS...: a fresh mount of TOOL showing the trees KEYS (A B big)
  local tool=$1 key; shift
  down "$tool"
  case $tool in
    native) ;;
    revfs) "$revfs" mount "$synth/revfs" "$mnt/revfs" ;;
    restic)
      restic -r "$synth/restic" mount "$mnt/restic" >"$work/restic-mount.log" 2>&1 &
      restic_pid=$!
      for _ in $(seq 600); do
        [[ -d $mnt/restic/snapshots ]] && return 0
        kill -0 "$restic_pid" 2>/dev/null || break
        sleep 0.1
      done
      cat "$work/restic-mount.log" >&2
      down restic
      return 1 ;;
    borg) for key; do borg mount "$synth/borg::${arch[$key]}" "$mnt/borg-$key" || return 1; done ;;
    squashfuse) for key; do squashfuse "$synth/sqfs/${arch[$key]}.sqfs" "$mnt/sq-$key" || return 1; done ;;
  esac
}
setpaths() {  # setpaths TOOL: p[A], p[B], p[big] = where TOOL shows those trees
  local key
  for key in A B big; do
    case $1 in
      native) [[ $key == big ]] && p[$key]=$work/big || p[$key]=$work/native/${arch[$key]} ;;
      revfs) p[$key]=$mnt/revfs/revisions/${revno[$key]} ;;
      # restic mount: ids/<short id>/<the absolute path that was backed up>
      restic) p[$key]=$mnt/restic/ids/${restic_id[$key]:-none}${srcdir[$key]} ;;
      borg) p[$key]=$mnt/borg-$key ;;
      squashfuse) p[$key]=$mnt/sq-$key ;;
    esac
  done
}
declare -A p=()
workload() {  # workload TOOL NAME (paths from setpaths)
  case $2 in
    read-all) find "${p[B]}" -type f -print0 | xargs -0 cat > /dev/null ;;
    diff-r) diff -r "${p[A]}" "${p[B]}" > /dev/null || (($? == 1)) ;;
    grep-r) grep -r -c status42 "${p[B]}" > /dev/null || (($? == 1)) ;;
    seq-big) cat "${p[big]}/file" > /dev/null ;;
    rand-4k) "$rr" "${p[big]}/file" 2000 42 ;;
  esac
}
measure() {  # measure TOOL NAME: prints the µs it took; fails if the work failed
  local a b
  setpaths "$1"
  a=$(now)
  workload "$1" "$2" 2>"$work/workload.err" || return 1
  b=$(now)
  echo $((b - a))
}
declare -A res=()  # NAME,MODE,TOOL -> µs of each run
record() {  # record TOOL NAME MODE
  local us
  if us=$(measure "$1" "$2"); then
    res[$2,$3,$1]+="$us "
  else
    fail "read:$1:$2" "$2 ($3) failed: $(tail -n 3 "$work/workload.err" | tr '\n' ' ')"
  fi
}
usable() { [[ -z ${bad[read:$1]:-} && -z ${bad[read:$1:${2:-}]:-} ]]; }
# up_or_fail TOOL KEYS...: up, or the tool's reads recorded as failed (false).
up_or_fail() {
  up "$@" >"$work/attempt.log" 2>&1 && return 0
  fail "read:$1" "mount failed: $(tail -n 3 "$work/attempt.log" | tr '\n' ' ')"
  return 1
}

echo "== reads on the synthetic history: revisions A=$rev_a and B=$rev_b, the big file in revision $rev_big" >&2
# Each tool must show the same bytes as the native copies.
for tool in revfs restic borg squashfuse; do
  usable "$tool" || continue
  echo "   checking $tool against the native copies" >&2
  if up_or_fail "$tool" A B big; then
    setpaths "$tool"
    diff -rq "$work/native/${arch[A]}" "${p[A]}" >"$work/attempt.log" 2>&1 &&
      diff -rq "$work/native/${arch[B]}" "${p[B]}" >>"$work/attempt.log" 2>&1 &&
      cmp "$work/big/file" "${p[big]}/file" >>"$work/attempt.log" 2>&1 ||
      fail "read:$tool" "its trees differ from the native copies: $(head -n 3 "$work/attempt.log" | tr '\n' ' ')"
  fi
  down "$tool"
done

for run in $(seq 1 "$runs"); do
  echo "== cold reads, run $run/$runs" >&2
  for w in "${workloads[@]}"; do
    for tool in "${read_tools[@]}"; do
      usable "$tool" "$w" || continue
      drop
      # shellcheck disable=SC2086
      up_or_fail "$tool" ${needs[$w]} || continue
      record "$tool" "$w" cold
    done
  done
done
for tool in "${read_tools[@]}"; do down "$tool"; done

rss_kib='' stats=''
for tool in "${read_tools[@]}"; do
  usable "$tool" || continue
  echo "== warm reads through $tool" >&2
  up_or_fail "$tool" A B big || continue
  setpaths "$tool"
  for w in "${workloads[@]}"; do usable "$tool" "$w" && { workload "$tool" "$w" 2>/dev/null || true; }; done
  for run in $(seq 1 "$runs"); do
    for w in "${workloads[@]}"; do usable "$tool" "$w" && record "$tool" "$w" warm; done
  done
  if [[ $tool == revfs ]]; then
    pid=$(revfs_daemon)
    [[ -n $pid ]] && rss_kib=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
    stats=$(cat "$mnt/revfs/.revfs/stats" 2>/dev/null || true)
  fi
  down "$tool"
done

# --- report --------------------------------------------------------------------
cell() {  # cell LIST -> median, or empty
  local -a v
  read -r -a v <<< "${1:-}"
  ((${#v[@]})) && median "${v[@]}"
  return 0
}
json_num() { grep -o "\"$1\":[0-9]*" <<< "$stats" | head -1 | cut -d: -f2; }
vers() { "$@" 2>&1 | head -1 | tr -d '\n'; }
out=$work/RESULTS.md
{
  echo "# Benchmark suite: revfs against native, git, restic, borg and squashfs"
  echo
  measured_on "$root"
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, Linux $(uname -r); medians of $runs runs."
  echo "Command: \`BIG_MB=$big_mb tests/bench/run.sh $runs $revisions\`."
  echo "Versions: $(vers "$revfs" --version); $(vers git --version); $(vers restic version | cut -d' ' -f1-2);"
  echo "borg $(vers borg --version | cut -d' ' -f2); $(vers squashfuse --version 2>&1 | cut -d' ' -f1-2); mksquashfs $(vers mksquashfs -version | cut -d' ' -f3)."
  echo "Defaults of each tool (revfs zstd:3, restic repository v2 with zstd, borg lz4 without"
  echo "encryption, squashfs \`-comp zstd\`, one image per revision)."
  echo
  echo "## Import"
  echo
  echo "- synthetic: $revisions revisions of history_gen (seed 7; about 1,600 files, 22 MB each)"
  echo "- git: the last ${#commits[@]} first-parent commits of this repository (HEAD $git_head),"
  echo "  each \`git archive | tar -x\`, revfs times from the committer times"
  echo
  echo "| history | tool | import ms | store MiB | revfs ÷ tool, time | revfs ÷ tool, size |"
  echo "|---|---|---:|---:|---:|---:|"
  for h in synth git; do
    hn=$h; [[ $h == synth ]] && hn=synthetic
    rt=$(cell "${imp_us[$h,revfs]:-}") rs=$(cell "${imp_size[$h,revfs]:-}")
    for tool in "${import_tools[@]}"; do
      t=$(cell "${imp_us[$h,$tool]:-}") s=$(cell "${imp_size[$h,$tool]:-}")
      case $tool in
        revfs) label="revfs init + commit" ;;
        git) label="git add -A && commit (loose)" ;;
        restic) label="restic backup" ;;
        borg) label="borg create" ;;
        squashfs) label="mksquashfs per revision" ;;
      esac
      echo "| $hn | $label | $(fmt_ms "$t") | $(fmt_mib "$s") | $(ratio "$rt" "$t") | $(ratio "$rs" "$s") |"
      if [[ $tool == git ]]; then
        t=$(cell "${gc_us[$h]:-}") s=$(cell "${gc_size[$h]:-}")
        echo "| $hn | git, + git gc | $(fmt_ms "$t") | $(fmt_mib "$s") | $(ratio "$rt" "$t") | $(ratio "$rs" "$s") |"
      fi
    done
    echo "| $hn | raw trees, summed | | $(fmt_mib "${raw_size[$h]:-}") | | $(ratio "$rs" "${raw_size[$h]:-}") |"
  done
  echo
  echo "## Reads (synthetic history)"
  echo
  echo "Revisions A=$rev_a and B=$rev_b of $revisions; the big file ($big_mb MiB of /dev/urandom) is"
  echo "revision $rev_big / its own snapshot, archive and image. read-all: \`find B -type f | xargs cat\`;"
  echo "diff-r: \`diff -r A B\`; grep-r: \`grep -r -c status42 B\`; seq-big: \`cat\` of the big file;"
  echo "rand-4k: 2,000 preads of 4 KiB at random aligned offsets of it (random_reads). Cold: page"
  echo "cache dropped and a fresh mount of the tool before every measurement; warm: one mount,"
  echo "after one untimed pass. Milliseconds."
  echo
  echo "| work | mode | native | revfs | restic | borg | squashfuse | revfs ÷ native | revfs ÷ restic | revfs ÷ borg | revfs ÷ squashfuse |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for w in "${workloads[@]}"; do
    for mode in cold warm; do
      declare -A m=()
      for tool in "${read_tools[@]}"; do m[$tool]=$(cell "${res[$w,$mode,$tool]:-}"); done
      line="| $w | $mode"
      for tool in "${read_tools[@]}"; do line+=" | $(fmt_ms "${m[$tool]}")"; done
      for tool in native restic borg squashfuse; do line+=" | $(ratio "${m[revfs]}" "${m[$tool]}")"; done
      echo "$line |"
      unset m
    done
  done
  echo
  echo "## revfs daemon after the warm pass"
  echo
  if [[ -n $rss_kib ]]; then
    echo "VmRSS $(awk -v k="$rss_kib" 'BEGIN { printf "%.1f", k / 1024 }') MiB (default cache_size);"
  else
    echo "VmRSS n/a;"
  fi
  if [[ -n $stats ]]; then
    echo ".revfs/stats: pins_held $(json_num pins_held), bytes_in_use $(json_num bytes_in_use),"
    echo "bytes_resident $(json_num bytes_resident), cached_bytes $(json_num cached_bytes), open_files $(json_num open_files)."
  else
    echo ".revfs/stats n/a."
  fi
  if ((${#bad[@]})); then
    echo
    echo "## n/a"
    echo
    for k in $(printf '%s\n' "${!bad[@]}" | sort); do echo "- $k: ${bad[$k]}"; done
  fi
} > "$out"
cp "$out" tests/bench/RESULTS.md
cat "$out"
