#!/usr/bin/env bash
# The GPU suite, on a machine with an NVIDIA GPU: every GPU test (the `gpu`
# label), the Vulkan renderer tests and golden images on the NVIDIA driver,
# and the GPU benchmarks; prints one table. Must finish in under 8 minutes.
#
# Two ways to run it:
#   - with a bundle made here by tests/device/bundle.sh (binaries + libraries;
#     the GPU machine needs nothing installed):  tests/device/run.sh
#   - on a GPU machine with the full toolchain: SC_DEVICE_BUILD=1 tests/device/run.sh
#     (configures and builds the `cuda` preset, then runs ctest -L gpu)
# A GPU test that skips here is a failure: on this machine it must run.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root="$(pwd)"
out="${SC_DEVICE_OUT:-${OUT:-/tmp}/device}"
mkdir -p "${out}"

echo "== device"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "nvidia-smi: not available"

if [[ "${SC_DEVICE_BUILD:-0}" == "1" ]]; then
  cmake --preset cuda -DCMAKE_CUDA_ARCHITECTURES="${SC_CUDA_ARCH:-native}" >/dev/null || exit 1
  cmake --build --preset cuda -j "$(nproc)" || exit 1
  ctest --test-dir build/cuda -L gpu --output-on-failure --output-junit "${out}/gpu.xml"
  exit $?
fi

bundle="${SC_DEVICE_BUNDLE:-build/device-bundle}"
if [[ ! -d "${bundle}" && -f "${bundle}.tar.xz" ]]; then
  tar -C "$(dirname "${bundle}")" -xJf "${bundle}.tar.xz"
fi
[[ -d "${bundle}" ]] || { echo "no ${bundle}: run tests/device/bundle.sh first (or SC_DEVICE_BUILD=1)" >&2; exit 1; }
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
for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json \
           /etc/vulkan/icd.d/nvidia_icd.json; do
  if [[ -f "${icd}" ]]; then export VK_DRIVER_FILES="${icd}" VK_ICD_FILENAMES="${icd}"; break; fi
done
export SC_ASSETS_DIR="${root}/assets" SC_VK_VALIDATION=0
run() {
  local exe="$1"; shift
  "${bundle}/lib/ld-linux-x86-64.so.2" --library-path "${root}/${bundle}/lib${driver_libs}" "${bundle}/bin/${exe}" "$@"
}

rc=0
results=()
for t in test_engine_gpu test_media_gpu test_render test_render_golden test_engine_cuda; do
  [[ -x "${bundle}/bin/${t}" ]] || continue
  echo "== ${t}"
  run "${t}" --gtest_output="json:${out}/${t}.json" >"${out}/${t}.log" 2>&1
  r=$?
  tail -n 5 "${out}/${t}.log"
  [[ ${r} -ne 0 ]] && rc=1
  results+=("${t}")
done

echo
echo "== GPU tests"
printf '%-64s %-8s %8s\n' test status seconds
skipped=0
for t in "${results[@]}"; do
  python3 - "${out}/${t}.json" <<'PY' || true
import json, sys
for suite in json.load(open(sys.argv[1])).get("testsuites", []):
    for case in suite.get("testsuite", []):
        status = "pass" if not case.get("failures") else "FAIL"
        if case.get("result") == "SKIPPED" or case.get("status") == "NOTRUN":
            status = "SKIPPED"
        print(f"{suite['name'] + '.' + case['name']:<64} {status:<8} {case.get('time', '')}")
PY
  grep -q '"result": "SKIPPED"' "${out}/${t}.json" 2>/dev/null && skipped=$((skipped + 1))
done

echo
echo "== GPU benchmarks"
for b in bench_splat bench_volumetric bench_engine_cuda; do
  [[ -x "${bundle}/bin/${b}" ]] || continue
  SC_BENCH_DIR="${out}" run "${b}" --benchmark_format=console 2>&1 | grep -E "^(BM_|Run on|--)" | tee "${out}/${b}.txt"
done

if ((skipped > 0)); then
  echo "FAIL: GPU tests were skipped on a GPU machine"
  rc=1
fi
exit "${rc}"
