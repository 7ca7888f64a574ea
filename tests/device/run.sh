#!/usr/bin/env bash
# The GPU suite, on a machine with an NVIDIA GPU: every GPU test (the `gpu`
# label), the Vulkan renderer tests and golden images on the NVIDIA driver,
# the GPU benchmarks (bench_engine_cuda: GEMM vs cuBLASLt, attention, the
# full-size sd-turbo UNet eager and as a CUDA graph) next to PyTorch on the same
# GPU (tests/device/torch_reference.py: SDPA, matmul, diffusers' UNet); ends
# with one table (tests/device/summary.py). Must finish in under 8 minutes:
# every step runs under `timeout`, cut to what is left of SC_DEVICE_BUDGET_S
# (default 450 s) with time kept for the steps after it.
#
# Two ways to run it:
#   - with a bundle made here by tests/device/bundle.sh (binaries + libraries;
#     the GPU machine needs nothing installed):  tests/device/run.sh
#   - on a GPU machine with the full toolchain: SC_DEVICE_BUILD=1 tests/device/run.sh
#     (configures and builds the `cuda` preset, then runs ctest -L gpu)
# The bundle carries no cuBLAS (541 MB): libcublasLt comes from the GPU
# machine's CUDA toolkit (/usr/local/cuda) or PyTorch's nvidia wheels.
# diffusers is not installed there: wheels in .whl/ (ignored by git; carry
# them) are installed to /tmp/site for torch_reference.py.
# A GPU test that skips here is a failure: on this machine it must run.
# Results: $SC_DEVICE_OUT, else $OUT/device, else /tmp/device. Under $OUT only
# summary.txt/.json, torch_reference.json and bench_engine_cuda_rows.jsonl stay
# there; everything (logs, gtest and benchmark JSON) is in $OUT/device-logs.tar.gz.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
root="$(pwd)"
out="${SC_DEVICE_OUT:-${OUT:-/tmp}/device}"
mkdir -p "${out}"
rm -f "${out}/steps.tsv" "${out}/bench_engine_cuda_rows.jsonl"
t0=${SECONDS}
budget="${SC_DEVICE_BUDGET_S:-450}"

echo "== device"
gpu_name="$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n1)"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>/dev/null ||
  echo "nvidia-smi: not available"

if [[ "${SC_DEVICE_BUILD:-0}" == "1" ]]; then
  cmake --preset cuda -DCMAKE_CUDA_ARCHITECTURES="${SC_CUDA_ARCH:-native}" >/dev/null || exit 1
  cmake --build --preset cuda -j "$(nproc)" || exit 1
  ctest --test-dir build/cuda -L gpu --output-on-failure --output-junit "${out}/gpu.xml"
  exit $?
fi

# limit CAP RESERVE: seconds the next step may run: CAP at most, and no more
# than leaves RESERVE seconds of the budget to the steps after it (10 at least).
limit() {
  local left=$((budget - (SECONDS - t0) - $2))
  ((left > $1)) && left=$1
  ((left < 10)) && left=10
  echo "${left}"
}
# step NAME CAP RESERVE LOG COMMAND...: runs COMMAND under timeout with its
# output in LOG; records "NAME rc seconds limit" in steps.tsv; prints one line,
# and the log's tail when it failed.
step() {
  local name="$1" cap="$2" reserve="$3" log="$4"
  shift 4
  local lim start r
  lim="$(limit "${cap}" "${reserve}")"
  start=${SECONDS}
  timeout -k 10 "${lim}" "$@" >"${log}" 2>&1
  r=$?
  printf '%s\t%s\t%s\t%s\n' "${name}" "${r}" "$((SECONDS - start))" "${lim}" >>"${out}/steps.tsv"
  if ((r == 124 || r == 137)); then
    echo "-- ${name}: TIMEOUT after ${lim} s (log: $(basename "${log}"))"
  else
    echo "-- ${name}: rc=${r}, $((SECONDS - start)) s"
  fi
  ((r != 0)) && tail -n 15 "${log}" | cut -c1-400
  return "${r}"
}

bundle="${SC_DEVICE_BUNDLE:-build/device-bundle}"
if [[ ! -d "${bundle}" && -f "${bundle}.tar.xz" ]]; then
  # Python's lzma when the machine has no xz.
  tar -C "$(dirname "${bundle}")" -xJf "${bundle}.tar.xz" 2>/dev/null ||
    python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' \
      "${bundle}.tar.xz" "$(dirname "${bundle}")"
fi
[[ -d "${bundle}" ]] || { echo "no ${bundle}: run tests/device/bundle.sh first (or SC_DEVICE_BUILD=1)" >&2; exit 1; }
bundle="$(cd "${bundle}" && pwd)"
# The binaries expect the checkout at the path they were built in.
src="$(cat "${bundle}/source_dir.txt")"
if [[ "${src}" != "${root}" && ! -e "${src}" ]]; then
  mkdir -p "$(dirname "${src}")" && ln -s "${root}" "${src}"
fi
mkdir -p "$(cat "${bundle}/tmp_dir.txt")"
# Driver libraries live outside the bundle.
driver_libs=""
for d in /usr/local/nvidia/lib64 /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/cuda/compat; do
  [[ -d "${d}" ]] && driver_libs="${driver_libs}:${d}"
done
# So do cuBLAS / cuBLASLt: the CUDA toolkit's first, then PyTorch's nvidia
# wheels (found through the nvidia package, else by a bounded search).
cuda_libs=""
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do
  [[ -d "${d}" ]] && cuda_libs="${cuda_libs}:${d}"
done
py_libs="$(timeout 30 python3 - 2>/dev/null <<'PY'
import glob, os
try:
    import nvidia
    roots = list(nvidia.__path__)
except Exception:
    roots = []
dirs = []
for r in roots:
    for f in sorted(glob.glob(os.path.join(r, "**", "lib*.so*"), recursive=True)):
        d = os.path.dirname(f)
        if d not in dirs:
            dirs.append(d)
print(":".join(dirs))
PY
)"
if [[ -z "${py_libs}" ]]; then
  py_libs="$(timeout 30 find /opt /usr/local/lib /usr/lib/python3 -path '*/nvidia/*' -name 'libcublasLt.so*' 2>/dev/null |
    xargs -r -n1 dirname | sort -u | paste -sd: -)"
fi
[[ -n "${py_libs}" ]] && cuda_libs="${cuda_libs}:${py_libs}"
libpath="${bundle}/lib${driver_libs}${cuda_libs}"
loader=("${bundle}/lib/ld-linux-x86-64.so.2" --library-path "${libpath}")
# Vulkan on the NVIDIA driver: its ICD (libGLX_nvidia) needs libglvnd, which a
# bare GPU image may lack; .gl/ carries Debian's (tests/device/README.md).
if compgen -G ".gl/*.deb" >/dev/null; then
  for f in .gl/*.deb; do dpkg -x "${f}" / 2>/dev/null; done
  ldconfig 2>/dev/null || true
fi
icd_file=""
for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json \
           /etc/vulkan/icd.d/nvidia_icd.json; do
  if [[ -f "${icd}" ]]; then icd_file="${icd}"; break; fi
done
if [[ -z "${icd_file}" ]]; then
  icd_file="$(timeout 20 find / -xdev \( -path /proc -o -path /sys \) -prune -o -name 'nvidia_icd*.json' -print 2>/dev/null |
    head -n1)"
fi
if [[ -z "${icd_file}" ]]; then
  # No manifest: write one for the driver's ICD library, if it is there.
  glx="$(timeout 20 find /usr/local/nvidia /usr/lib/x86_64-linux-gnu /usr/lib64 -name 'libGLX_nvidia.so.0' 2>/dev/null | head -n1)"
  if [[ -n "${glx}" ]]; then
    icd_file=/tmp/sc_nvidia_icd.json
    printf '{"file_format_version": "1.0.0", "ICD": {"library_path": "%s", "api_version": "1.3.0"}}\n' "${glx}" \
      >"${icd_file}"
  fi
fi
if [[ -n "${icd_file}" ]]; then
  export VK_DRIVER_FILES="${icd_file}" VK_ICD_FILENAMES="${icd_file}"
fi
export VK_LOADER_DEBUG=error
echo "== Vulkan ICD: ${icd_file:-none found}"
export SC_ASSETS_DIR="${root}/assets" SC_VK_VALIDATION=0

echo "== libraries (bundle + driver + CUDA: ${cuda_libs#:})"
for exe in "${bundle}"/bin/*; do
  listing="$("${loader[@]}" --list "${exe}" 2>&1)"
  missing="$(grep -E 'not found' <<<"${listing}" | awk '{print $1}' | paste -sd' ' -)"
  [[ -n "${missing}" ]] && echo "MISSING for $(basename "${exe}"): ${missing}"
  grep -E 'libcublasLt|libcudart' <<<"${listing}" | sed "s|^|  $(basename "${exe}"): |" | tr -s '\t ' ' '
done | sort -u

rc=0
echo "== GPU tests"
for t in test_engine_gpu test_media_gpu test_render test_render_golden test_engine_cuda test_engine_onnx_cuda test_app_gpu; do
  [[ -x "${bundle}/bin/${t}" ]] || continue
  rm -f "${out}/${t}.json"
  step "${t}" 150 300 "${out}/${t}.log" "${loader[@]}" "${bundle}/bin/${t}" --gtest_output="json:${out}/${t}.json" ||
    rc=1
done
skipped=0
for t in test_engine_gpu test_media_gpu test_render test_render_golden test_engine_cuda test_engine_onnx_cuda test_app_gpu; do
  grep -q '"result": "SKIPPED"' "${out}/${t}.json" 2>/dev/null && skipped=$((skipped + 1))
done

echo "== GPU benchmarks"
if [[ -x "${bundle}/bin/bench_engine_cuda" ]]; then
  # One process per part: a crash or hang in one keeps the others' numbers.
  for part in gemm:Gemm:60:260 attention:Attention:60:210 "unet:(Conv3x3|UNet|Taesd|Img2Img):190:90"; do
    IFS=: read -r name filter cap reserve <<<"${part}"
    SC_BENCH_ROWS="${out}/bench_engine_cuda_rows.jsonl" \
      step "bench_engine_cuda_${name}" "${cap}" "${reserve}" "${out}/bench_engine_cuda_${name}.log" \
      "${loader[@]}" "${bundle}/bin/bench_engine_cuda" --benchmark_filter="^BM_${filter}" \
      --benchmark_out="${out}/bench_engine_cuda_${name}.json" --benchmark_out_format=json
    if grep -q 'skipped, no usable GPU' "${out}/bench_engine_cuda_${name}.log"; then
      echo "FAIL: $(head -n1 "${out}/bench_engine_cuda_${name}.log")"
      rc=1
      break
    fi
  done
fi

echo "== PyTorch reference"
if compgen -G ".whl/*.whl" >/dev/null; then
  rm -rf /tmp/site
  timeout "$(limit 60 150)" python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
    .whl/*.whl >"${out}/pip.log" 2>&1 || { echo "-- wheels from .whl/ did not install:"; tail -n 5 "${out}/pip.log"; }
fi
PYTHONPATH="/tmp/site${PYTHONPATH:+:${PYTHONPATH}}" PYTHONUNBUFFERED=1 \
  step torch_reference 150 40 "${out}/torch_reference.log" \
  python3 tests/device/torch_reference.py --out "${out}/torch_reference.json"

mkdir -p /tmp/sc-bench
for b in bench_splat bench_volumetric; do
  [[ -x "${bundle}/bin/${b}" ]] || continue
  SC_BENCH_DIR=/tmp/sc-bench step "${b}" 60 15 "${out}/${b}.log" "${loader[@]}" "${bundle}/bin/${b}" \
    --benchmark_format=console
  grep -E "^BM_" "${out}/${b}.log" | cut -c1-160
done

# LLaVA-OneVision at the 0.5B shapes (random f16 weights): vision ms per
# frame, prefill and decode tokens/s of an 8-frame prompt (1,593 tokens).
if [[ -x "${bundle}/bin/bench_vlm" ]]; then
  m=tests/golden/manifests
  step bench_vlm 90 15 "${out}/bench_vlm.log" "${loader[@]}" "${bundle}/bin/bench_vlm" \
    "${m}/config/llava-onevision-qwen2-0.5b-ov-hf/config.json" "${m}/llava-onevision-qwen2-0.5b-ov-hf.txt" \
    8 24 64 2 --device cuda
  tail -n 1 "${out}/bench_vlm.log"
fi

# Where the UNet's time goes, op by op (printed by bench_engine_cuda).
sed -n '/op by op/,/^$/p' "${out}/bench_engine_cuda_unet.log" 2>/dev/null | head -n 40
echo
timeout 60 python3 tests/device/summary.py "${out}" "${gpu_name}" || echo "summary.py failed"
if ((skipped > 0)); then
  echo "FAIL: GPU tests were skipped on a GPU machine"
  rc=1
fi
if awk -F'\t' '$2 == 124 || $2 == 137 {found = 1} END {exit !found}' "${out}/steps.tsv" 2>/dev/null; then
  echo "FAIL: a step ran out of time"
  rc=1
fi
echo "device suite: $((SECONDS - t0)) s, exit ${rc}"

# The device tool returns at most 8 files from $OUT: keep the results there and
# pack every log.
if [[ -n "${OUT:-}" && "${out}" == "${OUT}/device" ]]; then
  tar -C "${out}" -czf "${OUT}/device-logs.tar.gz" . 2>/dev/null
  find "${out}" -maxdepth 1 -type f ! -name summary.txt ! -name summary.json ! -name torch_reference.json \
    ! -name bench_engine_cuda_rows.jsonl -delete
fi
exit "${rc}"
