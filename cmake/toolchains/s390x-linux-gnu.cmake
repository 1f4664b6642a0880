# Cross toolchain: 64-bit big-endian IBM Z (s390x) Linux, Debian's
# g++-s390x-linux-gnu; programs run under qemu-user's qemu-s390x with the
# cross libc as its sysroot, so ctest and gtest discovery work unchanged.
#
#   cmake -S tests/cross -B build-s390x \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/s390x-linux-gnu.cmake
#
# Used by .ci/s390x.sh (the big-endian CI step).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR s390x)

set(CMAKE_C_COMPILER s390x-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER s390x-linux-gnu-g++)

set(AETHER_S390X_SYSROOT /usr/s390x-linux-gnu)
set(CMAKE_FIND_ROOT_PATH ${AETHER_S390X_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
# Packages: the host's too, for the architecture-independent header-only ones
# (Eigen's config lives in /usr/share/eigen3/cmake). Nothing compiled for the
# host may be linked: the cross project never asks for GTest or other binaries
# by find_package (it builds GoogleTest from /usr/src/googletest).
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

set(CMAKE_CROSSCOMPILING_EMULATOR qemu-s390x -L ${AETHER_S390X_SYSROOT})
