# Precompiled headers for aether's OWN test programs and tools; never for the
# exported library, the packaging checks (each header must compile alone),
# the allocation-counting tests or the node's -fno-exceptions TU.
#
# Why: the headers these programs share (the umbrella, training, the io
# readers, nlohmann-json, CLI11, GoogleTest) cost 1-4 s to parse in every
# translation unit; a precompiled header pays that once per build flavour.
# (The benchmarks and examples, which include only the core, gain too little
# to pay for a header of their own.)
#
#   aether_add_pch(<name> LIBS <targets...> [DEFINES <defs...>] HEADERS <headers...>)
#     an OBJECT library that compiles nothing but the precompiled <headers>,
#     with the flags of aether's programs (aether_private_options) and of
#     <LIBS>; programs with the same flags reuse it.
#   aether_use_pch(<target> <name>)
#     <target> reuses <name>'s precompiled header. A program whose flags
#     differ must not (GCC would silently ignore the header: slower, never
#     wrong).
# AETHER_PCH=OFF turns both into no-ops (every TU parses its headers).
option(AETHER_PCH "Precompile the common headers of aether's own tests and tools" ON)

function(aether_add_pch name)
  cmake_parse_arguments(PCH "" "" "LIBS;DEFINES;HEADERS" ${ARGN})
  if(NOT AETHER_PCH)
    return()
  endif()
  set(stub "${CMAKE_CURRENT_BINARY_DIR}/${name}.cpp")
  file(CONFIGURE OUTPUT "${stub}" CONTENT "// ${name}: precompiled headers only (cmake/AetherPch.cmake)\n")
  add_library(${name} OBJECT "${stub}")
  target_link_libraries(${name} PRIVATE ${PCH_LIBS})
  if(PCH_DEFINES)
    target_compile_definitions(${name} PRIVATE ${PCH_DEFINES})
  endif()
  aether_private_options(${name})
  target_precompile_headers(${name} PRIVATE ${PCH_HEADERS})
endfunction()

function(aether_use_pch target name)
  if(AETHER_PCH)
    target_precompile_headers(${target} REUSE_FROM ${name})
    # Build <name> first: a program in another folder (live_loopback_test, in
    # tools/) otherwise races it under make -j, and clang's Makefiles then find
    # "no rule to make" the .pch.
    add_dependencies(${target} ${name})
  endif()
endfunction()
