// The deploy layer's rules (docs/architecture.md "Apply"), each run on the
// fake engine, clock and prober (fakes.hpp): first up, failed and crashing
// replicas, rolling updates and their rollback, drains, balancer changes,
// concurrent runs and scale.
#include "deploy/balancer.hpp"
#include "deploy/errors.hpp"
#include "deploy_world.hpp"
#include "plan/specs.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

using namespace mldeploy;
using namespace mldeploy::test;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::vector<Call> reloads(const FakeEngine& engine) {
    std::vector<Call> out;
    for (auto& c : engine.calls())
        if (is_reload(c)) out.push_back(c);
    return out;
}

// Whether `c` (a reload) drains `address` ("ip:port").
bool drains(const Call& c, const std::string& address) {
    const auto wanted = deploy::proc_net_tcp_address(address);
    return std::find(c.args.begin() + 8, c.args.end(), wanted) != c.args.end();
}

stack::Stack with_env(stack::Stack s, const std::string& model) {
    s.services[0].env["MODEL"] = model;
    return s;
}

}  // namespace

TEST_SUITE("executor") {
    TEST_CASE(
        "executor: first up makes the network, the replicas at once, then the balancer with both in its first config") {
        World w;
        const auto stack = demo_stack(2);
        w.engine.expect_parallel_starts(2);
        FakeProber::Script slow;
        slow.healthy_after = 3;
        w.prober.script("demo-llm-1", slow);
        w.prober.script("demo-llm-2", slow);
        int probes_1 = 0, probes_2 = 0;
        w.engine.after("create_container", "demo-balancer", [&] {
            probes_1 = w.prober.calls_for("demo-llm-1");
            probes_2 = w.prober.calls_for("demo-llm-2");
        });

        w.up(stack);

        CHECK(w.engine.max_parallel_starts() == 2);
        // Both were healthy (4th probe) before the balancer was created.
        CHECK(probes_1 >= 4);
        CHECK(probes_2 >= 4);
        const auto calls = w.engine.mutating_calls();
        std::vector<std::string> seen;
        for (auto& c : calls) seen.push_back(c.method + " " + c.target);
        // The replicas' creates and starts may interleave; everything else is in order, and nothing else happens.
        REQUIRE(seen.size() == 7);
        CHECK(seen[0] == "create_network demo_net");
        std::vector<std::string> replicas(seen.begin() + 1, seen.begin() + 5);
        std::sort(replicas.begin(), replicas.end());
        CHECK(replicas == std::vector<std::string>{"create_container demo-llm-1", "create_container demo-llm-2",
                                                   "start_container demo-llm-1", "start_container demo-llm-2"});
        CHECK(seen[5] == "create_container demo-balancer");
        CHECK(seen[6] == "start_container demo-balancer");

        const auto balancer = w.engine.container("demo-balancer");
        REQUIRE(balancer);
        const auto& first = balancer->env.at("MLDEPLOY_FIRST_NGINX_CONF");
        CHECK(contains(first, w.address_of("demo-llm-1")));
        CHECK(contains(first, w.address_of("demo-llm-2")));
        CHECK(balancer->state == "running");
        CHECK(w.engine.has_network("demo_net"));

        SUBCASE("a second up changes nothing") {
            const auto before = w.engine.mutating_calls().size();
            w.up(stack);
            CHECK(w.engine.mutating_calls().size() == before);
        }
    }

    TEST_CASE("executor: a replica that never gets healthy fails up, named with its last log lines") {
        World w;
        const auto stack = demo_stack(2);
        w.prober.never_healthy("demo-llm-2");
        Behavior b;
        b.log_lines = {"loading weights", "CUDA out of memory"};
        w.engine.script("demo-llm-2", b);

        const auto error = error_of([&] { w.up(stack); });

        CHECK(contains(error, "replica demo-llm-2 did not become healthy within 4s (last: GET /healthz answered 503)"));
        CHECK(contains(error, "| CUDA out of memory"));
        // It is gone; its sibling serves, in the balancer's first config.
        CHECK_FALSE(w.engine.container("demo-llm-2"));
        REQUIRE(w.engine.container("demo-balancer"));
        const auto first = w.engine.container("demo-balancer")->env.at("MLDEPLOY_FIRST_NGINX_CONF");
        CHECK(contains(first, w.address_of("demo-llm-1")));
    }

    TEST_CASE("executor: a replica that never gets healthy: its own log lines, collapsed, and a hint") {
        World w;
        const auto stack = demo_stack(1);
        Behavior b;
        b.log_lines = {"loading weights", "listening on 127.0.0.1:8000"};
        for (int i = 0; i < 30; ++i) b.log_lines.push_back(fmt::format("127.0.0.1 - - [11:44:{:02}] GET /healthz", i));
        w.engine.script("demo-llm-1", b);

        SUBCASE("bound to 127.0.0.1: read inside the replica") {
            w.prober.never_answers("demo-llm-1");
            w.engine.on_exec("cat", {0,
                                     "  sl  local_address rem_address   st\n"
                                     "   0: 0100007F:1F40 00000000:0000 0A 00000000:00000000 00:00000000 0 0 0 1\n"});
            const auto error = error_of([&] { w.up(stack); });
            CHECK(contains(error, "hint: the model listens only on 127.0.0.1:8000 inside its container"));
            CHECK(contains(error,
                           "| loading weights\n    | listening on 127.0.0.1:8000\n"
                           "    | 127.0.0.1 - - [11:44:29] GET /healthz\n    | (repeated 29 times)"));
        }
        SUBCASE("a wrong health path: the status it got, and no exec") {
            w.prober.never_healthy("demo-llm-1", 404);
            const auto error = error_of([&] { w.up(stack); });
            CHECK(contains(error, "hint: the model answers on port 8000, but GET /healthz returned 404, not 2xx"));
            CHECK(index_of(w.engine.mutating_calls(), call_is("exec", "demo-llm-1")) < 0);
        }
    }

    TEST_CASE("executor: a replica without a [health] table must answer on its port") {
        World w;
        auto stack = demo_stack(1);
        stack.services[0].health.reset();

        SUBCASE("its port never answers: up fails") {
            w.prober.never_answers("demo-llm-1");
            const auto error = error_of([&] { w.up(stack); });
            CHECK(contains(error, "replica demo-llm-1 did not become ready (its port never answered) within 30s"));
            CHECK(contains(error, "(the container wrote no log lines)"));
            CHECK_FALSE(w.engine.container("demo-llm-1"));
        }
        SUBCASE("any HTTP answer will do, even a 404") {
            FakeProber::Script s;
            s.after = {404, "", "not found"};
            w.prober.script("demo-llm-1", s);
            w.up(stack);
            CHECK(w.engine.container("demo-llm-1")->state == "running");
        }
    }

    TEST_CASE("executor: a replica that exits while it starts fails up") {
        World w;
        const auto stack = demo_stack(1);
        Behavior b;
        b.exit_code = 3;
        b.log_lines = {"Traceback (most recent call last):", "ImportError: no module named torch"};

        SUBCASE("at once") { b.exit_after_inspects = 0; }
        SUBCASE("a few polls later") {
            b.exit_after_inspects = 2;
            FakeProber::Script loading;
            loading.healthy_after = 1000;
            w.prober.script("demo-llm-1", loading);
        }
        w.engine.script("demo-llm-1", b);

        const auto error = error_of([&] { w.up(stack); });
        CHECK(contains(error, "replica demo-llm-1 exited with code 3 before it was ready"));
        CHECK(contains(error, "| ImportError: no module named torch"));
        CHECK_FALSE(w.engine.container("demo-llm-1"));
    }

    TEST_CASE("executor: a replica that exits after it was ready, before up ends, fails up") {
        World w;
        const auto stack = demo_stack(2);
        w.engine.after("start_container", "demo-balancer", [&] { w.engine.kill("demo-llm-1", 137); });

        const auto error = error_of([&] { w.up(stack); });

        CHECK(contains(error, "replica demo-llm-1 exited with code 137 after it was ready"));
        // The balancer no longer sends to it.
        const auto r = reloads(w.engine);
        REQUIRE_FALSE(r.empty());
        CHECK_FALSE(contains(r.back().args[4], w.address_of("demo-llm-1")));
        CHECK(contains(r.back().args[4], w.address_of("demo-llm-2")));
    }

    TEST_CASE("executor: a rolling update of 3 replicas") {
        World w;
        const auto v1 = demo_stack(3);
        w.up(v1);
        std::map<std::string, std::string> old_ids;
        for (auto& [name, c] : w.replicas()) old_ids[name] = c.id;
        REQUIRE(old_ids.size() == 3);
        const auto v2 = with_env(v1, "v2");

        SUBCASE("every new replica healthy: the old ones are removed, the new ones carry the canonical names") {
            w.up(v2);
            const auto now = w.replicas();
            CHECK(now.size() == 3);
            for (auto& [name, id] : old_ids) {
                REQUIRE(now.contains(name));
                CHECK(now.at(name).id != id);
                CHECK(now.at(name).env.at("MODEL") == "v2");
                CHECK(now.at(name).state == "running");
                CHECK_FALSE(w.engine.container(id));
            }
        }
        SUBCASE("the 2nd new replica never gets healthy: every slot runs the old container again") {
            w.prober.never_healthy("demo-llm-2-next");
            const auto error = error_of([&] { w.up(v2); });
            CHECK(contains(error, "the update of service llm failed"));
            CHECK(contains(error, "rolled back"));
            const auto now = w.replicas();
            CHECK(now.size() == 3);
            for (auto& [name, id] : old_ids) {
                REQUIRE(now.contains(name));
                CHECK(now.at(name).id == id);
                CHECK(now.at(name).state == "running");
                CHECK(now.at(name).env.at("MODEL") == "v1");
            }
            // The first old replica was stopped, then started again and renamed back.
            const auto calls = w.engine.calls();
            CHECK(index_of(calls, call_is("start_container", "demo-llm-1-prev")) >= 0);
            CHECK(index_of(calls, [&](const Call& c) {
                      return c.method == "rename_container" && c.target == "demo-llm-1-prev" &&
                             c.args == std::vector<std::string>{"demo-llm-1"};
                  }) >= 0);
            // The balancer sends to the old ones only.
            const auto last = reloads(w.engine).back().args[4];
            for (auto& [name, id] : old_ids) CHECK(contains(last, w.address_of(id)));
        }
        SUBCASE("the 1st new replica never gets healthy: nothing changed") {
            w.prober.never_healthy("demo-llm-1-next");
            const auto stops_before = w.engine.calls().size();
            const auto error = error_of([&] { w.up(v2); });
            CHECK(contains(error, "no replica was changed"));
            const auto now = w.replicas();
            CHECK(now.size() == 3);
            for (auto& [name, id] : old_ids) CHECK(now.at(name).id == id);
            const auto calls = w.engine.calls();
            for (auto i = stops_before; i < calls.size(); ++i) {
                CHECK(calls[i].method != "stop_container");
                CHECK(calls[i].method != "rename_container");
                CHECK_FALSE(is_reload(calls[i]));
            }
        }
    }

    TEST_CASE("executor: restart replaces every replica once, one at a time, and keeps the balancer") {
        World w;
        const auto stack = demo_stack(3);
        w.up(stack);
        std::map<std::string, std::string> old_ids, old_addresses;
        for (auto& [name, c] : w.replicas()) {
            old_ids[name] = c.id;
            old_addresses[name] = w.address_of(c.id);
        }
        REQUIRE(old_ids.size() == 3);
        const auto balancer = w.id_of("demo-balancer");
        const auto from = static_cast<long>(w.engine.calls().size());
        deploy::SessionOptions restart;
        restart.counts_only = true;
        restart.restart = {"llm"};

        SUBCASE("each new replica is ready before its old one leaves; the next starts after that") {
            w.up(stack, restart);
            const auto now = w.replicas();
            CHECK(now.size() == 3);
            for (auto& [name, id] : old_ids) {
                REQUIRE(now.contains(name));
                CHECK(now.at(name).id != id);
                CHECK(now.at(name).state == "running");
                CHECK(now.at(name).env.at("MODEL") == "v1");  // the same configuration, a fresh container
                CHECK_FALSE(w.engine.container(id));
            }
            CHECK(w.id_of("demo-balancer") == balancer);
            const auto calls = w.engine.calls();
            std::vector<std::string> created;
            for (auto i = static_cast<std::size_t>(from); i < calls.size(); ++i)
                if (calls[i].method == "create_container") created.push_back(calls[i].target);
            CHECK(created == std::vector<std::string>{"demo-llm-1-next", "demo-llm-2-next", "demo-llm-3-next"});
            long previous_stop = from;
            for (int n = 1; n <= 3; ++n) {
                const auto name = "demo-llm-" + std::to_string(n);
                const auto create = index_of(calls, call_is("create_container", name + "-next"), from);
                const auto stop = index_of(calls, call_is("stop_container", name), from);
                REQUIRE(create >= 0);
                REQUIRE(stop >= 0);
                CHECK(create > previous_stop);  // one at a time
                // Between them, the reload that takes the old one out and drains it.
                const auto reload = index_of(
                    calls, [&](const Call& c) { return is_reload(c) && drains(c, old_addresses.at(name)); }, create);
                REQUIRE(reload >= 0);
                CHECK(reload < stop);
                CHECK_FALSE(contains(calls[static_cast<std::size_t>(reload)].args[4], old_addresses.at(name)));
                previous_stop = stop;
            }
            // The balancer sends to the new replicas only.
            const auto last = reloads(w.engine).back().args[4];
            for (auto& [name, c] : now) CHECK(contains(last, w.address_of(c.id)));
        }
        SUBCASE("the 2nd new replica never gets healthy: every slot runs its old container again") {
            w.prober.never_healthy("demo-llm-2-next");
            const auto error = error_of([&] { w.up(stack, restart); });
            CHECK(contains(error, "the restart of service llm failed"));
            CHECK(contains(error, "rolled back"));
            const auto now = w.replicas();
            CHECK(now.size() == 3);
            for (auto& [name, id] : old_ids) {
                REQUIRE(now.contains(name));
                CHECK(now.at(name).id == id);
                CHECK(now.at(name).state == "running");
            }
            CHECK(w.id_of("demo-balancer") == balancer);
            const auto last = reloads(w.engine).back().args[4];
            for (auto& [name, id] : old_ids) CHECK(contains(last, w.address_of(id)));
        }
    }

    TEST_CASE("executor: the old replica drains what it holds before it is stopped") {
        World w;
        auto v1 = demo_stack(2);
        deploy::SessionOptions options;
        std::string budget;
        SUBCASE("the service's drain") {
            v1.services[0].drain = std::chrono::seconds(45);
            budget = "450";
        }
        SUBCASE("else the balancer's timeout") {
            v1.balancer.timeout = std::chrono::seconds(120);
            budget = "1200";
        }
        SUBCASE("--drain overrides both") {
            v1.services[0].drain = std::chrono::seconds(45);
            options.drain = std::chrono::milliseconds(5000);
            budget = "50";
        }
        w.up(v1);
        const auto old_address = w.address_of("demo-llm-1");
        const auto old_id = w.id_of("demo-llm-1");
        const auto from = static_cast<long>(w.engine.calls().size());

        w.up(with_env(v1, "v2"), options);

        const auto calls = w.engine.calls();
        const auto reload = index_of(
            calls, [&](const Call& c) { return is_reload(c) && drains(c, old_address); }, from);
        REQUIRE(reload >= 0);
        CHECK(calls[static_cast<std::size_t>(reload)].args[7] == budget);
        // Its replacement is in the config that takes it out.
        CHECK(contains(calls[static_cast<std::size_t>(reload)].args[4], w.address_of("demo-llm-1")));
        CHECK_FALSE(contains(calls[static_cast<std::size_t>(reload)].args[4], old_address));
        const auto stop = index_of(
            calls, [&](const Call& c) { return c.method == "stop_container" && c.target == "demo-llm-1"; }, from);
        REQUIRE(stop >= 0);
        CHECK(reload < stop);
        CHECK_FALSE(w.engine.container(old_id));
    }

    TEST_CASE("executor: scale-in drains the replicas that leave before it stops them") {
        World w;
        auto v1 = demo_stack(3);
        v1.services[0].drain = std::chrono::seconds(20);
        w.up(v1);
        const auto a2 = w.address_of("demo-llm-2");
        const auto a3 = w.address_of("demo-llm-3");
        const auto from = static_cast<long>(w.engine.calls().size());

        deploy::SessionOptions options;
        options.counts_only = true;
        options.replica_counts = {{"llm", 1}};
        w.up(v1, options);

        const auto calls = w.engine.calls();
        const auto reload = index_of(
            calls, [&](const Call& c) { return is_reload(c) && drains(c, a2) && drains(c, a3); }, from);
        REQUIRE(reload >= 0);
        CHECK(calls[static_cast<std::size_t>(reload)].args[7] == "200");
        CHECK_FALSE(contains(calls[static_cast<std::size_t>(reload)].args[4], a2));
        for (const char* name : {"demo-llm-2", "demo-llm-3"}) {
            const auto stop = index_of(calls, call_is("stop_container", name), from);
            REQUIRE(stop >= 0);
            CHECK(reload < stop);
            CHECK_FALSE(w.engine.container(name));
        }
        CHECK(w.replicas().size() == 1);
    }

    TEST_CASE("executor: a new balancer port") {
        World w;
        const auto v1 = demo_stack(1);
        w.up(v1);
        const auto old_id = w.id_of("demo-balancer");
        const auto from = static_cast<long>(w.engine.calls().size());
        auto v2 = v1;
        v2.balancer.port = 9091;

        SUBCASE("that is taken: the old balancer keeps serving") {
            w.engine.take_host_port(9091);
            const auto error = error_of([&] { w.up(v2); });
            CHECK(contains(error, "the new balancer could not start on port 9091"));
            CHECK(contains(error, "address already in use"));
            CHECK(contains(error, "the balancer keeps serving on port 9090"));
            const auto calls = w.engine.calls();
            for (auto i = static_cast<std::size_t>(from); i < calls.size(); ++i) {
                if (calls[i].target != "demo-balancer") continue;
                CHECK(calls[i].method != "stop_container");
                CHECK(calls[i].method != "remove_container");
                CHECK(calls[i].method != "rename_container");
                CHECK(calls[i].method != "exec");
            }
            const auto old = w.engine.container("demo-balancer");
            REQUIRE(old);
            CHECK(old->id == old_id);
            CHECK(old->state == "running");
            CHECK_FALSE(w.engine.container("demo-balancer-next"));
            CHECK(w.engine.publishes(9090));
        }
        SUBCASE("that is free: the new one starts beside the old, which quits gracefully, then takes its name") {
            w.up(v2);
            const auto calls = w.engine.calls();
            const auto create = index_of(calls, call_is("create_container", "demo-balancer-next"), from);
            const auto started = index_of(calls, call_is("start_container", "demo-balancer-next"), from);
            // A graceful quit is the engine's stop: the balancer's stop signal is SIGQUIT.
            const auto quit = index_of(calls, call_is("stop_container", "demo-balancer"), from);
            const auto removed = index_of(calls, call_is("remove_container", "demo-balancer"), from);
            const auto renamed = index_of(calls, call_is("rename_container", "demo-balancer-next"), from);
            REQUIRE(create >= 0);
            CHECK(create < started);
            CHECK(started < quit);
            CHECK(quit < removed);
            CHECK(removed < renamed);
            const auto balancers = w.of_role(plan::label::role_balancer);
            REQUIRE(balancers.size() == 1);
            CHECK(balancers.begin()->first == "demo-balancer");
            CHECK(balancers.begin()->second.id != old_id);
            CHECK(w.engine.publishes(9091));
            CHECK_FALSE(w.engine.publishes(9090));
        }
    }

    TEST_CASE("executor: a balancer recreated on the same port whose new start fails: the old one starts again") {
        World w;
        const auto v1 = demo_stack(1);
        w.up(v1);
        const auto old_id = w.id_of("demo-balancer");
        auto v2 = v1;
        v2.balancer.image = "acme/nginx:2";
        w.engine.add_image("acme/nginx:2", "sha256:nginx2");
        w.engine.fail_next("start_container", "demo-balancer", 500, "crun: executable file not found");

        const auto error = error_of([&] { w.up(v2); });

        CHECK(contains(error, "the new balancer did not start"));
        CHECK(contains(error, "crun: executable file not found"));
        CHECK(contains(error, "the previous balancer serves again"));
        const auto balancers = w.of_role(plan::label::role_balancer);
        REQUIRE(balancers.size() == 1);
        CHECK(balancers.begin()->first == "demo-balancer");
        CHECK(balancers.begin()->second.id == old_id);
        CHECK(balancers.begin()->second.state == "running");
        CHECK(w.engine.publishes(9090));
    }

    TEST_CASE("executor: a balancer recreated on the same port") {
        World w;
        const auto v1 = demo_stack(1);
        w.up(v1);
        const auto old_id = w.id_of("demo-balancer");
        auto v2 = v1;
        v2.balancer.image = "acme/nginx:2";
        w.engine.add_image("acme/nginx:2", "sha256:nginx2");

        w.up(v2);

        const auto balancers = w.of_role(plan::label::role_balancer);
        REQUIRE(balancers.size() == 1);
        CHECK(balancers.begin()->first == "demo-balancer");
        CHECK(balancers.begin()->second.id != old_id);
        CHECK(balancers.begin()->second.image == "acme/nginx:2");
        CHECK(contains(balancers.begin()->second.env.at("MLDEPLOY_FIRST_NGINX_CONF"), w.address_of("demo-llm-1")));
    }

    TEST_CASE("executor: another run creating the same replica") {
        World w;
        const auto stack = demo_stack(2);
        auto session = w.session(stack);
        const auto plan = session.plan();
        const auto& llm = stack.services[0];

        SUBCASE("of this stack: this run waits for it and uses it") {
            const auto theirs = w.engine.add_running_container(plan::replica_spec(stack, llm, 2, "sha256:llm1"));
            // The engine reserves the name a moment before the container can be inspected.
            w.engine.fail_next("inspect_container", "demo-llm-2", 404, "no such container", 2);
            session.apply(plan);
            const auto replicas = w.replicas();
            CHECK(replicas.size() == 2);
            CHECK(replicas.at("demo-llm-2").id == theirs);
            const auto first = w.engine.container("demo-balancer")->env.at("MLDEPLOY_FIRST_NGINX_CONF");
            CHECK(contains(first, w.address_of(theirs)));
        }
        SUBCASE("of another stack: an error that names it") {
            auto spec = plan::replica_spec(stack, llm, 2, "sha256:llm1");
            spec.labels[plan::label::stack] = "demo-llm";
            w.engine.add_running_container(spec);
            const auto error = error_of([&] { session.apply(plan); });
            CHECK(contains(error,
                           "a container named demo-llm-2 already exists and is not this stack's (its stack label: "
                           "demo-llm)"));
        }
    }

    TEST_CASE("executor: a new network that another run made meanwhile is fine") {
        World w;
        const auto stack = demo_stack(1);
        auto session = w.session(stack);
        const auto plan = session.plan();
        w.engine.add_network("demo_net", {{plan::label::stack, "demo"}});
        session.apply(plan);
        CHECK(w.replicas().size() == 1);
    }

    TEST_CASE("executor: scale changes only counts and keeps running replicas of another config") {
        World w;
        const auto v1 = demo_stack(2);
        w.up(v1);
        const auto id1 = w.id_of("demo-llm-1");
        const auto id2 = w.id_of("demo-llm-2");

        deploy::SessionOptions options;
        options.counts_only = true;
        options.replica_counts = {{"llm", 3}};
        w.up(with_env(v1, "v2"), options);

        const auto replicas = w.replicas();
        CHECK(replicas.size() == 3);
        CHECK(replicas.at("demo-llm-1").id == id1);
        CHECK(replicas.at("demo-llm-2").id == id2);
        CHECK(replicas.at("demo-llm-1").env.at("MODEL") == "v1");
        CHECK(replicas.at("demo-llm-3").state == "running");
        const auto last = reloads(w.engine);
        REQUIRE_FALSE(last.empty());
        for (const char* name : {"demo-llm-1", "demo-llm-2", "demo-llm-3"})
            CHECK(contains(last.back().args[4], w.address_of(name)));
    }

    TEST_CASE("executor: proc_net_tcp_address writes addresses as /proc/net/tcp does") {
        CHECK(deploy::proc_net_tcp_address("10.88.0.5:5000") == "0500580A:1388");
        CHECK(deploy::proc_net_tcp_address("127.0.0.1:80") == "0100007F:0050");
        CHECK(deploy::proc_net_tcp_address("[fd00::1]:8000") == "000000FD000000000000000001000000:1F40");
        CHECK(deploy::proc_net_tcp_address("[::1]:80") == "00000000000000000000000001000000:0050");
        CHECK_THROWS_AS(deploy::proc_net_tcp_address("10.88.0.5"), std::invalid_argument);
        CHECK_THROWS_AS(deploy::proc_net_tcp_address("replica:80"), std::invalid_argument);
    }

}  // TEST_SUITE

TEST_SUITE("executor") {
    TEST_CASE(
        "executor: a failed roll rolls back every replica already updated, also past a replica that was not running") {
        World w;
        const auto v1 = demo_stack(3);
        w.up(v1);
        std::map<std::string, std::string> old_ids;
        for (auto& [name, c] : w.replicas()) old_ids[name] = c.id;
        const auto v2 = with_env(v1, "v2");

        SUBCASE("the 3rd fails: the 1st and 2nd go back") {
            w.prober.never_healthy("demo-llm-3-next");
            const auto error = error_of([&] { w.up(v2); });
            CHECK(contains(error, "rolled back: the 2 replica(s) already updated"));
            const auto now = w.replicas();
            CHECK(now.size() == 3);
            for (auto& [name, id] : old_ids) {
                REQUIRE(now.contains(name));
                CHECK(now.at(name).id == id);
                CHECK(now.at(name).state == "running");
            }
        }
        SUBCASE("the 2nd was not running and its new one fails: the 1st goes back") {
            w.engine.kill("demo-llm-2", 1);
            w.prober.never_healthy("demo-llm-2");
            const auto error = error_of([&] { w.up(v2); });
            CHECK(contains(error, "demo-llm-2"));
            CHECK(contains(error, "rolled back"));
            const auto now = w.replicas();
            REQUIRE(now.contains("demo-llm-1"));
            CHECK(now.at("demo-llm-1").id == old_ids.at("demo-llm-1"));
            CHECK(now.at("demo-llm-1").state == "running");
            CHECK(now.at("demo-llm-3").id == old_ids.at("demo-llm-3"));
            CHECK_FALSE(w.engine.container("demo-llm-1-prev"));
        }
    }

    TEST_CASE("executor: a balancer that another run is creating is waited for and given this run's replicas") {
        World w;
        const auto stack = demo_stack(1);
        auto session = w.session(stack);
        const auto plan = session.plan();
        const auto theirs = w.engine.add_running_container(plan::balancer_spec(stack, "sha256:nginx"));

        session.apply(plan);

        const auto balancers = w.of_role(plan::label::role_balancer);
        REQUIRE(balancers.size() == 1);
        CHECK(balancers.begin()->second.id == theirs);
        const auto r = reloads(w.engine);
        REQUIRE(r.size() == 1);
        CHECK(r[0].target == "demo-balancer");
        CHECK(contains(r[0].args[4], w.address_of("demo-llm-1")));
    }

    TEST_CASE("executor: a balancer whose name another run has reserved, not yet inspectable, is waited for") {
        World w;
        const auto stack = demo_stack(1);
        auto session = w.session(stack);
        const auto plan = session.plan();
        const auto theirs = w.engine.add_running_container(plan::balancer_spec(stack, "sha256:nginx"));
        // The engine reserves a name a moment before the container can be inspected.
        w.engine.fail_next("inspect_container", "demo-balancer", 404, "no such container", 3);

        session.apply(plan);

        const auto balancers = w.of_role(plan::label::role_balancer);
        REQUIRE(balancers.size() == 1);
        CHECK(balancers.begin()->second.id == theirs);
    }

    TEST_CASE("executor: on a rootless engine the balancer starts alongside the replicas, and a reload adds them") {
        World w;
        w.engine.set_rootless(true);
        const auto stack = demo_stack(2);
        // The replicas answer only once the balancer runs: up would never end if it waited for them first.
        FakeProber::Script after_balancer;
        after_balancer.wait_until = [&] { return w.engine.publishes(9090); };
        w.prober.script("demo-llm-1", after_balancer);
        w.prober.script("demo-llm-2", after_balancer);

        w.up(stack);

        const auto first = w.engine.container("demo-balancer")->env.at("MLDEPLOY_FIRST_NGINX_CONF");
        CHECK_FALSE(contains(first, w.address_of("demo-llm-1")));
        const auto r = reloads(w.engine);
        REQUIRE_FALSE(r.empty());
        CHECK(contains(r.back().args[4], w.address_of("demo-llm-1")));
        CHECK(contains(r.back().args[4], w.address_of("demo-llm-2")));
    }

    TEST_CASE("executor: a config nginx rejects stops up, and the balancer keeps the one it runs") {
        World w;
        const auto v1 = demo_stack(1);
        w.up(v1);
        const auto running = w.engine.container("demo-balancer")->files.at("/etc/mldeploy/nginx.conf");
        w.engine.on_exec("mldeploy-reload", {90, "nginx: [emerg] unknown directive \"foo\""});
        auto v2 = v1;
        v2.balancer.algorithm = "least_conn";

        const auto error = error_of([&] { w.up(v2); });

        CHECK(contains(error, "nginx rejected the balancer configuration (the balancer keeps its previous one)"));
        CHECK(contains(error, "unknown directive"));
        CHECK(w.engine.container("demo-balancer")->files.at("/etc/mldeploy/nginx.conf") == running);
    }

    TEST_CASE("executor: a changed balancer setting reloads the running balancer, without a new container") {
        World w;
        const auto v1 = demo_stack(1);
        w.up(v1);
        const auto id = w.id_of("demo-balancer");
        auto v2 = v1;
        v2.balancer.algorithm = "least_conn";

        w.up(v2);

        CHECK(w.id_of("demo-balancer") == id);
        const auto r = reloads(w.engine);
        REQUIRE(r.size() == 1);
        CHECK(contains(r[0].args[4], "least_conn"));
        CHECK(contains(w.engine.container("demo-balancer")->files.at("/etc/mldeploy/nginx.conf"), "least_conn"));
    }

}  // TEST_SUITE

TEST_SUITE("executor") {
    TEST_CASE("executor: a replica of a service that leaves the stack drains before it is stopped") {
        World w;
        auto v1 = demo_stack(1);
        auto embed = v1.services[0];
        embed.name = "embed";
        embed.port = 9000;
        v1.services.push_back(embed);
        v1.balancer.routes = {{"/v1/embeddings", "embed"}, {"/", "llm"}};
        v1.balancer.timeout = std::chrono::seconds(60);
        w.up(v1);
        const auto leaving = w.address_of("demo-embed-1", 9000);
        const auto from = static_cast<long>(w.engine.calls().size());

        auto v2 = demo_stack(1);
        v2.balancer.timeout = std::chrono::seconds(60);
        w.up(v2);

        const auto calls = w.engine.calls();
        const auto reload = index_of(
            calls, [&](const Call& c) { return is_reload(c) && drains(c, leaving); }, from);
        REQUIRE(reload >= 0);
        CHECK(calls[static_cast<std::size_t>(reload)].args[7] == "600");
        const auto stop = index_of(calls, call_is("stop_container", "demo-embed-1"), from);
        REQUIRE(stop >= 0);
        CHECK(reload < stop);
        CHECK_FALSE(w.engine.container("demo-embed-1"));
    }

    TEST_CASE("executor: a roll cut short: the new replica is kept, the old one drains before it goes") {
        World w;
        const auto v1 = demo_stack(1);
        w.up(v1);
        const auto old_address = w.address_of("demo-llm-1");
        const auto v2 = with_env(v1, "v2");
        // The previous run started the new replica and was stopped before it took the old one out.
        const auto next = w.engine.add_running_container([&] {
            auto spec = plan::replica_spec(v2, v2.services[0], 1, "sha256:llm1");
            spec.name = "demo-llm-1-next";
            return spec;
        }());
        const auto from = static_cast<long>(w.engine.calls().size());

        w.up(v2);

        const auto replicas = w.replicas();
        REQUIRE(replicas.size() == 1);
        CHECK(replicas.begin()->second.id == next);
        const auto calls = w.engine.calls();
        const auto reload = index_of(
            calls, [&](const Call& c) { return is_reload(c) && drains(c, old_address); }, from);
        REQUIRE(reload >= 0);
        CHECK(contains(calls[static_cast<std::size_t>(reload)].args[4], w.address_of(next)));
        const auto stop = index_of(calls, call_is("stop_container", "demo-llm-1"), from);
        REQUIRE(stop >= 0);
        CHECK(reload < stop);
    }

    TEST_CASE("executor: a balancer that is not running is replaced on its port") {
        World w;
        const auto stack = demo_stack(1);
        w.up(stack);
        const auto old_id = w.id_of("demo-balancer");
        w.engine.kill("demo-balancer", 1);

        w.up(stack);

        const auto balancers = w.of_role(plan::label::role_balancer);
        REQUIRE(balancers.size() == 1);
        CHECK(balancers.begin()->first == "demo-balancer");
        CHECK(balancers.begin()->second.id != old_id);
        CHECK(balancers.begin()->second.state == "running");
        CHECK(contains(balancers.begin()->second.env.at("MLDEPLOY_FIRST_NGINX_CONF"), w.address_of("demo-llm-1")));
    }

    TEST_CASE("executor: a replica that is not running is replaced under its own name, without a drain") {
        World w;
        const auto stack = demo_stack(2);
        w.up(stack);
        const auto old_id = w.id_of("demo-llm-2");
        w.engine.kill("demo-llm-2", 137);
        const auto from = static_cast<long>(w.engine.calls().size());

        w.up(stack);

        const auto replicas = w.replicas();
        CHECK(replicas.size() == 2);
        CHECK(replicas.at("demo-llm-2").id != old_id);
        CHECK(replicas.at("demo-llm-2").state == "running");
        const auto calls = w.engine.calls();
        CHECK(index_of(calls, call_is("create_container", "demo-llm-2-next"), from) < 0);
        CHECK(index_of(calls, call_is("stop_container", "demo-llm-2"), from) < 0);
        CHECK(contains(reloads(w.engine).back().args[4], w.address_of("demo-llm-2")));
    }

}  // TEST_SUITE

TEST_SUITE("executor") {
    TEST_CASE("executor: a drain whose budget runs out still ends the update; the old replica is stopped after it") {
        World w;
        const auto v1 = demo_stack(1);
        w.up(v1);
        const auto old_id = w.id_of("demo-llm-1");
        w.engine.on_exec("mldeploy-reload", {0, "open 2\n"});

        w.up(with_env(v1, "v2"));

        CHECK_FALSE(w.engine.container(old_id));
        CHECK(w.replicas().at("demo-llm-1").env.at("MODEL") == "v2");
    }

    TEST_CASE("executor: leftovers are removed: a stopped surplus replica and a second balancer") {
        World w;
        const auto stack = demo_stack(2);
        w.up(stack);
        w.engine.kill("demo-llm-2", 0);
        const auto extra = w.engine.add_running_container([&] {
            auto spec = plan::balancer_spec(stack, "sha256:nginx");
            spec.name = "demo-balancer-next";
            spec.ports.clear();
            return spec;
        }());

        deploy::SessionOptions options;
        options.counts_only = true;
        options.replica_counts = {{"llm", 1}};
        w.up(stack, options);

        CHECK_FALSE(w.engine.container("demo-llm-2"));
        CHECK_FALSE(w.engine.container(extra));
        CHECK(w.engine.container("demo-balancer")->state == "running");
        CHECK(w.replicas().size() == 1);
    }

}  // TEST_SUITE
