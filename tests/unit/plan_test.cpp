// The planner: desired stack + observed engine state -> plan, and its
// human-readable description. Everything in memory, no engine.
#include "plan/plan.hpp"
#include "plan/labels.hpp"
#include "plan/observe.hpp"
#include "plan/specs.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

using namespace mldeploy;
using plan::BalancerAction;
using plan::DesiredHashes;
using plan::make_plan;
using plan::Observed;
using plan::ObservedContainer;

namespace {

// "demo": llm (3 replicas) and embed (2 replicas), in that order.
stack::Stack two_services() {
    stack::Stack s;
    s.name = "demo";
    s.network = "demo_net";
    stack::Service llm;
    llm.name = "llm";
    llm.image = "ghcr.io/acme/llm:1";
    llm.port = 8000;
    llm.replicas = 3;
    stack::Service embed;
    embed.name = "embed";
    embed.image = "ghcr.io/acme/embed:1";
    embed.port = 9000;
    embed.replicas = 2;
    s.services = {llm, embed};
    s.balancer.port = 8080;
    s.balancer.routes = {{"/v1/embeddings", "embed"}, {"/", "llm"}};
    return s;
}

stack::Stack one_service(int replicas) {
    auto s = two_services();
    s.services.resize(1);
    s.services[0].replicas = replicas;
    s.balancer.routes = {{"/", "llm"}};
    return s;
}

const DesiredHashes desired{{{"llm", "hash-llm"}, {"embed", "hash-embed"}}, "hash-balancer"};

ObservedContainer replica(const std::string& service, int n, const std::string& hash,
                          const std::string& state = "running", std::string name = "") {
    ObservedContainer c;
    if (name.empty()) name = "demo-" + service + "-" + std::to_string(n);
    c.id = "id-" + name;
    c.name = name;
    c.role = plan::label::role_model;
    c.service = service;
    c.replica = n;
    c.config_hash = hash;
    c.state = state;
    return c;
}

ObservedContainer balancer(const std::string& hash, const std::string& state = "running",
                           const std::string& name = "demo-balancer") {
    ObservedContainer c;
    c.id = "id-" + name;
    c.name = name;
    c.role = plan::label::role_balancer;
    c.config_hash = hash;
    c.state = state;
    return c;
}

// Everything of two_services() present, running and up to date.
Observed up_to_date() {
    Observed o;
    o.network_exists = true;
    for (int n = 1; n <= 3; ++n) o.containers.push_back(replica("llm", n, "hash-llm"));
    for (int n = 1; n <= 2; ++n) o.containers.push_back(replica("embed", n, "hash-embed"));
    o.containers.push_back(balancer("hash-balancer"));
    return o;
}

// Replaces the container named `name` in `o`.
void set(Observed& o, const ObservedContainer& c) {
    auto it = std::find_if(o.containers.begin(), o.containers.end(), [&](auto& x) { return x.name == c.name; });
    REQUIRE(it != o.containers.end());
    *it = c;
}

std::vector<std::string> names(const std::vector<ObservedContainer>& cs) {
    std::vector<std::string> out;
    for (const auto& c : cs) out.push_back(c.name);
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> slots(const std::vector<plan::ReplicaSlot>& ss) {
    std::vector<std::string> out;
    for (const auto& s : ss) out.push_back(s.service + "-" + std::to_string(s.replica));
    return out;
}

bool has_line(const std::vector<std::string>& lines, const std::string& line) {
    return std::find(lines.begin(), lines.end(), line) != lines.end();
}

using Names = std::vector<std::string>;

}  // namespace

TEST_SUITE("plan") {
    TEST_CASE("an empty engine: network, every replica and the balancer are created") {
        const auto s = two_services();
        const auto p = make_plan(s, Observed{}, desired);

        CHECK(p.create_network);
        CHECK(slots(p.start) == Names{"llm-1", "llm-2", "llm-3", "embed-1", "embed-2"});
        CHECK(p.replace.empty());
        CHECK(p.remove.empty());
        CHECK(p.balancer == BalancerAction::create);
        CHECK_FALSE(p.old_balancer.has_value());
        CHECK(p.changes_replicas());
        CHECK_FALSE(p.empty());

        CHECK(plan::describe(s, p) == Names{"create network demo_net", "start replica demo-llm-1",
                                            "start replica demo-llm-2", "start replica demo-llm-3",
                                            "start replica demo-embed-1", "start replica demo-embed-2",
                                            "create balancer demo-balancer on port 8080"});
    }

    TEST_CASE("everything up to date: an empty plan that says so") {
        const auto s = two_services();
        const auto p = make_plan(s, up_to_date(), desired);

        CHECK_FALSE(p.create_network);
        CHECK(p.start.empty());
        CHECK(p.replace.empty());
        CHECK(p.remove.empty());
        CHECK(p.balancer == BalancerAction::keep);
        CHECK_FALSE(p.changes_replicas());
        CHECK(p.empty());

        const auto lines = plan::describe(s, p);
        REQUIRE(lines.size() == 1);
        CHECK(lines[0].find("no changes") != std::string::npos);
    }

    TEST_CASE("the network: created only when missing") {
        const auto s = two_services();
        auto o = up_to_date();

        o.network_exists = true;
        CHECK_FALSE(make_plan(s, o, desired).create_network);

        o.network_exists = false;
        const auto p = make_plan(s, o, desired);
        CHECK(p.create_network);
        CHECK_FALSE(p.changes_replicas());
        CHECK_FALSE(p.empty());
        CHECK(plan::describe(s, p) == Names{"create network demo_net"});
    }

    TEST_CASE("a replica with an old config hash is replaced") {
        const auto s = two_services();
        auto o = up_to_date();
        set(o, replica("llm", 2, "hash-old"));

        const auto p = make_plan(s, o, desired);
        REQUIRE(p.replace.size() == 1);
        CHECK(p.replace[0].slot.service == "llm");
        CHECK(p.replace[0].slot.replica == 2);
        CHECK(p.replace[0].old.id == "id-demo-llm-2");
        CHECK(p.replace[0].old.config_hash == "hash-old");
        CHECK(p.start.empty());
        CHECK(p.remove.empty());
        CHECK(p.balancer == BalancerAction::keep);
        CHECK(plan::describe(s, p) ==
              Names{"replace replica demo-llm-2 (config changed; the old one drains up to 5m)"});
    }

    TEST_CASE("every replica of a changed service is replaced, the other service is left alone") {
        const auto s = two_services();
        auto o = up_to_date();
        for (int n = 1; n <= 3; ++n) set(o, replica("llm", n, "hash-old"));

        const auto p = make_plan(s, o, desired);
        REQUIRE(p.replace.size() == 3);
        for (int n = 1; n <= 3; ++n) {
            CHECK(p.replace[n - 1].slot.service == "llm");
            CHECK(p.replace[n - 1].slot.replica == n);
        }
        CHECK(p.remove.empty());
        CHECK(p.start.empty());
    }

    TEST_CASE("a replica that is not running is replaced, and described as not running") {
        const auto s = two_services();
        auto o = up_to_date();
        set(o, replica("embed", 1, "hash-embed", "exited"));
        set(o, replica("llm", 3, "hash-llm", "created"));

        const auto p = make_plan(s, o, desired);
        REQUIRE(p.replace.size() == 2);
        CHECK(p.replace[0].slot.service == "llm");
        CHECK(p.replace[0].slot.replica == 3);
        CHECK(p.replace[1].slot.service == "embed");
        CHECK(p.replace[1].slot.replica == 1);
        CHECK(p.remove.empty());

        const auto lines = plan::describe(s, p);
        CHECK(lines == Names{"replace replica demo-llm-3 (not running: created)",
                             "replace replica demo-embed-1 (not running: exited)"});
    }

    TEST_CASE("a canary with more replicas: the added ones are described as waiting for its verdict") {
        auto s = two_services();  // llm wants 3
        s.services[0].rollout = stack::Rollout{};
        s.services[0].rollout->strategy = "canary";
        s.services[0].rollout->steps = {50, 100};
        auto o = up_to_date();
        o.containers.erase(o.containers.begin() + 2);  // llm 3 not there yet
        for (auto& c : o.containers)
            if (c.service == "llm") c.config_hash = "hash-old";

        const auto p = make_plan(s, o, desired);
        CHECK(plan::canary_services(s, p) == std::set<std::string>{"llm"});
        const auto lines = plan::describe(s, p);
        CHECK(has_line(lines, "start replica demo-llm-3 (with the new version, once its canary passed)"));
        CHECK(has_line(lines,
                       "canary of llm: the new version beside the old, steps 50/100% each watched 30s, then "
                       "the old replicas drain and go (rolled back past max_error_rate 1%)"));
    }

    TEST_CASE("surplus replicas after a scale down are removed, the highest numbers") {
        const auto s = two_services();  // llm wants 3
        auto o = up_to_date();
        o.containers.push_back(replica("llm", 4, "hash-llm"));
        o.containers.push_back(replica("llm", 5, "hash-old", "exited"));

        const auto p = make_plan(s, o, desired);
        CHECK(names(p.remove) == Names{"demo-llm-4", "demo-llm-5"});
        CHECK(p.start.empty());
        CHECK(p.replace.empty());  // the surplus one with an old hash is removed, not replaced
        CHECK(p.balancer == BalancerAction::keep);

        const auto lines = plan::describe(s, p);
        CHECK(has_line(lines, "remove demo-llm-4 (drains up to 5m)"));
        CHECK(has_line(lines, "remove demo-llm-5"));  // exited: nothing to drain
        CHECK(lines.size() == 2);
    }

    TEST_CASE("replica_counts overrides the stack's replicas") {
        const auto s = two_services();
        const auto o = up_to_date();

        SUBCASE("scale up") {
            const auto p = make_plan(s, o, desired, {{"llm", 5}});
            CHECK(slots(p.start) == Names{"llm-4", "llm-5"});
            CHECK(p.remove.empty());
            CHECK(p.replace.empty());
        }
        SUBCASE("scale down") {
            const auto p = make_plan(s, o, desired, {{"llm", 1}});
            CHECK(names(p.remove) == Names{"demo-llm-2", "demo-llm-3"});
            CHECK(p.start.empty());
            CHECK(p.replace.empty());
        }
        SUBCASE("scale to 0 removes every replica of that service only") {
            const auto p = make_plan(s, o, desired, {{"embed", 0}});
            CHECK(names(p.remove) == Names{"demo-embed-1", "demo-embed-2"});
            CHECK(p.start.empty());
            CHECK(p.balancer == BalancerAction::keep);
        }
        SUBCASE("both services at once") {
            const auto p = make_plan(s, o, desired, {{"llm", 2}, {"embed", 4}});
            CHECK(names(p.remove) == Names{"demo-llm-3"});
            CHECK(slots(p.start) == Names{"embed-3", "embed-4"});
        }
        SUBCASE("a service without an override keeps the stack's count") {
            const auto p = make_plan(s, o, desired, {{"embed", 2}});
            CHECK(p.empty());
        }
        SUBCASE("an override for a service not in the stack changes nothing") {
            const auto p = make_plan(s, o, desired, {{"nope", 7}});
            CHECK(p.empty());
        }
        SUBCASE("scale 0 on an empty engine starts nothing for that service") {
            const auto p = make_plan(s, Observed{}, desired, {{"llm", 0}});
            CHECK(slots(p.start) == Names{"embed-1", "embed-2"});
            CHECK(p.balancer == BalancerAction::create);
        }
    }

    TEST_CASE("a stack's service with replicas = 0 in the stack file") {
        const auto s = one_service(0);
        auto o = up_to_date();
        const auto p = make_plan(s, o, desired);
        // llm wants 0, embed is not in the stack any more: everything but the balancer goes.
        CHECK(names(p.remove) == Names{"demo-embed-1", "demo-embed-2", "demo-llm-1", "demo-llm-2", "demo-llm-3"});
        CHECK(p.start.empty());
        CHECK(p.balancer == BalancerAction::keep);
    }

    TEST_CASE("containers of a service no longer in the stack are removed") {
        const auto s = one_service(3);  // embed was dropped from the stack
        const auto p = make_plan(s, up_to_date(), desired);
        CHECK(names(p.remove) == Names{"demo-embed-1", "demo-embed-2"});
        CHECK(p.start.empty());
        CHECK(p.replace.empty());
        CHECK(p.balancer == BalancerAction::keep);
        CHECK(plan::describe(s, p) ==
              Names{"remove demo-embed-1 (drains up to 5m)", "remove demo-embed-2 (drains up to 5m)"});
    }

    TEST_CASE("broken leftovers are removed: no role, unknown role, no replica number") {
        const auto s = two_services();
        auto o = up_to_date();
        auto no_role = replica("llm", 1, "hash-llm", "running", "demo-stray");
        no_role.role = "";
        auto odd_role = replica("llm", 2, "hash-llm", "running", "demo-odd");
        odd_role.role = "sidecar";
        auto no_number = replica("llm", 0, "hash-llm", "running", "demo-llm-x");
        o.containers.push_back(no_role);
        o.containers.push_back(odd_role);
        o.containers.push_back(no_number);

        const auto p = make_plan(s, o, desired);
        CHECK(names(p.remove) == Names{"demo-llm-x", "demo-odd", "demo-stray"});
        CHECK(p.start.empty());
        CHECK(p.replace.empty());
    }

    TEST_CASE("several containers claiming one replica slot (a roll cut short)") {
        const auto s = two_services();
        auto o = up_to_date();
        const std::string canonical = "demo-llm-1";
        const std::string next = "demo-llm-1-next";

        SUBCASE("the running one with the desired hash is kept, the old one removed") {
            set(o, replica("llm", 1, "hash-old"));
            o.containers.push_back(replica("llm", 1, "hash-llm", "running", next));
            const auto p = make_plan(s, o, desired);
            CHECK(names(p.remove) == Names{canonical});
            CHECK(p.replace.empty());
            CHECK(p.start.empty());
        }
        SUBCASE("both running with the desired hash: the canonical name is kept") {
            o.containers.push_back(replica("llm", 1, "hash-llm", "running", next));
            const auto p = make_plan(s, o, desired);
            CHECK(names(p.remove) == Names{next});
            CHECK(p.replace.empty());
        }
        SUBCASE("order of the listing does not matter for the canonical preference") {
            auto& cs = o.containers;
            cs.insert(cs.begin(), replica("llm", 1, "hash-llm", "running", next));
            const auto p = make_plan(s, o, desired);
            CHECK(names(p.remove) == Names{next});
            CHECK(p.replace.empty());
        }
        SUBCASE("running beats stopped, even with the canonical name") {
            set(o, replica("llm", 1, "hash-llm", "exited"));
            o.containers.push_back(replica("llm", 1, "hash-llm", "running", next));
            const auto p = make_plan(s, o, desired);
            CHECK(names(p.remove) == Names{canonical});
            CHECK(p.replace.empty());
        }
        SUBCASE("both running with an old hash: the canonical is kept and replaced, the other removed") {
            set(o, replica("llm", 1, "hash-old"));
            o.containers.push_back(replica("llm", 1, "hash-older", "running", next));
            const auto p = make_plan(s, o, desired);
            CHECK(names(p.remove) == Names{next});
            REQUIRE(p.replace.size() == 1);
            CHECK(p.replace[0].old.name == canonical);
            CHECK(p.replace[0].slot.replica == 1);
        }
        SUBCASE("neither running: one is kept and replaced, the other removed") {
            set(o, replica("llm", 1, "hash-llm", "exited"));
            o.containers.push_back(replica("llm", 1, "hash-llm", "exited", next));
            const auto p = make_plan(s, o, desired);
            CHECK(names(p.remove) == Names{next});
            REQUIRE(p.replace.size() == 1);
            CHECK(p.replace[0].old.name == canonical);
        }
        SUBCASE("a canary cut short: the judged old version is kept and the canary runs again") {
            auto canary = s;
            canary.services[0].rollout.emplace().strategy = "canary";
            set(o, replica("llm", 1, "hash-old"));
            o.containers.push_back(replica("llm", 1, "hash-llm", "running", next));
            const auto p = make_plan(canary, o, desired);
            CHECK(names(p.remove) == Names{next});
            CHECK(p.remove_drain == canary.balancer.timeout);  // its requests in flight may end
            REQUIRE(p.replace.size() == 1);
            CHECK(p.replace[0].old.name == canonical);
            CHECK_FALSE(p.replace[0].restart);
        }
        SUBCASE("a canary that passed but was cut short renaming: the new version alone is kept") {
            auto canary = s;
            canary.services[0].rollout.emplace().strategy = "canary";
            std::erase_if(o.containers, [&](auto& c) { return c.name == canonical; });
            o.containers.push_back(replica("llm", 1, "hash-llm", "running", next));
            const auto p = make_plan(canary, o, desired);
            CHECK(p.remove.empty());
            CHECK(p.replace.empty());
        }
        SUBCASE("three claimants: only the best survives") {
            set(o, replica("llm", 1, "hash-old"));
            o.containers.push_back(replica("llm", 1, "hash-llm", "exited", next));
            o.containers.push_back(replica("llm", 1, "hash-llm", "running", "demo-llm-1-next-next"));
            const auto p = make_plan(s, o, desired);
            CHECK(names(p.remove) == Names{canonical, next});
            CHECK(p.replace.empty());
        }
        SUBCASE("a duplicate in a surplus slot goes with the slot") {
            o.containers.push_back(replica("llm", 4, "hash-llm"));
            o.containers.push_back(replica("llm", 4, "hash-llm", "running", "demo-llm-4-next"));
            const auto p = make_plan(s, o, desired);
            CHECK(names(p.remove) == Names{"demo-llm-4", "demo-llm-4-next"});
            CHECK(p.replace.empty());
        }
    }

    TEST_CASE("the balancer") {
        const auto s = two_services();
        auto o = up_to_date();

        SUBCASE("missing: created") {
            o.containers.pop_back();
            const auto p = make_plan(s, o, desired);
            CHECK(p.balancer == BalancerAction::create);
            CHECK_FALSE(p.old_balancer.has_value());
            CHECK_FALSE(p.changes_replicas());
            CHECK(plan::describe(s, p) == Names{"create balancer demo-balancer on port 8080"});
        }
        SUBCASE("an old hash: recreated, with old_balancer set") {
            set(o, balancer("hash-old"));
            const auto p = make_plan(s, o, desired);
            CHECK(p.balancer == BalancerAction::recreate);
            REQUIRE(p.old_balancer.has_value());
            CHECK(p.old_balancer->id == "id-demo-balancer");
            CHECK(p.old_balancer->config_hash == "hash-old");
            CHECK(p.remove.empty());  // the old balancer goes through old_balancer, not remove
            const auto lines = plan::describe(s, p);
            REQUIRE(lines.size() == 1);
            CHECK(lines[0].starts_with("recreate balancer demo-balancer"));
        }
        SUBCASE("not running: recreated") {
            set(o, balancer("hash-balancer", "exited"));
            const auto p = make_plan(s, o, desired);
            CHECK(p.balancer == BalancerAction::recreate);
            REQUIRE(p.old_balancer.has_value());
            CHECK(p.old_balancer->state == "exited");
        }
        SUBCASE("two balancers: one is removed, the good canonical one kept") {
            o.containers.push_back(balancer("hash-balancer", "running", "demo-balancer-next"));
            const auto p = make_plan(s, o, desired);
            CHECK(names(p.remove) == Names{"demo-balancer-next"});
            CHECK(p.balancer == BalancerAction::keep);
            CHECK_FALSE(p.old_balancer.has_value());
        }
        SUBCASE("two balancers, only the stray one up to date: it is kept") {
            set(o, balancer("hash-old"));
            o.containers.push_back(balancer("hash-balancer", "running", "demo-balancer-next"));
            const auto p = make_plan(s, o, desired);
            CHECK(names(p.remove) == Names{"demo-balancer"});
            CHECK(p.balancer == BalancerAction::keep);
        }
        SUBCASE("two balancers, both old: one removed, the other recreated") {
            set(o, balancer("hash-old"));
            o.containers.push_back(balancer("hash-old", "running", "demo-balancer-next"));
            const auto p = make_plan(s, o, desired);
            CHECK(names(p.remove) == Names{"demo-balancer-next"});
            CHECK(p.balancer == BalancerAction::recreate);
            REQUIRE(p.old_balancer.has_value());
            CHECK(p.old_balancer->name == "demo-balancer");
        }
        SUBCASE("the balancer is never taken for a surplus replica") {
            const auto p = make_plan(s, o, desired, {{"llm", 0}, {"embed", 0}});
            CHECK(names(p.remove) == Names{"demo-embed-1", "demo-embed-2", "demo-llm-1", "demo-llm-2", "demo-llm-3"});
            CHECK(p.balancer == BalancerAction::keep);
        }
    }

    TEST_CASE("describe lists the steps in execution order") {
        const auto s = two_services();
        Observed o;
        o.network_exists = false;
        o.containers.push_back(replica("llm", 1, "hash-old"));
        o.containers.push_back(replica("gone", 1, "x"));
        o.containers.push_back(balancer("hash-old"));
        const auto p = make_plan(s, o, desired);
        CHECK(plan::describe(s, p) == Names{"create network demo_net", "start replica demo-llm-2",
                                            "start replica demo-llm-3", "start replica demo-embed-1",
                                            "start replica demo-embed-2",
                                            "replace replica demo-llm-1 (config changed; the old one drains up to 5m)",
                                            "remove demo-gone-1 (drains up to 5m)",
                                            "recreate balancer demo-balancer (its image or port changed, or it is "
                                            "not running)"});
    }

    TEST_CASE("specs -> engine listing -> observe -> plan: a fresh deployment is up to date") {
        const auto s = two_services();
        DesiredHashes hashes;
        std::vector<engine::ContainerSummary> listing;
        for (const auto& service : s.services) {
            for (int n = 1; n <= service.replicas; ++n) {
                const auto spec = plan::replica_spec(s, service, n, "sha256:" + service.name);
                hashes.service[service.name] = spec.labels.at(plan::label::config_hash);
                listing.push_back({"id" + spec.name, spec.name, spec.image, "running", "Up", spec.labels, {}});
            }
        }
        const auto b = plan::balancer_spec(s, "sha256:nginx");
        hashes.balancer = b.labels.at(plan::label::config_hash);
        listing.push_back({"id-b", b.name, b.image, "running", "Up", b.labels, {}});

        const auto observed = plan::observe(listing, true);
        REQUIRE(observed.containers.size() == 6);
        CHECK(make_plan(s, observed, hashes).empty());

        SUBCASE("and a new image id rolls that service only") {
            hashes.service["embed"] =
                plan::replica_spec(s, s.services[1], 1, "sha256:embed-v2").labels.at(plan::label::config_hash);
            const auto p = make_plan(s, observed, hashes);
            CHECK(slots([&] {
                      std::vector<plan::ReplicaSlot> r;
                      for (const auto& x : p.replace) r.push_back(x.slot);
                      return r;
                  }()) == Names{"embed-1", "embed-2"});
            CHECK(p.balancer == BalancerAction::keep);
        }
    }

    TEST_CASE("observe_container reads mldeploy's labels") {
        engine::ContainerSummary summary;
        summary.id = "abc";
        summary.name = "demo-llm-2";
        summary.state = "exited";
        summary.labels = {{plan::label::stack, "demo"},
                          {plan::label::role, "model"},
                          {plan::label::service, "llm"},
                          {plan::label::replica, "2"},
                          {plan::label::config_hash, "h"}};
        auto c = plan::observe_container(summary);
        CHECK(c.id == "abc");
        CHECK(c.name == "demo-llm-2");
        CHECK(c.role == "model");
        CHECK(c.service == "llm");
        CHECK(c.replica == 2);
        CHECK(c.config_hash == "h");
        CHECK(c.state == "exited");
        CHECK_FALSE(c.running());

        for (const char* bad : {"", "x", "2x", " 2", "99999999999999999999"}) {
            CAPTURE(bad);
            summary.labels[plan::label::replica] = bad;
            CHECK(plan::observe_container(summary).replica == 0);
        }
        summary.labels.clear();
        c = plan::observe_container(summary);
        CHECK(c.role.empty());
        CHECK(c.service.empty());
        CHECK(c.replica == 0);
        CHECK(c.config_hash.empty());
    }

}  // TEST_SUITE
