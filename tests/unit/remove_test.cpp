// deploy::remove_stack (`down`) on the fake engine: the balancer quits gracefully
// first, then everything labelled with the stack goes; a second run is a no-op.
#include "deploy/remove.hpp"
#include "deploy_world.hpp"

#include <doctest/doctest.h>

using namespace mldeploy;
using namespace mldeploy::test;

TEST_SUITE("remove") {
    TEST_CASE("down: the balancer stops within the drain budget before any replica is removed") {
        World w;
        w.up(demo_stack(2));
        const auto from = static_cast<long>(w.engine.calls().size());
        const auto removed = deploy::remove_stack(w.engine, "demo", w.out, std::chrono::milliseconds(12'300));
        CHECK(removed == 4);  // two replicas, the balancer, the network
        const auto calls = w.engine.calls();
        const auto stop = index_of(calls, call_is("stop_container", "demo-balancer"), from);
        REQUIRE(stop >= 0);
        // The budget rounds up to whole seconds: the engine's stop takes seconds.
        CHECK(calls[static_cast<size_t>(stop)].args == std::vector<std::string>{"13"});
        CHECK(stop < index_of(calls, call_is("remove_container", "demo-llm-1"), from));
        CHECK(stop < index_of(calls, call_is("remove_container", "demo-llm-2"), from));
        CHECK(w.engine.containers().empty());
        CHECK_FALSE(w.engine.has_network("demo_net"));
        CHECK(deploy::remove_stack(w.engine, "demo", w.out, std::chrono::seconds(1)) == 0);
    }

    TEST_CASE("down --drain 0: nothing waits, everything is removed") {
        World w;
        w.up(demo_stack(1));
        const auto from = static_cast<long>(w.engine.calls().size());
        CHECK(deploy::remove_stack(w.engine, "demo", w.out, std::chrono::milliseconds(0)) == 3);
        CHECK(index_of(w.engine.calls(), call_is("stop_container", "demo-balancer"), from) < 0);
        CHECK(w.engine.containers().empty());
    }

    TEST_CASE("down leaves other stacks alone") {
        World w;
        w.up(demo_stack(1));
        auto other = demo_stack(1);
        other.name = "other";
        other.network = "other_net";
        other.balancer.port = 9191;
        w.up(other);
        deploy::remove_stack(w.engine, "demo", w.out, std::chrono::seconds(1));
        CHECK(w.engine.container("other-balancer"));
        CHECK(w.engine.container("other-llm-1"));
        CHECK(w.engine.has_network("other_net"));
    }
}
