// How the executor asks over HTTP: a replica's health page (on whichever route
// reaches it), and the balancer's own pages. An interface, so that the
// executor's rules are unit-tested with scripted answers (tests/unit/fakes.hpp).
#pragma once

#include "deploy/probe.hpp"

#include <chrono>
#include <string>

namespace mldeploy::deploy {

class Prober {
public:
    virtual ~Prober() = default;
    // GET http://address:port/path of a container on the stack's network
    // (`address` without brackets or port). A route may need the balancer
    // (engine exec): such answers carry the status only, no body.
    virtual ProbeResult container_get(const std::string& address, int port, const std::string& path,
                                      std::chrono::milliseconds timeout) = 0;
    // GET of a URL this host reaches directly (the balancer's published port).
    virtual ProbeResult host_get(const std::string& url, std::chrono::milliseconds timeout) = 0;
};

}  // namespace mldeploy::deploy
