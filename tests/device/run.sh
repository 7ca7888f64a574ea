#!/usr/bin/env bash
# The GPU suite: build with CUDA (unless a build is given), run every test
# labelled `gpu` and the GPU benchmarks, print one table. Must finish in under
# 8 minutes on one GPU. A GPU test that skips here is a failure: on this machine
# it must run.
#
#   tests/device/run.sh                 # configure + build the `cuda` preset, then run
#   SC_DEVICE_BUILD=build/dev tests/device/run.sh   # run an existing (carried) build
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

build="${SC_DEVICE_BUILD:-build/cuda}"
if [[ -z "${SC_DEVICE_BUILD:-}" ]]; then
  cmake --preset cuda -DCMAKE_CUDA_ARCHITECTURES="${SC_CUDA_ARCH:-native}" >/dev/null || exit 1
  cmake --build --preset cuda -j "$(nproc)" || exit 1
fi

echo "== device"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "nvidia-smi: not available"

junit="$(mktemp --suffix=.xml)"
ctest --test-dir "${build}" -L gpu --output-on-failure --output-junit "${junit}" >"${junit}.log" 2>&1
rc=$?
cat "${junit}.log" | tail -n 40

echo
echo "== GPU tests"
printf '%-60s %-8s %8s\n' test status seconds
# junit: <testcase name="..." ... time="..." status="run|fail|notrun">
skipped=0
while IFS= read -r line; do
  name="$(sed -n 's/.*testcase name="\([^"]*\)".*/\1/p' <<<"${line}")"
  [[ -z "${name}" ]] && continue
  time="$(sed -n 's/.* time="\([^"]*\)".*/\1/p' <<<"${line}")"
  status="$(sed -n 's/.* status="\([^"]*\)".*/\1/p' <<<"${line}")"
  [[ "${status}" == "run" ]] && status=pass
  if [[ "${status}" == "notrun" || "${status}" == "disabled" ]]; then
    status=SKIPPED
    skipped=$((skipped + 1))
  fi
  printf '%-60s %-8s %8s\n' "${name}" "${status}" "${time}"
done < <(grep -o '<testcase [^>]*>' "${junit}")

if ((skipped > 0)); then
  echo "FAIL: ${skipped} GPU test(s) skipped on a GPU machine"
  exit 1
fi
exit "${rc}"
