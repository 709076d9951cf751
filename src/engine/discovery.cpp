#include "engine/discovery.hpp"

#include "engine/http.hpp"
#include "engine/podman.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace mldeploy::engine {
namespace {

std::optional<std::string> env(const char* name) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') return std::nullopt;
    return std::string(v);
}

}  // namespace

std::string socket_path_from_url(const std::string& url) {
    constexpr std::string_view scheme = "unix://";
    if (url.rfind(scheme, 0) == 0) return url.substr(scheme.size());
    if (!url.empty() && url[0] == '/') return url;
    throw std::invalid_argument(fmt::format(
        "'{}' is not a unix socket; mldeploy talks to local engines only: write unix:///path/to/socket", url));
}

std::vector<Candidate> socket_candidates(const std::string& host_flag) {
    if (!host_flag.empty()) return {{socket_path_from_url(host_flag), "-H"}};
    std::vector<Candidate> out;
    for (const char* var : {"MLDEPLOY_HOST", "CONTAINER_HOST", "DOCKER_HOST"})
        if (auto v = env(var)) return {{socket_path_from_url(*v), fmt::format("${}", var)}};
    out.push_back({"/run/podman/podman.sock", "rootful Podman"});
    if (auto xdg = env("XDG_RUNTIME_DIR")) out.push_back({*xdg + "/podman/podman.sock", "rootless Podman"});
    out.push_back({"/var/run/docker.sock", "Docker"});
    return out;
}

std::unique_ptr<Engine> connect(const std::string& host_flag) {
    std::string tried;
    for (const auto& c : socket_candidates(host_flag)) {
        std::error_code ec;
        if (!std::filesystem::exists(c.socket, ec)) {
            tried += fmt::format("\n  {} ({}): no such socket", c.socket, c.origin);
            continue;
        }
        auto engine = std::make_unique<PodmanEngine>(c.socket);
        try {
            engine->info();
            return engine;
        } catch (const EngineError& e) {
            tried += fmt::format("\n  {} ({}): {}", c.socket, c.origin, e.engine_message());
        }
    }
    throw EngineError("connect to the container engine", 0,
                      "no engine answered. Tried:" + tried +
                          "\nStart Podman's service with: podman system service --time=0 unix:///run/podman/podman.sock &"
                          "\nor name a socket with -H unix:///path/to/socket");
}

}  // namespace mldeploy::engine
