// toml++'s compiled part (the parser), built into mldeploy rather than linked
// from libtomlplusplus.so (cmake/Dependencies.cmake says why). Every other
// source sees its declarations only (TOML_HEADER_ONLY=0).
#define TOML_IMPLEMENTATION
#include <toml++/toml.h>
