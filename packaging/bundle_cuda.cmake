# Install-time script (packaging/CMakeLists.txt includes it from install(CODE)):
# copies the CUDA libraries the installed programs need (their DT_NEEDED
# entries that resolve into the CUDA toolkit) into a private folder,
# <prefix>/lib/<multiarch>/streamcanvas, where the programs' RUNPATH
# ($ORIGIN/../lib/<multiarch>/streamcanvas) finds them. Only libraries
# NVIDIA's CUDA EULA lists as redistributable (Attachment A) may be copied;
# anything else stops the install, and the files are copied unmodified
# (the EULA forbids changing them: no strip, no patchelf). The NVIDIA driver's
# libcuda.so.1 is never bundled: cudart loads the machine's own at run time.
#
# Inputs: SC_BUNDLE_EXECUTABLES (build-tree programs), SC_BUNDLE_CUDA_DIR,
# SC_BUNDLE_DESTINATION (relative to the install prefix).

set(_redistributable
  cudart cublas cublasLt nvblas cufft cufftw curand cusparse cusolver nvjpeg nvrtc nvrtc-builtins nvvm cupti
  nvToolsExt nppc nppial nppicc nppicom nppidei nppif nppig nppim nppist nppisu nppitc npps)

file(REAL_PATH "${SC_BUNDLE_CUDA_DIR}" _cuda_dir)
file(GET_RUNTIME_DEPENDENCIES
  EXECUTABLES ${SC_BUNDLE_EXECUTABLES}
  RESOLVED_DEPENDENCIES_VAR _resolved
  UNRESOLVED_DEPENDENCIES_VAR _unresolved
  DIRECTORIES "${_cuda_dir}")

set(_dest "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/${SC_BUNDLE_DESTINATION}")
set(_bundled "")
foreach(_lib IN LISTS _resolved)
  get_filename_component(_dir "${_lib}" DIRECTORY)
  file(REAL_PATH "${_dir}" _dir)
  if(NOT _dir STREQUAL _cuda_dir)
    continue()  # a system library: dpkg-shlibdeps turns it into a Depends
  endif()
  get_filename_component(_soname "${_lib}" NAME)  # the DT_NEEDED name, e.g. libcudart.so.13
  string(REGEX REPLACE "^lib(.*)\\.so(\\..*)?$" "\\1" _base "${_soname}")
  list(FIND _redistributable "${_base}" _known)  # install scripts run with old policies: no IN_LIST
  if(_known EQUAL -1)
    message(FATAL_ERROR
      "bundle_cuda: the programs need ${_soname} from ${_cuda_dir}, which is not on the list of libraries "
      "NVIDIA's CUDA EULA (Attachment A) lets us redistribute. Check the EULA before adding it to the list "
      "in ${CMAKE_CURRENT_LIST_FILE}.")
  endif()
  file(REAL_PATH "${_lib}" _file)
  message(STATUS "Bundling: ${_dest}/${_soname} (from ${_file})")
  file(MAKE_DIRECTORY "${_dest}")
  # The file under its SONAME, permissions as for any shared library.
  file(COPY_FILE "${_file}" "${_dest}/${_soname}" ONLY_IF_DIFFERENT)
  file(CHMOD "${_dest}/${_soname}" PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  list(APPEND _bundled "${_soname}")
  list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${_dest}/${_soname}")
endforeach()

foreach(_lib IN LISTS _unresolved)
  if(_lib MATCHES "^lib(cudart|cublas)")
    message(FATAL_ERROR "bundle_cuda: ${_lib} was not found in ${_cuda_dir}")
  endif()
endforeach()
if(NOT _bundled)
  message(FATAL_ERROR "bundle_cuda: the programs link no CUDA library from ${_cuda_dir}; is this a CUDA build?")
endif()
