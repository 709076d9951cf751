#include "engine/podman.hpp"

#include "engine/reply.hpp"
#include "util/image_ref.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>
#include <stdexcept>
#include <thread>

namespace mldeploy::engine {

using nlohmann::json;
using namespace reply;

namespace {

constexpr const char* api = "/v4.0.0/libpod";
constexpr std::int64_t cpu_period_us = 100000;

// "?filters=..." for Podman: {"label": ["k=v", ...]}; "" without labels.
std::string label_filters(const Labels& labels) {
    if (labels.empty()) {
        return {};
    }
    json values = json::array();
    for (const auto& [k, v] : labels) {
        values.push_back(k + "=" + v);
    }
    return json{{"label", values}}.dump();
}

}  // namespace

nlohmann::json podman_create_body(const ContainerSpec& spec) {
    const CheckedSpec checked = check_spec(spec);
    json body = json::object();
    body["name"] = spec.name;
    body["image"] = spec.image;
    if (!spec.labels.empty()) {
        body["labels"] = spec.labels;
    }
    if (!spec.env.empty()) {
        body["env"] = spec.env;
    }
    if (!spec.command.empty()) {
        body["command"] = spec.command;
    }
    body["netns"] = json{{"nsmode", "bridge"}};
    if (!spec.network.empty()) {
        json options = json::object();
        if (!spec.network_aliases.empty()) {
            options["aliases"] = spec.network_aliases;
        }
        json networks = json::object();
        networks[spec.network] = options;
        body["Networks"] = networks;
    }
    if (!spec.ports.empty()) {
        json ports = json::array();
        for (const auto& p : spec.ports) {
            // netavark 1.4 takes "0.0.0.0" literally (a DNAT rule for destination
            // 0.0.0.0/32 that matches nothing); all addresses is an empty host_ip.
            ports.push_back(json{{"host_ip", p.host_ip == "0.0.0.0" ? std::string() : p.host_ip},
                                 {"host_port", p.host_port},
                                 {"container_port", p.container_port},
                                 {"protocol", p.protocol.empty() ? "tcp" : p.protocol}});
        }
        body["portmappings"] = ports;
    }
    json mounts = json::array();
    json volumes = json::array();
    for (const auto& m : spec.mounts) {
        if (m.is_bind) {
            mounts.push_back(
                json{{"type", "bind"}, {"source", m.source}, {"destination", m.target}, {"options", m.options}});
        } else {
            volumes.push_back(json{{"Name", m.source}, {"Dest", m.target}, {"Options", m.options}});
        }
    }
    if (!mounts.empty()) {
        body["mounts"] = mounts;
    }
    if (!volumes.empty()) {
        body["volumes"] = volumes;
    }
    if (checked.restart_policy != "no") {  // "no" is Podman's default
        body["restart_policy"] = checked.restart_policy;
        if (checked.restart_tries) {
            body["restart_tries"] = *checked.restart_tries;
        }
    }
    json resources = json::object();
    if (spec.cpus) {
        const auto quota = static_cast<std::int64_t>(std::llround(*spec.cpus * static_cast<double>(cpu_period_us)));
        resources["cpu"] = json{{"quota", quota}, {"period", cpu_period_us}};
    }
    if (spec.memory_bytes) {
        resources["memory"] = json{{"limit", *spec.memory_bytes}};
    }
    if (!resources.empty()) {
        body["resource_limits"] = resources;
    }
    body["stop_timeout"] = spec.stop_timeout_s > 0 ? spec.stop_timeout_s : 0;
    if (checked.stop_signal) {
        body["stop_signal"] = *checked.stop_signal;
    }
    // Always: Podman would otherwise raise both to the maximum, which fails where
    // the hard limits cannot be raised ("setrlimit RLIMIT_NOFILE: Operation not permitted").
    body["r_limits"] = json::array({json{{"type", "nofile"}, {"hard", 20000}, {"soft", 20000}},
                                    json{{"type", "nproc"}, {"hard", 20000}, {"soft", 20000}}});
    if (checked.gpu_count) {
        if (*checked.gpu_count < 0) {
            body["devices"].push_back(json{{"path", "nvidia.com/gpu=all"}});
        }
        for (int i = 0; i < *checked.gpu_count; ++i) {
            body["devices"].push_back(json{{"path", fmt::format("nvidia.com/gpu={}", i)}});
        }
    }
    for (const auto& device : spec.devices) {
        body["devices"].push_back(json{{"path", device}});  // a CDI name or a host path, as `--device`
    }
    return body;
}

std::string human_duration(std::int64_t seconds) {
    if (seconds < 1) {
        return "Less than a second";
    }
    if (seconds == 1) {
        return "1 second";
    }
    if (seconds < 60) {
        return fmt::format("{} seconds", seconds);
    }
    const std::int64_t minutes = seconds / 60;
    if (minutes == 1) {
        return "About a minute";
    }
    if (minutes < 60) {
        return fmt::format("{} minutes", minutes);
    }
    const std::int64_t hours = minutes / 60;
    if (hours == 1) {
        return "About an hour";
    }
    if (hours < 48) {
        return fmt::format("{} hours", hours);
    }
    if (hours < 24 * 7 * 2) {
        return fmt::format("{} days", hours / 24);
    }
    if (hours < 24 * 30 * 2) {
        return fmt::format("{} weeks", hours / 24 / 7);
    }
    if (hours < 24 * 365 * 2) {
        return fmt::format("{} months", hours / 24 / 30);
    }
    return fmt::format("{} years", hours / 24 / 365);
}

std::string container_status_text(const std::string& state, int exit_code, std::int64_t started_at,
                                  std::int64_t exited_at, std::int64_t now) {
    if (state == "running" || state == "paused") {
        std::string text = started_at > 0 ? "Up " + human_duration(now - started_at) : "Up";
        return state == "paused" ? text + " (Paused)" : text;
    }
    if (state == "exited" || state == "stopped") {
        std::string text = fmt::format("Exited ({})", exit_code);
        return exited_at > 0 ? text + " " + human_duration(now - exited_at) + " ago" : text;
    }
    if (state == "created" || state == "configured") {
        return "Created";
    }
    if (state.empty()) {
        return "Unknown";
    }
    std::string text = state;
    text[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
    return text;
}

ErrorKind podman_error_kind(int http_status, std::string_view engine_message) {
    if (http_status == 500) {
        // Podman 4.3 answers a name in use with 500 ("... that name is already in
        // use"), where Docker and Podman's own rename say 409.
        if (engine_message.find("is already in use") != std::string_view::npos) {
            return ErrorKind::conflict;
        }
        // A container removed while the call ran comes back as an internal error
        // whose cause is libpod's ErrNoSuchCtr.
        if (engine_message.find("no such container") != std::string_view::npos) {
            return ErrorKind::not_found;
        }
    }
    return error_kind_for_status(http_status);
}

PodmanEngine::PodmanEngine(std::string socket_path)
    : RestEngine(std::move(socket_path), Flavour{"Podman", api, "is `podman system service` running?", "timeout"}) {}

EngineInfo PodmanEngine::info() {
    EngineInfo info;
    info.flavour = "podman";
    info.socket = http().socket_path();
    // /_ping answers in milliseconds and names the versions in its headers
    // ("Server: Libpod/4.3.1 (linux)", "Libpod-Api-Version: 4.3.1"); /version
    // takes over a second (it runs conmon and the OCI runtime to ask theirs).
    const std::string step = "ask the engine for its version";
    const HttpResponse ping = http().request("GET", std::string(api) + "/_ping");
    if (!ping.ok()) {
        fail(step, ping);
    }
    info.api_version = ping.header("libpod-api-version");
    if (info.api_version.empty()) {
        throw EngineError(step, ping.status,
                          "the socket answers, but not as Podman does (no Libpod-Api-Version header)");
    }
    if (const std::string server = ping.header("server"); server.starts_with("Libpod/")) {
        const std::string rest = server.substr(7);  // "4.3.1 (linux)"
        info.version = rest.substr(0, rest.find(' '));
    }
    if (!info.version.empty()) {
        return info;
    }
    const json version = call(step, "GET", std::string(api) + "/version");
    info.version = get_string(version, "Version");
    if (const auto it = version.find("Components"); it != version.end() && it->is_array()) {
        for (const auto& component : *it) {
            if (get_string(component, "Name") == "Podman Engine") {
                info.version = get_string(component, "Version");
            }
        }
    }
    return info;
}

std::vector<NetworkSummary> PodmanEngine::list_networks(const Labels& label_filter) {
    std::string path = api_path("/networks/json");
    if (const std::string filters = label_filters(label_filter); !filters.empty()) {
        path += Query().add("filters", filters).str();
    }
    const json list = call("list networks", "GET", path);
    std::vector<NetworkSummary> networks;
    if (list.is_array()) {
        for (const auto& n : list) {
            networks.push_back({get_string(n, "name"), get_string(n, "id"), get_labels(n, "labels")});
        }
    }
    return networks;
}

void PodmanEngine::create_network(const std::string& name, const Labels& labels) {
    json body = {{"name", name}, {"driver", "bridge"}, {"dns_enabled", true}};
    if (!labels.empty()) {
        body["labels"] = labels;
    }
    call("create network " + name, "POST", api_path("/networks/create"), body.dump(), "application/json");
}

void PodmanEngine::remove_network(const std::string& name) {
    const std::string step = "remove network " + name;
    const json reports = call(step, "DELETE", path_of("networks", name, "?force=true"), {}, {}, {404});
    if (reports.is_array()) {
        for (const auto& report : reports) {
            if (const std::string err = get_string(report, "Err"); !err.empty()) {
                fail_engine(step, 200, err);
            }
        }
    }
}

std::vector<ContainerSummary> PodmanEngine::list_containers(const Labels& label_filter) {
    Query query;
    query.add("all", true);
    if (const std::string filters = label_filters(label_filter); !filters.empty()) {
        query.add("filters", filters);
    }
    const json list = call("list containers", "GET", api_path("/containers/json") + query.str());
    std::vector<ContainerSummary> containers;
    const std::int64_t now = std::time(nullptr);
    if (!list.is_array()) {
        return containers;
    }
    for (const auto& c : list) {
        ContainerSummary summary;
        summary.id = get_string(c, "Id");
        if (const auto names = c.find("Names");
            names != c.end() && names->is_array() && !names->empty() && (*names)[0].is_string()) {
            summary.name = (*names)[0].get<std::string>();
        }
        summary.image = get_string(c, "Image");
        summary.state = get_string(c, "State");
        summary.status = get_string(c, "Status");
        if (summary.status.empty()) {
            summary.status =
                container_status_text(summary.state, get_int<int>(c, "ExitCode"), get_int<std::int64_t>(c, "StartedAt"),
                                      get_int<std::int64_t>(c, "ExitedAt"), now);
        }
        summary.labels = get_labels(c, "Labels");
        if (const auto ports = c.find("Ports"); ports != c.end() && ports->is_array()) {
            for (const auto& p : *ports) {
                const int range = std::max(1, get_int<int>(p, "range"));
                for (int i = 0; i < range; ++i) {
                    PortBinding binding;
                    binding.host_ip = get_string(p, "host_ip");
                    binding.host_port = get_int<int>(p, "host_port") + i;
                    binding.container_port = get_int<int>(p, "container_port") + i;
                    binding.protocol = get_string(p, "protocol");
                    if (binding.protocol.empty()) {
                        binding.protocol = "tcp";
                    }
                    summary.ports.push_back(binding);
                }
            }
        }
        containers.push_back(std::move(summary));
    }
    return containers;
}

void PodmanEngine::remove_container(const std::string& id) {
    const std::string step = "remove container " + id;
    // Forced removal stops a running container first, with its own stop timeout.
    const json reports =
        call(step, "DELETE", path_of("containers", id, "?force=true&v=true"), {}, {}, {404}, std::chrono::seconds(300));
    if (reports.is_array()) {
        for (const auto& report : reports) {
            if (const std::string err = get_string(report, "Err"); !err.empty()) {
                fail_engine(step, 200, err);
            }
        }
    }
}

HttpResponse PodmanEngine::send_create(const ContainerSpec&, const std::string& body) {
    return http().request("POST", api_path("/containers/create"), body, "application/json");
}

void PodmanEngine::add_build_options(Query& query) const {
    query.add("rm", true);
    // An unchanged context must give the same image id, or every `up` would
    // roll the replicas. Podman 4.3's libpod /build reuses no cached layer in
    // its default OCI format (every step re-runs, a new id each time); in the
    // Docker format, with layers, it does (seen here; podman#12378).
    query.add("layers", true);
    query.add("outputformat", "application/vnd.docker.distribution.manifest.v2+json");
}

namespace {
// Podman insists on HTTPS unless told; a registry on this host speaks plain HTTP.
bool plain_http_registry(const std::string& reference) {
    const auto registry = util::registry_of(reference);
    return registry && util::is_loopback_registry(*registry);
}
}  // namespace

std::string PodmanEngine::pull_path(const std::string& reference) const {
    Query query;
    query.add("reference", reference).add("policy", "missing");
    if (plain_http_registry(reference)) query.add("tlsVerify", false);
    return api_path("/images/pull") + query.str();
}

std::string PodmanEngine::push_path(const std::string& reference) const {
    Query query;
    query.add("destination", reference).add("quiet", false);
    if (plain_http_registry(reference)) query.add("tlsVerify", false);
    return path_of("images", reference, "/push") + query.str();
}

Query PodmanEngine::logs_query(const LogOptions& options) const {
    Query query;
    query.add("stdout", true).add("stderr", true).add("follow", options.follow);
    if (options.tail) {
        query.add("tail", *options.tail);
    }
    if (options.since) {
        query.add("since", std::string_view(std::to_string(*options.since)));
    }
    if (options.timestamps) {
        query.add("timestamps", true);
    }
    return query;
}

void PodmanEngine::logs(const std::string& id, const LogOptions& options, const LogSink& sink) {
    if (options.follow) {
        RestEngine::logs(id, options, sink);
        return;
    }
    // Podman 4.3 sometimes answers a container's log request with nothing
    // although lines were written: ask again before believing it.
    constexpr int extra_attempts = 3;
    bool any_line = false;
    const LogSink counting = [&](LogStream stream, std::string_view line) {
        any_line = true;
        if (sink) {
            sink(stream, line);
        }
    };
    for (int attempt = 0;; ++attempt) {
        RestEngine::logs(id, options, counting);
        if (any_line || attempt == extra_attempts) {
            return;
        }
        std::this_thread::sleep_for(empty_logs_retry_delay);
    }
}

}  // namespace mldeploy::engine
