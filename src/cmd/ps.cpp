// mldeploy ps: the stack's containers with role, service, replica, state, health, ports.
#include "cmd/commands.hpp"
#include "cmd/swarm_target.hpp"
#include "deploy/autoscaler.hpp"
#include "deploy/errors.hpp"
#include "deploy/health_probe.hpp"
#include "engine/listing.hpp"
#include "plan/labels.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <map>
#include <optional>

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
        if (!name_) {
            name_.emplace();
            for (const auto& n : engine_.list_networks({{plan::label::stack, stack_}})) *name_ = n.name;
        }
        return *name_;
    }

private:
    engine::Engine& engine_;
    std::string stack_;
    std::optional<std::string> name_;
};

using IpByNetwork = std::map<std::string, std::string>;

// The stack's containers, by name, and for probing their addresses too when the
// engine gives them with the list (engine/listing.hpp): then a probe needs no
// inspect first. Without probes, the engine's own list is enough (and Podman's
// is the faster one).
struct StackListing {
    std::vector<engine::ContainerSummary> containers;
    std::map<std::string, IpByNetwork> addresses;  // by container id; empty when not listed
};

StackListing list_stack(engine::Engine& engine, const std::string& stack, bool with_addresses) {
    const engine::Labels filter{{plan::label::stack, stack}};
    StackListing listing;
    auto* addressed = with_addresses ? dynamic_cast<engine::AddressedListing*>(&engine) : nullptr;
    if (addressed != nullptr) {
        for (auto& c : addressed->list_containers_with_addresses(filter)) {
            listing.addresses[c.summary.id] = std::move(c.ip_by_network);
            listing.containers.push_back(std::move(c.summary));
        }
    } else {
        listing.containers = engine.list_containers(filter);
    }
    std::sort(listing.containers.begin(), listing.containers.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
    return listing;
}

// A replica's address on the stack's network: from the list when it came with
// addresses, else from an inspect; "" when the engine cannot say.
std::string address_of(engine::Engine& engine, const engine::ContainerSummary& c, const StackListing& listing,
                       StackNetwork& network) {
    try {
        const auto listed = listing.addresses.find(c.id);
        const IpByNetwork ips =
            listed != listing.addresses.end() ? listed->second : engine.inspect_container(c.id).ip_by_network;
        auto it = ips.size() == 1 ? ips.begin() : ips.find(network.name());
        return it == ips.end() ? "" : it->second;
    } catch (const std::exception&) {
        return "";
    }
}

// A running replica with a health check is probed now (the engine does not know
// its health: mldeploy's probes are HTTP GETs), all at once; one without a check
// counts as running. "unknown" where no probe could be made.
std::map<std::string, std::string> probe_health(engine::Engine& engine, const StackListing& listing,
                                                StackNetwork& network) {
    // Where the host cannot reach the replicas (a rootless engine), probes run
    // inside the stack's running balancer.
    std::string balancer;
    for (const auto& c : listing.containers)
        if (c.state == "running" && label(c, plan::label::role) == plan::label::role_balancer) balancer = c.id;
    deploy::HealthProber prober(engine, [balancer] {
        if (balancer.empty()) throw deploy::DeployError("no running balancer to probe from");
        return balancer;
    });
    std::map<std::string, std::string> health;
    std::vector<std::string> asked;  // container ids, in the order of `requests`
    std::vector<deploy::ProbeRequest> requests;
    for (const auto& c : listing.containers) {
        if (c.state != "running" || label(c, plan::label::role) != plan::label::role_model) continue;
        const auto path = label(c, plan::label::health_path);
        const auto port_text = label(c, plan::label::port);
        int port = 0;
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
        const auto address = path.empty() || port <= 0 ? "" : address_of(engine, c, listing, network);
        if (path.empty()) {
            health[c.id] = "running";  // no health check: running counts
        } else if (address.empty()) {
            health[c.id] = "unknown";
        } else {
            asked.push_back(c.id);
            requests.push_back({address, port, path});
        }
    }
    const auto answers = prober.get_all(requests, std::chrono::milliseconds(1000));
    for (std::size_t i = 0; i < asked.size(); ++i)
        health[asked[i]] = !answers[i] ? "unknown" : answers[i]->ok() ? "healthy" : "unhealthy";
    return health;
}

// Finished jobs' exit codes (`mldeploy run` keeps each job's last container),
// by container id: the list does not give them.
std::map<std::string, int> job_exit_codes(engine::Engine& engine, const StackListing& listing) {
    std::map<std::string, int> codes;
    for (const auto& c : listing.containers) {
        if (label(c, plan::label::role) != plan::label::role_job || c.state != "exited") continue;
        try {
            codes[c.id] = engine.inspect_container(c.id).exit_code;
        } catch (const engine::EngineError&) {
            // removed meanwhile: no code to show
        }
    }
    return codes;
}

// The autoscaler's state and last decision per service, from the log of a
// controller that autoscales (deploy/autoscaler.hpp); none without one.
std::map<std::string, deploy::AutoscaleReport> autoscale_of(engine::Engine& engine,
                                                            const std::vector<engine::ContainerSummary>& containers,
                                                            std::string& controller_id) {
    for (const auto& c : containers) {
        if (label(c, plan::label::role) != plan::label::role_controller || label(c, plan::label::autoscale) != "1")
            continue;
        controller_id = c.id;
        try {
            return deploy::read_autoscale_reports(engine, c.id);
        } catch (const engine::EngineError& e) {
            output().warn(fmt::format("cannot read the autoscaler's log from {}: {}", c.name, e.what()));
        }
    }
    return {};
}

double unix_now() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

// A job's name stands in the SERVICE column.
std::string service_or_job(const engine::ContainerSummary& c) {
    const auto job = label(c, plan::label::job);
    return job.empty() ? label(c, plan::label::service) : job;
}

int run_ps(const GlobalOptions& g, const std::string& format, bool probe) {
    auto engine = connect_engine(g);
    // Checked only when the list is empty: a request more would cost every `ps`.
    const auto name = resolve_stack_name(g, *engine, IfNotDeployed::allow);
    const auto listing = list_stack(*engine, name, probe);
    // No container of the stack: it may run on the swarm this engine manages.
    if (listing.containers.empty())
        if (auto swarm = stack_swarm(g, *engine, name)) return swarm_ps(g, *swarm, name, format);
    if (listing.containers.empty() && !g.stack_name.empty()) require_deployed(*engine, name);
    const auto& containers = listing.containers;
    StackNetwork network(*engine, name);
    auto health = probe ? probe_health(*engine, listing, network) : std::map<std::string, std::string>{};
    auto health_text = [&](const engine::ContainerSummary& c) {
        auto it = health.find(c.id);
        return it != health.end() ? it->second : std::string(c.state == "running" ? "-" : "");
    };

    const auto exit_codes = job_exit_codes(*engine, listing);
    auto state_text = [&](const engine::ContainerSummary& c) {
        auto it = exit_codes.find(c.id);
        return it == exit_codes.end() ? c.state : fmt::format("{}({})", c.state, it->second);
    };

    std::string controller_id;
    const auto autoscale = autoscale_of(*engine, containers, controller_id);

    auto& out = output();
    if ((format.empty() ? g.format : format) == "json") {
        auto list = nlohmann::json::array();
        for (const auto& c : containers) {
            int replica = 0;
            const auto r = label(c, plan::label::replica);
            std::from_chars(r.data(), r.data() + r.size(), replica);
            nlohmann::json j{{"name", c.name},
                             {"id", c.id},
                             {"stack", name},
                             {"role", label(c, plan::label::role)},
                             {"service", label(c, plan::label::service)},
                             {"replica", replica},
                             {"state", c.state},
                             {"status", c.status},
                             {"health", health_text(c)},
                             {"image", c.image}};
            auto ports = nlohmann::json::array();
            for (const auto& p : c.ports)
                ports.push_back({{"host_ip", p.host_ip},
                                 {"host_port", p.host_port},
                                 {"container_port", p.container_port},
                                 {"protocol", p.protocol}});
            j["ports"] = ports;
            // The replica's GPUs (io.mldeploy.gpus: "0,1", or "all"), one string each.
            auto gpus = nlohmann::json::array();
            const auto gpu_text = label(c, plan::label::gpus);
            for (std::size_t at = 0; !gpu_text.empty() && at <= gpu_text.size();) {
                const auto comma = std::min(gpu_text.find(',', at), gpu_text.size());
                gpus.push_back(gpu_text.substr(at, comma - at));
                at = comma + 1;
            }
            j["gpus"] = gpus;
            if (label(c, plan::label::role) == plan::label::role_job) {
                j["job"] = label(c, plan::label::job);
                auto code = exit_codes.find(c.id);
                j["exit_code"] = code == exit_codes.end() ? nlohmann::json() : nlohmann::json(code->second);
            }
            // The controller that autoscales carries each service's state and last decision.
            if (c.id == controller_id) {
                auto services = nlohmann::json::object();
                const auto event_json = [](const deploy::AutoscaleEvent& e) {
                    return nlohmann::json{{"event", e.event},  {"phase", e.phase},       {"at", e.at},
                                          {"since", e.since},  {"replicas", e.replicas}, {"wanted", e.wanted},
                                          {"reason", e.reason}};
                };
                for (const auto& [service, report] : autoscale) {
                    nlohmann::json a{{"min", report.state.min},
                                     {"max", report.state.max},
                                     {"target_inflight", report.state.target},
                                     {"state", report.state.phase},
                                     {"since", report.state.since},
                                     {"reason", report.state.reason}};
                    a["last_decision"] = report.last_decision ? event_json(*report.last_decision) : nlohmann::json();
                    services[service] = std::move(a);
                }
                j["autoscale"] = std::move(services);
            }
            list.push_back(j);
        }
        out.result(list.dump(2));
        return 0;
    }
    // One write for the whole table. A GPUS column only when a container has GPUs.
    const bool with_gpus = std::any_of(containers.begin(), containers.end(),
                                       [](const auto& c) { return !label(c, plan::label::gpus).empty(); });
    auto gpus_cell = [&](const engine::ContainerSummary& c) {
        if (!with_gpus) return std::string();
        const auto gpus = label(c, plan::label::gpus);
        return fmt::format("{:<8} ", gpus.empty() ? "-" : gpus);
    };
    std::string table = fmt::format("{:<32} {:<9} {:<16} {:>7}  {:<9} {:<8} {}{}", "NAME", "ROLE", "SERVICE", "REPLICA",
                                    "STATE", "HEALTH", with_gpus ? "GPUS     " : "", "PORTS");
    for (const auto& c : containers)
        table += fmt::format("\n{:<32} {:<9} {:<16} {:>7}  {:<9} {:<8} {}{}", c.name, label(c, plan::label::role),
                             service_or_job(c), label(c, plan::label::replica), state_text(c), health_text(c),
                             gpus_cell(c), ports_text(c));
    if (!autoscale.empty()) {
        table += "\n\nAUTOSCALE";
        const double now = unix_now();
        for (const auto& [service, report] : autoscale)
            for (const auto& line : deploy::describe_report(report, now)) table += "\n" + line;
    }
    out.result(table);
    return 0;
}

}  // namespace

Command ps_command() {
    return {"ps", "List the stack's containers",
            [](CLI::App& app) -> Runner {
                auto format = std::make_shared<std::string>();
                auto no_probe = std::make_shared<bool>(false);
                app.add_option("--format", *format, "text or json")->check(CLI::IsMember({"text", "json"}));
                app.add_flag("--no-probe", *no_probe, "Do not probe the replicas' health (faster)");
                return [format, no_probe](const GlobalOptions& g) { return run_ps(g, *format, !*no_probe); };
            },
            "mldeploy ps --format json", uses::file | uses::stack | uses::host | uses::format};
}

}  // namespace mldeploy::cmd
