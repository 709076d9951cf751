// Loading valid stacks: every key lands in the structs, defaults fill the rest,
// and paths resolve against the stack file's folder.
#include "stack/load.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <map>

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace mldeploy::stack;

namespace {

using mldeploy::test::TempDir;

EnvLookup fake_env(std::map<std::string, std::string> values) {
    return [values = std::move(values)](const std::string& name) -> std::optional<std::string> {
        auto found = values.find(name);
        if (found == values.end()) return std::nullopt;
        return found->second;
    };
}

std::string errors_of(std::string_view text, const fs::path& file, const EnvLookup& env = fake_env({})) {
    try {
        load_stack_text(text, file, env);
    } catch (const StackError& e) {
        return e.what();
    }
    return "no error";
}

constexpr std::string_view full_stack = R"(
name = "movies"

[network]
name = "movies.net"

[services.recommender]
build = { context = "recommender", dockerfile = "docker/Dockerfile.gpu", args = { BASE = "${BASE_IMAGE}", WORKERS = 4 } }
image = "localhost/movies/recommender:${TAG:-1}"
port = 5000
replicas = 2
command = ["python3", "server.py", "--port", "5000"]
env = { LATENCY_MS = "100", THREADS = 8, RATIO = 0.5, DEBUG = false, GREETING = "hi ${USER}", PRICE = "5$$" }
volumes = ["./models:/models:ro", "cache:/root/.cache", "/:/host:ro,z"]
restart = "on-failure"

[services.recommender.health]
path = "/healthz"
interval = "5s"
timeout = "1500ms"
retries = 5
start_period = "2m"

[services.recommender.resources]
cpus = 1.5
memory = "1g"
gpus = "all"

[services.embedder]
image = "ghcr.io/acme/embedder@sha256:abc123"
port = 8000
replicas = 0
resources = { cpus = 2, gpus = 1 }

[balancer]
image = "docker.io/library/nginx:1.25"
port = 8080
host_ip = "127.0.0.1"
algorithm = "least_conn"
max_body = "20m"
timeout = "10m"

[[balancer.routes]]
path = "/recommend"
service = "recommender"

[[balancer.routes]]
path = "/embed"
service = "embedder"
)";

constexpr std::string_view minimal_stack = R"(
name = "solo"
[services.model]
image = "localhost/model:1"
port = 5000
[balancer]
port = 8080
)";

}  // namespace

TEST_SUITE("stack loading") {
    TEST_CASE("a stack with every key fills every field") {
        TempDir dir;
        dir.write("recommender/docker/Dockerfile.gpu", "FROM scratch\n");
        dir.folder("models");
        Stack stack = load_stack_text(full_stack, dir.path() / "stack.toml",
                                      fake_env({{"BASE_IMAGE", "python:3.12"}, {"USER", "ada"}}));

        CHECK(stack.name == "movies");
        CHECK(stack.network == "movies.net");
        CHECK(stack.file == dir.path() / "stack.toml");
        CHECK(stack.dir == dir.path());
        REQUIRE(stack.services.size() == 2);

        const Service& rec = stack.services[0];  // in the order written, not sorted
        CHECK(rec.name == "recommender");
        CHECK(rec.pos.file == (dir.path() / "stack.toml").string());
        CHECK(rec.pos.line == 7);
        CHECK(rec.pos.column == 1);
        REQUIRE(rec.build.has_value());
        CHECK(rec.build->context == dir.path() / "recommender");
        CHECK(rec.build->dockerfile == "docker/Dockerfile.gpu");
        CHECK(rec.build->args == std::map<std::string, std::string>{{"BASE", "python:3.12"}, {"WORKERS", "4"}});
        CHECK(rec.image == "localhost/movies/recommender:1");
        CHECK(rec.port == 5000);
        CHECK(rec.replicas == 2);
        CHECK(rec.command == std::vector<std::string>{"python3", "server.py", "--port", "5000"});
        CHECK(rec.env == std::map<std::string, std::string>{{"LATENCY_MS", "100"},
                                                            {"THREADS", "8"},
                                                            {"RATIO", "0.5"},
                                                            {"DEBUG", "false"},
                                                            {"GREETING", "hi ada"},
                                                            {"PRICE", "5$"}});
        REQUIRE(rec.volumes.size() == 3);
        CHECK(rec.volumes[0].source == (dir.path() / "models").string());
        CHECK(rec.volumes[0].target == "/models");
        CHECK(rec.volumes[0].options == "ro");
        CHECK(rec.volumes[0].is_bind);
        CHECK(rec.volumes[1].source == "cache");
        CHECK(rec.volumes[1].target == "/root/.cache");
        CHECK(rec.volumes[1].options == "");
        CHECK_FALSE(rec.volumes[1].is_bind);
        CHECK(rec.volumes[2].source == "/");
        CHECK(rec.volumes[2].options == "ro,z");
        CHECK(rec.restart == "on-failure");
        REQUIRE(rec.health.has_value());
        CHECK(rec.health->path == "/healthz");
        CHECK(rec.health->interval == 5s);
        CHECK(rec.health->timeout == 1500ms);
        CHECK(rec.health->retries == 5);
        CHECK(rec.health->start_period == 2min);
        CHECK(rec.resources.cpus == 1.5);
        CHECK(rec.resources.memory_bytes == 1024LL * 1024 * 1024);
        CHECK(rec.resources.gpus == "all");

        const Service& emb = stack.services[1];
        CHECK(emb.name == "embedder");
        CHECK(emb.pos.line == 29);
        CHECK_FALSE(emb.build.has_value());
        CHECK(emb.image == "ghcr.io/acme/embedder@sha256:abc123");
        CHECK(emb.port == 8000);
        CHECK(emb.replicas == 0);
        CHECK(emb.resources.cpus == 2.0);
        CHECK(emb.resources.memory_bytes == std::nullopt);
        CHECK(emb.resources.gpus == "1");
        CHECK_FALSE(emb.health.has_value());

        CHECK(stack.balancer.image == "docker.io/library/nginx:1.25");
        CHECK(stack.balancer.port == 8080);
        CHECK(stack.balancer.host_ip == "127.0.0.1");
        CHECK(stack.balancer.algorithm == "least_conn");
        CHECK(stack.balancer.max_body_bytes == 20LL * 1024 * 1024);
        CHECK(stack.balancer.timeout == 10min);
        REQUIRE(stack.balancer.routes.size() == 2);
        CHECK(stack.balancer.routes[0].path == "/recommend");
        CHECK(stack.balancer.routes[0].service == "recommender");
        CHECK(stack.balancer.routes[1].path == "/embed");
        CHECK(stack.balancer.routes[1].service == "embedder");
        CHECK(stack.find_service("embedder") == &stack.services[1]);
    }

    TEST_CASE("defaults for everything left out") {
        Stack stack = load_stack_text(minimal_stack, "/srv/stacks/stack.toml", fake_env({}));
        CHECK(stack.network == "solo_net");
        CHECK(stack.dir == "/srv/stacks");
        REQUIRE(stack.services.size() == 1);
        const Service& model = stack.services[0];
        CHECK(model.replicas == 1);
        CHECK(model.restart == "no");
        CHECK(model.command.empty());
        CHECK(model.env.empty());
        CHECK(model.volumes.empty());
        CHECK_FALSE(model.health.has_value());
        CHECK_FALSE(model.resources.cpus.has_value());
        CHECK_FALSE(model.resources.gpus.has_value());
        CHECK(stack.balancer.image == "docker.io/library/nginx:stable");
        CHECK(stack.balancer.host_ip == "0.0.0.0");
        CHECK(stack.balancer.algorithm == "round_robin");
        CHECK(stack.balancer.max_body_bytes == 100LL * 1024 * 1024);
        CHECK(stack.balancer.timeout == 300s);
        REQUIRE(stack.balancer.routes.size() == 1);  // a lone service takes "/"
        CHECK(stack.balancer.routes[0].path == "/");
        CHECK(stack.balancer.routes[0].service == "model");
    }

    TEST_CASE("an empty health table takes the documented defaults") {
        std::string text(minimal_stack);
        text += "[services.model.health]\n";
        Stack stack = load_stack_text(text, "/srv/stack.toml", fake_env({}));
        REQUIRE(stack.services[0].health.has_value());
        CHECK(stack.services[0].health->path == "/healthz");
        CHECK(stack.services[0].health->interval == 2s);
        CHECK(stack.services[0].health->timeout == 1s);
        CHECK(stack.services[0].health->retries == 3);
        CHECK(stack.services[0].health->start_period == 30s);
    }

    TEST_CASE("autoscale: the documented defaults, and replicas start at min when left out") {
        std::string text(minimal_stack);
        text += "[services.model.autoscale]\nmin = 2\nmax = 5\n";
        Stack stack = load_stack_text(text, "/srv/stack.toml", fake_env({}));
        const auto& a = stack.services[0].autoscale;
        REQUIRE(a.has_value());
        CHECK(a->min == 2);
        CHECK(a->max == 5);
        CHECK(a->target_inflight == 2);
        CHECK(a->scale_up_delay == 10s);
        CHECK(a->scale_down_delay == 120s);
        CHECK(stack.services[0].replicas == 2);
        CHECK(stack.logs_requests());  // the autoscaler reads the access log, also without [metrics]
        CHECK_FALSE(stack.metrics.has_value());
        CHECK_FALSE(load_stack_text(minimal_stack, "/srv/stack.toml", fake_env({})).logs_requests());
    }

    TEST_CASE("gpus = 0 means none") {
        std::string text(minimal_stack);
        text += "[services.model.resources]\ngpus = 0\nmemory = \"6m\"\n";
        Stack stack = load_stack_text(text, "/srv/stack.toml", fake_env({}));
        CHECK_FALSE(stack.services[0].resources.gpus.has_value());
        CHECK(stack.services[0].resources.memory_bytes == 6 * 1024 * 1024);
    }

    TEST_CASE("build as a string: default image, Containerfile preferred over Dockerfile") {
        TempDir dir;
        dir.write("app/Containerfile", "FROM scratch\n");
        dir.write("app/Dockerfile", "FROM scratch\n");
        Stack stack = load_stack_text(R"(
name = "shop"
[services.ranker]
build = "./app/"
port = 9000
[balancer]
port = 80
)",
                                      dir.path() / "sub" / ".." / "stack.toml", fake_env({}));
        const Service& ranker = stack.services[0];
        REQUIRE(ranker.build.has_value());
        CHECK(ranker.build->context == dir.path() / "app");
        CHECK(ranker.build->dockerfile == "Containerfile");
        CHECK(ranker.build->args.empty());
        CHECK(ranker.image == "localhost/shop/ranker:latest");
        CHECK(stack.file == dir.path() / "stack.toml");
    }

    TEST_CASE("build falls back to a Dockerfile, and needs one of the two") {
        TempDir dir;
        dir.write("with-dockerfile/Dockerfile", "FROM scratch\n");
        dir.folder("empty");
        auto stack_with = [](std::string_view context) {
            return "name = \"shop\"\n[services.ranker]\nbuild = \"" + std::string(context) +
                   "\"\nport = 9000\n[balancer]\nport = 80\n";
        };
        Stack stack = load_stack_text(stack_with("with-dockerfile"), dir.path() / "stack.toml", fake_env({}));
        CHECK(stack.services[0].build->dockerfile == "Dockerfile");

        const std::string file = (dir.path() / "stack.toml").string();
        CHECK(errors_of(stack_with("empty"), file) ==
              file + ":3:9: no Containerfile or Dockerfile in the build context " + (dir.path() / "empty").string() +
                  "; add one or set 'dockerfile'");
    }

    TEST_CASE("a dockerfile must be a file inside the context") {
        TempDir dir;
        dir.write("app/Containerfile", "FROM scratch\n");
        dir.write("outside/Dockerfile", "FROM scratch\n");
        const std::string file = (dir.path() / "stack.toml").string();
        auto stack_with = [](std::string_view dockerfile) {
            return "name = \"shop\"\n[services.ranker]\nbuild = { context = \"app\", dockerfile = \"" +
                   std::string(dockerfile) + "\" }\nport = 9000\n[balancer]\nport = 80\n";
        };
        const std::string context = (dir.path() / "app").string();
        CHECK(errors_of(stack_with("Missingfile"), file) ==
              file + ":3:41: dockerfile 'Missingfile' is not a file inside the build context " + context);
        CHECK(errors_of(stack_with("../outside/Dockerfile"), file) ==
              file + ":3:41: dockerfile '../outside/Dockerfile' is not a file inside the build context " + context);
        CHECK(errors_of(stack_with(""), file) ==
              file + ":3:41: dockerfile '' is not a file inside the build context " + context);
    }

    TEST_CASE("a build context that is a file, not a folder") {
        TempDir dir;
        dir.write("app.tar", "not a folder");
        const std::string file = (dir.path() / "stack.toml").string();
        CHECK(errors_of("name = \"shop\"\n[services.ranker]\nbuild = \"app.tar\"\nport = 9000\n[balancer]\nport = 80\n",
                        file) == file + ":3:9: build context 'app.tar' is not a folder");
    }

    TEST_CASE("relative volume paths resolve against the stack file's folder") {
        TempDir dir;
        dir.folder("data/models");
        std::string text(minimal_stack);
        text.insert(text.find("port = 5000"), "volumes = [\"data/../data/models/:/models\"]\n");
        // Not starting with '.' or '/', so "data/..." is a volume name with a bad character.
        CHECK(errors_of(text, dir.path() / "stack.toml").find("volume source 'data/../data/models/' must be") !=
              std::string::npos);

        text = std::string(minimal_stack);
        text.insert(text.find("port = 5000"), "volumes = [\"./data/../data/models/:/models\"]\n");
        Stack stack = load_stack_text(text, dir.path() / "stack.toml", fake_env({}));
        CHECK(stack.services[0].volumes[0].source == (dir.path() / "data" / "models").string());
    }

    TEST_CASE("files on disk") {
        TempDir dir;
        auto file = dir.write("stack.toml", minimal_stack);
        Stack stack = load_stack_file(file, fake_env({}));
        CHECK(stack.name == "solo");
        CHECK(stack.file == file);
    }

    TEST_CASE("a missing or unreadable file") {
        TempDir dir;
        auto missing = dir.path() / "nope.toml";
        try {
            load_stack_file(missing, fake_env({}));
            FAIL("no error");
        } catch (const StackError& e) {
            CHECK(std::string(e.what()) == missing.string() + ": cannot read: No such file or directory");
            REQUIRE(e.diagnostics().size() == 1);
            CHECK(e.diagnostics()[0].pos.line == 0);
        }
        CHECK_THROWS_WITH_AS(load_stack_file(dir.path(), fake_env({})),
                             (dir.path().string() + ": cannot read: Is a directory").c_str(), StackError);
    }

    TEST_CASE("broken example files") {
        const fs::path data = fs::path(MLDEPLOY_TEST_DATA) / "stacks";
        auto error_in = [&](const char* name) {
            try {
                load_stack_file(data / name, fake_env({}));
            } catch (const StackError& e) {
                return std::string(e.what());
            }
            return std::string("no error");
        };
        const std::string prefix = (data / "").string();
        CHECK(error_in("bad-port.toml") == prefix + "bad-port.toml:6:8: 'port' must be between 1 and 65535, not 70000");
        CHECK(error_in("typo-key.toml") ==
              prefix + "typo-key.toml:6:1: unknown key 'replica' in [services.recommender]; did you mean 'replicas'?");
        CHECK(error_in("unknown-route.toml") ==
              prefix + "unknown-route.toml:13:11: route to unknown service 'recomender'; did you mean 'recommender'?");
        CHECK(error_in("many-problems.toml") ==
              prefix +
                  "many-problems.toml:1:8: 'name' must be lowercase letters, digits, '-' and '_', start with a "
                  "letter or digit and be at most 40 characters, not 'Movies!'\n" +
                  prefix + "many-problems.toml:5:12: 'replicas' cannot be negative (-1); use 0 to run none\n" + prefix +
                  "many-problems.toml:6:11: 'restart' must be one of no, on-failure, always, unless-stopped, "
                  "not 'allways'; did you mean 'always'?\n" +
                  prefix + "many-problems.toml:9:1: unknown key 'algoritm' in [balancer]; did you mean 'algorithm'?");
    }
}
