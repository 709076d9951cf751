# How the libraries are linked, for a fast start. Every run of mldeploy pays, at
# start, for each shared library it loads: mapping it, relocating its symbols
# against all the others, and the pages this touches. `ps` must stay within 1.2x
# of a bare curl of the same engine request, in time and peak RSS
# (bench/tool_overhead.sh), and curl itself loads libcurl and what libcurl
# needs. So mldeploy loads only that, libc and libm (ldd build/src/mldeploy):
#  * libcurl and libcrypto (OpenSSL, for SHA-256): shared. libcurl loads
#    libcrypto anyway, so OpenSSL costs no library more;
#  * fmt, spdlog, toml++: compiled in (mldeploy_libs). fmt and spdlog header-only;
#    toml++'s parser in one source, src/stack/toml.cpp;
#  * libarchive: loaded by the first tar made or read (build, up, scale:
#    src/util/archive_lazy.cpp), not at start. It brings the compressors,
#    libxml2, ICU and libstdc++.so along, and its static library links them
#    all too (its format table references every format). Debian's libarchive13
#    is therefore a run-time dependency the linker does not see
#    (packaging/install-deps.sh names it);
#  * yaml-cpp (export kube/compose): its static library, compiled in. Its
#    shared one would load libstdc++.so at every start;
#  * libstdc++ and libgcc: static in the executable (mldeploy_lean_startup),
#    safe once no shared library loaded at start uses them.
# docs/architecture.md ("How the binary is linked") has the measurements.

add_library(mldeploy_libs INTERFACE)
target_link_libraries(mldeploy_libs INTERFACE fmt::fmt-header-only ${CMAKE_DL_LIBS})
find_library(MLDEPLOY_YAML_CPP_STATIC NAMES libyaml-cpp.a HINTS ${YAML_CPP_LIBRARY_DIRS} REQUIRED)
target_link_libraries(mldeploy_libs INTERFACE ${MLDEPLOY_YAML_CPP_STATIC})
# spdlog's and toml++'s headers only (their CMake targets bring their shared
# libraries along).
target_include_directories(mldeploy_libs SYSTEM INTERFACE
  $<TARGET_PROPERTY:spdlog::spdlog_header_only,INTERFACE_INCLUDE_DIRECTORIES>
  $<TARGET_PROPERTY:tomlplusplus::tomlplusplus,INTERFACE_INCLUDE_DIRECTORIES>
  ${LIBARCHIVE_INCLUDE_DIRS} ${YAML_CPP_INCLUDE_DIRS})
# TOML_HEADER_ONLY=0: every source sees toml++'s declarations, and only
# src/stack/toml.cpp compiles its parser.
target_compile_definitions(mldeploy_libs INTERFACE SPDLOG_FMT_EXTERNAL TOML_HEADER_ONLY=0)

include(CheckLinkerFlag)
check_linker_flag(CXX "-Wl,-z,pack-relative-relocs" MLDEPLOY_HAVE_RELR)

# The executable's link: no shared library that nothing calls (--as-needed), the
# C++ runtime inside, no code that nothing calls (--gc-sections, with a section
# per function in mldeploy_core: fewer pages for the start to touch), and
# relative relocations packed (DT_RELR: fewer pages written at start, where
# the linker and the loader have it). Debug builds keep the shared C++ runtime:
# with its operator new inside the executable, AddressSanitizer (the dev
# preset) could not intercept it.
function(mldeploy_lean_startup target)
  target_link_options(${target} PRIVATE -Wl,--as-needed -Wl,--gc-sections
    "$<$<NOT:$<CONFIG:Debug>>:-static-libstdc++;-static-libgcc>")
  if(MLDEPLOY_HAVE_RELR)
    target_link_options(${target} PRIVATE -Wl,-z,pack-relative-relocs)
  endif()
endfunction()
