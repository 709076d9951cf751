// The resolved stack: plain structs, filled by the loader (load.hpp) and read by
// the planner and the renderer. No behaviour lives here.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mldeploy::stack {

using Millis = std::chrono::milliseconds;

// Where a value was written, for messages that point at the file.
struct SourcePos {
    std::string file;
    int line = 0;
    int column = 0;
};

struct Build {
    std::filesystem::path context;  // absolute
    std::string dockerfile;         // relative to context; empty = engine default
    std::map<std::string, std::string> args;
    // Left out of the context besides .dockerignore's patterns: the stack file
    // when it lies inside (build = "."), so that editing it builds nothing.
    std::vector<std::string> ignore;
};

struct Health {
    std::string path = "/healthz";  // starts with '/'
    Millis interval{2000};
    Millis timeout{1000};
    int retries = 3;
    Millis start_period{30000};
};

struct Resources {
    std::optional<double> cpus;
    std::optional<std::int64_t> memory_bytes;
    // GPUs: nullopt = none; "all"; or a count as decimal text ("1", "2").
    std::optional<std::string> gpus;
    // A count asks for devices of the replica's own (spread by replica number);
    // true: replicas may share them when the host has fewer than they ask for.
    bool share_gpus = false;
    SourcePos gpus_pos;  // of the `gpus` key, for the plan-time check
};

struct Volume {
    std::string source;   // absolute host path, or a named volume
    std::string target;   // absolute path inside the container
    std::string options;  // "ro", "rw", "" ...
    bool is_bind = true;
};

// [services.X.autoscale]: the controller keeps the replicas between min and max
// so that requests in flight per replica stay near target_inflight
// (deploy/autoscale.hpp, docs/autoscaling.md).
struct Autoscale {
    int min = 1;  // at least 1: no scale to zero (a request would wait for a replica to start)
    int max = 1;
    double target_inflight = 2;
    Millis scale_up_delay{10000};     // demand above target this long before replicas are added
    Millis scale_down_delay{120000};  // demand below target this long before replicas are removed
    SourcePos pos;                    // of the table
};

// [services.X.rollout]: how `up` replaces the replicas of a service whose image
// or config changed (docs/traffic.md#canary-rollouts). rolling: one replica at a
// time, health-gated. canary: the new version starts beside the old, takes
// `steps` percents of the service's traffic in turn, and each step is judged from
// what the balancer measured for it; a crossed threshold rolls it all back.
struct Rollout {
    std::string strategy = "rolling";     // rolling | canary
    std::vector<int> steps{10, 50, 100};  // canary: rising percents, the last 100
    Millis pause{30000};                  // canary: time at each step while the new version is watched
    double max_error_rate = 0.01;         // canary: the new version's share of 5xx answers, 0..1
    std::optional<Millis> max_p95;        // canary: its p95 latency at most; nullopt: not judged
    int min_requests = 20;                // canary: answers it must give in a step before it is judged
    SourcePos pos;                        // of the table

    bool canary() const { return strategy == "canary"; }
};

struct Service {
    std::string name;
    std::optional<Build> build;
    std::string image;  // tag to build, or image to run
    int port = 0;       // inside the container
    int replicas = 1;
    std::vector<std::string> command;  // empty = image default
    std::map<std::string, std::string> env;
    std::vector<Volume> volumes;
    std::string restart = "no";  // no | on-failure | always | unless-stopped
    std::optional<Health> health;
    Resources resources;
    // How long a leaving replica's requests in flight may take to end (scale
    // down, rolling update); nullopt: the balancer's timeout.
    std::optional<Millis> drain;
    // Requests in progress on one replica at most; past it on every replica
    // the balancer answers 503 with Retry-After. nullopt: no bound.
    std::optional<int> max_inflight;
    // nullopt: `replicas` is fixed. With it, `replicas` is only the count of a
    // first `up`; after that the autoscaler (and `scale`) set it.
    std::optional<Autoscale> autoscale;
    // nullopt: the rolling default.
    std::optional<Rollout> rollout;
    bool canary() const { return rollout && rollout->canary(); }
    SourcePos pos;  // of the [services.<name>] table
};

// A run-to-completion container (`mldeploy run`): training, batch scoring.
// Its keys mean what a service's do.
struct Job {
    std::string name;
    std::optional<Build> build;
    std::string image;                 // tag to build, or image to run
    std::vector<std::string> command;  // empty = image default
    std::map<std::string, std::string> env;
    std::vector<Volume> volumes;
    Resources resources;
    std::optional<Millis> timeout;  // stopped and failed past it; nullopt = none
    SourcePos pos;                  // of the [jobs.<name>] table
};

// One service behind a route and its share of the route's requests, in percent.
struct Backend {
    std::string service;
    int weight = 100;  // 0..100; a route's weights sum to 100

    bool operator==(const Backend&) const = default;
};

struct Route {
    std::string path;  // starts with '/'
    // The one-backend form (`service = "x"`); empty when `backends` is written.
    std::string service;
    bool strip_prefix = false;  // the model sees /v1/predict as /predict
    // The weighted form (`backends = [...]`), as the stack file writes it.
    std::vector<Backend> backends{};
    // "" (none), "header:NAME" or "cookie:NAME": one value of it always reaches
    // the same backend service while the weights do not change.
    std::string sticky{};
    // Shadow traffic: a copy of mirror_percent of the requests goes to this
    // service ("" = none); its answers are discarded.
    std::string mirror{};
    int mirror_percent = 100;
    // The live split set by `mldeploy traffic`, when it differs from the file's;
    // kept in the balancer's stack.json only (the engine holds the state).
    std::optional<std::vector<Backend>> live{};

    // The split as the stack file gives it: `backends`, or `service` at 100.
    std::vector<Backend> file_split() const {
        return backends.empty() ? std::vector<Backend>{{service, 100}} : backends;
    }
    // The split the balancer applies: the live one, else the file's.
    std::vector<Backend> split() const { return live ? *live : file_split(); }
    // The route as its stack file writes it, without the live split.
    bool same_in_file(const Route& other) const {
        return path == other.path && strip_prefix == other.strip_prefix && sticky == other.sticky &&
               mirror == other.mirror && mirror_percent == other.mirror_percent && file_split() == other.file_split();
    }
};

struct Balancer {
    std::string image = "docker.io/library/nginx:stable";
    int port = 0;  // host port
    std::string host_ip = "0.0.0.0";
    std::string algorithm = "round_robin";  // round_robin | least_conn | ip_hash | random
    std::int64_t max_body_bytes = 100LL * 1024 * 1024;
    Millis timeout{300000};
    std::vector<Route> routes;  // never empty after loading
};

// [metrics]: the controller container serves Prometheus text on host_ip:port.
struct Metrics {
    int port = 0;  // host port
    std::string host_ip = "127.0.0.1";
};

struct Stack {
    std::string name;
    // "engine": containers on one engine; "swarm": services on a Docker Swarm.
    std::string target = "engine";
    std::string network;            // "<name>_net" unless set
    std::filesystem::path file;     // absolute path of the stack file
    std::filesystem::path dir;      // its folder: relative paths resolve here
    std::vector<Service> services;  // in the order they are written
    Balancer balancer;
    std::vector<Job> jobs;           // in the order they are written
    std::optional<Metrics> metrics;  // nullopt: the balancer measures nothing

    // The drain budget of `service`: its own, else the balancer's timeout.
    Millis drain_of(const Service& service) const { return service.drain.value_or(balancer.timeout); }

    // Whether the balancer writes one access-log line per request (metrics/access_log.hpp):
    // every feature that judges replicas by what the balancer measured needs it
    // ([metrics], autoscaling, canary rollouts), a weighted route, whose
    // per-version rates `mldeploy traffic` reads from the log, and a mirror, whose
    // candidate is judged by its own copies' answers.
    bool logs_requests() const {
        if (metrics || autoscales()) return true;
        for (const auto& s : services)
            if (s.canary()) return true;
        for (const auto& r : balancer.routes)
            if (!r.backends.empty() || r.live || !r.mirror.empty()) return true;
        return false;
    }

    // Whether any service has [services.X.autoscale]: the controller runs it.
    bool autoscales() const {
        for (const auto& s : services)
            if (s.autoscale) return true;
        return false;
    }

    const Service* find_service(std::string_view service_name) const {
        for (const auto& s : services)
            if (s.name == service_name) return &s;
        return nullptr;
    }

    const Job* find_job(std::string_view job_name) const {
        for (const auto& j : jobs)
            if (j.name == job_name) return &j;
        return nullptr;
    }
};

}  // namespace mldeploy::stack
