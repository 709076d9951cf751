// How mldeploy asks a replica whether it is healthy: an HTTP GET from this host
// when the host can reach the replica's address (a rootful engine's bridge), or
// the same GET run inside the balancer through the engine's exec, since the
// balancer sits on the replica's network (a rootless engine, whose container
// addresses live in a network namespace the host cannot route to).
#pragma once

#include "deploy/probe.hpp"
#include "deploy/prober.hpp"
#include "engine/engine.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace mldeploy::deploy {

enum class ProbeRoute { direct, via_balancer };

// The route for a replica at `address` (no brackets, no port). The environment
// variable MLDEPLOY_PROBE=direct|balancer overrides the choice (tests, unusual
// networks).
ProbeRoute probe_route(const engine::Engine& engine, const std::string& address);

// Whether probes will run inside the balancer whatever the replicas' addresses:
// a rootless engine, or MLDEPLOY_PROBE=balancer.
bool probes_need_balancer(const engine::Engine& engine);

// The command the balancer runs for one probe. It needs only a POSIX shell
// and one of curl, bash (with timeout) or wget in the balancer image.
std::vector<std::string> balancer_probe_command(const std::string& address, int port, const std::string& path,
                                                std::chrono::milliseconds timeout);

// The probe's answer from that command's output: the status of its
// "HTTP/1.1 200 OK" line, or the command's complaint as the error.
ProbeResult read_balancer_probe(const engine::ExecResult& result);

struct ProbeRequest {
    std::string address;  // no brackets, no port
    int port = 0;
    std::string path;
};

class HealthProber : public Prober {
public:
    // `balancer_id` gives the running balancer's container id (it may wait for
    // a balancer that is still starting); it is called only when a probe needs it.
    HealthProber(engine::Engine& engine, std::function<std::string()> balancer_id);

    ProbeResult container_get(const std::string& address, int port, const std::string& path,
                              std::chrono::milliseconds timeout) override;
    ProbeResult host_get(const std::string& url, std::chrono::milliseconds timeout) override {
        return http_get(url, timeout);
    }

    // Every request at once, each on its route: the direct GETs together on this
    // thread, each probe inside the balancer on a thread of its own (an exec
    // waits a few hundred ms on the engine). The answers are in the order of the
    // requests; nullopt where a probe could not be made at all (no balancer to
    // run it in, a failed exec), which get() throws for. Safe to call from one
    // thread at a time.
    std::vector<std::optional<ProbeResult>> get_all(const std::vector<ProbeRequest>& requests,
                                                    std::chrono::milliseconds timeout);

private:
    ProbeResult get_via_balancer(const ProbeRequest& request, std::chrono::milliseconds timeout);

    engine::Engine& engine_;
    std::function<std::string()> balancer_id_;
};

}  // namespace mldeploy::deploy
