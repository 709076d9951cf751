#include "deploy/job_run.hpp"

#include "plan/labels.hpp"
#include "plan/specs.hpp"
#include "util/units.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <thread>

namespace mldeploy::deploy {
namespace {

// The image code speaks of services; a job's build is read the same way.
stack::Service as_service(const stack::Job& job) {
    stack::Service service;
    service.name = job.name;
    service.build = job.build;
    service.image = job.image;
    return service;
}

}  // namespace

int job_run_number(const engine::Labels& labels) {
    const auto it = labels.find(plan::label::run);
    if (it == labels.end()) return 0;
    int n = 0;
    std::from_chars(it->second.data(), it->second.data() + it->second.size(), n);
    return n;
}

std::string prepare_job_image(engine::Engine& engine, const stack::Job& job, BuildPolicy build, util::Output& out) {
    if (job.build) return ensure_built_image(engine, as_service(job), build, out);
    return ensure_image(engine, job.image, out);
}

std::string job_container_name(const stack::Stack& stack, const std::string& job, int run) {
    return fmt::format("{}-job-{}-{}", stack.name, job, run);
}

engine::ContainerSpec job_spec(const stack::Stack& stack, const stack::Job& job, int run,
                               const std::vector<std::string>& args) {
    engine::ContainerSpec spec;
    spec.name = job_container_name(stack, job.name, run);
    spec.image = job.image;
    spec.env = job.env;
    spec.command = args.empty() ? job.command : args;
    spec.network = stack.network;
    spec.restart_policy = "no";  // run to completion, once
    plan::set_resources(spec, job.resources);
    spec.mounts = plan::mounts_of(job.volumes);
    spec.stop_timeout_s = JobRun::stop_timeout_s;
    spec.labels = plan::stack_labels(stack);
    spec.labels[plan::label::role] = plan::label::role_job;
    spec.labels[plan::label::job] = job.name;
    spec.labels[plan::label::run] = std::to_string(run);
    return spec;
}

JobRun::JobRun(engine::Engine& engine, Clock& clock, const stack::Stack& stack, const stack::Job& job,
               util::Output& out)
    : engine_(engine), clock_(clock), stack_(stack), job_(job), out_(out) {}

void JobRun::ensure_network() {
    for (const auto& n : engine_.list_networks(plan::stack_labels(stack_)))
        if (n.name == stack_.network) return;
    out_.step(fmt::format("creating network {}", stack_.network));
    try {
        engine_.create_network(stack_.network, plan::stack_labels(stack_));
    } catch (const engine::EngineError& e) {
        if (!e.conflict()) throw;  // made meanwhile (by `up`, or not by mldeploy): fine
    }
}

int JobRun::clear_finished_runs() {
    int last = 0;
    const engine::Labels filter{
        {plan::label::stack, stack_.name}, {plan::label::role, plan::label::role_job}, {plan::label::job, job_.name}};
    for (const auto& c : engine_.list_containers(filter)) {
        last = std::max(last, job_run_number(c.labels));
        // Only the last run is kept; one still running is another `run`'s.
        if (c.state == "running" || c.state == "paused") continue;
        engine_.remove_container(c.id);
        out_.detail("removed " + c.name);
    }
    return last + 1;
}

std::string JobRun::start(const std::vector<std::string>& args, BuildPolicy build) {
    prepare_job_image(engine_, job_, build, out_);
    ensure_network();
    int run = clear_finished_runs();

    std::lock_guard lock(mutex_);
    if (cancelled_) return "";
    for (int attempt = 0;; ++attempt, ++run) {
        const auto spec = job_spec(stack_, job_, run, args);
        try {
            id_ = engine_.create_container(spec);
            name_ = spec.name;
            break;
        } catch (const engine::EngineError& e) {
            // Another `run` of this job took the number meanwhile: take the next.
            if (!e.conflict() || attempt >= 9) throw;
        }
    }
    try {
        engine_.start_container(id_);
    } catch (const engine::EngineError& e) {
        // A GPU the engine cannot give fails here: leave nothing behind.
        engine_.remove_container(id_);
        id_.clear();
        throw e.as_step("start job " + job_.name);
    }
    out_.step(fmt::format("started job {} as {}", job_.name, name_));
    return name_;
}

void JobRun::stop(const char* why) {
    std::lock_guard lock(mutex_);
    if (id_.empty() || finished_) return;
    if (std::string_view(why) == "timeout")
        timed_out_ = true;
    else
        cancelled_ = true;
    try {
        engine_.stop_container(id_, stop_timeout_s);
    } catch (const engine::EngineError& e) {
        if (!e.not_found()) out_.warn(fmt::format("could not stop {}: {}", name_, e.what()));
    }
}

bool JobRun::cancel() {
    {
        std::lock_guard lock(mutex_);
        if (id_.empty()) {
            cancelled_ = true;
            return false;
        }
    }
    stop("interrupt");
    return true;
}

JobOutcome JobRun::wait(const engine::LogSink& sink) {
    JobOutcome outcome;
    outcome.container = name_;
    std::thread logs([&] {
        try {
            engine_.logs(id_, engine::Engine::LogOptions{true, std::nullopt, std::nullopt, false}, sink);
        } catch (const std::exception& e) {
            out_.warn(fmt::format("the output of {} stopped: {}", name_, e.what()));
        }
    });
    std::thread watchdog;
    if (job_.timeout) {
        watchdog = std::thread([this, deadline = clock_.now() + *job_.timeout] {
            while (!finished_) {
                const auto now = clock_.now();
                if (now >= deadline) {
                    stop("timeout");
                    return;
                }
                const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
                clock_.sleep_for(std::min(left + std::chrono::milliseconds(1), std::chrono::milliseconds(200)));
            }
        });
    }
    const auto join = [&] {
        finished_ = true;
        if (watchdog.joinable()) watchdog.join();
        logs.join();
    };
    try {
        outcome.exit_code = engine_.wait_container(id_);
    } catch (...) {
        join();
        throw;
    }
    // Under the lock: a stop in progress has set its flag before we read it.
    {
        std::lock_guard lock(mutex_);
        finished_ = true;
        outcome.timed_out = timed_out_;
        outcome.interrupted = cancelled_;
    }
    join();
    return outcome;
}

}  // namespace mldeploy::deploy
