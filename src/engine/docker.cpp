#include "engine/docker.hpp"

#include "engine/reply.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <thread>

namespace mldeploy::engine {

using nlohmann::json;
using namespace reply;

namespace {

constexpr int ulimit_value = 20000;
constexpr std::string_view nvidia_gpu_prefix = "nvidia.com/gpu=";

std::string join(const std::vector<std::string>& words, std::string_view separator) {
    std::string out;
    for (const auto& w : words) {
        if (!out.empty()) {
            out += separator;
        }
        out += w;
    }
    return out;
}

// A device request for NVIDIA GPUs, by "Count" (-1 = all) or by "DeviceIDs".
json nvidia_request(const char* key, json value) {
    return json{{"Driver", "nvidia"}, {key, std::move(value)}, {"Capabilities", json::array({json::array({"gpu"})})}};
}

// A GPU index ("0", "12"): digits only.
bool is_index(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

nlohmann::json docker_create_body(const ContainerSpec& spec) {
    const CheckedSpec checked = check_spec(spec);
    json body = json::object();
    body["Image"] = spec.image;
    body["Labels"] = spec.labels;  // an object, also when empty
    if (!spec.env.empty()) {
        json env = json::array();
        for (const auto& [k, v] : spec.env) {
            env.push_back(k + "=" + v);
        }
        body["Env"] = env;
    }
    if (!spec.command.empty()) {
        body["Cmd"] = spec.command;
    }
    body["StopTimeout"] = spec.stop_timeout_s > 0 ? spec.stop_timeout_s : 0;
    if (spec.stop_signal) {
        body["StopSignal"] = *spec.stop_signal;  // Docker takes names and numbers alike
    }

    json host = json::object();
    if (!spec.ports.empty()) {
        json exposed = json::object();
        json bindings = json::object();
        for (const auto& p : spec.ports) {
            const std::string key = fmt::format("{}/{}", p.container_port, p.protocol.empty() ? "tcp" : p.protocol);
            exposed[key] = json::object();
            bindings[key].push_back(json{{"HostIp", p.host_ip == "0.0.0.0" ? std::string() : p.host_ip},
                                         {"HostPort", p.host_port > 0 ? std::to_string(p.host_port) : std::string()}});
        }
        body["ExposedPorts"] = exposed;
        host["PortBindings"] = bindings;
    }
    if (!spec.mounts.empty()) {
        // "source:target[:options]": a host path (bind) or a volume's name, as `docker run -v`.
        json binds = json::array();
        for (const auto& m : spec.mounts) {
            std::string bind = m.source + ":" + m.target;
            if (!m.options.empty()) {
                bind += ":" + join(m.options, ",");
            }
            binds.push_back(bind);
        }
        host["Binds"] = binds;
    }
    host["RestartPolicy"] =
        json{{"Name", checked.restart_policy}, {"MaximumRetryCount", checked.restart_tries.value_or(0)}};
    if (spec.cpus) {
        host["NanoCpus"] = static_cast<std::int64_t>(std::llround(*spec.cpus * 1e9));
    }
    if (spec.memory_bytes) {
        host["Memory"] = *spec.memory_bytes;
    }
    // Always: where the hard limits cannot be raised, inheriting or raising them fails.
    host["Ulimits"] = json::array({json{{"Name", "nofile"}, {"Soft", ulimit_value}, {"Hard", ulimit_value}},
                                   json{{"Name", "nproc"}, {"Soft", ulimit_value}, {"Hard", ulimit_value}}});
    if (checked.gpu_count && *checked.gpu_count != 0) {  // a count of 0 asks for none
        host["DeviceRequests"].push_back(nvidia_request("Count", *checked.gpu_count));
    }
    // Docker 20.10 has no CDI: NVIDIA GPUs by index become one device request
    // (honoured with NVIDIA's runtime hook), host paths plain devices.
    json gpu_ids = json::array();
    for (const auto& device : spec.devices) {
        const std::string_view name = device;
        if (name.starts_with(nvidia_gpu_prefix) && name.substr(nvidia_gpu_prefix.size()) == "all") {
            host["DeviceRequests"].push_back(nvidia_request("Count", -1));
        } else if (name.starts_with(nvidia_gpu_prefix) && is_index(name.substr(nvidia_gpu_prefix.size()))) {
            gpu_ids.push_back(std::string(name.substr(nvidia_gpu_prefix.size())));
        } else if (name.starts_with('/')) {
            host["Devices"].push_back(
                json{{"PathOnHost", device}, {"PathInContainer", device}, {"CgroupPermissions", "rwm"}});
        } else {
            throw std::invalid_argument(fmt::format(
                "container {}: device '{}': Docker has no CDI; it takes nvidia.com/gpu=N, nvidia.com/gpu=all "
                "or a host path such as /dev/fuse",
                spec.name, device));
        }
    }
    if (!gpu_ids.empty()) {
        host["DeviceRequests"].push_back(nvidia_request("DeviceIDs", gpu_ids));
    }
    if (!spec.network.empty()) {
        host["NetworkMode"] = spec.network;
        json endpoint = json::object();
        if (!spec.network_aliases.empty()) {
            endpoint["Aliases"] = spec.network_aliases;
        }
        json endpoints = json::object();
        endpoints[spec.network] = endpoint;
        body["NetworkingConfig"] = json{{"EndpointsConfig", endpoints}};
    }
    body["HostConfig"] = host;
    return body;
}

std::pair<std::string, std::string> docker_split_reference(std::string_view reference) {
    if (const auto at = reference.find('@'); at != std::string_view::npos) {
        return {std::string(reference.substr(0, at)), std::string(reference.substr(at + 1))};
    }
    const auto slash = reference.rfind('/');
    const auto colon = reference.rfind(':');
    if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
        return {std::string(reference.substr(0, colon)), std::string(reference.substr(colon + 1))};
    }
    return {std::string(reference), "latest"};
}

std::string docker_time_key(std::string_view timestamp) {
    // "2026-11-22T17:55:01.12345Z" / "...01+00:00": the part up to the seconds,
    // then the fraction as 9 digits (Go drops trailing zeros), then the zone.
    const auto t = timestamp.find('T');
    if (t == std::string_view::npos) {
        return std::string(timestamp);
    }
    const auto zone = std::min(timestamp.find_first_of("Z+-", t), timestamp.size());
    const auto dot = std::min(timestamp.find('.', t), zone);
    std::string fraction(timestamp.substr(std::min(dot + 1, zone), zone - std::min(dot + 1, zone)));
    fraction.resize(9, '0');
    return std::string(timestamp.substr(0, dot)) + "." + fraction + std::string(timestamp.substr(zone));
}

DockerEngine::DockerEngine(std::string socket_path)
    : RestEngine(std::move(socket_path), Flavour{"Docker", docker_api_prefix, "is dockerd running?", "t"}) {}

EngineInfo DockerEngine::info() {
    EngineInfo info;
    info.flavour = "docker";
    info.socket = http().socket_path();
    const std::string step = "ask the engine for its version";
    const HttpResponse ping = http().request("GET", api_path("/_ping"));
    if (!ping.ok()) {
        fail(step, ping);
    }
    if (const std::string libpod = ping.header("libpod-api-version"); !libpod.empty()) {
        fail_engine(step, ping.status,
                    fmt::format("the socket answers as Podman {} does, not as Docker (its Docker-compatible "
                                "API is not what mldeploy's Docker flavour supports; use the Podman flavour)",
                                libpod));
    }
    const json version = call(step, "GET", api_path("/version"));
    info.version = get_string(version, "Version");
    info.api_version = get_string(version, "ApiVersion");
    if (info.api_version.empty()) {
        info.api_version = ping.header("api-version");
    }
    if (info.version.empty()) {
        fail_engine(step, 200, "the socket answers, but its /version names no Docker Engine version");
    }
    return info;
}

std::vector<NetworkSummary> DockerEngine::list_networks(const Labels& label_filter) {
    std::string path = api_path("/networks");
    if (const std::string filters = docker_label_filters(label_filter); !filters.empty()) {
        path += Query().add("filters", filters).str();
    }
    const json list = call("list networks", "GET", path);
    std::vector<NetworkSummary> networks;
    if (list.is_array()) {
        for (const auto& n : list) {
            networks.push_back({get_string(n, "Name"), get_string(n, "Id"), get_labels(n, "Labels")});
        }
    }
    return networks;
}

std::vector<DockerEngine::NamedNetwork> DockerEngine::networks_named(const std::string& step, const std::string& name) {
    // The "name" filter matches substrings: keep the exact ones.
    const json filters = {{"name", json::array({name})}};
    const json list = call(step, "GET", api_path("/networks") + Query().add("filters", filters.dump()).str());
    std::vector<NamedNetwork> out;
    if (list.is_array()) {
        for (const auto& n : list) {
            if (get_string(n, "Name") == name) {
                out.push_back({get_string(n, "Id"), get_string(n, "Created")});
            }
        }
    }
    return out;
}

void DockerEngine::create_network(const std::string& name, const Labels& labels) {
    const std::string step = "create network " + name;
    // Docker's user-defined bridge networks resolve container names and aliases.
    const json body = {{"Name", name}, {"Driver", "bridge"}, {"CheckDuplicate", true}, {"Labels", labels}};
    const json created = call(step, "POST", api_path("/networks/create"), body.dump(), "application/json");
    if (const std::string warning = get_string(created, "Warning"); !warning.empty()) {
        spdlog::warn("{}: {}", step, warning);
    }
    // CheckDuplicate is not atomic: clients creating the same name at the same
    // moment each get 201 and a network of their own (seen on 20.10: four at
    // once made four "x" networks, and then `x` is ambiguous). The oldest one
    // stays; a newer one is removed again and reported as a conflict (409),
    // as if the create had lost the race in the engine.
    const std::string id = get_string(created, "Id");
    const auto same = networks_named(step, name);
    if (id.empty() || same.size() < 2) {
        return;
    }
    const auto oldest = std::min_element(same.begin(), same.end(), [](const NamedNetwork& a, const NamedNetwork& b) {
        const auto ka = docker_time_key(a.created);
        const auto kb = docker_time_key(b.created);
        return ka != kb ? ka < kb : a.id < b.id;
    });
    if (oldest->id == id) {
        return;
    }
    spdlog::debug("{}: made at the same time as {}; removing ours ({})", step, oldest->id, id);
    call(step, "DELETE", path_of("networks", id), {}, {}, {404});
    throw EngineError(step, ErrorKind::conflict, 409,
                      fmt::format("network with name {} already exists (made meanwhile by another client)", name));
}

void DockerEngine::remove_network(const std::string& name) {
    const std::string step = "remove network " + name;
    const HttpResponse response = http().request("DELETE", path_of("networks", name));
    if (response.ok() || (!response.transport_error && response.status == 404)) {
        return;
    }
    // Several networks of that name (see create_network): remove each by id.
    if (response.transport_error || engine_error_message(response.body).find("is ambiguous") == std::string::npos) {
        fail(step, response);
    }
    for (const auto& n : networks_named(step, name)) {
        call(step, "DELETE", path_of("networks", n.id), {}, {}, {404});
    }
}

std::vector<ContainerSummary> DockerEngine::list_containers(const Labels& label_filter) {
    std::vector<ContainerSummary> containers;
    for (auto& listed : list_containers_with_addresses(label_filter)) {
        containers.push_back(std::move(listed.summary));
    }
    return containers;
}

HttpResponse DockerEngine::send_create(const ContainerSpec& spec, const std::string& text) {
    // 409 when the name is in use; 404 "No such image" when the image is missing.
    const std::string path = api_path("/containers/create") + Query().add("name", spec.name).str();
    HttpResponse response = http().request("POST", path, text, "application/json");
    // Docker reserves a name before the container it names can be inspected: a
    // client that loses a race for the name gets 409 while GET /containers/{name}
    // still says 404 (seen with two `up` at once). Report the conflict only once
    // the other container is there (callers then inspect it by name); if the
    // name is freed instead (the other create failed), create again.
    for (int attempt = 0; !response.transport_error && response.status == 409 && attempt < 50; ++attempt) {
        const HttpResponse other = http().request("GET", path_of("containers", spec.name, "/json"));
        if (other.transport_error || other.status != 404) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        response = http().request("POST", path, text, "application/json");
    }
    return response;
}

void DockerEngine::remove_container(const std::string& id) {
    const std::string step = "remove container " + id;
    // Forced removal kills a running container (no stop timeout on Docker).
    const HttpResponse response =
        http().request("DELETE", path_of("containers", id, "?force=1&v=1"), {}, {}, std::chrono::seconds(300));
    if (response.ok() || (!response.transport_error && response.status == 404)) {
        return;
    }
    if (!response.transport_error && response.status == 409 &&
        engine_error_message(response.body).find("already in progress") != std::string::npos) {
        // Another client is removing it: wait until it is gone.
        for (int attempt = 0; attempt < 100; ++attempt) {
            const HttpResponse probe = http().request("GET", path_of("containers", id, "/json"));
            if (!probe.transport_error && probe.status == 404) {
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    fail(step, response);
}

void DockerEngine::put_archive(const std::string& id, const std::string& dir, const std::string& tar) {
    put_archive_at(fmt::format("copy files into container {} at {}", id, dir), id, dir, tar, 0);
}

void DockerEngine::put_archive_at(const std::string& step, const std::string& id, const std::string& dir,
                                  const std::string& tar, int depth) {
    std::string target = dir;
    while (target.size() > 1 && target.back() == '/') {
        target.pop_back();
    }
    const HttpResponse response = http().request(
        "PUT", path_of("containers", id, "/archive") + Query().add("path", target).str(), tar, "application/x-tar");
    if (response.ok()) {
        return;
    }
    // Docker extracts only into a folder that exists (404 "Could not find the file
    // /etc/mldeploy in container ..."); Podman makes it. Make it here: put to the
    // parent, with the folder's name in front of every entry.
    const bool missing_folder = !response.transport_error && response.status == 404 && target != "/" &&
                                target.starts_with('/') && depth < 32 &&
                                engine_error_message(response.body).find("No such container") == std::string::npos;
    if (!missing_folder) {
        fail(step, response);
    }
    const auto slash = target.rfind('/');
    const std::string parent = slash == 0 ? "/" : target.substr(0, slash);
    const std::string folder = target.substr(slash + 1);
    spdlog::debug("{}: no folder {} yet; putting it into {}", step, target, parent);
    std::string prefixed;
    try {
        prefixed = docker_prefix_tar(tar, folder);
    } catch (const std::runtime_error& e) {
        fail_engine(step, response.status, e.what());
    }
    put_archive_at(step, id, parent, prefixed, depth + 1);
}

void DockerEngine::add_build_options(Query& query) const {
    // Intermediate containers go, also those of a failed step.
    query.add("rm", "1").add("forcerm", "1");
}

std::string DockerEngine::pull_path(const std::string& reference) const {
    const auto [image, tag] = docker_split_reference(reference);
    return api_path("/images/create") + Query().add("fromImage", image).add("tag", tag).str();
}

std::string DockerEngine::push_path(const std::string& reference) const {
    // Docker pushes loopback registries (127.0.0.0/8) over plain HTTP by itself.
    const auto [image, tag] = docker_split_reference(reference);
    return path_of("images", image, "/push") + Query().add("tag", tag).str();
}

Query DockerEngine::logs_query(const LogOptions& options) const {
    Query query;
    query.add("stdout", "1").add("stderr", "1").add("follow", options.follow ? "1" : "0");
    query.add("tail", options.tail ? std::to_string(*options.tail) : std::string("all"));
    if (options.since) {
        query.add("since", std::string_view(std::to_string(*options.since)));
    }
    if (options.timestamps) {
        query.add("timestamps", "1");
    }
    return query;
}

}  // namespace mldeploy::engine
