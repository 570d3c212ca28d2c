#!/usr/bin/env bash
# revfs quick start: installs what is missing, builds revfs (Release), makes a
# store and shows its history. Safe to run again; cleans up after itself.
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
trap 'rm -rf "$work"' EXIT INT TERM
store=$work/store

step "revfs init $store"
"$revfs" init "$store"

step "revfs log $store"
"$revfs" log "$store"

step "revfs verify $store"
"$revfs" verify "$store"

step "done: the store lived in $work and has been removed"
