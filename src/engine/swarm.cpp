#include "engine/swarm.hpp"

#include "engine/reply.hpp"
#include "engine/stream.hpp"
#include "util/base64.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace mldeploy::engine {

using nlohmann::json;
using namespace reply;

namespace {

constexpr int ulimit_value = 20000;  // as docker_create_body: the hard limits here cannot be raised

std::int64_t nanos(std::chrono::milliseconds d) { return static_cast<std::int64_t>(d.count()) * 1000000; }

json update_config(const UpdatePolicy& p, const std::string& service, bool rollback) {
    if (p.order != "start-first" && p.order != "stop-first")
        throw std::invalid_argument(
            fmt::format("service {}: update order '{}' is not start-first or stop-first", service, p.order));
    const bool known =
        p.failure_action == "pause" || p.failure_action == "continue" || (!rollback && p.failure_action == "rollback");
    if (!known)
        throw std::invalid_argument(
            fmt::format("service {}: failure action '{}' is not one Swarm takes", service, p.failure_action));
    return json{{"Parallelism", p.parallelism}, {"Delay", nanos(p.delay)}, {"FailureAction", p.failure_action},
                {"Monitor", nanos(p.monitor)},  {"MaxFailureRatio", 0},    {"Order", p.order}};
}

// "10.0.1.5/24" -> "10.0.1.5"
std::string without_prefix(const std::string& cidr) { return cidr.substr(0, cidr.find('/')); }

}  // namespace

nlohmann::json swarm_service_body(const ServiceSpec& spec) {
    const std::string& c = spec.restart_condition;
    if (c != "none" && c != "on-failure" && c != "any")
        throw std::invalid_argument(
            fmt::format("service {}: restart condition '{}' is not none, on-failure or any", spec.name, c));
    if (spec.job && !spec.replicas)
        throw std::invalid_argument(
            fmt::format("service {}: a job runs a number of tasks, not one per node", spec.name));

    json container = json::object();
    container["Image"] = spec.image;
    container["Labels"] = spec.container_labels;
    if (!spec.command.empty()) container["Args"] = spec.command;
    if (!spec.env.empty()) {
        json env = json::array();
        for (const auto& [k, v] : spec.env) env.push_back(k + "=" + v);
        container["Env"] = env;
    }
    if (!spec.mounts.empty()) {
        json mounts = json::array();
        for (const auto& m : spec.mounts) {
            const bool ro = std::find(m.options.begin(), m.options.end(), "ro") != m.options.end();
            mounts.push_back(json{
                {"Type", m.is_bind ? "bind" : "volume"}, {"Source", m.source}, {"Target", m.target}, {"ReadOnly", ro}});
        }
        container["Mounts"] = mounts;
    }
    if (spec.health) {
        const auto& h = *spec.health;
        container["HealthCheck"] = json{{"Test", h.test},
                                        {"Interval", nanos(h.interval)},
                                        {"Timeout", nanos(h.timeout)},
                                        {"Retries", h.retries},
                                        {"StartPeriod", nanos(h.start_period)}};
    }
    if (!spec.configs.empty()) {
        json configs = json::array();
        for (const auto& f : spec.configs)
            configs.push_back(json{{"File", {{"Name", f.file}, {"UID", "0"}, {"GID", "0"}, {"Mode", 0444}}},
                                   {"ConfigID", f.config_id},
                                   {"ConfigName", f.config_name}});
        container["Configs"] = configs;
    }
    container["StopGracePeriod"] = static_cast<std::int64_t>(spec.stop_grace_s) * 1000000000;
    if (spec.stop_signal) container["StopSignal"] = *spec.stop_signal;
    container["Ulimits"] = json::array({json{{"Name", "nofile"}, {"Soft", ulimit_value}, {"Hard", ulimit_value}},
                                        json{{"Name", "nproc"}, {"Soft", ulimit_value}, {"Hard", ulimit_value}}});

    json task = json::object();
    task["ContainerSpec"] = container;
    json restart = {{"Condition", c}, {"Delay", nanos(spec.restart_delay)}};
    if (spec.restart_max_attempts) restart["MaxAttempts"] = *spec.restart_max_attempts;
    task["RestartPolicy"] = restart;
    json limits = json::object();
    if (spec.cpus) limits["NanoCPUs"] = static_cast<std::int64_t>(std::llround(*spec.cpus * 1e9));
    if (spec.memory_bytes) limits["MemoryBytes"] = *spec.memory_bytes;
    task["Resources"] = json{{"Limits", limits}};
    json networks = json::array();
    for (const auto& n : spec.networks) {
        json attachment{{"Target", n}};
        if (!spec.aliases.empty()) attachment["Aliases"] = spec.aliases;
        networks.push_back(attachment);
    }
    task["Networks"] = networks;

    json body = json::object();
    body["Name"] = spec.name;
    body["Labels"] = spec.labels;
    body["TaskTemplate"] = task;
    if (spec.job)
        body["Mode"] =
            json{{"ReplicatedJob", {{"MaxConcurrent", *spec.replicas}, {"TotalCompletions", *spec.replicas}}}};
    else if (spec.replicas)
        body["Mode"] = json{{"Replicated", {{"Replicas", *spec.replicas}}}};
    else
        body["Mode"] = json{{"Global", json::object()}};
    if (spec.update) body["UpdateConfig"] = update_config(*spec.update, spec.name, false);
    if (spec.rollback) body["RollbackConfig"] = update_config(*spec.rollback, spec.name, true);
    json endpoint = {{"Mode", spec.dnsrr ? "dnsrr" : "vip"}};
    json ports = json::array();
    for (const auto& p : spec.ports)
        ports.push_back(json{{"Protocol", p.protocol.empty() ? "tcp" : p.protocol},
                             {"TargetPort", p.container_port},
                             {"PublishedPort", p.host_port},
                             {"PublishMode", "host"}});
    endpoint["Ports"] = ports;
    body["EndpointSpec"] = endpoint;
    return body;
}

ServiceState service_state_of(const json& service) {
    ServiceState s;
    s.id = get_string(service, "ID");
    s.version = get_int<std::uint64_t>(get_object(service, "Version"), "Index");
    s.spec = get_object(service, "Spec");
    s.name = get_string(s.spec, "Name");
    s.labels = get_labels(s.spec, "Labels");
    const json& mode = get_object(s.spec, "Mode");
    if (mode.contains("Replicated"))
        s.replicas = get_int<int>(get_object(mode, "Replicated"), "Replicas");
    else if (mode.contains("ReplicatedJob"))
        s.replicas = get_int<int>(get_object(mode, "ReplicatedJob"), "TotalCompletions");
    s.image = get_string(get_object(get_object(s.spec, "TaskTemplate"), "ContainerSpec"), "Image");
    const json& status = get_object(service, "UpdateStatus");
    s.update_state = get_string(status, "State");
    s.update_message = get_string(status, "Message");
    return s;
}

TaskState task_state_of(const json& task) {
    TaskState t;
    t.id = get_string(task, "ID");
    t.service_id = get_string(task, "ServiceID");
    t.slot = get_int<int>(task, "Slot");
    t.node_id = get_string(task, "NodeID");
    t.desired_state = get_string(task, "DesiredState");
    t.updated_at = get_string(task, "UpdatedAt");
    const json& status = get_object(task, "Status");
    t.state = get_string(status, "State");
    t.message = get_string(status, "Message");
    t.error = get_string(status, "Err");
    const json& container = get_object(status, "ContainerStatus");
    t.container_id = get_string(container, "ContainerID");
    t.exit_code = get_int<int>(container, "ExitCode");
    const json& container_spec = get_object(get_object(task, "Spec"), "ContainerSpec");
    t.container_labels = get_labels(container_spec, "Labels");
    t.image = get_string(container_spec, "Image");
    const auto it = task.find("NetworksAttachments");
    if (it != task.end() && it->is_array())
        for (const auto& attachment : *it) {
            const auto addresses = attachment.find("Addresses");
            const json& network = get_object(attachment, "Network");
            // The ingress network (unused here: no routing mesh) is not the stack's.
            if (get_bool(get_object(network, "Spec"), "Ingress")) continue;
            if (addresses != attachment.end() && addresses->is_array() && !addresses->empty() &&
                (*addresses)[0].is_string()) {
                t.address = without_prefix((*addresses)[0].get<std::string>());
                break;
            }
        }
    return t;
}

EngineInfo SwarmEngine::info() {
    auto info = DockerEngine::info();
    info.flavour = "swarm";
    return info;
}

SwarmStatus SwarmEngine::swarm_status() {
    const json info = call("ask the engine whether it is a swarm manager", "GET", api_path("/info"));
    const json& swarm = get_object(info, "Swarm");
    SwarmStatus s;
    s.local_state = get_string(swarm, "LocalNodeState");
    s.manager = get_bool(swarm, "ControlAvailable");
    s.nodes = get_int<int>(swarm, "Nodes");
    s.node_id = get_string(swarm, "NodeID");
    return s;
}

void SwarmEngine::create_overlay_network(const std::string& name, const Labels& labels) {
    const std::string step = "create overlay network " + name;
    // Attachable: a job's task (and `docker run --network`) can join it too.
    const json body = {
        {"Name", name}, {"Driver", "overlay"}, {"Attachable", true}, {"CheckDuplicate", true}, {"Labels", labels}};
    call(step, "POST", api_path("/networks/create"), body.dump(), "application/json");
}

std::string SwarmEngine::create_service(const ServiceSpec& spec) {
    const std::string step = "create service " + spec.name;
    json body;
    try {
        body = swarm_service_body(spec);
    } catch (const std::invalid_argument& e) {
        fail_engine(step, 0, e.what());
    }
    const json created = call(step, "POST", api_path("/services/create"), body.dump(), "application/json");
    for (const auto& w : created.value("Warnings", json::array()))
        if (w.is_string()) engine_warning(w.get<std::string>());
    const std::string id = get_string(created, "ID");
    if (id.empty()) fail_engine(step, 201, "the engine answered without the new service's ID");
    return id;
}

void SwarmEngine::update_service(const ServiceState& current, const ServiceSpec& spec) {
    const std::string step = "update service " + spec.name;
    json body;
    try {
        body = swarm_service_body(spec);
    } catch (const std::invalid_argument& e) {
        fail_engine(step, 0, e.what());
    }
    const json answer =
        call(step, "POST",
             path_of("services", current.id, "/update") + Query().add("version", std::to_string(current.version)).str(),
             body.dump(), "application/json");
    for (const auto& w : answer.value("Warnings", json::array()))
        if (w.is_string()) engine_warning(w.get<std::string>());
}

void SwarmEngine::scale_service(const ServiceState& current, int replicas) {
    const std::string step = fmt::format("scale service {} to {}", current.name, replicas);
    json body = current.spec;
    body["Mode"] = json{{"Replicated", {{"Replicas", replicas}}}};
    call(step, "POST",
         path_of("services", current.id, "/update") + Query().add("version", std::to_string(current.version)).str(),
         body.dump(), "application/json");
}

ServiceState SwarmEngine::inspect_service(const std::string& id_or_name) {
    return service_state_of(call("inspect service " + id_or_name, "GET", path_of("services", id_or_name)));
}

std::vector<ServiceState> SwarmEngine::list_services(const Labels& label_filter) {
    std::string path = api_path("/services");
    if (const std::string filters = docker_label_filters(label_filter); !filters.empty())
        path += Query().add("filters", filters).str();
    const json list = call("list services", "GET", path);
    std::vector<ServiceState> out;
    if (list.is_array())
        for (const auto& s : list) out.push_back(service_state_of(s));
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return out;
}

void SwarmEngine::remove_service(const std::string& id_or_name) {
    call("remove service " + id_or_name, "DELETE", path_of("services", id_or_name), {}, {}, {404});
}

std::vector<TaskState> SwarmEngine::list_tasks(const std::string& service_id) {
    const json filters = {{"service", json::array({service_id})}};
    const json list = call("list the tasks of service " + service_id, "GET",
                           api_path("/tasks") + Query().add("filters", filters.dump()).str());
    std::vector<TaskState> out;
    if (list.is_array())
        for (const auto& t : list) out.push_back(task_state_of(t));
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
        return a.slot != b.slot ? a.slot < b.slot : a.updated_at > b.updated_at;
    });
    return out;
}

void SwarmEngine::service_logs(const std::string& service_id, const Engine::LogOptions& options,
                               const ServiceLogSink& sink) {
    const std::string step = "read the logs of service " + service_id;
    // details=1 leads each line with "com.docker.swarm.node.id=..,..task.id=.. ": the task it came from.
    LogLineDecoder decoder([&sink](LogStream stream, std::string_view line) {
        std::string task;
        if (line.starts_with("com.docker.swarm.")) {
            const auto space = line.find(' ');
            const std::string_view details = line.substr(0, space);
            constexpr std::string_view key = "com.docker.swarm.task.id=";
            if (const auto at = details.find(key); at != std::string_view::npos) {
                const auto start = at + key.size();
                task = std::string(details.substr(start, details.find(',', start) - start));
            }
            line = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
        }
        sink(stream, task, line);
    });
    Query query = logs_query(options);
    query.add("details", "1");
    const HttpResponse response = http().stream("GET", path_of("services", service_id, "/logs") + query.str(), {}, {},
                                                [&decoder](std::string_view chunk) { decoder.feed(chunk); });
    decoder.finish();
    if (!response.ok()) fail(step, response);
}

std::string SwarmEngine::create_config(const std::string& name, const std::string& data, const Labels& labels) {
    const std::string step = "create config " + name;
    const json body = {{"Name", name}, {"Labels", labels}, {"Data", util::base64_encode(data)}};
    const json created = call(step, "POST", api_path("/configs/create"), body.dump(), "application/json");
    return get_string(created, "ID");
}

std::vector<ConfigSummary> SwarmEngine::list_configs(const Labels& label_filter) {
    std::string path = api_path("/configs");
    if (const std::string filters = docker_label_filters(label_filter); !filters.empty())
        path += Query().add("filters", filters).str();
    const json list = call("list configs", "GET", path);
    std::vector<ConfigSummary> out;
    if (list.is_array())
        for (const auto& c : list) {
            const json& spec = get_object(c, "Spec");
            out.push_back({get_string(c, "ID"), get_string(spec, "Name"), get_labels(spec, "Labels")});
        }
    return out;
}

void SwarmEngine::remove_config(const std::string& id_or_name) {
    // 400 "config ... is in use by the following service": kept until no service names it.
    call("remove config " + id_or_name, "DELETE", path_of("configs", id_or_name), {}, {}, {404, 400, 409});
}

}  // namespace mldeploy::engine
