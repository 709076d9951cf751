// Registry credentials where Podman and Docker keep them, and the header the
// engines' push and pull take them in.
#pragma once

#include "engine/engine.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace mldeploy::engine {

// The files to read, first match wins, as Podman then Docker look:
// $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json,
// $DOCKER_CONFIG/config.json or ~/.docker/config.json. Missing files are skipped.
std::vector<std::filesystem::path> registry_auth_files();

// The credentials for `registry` (host[:port]) in `files`: an "auths" entry whose
// key is the host, or a URL of it ("https://host/v1/"). A file that is not
// JSON, or an entry whose "auth" is not base64 "user:password", is an error
// (std::runtime_error) that names the file. Credential helpers ("credsStore",
// "credHelpers") are not run: an entry only there is not found.
std::optional<RegistryAuth> find_registry_auth(const std::string& registry,
                                               const std::vector<std::filesystem::path>& files);

// X-Registry-Auth: base64url of {"username", "password", "serveraddress"}.
std::string x_registry_auth(const RegistryAuth& auth);

}  // namespace mldeploy::engine
