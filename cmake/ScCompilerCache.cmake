# Use ccache for every language when it is installed (CI relies on it to stay fast).
find_program(SC_CCACHE ccache)
if(SC_CCACHE)
  foreach(lang C CXX CUDA)
    if(NOT DEFINED CMAKE_${lang}_COMPILER_LAUNCHER)
      set(CMAKE_${lang}_COMPILER_LAUNCHER "${SC_CCACHE}")
    endif()
  endforeach()
endif()
