// deploy::Session on the fake engine: the plan `up --dry-run` prints is the
// whole plan (images and containers) and reading it changes nothing; `up`
// then builds and pulls what it said; the stack the balancer keeps holds no
// env value, and reading it back takes those from a replica.
#include "deploy/balancer.hpp"
#include "deploy/build_hash.hpp"
#include "deploy/errors.hpp"
#include "deploy/stack_state.hpp"
#include "deploy_world.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>

using namespace mldeploy;
using namespace mldeploy::test;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// demo_stack(2) with a second service, embed, built from `context`.
stack::Stack with_built_service(stack::Stack s, const std::filesystem::path& context) {
    stack::Service embed;
    embed.name = "embed";
    embed.image = "acme/embed:dev";
    embed.port = 9000;
    embed.build = stack::Build{context, "", {{"HF_TOKEN", "hf_build_secret"}}, {}};
    s.services.push_back(embed);
    s.balancer.routes = {{"/v1/embeddings", "embed"}, {"/", "llm"}};
    return s;
}

}  // namespace

TEST_SUITE("session") {
    TEST_CASE("session: up --dry-run prints exactly the steps, and makes no change") {
        World w;
        TempDir context;
        context.write("Dockerfile", "FROM scratch\nCOPY app.py /\n");
        context.write("app.py", "print('hi')\n");
        auto v1 = demo_stack(2);
        w.up(v1);
        auto v2 = with_built_service(v1, context.path());
        v2.services[0].env["MODEL"] = "v2";
        v2.services[0].drain = std::chrono::seconds(45);
        v2.balancer.image = "acme/nginx:2";
        const auto before = w.engine.mutating_calls().size();

        auto session = w.session(v2);
        const auto plan = session.plan();
        CHECK(session.describe(plan) ==
              std::vector<std::string>{
                  "build image acme/embed:dev (no such image yet)",
                  "pull image acme/nginx:2 (the engine has no such image)",
                  "start replica demo-embed-1",
                  "replace replica demo-llm-1 (config changed; the old one drains up to 45s)",
                  "replace replica demo-llm-2 (config changed; the old one drains up to 45s)",
                  "recreate balancer demo-balancer (its image or port changed, or it is not running)",
              });
        CHECK(w.engine.mutating_calls().size() == before);

        SUBCASE("up then does what it printed") {
            session.apply(plan);
            const auto calls = w.engine.mutating_calls();
            CHECK(index_of(calls, call_is("build_image", "acme/embed:dev")) >= 0);
            CHECK(index_of(calls, call_is("pull_image", "acme/nginx:2")) >= 0);
            const auto embed = w.engine.container("demo-embed-1");
            REQUIRE(embed);
            CHECK(embed->image_id == w.engine.inspect_image("acme/embed:dev")->id);
            CHECK(w.engine.container("demo-balancer")->image == "acme/nginx:2");
            CHECK(w.engine.container("demo-llm-1")->env.at("MODEL") == "v2");

            // The built image carries its build hash: the next plan uses it as it is.
            auto again = w.session(v2);
            CHECK(again.describe(again.plan()) == std::vector<std::string>{"no changes: the stack is up to date"});
            CHECK(again.plan().empty());
        }
        SUBCASE("a context that changed since the image was built is built again") {
            w.engine.add_image("acme/embed:dev", "sha256:embed-old", {{plan::label::build_hash, "sha256:old"}});
            const auto lines = w.session(v2).describe(w.session(v2).plan());
            REQUIRE_FALSE(lines.empty());
            CHECK(lines[0] == "build image acme/embed:dev (its build context, dockerfile or args changed)");
        }
        SUBCASE("an image built from this very context is used") {
            w.engine.add_image("acme/embed:dev", "sha256:embed-now",
                               {{plan::label::build_hash, deploy::build_hash(*v2.services[1].build)}});
            const auto lines = w.session(v2).describe(w.session(v2).plan());
            REQUIRE_FALSE(lines.empty());
            CHECK(lines[0] == "pull image acme/nginx:2 (the engine has no such image)");
        }
        SUBCASE("--build builds whatever the engine holds") {
            w.engine.add_image("acme/embed:dev", "sha256:embed-now",
                               {{plan::label::build_hash, deploy::build_hash(*v2.services[1].build)}});
            deploy::SessionOptions options;
            options.build = deploy::BuildPolicy::always;
            auto s = w.session(v2, options);
            const auto lines = s.describe(s.plan());
            REQUIRE_FALSE(lines.empty());
            CHECK(lines[0] == "build image acme/embed:dev (--build)");
        }
    }

    TEST_CASE("session: two services built from the same context, dockerfile and args are built once") {
        World w;
        TempDir context;
        context.write("Dockerfile", "FROM scratch\nCOPY app.py /\n");
        context.write("app.py", "print('hi')\n");
        auto s = with_built_service(demo_stack(1), context.path());
        auto rerank = s.services.back();
        rerank.name = "rerank";
        rerank.image = "acme/rerank:dev";
        s.services.push_back(rerank);
        s.balancer.routes.push_back({"/v1/rerank", "rerank"});

        auto session = w.session(s);
        const auto plan = session.plan();
        const auto lines = session.describe(plan);
        REQUIRE(lines.size() >= 2);
        CHECK(lines[0] == "build image acme/embed:dev (no such image yet)");
        CHECK(lines[1] == "use the image of service embed for acme/rerank:dev (the same build)");

        session.apply(plan);
        const auto calls = w.engine.mutating_calls();
        CHECK(std::count_if(calls.begin(), calls.end(), [](const auto& c) { return c.method == "build_image"; }) == 1);
        CHECK(index_of(calls, call_is("tag_image", "acme/rerank:dev")) >
              index_of(calls, call_is("build_image", "acme/embed:dev")));
        const auto embed_id = w.engine.inspect_image("acme/embed:dev")->id;
        CHECK(w.engine.inspect_image("acme/rerank:dev")->id == embed_id);
        REQUIRE(w.engine.container("demo-rerank-1"));
        CHECK(w.engine.container("demo-rerank-1")->image_id == embed_id);

        // Both images carry the build hash: nothing to do next time.
        auto again = w.session(s);
        CHECK(again.plan().empty());

        SUBCASE("other build args: two builds") {
            auto other = s;
            other.services.back().build->args["HF_TOKEN"] = "other";
            auto third = w.session(other);
            const auto other_lines = third.describe(third.plan());
            CHECK(std::find(other_lines.begin(), other_lines.end(),
                            "build image acme/rerank:dev (its build context, dockerfile or args changed)") !=
                  other_lines.end());
        }
    }

    TEST_CASE("session: a stack up to date plans nothing") {
        World w;
        const auto stack = demo_stack(2);
        w.up(stack);
        auto session = w.session(stack);
        const auto plan = session.plan();
        CHECK(plan.empty());
        CHECK(session.describe(plan) == std::vector<std::string>{"no changes: the stack is up to date"});
    }

    TEST_CASE("session: the balancer keeps no env value; the deployed stack reads them back from a replica") {
        World w;
        TempDir context;
        context.write("Dockerfile", "FROM scratch\n");
        auto stack = with_built_service(demo_stack(1), context.path());
        stack.services[0].env["API_TOKEN"] = "s3cret-token";
        w.up(stack);

        const auto balancer = w.engine.container("demo-balancer");
        REQUIRE(balancer);
        // Neither in its environment (readable by inspect) nor in the file it keeps.
        for (const auto& [key, value] : balancer->env) {
            CHECK_FALSE(contains(value, "s3cret-token"));
            CHECK_FALSE(contains(value, "hf_build_secret"));
        }
        const auto& kept = balancer->files.at("/etc/mldeploy/stack.json");
        CHECK_FALSE(contains(kept, "s3cret-token"));
        CHECK_FALSE(contains(kept, "hf_build_secret"));
        CHECK(contains(kept, deploy::kValueInReplicas));
        CHECK(kept == deploy::deployed_stack_json(stack));

        const auto deployed = deploy::load_deployed_stack(w.engine, "demo");
        REQUIRE(deployed);
        REQUIRE(deployed->services.size() == 2);
        CHECK(deployed->services[0].env.at("API_TOKEN") == "s3cret-token");
        CHECK(deployed->services[0].env.at("MODEL") == "v1");
        CHECK(deployed->services[1].build->args.at("HF_TOKEN") == deploy::kValueInReplicas);

        SUBCASE("a service with env and no replica left: an error that says to give the file") {
            w.engine.remove_container("demo-llm-1");
            const auto error = error_of([&] { deploy::load_deployed_stack(w.engine, "demo"); });
            CHECK(contains(error, "service llm has no replica to read its env from"));
        }
        SUBCASE("scale with the deployed stack cannot build an image whose args it lacks") {
            deploy::SessionOptions options;
            options.counts_only = true;
            auto missing = *deployed;
            missing.services[1].image = "acme/embed:gone";
            const auto error = error_of([&] { w.session(missing, options).plan(); });
            CHECK(contains(error, "image acme/embed:gone of service embed is missing and its build args are not kept"));
        }
    }

    TEST_CASE("session: restart plans every replica of the named services anew, and nothing else") {
        World w;
        w.engine.add_image("acme/embed:1", "sha256:embed1");
        auto stack = demo_stack(2);
        stack::Service embed;
        embed.name = "embed";
        embed.image = "acme/embed:1";
        embed.port = 9000;
        stack.services.push_back(embed);
        stack.balancer.routes = {{"/v1/embeddings", "embed"}, {"/", "llm"}};
        w.up(stack);
        const auto before = w.engine.mutating_calls().size();

        deploy::SessionOptions options;
        options.counts_only = true;
        options.replica_counts = {{"llm", 2}, {"embed", 1}};
        options.restart = {"llm"};
        auto session = w.session(stack, options);
        const auto plan = session.plan();
        CHECK(session.describe(plan) == std::vector<std::string>{
                                            "replace replica demo-llm-1 (restart; the old one drains up to 5m)",
                                            "replace replica demo-llm-2 (restart; the old one drains up to 5m)",
                                        });
        CHECK(plan.containers.balancer == plan::BalancerAction::keep);
        for (const auto& r : plan.containers.replace) CHECK(r.restart);
        CHECK(w.engine.mutating_calls().size() == before);

        SUBCASE("every model service") {
            options.restart = {"llm", "embed"};
            auto all = w.session(stack, options);
            const auto lines = all.describe(all.plan());
            CHECK(lines.size() == 3);
            CHECK(std::find(lines.begin(), lines.end(),
                            "replace replica demo-embed-1 (restart; the old one drains up to 5m)") != lines.end());
        }
        SUBCASE("a replica that is not running is replaced as such, not drained") {
            w.engine.kill("demo-llm-2", 1);
            auto again = w.session(stack, options);
            const auto lines = again.describe(again.plan());
            REQUIRE(lines.size() == 2);
            CHECK(lines[1] == "replace replica demo-llm-2 (not running: exited)");
        }
    }

    TEST_CASE("session: a stack that was never deployed has no deployed stack") {
        World w;
        CHECK_FALSE(deploy::load_deployed_stack(w.engine, "demo"));
    }

}  // TEST_SUITE
