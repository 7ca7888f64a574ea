#!/usr/bin/env bash
# A generated man page (packaging/man/gen_manpage.sh) renders without a
# warning from man/groff, as lintian checks it, and documents options.
set -euo pipefail
page="$1"
[[ -s "${page}" ]] || { echo "no man page at ${page}"; exit 1; }
warnings="$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "${page}" 2>&1 >/dev/null)"
if [[ -n "${warnings}" ]]; then
  echo "${page}: ${warnings}"
  exit 1
fi
zcat "${page}" | grep -q '^\.SH OPTIONS' || { echo "${page} has no OPTIONS section"; exit 1; }
echo "${page}: renders cleanly"
