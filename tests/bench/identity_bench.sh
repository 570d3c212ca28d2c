#!/usr/bin/env bash
# Identity benchmark: GB/s per core of SHA-256 (OpenSSL EVP), BLAKE2b-256
# (libb2, when installed) and XXH3-128 with and without the read-back its
# dedup hits needed, on 1 MiB and 4 KiB buffers (the chunk sizes revfs
# meets: big files' chunks and small files). The figures are in
# engine/FORMAT.md, "Identity no input can fool".
#
#   tests/bench/identity_bench.sh [SECONDS_PER_FIGURE=1]
# IDENTITY_BENCH=path/to/identity_bench uses an existing binary instead of
# building build/bench.
set -euo pipefail
. "$(dirname "$0")/lib.sh"  # the helpers shared by the benchmark scripts
cd "$(dirname "$0")/../.."
root=$(pwd)
if [[ -z ${IDENTITY_BENCH:-} ]]; then
  build_bench "$root" identity_bench
fi
bench=${IDENTITY_BENCH:-$root/build/bench/tests/bench/identity_bench}
measured_on "$root"
grep -o -m1 -w sha_ni /proc/cpuinfo >/dev/null && echo "CPU: SHA extensions present" ||
  echo "CPU: no SHA extensions"
"$bench" "${1:-1}"
