#!/usr/bin/env bash
# A long fuzzing run of one or more targets, then the corpus minimised back
# into tests/fuzz/corpus/<name> (commit it). Builds like run.sh.
#   tests/fuzz/campaign.sh SECONDS_PER_TARGET [TARGET ...]   (default: every target)
# Each target runs as one libFuzzer process (one CPU) for that long; its
# executions, new units and findings are printed, and appended to
# build/fuzz/campaign.log for tests/fuzz/README.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
seconds="${1:?seconds per target}"
shift
tests/fuzz/run.sh 1 >/dev/null  # builds the targets (and checks each starts)
build=build/fuzz
targets=("$@")
if ((${#targets[@]} == 0)); then
  mapfile -t targets <tests/fuzz/targets.txt
fi
export SC_NUM_THREADS=1 ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
for target in "${targets[@]}"; do
  name="${target%_fuzz}"
  work="${build}/corpus/${name}"
  mkdir -p "${work}" "${build}/artifacts"
  log="${build}/${target}.campaign.log"
  set +e
  "${build}/${target}" -max_total_time="${seconds}" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -dict=tests/fuzz/json.dict -artifact_prefix="${build}/artifacts/${target}-" -print_final_stats=1 \
    "${work}" "tests/fuzz/corpus/${name}" >"${log}" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "${log}")
  # Minimise: the smallest set of inputs with the same coverage replaces the seeds.
  fresh="${build}/minimised/${name}"
  rm -rf "${fresh}" && mkdir -p "${fresh}"
  "${build}/${target}" -merge=1 -max_len=65536 "${fresh}" "tests/fuzz/corpus/${name}" "${work}" >/dev/null 2>&1
  if [[ -n "$(ls -A "${fresh}")" ]]; then
    rm -rf "tests/fuzz/corpus/${name}" && cp -r "${fresh}" "tests/fuzz/corpus/${name}"
  fi
  line="$(date -u +%F) ${target} ${seconds}s executions=${execs:-?} corpus=$(ls "tests/fuzz/corpus/${name}" | wc -l) exit=${rc}"
  echo "${line}" | tee -a "${build}/campaign.log"
  if [[ ${rc} -ne 0 ]]; then tail -n 40 "${log}" >&2; fi
done
