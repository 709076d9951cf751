// The one REST implementation of Engine that the flavours share: calls through
// UnixHttpClient, failures turned into EngineError (with their kind), streamed
// answers (build and pull progress, exec output, logs), inspections, exec,
// archives, and the checks on a request before it is sent.
//
// A flavour (PodmanEngine, DockerEngine; a Swarm one later) derives from it and
// gives only what is its own: its API prefix and words (Flavour), the request
// bodies and paths that differ (the pure virtual hooks), and its quirks (the
// virtual calls it overrides, e.g. Docker's archive into a missing folder,
// Podman's empty log answers). Safe to call from several threads at once (each
// thread has its own connection).
#pragma once

#include "engine/build_failure.hpp"
#include "engine/engine.hpp"
#include "engine/http.hpp"
#include "engine/listing.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace mldeploy::engine {

// The engine's message in an error body: "message" (or "cause") of a JSON error,
// else the body itself, trimmed; "" for an empty body.
std::string engine_error_message(std::string_view body);

// The number of a signal named "SIGQUIT", "QUIT", "sigquit" or given as a
// number ("3"); nullopt for anything else (this host's numbering: the
// containers run on its kernel).
std::optional<int> signal_number(std::string_view name);

// "k=v" entries (Config.Env) as a map; an entry without '=' has the value "".
std::map<std::string, std::string> env_from_list(const nlohmann::json& entries);

// The checks on a container spec that every flavour's create body makes; each
// throws std::invalid_argument naming the container and what would be right.
struct CheckedSpec {
    std::string restart_policy;        // "no", "always", "unless-stopped", "on-failure"
    std::optional<int> restart_tries;  // for "on-failure:N"
    std::optional<int> gpu_count;      // -1 for "all"; nullopt when not asked
    std::optional<int> stop_signal;    // the signal's number
};
CheckedSpec check_spec(const ContainerSpec& spec);

class RestEngine : public Engine, public AddressedListing {
public:
    bool rootless() const override { return socket_owned_by_user(http_.socket_path()); }

    std::optional<ImageDetails> inspect_image(const std::string& reference) override;
    std::string build_image(const BuildRequest& request, const ProgressSink& progress) override;
    void tag_image(const std::string& image, const std::string& reference) override;
    void pull_image(const std::string& reference, const ProgressSink& progress) override;
    void push_image(const std::string& reference, const std::optional<RegistryAuth>& auth,
                    const ProgressSink& progress) override;

    // The Docker-compatible list, which both engines serve: it names addresses.
    std::vector<ListedContainer> list_containers_with_addresses(const Labels& label_filter) override;
    std::string create_container(const ContainerSpec& spec) override;
    void start_container(const std::string& id) override;
    void stop_container(const std::string& id, int timeout_s) override;
    void rename_container(const std::string& id, const std::string& new_name) override;
    ContainerDetails inspect_container(const std::string& id) override;
    int wait_container(const std::string& id) override;

    void put_archive(const std::string& id, const std::string& dir, const std::string& tar) override;
    std::string get_archive(const std::string& id, const std::string& path) override;
    ExecResult exec(const std::string& id, const std::vector<std::string>& command) override;
    int exec_stream(const std::string& id, const std::vector<std::string>& command, const LogSink& sink) override;
    int exec_output(const std::string& id, const std::vector<std::string>& command, const OutputSink& sink) override;

    using Engine::logs;
    void logs(const std::string& id, const LogOptions& options, const LogSink& sink) override;

protected:
    // What a flavour says about itself.
    struct Flavour {
        std::string name;              // "Podman": in transport error messages
        std::string api;               // "/v4.0.0/libpod", "/v1.41"
        std::string start_hint;        // "is dockerd running?"
        std::string stop_timeout_key;  // the query key of stop's timeout: "timeout" | "t"
    };

    RestEngine(std::string socket_path, Flavour flavour);

    // --- hooks: what differs between the flavours -------------------------
    // The body of a container create; throws std::invalid_argument for a spec
    // it cannot express (create_container makes that an EngineError).
    virtual nlohmann::json create_body(const ContainerSpec& spec) const = 0;
    // Sends the create (POST, JSON body); the answer is checked by the caller.
    virtual HttpResponse send_create(const ContainerSpec& spec, const std::string& body) = 0;
    // Build options beyond t, dockerfile, buildargs and labels.
    virtual void add_build_options(Query& query) const = 0;
    // A failed build's error, taken apart (engine/build_failure.hpp).
    virtual BuildFailure parse_build_error(std::string_view error) const = 0;
    // The path and query of a pull of `reference`.
    virtual std::string pull_path(const std::string& reference) const = 0;
    // The path and query of a push of `reference`.
    virtual std::string push_path(const std::string& reference) const = 0;
    // The query of a logs request.
    virtual Query logs_query(const LogOptions& options) const = 0;
    // The kind of an HTTP failure; the default goes by the status alone
    // (error_kind_for_status). A flavour adds its quirks.
    virtual ErrorKind error_kind(int http_status, const std::string& engine_message) const;

    // --- shared by the flavours -------------------------------------------
    // A plain call; a 2xx answer, or one of `also_fine`, returns the parsed body
    // (null when empty); anything else throws EngineError(step, ...).
    nlohmann::json call(const std::string& step, std::string_view method, const std::string& path,
                        std::string_view body = {}, std::string_view content_type = {},
                        std::initializer_list<int> also_fine = {},
                        std::chrono::seconds timeout = UnixHttpClient::default_timeout);
    // Throws the EngineError for a failed answer: a transport failure (kind
    // transport, with how to start the engine), or the status and the engine's
    // message (kind from error_kind()).
    [[noreturn]] void fail(const std::string& step, const HttpResponse& response) const;
    // EngineError(step, kind engine, ...) for what the engine answered but
    // mldeploy cannot use (no Id, an error inside a 200 stream, ...).
    [[noreturn]] static void fail_engine(const std::string& step, int http_status, const std::string& message);

    // "{api}/{resource}/{encoded name}{tail}" and "{api}{tail}".
    std::string path_of(std::string_view resource, const std::string& name_or_id, std::string_view tail = {}) const;
    std::string api_path(std::string_view tail) const { return flavour_.api + std::string(tail); }

    // Sends the container create's warnings to the warning sink and returns the Id.
    std::string created_id(const std::string& step, const nlohmann::json& created);

    const UnixHttpClient& http() const { return http_; }
    const Flavour& flavour() const { return flavour_; }

private:
    // Creates and starts an exec session; `output` gets its multiplexed output
    // as it comes. Returns the exit code.
    int run_exec(const std::string& id, const std::vector<std::string>& command, const ChunkSink& output);

    UnixHttpClient http_;
    Flavour flavour_;
};

}  // namespace mldeploy::engine
