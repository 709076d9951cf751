// The JSON Schema (`mldeploy schema`) and the loader agree: every table of the
// schema has exactly the keys the loader accepts there, and every key the schema
// names is one the loader does not call unknown (and an invented one, it does).
#include "stack/keys.hpp"
#include "stack/load.hpp"
#include "stack/schema.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>
#include <toml++/toml.h>

#include <map>
#include <set>
#include <sstream>

using namespace mldeploy::stack;
using nlohmann::json;

namespace {

// Every object schema with "properties", by where it is in a stack file:
// "services.*" for any service, "balancer.routes[]" for any route.
void walk(const json& schema, const std::string& path, std::map<std::string, std::set<std::string>>& tables) {
    if (!schema.is_object()) return;
    if (schema.contains("properties")) {
        CHECK_MESSAGE(schema.value("additionalProperties", true) == false, path, " allows other keys");
        auto& keys = tables[path];
        for (const auto& [key, sub] : schema["properties"].items()) {
            keys.insert(key);
            walk(sub, path.empty() ? key : path + "." + key, tables);
        }
    }
    if (schema.contains("additionalProperties") && schema["additionalProperties"].is_object())
        walk(schema["additionalProperties"], path + ".*", tables);
    if (schema.contains("items")) walk(schema["items"], path + "[]", tables);
    if (schema.contains("anyOf"))
        for (const auto& branch : schema["anyOf"]) walk(branch, path, tables);
}

std::set<std::string> set_of(const std::vector<std::string>& keys) { return {keys.begin(), keys.end()}; }

const std::map<std::string, std::vector<std::string>> loader_tables{
    {"", keys::top_level},
    {"network", keys::network},
    {"services.*", keys::service},
    {"services.*.build", keys::build},
    {"services.*.health", keys::health},
    {"services.*.resources", keys::resources},
    {"services.*.autoscale", keys::autoscale},
    {"services.*.rollout", keys::rollout},
    {"balancer", keys::balancer},
    {"balancer.routes[]", keys::route},
    {"balancer.routes[].backends[]", keys::backend},
    {"jobs.*", keys::job},
    {"jobs.*.build", keys::build},
    {"jobs.*.resources", keys::resources},
    {"metrics", keys::metrics},
};

// A stack with every table present, so that each can take an extra key.
const char* every_table = R"(name = "schema-test"
[network]
name = "schema-test-net"
[services.m]
image = "localhost/m:1"
port = 5000
[services.m.build]
context = "."
[services.m.health]
path = "/healthz"
[services.m.resources]
cpus = 1
[services.m.autoscale]
max = 2
[services.m.rollout]
strategy = "rolling"
[balancer]
port = 18200
[[balancer.routes]]
path = "/"
service = "m"
[[balancer.routes]]
path = "/w"
backends = [{ service = "m", weight = 100 }]
[jobs.j]
image = "localhost/j:1"
[jobs.j.build]
context = "."
[jobs.j.resources]
cpus = 1
[metrics]
port = 18201
)";

toml::table* table_at(toml::table& root, const std::string& path) {
    if (path.empty()) return &root;
    if (path == "network" || path == "balancer" || path == "metrics") return root[path].as_table();
    if (path == "balancer.routes[]") return root["balancer"]["routes"][0].as_table();
    if (path == "balancer.routes[].backends[]") return root["balancer"]["routes"][1]["backends"][0].as_table();
    if (path == "services.*") return root["services"]["m"].as_table();
    if (path == "jobs.*") return root["jobs"]["j"].as_table();
    if (path.starts_with("jobs.*.")) return root["jobs"]["j"][path.substr(std::string("jobs.*.").size())].as_table();
    const std::string sub = path.substr(std::string("services.*.").size());
    return root["services"]["m"][sub].as_table();
}

// The loader's messages for the stack with `key` = true added at `path`.
std::string errors_with(const mldeploy::test::TempDir& dir, const std::string& path, const std::string& key) {
    toml::table root = toml::parse(every_table);
    toml::table* table = table_at(root, path);
    REQUIRE(table != nullptr);
    if (!table->contains(key)) table->insert(key, true);
    std::ostringstream text;
    text << root;
    try {
        load_stack_text(text.str(), dir.path() / "stack.toml",
                        [](const std::string&) -> std::optional<std::string> { return std::nullopt; });
    } catch (const StackError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("the schema is draft-07 and names every table the loader reads, with exactly its keys") {
    const json schema = stack_schema();
    CHECK(schema["$schema"] == "http://json-schema.org/draft-07/schema#");
    std::map<std::string, std::set<std::string>> tables;
    walk(schema, "", tables);
    std::set<std::string> paths;
    for (const auto& [path, _] : tables) paths.insert(path);
    std::set<std::string> expected_paths;
    for (const auto& [path, _] : loader_tables) expected_paths.insert(path);
    CHECK(paths == expected_paths);
    for (const auto& [path, keys] : loader_tables) CHECK_MESSAGE(tables[path] == set_of(keys), "at '", path, "'");
    CHECK(schema["required"] == json::array({"name", "services", "balancer"}));
}

TEST_CASE("the loader accepts every key the schema names, and refuses one it does not") {
    mldeploy::test::TempDir dir;
    dir.write("Containerfile", "FROM scratch\n");
    CHECK(errors_with(dir, "", "name") == "");  // the stack with every table is valid
    std::map<std::string, std::set<std::string>> tables;
    walk(stack_schema(), "", tables);
    for (const auto& [path, keys] : tables) {
        for (const auto& key : keys) {
            const auto errors = errors_with(dir, path, key);
            CHECK_MESSAGE(errors.find("unknown key '" + key + "'") == std::string::npos, path, ".", key, ": ", errors);
        }
        const auto errors = errors_with(dir, path, "zz_not_a_key");
        CHECK_MESSAGE(errors.find("unknown key 'zz_not_a_key'") != std::string::npos, path, ": ", errors);
    }
}

TEST_CASE("keys the contract fixed are in the schema once the loader reads them") {
    std::map<std::string, std::set<std::string>> tables;
    walk(stack_schema(), "", tables);
    CHECK(tables["services.*"].count("rollout") == 1);
    for (const char* now : {"mirror", "mirror_percent"}) CHECK(tables["balancer.routes[]"].count(now) == 1);
}

TEST_CASE("the schema's closed sets and ranges are the loader's") {
    const json schema = stack_schema();
    const json& service = schema["properties"]["services"]["additionalProperties"];
    CHECK(service["properties"]["restart"]["anyOf"][0]["enum"] == json(keys::restart_policies));
    CHECK(service["properties"]["replicas"]["maximum"] == keys::max_replicas);
    CHECK(service["properties"]["port"]["minimum"] == 1);
    CHECK(service["properties"]["port"]["maximum"] == 65535);
    CHECK(service["required"] == json::array({"port"}));
    const json& balancer = schema["properties"]["balancer"];
    CHECK(balancer["properties"]["algorithm"]["anyOf"][0]["enum"] == json(keys::algorithms));
    CHECK(balancer["required"] == json::array({"port"}));
    // A route names its service, or its weighted backends: one of the two.
    const json& route = balancer["properties"]["routes"]["items"];
    CHECK(route["required"] == json::array({"path"}));
    CHECK(route["oneOf"] == json::parse(R"([{"required": ["service"]}, {"required": ["backends"]}])"));
}
