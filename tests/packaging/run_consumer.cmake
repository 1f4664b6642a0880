# cmake -DMODE=<install|find_package|pkg_config|add_subdirectory> -D... -P run_consumer.cmake
# Driver of the packaging tests (see CMakeLists.txt here). Fails with
# FATAL_ERROR, which ctest reports with the failing step's output.
cmake_minimum_required(VERSION 3.21)

foreach(var MODE AETHER_SOURCE_DIR PACKAGING_DIR WORK_DIR GENERATOR CXX_COMPILER)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_consumer.cmake: -D${var}=... is required")
  endif()
endforeach()

# Plain flags for consumers: nothing from the developer's environment.
foreach(env CXXFLAGS CFLAGS LDFLAGS CPPFLAGS CMAKE_BUILD_TYPE PKG_CONFIG_PATH)
  unset(ENV{${env}})
endforeach()

set(prefix "${WORK_DIR}/prefix")
set(common_args -G "${GENERATOR}" "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
if(MAKE_PROGRAM)
  list(APPEND common_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()
if(EIGEN3_DIR)
  list(APPEND common_args "-DEigen3_DIR=${EIGEN3_DIR}")
endif()

# run(<step> <command...>): runs a command, fails the test with its output.
function(run step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "[${MODE}] ${step} failed (exit ${rc}):\n  ${cmd}\n--- stdout ---\n${out}\n--- stderr ---\n${err}")
  endif()
  message(STATUS "[${MODE}] ${step}: ok")
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

function(require_file path)
  if(NOT EXISTS "${path}")
    message(FATAL_ERROR "[${MODE}] expected file is missing: ${path}")
  endif()
endfunction()

if(MODE STREQUAL "install")
  # The library alone, as a distribution would package it.
  file(REMOVE_RECURSE "${WORK_DIR}/aether-build" "${prefix}")
  run("configure aether (library only)" ${CMAKE_COMMAND} -S "${AETHER_SOURCE_DIR}" -B "${WORK_DIR}/aether-build"
      ${common_args} "-DCMAKE_INSTALL_PREFIX=${prefix}" -DAETHER_BUILD_TESTS=OFF -DAETHER_BUILD_BENCHMARKS=OFF
      -DAETHER_BUILD_EXAMPLES=OFF -DAETHER_BUILD_TOOLS=OFF -DAETHER_INSTALL=ON "-DAETHER_USE_OPENMP=${USE_OPENMP}")
  run("install" ${CMAKE_COMMAND} --install "${WORK_DIR}/aether-build")
  require_file("${prefix}/include/aether/aether.hpp")
  file(GLOB src_detail RELATIVE "${AETHER_SOURCE_DIR}/include" "${AETHER_SOURCE_DIR}/include/aether/detail/*.hpp")
  foreach(h IN LISTS src_detail)
    require_file("${prefix}/include/${h}")
  endforeach()
  require_file("${prefix}/share/cmake/aether/aetherConfig.cmake")
  require_file("${prefix}/share/cmake/aether/aetherConfigVersion.cmake")
  require_file("${prefix}/share/cmake/aether/aetherTargets.cmake")
  require_file("${prefix}/share/pkgconfig/aether.pc")
  file(READ "${prefix}/share/cmake/aether/aetherTargets.cmake" targets)
  if(targets MATCHES "-march|-O[0-3s]|-W[a-z]|fsanitize")
    message(FATAL_ERROR "[install] aetherTargets.cmake exports compiler flags:\n${targets}")
  endif()

elseif(MODE STREQUAL "find_package")
  set(bdir "${WORK_DIR}/find_package-build")
  file(REMOVE_RECURSE "${bdir}")
  run("configure consumer" ${CMAKE_COMMAND} -S "${PACKAGING_DIR}/find_package" -B "${bdir}" ${common_args}
      "-DCMAKE_PREFIX_PATH=${prefix}")
  run("build consumer" ${CMAKE_COMMAND} --build "${bdir}")
  run("run consumer" "${bdir}/app")
  # A version request beyond the major must be refused (SameMajorVersion).
  set(vdir "${WORK_DIR}/find_package-version")
  file(REMOVE_RECURSE "${vdir}")
  file(WRITE "${vdir}/src/CMakeLists.txt"
       "cmake_minimum_required(VERSION 3.21)\nproject(v LANGUAGES NONE)\nfind_package(aether 99 QUIET)\n"
       "if(aether_FOUND)\n  message(FATAL_ERROR \"aether 99 accepted\")\nendif()\n")
  run("version 99 is refused" ${CMAKE_COMMAND} -S "${vdir}/src" -B "${vdir}/build" -G "${GENERATOR}"
      "-DCMAKE_PREFIX_PATH=${prefix}")

elseif(MODE STREQUAL "pkg_config")
  if(NOT PKG_CONFIG)
    message(FATAL_ERROR "[pkg_config] pkg-config was not found when the tests were configured")
  endif()
  set(ENV{PKG_CONFIG_PATH} "${prefix}/share/pkgconfig")
  run("pkg-config --cflags aether" "${PKG_CONFIG}" --cflags aether)
  string(STRIP "${run_output}" cflags)
  separate_arguments(cflags UNIX_COMMAND "${cflags}")
  set(found_header FALSE)
  foreach(flag IN LISTS cflags)
    if(flag MATCHES "^-I(.+)$")
      # Nested: ${CMAKE_MATCH_1} is expanded before the enclosing if() runs.
      if(EXISTS "${CMAKE_MATCH_1}/aether/aether.hpp")
        set(found_header TRUE)
      endif()
    endif()
    if(flag MATCHES "^-march|^-O|^-W|^-fsanitize")
      message(FATAL_ERROR "[pkg_config] aether.pc exports flag '${flag}'")
    endif()
  endforeach()
  if(NOT found_header)
    message(FATAL_ERROR "[pkg_config] no -I in '${cflags}' leads to aether/aether.hpp")
  endif()
  run("pkg-config --modversion aether" "${PKG_CONFIG}" --modversion aether)
  run("pkg-config --libs aether" "${PKG_CONFIG}" --libs aether)
  string(STRIP "${run_output}" libs)
  separate_arguments(libs UNIX_COMMAND "${libs}")
  file(MAKE_DIRECTORY "${WORK_DIR}/pkg_config-build")
  set(exe "${WORK_DIR}/pkg_config-build/app")
  run("compile consumer with pkg-config flags" "${CXX_COMPILER}" -std=c++17 ${cflags}
      "${PACKAGING_DIR}/find_package/main.cpp" -o "${exe}" ${libs})
  run("run consumer" "${exe}")

elseif(MODE STREQUAL "add_subdirectory")
  set(bdir "${WORK_DIR}/add_subdirectory-build")
  file(REMOVE_RECURSE "${bdir}" "${WORK_DIR}/add_subdirectory-prefix")
  run("configure consumer" ${CMAKE_COMMAND} -S "${PACKAGING_DIR}/add_subdirectory" -B "${bdir}" ${common_args}
      "-DAETHER_SOURCE_DIR=${AETHER_SOURCE_DIR}")
  run("build consumer" ${CMAKE_COMMAND} --build "${bdir}")
  run("run consumer" "${bdir}/app")
  # aether must add no install rules when it is a subproject.
  run("install consumer" ${CMAKE_COMMAND} --install "${bdir}" --prefix "${WORK_DIR}/add_subdirectory-prefix")
  if(EXISTS "${WORK_DIR}/add_subdirectory-prefix")
    file(GLOB_RECURSE installed "${WORK_DIR}/add_subdirectory-prefix/*")
    if(installed)
      message(FATAL_ERROR "[add_subdirectory] aether installed files as a subproject:\n${installed}")
    endif()
  endif()
  if(EXISTS "${bdir}/aether-build/CTestTestfile.cmake")
    message(FATAL_ERROR "[add_subdirectory] aether registered tests as a subproject")
  endif()

else()
  message(FATAL_ERROR "run_consumer.cmake: unknown MODE '${MODE}'")
endif()
