#include "render/export_compose.hpp"

#include "render/nginx.hpp"
#include "stack/serialize.hpp"
#include "util/units.hpp"

#include <fmt/format.h>

namespace mldeploy::render {
namespace {

namespace fs = std::filesystem;

// Docker's embedded DNS server, inside every container on a user network.
constexpr const char* kDockerResolver = "127.0.0.11";
constexpr const char* kConfigVariable = "MLDEPLOY_NGINX_CONF";

// A host path as Compose reads it: relative to the compose file's folder,
// starting with "." or "/" so that it is not taken for a named volume.
std::string path_for_compose(const fs::path& path, const fs::path& output_dir) {
    auto relative = path.lexically_normal().lexically_relative(output_dir.lexically_normal());
    if (relative.empty()) return path.string();
    const auto text = relative.string();
    if (text == "." || text == ".." || text.starts_with("../")) return text;
    return "./" + text;
}

// Compose replaces ${VAR} and $VAR in every value; mldeploy already did.
void escape_dollars(Doc& value) {
    if (value.is_string()) {
        std::string out;
        for (char ch : value.get_ref<const std::string&>()) {
            if (ch == '$') out += '$';
            out += ch;
        }
        value = out;
    } else if (value.is_structured()) {
        for (auto& item : value) escape_dollars(item);
    }
}

Doc healthcheck(int port, const std::string& path, const stack::Health& h) {
    return {{"test", Doc::array({"CMD-SHELL", health_command(port, path)})},
            {"interval", util::format_duration(h.interval)},
            {"timeout", util::format_duration(h.timeout)},
            {"retries", h.retries},
            {"start_period", util::format_duration(h.start_period)}};
}

// What a model service and a job have alike: build, image, command, env, volumes.
Doc container_of(const std::string& who, const std::optional<stack::Build>& build, const std::string& image,
                 const std::vector<std::string>& command, const std::map<std::string, std::string>& env,
                 const std::vector<stack::Volume>& volumes, const ComposeOptions& options,
                 std::vector<std::string>& warnings) {
    Doc out = Doc::object();
    if (build) {
        Doc b = {{"context", path_for_compose(build->context, options.output_dir)}};
        if (!build->dockerfile.empty()) b["dockerfile"] = build->dockerfile;
        if (!build->args.empty()) b["args"] = build->args;
        out["build"] = b;
    }
    out["image"] = image;
    if (!command.empty()) out["command"] = command;
    if (!env.empty()) out["environment"] = env;
    for (const auto& [key, value] : env)
        if (stack::looks_secret(key) || stack::value_looks_secret(value))
            warnings.push_back(
                fmt::format("{}: env {} looks secret and is written into the compose file; "
                            "keep the file private, or move the value to a .env file beside it",
                            who, key));
    if (!volumes.empty()) {
        Doc list = Doc::array();
        for (const auto& v : volumes) {
            const auto source = v.is_bind ? path_for_compose(v.source, options.output_dir) : v.source;
            list.push_back(source + ":" + v.target + (v.options.empty() ? "" : ":" + v.options));
        }
        out["volumes"] = list;
    }
    return out;
}

// deploy.resources: limits, and GPUs as device reservations.
Doc resources_of(const stack::Resources& r) {
    Doc limits = Doc::object();
    if (r.cpus) limits["cpus"] = fmt::format("{}", *r.cpus);
    if (r.memory_bytes) limits["memory"] = util::format_size(*r.memory_bytes);
    Doc resources = Doc::object();
    if (!limits.empty()) resources["limits"] = limits;
    if (r.gpus) {
        Doc device = {{"driver", "nvidia"}, {"capabilities", Doc::array({"gpu"})}};
        if (*r.gpus == "all")
            device["count"] = "all";
        else
            device["count"] = std::stoll(*r.gpus);
        resources["reservations"] = {{"devices", Doc::array({device})}};
    }
    return resources;
}

Doc model_service(const stack::Stack& stack, const stack::Service& s, const ComposeOptions& options,
                  std::vector<std::string>& warnings) {
    Doc out = container_of("service " + s.name, s.build, s.image, s.command, s.env, s.volumes, options, warnings);
    out["restart"] = s.restart;
    out["expose"] = Doc::array({std::to_string(s.port)});
    out["stop_grace_period"] = util::format_duration(stack.drain_of(s));
    if (s.health) out["healthcheck"] = healthcheck(s.port, s.health->path, *s.health);
    Doc deploy = {{"replicas", s.replicas}};
    if (auto resources = resources_of(s.resources); !resources.empty()) deploy["resources"] = resources;
    out["deploy"] = deploy;
    return out;
}

// A job runs once, by hand: in the "jobs" profile, so `up` leaves it alone and
// `docker-compose run --rm NAME` runs it.
Doc job_service(const stack::Job& j, const ComposeOptions& options, std::vector<std::string>& warnings) {
    Doc out = container_of("job " + j.name, j.build, j.image, j.command, j.env, j.volumes, options, warnings);
    out["profiles"] = Doc::array({"jobs"});
    out["restart"] = "no";
    if (auto resources = resources_of(j.resources); !resources.empty()) out["deploy"] = {{"resources", resources}};
    if (j.timeout)
        warnings.push_back(
            fmt::format("job {}: timeout does not carry over; Compose runs a job until it ends", j.name));
    return out;
}

Doc balancer_service(const stack::Stack& stack) {
    // Each route's service by its compose name: Docker's DNS answers it with
    // every replica's address, asked again every 5 s (nginx's `resolver`).
    ResolvedNames names{kDockerResolver, {}};
    for (const auto& s : stack.services)
        if (s.replicas > 0) names.targets[s.name] = fmt::format("{}:{}", s.name, s.port);
    const auto config = render_nginx_config_resolved(stack, names);

    Doc out = {
        {"image", stack.balancer.image},
        // The config travels in the environment, as mldeploy hands its
        // balancer its first config: the compose file is all there is.
        {"command", Doc::array({"sh", "-c",
                                fmt::format("mkdir -p {0} && printf '%s' \"${1}\" >{2} && unset {1} && exec "
                                            "nginx -c {2} -g 'daemon off;'",
                                            kBalancerConfigDir, kConfigVariable, kBalancerConfigPath)})},
        {"environment", {{kConfigVariable, config}}},
        {"ports",
         Doc::array({fmt::format("{}:{}:{}", stack.balancer.host_ip, stack.balancer.port, kBalancerListenPort)})},
        {"restart", "always"},
        {"stop_grace_period", util::format_duration(stack.balancer.timeout)},
        {"healthcheck", healthcheck(kBalancerListenPort, "/_mldeploy/health", stack::Health{})}};
    Doc depends = Doc::object();
    for (const auto& s : stack.services)
        if (s.replicas > 0) depends[s.name] = {{"condition", s.health ? "service_healthy" : "service_started"}};
    if (!depends.empty()) out["depends_on"] = depends;
    return out;
}

}  // namespace

std::string compose_balancer_name(const stack::Stack& stack) {
    return stack.find_service("balancer") == nullptr ? "balancer" : "mldeploy-balancer";
}

std::string health_command(int port, const std::string& path) {
    const auto url = fmt::format("http://127.0.0.1:{}{}", port, path);
    return fmt::format(
        "if command -v curl >/dev/null 2>&1; then curl -fsS -o /dev/null {0}; "
        "elif command -v wget >/dev/null 2>&1; then wget -q -O /dev/null {0}; "
        "elif command -v bash >/dev/null 2>&1; then bash -c 'exec 3<>/dev/tcp/127.0.0.1/{1} && "
        "printf \"GET {2} HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n\" >&3 && read -r _ code _ <&3 && "
        "[ \"${{code#2}}\" != \"$code\" ]'; "
        "else python3 -c \"import urllib.request as u; u.urlopen('{0}')\"; fi",
        url, port, path);
}

ComposeExport export_compose(const stack::Stack& stack, const ComposeOptions& options) {
    ComposeExport out;
    Doc services = Doc::object();
    Doc volumes = Doc::object();
    for (const auto& s : stack.services) {
        services[s.name] = model_service(stack, s, options, out.warnings);
        for (const auto& v : s.volumes)
            if (!v.is_bind) volumes[v.source] = {{"name", v.source}};  // the engine's volume, as mldeploy uses it
    }
    for (const auto& j : stack.jobs) {
        services[j.name] = job_service(j, options, out.warnings);
        for (const auto& v : j.volumes)
            if (!v.is_bind) volumes[v.source] = {{"name", v.source}};
    }
    services[compose_balancer_name(stack)] = balancer_service(stack);
    if (stack.balancer.algorithm != "round_robin")
        out.warnings.push_back(
            fmt::format("balancer: algorithm = \"{}\" does not carry over; nginx takes the "
                        "replicas' addresses in the order Docker's DNS answers them",
                        stack.balancer.algorithm));
    out.document = {{"services", services}};
    if (!volumes.empty()) out.document["volumes"] = volumes;
    escape_dollars(out.document);
    return out;
}

}  // namespace mldeploy::render
