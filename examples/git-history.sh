#!/usr/bin/env bash
# Browse a project's history as folders: imports the last N first-parent
# commits of a git repository into a revfs store, oldest first, one revision
# each with the commit's time and subject; then mounts the store and shows a
# diff -r of the last two revisions and an at/ lookup. The store is kept
# (mount it again with `revfs mount STORE MOUNTPOINT`).
#   examples/git-history.sh REPO STORE [N=20]
set -euo pipefail
if (($# < 2)); then
  echo "usage: $0 REPO STORE [N=20]" >&2
  exit 1
fi
repo=$1 store=$2 n=${3:-20}
cd "$(dirname "$0")/.."
root=$(pwd)
revfs=${REVFS:-$root/build/release/mount/revfs}
if [[ ! -x $revfs ]]; then
  tests/install_deps.sh git
  cmake -S "$root" -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DREVFS_BUILD_TESTS=OFF >/dev/null
  cmake --build build/release -j "$(nproc)" --target revfs
fi
git -C "$repo" rev-parse --git-dir >/dev/null 2>&1 || { echo "$0: $repo: not a git repository" >&2; exit 1; }

work=$(mktemp -d /tmp/revfs-git.XXXXXX)
mnt=$work/mnt
cleanup() {
  fusermount3 -u "$mnt" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$mnt" "$work/tree"

mapfile -t commits < <(git -C "$repo" log --first-parent -n "$n" --format='%H %ct' | tac)
((${#commits[@]} > 0)) || { echo "$0: $repo: no commits" >&2; exit 1; }
if [[ ! -d $store ]]; then  # revision 0 (empty) just before the first commit
  first_time=${commits[0]##* }
  "$revfs" init "$store" --time "$(date -u -d "@$((first_time - 1))" +%Y-%m-%dT%H:%M:%SZ)" >/dev/null
fi
echo "== importing ${#commits[@]} commits of $repo into $store"
last=$("$revfs" log "$store" --json | grep -o '"time_ns":[0-9-]*' | tail -1 | cut -d: -f2)
last=$((last / 1000000000))
for line in "${commits[@]}"; do
  hash=${line%% *} t=${line##* }
  ((t > last)) || t=$((last + 1))  # commit times must not go backwards
  last=$t
  subject=$(git -C "$repo" log -1 --format=%s "$hash")
  find "$work/tree" -mindepth 1 -delete
  git -C "$repo" archive "$hash" | tar -x -C "$work/tree"
  when=$(date -u -d "@$t" +%Y-%m-%dT%H:%M:%SZ)
  "$revfs" commit "$store" "$work/tree" -m "${hash:0:10} $subject" --time "$when" | sed 's/^/   /'
done

echo "== revfs mount $store $mnt"
"$revfs" mount "$store" "$mnt"
latest=$(readlink "$mnt/latest")
echo "   latest -> $latest"
rev=${latest#revisions/}
if ((rev >= 2)); then
  echo "== diff -r revisions/$((rev - 1)) revisions/$rev (what the last commit changed)"
  diff -r "$mnt/revisions/$((rev - 1))" "$mnt/revisions/$rev" | head -40 || true
fi
first=$(ls "$mnt/at" | sed -n 2p)  # the first entry is revision 0, the empty tree
echo "== the tree as it was at $first (the oldest imported commit): ls $mnt/at/$first"
ls "$mnt/at/$first/" | head -20
echo "== at/TIME links to the revision current at that instant (any ISO-8601 time works)"
echo "   $mnt/at/$first -> $(readlink "$mnt/at/$first")"
echo "== unmounting"
fusermount3 -u "$mnt"
