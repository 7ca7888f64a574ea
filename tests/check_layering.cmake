# cmake -DROOT=src -P check_layering.cmake
# The dependency direction of docs/design.md: app -> {engine, media, render};
# engine, media and render include none of each other and no Qt; base includes
# nothing of ours but base. CMake target links enforce the same at link time;
# this catches header-only slips.
set(rules
  "base|engine/,media/,render/,app/,<Q"
  "engine|media/,render/,app/,<Q"
  "media|engine/,render/,app/,<Q"
  "render|engine/,media/,app/,<Q"
  "app/session|<Q,app/gui/")
set(violations "")
foreach(rule IN LISTS rules)
  string(REPLACE "|" ";" parts "${rule}")
  list(GET parts 0 dir)
  list(GET parts 1 banned)
  string(REPLACE "," ";" banned "${banned}")
  file(GLOB_RECURSE files "${ROOT}/${dir}/*.h" "${ROOT}/${dir}/*.cpp" "${ROOT}/${dir}/*.cu" "${ROOT}/${dir}/*.cuh")
  foreach(f IN LISTS files)
    file(STRINGS "${f}" includes REGEX "^[ \t]*#[ \t]*include")
    foreach(inc IN LISTS includes)
      foreach(b IN LISTS banned)
        string(FIND "${inc}" "\"${b}" q)
        string(FIND "${inc}" "${b}" a)
        if((NOT b MATCHES "^<" AND q GREATER -1) OR (b MATCHES "^<" AND a GREATER -1))
          file(RELATIVE_PATH rel "${ROOT}" "${f}")
          string(APPEND violations "  ${rel}: ${inc}\n")
        endif()
      endforeach()
    endforeach()
  endforeach()
endforeach()
if(violations)
  message(FATAL_ERROR "module layering violated (see docs/design.md):\n${violations}")
endif()
message(STATUS "module layering respected")
