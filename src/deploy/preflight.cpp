#include "deploy/preflight.hpp"

#include "deploy/errors.hpp"

#include <fmt/format.h>

#include <fstream>

namespace mldeploy::deploy {
namespace {

// The lowest port an unprivileged process may bind (Linux default 1024).
int unprivileged_port_start() {
    std::ifstream in("/proc/sys/net/ipv4/ip_unprivileged_port_start");
    int port = 1024;
    if (!(in >> port)) return 1024;
    return port;
}

}  // namespace

void check_engine_can_run(const engine::Engine& engine, const stack::Stack& stack, util::Output& out) {
    if (!engine.rootless()) return;
    const int lowest = unprivileged_port_start();
    if (stack.balancer.port < lowest)
        throw DeployError(fmt::format(
            "{}: the engine is rootless and cannot publish the balancer's port {} (ports below {} need root; see "
            "net.ipv4.ip_unprivileged_port_start): choose [balancer] port = {} or more, or use a rootful engine",
            stack.file.string(), stack.balancer.port, lowest, lowest));
    if (stack.balancer.algorithm == "ip_hash")
        out.warn(
            "the engine is rootless: the balancer sees every client with the same address, so ip_hash sends "
            "all requests to one replica (use least_conn or round_robin)");
}

}  // namespace mldeploy::deploy
