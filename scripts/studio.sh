#!/usr/bin/env bash
# Installs what is missing (Debian 12), builds the `release` preset and starts
# the studio on its bundled default, the sample volumetric clip. With a display
# (and a Vulkan driver) that is the GUI; without one it says so and runs the
# headless equivalent, which renders the clip to a video and prints where.
# Extra arguments go to the GUI.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# ccache: hits across checkouts in different folders (CI clones afresh).
export CCACHE_BASEDIR="$(pwd)" CCACHE_NOHASHDIR=1

packaging/bootstrap.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"

bin=build/release/app
report="$("${bin}/cli/streamcanvas-cli" doctor --json 2>/dev/null || true)"
if grep -q '"gui_ready": true' <<<"${report}"; then
  exec "${bin}/gui/streamcanvas" --volumetric "$@"
fi

reason="$(sed -n 's/.*"gui_reason": "\(.*\)",*$/\1/p' <<<"${report}")"
echo "streamcanvas: the GUI cannot start here (${reason:-unknown reason})."

echo "streamcanvas: rendering the bundled volumetric sample headless instead."
mkdir -p out
output="$(pwd)/out/streamcanvas-demo.mp4"
"${bin}/cli/streamcanvas-cli" v3 render assets/volumetric/sample --size 640x360 --output "${output}"
echo "streamcanvas: open ${output} in any video player."
