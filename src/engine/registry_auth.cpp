#include "engine/registry_auth.hpp"

#include "util/base64.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace mldeploy::engine {
namespace {

std::string env_or_empty(const char* name) {
    const char* value = std::getenv(name);
    return value ? value : "";
}

// "https://host:5000/v1/" -> "host:5000"
std::string host_of_key(std::string key) {
    if (const auto scheme = key.find("://"); scheme != std::string::npos) key = key.substr(scheme + 3);
    if (const auto slash = key.find('/'); slash != std::string::npos) key = key.substr(0, slash);
    return key;
}

}  // namespace

std::vector<std::filesystem::path> registry_auth_files() {
    std::vector<std::filesystem::path> files;
    if (auto f = env_or_empty("REGISTRY_AUTH_FILE"); !f.empty()) files.emplace_back(f);
    if (auto run = env_or_empty("XDG_RUNTIME_DIR"); !run.empty())
        files.push_back(std::filesystem::path(run) / "containers" / "auth.json");
    if (auto docker = env_or_empty("DOCKER_CONFIG"); !docker.empty())
        files.push_back(std::filesystem::path(docker) / "config.json");
    else if (auto home = env_or_empty("HOME"); !home.empty())
        files.push_back(std::filesystem::path(home) / ".docker" / "config.json");
    return files;
}

std::optional<RegistryAuth> find_registry_auth(const std::string& registry,
                                               const std::vector<std::filesystem::path>& files) {
    for (const auto& file : files) {
        std::ifstream in(file);
        if (!in) continue;
        std::stringstream text;
        text << in.rdbuf();
        const auto doc = nlohmann::json::parse(text.str(), nullptr, false);
        if (doc.is_discarded() || !doc.is_object())
            throw std::runtime_error(fmt::format("{}: not a JSON object (a registry credentials file)", file.string()));
        const auto auths = doc.find("auths");
        if (auths == doc.end() || !auths->is_object()) continue;
        for (const auto& [key, entry] : auths->items()) {
            if (host_of_key(key) != registry || !entry.is_object()) continue;
            const auto auth = entry.value("auth", std::string());
            if (auth.empty()) continue;  // e.g. an identity token only
            const auto decoded = util::base64_decode(auth);
            const auto colon = decoded ? decoded->find(':') : std::string::npos;
            if (colon == std::string::npos)
                throw std::runtime_error(fmt::format(
                    "{}: the \"auth\" of {} is not base64 of user:password; log in again", file.string(), key));
            return RegistryAuth{decoded->substr(0, colon), decoded->substr(colon + 1), registry};
        }
    }
    return std::nullopt;
}

std::string x_registry_auth(const RegistryAuth& auth) {
    const nlohmann::json body = {
        {"username", auth.username}, {"password", auth.password}, {"serveraddress", auth.server}};
    return util::base64url_encode(body.dump());
}

}  // namespace mldeploy::engine
