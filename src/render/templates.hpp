// Templates from the repository's templates/ folder, compiled into the binary.
#pragma once

#include <string_view>

namespace mldeploy::render {

// The text of templates/<name>; empty when there is no such template.
std::string_view template_text(std::string_view name);

}  // namespace mldeploy::render
