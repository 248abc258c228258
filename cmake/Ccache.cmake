# Use ccache when it is installed: rebuilds after a branch switch or a clean
# checkout of the same sources then cost seconds, not minutes.
find_program(MESHD_CCACHE ccache)
if(MESHD_CCACHE)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${MESHD_CCACHE})
endif()
