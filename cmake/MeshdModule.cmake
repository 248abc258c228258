# meshd_module(NAME DEPS ...) builds src/NAME/*.cpp into the static library
# meshd_NAME, with include/ public and the warning flags applied.
function(meshd_module name)
  cmake_parse_arguments(M "" "" "DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${name}/*.cpp)
  if(NOT sources)
    message(STATUS "meshd: module ${name} has no sources yet, skipped")
    return()
  endif()
  add_library(meshd_${name} STATIC ${sources})
  target_include_directories(meshd_${name} PUBLIC ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(meshd_${name} PUBLIC ${M_DEPS} PRIVATE meshd_warnings)
  if(name MATCHES "^(gateway|api)$")  # they parse HTTP requests (cmake/Warnings.cmake)
    target_compile_options(meshd_${name} PRIVATE ${MESHD_SANITIZE_BEAST_OPTIONS})
  endif()
endfunction()

# meshd_unit_test(NAME) builds tests/unit/NAME/*.cpp into one GoogleTest
# binary linked against meshd_NAME and registers each case with CTest.
function(meshd_unit_test name)
  cmake_parse_arguments(T "" "" "DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${name}/*.cpp)
  if(NOT sources OR NOT TARGET meshd_${name})
    return()
  endif()
  add_executable(unit_${name} ${sources})
  # src/ for the private headers of the module under test ("daemon/cli.hpp").
  target_include_directories(unit_${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(unit_${name} PRIVATE meshd_${name} ${T_DEPS} GTest::gtest GTest::gtest_main meshd_warnings)
  # The tests that read files of the repository find it through
  # MESHD_SOURCE_DIR (__FILE__ is relative when ccache rewrites paths).
  gtest_discover_tests(unit_${name} DISCOVERY_TIMEOUT 30
                       PROPERTIES LABELS unit ENVIRONMENT "MESHD_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()
