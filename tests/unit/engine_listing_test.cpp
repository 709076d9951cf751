// The Docker-compatible container list, parsed with each container's addresses
// (engine/listing.hpp): what `ps` probes from. The answers are trimmed copies of
// Podman 4.3.1's and Docker 20.10's.
#include "engine/listing.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace mldeploy::engine;
using nlohmann::json;

TEST_CASE("Podman's Docker-compatible list: names, ports and addresses") {
    const json answer = json::parse(R"([
      {"Id": "67c1", "Names": ["/psperf-echo-2"], "Image": "localhost/echo/echo:1",
       "State": "running", "Status": "Up 35 minutes", "Ports": [],
       "Labels": {"io.mldeploy.role": "model", "io.mldeploy.port": "8000"},
       "NetworkSettings": {"Networks": {"psperf_net": {"Gateway": "10.89.1.1", "IPAddress": "10.89.1.6",
                                                       "IPPrefixLen": 24}}}},
      {"Id": "d499", "Names": ["/psperf-balancer"], "Image": "docker.io/library/nginx:stable",
       "State": "running", "Status": "Up 35 minutes",
       "Ports": [{"IP": "127.0.0.1", "PrivatePort": 80, "PublicPort": 19381, "Type": "tcp"}],
       "Labels": {"io.mldeploy.role": "balancer"},
       "NetworkSettings": {"Networks": {"psperf_net": {"IPAddress": "10.89.1.7"}}}}
    ])");
    const auto listed = parse_docker_container_list(answer);
    REQUIRE(listed.size() == 2);
    CHECK(listed[0].summary.id == "67c1");
    CHECK(listed[0].summary.name == "psperf-echo-2");
    CHECK(listed[0].summary.state == "running");
    CHECK(listed[0].summary.status == "Up 35 minutes");
    CHECK(listed[0].summary.labels.at("io.mldeploy.port") == "8000");
    CHECK(listed[0].summary.ports.empty());
    CHECK(listed[0].ip_by_network == std::map<std::string, std::string>{{"psperf_net", "10.89.1.6"}});
    REQUIRE(listed[1].summary.ports.size() == 1);
    CHECK(listed[1].summary.ports[0].host_ip == "127.0.0.1");
    CHECK(listed[1].summary.ports[0].host_port == 19381);
    CHECK(listed[1].summary.ports[0].container_port == 80);
    CHECK(listed[1].ip_by_network.at("psperf_net") == "10.89.1.7");
}

TEST_CASE("Docker's list: a container on two networks, one not running, one without settings") {
    const json answer = json::parse(R"([
      {"Id": "aa", "Names": ["/web-1"], "Image": "web", "State": "running", "Status": "Up 2 hours",
       "Ports": [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
                 {"IP": "::", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}],
       "NetworkSettings": {"Networks": {"front": {"IPAddress": "172.18.0.2"},
                                        "back": {"IPAddress": "172.19.0.5"}}}},
      {"Id": "bb", "Names": ["/web-2"], "Image": "web", "State": "exited", "Status": "Exited (1) 3 minutes ago",
       "NetworkSettings": {"Networks": {"front": {"IPAddress": ""}}}},
      {"Id": "cc", "Names": ["/odd"], "State": "created"}
    ])");
    const auto listed = parse_docker_container_list(answer);
    REQUIRE(listed.size() == 3);
    CHECK(listed[0].ip_by_network ==
          std::map<std::string, std::string>{{"back", "172.19.0.5"}, {"front", "172.18.0.2"}});
    REQUIRE(listed[0].summary.ports.size() == 1);  // 0.0.0.0 and :: are one binding
    CHECK(listed[0].summary.ports[0].host_ip.empty());
    CHECK(listed[1].ip_by_network.at("front").empty());
    CHECK(listed[1].summary.status == "Exited (1) 3 minutes ago");
    CHECK(listed[2].ip_by_network.empty());
    CHECK(listed[2].summary.name == "odd");
}

TEST_CASE("an answer that is not a list gives no containers") {
    CHECK(parse_docker_container_list(json::object()).empty());
    CHECK(parse_docker_container_list(json(nullptr)).empty());
}
