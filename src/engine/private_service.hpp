// The daemonless default: when no engine socket answers but Podman is
// installed, mldeploy starts a private `podman system service` on a socket in
// its own runtime folder, with a short idle timeout so that it exits by itself.
// The containers it starts keep running after it exits (conmon holds them).
// This is the only process mldeploy ever starts.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

namespace mldeploy::engine {

struct PrivateService {
    std::string socket;    // the socket path it listens on
    bool started = false;  // false: one started earlier still answered
};

// The folder for mldeploy's private socket: $XDG_RUNTIME_DIR/mldeploy, else
// /run/mldeploy for root, else /tmp/mldeploy-<uid>.
std::filesystem::path private_runtime_dir();

// The `podman` executable on PATH, if any.
std::optional<std::filesystem::path> find_podman();

// Starts (or reuses) the private service; nullopt when Podman is not installed.
// Throws std::runtime_error when it was started but never answered.
std::optional<PrivateService> ensure_private_podman_service(std::chrono::seconds idle_timeout);

}  // namespace mldeploy::engine
