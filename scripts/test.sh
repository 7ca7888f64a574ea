#!/usr/bin/env bash
# Installs what is missing (Debian 12), builds a preset (default `dev`) and
# runs its tests with ctest. Extra arguments go to ctest, e.g.
#   scripts/test.sh -L unit
#   scripts/test.sh --preset asan        # AddressSanitizer + UBSan, the whole suite
#   scripts/test.sh --preset tsan        # ThreadSanitizer, the threaded tests (label `unit_threads`)
#   scripts/test.sh -L install           # the .deb on a fresh Debian 12 root (root, network; tests/install)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# ccache: hits across checkouts in different folders (CI clones afresh).
export CCACHE_BASEDIR="$(pwd)" CCACHE_NOHASHDIR=1

preset=dev
if [[ "${1:-}" == "--preset" ]]; then
  preset="${2:?--preset needs a name: dev, asan or tsan}"
  shift 2
fi

packaging/bootstrap.sh
cmake --preset "${preset}" >/dev/null
cmake --build --preset "${preset}" -j "$(nproc)"
# The install test (label `install`: builds the release .deb and a Debian
# root, minutes) runs only when asked for, e.g. `scripts/test.sh -L install`.
exclude=(-LE '^install$')
[[ "$*" == *install* ]] && exclude=()
ctest --preset "${preset}" -j "$(nproc)" "${exclude[@]}" "$@"
