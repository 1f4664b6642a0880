# Cross toolchain: bare-metal Arm Cortex-M4F (single-precision FPU, hard-float
# ABI), Debian's gcc-arm-none-eabi with newlib and libstdc++-arm-none-eabi-newlib.
# The embedded profile: no exceptions, no RTTI; Release is CMake's -O3 -DNDEBUG
# (the cost figures in docs/node.md are measured so; -O2 costs ~25% more per push). Images link their own
# startup (firmware/startup.c, -nostartfiles) and run under
# qemu-system-arm -M mps2-an386 with semihosting.
#
#   cmake -S firmware -B build-firmware \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/cortex-m4f.cmake
#
# Used by .ci/firmware.sh (the firmware CI step).
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_CXX_COMPILER arm-none-eabi-g++)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
set(CMAKE_OBJCOPY arm-none-eabi-objcopy CACHE FILEPATH "")
set(CMAKE_SIZE arm-none-eabi-size CACHE FILEPATH "")
# No OS to run a test executable on: try_compile builds static libraries.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(AETHER_CORTEX_M4F_FLAGS "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -ffunction-sections -fdata-sections")
set(CMAKE_C_FLAGS_INIT "${AETHER_CORTEX_M4F_FLAGS}")
set(CMAKE_CXX_FLAGS_INIT "${AETHER_CORTEX_M4F_FLAGS} -fno-exceptions -fno-rtti")
set(CMAKE_ASM_FLAGS_INIT "${AETHER_CORTEX_M4F_FLAGS}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,--gc-sections")

set(CMAKE_FIND_ROOT_PATH /usr/lib/arm-none-eabi)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
# Eigen is header-only: its host CMake config (/usr/share/eigen3/cmake) serves.
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

set(CMAKE_CROSSCOMPILING_EMULATOR qemu-system-arm -M mps2-an386 -nographic -semihosting-config enable=on,target=native -kernel)
