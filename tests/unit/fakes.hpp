// In-memory stand-ins for what the deploy layer talks to: an engine that holds
// containers, networks, images and a balancer's files, records every call and
// can be scripted (409s, 404s, containers that exit, starts that fail, exec
// answers, logs); a clock whose sleeps take no time; and a prober that answers
// from the fake engine's state, or as scripted. Thread-safe: the executor
// starts replicas on threads of their own.
#pragma once

#include "deploy/clock.hpp"
#include "deploy/prober.hpp"
#include "engine/engine.hpp"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace mldeploy::test {

// One call to the fake engine. `target` is the container's name at the time of
// the call (or the network, image or spec name); `args` the arguments that
// matter (the exec's command, a rename's new name, a stop's timeout).
struct Call {
    std::string method;
    std::string target;
    std::vector<std::string> args;
};

// What a container does once started (set before it is created, by name).
struct Behavior {
    std::optional<int> exit_after_inspects;  // 0: exits at start; N: the (N+1)th inspect after start sees it exited
    int exit_code = 1;
    std::optional<std::string> start_error;    // start_container throws EngineError(500) with this message
    std::chrono::milliseconds start_delay{0};  // a slow start: advances the fake clock
    std::vector<std::string> log_lines;
};

class FakeClock;

class FakeEngine : public engine::Engine {
public:
    struct Container {
        std::string id;
        std::string name;
        std::string image;
        std::string image_id;
        engine::Labels labels;
        std::map<std::string, std::string> env;
        std::vector<std::string> command;
        std::string network;
        std::vector<engine::PortBinding> ports;
        std::vector<std::string> devices;
        std::optional<std::string> gpus;
        std::string state = "created";  // created | running | exited
        int exit_code = 0;
        std::string ip;  // on `network`, from its first start
        int inspects_since_start = 0;
        std::map<std::string, std::string> files;  // by path, e.g. /etc/mldeploy/nginx.conf
        Behavior behavior;
    };

    explicit FakeEngine(FakeClock* clock = nullptr) : clock_(clock) {}

    // Scripting.
    void add_image(const std::string& reference, const std::string& id, engine::Labels labels = {});
    void add_network(const std::string& name, engine::Labels labels);
    // A container made outside the run (another run, another stack); running.
    std::string add_running_container(const engine::ContainerSpec& spec);
    void script(const std::string& name, Behavior behavior);
    // The next `times` calls of `method` on `target` (a container's name or id,
    // a network's name) throw EngineError with `status`.
    void fail_next(const std::string& method, const std::string& target, int status, const std::string& message,
                   int times = 1);
    // Something outside the stack holds this host port: starts that publish it fail.
    void take_host_port(int port);
    // Answers of exec by tag: the word after `sh -c SCRIPT` (mldeploy-reload,
    // mldeploy-quit, mldeploy-probe), else the command's first word.
    void on_exec(const std::string& tag, engine::ExecResult result);
    // Runs `action` (outside the engine's lock) after the next call of `method` on `target`.
    void after(const std::string& method, const std::string& target, std::function<void()> action);
    // The container exits now.
    void kill(const std::string& name_or_id, int exit_code);
    // Each of the next `n` starts waits (up to 5 s) until all `n` are under way at once.
    void expect_parallel_starts(int n);

    // Reading back.
    std::vector<Call> calls() const;
    // Calls that change the engine (create, start, stop, remove, rename, put_archive, exec, build, pull).
    std::vector<Call> mutating_calls() const;
    std::optional<Container> container(const std::string& name_or_id) const;
    std::vector<Container> containers() const;
    bool has_network(const std::string& name) const;
    std::string ip_of(const std::string& name_or_id) const;
    // The name of the container that has `ip`, "" if none.
    std::string name_of_ip(const std::string& ip) const;
    int max_parallel_starts() const;
    // Whether a running container publishes host port `port`.
    bool publishes(int port) const;

    // engine::Engine
    engine::EngineInfo info() override;
    bool rootless() const override { return rootless_; }
    engine::GpuInventory gpus() const override { return gpus_; }
    void set_gpus(engine::GpuInventory gpus) { gpus_ = std::move(gpus); }
    // A rootless engine: the replicas' probes run inside the balancer.
    void set_rootless(bool rootless) { rootless_ = rootless; }
    std::optional<engine::ImageDetails> inspect_image(const std::string& reference) override;
    std::string build_image(const engine::BuildRequest& request, const engine::ProgressSink& progress) override;
    void pull_image(const std::string& reference, const engine::ProgressSink& progress) override;
    void push_image(const std::string& reference, const std::optional<engine::RegistryAuth>& auth,
                    const engine::ProgressSink& progress) override;
    void tag_image(const std::string& image, const std::string& reference) override;
    std::vector<engine::NetworkSummary> list_networks(const engine::Labels& label_filter) override;
    void create_network(const std::string& name, const engine::Labels& labels) override;
    void remove_network(const std::string& name) override;
    std::vector<engine::ContainerSummary> list_containers(const engine::Labels& label_filter) override;
    std::string create_container(const engine::ContainerSpec& spec) override;
    void start_container(const std::string& id) override;
    void stop_container(const std::string& id, int timeout_s) override;
    void remove_container(const std::string& id) override;
    void rename_container(const std::string& id, const std::string& new_name) override;
    engine::ContainerDetails inspect_container(const std::string& id) override;
    // Returns at once for a container that is not running, or scripted to exit
    // (exit_after_inspects); else blocks (up to 5 s, real time) until it is stopped,
    // killed or removed.
    int wait_container(const std::string& id) override;
    void put_archive(const std::string& id, const std::string& dir, const std::string& tar) override;
    std::string get_archive(const std::string& id, const std::string& path) override;
    engine::ExecResult exec(const std::string& id, const std::vector<std::string>& command) override;
    // exec, with its output given line by line.
    int exec_stream(const std::string& id, const std::vector<std::string>& command,
                    const engine::LogSink& sink) override;
    using Engine::logs;
    void logs(const std::string& id, const LogOptions& options, const engine::LogSink& sink) override;

private:
    using Lock = std::unique_lock<std::mutex>;
    // Scripted actions of `after`, run once the call has released the lock.
    struct Later {
        std::vector<std::function<void()>> actions;
        Later() = default;
        Later(const Later&) = delete;
        Later& operator=(const Later&) = delete;
        ~Later();
    };
    // With the lock held: records the call, throws a scripted failure, and
    // hands the call's scripted actions to `later`.
    void enter(Later& later, const std::string& method, const std::string& target, const std::string& id = {},
               std::vector<std::string> args = {});
    Container* find(const std::string& name_or_id);
    const Container* find(const std::string& name_or_id) const;
    Container& get(const std::string& name_or_id, const std::string& step);  // 404 when absent
    std::string assign_ip();

    FakeClock* clock_;
    bool rootless_ = false;
    engine::GpuInventory gpus_;
    mutable std::mutex mutex_;
    std::condition_variable starts_cv_;
    std::condition_variable state_cv_;  // a container stopped, exited or went
    std::vector<Call> calls_;
    std::map<std::string, engine::ImageDetails> images_;
    std::map<std::string, engine::Labels> networks_;
    std::vector<Container> containers_;  // in creation order
    std::map<std::string, Behavior> behaviors_;
    struct Failure {
        std::string method, target;
        int status;
        std::string message;
        int times;
    };
    std::vector<Failure> failures_;
    struct Action {
        std::string method, target;
        std::function<void()> action;
    };
    std::vector<Action> actions_;
    std::vector<int> taken_ports_;
    std::map<std::string, engine::ExecResult> exec_results_;
    int next_id_ = 1;
    int next_ip_ = 2;
    int parallel_starts_wanted_ = 0;
    int parallel_gate_left_ = 0;
    int gate_arrived_ = 0;
    int starts_in_flight_ = 0;
    int max_starts_in_flight_ = 0;
};

class FakeClock : public deploy::Clock {
public:
    time_point now() override;
    void sleep_for(std::chrono::milliseconds duration) override;
    void advance(std::chrono::milliseconds duration) { sleep_for(duration); }
    std::chrono::milliseconds slept() const;

private:
    mutable std::mutex mutex_;
    time_point now_{std::chrono::hours(1000)};
    std::chrono::milliseconds slept_{0};
};

// Answers from the fake engine's state by default: a running container's
// address answers 200 (its balancer's control page, /_mldeploy/config, from the
// nginx.conf it holds), anything else refuses the connection; a host URL
// answers 200 when a running container publishes its port. Scripts by
// container name (at the time of the probe) override that.
class FakeProber : public deploy::Prober {
public:
    struct Script {
        int healthy_after = 0;  // calls answered `before` first
        bool never = false;     // never answers `after`
        deploy::ProbeResult before{0, "connection refused", ""};
        deploy::ProbeResult after{200, "", "ok"};
        // Each call first waits (in real time, at most 5 s) until this holds:
        // "not before the balancer started", without using up fake time.
        std::function<bool()> wait_until;
    };

    explicit FakeProber(FakeEngine& engine) : engine_(engine) {}

    void script(const std::string& container_name, Script script);
    void never_healthy(const std::string& container_name, int status = 503);
    void never_answers(const std::string& container_name);
    // host_get of `url` answers `result` from now on.
    void script_url(const std::string& url, deploy::ProbeResult result);

    int calls_for(const std::string& container_name) const;

    deploy::ProbeResult container_get(const std::string& address, int port, const std::string& path,
                                      std::chrono::milliseconds timeout) override;
    deploy::ProbeResult host_get(const std::string& url, std::chrono::milliseconds timeout) override;

private:
    FakeEngine& engine_;
    mutable std::mutex mutex_;
    std::map<std::string, Script> scripts_;
    std::map<std::string, int> calls_;
    std::map<std::string, deploy::ProbeResult> urls_;
};

}  // namespace mldeploy::test
