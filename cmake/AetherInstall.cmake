# Install rules for the header-only `aether` package (included from the
# top-level CMakeLists.txt when AETHER_INSTALL is ON).
#
# Installs:
#   <includedir>/aether/**.hpp, **.h           the headers (incl. detail/, the C ABI in c/)
#   <datadir>/cmake/aether/aether{Config,ConfigVersion,Targets}.cmake
#   <datadir>/pkgconfig/aether.pc
#
# The package is architecture-independent (headers only), so its CMake and
# pkg-config files go under DATADIR. Only the `aether` INTERFACE target is
# exported: C++17, include dir, Eigen3::Eigen (+ OpenMP when built with it).
# No optimisation, -march or warning flags reach consumers.

include(CMakePackageConfigHelpers)

set(AETHER_INSTALL_CMAKEDIR "${CMAKE_INSTALL_DATADIR}/cmake/aether"
    CACHE STRING "Where aetherConfig.cmake is installed, relative to the prefix")
set(AETHER_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_DATADIR}/pkgconfig"
    CACHE STRING "Where aether.pc is installed, relative to the prefix")
mark_as_advanced(AETHER_INSTALL_CMAKEDIR AETHER_INSTALL_PKGCONFIGDIR)

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/aether"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
        FILES_MATCHING PATTERN "*.hpp" PATTERN "*.h")

install(TARGETS aether EXPORT aetherTargets)
install(EXPORT aetherTargets
        NAMESPACE aether::
        FILE aetherTargets.cmake
        DESTINATION "${AETHER_INSTALL_CMAKEDIR}")

# Read by aetherConfig.cmake.in: the consumer must find what the build used.
set(AETHER_CONFIG_USES_OPENMP ${AETHER_USE_OPENMP})
configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/aetherConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/aetherConfig.cmake"
  INSTALL_DESTINATION "${AETHER_INSTALL_CMAKEDIR}")
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/aetherConfigVersion.cmake"
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion
  ARCH_INDEPENDENT)
install(FILES "${PROJECT_BINARY_DIR}/aetherConfig.cmake"
              "${PROJECT_BINARY_DIR}/aetherConfigVersion.cmake"
        DESTINATION "${AETHER_INSTALL_CMAKEDIR}")

# pkg-config: relocatable (prefix derived from the .pc file's own location),
# so `cmake --install --prefix X` yields a correct file wherever X is.
if(IS_ABSOLUTE "${AETHER_INSTALL_PKGCONFIGDIR}")
  set(_aether_pc_dir "${AETHER_INSTALL_PKGCONFIGDIR}")
else()
  set(_aether_pc_dir "${CMAKE_INSTALL_PREFIX}/${AETHER_INSTALL_PKGCONFIGDIR}")
endif()
file(RELATIVE_PATH _aether_pc_up "${_aether_pc_dir}" "${CMAKE_INSTALL_PREFIX}")
string(REGEX REPLACE "/$" "" _aether_pc_up "${_aether_pc_up}")
if(_aether_pc_up STREQUAL "" OR IS_ABSOLUTE "${AETHER_INSTALL_PKGCONFIGDIR}")
  set(AETHER_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  set(AETHER_PC_PREFIX "\${pcfiledir}/${_aether_pc_up}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(AETHER_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(AETHER_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
# OpenMP builds: the same switches the CMake target propagates (GCC/Clang spelling).
set(AETHER_PC_EXTRA_CFLAGS "")
set(AETHER_PC_EXTRA_LIBS "")
if(AETHER_USE_OPENMP)
  set(AETHER_PC_EXTRA_CFLAGS " -fopenmp -DAETHER_USE_OPENMP=1")
  set(AETHER_PC_EXTRA_LIBS " -fopenmp")
endif()
configure_file("${PROJECT_SOURCE_DIR}/cmake/aether.pc.in" "${PROJECT_BINARY_DIR}/aether.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/aether.pc" DESTINATION "${AETHER_INSTALL_PKGCONFIGDIR}")
unset(_aether_pc_dir)
unset(_aether_pc_up)
