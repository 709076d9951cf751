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

TEST_CASE("loopback and foreign addresses are not reached directly from this host; garbage is not an address") {
    CHECK_FALSE(mldeploy::util::host_has_route_to("127.0.0.1"));
    CHECK_FALSE(mldeploy::util::host_has_route_to("::1"));
    CHECK_FALSE(mldeploy::util::host_has_route_to("203.0.113.7"));
    CHECK_FALSE(mldeploy::util::host_has_route_to("not-an-address"));
    CHECK_FALSE(mldeploy::util::host_has_route_to(""));
}

TEST_CASE("direct routes come from the kernel's tables: no gateway, not loopback, not rejected") {
    // Trimmed from this machine's /proc/net/route and /proc/net/ipv6_route.
    const auto routes = mldeploy::util::DirectRoutes::parse(
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
        "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
        "podman1\t0000590A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
        "docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n"
        "eth1\t0000400A\t0100000A\t0003\t0\t0\t0\t0000FFFF\t0\t0\t0\n"
        "eth0\t0000410A\t00000000\t0201\t0\t0\t0\t0000FFFF\t0\t0\t0\n",
        "fd000000000000000000000000000000 40 00000000000000000000000000000000 00 "
        "00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n"
        "00000000000000000000000000000001 80 00000000000000000000000000000000 00 "
        "00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo\n"
        "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
        "fe800000000000000000000000000001 00000400 00000001 00000000 00000003     eth0\n");
    CHECK(routes.reach("10.89.0.7"));  // podman1's 10.89.0.0/24
    CHECK_FALSE(routes.reach("10.89.1.7"));
    CHECK(routes.reach("172.17.200.3"));     // docker0's 172.17.0.0/16
    CHECK_FALSE(routes.reach("10.64.0.5"));  // through a gateway
    CHECK_FALSE(routes.reach("10.65.0.5"));  // a reject route
    CHECK_FALSE(routes.reach("8.8.8.8"));    // the default route has a gateway
    CHECK(routes.reach("fd00::5"));
    CHECK_FALSE(routes.reach("::1"));  // loopback
    CHECK_FALSE(routes.reach("2001:db8::1"));
    CHECK_FALSE(routes.reach("not-an-address"));
}
