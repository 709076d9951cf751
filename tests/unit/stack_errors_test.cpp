// Broken stack files: each problem is reported as "file:line:col: message", and
// every problem in a file is reported at once, in file order.
#include "stack/load.hpp"

#include <doctest/doctest.h>

#include <map>

using namespace mldeploy::stack;

namespace {

EnvLookup fake_env(std::map<std::string, std::string> values) {
    return [values = std::move(values)](const std::string& name) -> std::optional<std::string> {
        auto found = values.find(name);
        if (found == values.end()) return std::nullopt;
        return found->second;
    };
}

// All the messages of a broken stack, one per line.
std::string errors_of(std::string_view text, const std::filesystem::path& file = "stack.toml",
                      const EnvLookup& env = fake_env({})) {
    try {
        load_stack_text(text, file, env);
    } catch (const StackError& e) {
        return e.what();
    }
    return "no error";
}

// A valid stack of one service, with `service_lines` added to [services.recommender]
// from line 5 on.
std::string with_service_lines(std::string_view service_lines) {
    return "name = \"movies\"\n"
           "[services.recommender]\n"
           "image = \"localhost/movies/recommender:1\"\n"
           "port = 5000\n" +
           std::string(service_lines) +
           "\n[balancer]\n"
           "port = 8080\n";
}

// A valid stack of one service, with `balancer_lines` added to [balancer] from line 7 on.
std::string with_balancer_lines(std::string_view balancer_lines) {
    return "name = \"movies\"\n"
           "[services.recommender]\n"
           "image = \"localhost/movies/recommender:1\"\n"
           "port = 5000\n"
           "[balancer]\n"
           "port = 8080\n" +
           std::string(balancer_lines) + "\n";
}

}  // namespace

TEST_SUITE("stack errors: TOML syntax") {
    TEST_CASE("an unterminated string") {
        CHECK(errors_of("name = \"movies\n") ==
              "stack.toml:1:15: Error while parsing string: unescaped control characters other than TAB (U+0009) are "
              "explicitly prohibited");
    }

    TEST_CASE("a duplicate key") {
        CHECK(errors_of("name = \"a\"\nname = \"b\"\n") ==
              "stack.toml:2:8: Error while parsing key-value pair: cannot redefine existing string 'name'");
    }

    TEST_CASE("an unquoted ${VAR}: the line again, quoted") {
        CHECK(errors_of("name = \"movies\"\n[services.m]\nport = ${PORT}\n") ==
              "stack.toml:3:8: Error while parsing value: could not determine value type; to use a variable, quote "
              "it: port = \"${PORT}\"");
        CHECK(errors_of(with_service_lines("env = { A = ${X:-1}, B = \"b\" }")) ==
              "stack.toml:5:13: Error while parsing value: could not determine value type; to use a variable, quote "
              "it: env = { A = \"${X:-1}\", B = \"b\" }");
        // No "${" on the line: no hint.
        CHECK(errors_of("name = movies\n") ==
              "stack.toml:1:8: Error while parsing value: could not determine value type");
    }

    TEST_CASE("a duplicate table") {
        CHECK(errors_of("[services.a]\nport = 1\n[services.a]\nport = 2\n") ==
              "stack.toml:3:1: Error while parsing table header: cannot redefine existing table 'services.a'");
    }
}

TEST_SUITE("stack errors: keys and types") {
    TEST_CASE("an unknown key close to a known one") {
        CHECK(errors_of(with_service_lines("replica = 2")) ==
              "stack.toml:5:1: unknown key 'replica' in [services.recommender]; did you mean 'replicas'?");
    }

    TEST_CASE("an unknown key close to none") {
        CHECK(errors_of(with_service_lines("gpu_memory_fraction = 0.5")) ==
              "stack.toml:5:1: unknown key 'gpu_memory_fraction' in [services.recommender]; allowed keys: build, "
              "image, port, replicas, command, env, volumes, restart, health, resources, drain, max_inflight, "
              "autoscale, rollout");
    }

    TEST_CASE("unknown keys at the top level, in sub-tables and in routes") {
        CHECK(errors_of("names = \"x\"\n" + with_service_lines("")) ==
              "stack.toml:1:1: unknown key 'names' at the top level; did you mean 'name'?");
        // Two letters swapped count as one edit.
        CHECK(errors_of("nmae = \"x\"\n" + with_service_lines("")) ==
              "stack.toml:1:1: unknown key 'nmae' at the top level; did you mean 'name'?");
        CHECK(errors_of("zzzz = \"x\"\n" + with_service_lines("")) ==
              "stack.toml:1:1: unknown key 'zzzz' at the top level; allowed keys: name, target, network, services, "
              "balancer, jobs, metrics");
        CHECK(errors_of(with_service_lines("[services.recommender.health]\nintervall = \"2s\"")) ==
              "stack.toml:6:1: unknown key 'intervall' in [services.recommender.health]; did you mean 'interval'?");
        CHECK(errors_of(with_balancer_lines("[[balancer.routes]]\npath = \"/\"\nservice = \"recommender\"\n"
                                            "servce = \"x\"")) ==
              "stack.toml:10:1: unknown key 'servce' in [[balancer.routes]]; did you mean 'service'?");
    }

    TEST_CASE("a string where an integer belongs") {
        CHECK(errors_of("name = \"movies\"\n[services.recommender]\nimage = \"x\"\nport = \"5000\"\n[balancer]\n"
                        "port = 8080\n") == "stack.toml:4:8: 'port' must be an integer, not a string");
    }

    TEST_CASE("a quoted variable where an integer belongs: its value must be one") {
        const std::string text =
            "name = \"movies\"\n[services.recommender]\nimage = \"x\"\nport = \"${PORT}\"\n"
            "replicas = \"${N:-2}\"\n[balancer]\nport = 8080\n";
        auto stack = load_stack_text(text, "stack.toml", fake_env({{"PORT", "5001"}}));
        CHECK(stack.services.at(0).port == 5001);
        CHECK(stack.services.at(0).replicas == 2);
        CHECK(errors_of(text, "stack.toml", fake_env({{"PORT", "50x"}})) ==
              "stack.toml:4:8: 'port' must be an integer, but '${PORT}' gives '50x'");
        CHECK(errors_of(text, "stack.toml", fake_env({})) ==
              "stack.toml:4:8: variable 'PORT' is not set; set it or write ${PORT:-default}");
    }

    TEST_CASE("a float where an integer belongs") {
        CHECK(errors_of(with_service_lines("replicas = 1.5")) ==
              "stack.toml:5:12: 'replicas' must be an integer, not a float");
    }

    TEST_CASE("a string where a table belongs") {
        CHECK(errors_of(with_service_lines("env = \"A=1\"")) == "stack.toml:5:7: 'env' must be a table, not a string");
        CHECK(errors_of("network = \"movies_net\"\n" + with_service_lines("")) ==
              "stack.toml:1:11: 'network' must be a table, not a string");
    }

    TEST_CASE("a command written as one string") {
        CHECK(errors_of(with_service_lines("command = \"python3 server.py --port 5000\"")) ==
              "stack.toml:5:11: 'command' must be an array of strings, one per argument, such as "
              "command = [\"python3\", \"server.py\", \"--port\", \"5000\"]");
    }

    TEST_CASE("a command with a number in it") {
        CHECK(errors_of(with_service_lines("command = [\"serve\", 5000]")) ==
              "stack.toml:5:21: 'command' must be an array of strings; item 2 is an integer");
    }

    TEST_CASE("a service that is not a table") {
        CHECK(errors_of("name = \"movies\"\nservices = { recommender = 5 }\n[balancer]\nport = 1\n") ==
              "stack.toml:2:28: 'recommender' must be a table ([services.recommender]), not an integer");
    }
}

TEST_SUITE("stack errors: names") {
    TEST_CASE("a stack name with a space") {
        CHECK(errors_of("name = \"my movies\"\n[services.a]\nimage = \"x\"\nport = 1\n[balancer]\nport = 2\n") ==
              "stack.toml:1:8: 'name' must be lowercase letters, digits, '-' and '_', start with a letter or digit "
              "and be at most 40 characters, not 'my movies'");
    }

    TEST_CASE("a stack name that is too long") {
        std::string long_name(41, 'a');
        CHECK(
            errors_of("name = \"" + long_name + "\"\n[services.a]\nimage = \"x\"\nport = 1\n[balancer]\nport = 2\n") ==
            "stack.toml:1:8: 'name' must be lowercase letters, digits, '-' and '_', start with a letter or digit "
            "and be at most 40 characters, not '" +
                long_name + "'");
    }

    TEST_CASE("a missing stack name") {
        CHECK(errors_of("[services.a]\nimage = \"x\"\nport = 1\n[balancer]\nport = 2\n") ==
              "stack.toml: missing required key 'name' at the top level");
    }

    TEST_CASE("service names with characters that could break out of a config") {
        const std::string rule =
            " is not valid: use lowercase letters, digits, '-' and '_', starting with a letter "
            "or digit, at most 40 characters";
        auto service_named = [](std::string_view toml_key) {
            return "name = \"movies\"\n[services." + std::string(toml_key) +
                   "]\nimage = \"x\"\nport = 1\n[balancer]\nport = 2\n";
        };
        CHECK(errors_of(service_named(R"("a;b")")) == "stack.toml:2:1: service name 'a;b'" + rule);
        CHECK(errors_of(service_named(R"("a{b}")")) == "stack.toml:2:1: service name 'a{b}'" + rule);
        CHECK(errors_of(service_named(R"("a b")")) == "stack.toml:2:1: service name 'a b'" + rule);
        CHECK(errors_of(service_named(R"('a"b')")) == "stack.toml:2:1: service name 'a\"b'" + rule);
        CHECK(errors_of(service_named(R"("a\nb")")) == "stack.toml:2:1: service name 'a\\nb'" + rule);
        CHECK(errors_of(service_named(R"("modèle")")) == "stack.toml:2:1: service name 'modèle'" + rule);
        CHECK(errors_of(service_named("Recommender")) == "stack.toml:2:1: service name 'Recommender'" + rule);
        CHECK(errors_of(service_named("_private")) == "stack.toml:2:1: service name '_private'" + rule);
    }

    TEST_CASE("a network name with a slash") {
        CHECK(errors_of(with_service_lines("[network]\nname = \"movies/net\"")) ==
              "stack.toml:6:8: network 'name' must be lowercase letters, digits, '-', '_' and '.', start with a "
              "letter or digit and be at most 40 characters, not 'movies/net'");
    }
}

TEST_SUITE("stack errors: values") {
    TEST_CASE("ports out of range") {
        CHECK(errors_of("name = \"movies\"\n[services.recommender]\nimage = \"x\"\nport = 0\n[balancer]\n"
                        "port = 65536\n") ==
              "stack.toml:4:8: 'port' must be between 1 and 65535, not 0\n"
              "stack.toml:6:8: 'port' must be between 1 and 65535, not 65536");
    }

    TEST_CASE("a missing port") {
        CHECK(errors_of("name = \"movies\"\n[services.recommender]\nimage = \"x\"\n[balancer]\nport = 8080\n") ==
              "stack.toml:2:1: missing required key 'port' in [services.recommender]");
    }

    TEST_CASE("negative replicas") {
        CHECK(errors_of(with_service_lines("replicas = -1")) ==
              "stack.toml:5:12: 'replicas' cannot be negative (-1); use 0 to run none");
    }

    TEST_CASE("an absurd number of replicas") {
        CHECK(errors_of(with_service_lines("replicas = 100000")) ==
              "stack.toml:5:12: 'replicas' is 100000; at most 1000 replicas are allowed");
    }

    TEST_CASE("neither image nor build") {
        CHECK(errors_of("name = \"movies\"\n[services.recommender]\nport = 5000\n[balancer]\nport = 8080\n") ==
              "stack.toml:2:1: missing 'image' in [services.recommender]: set the image to run, or 'build' to build "
              "one");
    }

    TEST_CASE("image references with spaces, semicolons or braces") {
        const std::string rule =
            " is not an image reference: use letters, digits and . _ / : @ -, starting with a "
            "letter or digit";
        auto image = [](std::string_view value) {
            return "name = \"movies\"\n[services.recommender]\nport = 5000\nimage = \"" + std::string(value) +
                   "\"\n[balancer]\nport = 8080\n";
        };
        CHECK(errors_of(image("nginx latest")) == "stack.toml:4:9: 'image' 'nginx latest'" + rule);
        CHECK(errors_of(image("nginx;rm -rf /")) == "stack.toml:4:9: 'image' 'nginx;rm -rf /'" + rule);
        CHECK(errors_of(image("${X:-{oops}}")) == "stack.toml:4:9: 'image' '{oops}'" + rule);
        CHECK(errors_of(image("--privileged")) == "stack.toml:4:9: 'image' '--privileged'" + rule);
        CHECK(errors_of(image("")) == "stack.toml:4:9: 'image' ''" + rule);
    }

    TEST_CASE("a build context that does not exist") {
        CHECK(errors_of(with_service_lines("build = \"../models/recommender\""), "/nonexistent/stacks/stack.toml") ==
              "/nonexistent/stacks/stack.toml:5:9: build context '../models/recommender' does not exist (looked for "
              "/nonexistent/models/recommender)");
        CHECK(errors_of(with_service_lines("build = { dockerfile = \"Dockerfile\" }")) ==
              "stack.toml:5:9: missing required key 'context' in [services.recommender.build]");
        CHECK(errors_of(with_service_lines("build = 1")) ==
              "stack.toml:5:9: 'build' must be a string (the build context) or a table, not an integer");
    }

    TEST_CASE("a restart policy that does not exist") {
        CHECK(errors_of(with_service_lines("restart = \"unless_stopped\"")) ==
              "stack.toml:5:11: 'restart' must be one of no, on-failure, always, unless-stopped, not "
              "'unless_stopped'; did you mean 'unless-stopped'?");
        CHECK(errors_of(with_service_lines("restart = \"sometimes\"")) ==
              "stack.toml:5:11: 'restart' must be one of no, on-failure, always, unless-stopped, not 'sometimes'");
    }

    TEST_CASE("a health path without its leading '/'") {
        CHECK(errors_of(with_service_lines("health = { path = \"healthz\" }")) ==
              "stack.toml:5:19: 'path' must start with '/', not 'healthz'");
    }

    TEST_CASE("a health path with characters that are not URL-safe") {
        CHECK(errors_of(with_service_lines("health = { path = \"/health z\" }")) ==
              "stack.toml:5:19: 'path' '/health z' may only hold letters, digits and / - . _ ~ ! & ( ) * + , = : @ % "
              "(no spaces, quotes, ';', '{', '}', '$', '#', '?' or '\\')");
    }

    TEST_CASE("durations that cannot be read") {
        CHECK(errors_of(with_service_lines("health = { interval = \"2 seconds\" }")) ==
              "stack.toml:5:23: 'interval' is not a duration: '2 seconds'; write a number and ms, s, m or h, such "
              "as \"2s\" or \"500ms\"");
        CHECK(errors_of(with_service_lines("health = { timeout = 5 }")) ==
              "stack.toml:5:22: 'timeout' must be a duration such as \"2s\" or \"500ms\", not an integer");
        CHECK(errors_of(with_service_lines("health = { interval = \"0s\" }")) ==
              "stack.toml:5:23: 'interval' must be at least 1ms, not 0s");
    }

    TEST_CASE("health retries out of range") {
        CHECK(errors_of(with_service_lines("health = { retries = 0 }")) ==
              "stack.toml:5:22: 'retries' must be between 1 and 100, not 0");
    }

    TEST_CASE("sizes that cannot be read or are too small") {
        CHECK(errors_of(with_service_lines("resources = { memory = \"1gb\" }")) ==
              "stack.toml:5:24: 'memory' is not a size: '1gb'; write bytes, or a number and k, m or g, such as "
              "\"512m\" or \"1g\"");
        CHECK(errors_of(with_service_lines("resources = { memory = \"1m\" }")) ==
              "stack.toml:5:24: 'memory' must be at least 6m, not 1m");
        CHECK(errors_of(with_balancer_lines("max_body = \"lots\"")) ==
              "stack.toml:7:12: 'max_body' is not a size: 'lots'; write bytes, or a number and k, m or g, such as "
              "\"512m\" or \"1g\"");
    }

    TEST_CASE("cpus out of range or of the wrong type") {
        CHECK(errors_of(with_service_lines("resources = { cpus = 0 }")) ==
              "stack.toml:5:22: 'cpus' must be more than 0 and at most 1024, not 0");
        CHECK(errors_of(with_service_lines("resources = { cpus = \"2\" }")) ==
              "stack.toml:5:22: 'cpus' must be a number, not a string");
    }

    TEST_CASE("gpus that are neither a count nor \"all\"") {
        CHECK(errors_of(with_service_lines("resources = { gpus = \"some\" }")) ==
              "stack.toml:5:22: 'gpus' must be a count or \"all\", not 'some'");
        CHECK(errors_of(with_service_lines("resources = { gpus = -1 }")) ==
              "stack.toml:5:22: 'gpus' cannot be negative (-1)");
        CHECK(errors_of(with_service_lines("resources = { gpus = 1.5 }")) ==
              "stack.toml:5:22: 'gpus' must be a count or \"all\", not a float");
    }
}

TEST_SUITE("stack errors: env, args and volumes") {
    TEST_CASE("environment variable names") {
        CHECK(errors_of(with_service_lines("env = { 1ABC = \"x\", MY-VAR = \"y\", OK_1 = \"z\" }")) ==
              "stack.toml:5:9: '1ABC' is not a valid variable name in [services.recommender.env]: use letters, "
              "digits and '_', not starting with a digit\n"
              "stack.toml:5:21: 'MY-VAR' is not a valid variable name in [services.recommender.env]: use letters, "
              "digits and '_', not starting with a digit");
    }

    TEST_CASE("an environment value that is not a scalar") {
        CHECK(errors_of(with_service_lines("env = { HOSTS = [\"a\", \"b\"] }")) ==
              "stack.toml:5:17: 'HOSTS' must be a string, number or boolean, not an array");
    }

    TEST_CASE("build argument names") {
        CHECK(errors_of(with_service_lines("build = { context = \"/\", dockerfile = \"etc/hostname\", "
                                           "args = { \"BASE IMAGE\" = \"x\" } }")) ==
              "stack.toml:5:64: 'BASE IMAGE' is not a valid variable name in [services.recommender.build.args]: use "
              "letters, digits and '_', not starting with a digit");
    }

    TEST_CASE("a host path that does not exist") {
        CHECK(errors_of(with_service_lines("volumes = [\"./models:/models:ro\"]"), "/nonexistent/stack.toml") ==
              "/nonexistent/stack.toml:5:12: volume source './models' does not exist (looked for "
              "/nonexistent/models)");
    }

    TEST_CASE("malformed volumes") {
        CHECK(errors_of(with_service_lines("volumes = [\"models\"]")) ==
              "stack.toml:5:12: volume 'models' must be \"source:target\" or \"source:target:options\"");
        CHECK(errors_of(with_service_lines("volumes = [\"models:models\"]")) ==
              "stack.toml:5:12: volume target 'models' must be an absolute path");
        CHECK(errors_of(with_service_lines("volumes = [\"models:/models:rx\"]")) ==
              "stack.toml:5:12: volume option 'rx' in 'models:/models:rx' must be one of ro, rw, z, Z");
        CHECK(errors_of(with_service_lines("volumes = [\"~/models:/models\"]")) ==
              "stack.toml:5:12: volume source '~/models' must be a host path starting with '.' or '/', or a volume "
              "name of letters, digits, '_', '.' and '-'");
        CHECK(errors_of(with_service_lines("volumes = [\"a:/models\", \"b:/models\"]")) ==
              "stack.toml:5:25: volume target '/models' is mounted twice");
    }
}

TEST_SUITE("stack errors: balancer and routes") {
    TEST_CASE("a route to a service that does not exist, close to one") {
        CHECK(errors_of(with_balancer_lines("[[balancer.routes]]\npath = \"/\"\nservice = \"recomender\"")) ==
              "stack.toml:9:11: route to unknown service 'recomender'; did you mean 'recommender'?");
    }

    TEST_CASE("a route to a service that does not exist, close to none") {
        CHECK(errors_of(with_balancer_lines("[[balancer.routes]]\npath = \"/\"\nservice = \"translator\"")) ==
              "stack.toml:9:11: route to unknown service 'translator'; the services are: recommender");
    }

    TEST_CASE("a route path twice") {
        CHECK(errors_of(with_balancer_lines("[[balancer.routes]]\npath = \"/a\"\nservice = \"recommender\"\n"
                                            "[[balancer.routes]]\npath = \"/a\"\nservice = \"recommender\"")) ==
              "stack.toml:11:8: duplicate route path '/a'; it is already routed at line 8");
    }

    TEST_CASE("a route path without its leading '/' and a route without a service") {
        CHECK(errors_of(with_balancer_lines("[[balancer.routes]]\npath = \"api\"")) ==
              "stack.toml:7:1: missing required key 'service' in [[balancer.routes]]\n"
              "stack.toml:8:8: 'path' must start with '/', not 'api'");
    }

    TEST_CASE("routes that are not tables") {
        CHECK(errors_of(with_balancer_lines("routes = \"/\"")) ==
              "stack.toml:7:10: 'routes' must be an array of tables, written [[balancer.routes]], not a string");
        CHECK(errors_of(with_balancer_lines("routes = [\"/\"]")) ==
              "stack.toml:7:11: each route must be a table with 'path' and 'service', not a string");
    }

    TEST_CASE("an algorithm that does not exist") {
        CHECK(errors_of(with_balancer_lines("algorithm = \"least_connections\"")) ==
              "stack.toml:7:13: 'algorithm' must be one of round_robin, least_conn, ip_hash, random, not "
              "'least_connections'");
        CHECK(errors_of(with_balancer_lines("algorithm = \"roundrobin\"")) ==
              "stack.toml:7:13: 'algorithm' must be one of round_robin, least_conn, ip_hash, random, not "
              "'roundrobin'; did you mean 'round_robin'?");
    }

    TEST_CASE("host_ip that is not an address") {
        for (const char* bad : {"localhost", "256.0.0.1", "1.2.3", "::1]", "[::1]", "0.0.0.0; ", ""}) {
            CAPTURE(bad);
            CHECK(errors_of(with_balancer_lines("host_ip = \"" + std::string(bad) + "\"")) ==
                  "stack.toml:7:11: 'host_ip' must be an IPv4 or IPv6 address such as \"0.0.0.0\" or \"::1\", not '" +
                      std::string(bad) + "'");
        }
        CHECK(errors_of(with_balancer_lines("host_ip = \"::\"")) == "no error");
    }

    TEST_CASE("a balancer timeout under a second") {
        CHECK(errors_of(with_balancer_lines("timeout = \"500ms\"")) ==
              "stack.toml:7:11: 'timeout' must be at least 1s, not 500ms");
    }

    TEST_CASE("several services and no routes") {
        CHECK(errors_of("name = \"movies\"\n[services.b]\nimage = \"x\"\nport = 1\n[services.a]\nimage = \"y\"\n"
                        "port = 2\n[balancer]\nport = 8080\n") ==
              "stack.toml:8:1: the stack has 2 services (b, a); add [[balancer.routes]] tables with 'path' and "
              "'service' to say which path goes to which");
    }

    TEST_CASE("no balancer, or one without a port") {
        CHECK(errors_of("name = \"movies\"\n[services.a]\nimage = \"x\"\nport = 1\n") ==
              "stack.toml: missing [balancer]: add one with the host port to publish, such as '[balancer]' and "
              "'port = 8080'");
        CHECK(errors_of("name = \"movies\"\n[services.a]\nimage = \"x\"\nport = 1\n[balancer]\nhost_ip = \"::1\"\n") ==
              "stack.toml:5:1: missing required key 'port' in [balancer]");
    }

    TEST_CASE("[metrics]: a port of its own, a host address") {
        CHECK(errors_of(with_balancer_lines("[metrics]\nport = 9464")) == "no error");
        CHECK(errors_of(with_balancer_lines("[metrics]\nport = 8080")) ==
              "stack.toml:8:8: metrics 'port' 8080 is the balancer's port too; choose another port");
        CHECK(errors_of(with_balancer_lines("[metrics]\nhost_ip = \"127.0.0.1\"")) ==
              "stack.toml:7:1: missing required key 'port' in [metrics]");
        CHECK(errors_of(with_balancer_lines("[metrics]\nport = 9464\nhost_ip = \"localhost\"")) ==
              "stack.toml:9:11: 'host_ip' must be an IPv4 or IPv6 address such as \"127.0.0.1\" or \"0.0.0.0\", not "
              "'localhost'");
    }

    TEST_CASE("[services.X.autoscale]: bounds, target, delays, and replicas inside the bounds") {
        const auto autoscale = [](std::string_view lines) {
            return errors_of(with_service_lines("[services.recommender.autoscale]\n" + std::string(lines)));
        };
        CHECK(autoscale("min = 1\nmax = 4\ntarget_inflight = 2\nscale_up_delay = \"2s\"\nscale_down_delay = "
                        "\"6s\"") == "no error");
        CHECK(autoscale("max = 4\ntarget_inflight = 0.5") == "no error");
        CHECK(autoscale("min = 2") == "stack.toml:5:1: missing required key 'max' in [services.recommender.autoscale]");
        CHECK(autoscale("min = 0\nmax = 4") ==
              "stack.toml:6:7: 'min' must be 1 to 1000 replicas, not 0 (scaling to zero is not supported: a request "
              "would wait for a replica to start)");
        CHECK(autoscale("min = 5\nmax = 4") ==
              "stack.toml:6:7: autoscale 'min' (5) is more than 'max' (4); min must be at most max");
        CHECK(autoscale("max = 4\ntarget_inflight = 0") ==
              "stack.toml:7:19: 'target_inflight' must be more than 0 and at most 100000, not 0 (requests in "
              "progress per replica to aim for, such as 2)");
        CHECK(autoscale("max = 4\nscale_up_delay = \"soon\"") ==
              "stack.toml:7:18: 'scale_up_delay' is not a duration: 'soon'; write a number and ms, s, m or h, such "
              "as \"2s\" or \"500ms\"");
        CHECK(autoscale("max = 4\nfloor = 1") ==
              "stack.toml:7:1: unknown key 'floor' in [services.recommender.autoscale]; allowed keys: min, max, "
              "target_inflight, scale_up_delay, scale_down_delay");
        CHECK(errors_of(with_service_lines("replicas = 6\n[services.recommender.autoscale]\nmax = 4")) ==
              "stack.toml:5:12: 'replicas' is 6, outside autoscale's [1, 4]; leave it out (a first `up` starts min "
              "replicas) or give a count from 1 to 4");
        CHECK(errors_of(with_service_lines("max_inflight = 2\n[services.recommender.autoscale]\nmax = 4\n"
                                           "target_inflight = 2")) ==
              "stack.toml:8:19: 'target_inflight' (2) must be below the service's 'max_inflight' (2): a replica "
              "never holds more than max_inflight, so the target would never be exceeded");
        CHECK(errors_of("name = \"movies\"\ntarget = \"swarm\"\n[services.recommender]\nimage = \"x\"\nport = "
                        "5000\n[services.recommender.autoscale]\nmax = 2\n[balancer]\nport = 8080\n") ==
              "stack.toml:6:1: [services.recommender.autoscale] needs target = \"engine\": on a swarm, scale with "
              "`mldeploy scale` (the swarm keeps the count)");
    }

    TEST_CASE("no services") {
        CHECK(errors_of("name = \"movies\"\n[balancer]\nport = 8080\n") ==
              "stack.toml: no services: add at least one [services.<name>] table");
        CHECK(errors_of("name = \"movies\"\n[services]\n[balancer]\nport = 8080\n") ==
              "stack.toml:2:1: no services: add at least one [services.<name>] table");
    }
}

TEST_SUITE("stack errors: variables and reporting") {
    TEST_CASE("an unset variable, with its position") {
        CHECK(errors_of(with_service_lines("env = { TOKEN = \"${HF_TOKEN}\" }")) ==
              "stack.toml:5:17: variable 'HF_TOKEN' is not set; set it or write ${HF_TOKEN:-default}");
        CHECK(errors_of(with_service_lines("command = [\"serve\", \"--model=$MODEL\"]")) ==
              "stack.toml:5:21: variable 'MODEL' is not set; set it or write ${MODEL:-default}");
    }

    TEST_CASE("a variable's value is validated like any value") {
        auto env = fake_env({{"PORT", "8080"}, {"STACK", "Bad Name"}});
        CHECK(errors_of("name = \"${STACK}\"\n" + with_service_lines("").substr(16), "stack.toml", env) ==
              "stack.toml:1:8: 'name' must be lowercase letters, digits, '-' and '_', start with a letter or digit "
              "and be at most 40 characters, not 'Bad Name'");
    }

    TEST_CASE("every problem is reported, in file order") {
        const std::string text =
            "name = \"Movies\"\n"              // 1
            "[services.recommender]\n"         // 2
            "image = \"x y\"\n"                // 3
            "port = 0\n"                       // 4
            "replica = 2\n"                    // 5
            "[services.recommender.health]\n"  // 6
            "path = \"healthz\"\n"             // 7
            "[balancer]\n"                     // 8
            "port = \"8080\"\n"                // 9
            "algorithm = \"fastest\"\n";       // 10
        try {
            load_stack_text(text, "stack.toml", fake_env({}));
            FAIL("no error");
        } catch (const StackError& e) {
            std::vector<int> lines;
            for (const auto& diagnostic : e.diagnostics()) lines.push_back(diagnostic.pos.line);
            CHECK(lines == std::vector<int>{1, 3, 4, 5, 7, 9, 10});
            CHECK(e.diagnostics()[3].to_string() ==
                  "stack.toml:5:1: unknown key 'replica' in [services.recommender]; did you mean 'replicas'?");
        }
    }

    TEST_CASE("diagnostics print with or without a position") {
        CHECK(Diagnostic{{"a.toml", 3, 7}, "bad"}.to_string() == "a.toml:3:7: bad");
        CHECK(Diagnostic{{"a.toml", 0, 0}, "bad"}.to_string() == "a.toml: bad");
    }
}
