#!/usr/bin/env bash
# Builds the Debian package (packaging/README.md) from the `release` preset:
# installs what is missing (Debian 12), builds the programs, their man pages
# and icons, and lets CPack pack them with the bundled assets and the CUDA
# runtime libraries. Prints the package's path; install it with
#   sudo apt install ./build/release/package/streamcanvas_<version>_amd64.deb
#
#   scripts/package.sh          # xz: the smallest package (3 minutes or more to pack on 2 cores)
#   scripts/package.sh --fast   # gzip: 9 % bigger, packed in seconds (tests/install uses it)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# ccache: hits across checkouts in different folders (CI clones afresh).
export CCACHE_BASEDIR="$(pwd)" CCACHE_NOHASHDIR=1

compression=xz
case "${1:-}" in
  "") ;;
  --fast) compression=gzip ;;
  *)
    echo "usage: scripts/package.sh [--fast]" >&2
    exit 2
    ;;
esac

packaging/bootstrap.sh
cmake --preset release -DSC_PACKAGING=ON -DSC_DEB_COMPRESSION="${compression}" >/dev/null
cmake --build --preset release -j "$(nproc)"

out=build/release/package
rm -f "${out}"/*.deb
mkdir -p "${out}"
start=${SECONDS}
if ! (cd build/release && cpack -G DEB) >"${out}/cpack.log" 2>&1; then
  cat "${out}/cpack.log" >&2
  echo "package: cpack failed (log: ${out}/cpack.log)" >&2
  exit 1
fi
debs=("${out}"/*.deb)
deb="$(realpath "${debs[0]}")"
echo "package: ${deb} ($(du -m "${deb}" | cut -f1) MB, ${compression}, packed in $((SECONDS - start)) s)"
