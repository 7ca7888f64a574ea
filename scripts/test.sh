#!/usr/bin/env bash
# Installs what is missing (Debian 12), builds the `dev` preset and runs the whole
# test suite with ctest. Extra arguments go to ctest, e.g. `scripts/test.sh -L unit`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# ccache: hits across checkouts in different folders (CI clones afresh).
export CCACHE_BASEDIR="$(pwd)" CCACHE_NOHASHDIR=1

packaging/bootstrap.sh
cmake --preset dev >/dev/null
cmake --build --preset dev -j "$(nproc)"
ctest --preset dev -j "$(nproc)" "$@"
