#include "engine/docker.hpp"

#include "engine/podman.hpp"  // engine_error_message: the same JSON {"message": ...} errors
#include "engine/reply.hpp"
#include "engine/stream.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <ctime>
#include <deque>
#include <memory>
#include <stdexcept>
#include <thread>

namespace mldeploy::engine {

using nlohmann::json;
using namespace reply;

namespace {

constexpr int ulimit_value = 20000;

// Docker names containers "/name" in its lists and inspections.
std::string without_slash(std::string name) {
    if (!name.empty() && name.front() == '/') {
        name.erase(0, 1);
    }
    return name;
}

std::string path_of(std::string_view resource, const std::string& name_or_id, std::string_view tail = {}) {
    return fmt::format("{}/{}/{}{}", docker_api_prefix, resource, url_encode_path(name_or_id), tail);
}

std::string api_path(std::string_view tail) { return std::string(docker_api_prefix) + std::string(tail); }

// HostConfig.RestartPolicy from "no", "always", "unless-stopped", "on-failure" or
// "on-failure:N"; nullopt for anything else.
std::optional<json> restart_policy(const std::string& policy) {
    if (policy.empty() || policy == "no") {
        return json{{"Name", "no"}, {"MaximumRetryCount", 0}};
    }
    if (policy == "always" || policy == "unless-stopped" || policy == "on-failure") {
        return json{{"Name", policy}, {"MaximumRetryCount", 0}};
    }
    constexpr std::string_view on_failure = "on-failure:";
    if (!policy.starts_with(on_failure)) {
        return std::nullopt;
    }
    const std::string_view count = std::string_view(policy).substr(on_failure.size());
    int tries = 0;
    const auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), tries);
    if (count.empty() || ec != std::errc() || end != count.data() + count.size() || tries < 0) {
        return std::nullopt;
    }
    return json{{"Name", "on-failure"}, {"MaximumRetryCount", tries}};
}

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

// libarchive helpers for docker_prefix_tar.
struct ReadCloser {
    void operator()(archive* a) const { archive_read_free(a); }
};
struct WriteCloser {
    void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryFree {
    void operator()(archive_entry* e) const { archive_entry_free(e); }
};

la_ssize_t append_to_string(archive*, void* out, const void* data, size_t size) {
    static_cast<std::string*>(out)->append(static_cast<const char*>(data), size);
    return static_cast<la_ssize_t>(size);
}

// "./a/b" -> "a/b", "/a" -> "a", "." and "./" -> "".
std::string relative_entry_path(std::string_view path) {
    while (true) {
        if (path.starts_with("./")) {
            path.remove_prefix(2);
        } else if (path.starts_with("/")) {
            path.remove_prefix(1);
        } else {
            break;
        }
    }
    if (path == ".") {
        return {};
    }
    return std::string(path);
}

}  // namespace

nlohmann::json docker_create_body(const ContainerSpec& spec) {
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

    json host = json::object();
    if (!spec.ports.empty()) {
        json exposed = json::object();
        json bindings = json::object();
        for (const auto& p : spec.ports) {
            const std::string key = fmt::format("{}/{}", p.container_port, p.protocol.empty() ? "tcp" : p.protocol);
            exposed[key] = json::object();
            bindings[key].push_back(
                json{{"HostIp", p.host_ip == "0.0.0.0" ? std::string() : p.host_ip},
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
    const auto restart = restart_policy(spec.restart_policy);
    if (!restart) {
        throw std::invalid_argument(
            fmt::format("container {}: restart policy '{}' is not one of no, on-failure[:N], always, unless-stopped",
                        spec.name, spec.restart_policy));
    }
    host["RestartPolicy"] = *restart;
    if (spec.cpus) {
        if (!(*spec.cpus > 0)) {
            throw std::invalid_argument(
                fmt::format("container {}: cpus must be above 0, not {}", spec.name, *spec.cpus));
        }
        host["NanoCpus"] = static_cast<std::int64_t>(std::llround(*spec.cpus * 1e9));
    }
    if (spec.memory_bytes) {
        if (*spec.memory_bytes <= 0) {
            throw std::invalid_argument(
                fmt::format("container {}: memory must be above 0, not {}", spec.name, *spec.memory_bytes));
        }
        host["Memory"] = *spec.memory_bytes;
    }
    // Always: where the hard limits cannot be raised, inheriting or raising them fails.
    host["Ulimits"] = json::array({json{{"Name", "nofile"}, {"Soft", ulimit_value}, {"Hard", ulimit_value}},
                                   json{{"Name", "nproc"}, {"Soft", ulimit_value}, {"Hard", ulimit_value}}});
    if (spec.gpus) {
        const std::string& gpus = *spec.gpus;
        int count = 0;
        if (gpus == "all") {
            count = -1;
        } else {
            const auto [end, ec] = std::from_chars(gpus.data(), gpus.data() + gpus.size(), count);
            if (gpus.empty() || ec != std::errc() || end != gpus.data() + gpus.size() || count < 0) {
                throw std::invalid_argument(
                    fmt::format("container {}: gpus must be \"all\" or a count, not \"{}\"", spec.name, gpus));
            }
        }
        if (count != 0) {
            host["DeviceRequests"] = json::array({json{
                {"Driver", "nvidia"}, {"Count", count}, {"Capabilities", json::array({json::array({"gpu"})})}}});
        }
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

std::string docker_label_filters(const Labels& labels) {
    if (labels.empty()) {
        return {};
    }
    json values = json::array();
    for (const auto& [k, v] : labels) {
        values.push_back(v.empty() ? k : k + "=" + v);
    }
    return json{{"label", values}}.dump();
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

std::vector<PortBinding> docker_published_ports(const nlohmann::json& ports) {
    std::vector<PortBinding> out;
    if (!ports.is_array()) {
        return out;
    }
    std::vector<PortBinding> v6_any;
    for (const auto& p : ports) {
        const int public_port = get_int<int>(p, "PublicPort");
        if (public_port == 0) {
            continue;  // exposed, not published
        }
        PortBinding binding;
        binding.host_ip = get_string(p, "IP");
        binding.host_port = public_port;
        binding.container_port = get_int<int>(p, "PrivatePort");
        binding.protocol = get_string(p, "Type");
        if (binding.protocol.empty()) {
            binding.protocol = "tcp";
        }
        if (binding.host_ip == "0.0.0.0") {
            binding.host_ip.clear();  // every address, as Podman reports it (and as created)
        }
        (binding.host_ip == "::" ? v6_any : out).push_back(binding);
    }
    // A port bound to every address is listed twice, for 0.0.0.0 and for ::.
    for (const auto& b : v6_any) {
        const bool twin = std::any_of(out.begin(), out.end(), [&](const PortBinding& o) {
            return o.host_ip.empty() && o.host_port == b.host_port && o.container_port == b.container_port &&
                   o.protocol == b.protocol;
        });
        if (!twin) {
            out.push_back(b);
        }
    }
    return out;
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

std::string docker_prefix_tar(std::string_view tar, std::string_view folder) {
    std::string prefix = relative_entry_path(folder);
    while (!prefix.empty() && prefix.back() == '/') {
        prefix.pop_back();
    }
    if (prefix.empty()) {
        return std::string(tar);
    }

    std::unique_ptr<archive, ReadCloser> reader(archive_read_new());
    archive_read_support_format_tar(reader.get());
    if (archive_read_open_memory(reader.get(), tar.data(), tar.size()) != ARCHIVE_OK) {
        throw std::runtime_error(std::string("cannot read tar: ") + archive_error_string(reader.get()));
    }
    std::string out;
    std::unique_ptr<archive, WriteCloser> writer(archive_write_new());
    archive_write_set_format_pax_restricted(writer.get());
    archive_write_set_bytes_in_last_block(writer.get(), 1);
    if (archive_write_open(writer.get(), &out, nullptr, append_to_string, nullptr) != ARCHIVE_OK) {
        throw std::runtime_error(std::string("cannot write tar: ") + archive_error_string(writer.get()));
    }
    auto write_header = [&](archive_entry* entry) {
        if (archive_write_header(writer.get(), entry) < ARCHIVE_WARN) {
            throw std::runtime_error(std::string("cannot write tar: ") + archive_error_string(writer.get()));
        }
    };

    // The folder itself (each of its levels, for a prefix such as "etc/mldeploy").
    const auto now = std::time(nullptr);
    for (std::size_t end = prefix.find('/');; end = prefix.find('/', end + 1)) {
        std::unique_ptr<archive_entry, EntryFree> dir(archive_entry_new());
        archive_entry_set_pathname(dir.get(), (prefix.substr(0, end) + "/").c_str());
        archive_entry_set_filetype(dir.get(), AE_IFDIR);
        archive_entry_set_perm(dir.get(), 0755);
        archive_entry_set_uid(dir.get(), 0);
        archive_entry_set_gid(dir.get(), 0);
        archive_entry_set_mtime(dir.get(), now, 0);
        write_header(dir.get());
        if (end == std::string::npos) {
            break;
        }
    }

    archive_entry* entry = nullptr;
    int rc = ARCHIVE_OK;
    while ((rc = archive_read_next_header(reader.get(), &entry)) == ARCHIVE_OK) {
        const std::string path = relative_entry_path(archive_entry_pathname(entry));
        if (path.empty()) {
            continue;  // "." itself: the folder entry above stands for it
        }
        archive_entry_set_pathname(entry, (prefix + "/" + path).c_str());
        if (const char* link = archive_entry_hardlink(entry); link != nullptr && *link != '\0') {
            archive_entry_set_hardlink(entry, (prefix + "/" + relative_entry_path(link)).c_str());
        }
        write_header(entry);
        const void* block = nullptr;
        size_t size = 0;
        la_int64_t offset = 0;
        int data_rc = ARCHIVE_OK;
        while ((data_rc = archive_read_data_block(reader.get(), &block, &size, &offset)) == ARCHIVE_OK) {
            if (archive_write_data(writer.get(), block, size) < 0) {
                throw std::runtime_error(std::string("cannot write tar: ") + archive_error_string(writer.get()));
            }
        }
        if (data_rc != ARCHIVE_EOF) {
            throw std::runtime_error(std::string("cannot read tar: ") + archive_error_string(reader.get()));
        }
    }
    if (rc != ARCHIVE_EOF) {
        throw std::runtime_error(std::string("cannot read tar: ") + archive_error_string(reader.get()));
    }
    if (archive_write_close(writer.get()) != ARCHIVE_OK) {
        throw std::runtime_error(std::string("cannot write tar: ") + archive_error_string(writer.get()));
    }
    return out;
}

DockerEngine::DockerEngine(std::string socket_path) : http_(std::move(socket_path)) {}

void DockerEngine::fail(const std::string& step, const HttpResponse& response) const {
    if (response.transport_error) {
        const TransportError& e = *response.transport_error;
        if (e.curl_code == CURLE_ABORTED_BY_CALLBACK) {
            throw EngineError(step, 0, "interrupted");
        }
        if (e.curl_code == CURLE_COULDNT_CONNECT) {
            throw EngineError(step, 0,
                              fmt::format("cannot connect to Docker at {} ({}); is dockerd running?",
                                          http_.socket_path(), e.message));
        }
        throw EngineError(step, 0, fmt::format("talking to Docker at {}: {}", http_.socket_path(), e.message));
    }
    throw EngineError(step, response.status, engine_error_message(response.body));
}

json DockerEngine::call(const std::string& step, std::string_view method, const std::string& path,
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

EngineInfo DockerEngine::info() {
    EngineInfo info;
    info.flavour = "docker";
    info.socket = http_.socket_path();
    const std::string step = "ask the engine for its version";
    const HttpResponse ping = http_.request("GET", api_path("/_ping"));
    if (!ping.ok()) {
        fail(step, ping);
    }
    if (const std::string libpod = ping.header("libpod-api-version"); !libpod.empty()) {
        throw EngineError(step, ping.status,
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
        throw EngineError(step, 200, "the socket answers, but its /version names no Docker Engine version");
    }
    return info;
}

std::string DockerEngine::build_image(const BuildRequest& request, const ProgressSink& progress) {
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
    // Intermediate containers go, also those of a failed step.
    query.add("rm", "1").add("forcerm", "1");

    ProgressReader reader(progress);
    const HttpResponse response =
        http_.stream("POST", api_path("/build") + query.str(), request.context_tar, "application/x-tar",
                     [&reader](std::string_view chunk) { reader.feed(chunk); });
    reader.finish();
    if (!response.ok()) {
        if (response.transport_error) {
            fail(step, response);
        }
        // e.g. 500 "Cannot locate specified Dockerfile: Containerfile"
        throw EngineError(step, response.status, with_tail(engine_error_message(response.body), reader.tail()));
    }
    if (!reader.error().empty()) {
        // A failed step: 200, and {"error": ..., "errorDetail": ...} in the stream.
        throw EngineError(step, response.status, with_tail(reader.error(), reader.tail()));
    }
    if (!reader.aux_id().empty()) {
        return reader.aux_id();
    }
    if (auto id = image_id(request.tag)) {
        return *id;
    }
    throw EngineError(step, response.status,
                      with_tail("the build ended without an error, but the image is not there", reader.tail()));
}

std::optional<ImageDetails> DockerEngine::inspect_image(const std::string& reference) {
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
    // The labels as the image's config holds them.
    details.labels = get_labels(get_object(image, "Config"), "Labels");
    return details;
}

void DockerEngine::pull_image(const std::string& reference, const ProgressSink& progress) {
    const std::string step = "pull " + reference;
    const auto [image, tag] = docker_split_reference(reference);
    Query query;
    query.add("fromImage", image).add("tag", tag);
    ProgressReader reader(progress);
    const HttpResponse response = http_.stream("POST", api_path("/images/create") + query.str(), {}, {},
                                               [&reader](std::string_view chunk) { reader.feed(chunk); });
    reader.finish();
    if (!response.ok()) {
        fail(step, response);  // an unreachable registry is a 500 before any progress
    }
    if (!reader.error().empty()) {
        throw EngineError(step, response.status, reader.error());
    }
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

std::vector<DockerEngine::NamedNetwork> DockerEngine::networks_named(const std::string& step,
                                                                    const std::string& name) {
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
    throw EngineError(step, 409, fmt::format("network with name {} already exists (made meanwhile by another client)",
                                             name));
}

void DockerEngine::remove_network(const std::string& name) {
    const std::string step = "remove network " + name;
    const HttpResponse response = http_.request("DELETE", path_of("networks", name));
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

std::vector<ListedContainer> DockerEngine::list_containers_with_addresses(const Labels& label_filter) {
    Query query;
    query.add("all", "1");
    if (const std::string filters = docker_label_filters(label_filter); !filters.empty()) {
        query.add("filters", filters);
    }
    return parse_docker_container_list(call("list containers", "GET", api_path("/containers/json") + query.str()));
}

std::string DockerEngine::create_container(const ContainerSpec& spec) {
    const std::string step = "create container " + spec.name;
    json body;
    try {
        body = docker_create_body(spec);
    } catch (const std::invalid_argument& e) {
        throw EngineError(step, 0, e.what());
    }
    // 409 when the name is in use; 404 "No such image" when the image is missing.
    const std::string path = api_path("/containers/create") + Query().add("name", spec.name).str();
    const std::string text = body.dump();
    HttpResponse response = http_.request("POST", path, text, "application/json");
    // Docker reserves a name before the container it names can be inspected: a
    // client that loses a race for the name gets 409 while GET /containers/{name}
    // still says 404 (seen with two `up` at once). Report the conflict only once
    // the other container is there (callers then inspect it by name); if the
    // name is freed instead (the other create failed), create again.
    for (int attempt = 0; !response.transport_error && response.status == 409 && attempt < 50; ++attempt) {
        const HttpResponse other = http_.request("GET", path_of("containers", spec.name, "/json"));
        if (other.transport_error || other.status != 404) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        response = http_.request("POST", path, text, "application/json");
    }
    if (!response.ok()) {
        fail(step, response);
    }
    const json created = parse_or_null(response.body);
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

void DockerEngine::start_container(const std::string& id) {
    // 304: already running. A GPU request without NVIDIA's runtime fails here (500,
    // "could not select device driver \"nvidia\" with capabilities: [[gpu]]").
    call("start container " + id, "POST", path_of("containers", id, "/start"), {}, {}, {304});
}

void DockerEngine::stop_container(const std::string& id, int timeout_s) {
    const int timeout = std::max(0, timeout_s);
    call("stop container " + id, "POST", path_of("containers", id, "/stop") + Query().add("t", timeout).str(), {}, {},
         {304}, std::max(UnixHttpClient::default_timeout, std::chrono::seconds(timeout + 30)));
}

void DockerEngine::remove_container(const std::string& id) {
    const std::string step = "remove container " + id;
    // Forced removal kills a running container (no stop timeout on Docker).
    const HttpResponse response = http_.request("DELETE", path_of("containers", id, "?force=1&v=1"), {}, {},
                                                std::chrono::seconds(300));
    if (response.ok() || (!response.transport_error && response.status == 404)) {
        return;
    }
    if (!response.transport_error && response.status == 409 &&
        engine_error_message(response.body).find("already in progress") != std::string::npos) {
        // Another client is removing it: wait until it is gone.
        for (int attempt = 0; attempt < 100; ++attempt) {
            const HttpResponse probe = http_.request("GET", path_of("containers", id, "/json"));
            if (!probe.transport_error && probe.status == 404) {
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    fail(step, response);
}

void DockerEngine::rename_container(const std::string& id, const std::string& new_name) {
    call(fmt::format("rename container {} to {}", id, new_name), "POST",
         path_of("containers", id, "/rename") + Query().add("name", new_name).str());
}

ContainerDetails DockerEngine::inspect_container(const std::string& id) {
    const json c = call("inspect container " + id, "GET", path_of("containers", id, "/json"));
    ContainerDetails details;
    details.id = get_string(c, "Id");
    details.name = without_slash(get_string(c, "Name"));
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

void DockerEngine::put_archive(const std::string& id, const std::string& dir, const std::string& tar) {
    put_archive_at(fmt::format("copy files into container {} at {}", id, dir), id, dir, tar, 0);
}

void DockerEngine::put_archive_at(const std::string& step, const std::string& id, const std::string& dir,
                                  const std::string& tar, int depth) {
    std::string target = dir;
    while (target.size() > 1 && target.back() == '/') {
        target.pop_back();
    }
    const HttpResponse response = http_.request(
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
        throw EngineError(step, response.status, e.what());
    }
    put_archive_at(step, id, parent, prefixed, depth + 1);
}

std::string DockerEngine::get_archive(const std::string& id, const std::string& path) {
    const std::string step = fmt::format("copy {} out of container {}", path, id);
    const HttpResponse response =
        http_.request("GET", path_of("containers", id, "/archive") + Query().add("path", path).str());
    if (!response.ok()) {
        fail(step, response);  // 404 for a missing path and for a missing container
    }
    return response.body;
}

ExecResult DockerEngine::exec(const std::string& id, const std::vector<std::string>& command) {
    const std::string step = fmt::format("run `{}` in container {}", join(command, " "), id);
    const json create = {
        {"AttachStdout", true}, {"AttachStderr", true}, {"AttachStdin", false}, {"Tty", false}, {"Cmd", command}};
    const json created = call(step, "POST", path_of("containers", id, "/exec"), create.dump(), "application/json");
    const std::string exec_id = get_string(created, "Id");
    if (exec_id.empty()) {
        throw EngineError(step, 201, "the engine's answer has no exec Id");
    }

    // Docker hijacks the connection: "200 OK", Content-Type
    // application/vnd.docker.raw-stream, no length and no chunks; the output comes
    // in 8-byte-header frames until the engine closes the connection (curl reads
    // to the close; the next call opens a new connection).
    ExecResult result;
    FrameDecoder frames([&result](LogStream, std::string_view payload) { result.output.append(payload); });
    const json start = {{"Detach", false}, {"Tty", false}};
    const HttpResponse response =
        http_.stream("POST", path_of("exec", exec_id, "/start"), start.dump(), "application/json",
                     [&frames](std::string_view chunk) { frames.feed(chunk); });
    if (!response.ok()) {
        fail(step, response);
    }

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

void DockerEngine::logs(const std::string& id, const LogOptions& options, const LogSink& sink) {
    const std::string step = "read the logs of container " + id;
    Query query;
    query.add("stdout", "1").add("stderr", "1").add("follow", options.follow ? "1" : "0");
    query.add("tail", options.tail ? std::to_string(*options.tail) : std::string("all"));
    if (options.since) {
        query.add("since", std::string_view(std::to_string(*options.since)));
    }
    if (options.timestamps) {
        query.add("timestamps", "1");
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
