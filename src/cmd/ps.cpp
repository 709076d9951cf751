// mldeploy ps: the stack's containers with role, service, replica, state, health, ports.
#include "cmd/commands.hpp"
#include "deploy/errors.hpp"
#include "deploy/health_probe.hpp"
#include "plan/labels.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <map>
#include <mutex>
#include <thread>

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

// The stack's network, asked of the engine only when a replica turns out to be
// on more than one (mldeploy puts each on the stack's network alone).
class StackNetwork {
public:
    StackNetwork(engine::Engine& engine, std::string stack) : engine_(engine), stack_(std::move(stack)) {}

    const std::string& name() {
        std::call_once(once_, [this] {
            for (const auto& n : engine_.list_networks({{plan::label::stack, stack_}})) name_ = n.name;
        });
        return name_;
    }

private:
    engine::Engine& engine_;
    std::string stack_;
    std::once_flag once_;
    std::string name_;
};

// One replica's health: its address from one inspect, then the prober's GET
// (from the host, or inside the balancer). Never throws: "unknown" when it
// cannot ask.
std::string probe_one(engine::Engine& engine, deploy::HealthProber& prober, const engine::ContainerSummary& c,
                      StackNetwork& network) {
    try {
        const auto ips = engine.inspect_container(c.id).ip_by_network;
        auto it = ips.size() == 1 ? ips.begin() : ips.find(network.name());
        if (it == ips.end() || it->second.empty()) return "unknown";
        const auto port = std::stoi(label(c, plan::label::port));
        return prober.get(it->second, port, label(c, plan::label::health_path), std::chrono::milliseconds(1000)).ok()
                   ? "healthy"
                   : "unhealthy";
    } catch (const std::exception&) {
        return "unknown";
    }
}

// A running replica with a health check is probed now (the engine does not know
// its health: mldeploy's probes are HTTP GETs), all at once: one on this thread,
// each other one on a thread of its own.
std::map<std::string, std::string> probe_health(engine::Engine& engine,
                                                const std::vector<engine::ContainerSummary>& containers,
                                                StackNetwork& network) {
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
    std::vector<const engine::ContainerSummary*> to_probe;
    for (const auto& c : containers) {
        if (c.state != "running" || label(c, plan::label::role) != plan::label::role_model) continue;
        if (label(c, plan::label::health_path).empty())
            health[c.id] = "running";  // no health check: running counts
        else
            to_probe.push_back(&c);
    }
    std::vector<std::string> verdicts(to_probe.size());
    auto probe = [&](std::size_t i) { verdicts[i] = probe_one(engine, prober, *to_probe[i], network); };
    {
        std::vector<std::jthread> others;
        for (std::size_t i = 1; i < to_probe.size(); ++i) others.emplace_back(probe, i);
        if (!to_probe.empty()) probe(0);
    }  // joins the others
    for (std::size_t i = 0; i < to_probe.size(); ++i) health[to_probe[i]->id] = std::move(verdicts[i]);
    return health;
}

int run_ps(const GlobalOptions& g, const std::string& format, bool probe) {
    auto engine = connect_engine(g);
    const auto name = resolve_stack_name(g, *engine);
    auto containers = engine->list_containers({{plan::label::stack, name}});
    std::sort(containers.begin(), containers.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    StackNetwork network(*engine, name);
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
    // One write for the whole table.
    std::string table = fmt::format("{:<32} {:<9} {:<16} {:>7}  {:<9} {:<8} {}", "NAME", "ROLE", "SERVICE", "REPLICA",
                                    "STATE", "HEALTH", "PORTS");
    for (const auto& c : containers)
        table += fmt::format("\n{:<32} {:<9} {:<16} {:>7}  {:<9} {:<8} {}", c.name, label(c, plan::label::role),
                             label(c, plan::label::service), label(c, plan::label::replica), c.state, health_text(c),
                             ports_text(c));
    out.result(table);
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
