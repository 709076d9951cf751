#include "cmd/swarm_target.hpp"

#include "deploy/remove.hpp"
#include "deploy/swarm_session.hpp"
#include "engine/discovery.hpp"
#include "plan/labels.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <future>
#include <map>
#include <mutex>

namespace mldeploy::cmd {
namespace {

std::string label_of(const engine::Labels& labels, const char* key) {
    const auto it = labels.find(key);
    return it == labels.end() ? std::string() : it->second;
}

}  // namespace

std::unique_ptr<engine::SwarmEngine> stack_swarm(const GlobalOptions& g, engine::Engine& engine,
                                                 const std::string& stack_name) {
    if (auto path = stack_file_path(g)) {
        const auto stack = load_stack(g);
        if (stack.target == "swarm") return engine::connect_swarm(g.host);
    }
    // Only a Docker engine can be a swarm manager.
    if (dynamic_cast<engine::DockerEngine*>(&engine) == nullptr) return nullptr;
    auto swarm = std::make_unique<engine::SwarmEngine>(engine.info().socket);
    if (!swarm->swarm_status().manager) return nullptr;
    if (!deploy::swarm_stack_exists(*swarm, *swarm, stack_name)) return nullptr;
    return swarm;
}

int swarm_up(const GlobalOptions& g, const stack::Stack& stack, const SwarmUpOptions& o) {
    auto swarm = engine::connect_swarm(g.host);
    auto& out = output();
    deploy::SwarmOptions options;
    options.build = o.build;
    deploy::SwarmSession session(*swarm, *swarm, stack, out, options);
    const auto plan = session.plan();
    if (o.dry_run) {
        for (const auto& line : session.describe(plan)) out.result(line);
        return 0;
    }
    out.step(fmt::format("deploying stack {} from {} to the swarm", stack.name, stack.file.string()));
    const bool fresh = plan.observed.services.empty() && !plan.observed.network_exists;
    try {
        session.apply(plan);
    } catch (...) {
        // A first deploy that fails leaves nothing half-made.
        if (fresh) {
            out.warn(fmt::format("the first deploy of {} failed: removing what it made", stack.name));
            try {
                deploy::remove_swarm_stack(*swarm, *swarm, stack.name, out);
            } catch (const std::exception& e) {
                out.warn(fmt::format("could not remove everything: {}", e.what()));
            }
        }
        throw;
    }
    const auto url = fmt::format("http://localhost:{}", stack.balancer.port);
    out.result(fmt::format("stack {} is up on the swarm: {}", stack.name, url));
    return 0;
}

int swarm_scale(const GlobalOptions&, engine::SwarmEngine& swarm, const std::string& stack_name,
                const std::string& service, int replicas) {
    std::string name = service;
    if (name.empty()) {
        std::vector<std::string> models;
        for (const auto& s : swarm.list_services({{plan::label::stack, stack_name}}))
            if (label_of(s.labels, plan::label::role) == plan::label::role_model)
                models.push_back(label_of(s.labels, plan::label::service));
        if (models.size() != 1) {
            std::string list;
            for (const auto& m : models) list += " " + m;
            throw UsageError(fmt::format("stack '{}' has several services; name one:{}", stack_name, list));
        }
        name = models.front();
    }
    auto& out = output();
    out.step(fmt::format("scaling {} to {} replica(s) on the swarm", name, replicas));
    deploy::scale_swarm_service(swarm, stack_name, name, replicas, out);
    out.result(fmt::format("{}: {} replica(s)", name, replicas));
    return 0;
}

int swarm_ps(const GlobalOptions& g, engine::SwarmEngine& swarm, const std::string& stack_name,
             const std::string& format) {
    const auto rows = deploy::swarm_tasks(swarm, stack_name);
    auto& out = output();
    if ((format.empty() ? g.format : format) == "json") {
        auto list = nlohmann::json::array();
        for (const auto& r : rows)
            list.push_back({{"name", r.name},
                            {"stack", stack_name},
                            {"target", "swarm"},
                            {"role", r.role},
                            {"service", r.service},
                            {"replica", r.slot},
                            {"state", r.state},
                            {"desired_state", r.desired},
                            {"address", r.address},
                            {"ports", r.ports},
                            {"error", r.error},
                            {"image", r.image}});
        out.result(list.dump(2));
        return 0;
    }
    // The task state is Swarm's: a task with a health check is "running" once healthy.
    std::string table = fmt::format("{:<32} {:<9} {:<16} {:>7}  {:<9} {:<9} {:<15} {}", "NAME", "ROLE", "SERVICE",
                                    "REPLICA", "STATE", "DESIRED", "ADDRESS", "PORTS");
    for (const auto& r : rows)
        table += fmt::format("\n{:<32} {:<9} {:<16} {:>7}  {:<9} {:<9} {:<15} {}", r.name, r.role, r.service,
                             r.slot > 0 ? std::to_string(r.slot) : "-", r.state, r.desired, r.address,
                             r.ports + (r.error.empty() ? "" : " " + r.error));
    out.result(table);
    return 0;
}

int swarm_logs(engine::SwarmEngine& swarm, const std::string& stack_name, const SwarmLogsOptions& o) {
    engine::Labels filter{{plan::label::stack, stack_name}};
    if (!o.service.empty()) filter[plan::label::service] = o.service;
    auto services = swarm.list_services(filter);
    if (!o.balancer && o.service.empty())
        std::erase_if(services, [](const auto& s) {
            return label_of(s.labels, plan::label::role) == plan::label::role_balancer;
        });
    if (services.empty())
        throw UsageError(o.service.empty()
                             ? fmt::format("stack {} has no services on the swarm", stack_name)
                             : fmt::format("stack {} has no service '{}' on the swarm", stack_name, o.service));
    // Each line with its task as `ps` names it: <service>.<slot>.
    std::mutex mutex;
    std::map<std::string, std::string> task_names;
    std::size_t width = 0;
    const auto refresh = [&](const engine::ServiceState& s) {
        for (const auto& t : swarm.list_tasks(s.id)) {
            auto name = t.slot > 0 ? fmt::format("{}.{}", s.name, t.slot)
                                   : fmt::format("{}.{}", s.name, t.node_id.substr(0, 12));
            width = std::max(width, name.size());
            task_names[t.id] = std::move(name);
        }
    };
    for (const auto& s : services) refresh(s);
    std::vector<std::future<void>> streams;
    for (const auto& s : services)
        streams.push_back(std::async(std::launch::async, [&, s] {
            swarm.service_logs(s.id, o.options,
                               [&](engine::LogStream stream, const std::string& task, std::string_view line) {
                                   std::lock_guard lock(mutex);
                                   if (!task.empty() && !task_names.contains(task))
                                       refresh(s);  // a task started after the listing
                                   const auto it = task_names.find(task);
                                   const std::string name = it != task_names.end() ? it->second : s.name;
                                   std::FILE* f = stream == engine::LogStream::stderr_ ? stderr : stdout;
                                   std::fprintf(f, "%s | %.*s\n", fmt::format("{:<{}}", name, width).c_str(),
                                                static_cast<int>(line.size()), line.data());
                                   std::fflush(f);
                               });
        }));
    for (auto& s : streams) s.get();
    return 0;
}

}  // namespace mldeploy::cmd
