// The stack's controller: a container `<stack>-controller` (role `controller`)
// that runs this same mldeploy binary as `mldeploy agent` with the engine's
// socket mounted, so that what it does (following the balancer's access log,
// serving /metrics) goes on after the command that made it has ended, and comes
// back with the engine's restart policy. mldeploy itself stays daemonless.
//
// Its image is built once per binary: FROM the balancer's image (present
// wherever the stack runs, and no registry is needed), with the binary, every
// shared library it has loaded and the dynamic loader copied in, so it runs on
// whatever C library the base image has (docs/architecture.md).
#pragma once

#include "deploy/clock.hpp"
#include "deploy/prober.hpp"
#include "engine/engine.hpp"
#include "stack/model.hpp"
#include "util/output.hpp"
#include "util/tar.hpp"

#include <string>
#include <vector>

namespace mldeploy::deploy {

std::string controller_name(const stack::Stack& stack);

// [metrics] or a service with autoscale: the controller runs (measures, scales).
bool needs_controller(const stack::Stack& stack);

// Inside the controller: where the engine's socket is mounted, and the agent's port.
inline constexpr const char* kAgentEngineSocket = "/run/mldeploy/engine.sock";
inline constexpr int kAgentPort = 9464;
inline constexpr const char* kAgentDir = "/opt/mldeploy";

// What the agent's image adds to its base: opt/mldeploy/{mldeploy, ld.so, lib/*}.
struct AgentPayload {
    std::vector<util::TarEntry> files;  // a build context, with its Containerfile (FROM is filled in later)
    std::string hash;                   // SHA-256 of the files
};
// This process's executable, the shared objects it has loaded (dl_iterate_phdr)
// and its dynamic loader (PT_INTERP). Throws std::runtime_error naming a file it cannot read.
AgentPayload agent_payload();

// The agent's image for this binary over `base_image`: built unless the engine
// has it. Returns its reference.
std::string ensure_agent_image(engine::Engine& engine, const std::string& base_image, util::Output& out);

// The controller's container: the agent with the engine socket `engine_socket`
// (a path on the host) mounted, [metrics]' port published (when there is one), restart `always`.
engine::ContainerSpec controller_spec(const stack::Stack& stack, const std::string& image, const std::string& image_id,
                                      const std::string& engine_socket);

// What the wait for a new controller's /metrics uses: injected so that unit tests
// run it on a fake clock and prober; null means the real ones.
struct ControllerWait {
    Prober* prober = nullptr;
    Clock* clock = nullptr;
    std::chrono::milliseconds budget{20000};
};

// After `up`: with [metrics] or autoscale, the controller runs as controller_spec says (made
// or replaced when missing, stopped or different); without, none is left. A controller it
// started with [metrics] is waited for until /metrics answers on the host (within
// `wait.budget`; else a warning with the controller's last log lines), so that once `up`
// has returned the figures can be read.
void sync_controller(engine::Engine& engine, const stack::Stack& stack, util::Output& out,
                     const ControllerWait& wait = {});

// The URL of [metrics] as this host reaches it (a wildcard host_ip is reached on loopback).
std::string metrics_url(const stack::Metrics& metrics);

}  // namespace mldeploy::deploy
