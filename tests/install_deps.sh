#!/usr/bin/env bash
# Installs the Debian packages revfs needs to build, test and mount, skipping
# those already installed. Used by tests/run.sh and examples/quickstart.sh;
# further packages may be named as arguments.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libfuse3-dev fuse3 libspdlog-dev libxxhash-dev libcli11-dev libzstd-dev
  libssl-dev libgtest-dev libgmock-dev libbenchmark-dev
  util-linux diffutils attr acl libcap2-bin findutils procps
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo_cmd=()
  if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
