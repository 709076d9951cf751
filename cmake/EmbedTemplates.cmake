# Turns the files in templates/ into a C++ source, so the binary carries its
# templates while they stay plain data files in the repository.
# Run as: cmake -DOUT=... -DFILES="a;b" -P EmbedTemplates.cmake
set(body "// Generated from templates/ by cmake/EmbedTemplates.cmake. Do not edit.\n#include \"render/templates.hpp\"\n\nnamespace mldeploy::render {\n\nstd::string_view template_text(std::string_view name) {\n")
foreach(f IN LISTS FILES)
  get_filename_component(n "${f}" NAME)
  file(READ "${f}" content)
  string(APPEND body "    if (name == \"${n}\") return R\"MLDEPLOY_TPL(${content})MLDEPLOY_TPL\";\n")
endforeach()
string(APPEND body "    return {};\n}\n\n}  // namespace mldeploy::render\n")
file(WRITE "${OUT}.tmp" "${body}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
