# cmake -DCLANG_FORMAT=clang-format -DROOT=src -P check_format.cmake
# Fails when any C++ source of the project is not clang-formatted.
file(GLOB_RECURSE files RELATIVE "${ROOT}"
  "${ROOT}/app/*.cpp" "${ROOT}/app/*.h" "${ROOT}/base/*.cpp" "${ROOT}/base/*.h"
  "${ROOT}/engine/*.cpp" "${ROOT}/engine/*.h" "${ROOT}/engine/*.cu" "${ROOT}/engine/*.cuh"
  "${ROOT}/media/*.cpp" "${ROOT}/media/*.h" "${ROOT}/render/*.cpp" "${ROOT}/render/*.h"
  "${ROOT}/tests/*.cpp" "${ROOT}/tests/*.h")
execute_process(COMMAND "${CLANG_FORMAT}" --dry-run --Werror ${files}
  WORKING_DIRECTORY "${ROOT}" RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${err}\nSome files are not formatted; run: clang-format -i <files> (from the repository root)")
endif()
list(LENGTH files n)
message(STATUS "${n} files formatted correctly")
