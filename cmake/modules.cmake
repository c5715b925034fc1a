# dw_module(NAME DEPS dep...): a static library from src/NAME/*.cc, or an
# INTERFACE library while the module has no sources yet. Every module sees
# headers as "module/file.h" from src/.
function(dw_module name)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  if(sources)
    add_library(dw_${name} STATIC ${sources})
    target_include_directories(dw_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src ${PROJECT_BINARY_DIR}/generated)
    target_link_libraries(dw_${name} PUBLIC ${ARG_DEPS})
  else()
    add_library(dw_${name} INTERFACE)
    target_include_directories(dw_${name} INTERFACE ${PROJECT_SOURCE_DIR}/src ${PROJECT_BINARY_DIR}/generated)
    target_link_libraries(dw_${name} INTERFACE ${ARG_DEPS})
  endif()
endfunction()

# dw_test_suite(MODULE DEPS dep...): one GoogleTest binary per module from
# tests/MODULE/*_test.cc, registered with CTest test by test. A suite without
# a dw_MODULE library (a cross-module suite) links only its DEPS.
function(dw_test_suite module)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${module}/*.cc)
  if(NOT sources)
    return()
  endif()
  add_executable(dw_${module}_tests ${sources})
  if(TARGET dw_${module})
    target_link_libraries(dw_${module}_tests PRIVATE dw_${module})
  endif()
  target_link_libraries(dw_${module}_tests PRIVATE dw_test_support ${ARG_DEPS}
                        GTest::gtest GTest::gmock GTest::gtest_main)
  gtest_discover_tests(dw_${module}_tests DISCOVERY_MODE PRE_TEST
                       PROPERTIES LABELS ${module} ENVIRONMENT "DRIFTWATCH_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()
