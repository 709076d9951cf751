// mldeploy logs [SERVICE] [-f] [--tail N] [--since WHEN] [--timestamps]: every replica's lines, prefixed
// with its container. With -f the stack's containers are listed again every second, so that replicas
// started after `logs` (scale, a rolling update) are followed too.
#include "cmd/commands.hpp"
#include "cmd/swarm_target.hpp"
#include "plan/labels.hpp"
#include "util/since.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <future>
#include <map>
#include <mutex>
#include <thread>

namespace mldeploy::cmd {
namespace {

using namespace std::chrono_literals;

struct LogsOptions {
    std::string service;
    bool follow = false;
    int tail = -1;
    bool balancer = false;
    std::string since;
    bool timestamps = false;
};

// Prints each line with its container's name, padded to the longest name seen
// so far (a new, longer name widens the column from then on). Names are
// refreshed on every listing: a rolling update renames the new replica.
class Printer {
public:
    void name(const std::string& id, const std::string& name) {
        std::lock_guard lock(mutex_);
        names_[id] = name;
        width_ = std::max(width_, name.size());
    }

    void line(const std::string& id, engine::LogStream stream, std::string_view text) {
        std::lock_guard lock(mutex_);
        std::FILE* f = stream == engine::LogStream::stderr_ ? stderr : stdout;
        const auto prefix = fmt::format("{:<{}} | ", names_[id], width_);
        std::fprintf(f, "%s%.*s\n", prefix.c_str(), static_cast<int>(text.size()), text.data());
        std::fflush(f);
    }

private:
    std::mutex mutex_;
    std::map<std::string, std::string> names_;
    std::size_t width_ = 0;
};

std::vector<engine::ContainerSummary> list_targets(engine::Engine& engine, const std::string& stack,
                                                   const LogsOptions& o) {
    engine::Labels filter{{plan::label::stack, stack}};
    if (!o.service.empty()) filter[plan::label::service] = o.service;
    auto containers = engine.list_containers(filter);
    if (!o.balancer && o.service.empty())
        std::erase_if(containers, [](const auto& c) {
            auto it = c.labels.find(plan::label::role);
            return it != c.labels.end() && it->second == plan::label::role_balancer;
        });
    std::sort(containers.begin(), containers.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return containers;
}

// The containers' streams while following: which are open, when each ended
// (a container that runs again, restarted by its policy, is followed again
// from then), and the first error that was not the container going away.
class Followers {
public:
    Followers(engine::Engine& engine, Printer& printer, engine::Engine::LogOptions base)
        : engine_(engine), printer_(printer), base_(base) {}
    Followers(const Followers&) = delete;
    Followers& operator=(const Followers&) = delete;
    ~Followers() { join(); }

    // Starts following what is new, or running again; true when it started any.
    bool update(const std::vector<engine::ContainerSummary>& containers, bool first) {
        bool started = false;
        std::lock_guard lock(mutex_);
        for (const auto& c : containers) {
            printer_.name(c.id, c.name);
            auto options = base_;
            auto known = streams_.find(c.id);
            if (known == streams_.end()) {
                // Those there at the start: as asked. Those that came later: every line.
                if (!first && c.state != "running") continue;
                if (!first) options.tail.reset();
            } else {
                if (known->second.open || c.state != "running") continue;
                options.tail.reset();
                options.since = std::max(options.since.value_or(0), known->second.ended_at);
            }
            streams_[c.id].open = true;
            threads_.emplace_back([this, id = c.id, options] { follow(id, options); });
            started = true;
        }
        return started;
    }

    bool any_open() {
        std::lock_guard lock(mutex_);
        return std::any_of(streams_.begin(), streams_.end(), [](const auto& s) { return s.second.open; });
    }

    void join() {
        for (auto& t : threads_)
            if (t.joinable()) t.join();
    }

    std::exception_ptr error() {
        std::lock_guard lock(mutex_);
        return error_;
    }

private:
    struct Stream {
        bool open = false;
        std::int64_t ended_at = 0;  // unix seconds
    };

    void follow(const std::string& id, const engine::Engine::LogOptions& options) {
        std::exception_ptr failed;
        try {
            engine_.logs(id, options, [&](engine::LogStream s, std::string_view line) { printer_.line(id, s, line); });
        } catch (const engine::EngineError& e) {
            // Removed between the listing and the request (Docker: 409 "marked for
            // removal", or 404): nothing to follow.
            if (!e.not_found() && !e.conflict()) failed = std::current_exception();
        } catch (...) {
            failed = std::current_exception();
        }
        std::lock_guard lock(mutex_);
        auto& s = streams_[id];
        s.open = false;
        s.ended_at =
            std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
                .count();
        if (failed && !error_) error_ = failed;
    }

    engine::Engine& engine_;
    Printer& printer_;
    const engine::Engine::LogOptions base_;
    std::mutex mutex_;
    std::map<std::string, Stream> streams_;
    std::vector<std::thread> threads_;  // only the command's thread adds to it
    std::exception_ptr error_;
};

int run_logs(const GlobalOptions& g, const LogsOptions& o) {
    engine::Engine::LogOptions options;
    options.follow = o.follow;
    if (o.tail >= 0) options.tail = o.tail;
    options.timestamps = o.timestamps;
    if (!o.since.empty()) {
        options.since = util::parse_since(o.since, std::chrono::system_clock::now());
        if (!options.since)
            throw UsageError(
                fmt::format("--since '{}': give a duration (10m, 2h) or a time (unix seconds, or "
                            "2026-12-02T08:00:00Z)",
                            o.since));
    }

    auto engine = connect_engine(g);
    const auto name = resolve_stack_name(g, *engine);
    auto containers = list_targets(*engine, name, o);
    if (containers.empty())
        if (auto swarm = stack_swarm(g, *engine, name))
            return swarm_logs(*swarm, name, {o.service, o.balancer, options});
    if (containers.empty()) {
        throw UsageError(o.service.empty() ? fmt::format("stack {} has no containers", name)
                                           : fmt::format("stack {} has no replicas of service '{}'", name, o.service));
    }
    Printer printer;

    if (!o.follow) {
        for (const auto& c : containers) printer.name(c.id, c.name);
        std::vector<std::future<void>> streams;
        for (const auto& c : containers)
            streams.push_back(std::async(std::launch::async, [&, id = c.id] {
                engine->logs(id, options,
                             [&](engine::LogStream s, std::string_view line) { printer.line(id, s, line); });
            }));
        for (auto& s : streams) s.get();
        return 0;
    }

    // Following ends when every stream has ended (the engine ends a stream when
    // its container stops or goes) and the last listing had nothing new to follow.
    Followers followers(*engine, printer, options);
    followers.update(containers, true);
    while (true) {
        std::this_thread::sleep_for(1s);
        const bool started = followers.update(list_targets(*engine, name, o), false);
        if (!started && !followers.any_open()) break;
    }
    followers.join();
    if (auto e = followers.error()) std::rethrow_exception(e);
    return 0;
}

}  // namespace

Command logs_command() {
    return {"logs", "Show the replicas' logs, each line prefixed with its container",
            [](CLI::App& app) -> Runner {
                auto o = std::make_shared<LogsOptions>();
                app.add_option("SERVICE", o->service, "Only this service's replicas");
                app.add_flag("-f,--follow", o->follow,
                             "Keep following new lines, and replicas that start later (scale, rolling updates)");
                app.add_option("--tail,-n", o->tail, "Only the last N lines of each container")
                    ->check(CLI::NonNegativeNumber);
                app.add_option("--since", o->since, "Only lines since a time: a duration (10m) or 2026-12-02T08:00:00Z")
                    ->type_name("WHEN");
                app.add_flag("-t,--timestamps", o->timestamps, "Start each line with the engine's time of it");
                app.add_flag("--balancer", o->balancer, "Include the balancer's log");
                return [o](const GlobalOptions& g) { return run_logs(g, *o); };
            },
            "mldeploy logs recommender --follow --tail 20", uses::file | uses::stack | uses::host};
}

}  // namespace mldeploy::cmd
