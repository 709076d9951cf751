// The Podman flavour of Engine: Podman's own REST API (libpod, /v4.0.0/libpod/...)
// over its unix socket. Safe to call from several threads at once (each thread
// has its own connection).
#pragma once

#include "engine/engine.hpp"
#include "engine/http.hpp"
#include "engine/listing.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace mldeploy::engine {

inline constexpr const char* podman_default_socket = "/run/podman/podman.sock";

// The body of POST /libpod/containers/create (Podman's SpecGenerator) for `spec`.
// Always sets nofile and nproc to 20000:20000: Podman's default raises both to
// the maximum, which fails where the hard limits cannot be raised. GPUs go as
// CDI devices ("nvidia.com/gpu=all", or "=0".."=n-1" for a count).
// Throws std::invalid_argument for a GPU request that is neither "all" nor a count.
nlohmann::json podman_create_body(const ContainerSpec& spec);

// The engine's message in an error body: "message" (or "cause") of a JSON error,
// else the body itself, trimmed; "" for an empty body.
std::string engine_error_message(std::string_view body);

// Docker-like status text for `ps` ("Up 5 minutes", "Exited (0) 3 seconds ago",
// "Created"): libpod's container list leaves "Status" empty, so it is made from
// the state and the start/exit times (unix seconds; 0 or less = unknown).
std::string container_status_text(const std::string& state, int exit_code, std::int64_t started_at,
                                  std::int64_t exited_at, std::int64_t now);

// Docker's go-units HumanDuration: "Less than a second", "3 seconds",
// "About a minute", "5 minutes", "About an hour", "3 hours", "2 days", ...
std::string human_duration(std::int64_t seconds);

class PodmanEngine : public Engine, public AddressedListing {
public:
    explicit PodmanEngine(std::string socket_path = podman_default_socket);

    EngineInfo info() override;
    bool rootless() const override { return socket_owned_by_user(http_.socket_path()); }

    std::optional<ImageDetails> inspect_image(const std::string& reference) override;
    std::string build_image(const BuildRequest& request, const ProgressSink& progress) override;
    void pull_image(const std::string& reference, const ProgressSink& progress) override;

    std::vector<NetworkSummary> list_networks(const Labels& label_filter) override;
    void create_network(const std::string& name, const Labels& labels) override;
    void remove_network(const std::string& name) override;

    std::vector<ContainerSummary> list_containers(const Labels& label_filter) override;
    // From Podman's Docker-compatible list: libpod's names no addresses.
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
    // A plain call; a 2xx answer, or one of `also_fine`, returns the parsed body
    // (null when empty); anything else throws EngineError(step, ...).
    nlohmann::json call(const std::string& step, std::string_view method, const std::string& path,
                        std::string_view body = {}, std::string_view content_type = {},
                        std::initializer_list<int> also_fine = {},
                        std::chrono::seconds timeout = UnixHttpClient::default_timeout);
    [[noreturn]] void fail(const std::string& step, const HttpResponse& response) const;

    UnixHttpClient http_;
};

}  // namespace mldeploy::engine
