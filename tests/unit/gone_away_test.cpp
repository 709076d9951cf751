// A container that went away under a run (two `up` at once) is told as such.
#include "deploy/gone_away.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace mldeploy;

TEST_CASE("gone away: a container another run removed is told with what to do") {
    const engine::EngineError inspect("inspect container 1d05", 404,
                                      "no container with name or ID \"1d05\" found: no such container");
    const auto told = deploy::container_gone_away(inspect, "demo", "up");
    REQUIRE(told);
    const std::string message = told->what();
    CHECK(message.find("inspect container 1d05") != std::string::npos);  // the engine's own words stay
    CHECK(message.find("no such container") != std::string::npos);
    CHECK(message.find("a container of stack demo went away while this `up` worked on it") != std::string::npos);
    CHECK(message.find("run `mldeploy up` again to finish") != std::string::npos);
}

TEST_CASE("gone away: a missing image or another failure stays as the engine said it") {
    const engine::EngineError image("create container demo-llm-1", 404, "No such image: localhost/demo/llm:1");
    CHECK_FALSE(deploy::container_gone_away(image, "demo", "up"));
    const engine::EngineError network("inspect network demo_net", 404, "network not found");
    CHECK_FALSE(deploy::container_gone_away(network, "demo", "up"));
    const engine::EngineError refused("start container demo-llm-1", 500, "OCI runtime error");
    CHECK_FALSE(deploy::container_gone_away(refused, "demo", "up"));
}
