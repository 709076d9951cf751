#include "deploy/swarm_session.hpp"

#include "deploy/errors.hpp"
#include "deploy/probe.hpp"
#include "plan/labels.hpp"
#include "plan/specs.hpp"
#include "render/nginx.hpp"
#include "util/units.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace mldeploy::deploy {
namespace {

using namespace std::chrono_literals;
using plan::swarm::ServiceAction;

std::string label_of(const engine::Labels& labels, const char* key) {
    const auto it = labels.find(key);
    return it == labels.end() ? std::string() : it->second;
}

bool network_exists(engine::Engine& engine, const std::string& stack_name, const std::string& network) {
    for (const auto& n : engine.list_networks({{plan::label::stack, stack_name}}))
        if (n.name == network) return true;
    return false;
}

// The task that tells best why a service does not converge: the newest one
// that failed or was rejected, with Swarm's words.
std::string last_task_error(const std::vector<engine::TaskState>& tasks, const std::string& hash) {
    const engine::TaskState* worst = nullptr;
    for (const auto& t : tasks) {
        if (t.state != "failed" && t.state != "rejected") continue;
        if (!hash.empty() && label_of(t.container_labels, plan::label::config_hash) != hash) continue;
        if (worst == nullptr || t.updated_at > worst->updated_at) worst = &t;
    }
    if (worst == nullptr) return "";
    return fmt::format("task {}.{} {}: {}", worst->service_id.substr(0, 12), worst->slot, worst->state,
                       worst->error.empty() ? worst->message : worst->error);
}

struct Progress {
    int running = 0;      // desired running, running, made from the wanted spec
    int pending = 0;      // desired running, not (yet) running
    int old_running = 0;  // desired running, made from another spec
};

Progress progress_of(const std::vector<engine::TaskState>& tasks, const std::string& hash) {
    Progress p;
    for (const auto& t : tasks) {
        if (t.desired_state != "running") continue;
        const bool wanted = label_of(t.container_labels, plan::label::config_hash) == hash;
        if (t.state == "running" && wanted)
            ++p.running;
        else if (t.state == "running")
            ++p.old_running;
        else
            ++p.pending;
    }
    return p;
}

// How long a service may take to have every task running: each task must pass
// its health check (an update rolls them one at a time, each then watched for
// the monitor window).
std::chrono::milliseconds budget_of(const stack::Stack& stack, const ServiceAction& a) {
    std::chrono::milliseconds one = 20s;
    if (const auto* service = stack.find_service(a.service); service != nullptr && service->health) {
        const auto& h = *service->health;
        one += h.start_period + h.interval * (h.retries + 1);
    }
    const int rolled = a.kind == ServiceAction::Kind::update ? std::max(1, a.to) : 1;
    return one * rolled + 30s;
}

}  // namespace

bool SwarmDeployPlan::empty() const {
    for (const auto& step : images.steps)
        if (step.action != ImageStep::Action::use) return false;
    return services.empty();
}

SwarmSession::SwarmSession(engine::Engine& engine, engine::Swarm& swarm, const stack::Stack& stack, util::Output& out,
                           SwarmOptions options, Collaborators with)
    : engine_(engine),
      swarm_(swarm),
      stack_(stack),
      out_(out),
      options_(std::move(options)),
      clock_(with.clock != nullptr ? *with.clock : system_clock()),
      prober_(with.prober) {}

plan::swarm::Desired SwarmSession::desired(const ImageIds& ids, int nodes) const {
    namespace sw = plan::swarm;
    sw::Desired d;
    for (const auto& s : stack_.services) {
        const auto image =
            sw::task_image({s.image, ids.services.at(s.name) == kPendingImage ? "" : ids.services.at(s.name)}, nodes);
        d.models.push_back(sw::with_hash(sw::model_service(stack_, s, image, s.replicas)));
    }
    const auto config = sw::balancer_config(stack_);
    d.config = sw::config_name(stack_, config);
    // The config's id is not known before it is made: the spec names it by name
    // (the id is filled in when the service is sent).
    const auto balancer_image =
        sw::task_image({stack_.balancer.image, ids.balancer == kPendingImage ? "" : ids.balancer}, nodes);
    d.balancer =
        sw::with_hash(sw::balancer_service(stack_, balancer_image, {"", d.config, render::kBalancerConfigPath}));
    return d;
}

SwarmDeployPlan SwarmSession::plan() {
    SwarmDeployPlan p;
    const auto status = swarm_.swarm_status();
    const int nodes = std::max(1, status.nodes);
    // Refused before anything is built or changed: other nodes cannot get an image only this machine holds.
    if (const auto problems = plan::swarm::local_only_images(stack_, nodes); !problems.empty()) {
        std::string text;
        for (const auto& line : problems) text += "\n  " + line;
        throw DeployError(fmt::format("stack {} cannot run on this {}-node swarm:{}", stack_.name, nodes, text));
    }
    p.images = plan_images(engine_, stack_, options_.build, options_.counts_only);
    const engine::Labels filter{{plan::label::stack, stack_.name}};
    p.observed = plan::swarm::observe(swarm_.list_services(filter), swarm_.list_configs(filter),
                                      network_exists(engine_, stack_.name, stack_.network), nodes);
    p.services = plan::swarm::make_plan(desired(p.images.ids, nodes), p.observed, stack_.network,
                                        {options_.counts_only, options_.replicas});
    return p;
}

std::vector<std::string> SwarmSession::describe(const SwarmDeployPlan& p) const {
    auto lines = describe_images(p.images.steps);
    auto services = plan::swarm::describe(p.services);
    if (!lines.empty() && p.services.empty()) return lines;
    lines.insert(lines.end(), services.begin(), services.end());
    return lines;
}

void SwarmSession::apply(const SwarmDeployPlan& p) {
    const ImageIds ids = run_image_steps(engine_, stack_, p.images, out_);
    const auto d = desired(ids, p.observed.nodes);
    // With the ids known the plan can only have lost updates (a build that gave
    // the image the services already run).
    const auto plan = plan::swarm::make_plan(d, p.observed, stack_.network, {options_.counts_only, options_.replicas});
    if (plan.empty()) {
        out_.step("no changes: the stack is up to date");
        return;
    }
    for (const auto& line : plan::swarm::describe(plan)) out_.detail("plan: " + line);

    auto labels = plan::stack_labels(stack_);
    if (plan.create_network) {
        try {
            swarm_.create_overlay_network(stack_.network, labels);
            out_.step(fmt::format("created overlay network {}", stack_.network));
        } catch (const engine::EngineError& e) {
            if (!e.conflict()) throw;  // made meanwhile by another run
        }
    }
    // The balancer's config: by name, made when missing.
    std::string config_id;
    for (const auto& c : swarm_.list_configs(labels))
        if (c.name == d.config) config_id = c.id;
    if (config_id.empty()) {
        auto config_labels = labels;
        config_labels[plan::label::role] = plan::label::role_balancer;
        config_id = swarm_.create_config(d.config, plan::swarm::balancer_config(stack_), config_labels);
        out_.step(fmt::format("created config {} (nginx.conf)", d.config));
    }

    std::vector<ServiceAction> waited;
    for (const auto& a : plan.services) {
        if (a.kind == ServiceAction::Kind::keep || a.kind == ServiceAction::Kind::remove) continue;
        engine::ServiceSpec spec = d.balancer;
        if (!a.service.empty()) {
            for (const auto& m : d.models)
                if (m.name == a.name) spec = m;
            spec.replicas = a.to;
        } else {
            spec.configs.front().config_id = config_id;
        }
        if (a.kind == ServiceAction::Kind::create) {
            swarm_.create_service(spec);
            out_.step(a.service.empty() ? fmt::format("created service {} on port {}", a.name, stack_.balancer.port)
                                        : fmt::format("created service {} ({} replica(s))", a.name, a.to));
        } else if (a.kind == ServiceAction::Kind::update) {
            swarm_.update_service(swarm_.inspect_service(a.id), spec);
            out_.step(fmt::format("updating service {} ({}): Swarm rolls its tasks", a.name, a.reason));
        } else {
            swarm_.scale_service(swarm_.inspect_service(a.id), a.to);
            out_.step(fmt::format("scaling service {} from {} to {}", a.name, a.from, a.to));
        }
        waited.push_back(a);
    }
    wait_converged(waited, d);

    for (const auto& a : plan.services) {
        if (a.kind != ServiceAction::Kind::remove) continue;
        swarm_.remove_service(a.id);
        out_.step(fmt::format("removed service {}", a.name));
    }
    // Configs no service names any more (a refusal "in use" keeps one).
    for (const auto& c : swarm_.list_configs(labels))
        if (c.name != d.config) swarm_.remove_config(c.id);

    // The balancer answers on the published port once it serves.
    if (std::any_of(waited.begin(), waited.end(), [](const auto& a) { return a.service.empty(); })) {
        const auto url = http_url("127.0.0.1", stack_.balancer.port, "/_mldeploy/health");
        const auto deadline = clock_.now() + 30s;
        ProbeResult r;
        const auto get = [&] { return prober_ != nullptr ? prober_->host_get(url, 2s) : http_get(url, 2s); };
        while (!(r = get()).ok() && clock_.now() < deadline) clock_.sleep_for(200ms);
        if (!r.ok())
            throw DeployError(fmt::format("the balancer's task runs, but {} does not answer: {}", url,
                                          r.status != 0 ? fmt::format("HTTP {}", r.status) : r.error));
    }
}

void SwarmSession::wait_converged(const std::vector<ServiceAction>& actions, const plan::swarm::Desired& d) {
    std::vector<ServiceWait> waits;
    for (const auto& a : actions) {
        const auto& spec = a.service.empty() ? d.balancer
                                             : *std::find_if(d.models.begin(), d.models.end(),
                                                             [&](const auto& m) { return m.name == a.name; });
        waits.push_back({a.id.empty() ? a.name : a.id, spec.labels.at(plan::label::config_hash),
                         a.service.empty() ? std::nullopt : std::optional<int>(a.to), budget_of(stack_, a),
                         a.kind == ServiceAction::Kind::update});
    }
    wait_services(swarm_, waits, out_, clock_);
}

void wait_services(engine::Swarm& swarm, const std::vector<ServiceWait>& waits, util::Output& out, Clock& clock) {
    struct Waiting {
        ServiceWait wait;
        Clock::time_point deadline;
        std::string last_line;
    };
    std::vector<Waiting> waiting;
    for (const auto& w : waits) waiting.push_back({w, clock.now() + w.budget, {}});
    while (!waiting.empty()) {
        for (auto it = waiting.begin(); it != waiting.end();) {
            const auto state = swarm.inspect_service(it->wait.service);
            const auto tasks = swarm.list_tasks(state.id);
            const auto& hash = it->wait.hash;
            const bool ours = label_of(state.labels, plan::label::config_hash) == hash;
            // A rollback puts the previous spec (and its hash label) back.
            if (!ours && state.update_state == "rollback_completed") {
                auto reason = last_task_error(tasks, hash);
                throw DeployError(fmt::format(
                    "service {}: Swarm rolled the update back ({}){}; every task runs the version that ran before",
                    state.name, state.update_message, reason.empty() ? "" : "; the new version's " + reason));
            }
            if (state.update_state == "paused" || state.update_state == "rollback_paused") {
                auto reason = last_task_error(tasks, "");
                throw DeployError(fmt::format(
                    "service {}: Swarm {}: {}{}", state.name,
                    state.update_state == "paused" ? "paused the update" : "paused the rollback of the update",
                    state.update_message, reason.empty() ? "" : "; " + reason));
            }
            const auto p = progress_of(tasks, ours ? hash : label_of(state.labels, plan::label::config_hash));
            const int wanted = it->wait.replicas.value_or(std::max(1, p.running + p.pending));
            const bool rolling = state.update_state == "updating" || state.update_state == "rollback_started";
            const auto line = fmt::format("service {}: {}/{} task(s) running{}", state.name, p.running, wanted,
                                          rolling ? fmt::format(" ({})", state.update_state) : "");
            if (line != it->last_line) {
                out.detail(line);
                it->last_line = line;
            }
            if (ours && !rolling && p.running == wanted && p.pending == 0 && p.old_running == 0) {
                if (it->wait.update)
                    out.step(fmt::format("service {}: update converged ({} task(s) on the new version)", state.name,
                                         p.running));
                it = waiting.erase(it);
                continue;
            }
            if (clock.now() > it->deadline) {
                const auto reason = last_task_error(tasks, hash);
                throw DeployError(fmt::format("service {}: {}/{} task(s) running after {}{}", state.name, p.running,
                                              wanted, util::format_duration(it->wait.budget),
                                              reason.empty() ? "" : "; the last failure: " + reason));
            }
            ++it;
        }
        if (!waiting.empty()) clock.sleep_for(500ms);
    }
}

void scale_swarm_service(engine::Swarm& swarm, const std::string& stack_name, const std::string& service, int replicas,
                         util::Output& out, Clock* clock) {
    Clock& c = clock != nullptr ? *clock : system_clock();
    const auto services = swarm.list_services({{plan::label::stack, stack_name}, {plan::label::service, service}});
    if (services.empty())
        throw DeployError(fmt::format("stack {} has no service {} on this swarm", stack_name, service));
    const auto& s = services.front();
    if (s.replicas != replicas) {
        swarm.scale_service(s, replicas);
        out.step(fmt::format("scaling service {} from {} to {}", s.name, s.replicas.value_or(0), replicas));
    }
    // Each new task passes its health check; a generous budget, as `up`'s for one task each.
    wait_services(swarm, {{s.id, label_of(s.labels, plan::label::config_hash), replicas, 180s, false}}, out, c);
}

std::vector<std::string> swarm_stacks(engine::Swarm& swarm) {
    std::set<std::string> names;
    for (const auto& s : swarm.list_services({{plan::label::stack, ""}}))
        if (auto name = label_of(s.labels, plan::label::stack); !name.empty()) names.insert(name);
    return {names.begin(), names.end()};
}

bool swarm_stack_exists(engine::Swarm& swarm, engine::Engine&, const std::string& stack_name) {
    return !swarm.list_services({{plan::label::stack, stack_name}}).empty();
}

std::size_t remove_swarm_stack(engine::Engine& engine, engine::Swarm& swarm, const std::string& stack_name,
                               util::Output& out, Clock* clock) {
    Clock& c = clock != nullptr ? *clock : system_clock();
    const engine::Labels filter{{plan::label::stack, stack_name}};
    std::size_t removed = 0;
    auto services = swarm.list_services(filter);
    // The balancer first: no request reaches a model task that is going.
    std::stable_partition(services.begin(), services.end(), [](const auto& s) {
        return label_of(s.labels, plan::label::role) == plan::label::role_balancer;
    });
    for (const auto& s : services) {
        swarm.remove_service(s.id);
        out.detail(fmt::format("removed service {}", s.name));
        ++removed;
    }
    for (const auto& config : swarm.list_configs(filter)) {
        swarm.remove_config(config.id);
        ++removed;
    }
    // The network goes once its tasks have left it (their containers stop first).
    for (const auto& n : engine.list_networks(filter)) {
        const auto deadline = c.now() + 60s;
        for (;;) {
            try {
                // By id: while Swarm detaches its tasks the node may list a
                // local copy of the overlay network under the same name.
                engine.remove_network(n.id);
                break;
            } catch (const engine::EngineError& e) {
                // Swarm removes an overlay network asynchronously: "not found" is done.
                if (e.not_found() || e.engine_message().find("not found") != std::string::npos) break;
                if (c.now() > deadline) throw;
                c.sleep_for(500ms);
            }
        }
        out.detail(fmt::format("removed network {}", n.name));
        ++removed;
    }
    // Swarm removes the network in the background: a second `down` finds nothing.
    for (const auto deadline = c.now() + 30s; !engine.list_networks(filter).empty() && c.now() < deadline;)
        c.sleep_for(500ms);
    return removed;
}

std::vector<SwarmTaskRow> swarm_tasks(engine::Swarm& swarm, const std::string& stack_name) {
    std::vector<SwarmTaskRow> rows;
    for (const auto& s : swarm.list_services({{plan::label::stack, stack_name}})) {
        const auto role = label_of(s.labels, plan::label::role);
        std::string ports;
        if (role == plan::label::role_balancer) ports = "0.0.0.0:" + label_of(s.labels, plan::label::port) + "->80/tcp";
        const bool job = role == plan::label::role_job;
        for (const auto& t : swarm.list_tasks(s.id)) {
            // What runs or should; the history of replaced tasks stays in Swarm.
            // A job's task is shown however it ended, as its container is on one engine.
            if (!job && t.desired_state != "running" && t.state != "running") continue;
            rows.push_back({role, label_of(s.labels, job ? plan::label::job : plan::label::service),
                            t.slot > 0 ? fmt::format("{}.{}", s.name, t.slot)
                                       : fmt::format("{}.{}", s.name, t.node_id.substr(0, 12)),
                            t.slot, t.state, t.desired_state, t.address, ports, t.error, t.image});
        }
    }
    return rows;
}

}  // namespace mldeploy::deploy
