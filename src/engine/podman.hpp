// The Podman flavour of the REST engine: Podman's own API (libpod,
// /v4.0.0/libpod/...) over its unix socket. What is Podman's own:
//   - the create body (SpecGenerator), networks, the container list (libpod's,
//     with a status text made here, since libpod leaves it empty);
//   - a name already in use is 500 "... is already in use" (conflict), and a
//     container gone in mid-call may be 500 "... no such container" (not_found);
//   - a non-follow log request sometimes answers nothing although lines were
//     written (4.3): asked again, up to 3 more times, 300 ms apart.
#pragma once

#include "engine/rest_engine.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace mldeploy::engine {

inline constexpr const char* podman_default_socket = "/run/podman/podman.sock";

// The body of POST /libpod/containers/create (Podman's SpecGenerator) for `spec`.
// Always sets nofile and nproc to 20000:20000: Podman's default raises both to
// the maximum, which fails where the hard limits cannot be raised. GPUs go as
// CDI devices ("nvidia.com/gpu=all", or "=0".."=n-1" for a count), followed by
// `devices` as they are; the stop signal as a number (libpod's stop_signal is a
// syscall.Signal).
// Throws std::invalid_argument for a GPU request that is neither "all" nor a
// count, an unknown stop signal, or a restart policy, cpus or memory out of range.
nlohmann::json podman_create_body(const ContainerSpec& spec);

// Docker-like status text for `ps` ("Up 5 minutes", "Exited (0) 3 seconds ago",
// "Created"): libpod's container list leaves "Status" empty, so it is made from
// the state and the start/exit times (unix seconds; 0 or less = unknown).
std::string container_status_text(const std::string& state, int exit_code, std::int64_t started_at,
                                  std::int64_t exited_at, std::int64_t now);

// The kind of a failed libpod call: by the status, but 500 "... is already in
// use" is a conflict and 500 "... no such container" not_found.
ErrorKind podman_error_kind(int http_status, std::string_view engine_message);

// Docker's go-units HumanDuration: "Less than a second", "3 seconds",
// "About a minute", "5 minutes", "About an hour", "3 hours", "2 days", ...
std::string human_duration(std::int64_t seconds);

class PodmanEngine : public RestEngine {
public:
    explicit PodmanEngine(std::string socket_path = podman_default_socket);

    EngineInfo info() override;
    // The nvidia.com/gpu devices of the host's CDI specs.
    GpuInventory gpus() const override { return cdi_gpus(cdi_spec_dirs()); }

    std::vector<NetworkSummary> list_networks(const Labels& label_filter) override;
    void create_network(const std::string& name, const Labels& labels) override;
    void remove_network(const std::string& name) override;

    std::vector<ContainerSummary> list_containers(const Labels& label_filter) override;
    void remove_container(const std::string& id) override;

    // Asks again when a non-follow request answers no line (see above).
    using Engine::logs;
    void logs(const std::string& id, const LogOptions& options, const LogSink& sink) override;

    // Between the log requests that answered nothing; tests shorten it.
    std::chrono::milliseconds empty_logs_retry_delay{300};

protected:
    nlohmann::json create_body(const ContainerSpec& spec) const override { return podman_create_body(spec); }
    HttpResponse send_create(const ContainerSpec& spec, const std::string& body) override;
    void add_build_options(Query& query) const override;
    BuildFailure parse_build_error(std::string_view error) const override { return parse_podman_build_error(error); }
    std::string pull_path(const std::string& reference) const override;
    std::string push_path(const std::string& reference) const override;
    Query logs_query(const LogOptions& options) const override;
    ErrorKind error_kind(int http_status, const std::string& engine_message) const override {
        return podman_error_kind(http_status, engine_message);
    }
};

}  // namespace mldeploy::engine
