#!/usr/bin/env bash
# revfs quick start: installs what is missing, builds revfs (Release), records
# a small project's history in a store, mounts it, and looks around with ls,
# readlink, diff -r, cat and history/; then unmounts and cleans up. Safe to run again;
# cleans up on failure or Ctrl-C too.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

step() { printf '\n== %s\n' "$*"; }

step "installing missing Debian packages (if any)"
tests/install_deps.sh

step "building revfs (Release) in build/release"
cmake -S "$root" -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DREVFS_BUILD_TESTS=OFF >/dev/null
cmake --build build/release -j "$(nproc)" --target revfs
revfs=$root/build/release/mount/revfs
"$revfs" --version

work=$(mktemp -d /tmp/revfs-quickstart.XXXXXX)
mnt=$work/mnt
cleanup() {
  fusermount3 -u "$mnt" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
src=$work/project store=$work/store
mkdir -p "$src/src" "$src/docs" "$mnt"

step "revfs init $store"
"$revfs" init "$store"

step "recording 5 revisions of a small project (edits, a rename, a deletion)"
printf 'int main() { return 0; }\n' > "$src/src/main.c"
printf '# Project\n' > "$src/README.md"
printf 'notes\n' > "$src/docs/notes.txt"
"$revfs" commit "$store" "$src" -m "first version"
printf 'int helper(void);\nint main() { return helper(); }\n' > "$src/src/main.c"
printf 'int helper(void) { return 0; }\n' > "$src/src/helper.c"
"$revfs" commit "$store" "$src" -m "add a helper"
mv "$src/docs/notes.txt" "$src/docs/design.txt"
"$revfs" commit "$store" "$src" -m "rename notes to design"
rm "$src/README.md"
"$revfs" commit "$store" "$src" -m "drop the README"
printf 'int helper(void) { return 42; }\n' > "$src/src/helper.c"
"$revfs" commit "$store" "$src" -m "helper returns 42"

step "revfs log $store"
"$revfs" log "$store"

step "revfs mount $store $mnt"
"$revfs" mount "$store" "$mnt"

step "ls $mnt/revisions"
ls "$mnt/revisions"

step "readlink $mnt/latest"
readlink "$mnt/latest"

step "diff -r revisions/1 revisions/5"
diff -r "$mnt/revisions/1" "$mnt/revisions/5" || true

step "cat revisions/2/src/main.c (an old version)"
cat "$mnt/revisions/2/src/main.c"

step "ls history/src/helper.c (every version of one file) and revfs log"
ls "$mnt/history/src/helper.c"
diff "$mnt/history/src/helper.c/"@00000002_* "$mnt/history/src/helper.c/"@00000005_* || true
"$revfs" log "$store" src/helper.c

step "head -c 400 .revfs/stats"
head -c 400 "$mnt/.revfs/stats"; echo

step "unmounting"
fusermount3 -u "$mnt"

step "done: the store and mount lived in $work and have been removed"
