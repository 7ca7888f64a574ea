# cmake -DROOT=src -P check_layering.cmake
# The dependency direction of docs/design.md: app -> {engine, media, render};
# engine, media and render include none of each other and no Qt; base includes
# nothing of ours but base. Inside app: gui -> modes -> session; the session
# includes no mode and no Qt; a mode includes no other mode, no GUI and no Qt.
# CMake target links enforce the module rules at link time; this catches
# header-only slips. tests/CMakeLists.txt also runs it on planted violations,
# so a check that stopped seeing them fails too.
set(rules
  "base|engine/,media/,render/,app/,<Q"
  "engine|media/,render/,app/,<Q"
  "media|engine/,render/,app/,<Q"
  "render|engine/,media/,app/,<Q"
  "app/session|<Q,app/gui/,app/modes/,app/cli/"
  "app/cli|<Q,app/gui/")
# Each mode folder: everything under app/modes/ but itself (and modes.h, the
# registration the CLI and GUI call) is banned, and so are Qt and the GUI.
file(GLOB mode_dirs LIST_DIRECTORIES true "${ROOT}/app/modes/*")
foreach(dir IN LISTS mode_dirs)
  if(NOT IS_DIRECTORY "${dir}")
    continue()
  endif()
  get_filename_component(mode "${dir}" NAME)
  set(banned "<Q,app/gui/,app/cli/")
  foreach(other IN LISTS mode_dirs)
    get_filename_component(other_name "${other}" NAME)
    if(IS_DIRECTORY "${other}" AND NOT other_name STREQUAL mode)
      string(APPEND banned ",app/modes/${other_name}/")
    endif()
  endforeach()
  list(APPEND rules "app/modes/${mode}|${banned}")
endforeach()

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
