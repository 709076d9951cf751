// The container engine as mldeploy needs it: a small abstract interface, with
// one REST implementation (rest_engine.hpp) and a Podman (libpod API) and a
// Docker flavour of it. The planner and the commands only ever see this interface.
#pragma once

#include "engine/gpus.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace mldeploy::engine {

using Labels = std::map<std::string, std::string>;

// What kind of failure an EngineError is, decided inside engine/ (from the HTTP
// status, the transport failure and each flavour's quirks), so that callers
// never read HTTP statuses:
//   transport  the engine could not be reached or the call was cut short
//              (no socket, refused, timed out, interrupted);
//   not_found  the container, image, network or exec session is not there;
//   conflict   a name is in use, or the thing is in a state that forbids it;
//   engine     anything else the engine refused or failed at (also a request
//              mldeploy refused to send, e.g. a restart policy out of range).
enum class ErrorKind { transport, not_found, conflict, engine };

// The kind an HTTP status stands for when no flavour knows better:
// 404 not_found, 409 conflict, anything else (0 included) engine.
ErrorKind error_kind_for_status(int http_status);

// An engine call that failed: the step, its kind, the HTTP status (0 when there
// was none) and the engine's own message.
class EngineError : public std::runtime_error {
public:
    // The kind from the status (error_kind_for_status).
    EngineError(std::string step, int http_status, std::string engine_message);
    EngineError(std::string step, ErrorKind kind, int http_status, std::string engine_message);
    const std::string& step() const { return step_; }
    ErrorKind kind() const { return kind_; }
    // Kept while callers outside engine/ move to kind(); do not use in new code.
    int http_status() const { return status_; }
    const std::string& engine_message() const { return engine_message_; }
    bool not_found() const { return kind_ == ErrorKind::not_found; }
    bool conflict() const { return kind_ == ErrorKind::conflict; }
    // The same failure told as another step (a container named as the user knows it).
    EngineError as_step(std::string step) const {
        return EngineError(std::move(step), kind_, status_, engine_message_);
    }

private:
    std::string step_;
    ErrorKind kind_;
    int status_;
    std::string engine_message_;
};

struct EngineInfo {
    std::string flavour;  // "podman" or "docker"
    std::string version;  // engine version, e.g. "4.3.1"
    std::string api_version;
    std::string socket;  // unix socket path in use
};

struct PortBinding {
    std::string host_ip;  // "0.0.0.0", "127.0.0.1"
    int host_port = 0;
    int container_port = 0;
    std::string protocol = "tcp";
};

struct Mount {
    std::string source;  // host path (bind) or volume name
    std::string target;
    std::vector<std::string> options;  // "ro", "rw", ...
    bool is_bind = true;
};

struct ContainerSpec {
    std::string name;
    std::string image;
    Labels labels;
    std::map<std::string, std::string> env;
    std::vector<std::string> command;  // empty = image default
    std::string network;               // joined at create time
    std::vector<std::string> network_aliases;
    std::vector<PortBinding> ports;
    std::vector<Mount> mounts;
    std::string restart_policy = "no";  // no | on-failure | always | unless-stopped
    std::optional<double> cpus;
    std::optional<std::int64_t> memory_bytes;
    std::optional<std::string> gpus;  // "all" or a count
    // Devices by CDI name ("nvidia.com/gpu=0") or host path ("/dev/fuse"). Podman
    // takes any CDI name; Docker (no CDI) only nvidia.com/gpu=N / =all, as NVIDIA
    // device requests, and paths.
    std::vector<std::string> devices;
    int stop_timeout_s = 10;
    // The signal `stop` sends first ("SIGQUIT", "QUIT" or a number); unset = the
    // image's STOPSIGNAL, else SIGTERM.
    std::optional<std::string> stop_signal;
};

struct ContainerSummary {
    std::string id;
    std::string name;
    std::string image;
    std::string state;   // created | running | exited | paused | ...
    std::string status;  // engine's human text, e.g. "Up 3 minutes"
    Labels labels;
    std::vector<PortBinding> ports;
};

struct ContainerDetails {
    std::string id;
    std::string name;
    std::string state;
    bool running = false;
    int exit_code = 0;
    int restart_count = 0;
    std::string image_id;
    Labels labels;
    std::map<std::string, std::string> ip_by_network;
    std::map<std::string, std::string> env;  // Config.Env (the image's and the container's)
    std::string started_at;                  // State.StartedAt as the engine gives it (RFC 3339); "" if never
};

struct NetworkSummary {
    std::string name;
    std::string id;
    Labels labels;
};

struct ExecResult {
    int exit_code = 0;
    std::string output;  // stdout and stderr, in order
};

enum class LogStream { stdout_, stderr_ };
using LogSink = std::function<void(LogStream, std::string_view line)>;
// Build and pull progress: one line of the engine's output at a time.
using ProgressSink = std::function<void(std::string_view line)>;

// Credentials for a registry, as auth.json and ~/.docker/config.json keep them.
struct RegistryAuth {
    std::string username;
    std::string password;
    std::string server;  // the registry host, e.g. "registry.example:5000"
};

struct BuildRequest {
    std::string tag;
    std::string dockerfile;  // relative to the context; empty = default
    std::map<std::string, std::string> args;
    std::string context_tar;  // a tar of the build context
    Labels labels;            // set on the built image
    // For a failed build's message: the file as the user knows it ("model/Containerfile")
    // and its text, to name the failing instruction's line.
    std::string dockerfile_label;
    std::string dockerfile_text;
};

struct ImageDetails {
    std::string id;
    Labels labels;
};

class Engine {
public:
    virtual ~Engine() = default;

    virtual EngineInfo info() = 0;
    // A rootless engine (its socket belongs to a user, not root): container
    // addresses on its networks are not reachable from this host.
    virtual bool rootless() const = 0;
    // The GPUs this engine can give containers (engine/gpus.hpp); none unless a
    // flavour knows where to look.
    virtual GpuInventory gpus() const { return {}; }

    // Images
    // The image's id, or nullopt when the engine has no such image.
    std::optional<std::string> image_id(const std::string& reference) {
        auto details = inspect_image(reference);
        return details ? std::optional<std::string>(std::move(details->id)) : std::nullopt;
    }
    // The image's id and labels; nullopt when the engine has no such image.
    virtual std::optional<ImageDetails> inspect_image(const std::string& reference) = 0;
    virtual std::string build_image(const BuildRequest& request, const ProgressSink& progress) = 0;
    virtual void pull_image(const std::string& reference, const ProgressSink& progress) = 0;
    // Pushes `reference` to the registry its name points at. A refusal that the
    // engine reports inside a 200 stream (wrong password) is an EngineError too.
    virtual void push_image(const std::string& reference, const std::optional<RegistryAuth>& auth,
                            const ProgressSink& progress) = 0;
    // Gives the image `image` (an id or reference) the name `reference` too.
    virtual void tag_image(const std::string& image, const std::string& reference) = 0;

    // Networks
    virtual std::vector<NetworkSummary> list_networks(const Labels& label_filter) = 0;
    virtual void create_network(const std::string& name, const Labels& labels) = 0;
    virtual void remove_network(const std::string& name) = 0;  // absent is not an error

    // Containers
    virtual std::vector<ContainerSummary> list_containers(const Labels& label_filter) = 0;
    virtual std::string create_container(const ContainerSpec& spec) = 0;  // returns the id
    virtual void start_container(const std::string& id) = 0;
    virtual void stop_container(const std::string& id, int timeout_s) = 0;
    virtual void remove_container(const std::string& id) = 0;  // forced; absent is not an error
    virtual void rename_container(const std::string& id, const std::string& new_name) = 0;
    virtual ContainerDetails inspect_container(const std::string& id) = 0;
    // Blocks until the container is no longer running (however long that takes:
    // no total timeout) and returns its exit code. A container that has already
    // exited answers at once. For `mldeploy run`: stop the container from another
    // thread to end the wait early.
    virtual int wait_container(const std::string& id) = 0;

    // Files and commands inside a container (the balancer's reload)
    virtual void put_archive(const std::string& id, const std::string& dir, const std::string& tar) = 0;
    // A tar of `path` (file or folder) inside the container: GET /containers/{id}/archive.
    virtual std::string get_archive(const std::string& id, const std::string& path) = 0;
    // Runs `command` in the container and returns its exit code and output. No
    // total timeout: the output is read as a stream for as long as the command
    // runs (a balancer's drain wait may take minutes).
    virtual ExecResult exec(const std::string& id, const std::vector<std::string>& command) = 0;
    // The same, with each line of output sent to `sink` as it comes (no total
    // timeout); returns the exit code. For `mldeploy exec` and long waits.
    virtual int exec_stream(const std::string& id, const std::vector<std::string>& command, const LogSink& sink) = 0;
    // The same, with the output's bytes as the engine sends them, not cut into
    // lines (`mldeploy exec`: a partial line or binary output passes unchanged).
    // This default joins exec_stream's lines; RestEngine passes the bytes through.
    using OutputSink = std::function<void(LogStream, std::string_view bytes)>;
    virtual int exec_output(const std::string& id, const std::vector<std::string>& command, const OutputSink& sink) {
        return exec_stream(id, command,
                           [&sink](LogStream s, std::string_view line) { sink(s, std::string(line) + "\n"); });
    }

    // Logs: calls `sink` per line until the stream ends (or forever with follow).
    struct LogOptions {
        bool follow = false;
        std::optional<int> tail;            // the last N lines only
        std::optional<std::int64_t> since;  // lines from this unix time (seconds) on
        bool timestamps = false;            // each line starts with the engine's RFC 3339 time
    };
    virtual void logs(const std::string& id, const LogOptions& options, const LogSink& sink) = 0;
    void logs(const std::string& id, bool follow, std::optional<int> tail, const LogSink& sink) {
        logs(id, LogOptions{follow, tail, std::nullopt, false}, sink);
    }

    // What the engine warns about while it does what was asked (for example
    // resource limits it ignores) goes to this sink.
    using WarningSink = std::function<void(const std::string& warning)>;
    void set_warning_sink(WarningSink sink) { warning_sink_ = std::move(sink); }

protected:
    void engine_warning(const std::string& warning) const {
        if (warning_sink_) warning_sink_(warning);
    }

private:
    WarningSink warning_sink_;
};

}  // namespace mldeploy::engine
