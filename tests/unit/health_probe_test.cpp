#include "deploy/health_probe.hpp"
#include "util/netif.hpp"

#include <doctest/doctest.h>

using mldeploy::deploy::balancer_probe_command;
using mldeploy::deploy::read_balancer_probe;
using mldeploy::engine::ExecResult;

TEST_CASE("a probe run in the balancer passes its arguments apart from the script") {
    const auto cmd = balancer_probe_command("10.89.0.5", 5000, "/healthz; rm -rf /", std::chrono::milliseconds(1500));
    REQUIRE(cmd.size() == 9);
    CHECK(cmd[0] == "sh");
    CHECK(cmd[1] == "-c");
    CHECK(cmd[4] == "10.89.0.5");
    CHECK(cmd[5] == "10.89.0.5");
    CHECK(cmd[6] == "5000");
    CHECK(cmd[7] == "/healthz; rm -rf /");  // an argument, never part of the script
    CHECK(cmd[2].find("rm -rf") == std::string::npos);
    CHECK(cmd[8] == "1.500");
}

TEST_CASE("an IPv6 replica address is bracketed for URLs and bare for bash's /dev/tcp") {
    const auto cmd = balancer_probe_command("fd00::5", 80, "/", std::chrono::milliseconds(1000));
    CHECK(cmd[4] == "[fd00::5]");
    CHECK(cmd[5] == "fd00::5");
}

TEST_CASE("the probe's status comes from the HTTP status line whichever tool answered") {
    CHECK(read_balancer_probe(ExecResult{0, "HTTP/1.0 200 OK\r\n"}).status == 200);
    CHECK(read_balancer_probe(ExecResult{0, "HTTP/1.1 503 Service Unavailable\n"}).status == 503);
    CHECK(read_balancer_probe(ExecResult{0, "HTTP/curl 204\n"}).status == 204);
    CHECK(read_balancer_probe(ExecResult{0, "  HTTP/1.1 404 Not Found\n"}).status == 404);  // wget -S indents
    CHECK(read_balancer_probe(ExecResult{0, "HTTP/1.0 200 OK\r\n"}).ok());
}

TEST_CASE("a probe with no answer reports what the balancer said") {
    const auto refused = read_balancer_probe(ExecResult{1, "bash: connect: Connection refused\n"});
    CHECK(refused.status == 0);
    CHECK(refused.error == "from the balancer: bash: connect: Connection refused");
    CHECK(read_balancer_probe(ExecResult{124, ""}).error == "from the balancer: timed out");
    CHECK(read_balancer_probe(ExecResult{0, "HTTP/curl 000\n"}).status == 0);
}

TEST_CASE("loopback and foreign addresses are not on a host network; garbage is not an address") {
    CHECK_FALSE(mldeploy::util::host_has_route_to("127.0.0.1"));
    CHECK_FALSE(mldeploy::util::host_has_route_to("::1"));
    CHECK_FALSE(mldeploy::util::host_has_route_to("203.0.113.7"));
    CHECK_FALSE(mldeploy::util::host_has_route_to("not-an-address"));
    CHECK_FALSE(mldeploy::util::host_has_route_to(""));
}
