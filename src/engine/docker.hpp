// The Docker Engine flavour of the REST engine: Docker's API (/v1.41, Docker
// 20.10) over its unix socket.
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
//   - GPUs are DeviceRequests (driver "nvidia"), not CDI devices; Docker has no
//     CDI, so a device is either nvidia.com/gpu=N (a device request by id) or
//     a host path.
#pragma once

#include "engine/rest_engine.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace mldeploy::engine {

inline constexpr const char* docker_default_socket = "/var/run/docker.sock";

// The body of POST /containers/create for `spec` (the name goes in the query).
// Always sets Ulimits nofile and nproc to 20000:20000 (the hard limits of the
// machines mldeploy is tested on cannot be raised). Ports bound to "0.0.0.0" get
// an empty HostIp (every address, IPv6 too), host port 0 an empty HostPort (any
// free port). GPUs: DeviceRequests [{Driver "nvidia", Count -1 ("all") or n,
// Capabilities [["gpu"]]}]; a count of 0 asks for none. Devices: "nvidia.com/gpu=N"
// names go together as one request {Driver "nvidia", DeviceIDs [N, ...],
// Capabilities [["gpu"]]}, "nvidia.com/gpu=all" as Count -1, host paths
// ("/dev/fuse") as HostConfig.Devices; StopSignal as given ("SIGQUIT").
// Throws std::invalid_argument for a restart policy, cpus, memory, GPU request,
// device (any other CDI name) or stop signal that Docker cannot take.
nlohmann::json docker_create_body(const ContainerSpec& spec);

// "repo/name:tag" -> {"repo/name", "tag"}; "name@sha256:..." -> {"name", "sha256:..."};
// "name" -> {"name", "latest"} (Docker would pull every tag otherwise). A ':' in
// the registry part ("host:5000/name") is not a tag.
std::pair<std::string, std::string> docker_split_reference(std::string_view reference);

// `tar` with `folder` + "/" prefixed to every entry's path (and hard link
// target), led by a folder entry for it (0755, root). For putting files into a
// folder that does not exist yet: Docker only extracts into existing folders.
// Throws std::runtime_error when `tar` cannot be read.
std::string docker_prefix_tar(std::string_view tar, std::string_view folder);

// A Docker timestamp ("2026-11-22T17:55:01.12345Z"; Go drops a fraction's
// trailing zeros) made comparable as text: the fraction padded to 9 digits.
std::string docker_time_key(std::string_view timestamp);

class DockerEngine : public RestEngine {
public:
    explicit DockerEngine(std::string socket_path = docker_default_socket);

    // GET /_ping (refuses a Podman socket: it has a Libpod-Api-Version header),
    // then GET /version.
    EngineInfo info() override;
    // No CDI: the host's NVIDIA device nodes, sent as device requests by id.
    GpuInventory gpus() const override { return nvidia_device_gpus(); }

    std::vector<NetworkSummary> list_networks(const Labels& label_filter) override;
    void create_network(const std::string& name, const Labels& labels) override;
    void remove_network(const std::string& name) override;

    std::vector<ContainerSummary> list_containers(const Labels& label_filter) override;
    void remove_container(const std::string& id) override;
    void put_archive(const std::string& id, const std::string& dir, const std::string& tar) override;

protected:
    nlohmann::json create_body(const ContainerSpec& spec) const override { return docker_create_body(spec); }
    // Waits out a lost race for the name (see docker.cpp).
    HttpResponse send_create(const ContainerSpec& spec, const std::string& body) override;
    void add_build_options(Query& query) const override;
    BuildFailure parse_build_error(std::string_view error) const override { return parse_docker_build_error(error); }
    std::string pull_path(const std::string& reference) const override;
    std::string push_path(const std::string& reference) const override;
    Query logs_query(const LogOptions& options) const override;

private:
    struct NamedNetwork {
        std::string id;
        std::string created;
    };
    std::vector<NamedNetwork> networks_named(const std::string& step, const std::string& name);
    void put_archive_at(const std::string& step, const std::string& id, const std::string& dir, const std::string& tar,
                        int depth);
};

}  // namespace mldeploy::engine
