// What an image reference says about where it lives: "host:5000/team/model:1"
// names the registry host:5000; "team/model:1" and "localhost/team/model:1"
// (Podman's name for a local image) name none. Docker's rule: the first part is
// a registry when it has a '.' or a ':' or is "localhost" followed by ":port".
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mldeploy::util {

// The registry host (with its port) the reference names, or nullopt.
std::optional<std::string> registry_of(std::string_view reference);
// localhost, 127.0.0.0/8 or [::1], with or without a port: a registry that
// engines may reach over plain HTTP.
bool is_loopback_registry(std::string_view host);

}  // namespace mldeploy::util
