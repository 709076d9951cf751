// mldeploy ps: the stack's containers with role, service, replica, state, health, ports.
#include "cmd/commands.hpp"
#include "plan/labels.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>

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

// The engine's status text carries health when it knows it ("Up 3s (healthy)").
std::string health_text(const engine::ContainerSummary& c) {
    for (const char* word : {"unhealthy", "healthy", "starting"})
        if (c.status.find(std::string("(") + word) != std::string::npos) return word;
    return c.state == "running" ? "-" : "";
}

int run_ps(const GlobalOptions& g, const std::string& format) {
    auto engine = connect_engine(g);
    const auto name = resolve_stack_name(g, *engine);
    auto containers = engine->list_containers({{plan::label::stack, name}});
    std::sort(containers.begin(), containers.end(), [](const auto& a, const auto& b) { return a.name < b.name; });

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
                app.add_option("--format", *format, "text or json")->check(CLI::IsMember({"text", "json"}));
                return [format](const GlobalOptions& g) { return run_ps(g, *format); };
            }};
}

}  // namespace mldeploy::cmd
