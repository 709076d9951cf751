// Which engine socket to use: -H, then $MLDEPLOY_HOST, $CONTAINER_HOST,
// $DOCKER_HOST, then the usual sockets of rootful Podman, rootless Podman and
// Docker, in that order (CONTRACT.md).
#pragma once

#include "engine/engine.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mldeploy::engine {

struct Candidate {
    std::string socket;    // a path
    std::string origin;    // "-H", "$DOCKER_HOST", "rootful Podman", ...
};

// Every place to try, in order. `host_flag` is -H's value (empty when not given).
std::vector<Candidate> socket_candidates(const std::string& host_flag);

// "unix:///run/podman/podman.sock" or a bare path -> the path; throws
// std::invalid_argument for other schemes.
std::string socket_path_from_url(const std::string& url);

// Connects to the first candidate that answers; throws EngineError listing
// every place tried and how to start an engine when none answers.
std::unique_ptr<Engine> connect(const std::string& host_flag);

}  // namespace mldeploy::engine
