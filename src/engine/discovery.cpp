#include "engine/discovery.hpp"

#include "engine/docker.hpp"
#include "engine/http.hpp"
#include "engine/podman.hpp"
#include "engine/private_service.hpp"
#include "engine/swarm.hpp"

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

std::string header_of(const std::map<std::string, std::string>& headers, const char* name) {
    const auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
}

std::string flavour_name(const std::string& flavour) { return flavour == "docker" ? "Docker" : "Podman"; }

void check_flavour(const std::string& flavour) {
    if (flavour != "podman" && flavour != "docker")
        throw std::invalid_argument(fmt::format("engine '{}' is not one of podman, docker", flavour));
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
    out.push_back({podman_default_socket, "rootful Podman"});
    if (auto xdg = env("XDG_RUNTIME_DIR")) out.push_back({*xdg + "/podman/podman.sock", "rootless Podman"});
    out.push_back({docker_default_socket, "Docker"});
    return out;
}

std::optional<std::string> flavour_from_ping_headers(const std::map<std::string, std::string>& headers) {
    if (!header_of(headers, "libpod-api-version").empty()) return "podman";
    const std::string server = header_of(headers, "server");
    if (server.starts_with("Libpod/")) return "podman";
    if (server.starts_with("Docker/") || !header_of(headers, "api-version").empty()) return "docker";
    return std::nullopt;
}

std::unique_ptr<Engine> make_engine(const std::string& flavour, const std::string& socket) {
    check_flavour(flavour);
    if (flavour == "docker") return std::make_unique<DockerEngine>(socket);
    return std::make_unique<PodmanEngine>(socket);
}

std::unique_ptr<Engine> connect(const std::string& host_flag) { return connect(host_flag, std::nullopt); }

namespace {
std::function<void(const std::string&)> on_private_service;
}  // namespace

void set_private_service_notice(std::function<void(const std::string&)> notice) {
    on_private_service = std::move(notice);
}

std::unique_ptr<Engine> connect(const std::string& host_flag, const std::optional<std::string>& forced_flavour) {
    if (forced_flavour) check_flavour(*forced_flavour);
    std::string tried;
    for (const auto& c : socket_candidates(host_flag)) {
        std::error_code ec;
        if (!std::filesystem::exists(c.socket, ec)) {
            tried += fmt::format("\n  {} ({}): no such socket", c.socket, c.origin);
            continue;
        }
        // Unversioned: both engines answer /_ping, each with its own headers.
        const HttpResponse ping = UnixHttpClient(c.socket).request("GET", "/_ping", {}, {}, std::chrono::seconds(10));
        if (ping.transport_error) {
            tried += fmt::format("\n  {} ({}): {}", c.socket, c.origin, ping.transport_error->message);
            continue;
        }
        std::optional<std::string> flavour = flavour_from_ping_headers(ping.headers);
        if (!flavour && !forced_flavour) {
            tried += fmt::format("\n  {} ({}): answers HTTP {} to /_ping, but neither as Podman nor as Docker",
                                 c.socket, c.origin, ping.status);
            continue;
        }
        if (forced_flavour && flavour && *flavour != *forced_flavour) {
            tried += fmt::format("\n  {} ({}): answers as {}, not as {}", c.socket, c.origin, flavour_name(*flavour),
                                 flavour_name(*forced_flavour));
            continue;
        }
        auto engine = make_engine(forced_flavour.value_or(*flavour), c.socket);
        // The ping's headers named the flavour (the forced one, if any): the engine
        // answers as it should, which is all info() would check, at one round trip
        // (Docker: two) more for every command. Only a socket that answered without
        // either engine's headers, under a forced flavour, is asked in that flavour's terms.
        if (flavour) return engine;
        try {
            engine->info();
            return engine;
        } catch (const EngineError& e) {
            tried += fmt::format("\n  {} ({}): {}", c.socket, c.origin, e.engine_message());
        }
    }
    // The daemonless default: nothing answers, but Podman is installed. Only
    // when no socket was named (-H or the environment): a named one must answer.
    const bool named = !host_flag.empty() || socket_candidates(host_flag).front().origin.front() == '$';
    if (!named && (!forced_flavour || *forced_flavour == "podman")) {
        if (auto service = ensure_private_podman_service(std::chrono::seconds(kPrivateServiceIdleSeconds))) {
            if (service->started && on_private_service) on_private_service(service->socket);
            auto engine = make_engine("podman", service->socket);
            engine->info();
            return engine;
        }
    }
    std::string how;
    if (!forced_flavour || *forced_flavour == "podman")
        how +=
            "\nStart Podman's service with: podman system service --time=0 unix:///run/podman/podman.sock &"
            "\n  (or packaging/start-podman-service.sh)";
    if (!forced_flavour || *forced_flavour == "docker")
        how +=
            "\nStart Docker with: setsid dockerd >/var/log/dockerd.log 2>&1 &"
            "\n  (or packaging/start-docker-service.sh)";
    throw EngineError("connect to the container engine", ErrorKind::transport, 0,
                      (forced_flavour ? fmt::format("no {} engine answered. Tried:", flavour_name(*forced_flavour))
                                      : std::string("no engine answered. Tried:")) +
                          tried + how + "\nor name a socket with -H unix:///path/to/socket");
}

std::unique_ptr<SwarmEngine> connect_swarm(const std::string& host_flag) {
    const auto docker = connect(host_flag, std::string("docker"));
    const auto socket = docker->info().socket;
    auto swarm = std::make_unique<SwarmEngine>(socket);
    const auto status = swarm->swarm_status();
    if (!status.manager)
        throw EngineError("connect to a swarm manager", ErrorKind::engine, 0,
                          fmt::format("the Docker engine on unix://{} is not a swarm manager (its swarm state: {}); "
                                      "make it one with `docker swarm init --advertise-addr 127.0.0.1`, or give a "
                                      "manager's socket with -H",
                                      socket, status.local_state.empty() ? "unknown" : status.local_state));
    return swarm;
}

}  // namespace mldeploy::engine
