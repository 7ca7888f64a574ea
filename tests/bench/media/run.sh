#!/usr/bin/env bash
# Media benchmarks with a baseline from the same run on the same machine:
# FFmpeg's own command line doing the same work (decode 1080p H.264 to RGBA;
# encode 720p RGBA with libx264 veryfast). Prints one table.
#   tests/bench/media/run.sh [BUILD_DIR]      (default build/release)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
build="${1:-build/release}"
if [[ ! -x "${build}/tests/bench/media/bench_media" ]]; then
  cmake --preset release -DSC_BUILD_TESTS=ON >/dev/null
  cmake --build "${build}" --target bench_media
fi
export SC_BENCH_DIR="$(mktemp -d)"
trap 'rm -rf "${SC_BENCH_DIR}"' EXIT

json="${SC_BENCH_DIR}/ours.json"
"${build}/tests/bench/media/bench_media" --benchmark_format=json >"${json}" 2>/dev/null
clip="${SC_BENCH_DIR}/streamcanvas_bench_1080p.mp4"

fps_of() { python3 -c "import json,sys; b=[x for x in json.load(open('$1'))['benchmarks'] if x['name'].startswith('$2')][0]; print(f\"{b['fps']:.1f} {b['cpu_cores']:.2f}\")"; }
read -r dec_fps dec_cpu <<<"$(fps_of "${json}" BM_Decode1080p)"
read -r rec_fps rec_cpu <<<"$(fps_of "${json}" BM_Record720p)"

# Baselines: the ffmpeg CLI, best of 3, same inputs.
time_cmd() {
  local best=999999
  for _ in 1 2 3; do
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    t1=$(date +%s.%N)
    best=$(python3 -c "print(min($best, $t1 - $t0))")
  done
  echo "${best}"
}
frames=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 "${clip}")
t_dec=$(time_cmd ffmpeg -v error -i "${clip}" -pix_fmt rgba -f null -)
raw="${SC_BENCH_DIR}/720p.rgba"
ffmpeg -v error -f lavfi -i testsrc2=size=1280x720:rate=30 -frames:v 120 -pix_fmt rgba -f rawvideo "${raw}"
t_enc=$(time_cmd ffmpeg -v error -y -f rawvideo -pix_fmt rgba -s 1280x720 -r 30 -i "${raw}" -c:v libx264 -preset veryfast -crf 20 -g 30 -bf 0 "${SC_BENCH_DIR}/base.mp4")

python3 - "$dec_fps" "$dec_cpu" "$rec_fps" "$rec_cpu" "$frames" "$t_dec" "$t_enc" <<'PY'
import sys, os
dec_fps, dec_cpu, rec_fps, rec_cpu, frames, t_dec, t_enc = map(float, sys.argv[1:])
base_dec, base_enc = frames / t_dec, 120 / t_enc
print(f"machine: {os.cpu_count()} cores")
print(f"{'work':<34} {'ours fps':>9} {'cpu cores':>9} {'ffmpeg fps':>10} {'ours/ffmpeg':>11}")
print(f"{'decode 1080p H.264 -> RGBA':<34} {dec_fps:>9.1f} {dec_cpu:>9.2f} {base_dec:>10.1f} {dec_fps/base_dec:>11.2f}")
print(f"{'record 720p RGBA -> H.264 (x264)':<34} {rec_fps:>9.1f} {rec_cpu:>9.2f} {base_enc:>10.1f} {rec_fps/base_enc:>11.2f}")
PY
