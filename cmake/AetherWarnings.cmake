# aether_private_options(target): warnings, optional -march=native and
# sanitizers for aether's OWN executables only. Nothing here is attached to
# the exported `aether` INTERFACE target, so consumers never inherit flags.
function(aether_private_options target)
  # Eigen compiled with OpenMP splits a large product across threads by
  # itself, even inside aether's one-thread calls (train_blob --threads 1 in
  # the native build: 1.53 s against 0.49 s for 2 threads, 1.8x the CPU
  # time; 160x slower beside another busy process), while aether's OpenMP
  # paths already split the work. aether's own programs turn Eigen's off;
  # consumers decide for themselves (README, "OpenMP").
  target_compile_definitions(${target} PRIVATE EIGEN_DONT_PARALLELIZE)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow)
    if(AETHER_NATIVE)
      target_compile_options(${target} PRIVATE -march=native)
      # GCC 12 reports false -Wmaybe-uninitialized positives from inside its
      # own AVX-512 intrinsic headers (reached through Eigen); not our code.
      # Those headers also make "undefined" vectors by self-initialisation
      # (`__m512 __Y = __Y;` in _mm512_undefined_ps), which -Wall's
      # -Winit-self turns into 20 -Wuninitialized warnings via Eigen's packet
      # exp/max; -Wno-init-self exempts only that idiom (a variable read
      # before any assignment still warns).
      if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
        target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized -Wno-init-self)
      endif()
    endif()
    if(AETHER_SANITIZE)
      target_compile_options(${target} PRIVATE -fsanitize=address,undefined
                                               -fno-sanitize-recover=all -fno-omit-frame-pointer)
      target_link_options(${target} PRIVATE -fsanitize=address,undefined -fno-sanitize-recover=all)
    endif()
    if(AETHER_SANITIZE_THREAD)
      if(AETHER_SANITIZE)
        message(FATAL_ERROR "AETHER_SANITIZE and AETHER_SANITIZE_THREAD cannot be combined")
      endif()
      target_compile_options(${target} PRIVATE -fsanitize=thread -fno-omit-frame-pointer)
      target_link_options(${target} PRIVATE -fsanitize=thread)
    endif()
  endif()
endfunction()
