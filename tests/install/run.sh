#!/usr/bin/env bash
# The install test (ctest label `install`; packaging/README.md): builds the
# .deb with scripts/package.sh, checks it (lintian, desktop-file-validate,
# appstreamcli, man), makes a fresh Debian 12 root with debootstrap, installs
# the package there with apt (no CUDA toolkit, no NVIDIA driver, no display),
# runs `streamcanvas-cli doctor` and the headless render of the bundled
# sample, starts the studio under xvfb-run, and purges the package again.
#
# Needs root (debootstrap, chroot) and Debian's archive. Downloaded .debs are
# kept in ~/.cache/streamcanvas/install-test (debootstrap's and apt's), the
# root itself is made afresh every run and removed afterwards.
#
#   tests/install/run.sh                 # or: scripts/test.sh -L install
#   SC_INSTALL_TEST_DEB=path.deb tests/install/run.sh   # test this .deb, do not build one
#   SC_INSTALL_TEST_KEEP=1 ...           # keep the root (unmounted) to look around
#   SC_DEBIAN_MIRROR=http://... ...      # default http://deb.debian.org/debian
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
repo="$(pwd)"

log() { printf 'install-test: %s\n' "$*"; }
fail() {
  printf 'install-test: FAILED: %s\n' "$*" >&2
  exit 1
}

if [[ "$(id -u)" -ne 0 ]]; then
  log "skipped: needs root (debootstrap and chroot); run it as root or with sudo"
  exit 77
fi

t_start=${SECONDS}
phase_start=${SECONDS}
timings=()
phase_done() {
  timings+=("$1 $((SECONDS - phase_start)) s")
  phase_start=${SECONDS}
}

mirror="${SC_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
security_mirror="${SC_DEBIAN_SECURITY_MIRROR:-${mirror%/debian}/debian-security}"
cache="${XDG_CACHE_HOME:-${HOME}/.cache}/streamcanvas/install-test"
work="${repo}/build/install-test"
root="${work}/root"
mkdir -p "${cache}/debootstrap" "${cache}/apt" "${work}"

# --- the package ------------------------------------------------------------
packaging/bootstrap.sh
if [[ -n "${SC_INSTALL_TEST_DEB:-}" ]]; then
  deb="$(realpath "${SC_INSTALL_TEST_DEB}")"
else
  scripts/package.sh --fast
  debs=(build/release/package/*.deb)
  deb="$(realpath "${debs[0]}")"
fi
[[ -f "${deb}" ]] || fail "no package at ${deb}"
log "package ${deb} ($(du -m "${deb}" | cut -f1) MB)"
phase_done "package"

# --- checks on the package's files -------------------------------------------
lintian_out="${work}/lintian.txt"
# lintian refuses nothing as root but says so on stderr; tags go to stdout.
lintian --display-info --pedantic --show-overrides "${deb}" >"${lintian_out}" 2>"${work}/lintian.stderr" || true
log "lintian: $(grep -c '^E:' "${lintian_out}" || true) errors, $(grep -c '^W:' "${lintian_out}" || true) warnings," \
  "$(grep -c '^I:' "${lintian_out}" || true) infos, $(grep -c '^P:' "${lintian_out}" || true) pedantic," \
  "$(grep -c '^O:' "${lintian_out}" || true) overridden (${lintian_out})"
grep -E '^(E|W):' "${lintian_out}" || true
if grep -q '^E:' "${lintian_out}"; then fail "lintian reports errors"; fi
if [[ -s "${work}/lintian.stderr" ]] && grep -v 'running with root privileges' "${work}/lintian.stderr" | grep -q .; then
  cat "${work}/lintian.stderr" >&2
  fail "lintian did not run cleanly"
fi

contents="${work}/contents"
rm -rf "${contents}"
dpkg-deb -x "${deb}" "${contents}"
desktop-file-validate "${contents}/usr/share/applications/streamcanvas.desktop" || fail "desktop-file-validate"
appstreamcli validate --no-net "${contents}/usr/share/metainfo/"*.metainfo.xml || fail "appstreamcli validate"
for page in "${contents}"/usr/share/man/man1/*.1.gz; do
  warnings="$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "${page}" 2>&1 >/dev/null)"
  [[ -z "${warnings}" ]] || fail "man warns about ${page}: ${warnings}"
done
for size in 16 22 24 32 48 64 128 256 512; do
  [[ -f "${contents}/usr/share/icons/hicolor/${size}x${size}/apps/streamcanvas.png" ]] || fail "no ${size}x${size} icon"
done
rm -rf "${contents}"
phase_done "checks"

# --- a fresh Debian 12 root ---------------------------------------------------
mounts=(proc sys)
cleanup() {
  local m
  for m in "${mounts[@]}"; do
    if mountpoint -q "${root}/${m}" 2>/dev/null; then
      umount "${root}/${m}" 2>/dev/null || umount -l "${root}/${m}"
    fi
  done
  # Nothing may be mounted below the root when it is deleted.
  if grep -q " ${root}/" /proc/self/mounts; then
    echo "install-test: something is still mounted under ${root}; not removing it" >&2
    return
  fi
  if [[ -z "${SC_INSTALL_TEST_KEEP:-}" ]]; then
    rm -rf --one-file-system "${root}"
  else
    log "kept the root at ${root}"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cleanup  # a root left by an interrupted run
rm -rf --one-file-system "${root}"
log "debootstrap bookworm (minbase) from ${mirror}"
if ! debootstrap --variant=minbase --cache-dir="${cache}/debootstrap" bookworm "${root}" "${mirror}" \
  >"${work}/debootstrap.log" 2>&1; then
  tail -n 30 "${work}/debootstrap.log" >&2
  fail "debootstrap (log: ${work}/debootstrap.log)"
fi
phase_done "debootstrap"

mount -t proc proc "${root}/proc"
mount -t sysfs -o ro sysfs "${root}/sys"
cat >"${root}/etc/apt/sources.list" <<EOF
deb ${mirror} bookworm main
deb ${mirror} bookworm-updates main
deb ${security_mirror} bookworm-security main
EOF
cp /etc/resolv.conf "${root}/etc/resolv.conf" 2>/dev/null || true
in_root() { chroot "${root}" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
  DEBIAN_FRONTEND=noninteractive "$@"; }

# --- install with apt, as the README says -----------------------------------
cp "${cache}/apt/"*.deb "${root}/var/cache/apt/archives/" 2>/dev/null || true
cp "${deb}" "${root}/tmp/"
in_root apt-get update -qq >"${work}/apt.log" 2>&1 || {
  cat "${work}/apt.log" >&2
  fail "apt-get update in the root"
}
# Depends alone must be enough to run: no Recommends. `apt` (unlike apt-get)
# deletes what it downloaded unless told to keep it for the cache.
if ! in_root apt install -y --no-install-recommends -o APT::Keep-Downloaded-Packages=true "./tmp/$(basename "${deb}")" >>"${work}/apt.log" 2>&1; then
  tail -n 40 "${work}/apt.log" >&2
  fail "apt install (log: ${work}/apt.log)"
fi
cp -u "${root}/var/cache/apt/archives/"*.deb "${cache}/apt/" 2>/dev/null || true
log "installed: $(in_root dpkg-query -W -f='${Package} ${Version}, ${Installed-Size} KiB' streamcanvas)," \
  "$(in_root dpkg-query -W -f='${Package}\n' | wc -l) packages in the root"
phase_done "apt install"

# --- run it: no CUDA toolkit, no NVIDIA driver, no display --------------------
[[ ! -e "${root}/usr/local/cuda" ]] || fail "the root has a CUDA toolkit"
if in_root ldconfig -p | grep -q 'libcuda\.so'; then fail "the root has an NVIDIA driver"; fi
for program in streamcanvas streamcanvas-cli; do
  libs="$(in_root ldd "/usr/bin/${program}")"
  if grep -q 'not found' <<<"${libs}"; then
    echo "${libs}" >&2
    fail "${program} misses libraries"
  fi
  grep -q 'libcudart.so.13 => [^ ]*/lib/x86_64-linux-gnu/streamcanvas/libcudart.so.13' <<<"${libs}" ||
    fail "${program} does not load the bundled libcudart: ${libs}"
  in_root "/usr/bin/${program}" --version || fail "${program} --version"
done
help="$(in_root streamcanvas --help)" || fail "streamcanvas --help"
grep -q '^Usage: streamcanvas' <<<"${help}" || fail "streamcanvas --help: ${help}"

rc=0
doctor="$(in_root streamcanvas-cli doctor)" || rc=$?
((rc == 0)) || {
  echo "${doctor}" >&2
  fail "streamcanvas-cli doctor exits ${rc}"
}
echo "${doctor}"
grep -q 'no NVIDIA driver loaded' <<<"${doctor}" || fail "doctor does not say there is no driver"
grep -q 'compute path .*CPU (no usable GPU' <<<"${doctor}" || fail "doctor does not fall back to the CPU"
grep -q 'llvmpipe' <<<"${doctor}" || fail "doctor finds no software Vulkan (lavapipe)"
grep -q 'headless (streamcanvas-cli) *ready' <<<"${doctor}" || fail "doctor: the CLI is not ready"

# The headless studio (scripts/studio.sh without a display): the bundled
# sample, found through the installed layout.
render="$(in_root streamcanvas-cli v3 render --size 640x360 --output /tmp/streamcanvas-demo.mp4 2>&1)" || {
  echo "${render}" >&2
  fail "v3 render"
}
echo "${render}" | tail -n 2
grep -q 'rendered [0-9]* frames of /usr/share/streamcanvas/assets/volumetric/sample' <<<"${render}" ||
  fail "v3 render did not render the installed sample"
size="$(stat -c %s "${root}/tmp/streamcanvas-demo.mp4")"
((size > 10000)) || fail "the rendered video has ${size} bytes"
[[ "$(head -c 8 "${root}/tmp/streamcanvas-demo.mp4" | tail -c 4)" == "ftyp" ]] || fail "the render is not an MP4"
phase_done "run"

# --- the studio window, on a virtual display ------------------------------------
# xvfb comes from outside the package (a desktop has a display); with it the
# studio starts on the bundled sample, found through the installed layout,
# and saves a screenshot.
if ! in_root apt-get install -y -qq --no-install-recommends -o APT::Keep-Downloaded-Packages=true xvfb xauth \
  >>"${work}/apt.log" 2>&1; then
  tail -n 20 "${work}/apt.log" >&2
  fail "apt-get install xvfb"
fi
cp -u "${root}/var/cache/apt/archives/"*.deb "${cache}/apt/" 2>/dev/null || true
rc=0
gui="$(in_root timeout 120 xvfb-run -a -s '-screen 0 1280x800x24' sh -c \
  'streamcanvas --volumetric --quit-after 4 --screenshot /tmp/streamcanvas-shot.png; echo "[studio exit $?]"' 2>&1)" ||
  rc=$?
grep -q '\[studio exit 0\]' <<<"${gui}" || {
  echo "${gui}" >&2
  fail "the studio under xvfb-run (exit ${rc})"
}
grep -q 'volumetric: /usr/share/streamcanvas/assets/volumetric/sample' <<<"${gui}" ||
  fail "the studio did not open the installed sample: ${gui}"
[[ -s "${root}/tmp/streamcanvas-shot.png" ]] || fail "no screenshot from the studio"
grep -E 'screenshot:|volumetric:' <<<"${gui}" || true
phase_done "studio"

# --- and it goes away cleanly -------------------------------------------------
in_root apt-get purge -y -qq streamcanvas >>"${work}/apt.log" 2>&1 || fail "apt-get purge"
for left in usr/bin/streamcanvas usr/share/streamcanvas usr/lib/x86_64-linux-gnu/streamcanvas; do
  [[ ! -e "${root}/${left}" ]] || fail "/${left} is left after purge"
done
phase_done "purge"

log "passed in $((SECONDS - t_start)) s: ${timings[*]/%/,}"
