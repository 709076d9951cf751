#include "engine/podman.hpp"

#include "engine/docker.hpp"  // docker_api_prefix, docker_label_filters: the compatible list
#include "engine/reply.hpp"
#include "engine/stream.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <ctime>
#include <deque>
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

std::string path_of(std::string_view resource, const std::string& name_or_id, std::string_view tail = {}) {
    return fmt::format("{}/{}/{}{}", api, resource, url_encode_path(name_or_id), tail);
}

// Sets restart_policy (and restart_tries) from "no", "always", "unless-stopped",
// "on-failure" or "on-failure:N"; false for anything else.
bool set_restart_policy(const std::string& policy, json& body) {
    if (policy.empty() || policy == "no") {
        return true;  // Podman's default: never restart
    }
    if (policy == "always" || policy == "unless-stopped" || policy == "on-failure") {
        body["restart_policy"] = policy;
        return true;
    }
    constexpr std::string_view on_failure = "on-failure:";
    if (!policy.starts_with(on_failure)) {
        return false;
    }
    const std::string_view count = std::string_view(policy).substr(on_failure.size());
    unsigned tries = 0;
    const auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), tries);
    if (count.empty() || ec != std::errc() || end != count.data() + count.size()) {
        return false;
    }
    body["restart_policy"] = "on-failure";
    body["restart_tries"] = tries;
    return true;
}

}  // namespace

nlohmann::json podman_create_body(const ContainerSpec& spec) {
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
    if (!set_restart_policy(spec.restart_policy, body)) {
        throw std::invalid_argument(
            fmt::format("container {}: restart policy '{}' is not one of no, on-failure[:N], always, unless-stopped",
                        spec.name, spec.restart_policy));
    }
    json resources = json::object();
    if (spec.cpus) {
        if (!(*spec.cpus > 0)) {
            throw std::invalid_argument(
                fmt::format("container {}: cpus must be above 0, not {}", spec.name, *spec.cpus));
        }
        const auto quota = static_cast<std::int64_t>(std::llround(*spec.cpus * static_cast<double>(cpu_period_us)));
        resources["cpu"] = json{{"quota", quota}, {"period", cpu_period_us}};
    }
    if (spec.memory_bytes) {
        if (*spec.memory_bytes <= 0) {
            throw std::invalid_argument(
                fmt::format("container {}: memory must be above 0, not {}", spec.name, *spec.memory_bytes));
        }
        resources["memory"] = json{{"limit", *spec.memory_bytes}};
    }
    if (!resources.empty()) {
        body["resource_limits"] = resources;
    }
    body["stop_timeout"] = spec.stop_timeout_s > 0 ? spec.stop_timeout_s : 0;
    // Always: Podman would otherwise raise both to the maximum, which fails where
    // the hard limits cannot be raised ("setrlimit RLIMIT_NOFILE: Operation not permitted").
    body["r_limits"] = json::array({json{{"type", "nofile"}, {"hard", 20000}, {"soft", 20000}},
                                    json{{"type", "nproc"}, {"hard", 20000}, {"soft", 20000}}});
    if (spec.gpus) {
        const std::string& gpus = *spec.gpus;
        json devices = json::array();
        if (gpus == "all") {
            devices.push_back(json{{"path", "nvidia.com/gpu=all"}});
        } else {
            int count = -1;
            const auto [end, ec] = std::from_chars(gpus.data(), gpus.data() + gpus.size(), count);
            if (ec != std::errc() || end != gpus.data() + gpus.size() || count < 0) {
                throw std::invalid_argument(
                    fmt::format("container {}: gpus must be \"all\" or a count, not \"{}\"", spec.name, gpus));
            }
            for (int i = 0; i < count; ++i) {
                devices.push_back(json{{"path", fmt::format("nvidia.com/gpu={}", i)}});
            }
        }
        if (!devices.empty()) {
            body["devices"] = devices;
        }
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

std::string engine_error_message(std::string_view body) {
    std::string message;
    const json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_discarded() && parsed.is_object()) {
        message = get_string(parsed, "message");
        if (message.empty()) {
            message = get_string(parsed, "cause");
        }
    }
    if (message.empty()) {
        message = std::string(body);
    }
    while (!message.empty() && std::isspace(static_cast<unsigned char>(message.back()))) {
        message.pop_back();
    }
    return message;
}

PodmanEngine::PodmanEngine(std::string socket_path) : http_(std::move(socket_path)) {}

void PodmanEngine::fail(const std::string& step, const HttpResponse& response) const {
    if (response.transport_error) {
        const TransportError& e = *response.transport_error;
        if (e.curl_code == CURLE_ABORTED_BY_CALLBACK) {
            throw EngineError(step, 0, "interrupted");
        }
        if (e.curl_code == CURLE_COULDNT_CONNECT) {
            throw EngineError(step, 0,
                              fmt::format("cannot connect to Podman at {} ({}); is `podman system service` running?",
                                          http_.socket_path(), e.message));
        }
        throw EngineError(step, 0, fmt::format("talking to Podman at {}: {}", http_.socket_path(), e.message));
    }
    throw EngineError(step, response.status, engine_error_message(response.body));
}

json PodmanEngine::call(const std::string& step, std::string_view method, const std::string& path,
                        std::string_view body, std::string_view content_type, std::initializer_list<int> also_fine,
                        std::chrono::seconds timeout) {
    const HttpResponse response = http_.request(method, path, body, content_type, timeout);
    const bool fine = response.ok() || (!response.transport_error && std::find(also_fine.begin(), also_fine.end(),
                                                                               response.status) != also_fine.end());
    if (!fine) {
        fail(step, response);
    }
    return parse_or_null(response.body);
}

EngineInfo PodmanEngine::info() {
    EngineInfo info;
    info.flavour = "podman";
    info.socket = http_.socket_path();
    // /_ping answers in milliseconds and names the versions in its headers
    // ("Server: Libpod/4.3.1 (linux)", "Libpod-Api-Version: 4.3.1"); /version
    // takes over a second (it runs conmon and the OCI runtime to ask theirs).
    const std::string step = "ask the engine for its version";
    const HttpResponse ping = http_.request("GET", std::string(api) + "/_ping");
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

std::string PodmanEngine::build_image(const BuildRequest& request, const ProgressSink& progress) {
    const std::string step = "build " + request.tag;
    Query query;
    query.add("t", request.tag);
    if (!request.dockerfile.empty()) {
        query.add("dockerfile", request.dockerfile);
    }
    if (!request.args.empty()) {
        query.add("buildargs", json(request.args).dump());
    }
    if (!request.labels.empty()) {
        query.add("labels", json(request.labels).dump());  // a JSON object of strings
    }
    query.add("rm", true);
    // An unchanged context must give the same image id, or every `up` would
    // roll the replicas. Podman 4.3's libpod /build reuses no cached layer in
    // its default OCI format (every step re-runs, a new id each time); in the
    // Docker format, with layers, it does (seen here; podman#12378).
    query.add("layers", true);
    query.add("outputformat", "application/vnd.docker.distribution.manifest.v2+json");

    ProgressReader reader(progress);
    const HttpResponse response =
        http_.stream("POST", std::string(api) + "/build" + query.str(), request.context_tar, "application/x-tar",
                     [&reader](std::string_view chunk) { reader.feed(chunk); });
    reader.finish();
    if (!response.ok()) {
        if (response.transport_error) {
            fail(step, response);
        }
        throw EngineError(step, response.status, with_tail(engine_error_message(response.body), reader.tail()));
    }
    if (!reader.error().empty()) {
        // Podman answers 200 and reports a failed build inside the stream.
        throw EngineError(step, response.status, with_tail(reader.error(), reader.tail()));
    }
    if (!reader.aux_id().empty()) {
        return reader.aux_id();
    }
    // The libpod flavour of /build sends no "aux" ID: ask for the tag instead.
    if (auto id = image_id(request.tag)) {
        return *id;
    }
    throw EngineError(step, response.status,
                      with_tail("the build ended without an error, but the image is not there", reader.tail()));
}

std::optional<ImageDetails> PodmanEngine::inspect_image(const std::string& reference) {
    const std::string step = "inspect image " + reference;
    const HttpResponse response = http_.request("GET", path_of("images", reference, "/json"));
    if (!response.transport_error && response.status == 404) {
        return std::nullopt;
    }
    if (!response.ok()) {
        fail(step, response);
    }
    const json image = parse_or_null(response.body);
    ImageDetails details;
    details.id = get_string(image, "Id");
    if (details.id.empty()) {
        throw EngineError(step, response.status, "the engine's answer has no image Id");
    }
    // The labels as the image's config holds them (libpod repeats them at the top).
    details.labels = get_labels(get_object(image, "Config"), "Labels");
    return details;
}

void PodmanEngine::pull_image(const std::string& reference, const ProgressSink& progress) {
    const std::string step = "pull " + reference;
    Query query;
    query.add("reference", reference).add("policy", "missing");
    ProgressReader reader(progress);
    const HttpResponse response = http_.stream("POST", std::string(api) + "/images/pull" + query.str(), {}, {},
                                               [&reader](std::string_view chunk) { reader.feed(chunk); });
    reader.finish();
    if (!response.ok()) {
        fail(step, response);
    }
    if (!reader.error().empty()) {
        throw EngineError(step, response.status, reader.error());
    }
}

std::vector<NetworkSummary> PodmanEngine::list_networks(const Labels& label_filter) {
    std::string path = std::string(api) + "/networks/json";
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
    call("create network " + name, "POST", std::string(api) + "/networks/create", body.dump(), "application/json");
}

void PodmanEngine::remove_network(const std::string& name) {
    const std::string step = "remove network " + name;
    const json reports = call(step, "DELETE", path_of("networks", name, "?force=true"), {}, {}, {404});
    if (reports.is_array()) {
        for (const auto& report : reports) {
            if (const std::string err = get_string(report, "Err"); !err.empty()) {
                throw EngineError(step, 200, err);
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
    const json list = call("list containers", "GET", std::string(api) + "/containers/json" + query.str());
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

std::vector<ListedContainer> PodmanEngine::list_containers_with_addresses(const Labels& label_filter) {
    Query query;
    query.add("all", true);
    if (const std::string filters = docker_label_filters(label_filter); !filters.empty()) {
        query.add("filters", filters);
    }
    // Podman answers it as Docker does (names "/name", ports as Docker lists them),
    // in about 1 ms per container more than its own list.
    return parse_docker_container_list(
        call("list containers", "GET", std::string(docker_api_prefix) + "/containers/json" + query.str()));
}

std::string PodmanEngine::create_container(const ContainerSpec& spec) {
    const std::string step = "create container " + spec.name;
    json body;
    try {
        body = podman_create_body(spec);
    } catch (const std::invalid_argument& e) {
        throw EngineError(step, 0, e.what());
    }
    json created;
    try {
        created = call(step, "POST", std::string(api) + "/containers/create", body.dump(), "application/json");
    } catch (const EngineError& e) {
        // Podman 4.3 answers a name already in use with 500 ("... that name is already
        // in use"); Docker, and Podman's own rename, with 409. Callers see 409.
        if (e.http_status() == 500 && e.engine_message().find("is already in use") != std::string::npos) {
            throw EngineError(step, 409, e.engine_message());
        }
        throw;
    }
    if (const auto warnings = created.find("Warnings"); warnings != created.end() && warnings->is_array()) {
        for (const auto& w : *warnings) {
            if (w.is_string()) {
                engine_warning(w.get<std::string>());
            }
        }
    }
    std::string id = get_string(created, "Id");
    if (id.empty()) {
        throw EngineError(step, 201, "the engine's answer has no container Id");
    }
    return id;
}

void PodmanEngine::start_container(const std::string& id) {
    call("start container " + id, "POST", path_of("containers", id, "/start"), {}, {}, {304});
}

void PodmanEngine::stop_container(const std::string& id, int timeout_s) {
    const int timeout = std::max(0, timeout_s);
    call("stop container " + id, "POST", path_of("containers", id, "/stop") + Query().add("timeout", timeout).str(), {},
         {}, {304}, std::max(UnixHttpClient::default_timeout, std::chrono::seconds(timeout + 30)));
}

void PodmanEngine::remove_container(const std::string& id) {
    const std::string step = "remove container " + id;
    // Forced removal stops a running container first, with its own stop timeout.
    const json reports =
        call(step, "DELETE", path_of("containers", id, "?force=true&v=true"), {}, {}, {404}, std::chrono::seconds(300));
    if (reports.is_array()) {
        for (const auto& report : reports) {
            if (const std::string err = get_string(report, "Err"); !err.empty()) {
                throw EngineError(step, 200, err);
            }
        }
    }
}

void PodmanEngine::rename_container(const std::string& id, const std::string& new_name) {
    call(fmt::format("rename container {} to {}", id, new_name), "POST",
         path_of("containers", id, "/rename") + Query().add("name", new_name).str());
}

ContainerDetails PodmanEngine::inspect_container(const std::string& id) {
    const json c = call("inspect container " + id, "GET", path_of("containers", id, "/json"));
    ContainerDetails details;
    details.id = get_string(c, "Id");
    details.name = get_string(c, "Name");
    const json& state = get_object(c, "State");
    details.state = get_string(state, "Status");
    details.running = get_bool(state, "Running");
    details.exit_code = get_int<int>(state, "ExitCode");
    details.restart_count = get_int<int>(c, "RestartCount");
    details.image_id = get_string(c, "Image");
    details.labels = get_labels(get_object(c, "Config"), "Labels");
    for (const auto& [network, settings] : get_object(get_object(c, "NetworkSettings"), "Networks").items()) {
        details.ip_by_network[network] = get_string(settings, "IPAddress");
    }
    return details;
}

void PodmanEngine::put_archive(const std::string& id, const std::string& dir, const std::string& tar) {
    // Seen on Podman 4.3.1: works on a created, never started container too (the
    // files are there when it starts), and a missing `dir` is created (200), on
    // created and running containers alike.
    call(fmt::format("copy files into container {} at {}", id, dir), "PUT",
         path_of("containers", id, "/archive") + Query().add("path", dir).str(), tar, "application/x-tar");
}

std::string PodmanEngine::get_archive(const std::string& id, const std::string& path) {
    const std::string step = fmt::format("copy {} out of container {}", path, id);
    const HttpResponse response =
        http_.request("GET", path_of("containers", id, "/archive") + Query().add("path", path).str());
    if (!response.ok()) {
        fail(step, response);
    }
    return response.body;
}

ExecResult PodmanEngine::exec(const std::string& id, const std::vector<std::string>& command) {
    std::string what;
    for (const auto& word : command) {
        what += what.empty() ? word : " " + word;
    }
    const std::string step = fmt::format("run `{}` in container {}", what, id);
    const json create = {
        {"AttachStdout", true}, {"AttachStderr", true}, {"AttachStdin", false}, {"Tty", false}, {"Cmd", command}};
    const json created = call(step, "POST", path_of("containers", id, "/exec"), create.dump(), "application/json");
    const std::string exec_id = get_string(created, "Id");
    if (exec_id.empty()) {
        throw EngineError(step, 201, "the engine's answer has no exec Id");
    }

    // Not a TTY: the output comes multiplexed, in 8-byte-header frames.
    ExecResult result;
    FrameDecoder frames([&result](LogStream, std::string_view payload) { result.output.append(payload); });
    const json start = {{"Detach", false}, {"Tty", false}};
    const HttpResponse response =
        http_.stream("POST", path_of("exec", exec_id, "/start"), start.dump(), "application/json",
                     [&frames](std::string_view chunk) { frames.feed(chunk); });
    if (!response.ok()) {
        fail(step, response);
    }

    // The session has normally ended once its output has; allow a moment if not.
    for (int attempt = 0;; ++attempt) {
        const json inspect = call(step, "GET", path_of("exec", exec_id, "/json"));
        if (!get_bool(inspect, "Running") || attempt >= 50) {
            result.exit_code = get_int<int>(inspect, "ExitCode");
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return result;
}

void PodmanEngine::logs(const std::string& id, const LogOptions& options, const LogSink& sink) {
    const std::string step = "read the logs of container " + id;
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
    LogLineDecoder decoder(sink);
    const HttpResponse response = http_.stream("GET", path_of("containers", id, "/logs") + query.str(), {}, {},
                                               [&decoder](std::string_view chunk) { decoder.feed(chunk); });
    decoder.finish();
    if (!response.ok()) {
        fail(step, response);
    }
}

}  // namespace mldeploy::engine
