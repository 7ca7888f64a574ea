#!/usr/bin/env bash
# Builds the libFuzzer targets (engine: safetensors, shard index, config,
# CLIP tokenizer files and text, byte-level BPE tokenizer.json and text, ONNX graphs;
# volumetric: .ply/.splat, V^3 manifests, camera paths) (clang++-14, ASan + UBSan) into
# build/fuzz and runs each for SECONDS (default 20) from its committed seed
# corpus. Exits non-zero on any finding; the input that triggered it is left
# in build/fuzz/artifacts/ (reproduce: build/fuzz/<target> <file>).
#   tests/fuzz/run.sh [SECONDS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
seconds="${1:-20}"
build=build/fuzz
cmake -S tests/fuzz -B "${build}" -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  >/dev/null
# Quiet unless the build fails; then its errors (ninja prints them on stdout).
if ! cmake --build "${build}" -j "$(nproc)" >"${build}/build.log" 2>&1; then
  grep -E "error|FAILED|undefined reference" "${build}/build.log" | head -n 40 >&2
  echo "fuzz: building the fuzz targets failed (${build}/build.log)" >&2
  exit 1
fi
mkdir -p "${build}/artifacts"
# One thread: findings reproduce exactly, and small inputs never fan out anyway.
export SC_NUM_THREADS=1
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
# Every target, one per line in targets.txt (campaign.sh reads the same list).
for target in $(cat tests/fuzz/targets.txt); do
  seeds="tests/fuzz/corpus/${target%_fuzz}"
  work="${build}/corpus/${target%_fuzz}"  # grows as the fuzzer learns; not committed
  mkdir -p "${work}"
  echo "fuzz: ${target} for ${seconds} s (seeds: ${seeds})"
  log="${build}/${target}.log"
  dict="tests/fuzz/${target%_fuzz}.dict"  # a target's own dictionary, else the JSON one
  [[ -f "${dict}" ]] || dict=tests/fuzz/json.dict
  set +e
  "${build}/${target}" -max_total_time="${seconds}" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -dict="${dict}" -artifact_prefix="${build}/artifacts/${target}-" -print_final_stats=1 \
    "${work}" "${seeds}" >"${log}" 2>&1
  rc=$?
  set -e
  grep -E "^(stat::number_of_executed_units|stat::new_units_added)" "${log}" | tr '\n' ' ' || true
  echo
  if [[ ${rc} -ne 0 ]]; then
    tail -n 60 "${log}" >&2
    echo "fuzz: ${target} found a problem (exit ${rc}); input in ${build}/artifacts/" >&2
    exit 1
  fi
done
echo "fuzz: no findings"
