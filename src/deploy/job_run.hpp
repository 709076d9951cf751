// One run of a stack's job (`mldeploy run`): its image made ready as `up` makes
// a service's, its container created on the stack's network, its output
// streamed, its exit code waited for, and a stop at its timeout or when the
// user interrupts. The engine and the clock are injected, so that the rules
// are unit-tested on the fake engine (tests/unit/job_run_test.cpp).
#pragma once

#include "deploy/clock.hpp"
#include "deploy/images.hpp"
#include "engine/engine.hpp"
#include "stack/model.hpp"
#include "util/output.hpp"

#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace mldeploy::deploy {

// "<stack>-job-<job>-<run>"
std::string job_container_name(const stack::Stack& stack, const std::string& job, int run);

// The container of run number `run`. Non-empty `args` replace the job's
// command, as `docker compose run SERVICE ARGS` does.
engine::ContainerSpec job_spec(const stack::Stack& stack, const stack::Job& job, int run,
                               const std::vector<std::string>& args);

// Makes the job's image ready as `up` makes a service's: built when its
// context changed (or always), pulled when missing. Returns its id.
std::string prepare_job_image(engine::Engine& engine, const stack::Job& job, BuildPolicy build, util::Output& out);

// The run number a label value gives (0 when none).
int job_run_number(const engine::Labels& labels);

// How a run ended.
struct JobOutcome {
    std::string container;  // its name
    int exit_code = 0;      // the job's own, as the engine reports it
    bool timed_out = false;
    bool interrupted = false;
};

class JobRun {
public:
    JobRun(engine::Engine& engine, Clock& clock, const stack::Stack& stack, const stack::Job& job, util::Output& out);

    // Makes the image ready (build when the context changed, pull when missing),
    // the stack's network, removes this job's earlier finished containers, then
    // creates and starts a new one. Returns its name.
    std::string start(const std::vector<std::string>& args, BuildPolicy build = BuildPolicy::when_changed);

    // Streams the container's output to `sink` as it is written, and waits until
    // it ends: by itself, at the job's timeout (stopped), or after cancel().
    JobOutcome wait(const engine::LogSink& sink);

    // From another thread (a signal): stops the container. False when there is
    // none yet (the caller may then simply exit); a start after it does nothing.
    bool cancel();

    // How long `stop` lets the job end after SIGTERM before it is killed.
    static constexpr int stop_timeout_s = 10;

private:
    // The next run number, from the job's containers on the engine; removes the finished ones.
    int clear_finished_runs();
    void ensure_network();
    void stop(const char* why);

    engine::Engine& engine_;
    Clock& clock_;
    const stack::Stack& stack_;
    const stack::Job& job_;
    util::Output& out_;

    std::mutex mutex_;  // guards id_, cancelled_, timed_out_ against cancel() and the timeout
    std::string id_;
    std::string name_;
    bool cancelled_ = false;
    bool timed_out_ = false;
    std::atomic<bool> finished_{false};
};

}  // namespace mldeploy::deploy
