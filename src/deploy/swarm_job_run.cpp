#include "deploy/swarm_job_run.hpp"

#include "deploy/errors.hpp"
#include "plan/labels.hpp"
#include "plan/specs.hpp"
#include "plan/swarm.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <thread>

namespace mldeploy::deploy {
namespace {

using namespace std::chrono_literals;

bool terminal(const std::string& state) {
    return state == "complete" || state == "failed" || state == "rejected" || state == "shutdown" ||
           state == "orphaned" || state == "remove";
}

// Joins the log thread however wait() leaves.
struct JoinOnExit {
    std::thread& thread;
    ~JoinOnExit() {
        if (thread.joinable()) thread.join();
    }
};

}  // namespace

SwarmJobRun::SwarmJobRun(engine::Engine& engine, engine::Swarm& swarm, Clock& clock, const stack::Stack& stack,
                         const stack::Job& job, util::Output& out)
    : engine_(engine), swarm_(swarm), clock_(clock), stack_(stack), job_(job), out_(out) {}

void SwarmJobRun::ensure_network() {
    for (const auto& n : engine_.list_networks({{plan::label::stack, stack_.name}}))
        if (n.name == stack_.network) return;
    out_.step(fmt::format("creating overlay network {}", stack_.network));
    try {
        swarm_.create_overlay_network(stack_.network, plan::stack_labels(stack_));
    } catch (const engine::EngineError& e) {
        if (!e.conflict()) throw;  // made meanwhile by `up`: fine
    }
}

int SwarmJobRun::clear_finished_runs() {
    int last = 0;
    const engine::Labels filter{
        {plan::label::stack, stack_.name}, {plan::label::role, plan::label::role_job}, {plan::label::job, job_.name}};
    for (const auto& s : swarm_.list_services(filter)) {
        last = std::max(last, job_run_number(s.labels));
        const auto tasks = swarm_.list_tasks(s.id);
        // Only the last run is kept; one still running is another `run`'s.
        if (std::any_of(tasks.begin(), tasks.end(), [](const auto& t) { return !terminal(t.state); })) continue;
        swarm_.remove_service(s.id);
        out_.detail("removed " + s.name);
    }
    return last + 1;
}

std::string SwarmJobRun::start(const std::vector<std::string>& args, BuildPolicy build) {
    const auto status = swarm_.swarm_status();
    const int nodes = std::max(1, status.nodes);
    if (const auto problems = plan::swarm::local_only_images(stack_, nodes); !problems.empty())
        for (const auto& line : problems)
            if (line.starts_with("job " + job_.name + ":"))
                throw DeployError(fmt::format("job {} cannot run on this {}-node swarm: {}", job_.name, nodes, line));
    const auto id = prepare_job_image(engine_, job_, build, out_);
    // On one node the local id: Swarm then starts the task without asking a registry first.
    const auto image = plan::swarm::task_image({job_.image, id}, nodes);
    ensure_network();
    int run = clear_finished_runs();

    std::lock_guard lock(mutex_);
    if (cancelled_) return "";
    for (int attempt = 0;; ++attempt, ++run) {
        const auto spec = plan::swarm::job_service(stack_, job_, image, run, args);
        try {
            id_ = swarm_.create_service(spec);
            name_ = spec.name;
            break;
        } catch (const engine::EngineError& e) {
            // Another `run` of this job took the number meanwhile: take the next.
            if (!e.conflict() || attempt >= 9) throw e.as_step("create job service " + spec.name);
        }
    }
    out_.step(fmt::format("started job {} as swarm service {}", job_.name, name_));
    return name_;
}

void SwarmJobRun::remove(const char* why) {
    std::lock_guard lock(mutex_);
    if (id_.empty() || removed_) return;
    if (std::string_view(why) == "timeout")
        timed_out_ = true;
    else
        cancelled_ = true;
    removed_ = true;
    try {
        // dockerd 20.10 leaves a job's running task running when its service is
        // removed (seen here): the task's container is stopped first.
        if (container_.empty())  // not followed yet: the task may have one by now
            for (const auto& t : swarm_.list_tasks(id_)) container_ = t.container_id;
        if (!container_.empty()) engine_.stop_container(container_, JobRun::stop_timeout_s);
    } catch (const engine::EngineError& e) {
        if (!e.not_found()) out_.warn(fmt::format("could not stop {}: {}", name_, e.what()));
    }
    try {
        swarm_.remove_service(id_);
    } catch (const engine::EngineError& e) {
        if (!e.not_found()) out_.warn(fmt::format("could not remove {}: {}", name_, e.what()));
    }
}

bool SwarmJobRun::cancel() {
    {
        std::lock_guard lock(mutex_);
        if (id_.empty()) {
            cancelled_ = true;
            return false;
        }
    }
    remove("interrupt");
    return true;
}

JobOutcome SwarmJobRun::wait(const engine::LogSink& sink) {
    JobOutcome outcome;
    outcome.container = name_;
    const auto local_node = swarm_.swarm_status().node_id;
    const auto deadline = job_.timeout ? std::optional(clock_.now() + *job_.timeout) : std::nullopt;
    const auto started = clock_.now();
    bool warned_pending = false;

    std::thread logs;
    JoinOnExit join{logs};
    std::string remote_task;  // a task on another node: its output is read once it ended
    const auto follow = [&](const engine::TaskState& t) {
        if (logs.joinable() || !remote_task.empty() || t.container_id.empty()) return;
        if (!t.node_id.empty() && !local_node.empty() && t.node_id != local_node) {
            remote_task = t.id;
            return;
        }
        {
            std::lock_guard lock(mutex_);
            container_ = t.container_id;
        }
        // The container's own log: its follow ends when the container does
        // (a service's log stream does not end when its job does).
        logs = std::thread([this, sink, container = t.container_id] {
            try {
                engine_.logs(container, engine::Engine::LogOptions{true, std::nullopt, std::nullopt, false}, sink);
            } catch (const std::exception& e) {
                out_.warn(fmt::format("the output of {} stopped: {}", name_, e.what()));
            }
        });
    };

    for (;;) {
        {
            std::lock_guard lock(mutex_);
            if (removed_) break;
        }
        if (deadline && clock_.now() >= *deadline) {
            remove("timeout");
            break;
        }
        std::vector<engine::TaskState> tasks;
        try {
            tasks = swarm_.list_tasks(id_);
        } catch (const engine::EngineError& e) {
            std::lock_guard lock(mutex_);
            if (removed_) break;  // cancelled meanwhile
            throw e.as_step("follow job " + name_);
        }
        if (!tasks.empty()) {
            const auto& t = tasks.front();
            follow(t);
            if (t.state == "rejected")
                throw DeployError(
                    fmt::format("job {}: Swarm rejected its task: {}. The service {} is kept for "
                                "`docker service ps --no-trunc {}`",
                                job_.name, t.error.empty() ? t.message : t.error, name_, name_));
            if (terminal(t.state)) {
                outcome.exit_code = t.exit_code;
                // A task that failed before its process ran reports no code of its own.
                if (t.state != "complete" && outcome.exit_code == 0) {
                    outcome.exit_code = 1;
                    out_.warn(
                        fmt::format("job {}: task {}: {}", job_.name, t.state, t.error.empty() ? t.message : t.error));
                }
                break;
            }
            if (!warned_pending && t.state != "running" && clock_.now() - started > 30s) {
                warned_pending = true;
                out_.warn(fmt::format("job {} is not running yet: task {} ({})", job_.name, t.state,
                                      t.error.empty() ? t.message : t.error));
            }
        }
        clock_.sleep_for(poll_interval);
    }
    if (logs.joinable()) logs.join();
    if (!remote_task.empty()) {
        swarm_.service_logs(
            id_, engine::Engine::LogOptions{},
            [&](engine::LogStream stream, const std::string&, std::string_view line) { sink(stream, line); });
    }
    std::lock_guard lock(mutex_);
    outcome.timed_out = timed_out_;
    outcome.interrupted = cancelled_;
    return outcome;
}

}  // namespace mldeploy::deploy
