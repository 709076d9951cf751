// mldeploy ps: the stack's containers with role, service, replica, state, health, ports.
#include "cmd/commands.hpp"
#include "deploy/errors.hpp"
#include "deploy/health_probe.hpp"
#include "plan/labels.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <future>
#include <map>
#include <mutex>

namespace mldeploy::cmd {
namespace {

std::string label(const engine::ContainerSummary& c, const char* key) {
    auto it = c.labels.find(key);
    return it == c.labels.end() ? "" : it->second;
}

std::string ports_text(const engine::ContainerSummary& c) {
    std::string text;
    for (const auto& p : c.ports) {
        if (!text.empty()) text += ",";
        text += fmt::format("{}:{}->{}/{}", p.host_ip.empty() ? "0.0.0.0" : p.host_ip, p.host_port, p.container_port,
                            p.protocol);
    }
    return text;
}

// A running replica with a health check is probed now, in parallel: the
// engine does not know its health (mldeploy's probes are HTTP GETs).
std::map<std::string, std::string> probe_health(engine::Engine& engine,
                                                const std::vector<engine::ContainerSummary>& containers,
                                                const std::string& network) {
    // Where the host cannot reach the replicas (a rootless engine), probes run
    // inside the stack's running balancer.
    std::string balancer;
    for (const auto& c : containers)
        if (c.state == "running" && label(c, plan::label::role) == plan::label::role_balancer) balancer = c.id;
    deploy::HealthProber prober(engine, [balancer] {
        if (balancer.empty()) throw deploy::DeployError("no running balancer to probe from");
        return balancer;
    });
    std::map<std::string, std::string> health;
    std::mutex mutex;
    std::vector<std::future<void>> probes;
    for (const auto& c : containers) {
        const auto path = label(c, plan::label::health_path);
        const auto port = label(c, plan::label::port);
        if (c.state != "running" || label(c, plan::label::role) != plan::label::role_model) continue;
        if (path.empty()) {
            health[c.id] = "running";  // no health check: running counts
            continue;
        }
        probes.push_back(std::async(std::launch::async, [&, c, path, port] {
            std::string verdict = "unknown";
            try {
                const auto details = engine.inspect_container(c.id);
                auto it = details.ip_by_network.find(network);
                if (it != details.ip_by_network.end() && !it->second.empty())
                    verdict = prober.get(it->second, std::stoi(port), path, std::chrono::milliseconds(1000)).ok()
                                  ? "healthy"
                                  : "unhealthy";
            } catch (const std::exception&) {
            }
            std::lock_guard lock(mutex);
            health[c.id] = verdict;
        }));
    }
    for (auto& p : probes) p.get();
    return health;
}

int run_ps(const GlobalOptions& g, const std::string& format, bool probe) {
    auto engine = connect_engine(g);
    const auto name = resolve_stack_name(g, *engine);
    auto containers = engine->list_containers({{plan::label::stack, name}});
    std::sort(containers.begin(), containers.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    std::string network;
    for (const auto& n : engine->list_networks({{plan::label::stack, name}})) network = n.name;
    auto health = probe ? probe_health(*engine, containers, network) : std::map<std::string, std::string>{};
    auto health_text = [&](const engine::ContainerSummary& c) {
        auto it = health.find(c.id);
        return it != health.end() ? it->second : std::string(c.state == "running" ? "-" : "");
    };

    auto& out = output();
    if ((format.empty() ? g.format : format) == "json") {
        auto list = nlohmann::json::array();
        for (const auto& c : containers) {
            int replica = 0;
            const auto r = label(c, plan::label::replica);
            std::from_chars(r.data(), r.data() + r.size(), replica);
            nlohmann::json j{{"name", c.name}, {"id", c.id}, {"stack", name}, {"role", label(c, plan::label::role)},
                             {"service", label(c, plan::label::service)}, {"replica", replica}, {"state", c.state},
                             {"status", c.status}, {"health", health_text(c)}, {"image", c.image}};
            auto ports = nlohmann::json::array();
            for (const auto& p : c.ports)
                ports.push_back({{"host_ip", p.host_ip}, {"host_port", p.host_port},
                                 {"container_port", p.container_port}, {"protocol", p.protocol}});
            j["ports"] = ports;
            list.push_back(j);
        }
        out.result(list.dump(2));
        return 0;
    }
    out.result(fmt::format("{:<32} {:<9} {:<16} {:>7}  {:<9} {:<8} {}", "NAME", "ROLE", "SERVICE", "REPLICA", "STATE",
                           "HEALTH", "PORTS"));
    for (const auto& c : containers)
        out.result(fmt::format("{:<32} {:<9} {:<16} {:>7}  {:<9} {:<8} {}", c.name, label(c, plan::label::role),
                               label(c, plan::label::service), label(c, plan::label::replica), c.state,
                               health_text(c), ports_text(c)));
    return 0;
}

}  // namespace

Command ps_command() {
    return {"ps", "List the stack's containers", [](CLI::App& app) -> Runner {
                auto format = std::make_shared<std::string>();
                auto no_probe = std::make_shared<bool>(false);
                app.add_option("--format", *format, "text or json")->check(CLI::IsMember({"text", "json"}));
                app.add_flag("--no-probe", *no_probe, "Do not probe the replicas' health (faster)");
                return [format, no_probe](const GlobalOptions& g) { return run_ps(g, *format, !*no_probe); };
            }};
}

}  // namespace mldeploy::cmd
