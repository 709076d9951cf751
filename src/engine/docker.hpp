// The Docker Engine flavour of Engine: Docker's REST API (/v1.41, Docker 20.10)
// over its unix socket. Safe to call from several threads at once (each thread
// has its own connection).
//
// Where Docker differs from Podman, the difference is handled here, never by
// the callers:
//   - a container name in use is 409 on Docker already (Podman 4.3 says 500);
//   - PUT /containers/{id}/archive needs the target folder to exist (Podman
//     creates it): a missing folder is made by putting to its parent with the
//     folder's name prefixed to every entry of the tar;
//   - a label filter "key=" matches only an empty value on Docker (Podman: any
//     value); an empty value is sent as "key" (the label exists);
//   - names come with a leading '/' from Docker ("/movies-balancer"): removed;
//   - two clients creating one network name at once may both succeed on Docker
//     (CheckDuplicate is not atomic): the newer network is removed again and
//     its creator gets 409, as from Podman;
//   - GPUs are DeviceRequests (driver "nvidia"), not CDI devices.
#pragma once

#include "engine/engine.hpp"
#include "engine/http.hpp"
#include "engine/listing.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace mldeploy::engine {

inline constexpr const char* docker_default_socket = "/var/run/docker.sock";
inline constexpr const char* docker_api_prefix = "/v1.41";

// The body of POST /containers/create for `spec` (the name goes in the query).
// Always sets Ulimits nofile and nproc to 20000:20000 (the hard limits of the
// machines mldeploy is tested on cannot be raised). Ports bound to "0.0.0.0" get
// an empty HostIp (every address, IPv6 too), host port 0 an empty HostPort (any
// free port). GPUs: DeviceRequests [{Driver "nvidia", Count -1 ("all") or n,
// Capabilities [["gpu"]]}]; a count of 0 asks for none.
// Throws std::invalid_argument for a restart policy, cpus, memory or GPU request
// that is out of range.
nlohmann::json docker_create_body(const ContainerSpec& spec);

// The value of ?filters= for Docker's list calls: {"label": ["k=v", "k2", ...]}
// ("k" alone, for an empty value, means "has the label"); "" without labels.
std::string docker_label_filters(const Labels& labels);

// "repo/name:tag" -> {"repo/name", "tag"}; "name@sha256:..." -> {"name", "sha256:..."};
// "name" -> {"name", "latest"} (Docker would pull every tag otherwise). A ':' in
// the registry part ("host:5000/name") is not a tag.
std::pair<std::string, std::string> docker_split_reference(std::string_view reference);

// `tar` with `folder` + "/" prefixed to every entry's path (and hard link
// target), led by a folder entry for it (0755, root). For putting files into a
// folder that does not exist yet: Docker only extracts into existing folders.
// Throws std::runtime_error when `tar` cannot be read.
std::string docker_prefix_tar(std::string_view tar, std::string_view folder);

// The published ports of a container list entry's "Ports": only those with a
// PublicPort; "0.0.0.0" becomes "" (every address, as Podman reports it), and
// the "::" twin Docker lists beside it is dropped.
std::vector<PortBinding> docker_published_ports(const nlohmann::json& ports);

// A Docker timestamp ("2026-11-22T17:55:01.12345Z"; Go drops a fraction's
// trailing zeros) made comparable as text: the fraction padded to 9 digits.
std::string docker_time_key(std::string_view timestamp);

class DockerEngine : public Engine, public AddressedListing {
public:
    explicit DockerEngine(std::string socket_path = docker_default_socket);

    // GET /_ping (refuses a Podman socket: it has a Libpod-Api-Version header),
    // then GET /version.
    EngineInfo info() override;
    bool rootless() const override { return socket_owned_by_user(http_.socket_path()); }

    std::optional<ImageDetails> inspect_image(const std::string& reference) override;
    std::string build_image(const BuildRequest& request, const ProgressSink& progress) override;
    void pull_image(const std::string& reference, const ProgressSink& progress) override;

    std::vector<NetworkSummary> list_networks(const Labels& label_filter) override;
    void create_network(const std::string& name, const Labels& labels) override;
    void remove_network(const std::string& name) override;

    std::vector<ContainerSummary> list_containers(const Labels& label_filter) override;
    std::vector<ListedContainer> list_containers_with_addresses(const Labels& label_filter) override;
    std::string create_container(const ContainerSpec& spec) override;
    void start_container(const std::string& id) override;
    void stop_container(const std::string& id, int timeout_s) override;
    void remove_container(const std::string& id) override;
    void rename_container(const std::string& id, const std::string& new_name) override;
    ContainerDetails inspect_container(const std::string& id) override;

    void put_archive(const std::string& id, const std::string& dir, const std::string& tar) override;
    std::string get_archive(const std::string& id, const std::string& path) override;
    ExecResult exec(const std::string& id, const std::vector<std::string>& command) override;

    using Engine::logs;
    void logs(const std::string& id, const LogOptions& options, const LogSink& sink) override;

private:
    nlohmann::json call(const std::string& step, std::string_view method, const std::string& path,
                        std::string_view body = {}, std::string_view content_type = {},
                        std::initializer_list<int> also_fine = {},
                        std::chrono::seconds timeout = UnixHttpClient::default_timeout);
    [[noreturn]] void fail(const std::string& step, const HttpResponse& response) const;
    struct NamedNetwork {
        std::string id;
        std::string created;
    };
    std::vector<NamedNetwork> networks_named(const std::string& step, const std::string& name);
    void put_archive_at(const std::string& step, const std::string& id, const std::string& dir, const std::string& tar,
                        int depth);

    UnixHttpClient http_;
};

}  // namespace mldeploy::engine
