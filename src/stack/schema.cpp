#include "stack/schema.hpp"

#include "stack/keys.hpp"
#include "stack/rules.hpp"

#include <fmt/format.h>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace mldeploy::stack {
namespace {

using nlohmann::json;

// String values are interpolated before they are checked, so a value holding
// '$' (${VAR}, $VAR, $$) may be anything once expanded: every pattern lets it by.
std::string or_interpolated(const std::string& pattern) { return "^(?:" + pattern + "|.*\\$.*)$"; }
const std::string interpolated = ".*\\$.*";

json text(const std::string& description) { return {{"type", "string"}, {"description", description}}; }

json patterned(const std::string& pattern, const std::string& description) {
    return {{"type", "string"}, {"pattern", or_interpolated(pattern)}, {"description", description}};
}

json one_of(const std::vector<std::string>& values, const std::string& description) {
    // The enum for completion; the pattern for a value that is a ${VAR}.
    return {{"type", "string"},
            {"anyOf", json::array({{{"enum", values}}, {{"pattern", "^" + interpolated + "$"}}})},
            {"description", description}};
}

// An integer, or a quoted variable ("${PORT}") that gives one. The bounds apply to
// integers only and the pattern to strings only.
json integer(long long minimum, long long maximum, const std::string& description) {
    return {{"type", json::array({"integer", "string"})},
            {"minimum", minimum},
            {"maximum", maximum},
            {"pattern", "^" + interpolated + "$"},
            {"description", description}};
}

// An object with exactly the keys in `allowed` (the loader's list); `properties`
// must describe each of them, no more, no less, or this is a bug caught by the tests.
json table(const std::vector<std::string>& allowed, std::map<std::string, json> properties,
           const std::vector<std::string>& required, const std::string& description) {
    json props = json::object();
    for (const auto& key : allowed) {
        auto found = properties.find(key);
        if (found == properties.end()) throw std::logic_error("schema: no description of key '" + key + "'");
        props[key] = std::move(found->second);
        properties.erase(found);
    }
    if (!properties.empty())
        throw std::logic_error("schema: key '" + properties.begin()->first + "' is not one the loader accepts");
    json schema{{"type", "object"},
                {"description", description},
                {"properties", std::move(props)},
                {"additionalProperties", false}};
    if (!required.empty()) schema["required"] = required;
    return schema;
}

const std::string name_pattern = fmt::format("[a-z0-9][a-z0-9_-]{{0,{}}}", detail::max_name_length - 1);
const std::string network_pattern = fmt::format("[a-z0-9][a-z0-9_.-]{{0,{}}}", detail::max_name_length - 1);
const std::string variable_pattern = "^[A-Za-z_][A-Za-z0-9_]*$";
const std::string image_part = "[A-Za-z0-9][A-Za-z0-9._:@-]*";
const std::string image_pattern = image_part + "(?:/" + image_part + ")*";
const std::string url_path_pattern = "/[A-Za-z0-9/._~!&()*+,=:@%-]*";
const std::string duration_pattern = "[0-9]+(?:\\.[0-9]+)?(?:ms|s|m|h)";
const std::string size_pattern = "[0-9]+(?:\\.[0-9]+)?[kKmMgG]?";
const std::string ipv4_octet = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
const std::string ip_pattern = "(?:" + ipv4_octet + "(?:\\." + ipv4_octet + "){3}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)";

std::string volume_pattern() {
    std::string option = "(?:";
    for (std::size_t i = 0; i < keys::volume_options.size(); ++i)
        option += (i == 0 ? "" : "|") + keys::volume_options[i];
    option += ")";
    return "(?:[./][^:]*|[A-Za-z0-9][A-Za-z0-9_.-]*):/[^:]*(?::" + option + "(?:," + option + ")*)?";
}

json duration(const std::string& description) {
    return patterned(duration_pattern, description + R"( A number and ms, s, m or h, such as "2s" or "500ms".)");
}

json size(const std::string& description) {
    return patterned(size_pattern,
                     description + R"( Bytes, or a number and k, m or g (powers of 1024), such as "512m".)");
}

json variables(const std::string& description) {
    return {{"type", "object"},
            {"description", description},
            {"propertyNames", {{"pattern", variable_pattern}}},
            {"additionalProperties", {{"type", json::array({"string", "number", "boolean"})}}}};
}

json build_schema() {
    json as_table = table(keys::build,
                          {{"context", text("The build context: a folder, relative to the stack file.")},
                           {"dockerfile", text("The Containerfile or Dockerfile, relative to the context "
                                               "(default: Containerfile, then Dockerfile).")},
                           {"args", variables("Build arguments (ARG), NAME = value.")}},
                          {"context"}, "The build: its context, dockerfile and build arguments.");
    return {{"description",
             "The build context (a folder, relative to the stack file), or a table with context, "
             "dockerfile and args."},
            {"anyOf", json::array({{{"type", "string"}}, std::move(as_table)})}};
}

json health_schema() {
    return table(keys::health,
                 {{"path", patterned(url_path_pattern, "HTTP GET on the replica's port must answer 2xx.")},
                  {"interval", duration("Time between probes (at least 1ms).")},
                  {"timeout", duration("Longest a probe may take (at least 1ms).")},
                  {"retries", integer(keys::min_retries, keys::max_retries, "Failed probes before unhealthy.")},
                  {"start_period", duration("Time a replica gets to start before failures count.")}},
                 {}, "How a replica is probed; it takes traffic only once healthy.");
}

json resources_schema() {
    return table(keys::resources,
                 {{"cpus",
                   {{"type", "number"},
                    {"exclusiveMinimum", 0},
                    {"maximum", keys::max_cpus},
                    {"description", "CPUs per replica."}}},
                  {"memory", size("Memory per replica (at least 6m).")},
                  {"gpus",
                   {{"description", "GPUs per replica: a count, or \"all\"."},
                    {"anyOf", json::array({{{"type", "integer"}, {"minimum", 0}},
                                           {{"type", "string"}, {"enum", json::array({"all"})}}})}}},
                  {"share_gpus",
                   {{"type", "boolean"},
                    {"description",
                     "Let replicas share GPUs (round robin) when the host has fewer than gpus x replicas; "
                     "default false: that is an error."}}}},
                 {}, "Limits per replica.");
}

json autoscale_schema() {
    return table(
        keys::autoscale,
        {{"min", integer(1, keys::max_replicas, "Fewest replicas (default 1; no scale to zero).")},
         {"max", integer(1, keys::max_replicas, "Most replicas (at least min).")},
         {"target_inflight",
          {{"type", "number"},
           {"exclusiveMinimum", 0},
           {"maximum", keys::max_inflight},
           {"description", "Requests in progress per replica to aim for (default 2); below max_inflight."}}},
         {"scale_up_delay", duration("Demand above target this long before replicas are added (default 10s).")},
         {"scale_down_delay", duration("Demand below target this long before replicas are removed (default 120s).")}},
        {"max"},
        "Replicas between min and max so that requests in flight per replica stay near target_inflight; run by "
        "the stack's controller.");
}

json rollout_schema() {
    return table(
        keys::rollout,
        {{"strategy", one_of(keys::rollout_strategies,
                             "rolling (default): one replica at a time, health-gated; canary: the new version "
                             "beside the old, judged step by step from what the balancer measured.")},
         {"steps",
          {{"type", "array"},
           {"items", {{"type", "integer"}, {"minimum", 1}, {"maximum", 100}}},
           {"minItems", 1},
           {"description",
            "canary: rising percents of the service's traffic on the new version, the last 100 "
            "(default [10, 50, 100])."}}},
         {"pause", duration("canary: time at each step while the new version is watched (default 30s; at least 1s).")},
         {"max_error_rate",
          {{"anyOf", json::array({{{"type", "string"}, {"pattern", "^[0-9]+(\\.[0-9]+)?%$"}},
                                  {{"type", "number"}, {"minimum", 0}, {"maximum", 1}}})},
           {"description", "canary: the new version's share of 5xx answers at most, \"1%\" (default) or a fraction."}}},
         {"max_p95", duration("canary: the new version's p95 latency at most (default: not judged).")},
         {"min_requests", integer(1, keys::max_min_requests,
                                  "canary: answers the new version must give in a step before it is judged (default "
                                  "20).")}},
        {}, "How `up` replaces the replicas of a changed service: rolling (default) or canary.");
}

json command_schema() {
    return {
        {"type", "array"}, {"items", {{"type", "string"}}}, {"description", "The command, one string per argument."}};
}

json env_schema() {
    return variables("Environment variables, NAME = value; values may use ${VAR} and ${VAR:-default}.");
}

json volumes_schema() {
    return {{"type", "array"},
            {"items", patterned(volume_pattern(),
                                "\"source:target[:options]\": a host path starting with '.' or '/' "
                                "(relative to the stack file) or a volume name; options ro, rw, z, Z.")},
            {"description", "Volumes to mount."}};
}

json job_schema() {
    json job =
        table(keys::job,
              {{"build", build_schema()},
               {"image", patterned(image_pattern, "The tag to build, or the image to run when there is no build.")},
               {"command", command_schema()},
               {"env", env_schema()},
               {"volumes", volumes_schema()},
               {"resources", resources_schema()},
               {"timeout", duration("Past it the job is stopped and `mldeploy run` exits 124 (default: none).")}},
              {}, "A run-to-completion job (`mldeploy run NAME`): its image or build, command and settings.");
    job["anyOf"] = json::array({{{"required", json::array({"image"})}}, {{"required", json::array({"build"})}}});
    return job;
}

json service_schema() {
    json service =
        table(keys::service,
              {{"build", build_schema()},
               {"image", patterned(image_pattern, "The tag to build, or the image to run when there is no build.")},
               {"port", integer(1, 65535, "The port the model listens on inside its container.")},
               {"replicas", integer(0, keys::max_replicas, "How many replicas (default 1; 0 runs none).")},
               {"command", command_schema()},
               {"env", env_schema()},
               {"volumes", volumes_schema()},
               {"restart", one_of(keys::restart_policies, "The engine's restart policy.")},
               {"health", health_schema()},
               {"resources", resources_schema()},
               {"drain", duration("How long a leaving replica's requests in flight may take to end (scale-in, rolling "
                                  "update); default: the balancer's timeout.")},
               {"max_inflight", integer(1, keys::max_inflight,
                                        "Requests in progress on one replica at most; past it on every replica the "
                                        "balancer answers 503 with Retry-After at once (default: no bound).")},
               {"autoscale", autoscale_schema()},
               {"rollout", rollout_schema()}},
              {"port"}, "A model service: its image or build, port, replicas and settings.");
    // Without a build, the image to run is needed.
    service["anyOf"] = json::array({{{"required", json::array({"image"})}}, {{"required", json::array({"build"})}}});
    return service;
}

json balancer_schema() {
    json backend = table(keys::backend,
                         {{"service", {{"type", "string"}, {"description", "A service of this stack."}}},
                          {"weight", integer(0, 100, "Its share of the route's requests, in percent.")}},
                         {"service", "weight"}, "A backend service and its weight.");
    json route = table(
        keys::route,
        {{"path", patterned(url_path_pattern, "The path prefix routed to the service.")},
         {"service", {{"type", "string"}, {"description", "A service of this stack."}}},
         {"strip_prefix",
          {{"type", "boolean"},
           {"description",
            "Send the path to the service without the prefix: /v1/predict as "
            "/predict (default false)."}}},
         {"backends",
          {{"type", "array"},
           {"minItems", 1},
           {"items", std::move(backend)},
           {"description",
            "A weighted split between services (versions of a model), instead of 'service': "
            "weights are percents summing to 100."}}},
         {"sticky", patterned("(?:header:[A-Za-z0-9-]{1,64}|cookie:[A-Za-z0-9_]{1,64})",
                              "One value of this request header or cookie always reaches the same "
                              "backend service: \"header:NAME\" or \"cookie:NAME\".")},
         {"mirror",
          {{"type", "string"},
           {"description",
            "Shadow traffic: a copy of the route's requests goes to this service (not one of the "
            "route's own); its answers are discarded and never slow the client."}}},
         {"mirror_percent", integer(0, 100, "The share of requests copied to 'mirror', in percent (default 100).")}},
        {"path"}, "A path prefix and the service (or weighted services) it goes to.");
    route["oneOf"] = json::array({{{"required", json::array({"service"})}}, {{"required", json::array({"backends"})}}});
    route["dependencies"] = {{"mirror_percent", json::array({"mirror"})}};  // draft-07's spelling
    return table(keys::balancer,
                 {{"image", patterned(image_pattern, "The balancer's image (default docker.io/library/nginx:stable).")},
                  {"port", integer(1, 65535, "The host port the balancer publishes.")},
                  {"host_ip", patterned(ip_pattern, "The host address to publish on (default 0.0.0.0).")},
                  {"algorithm", one_of(keys::algorithms, "How requests are spread (default round_robin).")},
                  {"max_body", size("The largest request body (default 100m).")},
                  {"timeout", duration("Longest a replica may take to answer (at least 1s; default 300s).")},
                  {"routes",
                   {{"type", "array"},
                    {"items", std::move(route)},
                    {"description", "Which path goes to which service; optional with one service."}}}},
                 {"port"}, "The nginx balancer in front of the replicas.");
}

}  // namespace

json stack_schema() {
    json schema = table(
        keys::top_level,
        {{"name", patterned(name_pattern, "The stack's name: lowercase letters, digits, '-' and '_', at most 40.")},
         {"target", one_of(keys::targets,
                           "Where the stack runs: engine (default; containers on one engine) or swarm (services "
                           "on a Docker Swarm; the socket is a manager's).")},
         {"network",
          table(keys::network, {{"name", patterned(network_pattern, "The network's name (default <name>_net).")}}, {},
                "The stack's network.")},
         {"services",
          {{"type", "object"},
           {"description", "One table per model service, [services.<name>]."},
           {"minProperties", 1},
           {"propertyNames", {{"pattern", "^" + name_pattern + "$"}}},
           {"additionalProperties", service_schema()}}},
         {"balancer", balancer_schema()},
         {"metrics",
          table(keys::metrics,
                {{"port", integer(1, 65535, "The host port serving Prometheus text at /metrics.")},
                 {"host_ip", patterned(ip_pattern, "The host address to serve it on (default 127.0.0.1).")}},
                {"port"}, "Per-replica measurements of the balancer, served by the stack's controller container.")},
         {"jobs",
          {{"type", "object"},
           {"description", "One table per job, [jobs.<name>]; names must differ from the services'."},
           {"propertyNames", {{"pattern", "^" + name_pattern + "$"}}},
           {"additionalProperties", job_schema()}}}},
        {"name", "services", "balancer"}, "An mldeploy stack file.");
    json root{{"$schema", "http://json-schema.org/draft-07/schema#"}, {"title", "mldeploy stack file"}};
    root.update(schema);
    return root;
}

}  // namespace mldeploy::stack
