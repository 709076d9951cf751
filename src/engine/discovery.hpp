// Which engine socket to use: -H, then $MLDEPLOY_HOST, $CONTAINER_HOST,
// $DOCKER_HOST, then the usual sockets of rootful Podman, rootless Podman and
// Docker, in that order (CONTRACT.md); and which flavour of engine answers there.
#pragma once

#include "engine/engine.hpp"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mldeploy::engine {

struct Candidate {
    std::string socket;  // a path
    std::string origin;  // "-H", "$DOCKER_HOST", "rootful Podman", ...
};

// Every place to try, in order. `host_flag` is -H's value (empty when not given).
std::vector<Candidate> socket_candidates(const std::string& host_flag);

// "unix:///run/podman/podman.sock" or a bare path -> the path; throws
// std::invalid_argument for other schemes.
std::string socket_path_from_url(const std::string& url);

// The flavour of engine behind an answer to GET /_ping, from its headers (names
// in lower case): "podman" when there is a Libpod-Api-Version header (Podman's
// Docker-compatible API answers /_ping too, but always with that header), else
// "docker" when the answer names Docker ("Server: Docker/20.10.24 (linux)") or
// an Api-Version; nullopt when neither.
std::optional<std::string> flavour_from_ping_headers(const std::map<std::string, std::string>& headers);

// The engine of `flavour` ("podman" | "docker") on `socket`, not yet contacted.
// Throws std::invalid_argument for another flavour.
std::unique_ptr<Engine> make_engine(const std::string& flavour, const std::string& socket);

// Connects to the first candidate that answers, as the flavour it answers as;
// throws EngineError listing every place tried and how to start each engine
// when none answers.
std::unique_ptr<Engine> connect(const std::string& host_flag);

// The same; with `forced_flavour` ("podman" | "docker"), only an engine of that
// flavour is taken: a socket that answers as the other one is passed over (and
// named in the error when nothing else answers). Throws std::invalid_argument
// for a flavour that is neither.
std::unique_ptr<Engine> connect(const std::string& host_flag, const std::optional<std::string>& forced_flavour);

class SwarmEngine;

// The swarm target's engine: the Docker engine connect() finds (Podman has no
// swarm), as a SwarmEngine. Throws EngineError when it is not a swarm manager,
// saying how to make it one.
std::unique_ptr<SwarmEngine> connect_swarm(const std::string& host_flag);

// How long the private `podman system service` (started when nothing answers
// and Podman is installed) waits idle before it exits by itself.
inline constexpr int kPrivateServiceIdleSeconds = 60;

// Called with the socket when connect() started a private Podman service, so
// the user is told.
void set_private_service_notice(std::function<void(const std::string&)> notice);

}  // namespace mldeploy::engine
