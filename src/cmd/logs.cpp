// mldeploy logs [SERVICE] [-f] [--tail N]: every replica's lines, prefixed with its container.
#include "cmd/commands.hpp"
#include "plan/labels.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <future>
#include <mutex>

namespace mldeploy::cmd {
namespace {

struct LogsOptions {
    std::string service;
    bool follow = false;
    int tail = -1;
    bool balancer = false;
};

int run_logs(const GlobalOptions& g, const LogsOptions& o) {
    auto engine = connect_engine(g);
    const auto name = resolve_stack_name(g, *engine);
    engine::Labels filter{{plan::label::stack, name}};
    if (!o.service.empty()) filter[plan::label::service] = o.service;
    auto containers = engine->list_containers(filter);
    if (!o.balancer && o.service.empty())
        std::erase_if(containers, [](const auto& c) {
            auto it = c.labels.find(plan::label::role);
            return it != c.labels.end() && it->second == plan::label::role_balancer;
        });
    if (containers.empty()) {
        throw UsageError(o.service.empty() ? fmt::format("stack {} has no containers", name)
                                           : fmt::format("stack {} has no replicas of service '{}'", name, o.service));
    }
    std::sort(containers.begin(), containers.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    std::size_t width = 0;
    for (const auto& c : containers) width = std::max(width, c.name.size());

    std::mutex print_mutex;
    std::vector<std::future<void>> streams;
    for (const auto& c : containers)
        streams.push_back(std::async(std::launch::async, [&, c] {
            const auto prefix = fmt::format("{:<{}} | ", c.name, width);
            engine->logs(c.id, o.follow, o.tail >= 0 ? std::optional<int>(o.tail) : std::nullopt,
                         [&](engine::LogStream stream, std::string_view line) {
                             std::lock_guard lock(print_mutex);
                             std::FILE* f = stream == engine::LogStream::stderr_ ? stderr : stdout;
                             std::fprintf(f, "%s%.*s\n", prefix.c_str(), static_cast<int>(line.size()), line.data());
                             std::fflush(f);
                         });
        }));
    for (auto& s : streams) s.get();
    return 0;
}

}  // namespace

Command logs_command() {
    return {"logs", "Show the replicas' logs, each line prefixed with its container", [](CLI::App& app) -> Runner {
                auto o = std::make_shared<LogsOptions>();
                app.add_option("SERVICE", o->service, "Only this service's replicas");
                app.add_flag("-f,--follow", o->follow, "Keep following new lines");
                app.add_option("--tail,-n", o->tail, "Only the last N lines of each container")->check(CLI::NonNegativeNumber);
                app.add_flag("--balancer", o->balancer, "Include the balancer's log");
                return [o](const GlobalOptions& g) { return run_logs(g, *o); };
            },
            "mldeploy logs recommender --follow --tail 20", uses::file | uses::stack | uses::host};
}

}  // namespace mldeploy::cmd
