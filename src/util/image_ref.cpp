#include "util/image_ref.hpp"

namespace mldeploy::util {

std::optional<std::string> registry_of(std::string_view reference) {
    const auto slash = reference.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    const auto first = reference.substr(0, slash);
    // "localhost" alone is Podman's prefix for images built here.
    if (first == "localhost") return std::nullopt;
    if (first.find('.') == std::string_view::npos && first.find(':') == std::string_view::npos) return std::nullopt;
    return std::string(first);
}

bool is_loopback_registry(std::string_view host) {
    std::string_view name = host;
    if (name.starts_with("[")) {
        name = name.substr(1, name.find(']') == std::string_view::npos ? name.size() - 1 : name.find(']') - 1);
        return name == "::1";
    }
    if (const auto colon = name.find(':'); colon != std::string_view::npos) name = name.substr(0, colon);
    return name == "localhost" || name.starts_with("127.");
}

}  // namespace mldeploy::util
