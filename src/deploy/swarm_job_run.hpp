// One run of a stack's job on a swarm (`mldeploy run` when the stack's target
// is swarm): a replicated job service of one task that Swarm never restarts,
// on the stack's overlay network, so that the job reaches the model services
// by name as on one engine. Its output is the task container's log, streamed
// while it runs; its exit code the task's. At the timeout or on cancel() the
// task's container is stopped (dockerd 20.10 leaves the task of a removed job
// running) and the service removed. The finished service is kept, as
// the engine target keeps the finished container, until the next run of the
// job. The engine, the swarm and the clock are injected (tests/unit/swarm_test.cpp).
#pragma once

#include "deploy/clock.hpp"
#include "deploy/images.hpp"
#include "deploy/job_run.hpp"
#include "engine/swarm.hpp"
#include "stack/model.hpp"
#include "util/output.hpp"

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

namespace mldeploy::deploy {

class SwarmJobRun {
public:
    SwarmJobRun(engine::Engine& engine, engine::Swarm& swarm, Clock& clock, const stack::Stack& stack,
                const stack::Job& job, util::Output& out);

    // Makes the image ready, the overlay network, removes the job's finished
    // runs, then creates the job's service. Returns its name.
    std::string start(const std::vector<std::string>& args, BuildPolicy build = BuildPolicy::when_changed);

    // Streams the task's output to `sink` and waits until the task ends: by
    // itself, at the job's timeout, or after cancel(). A task Swarm rejects (no
    // such image, no node that fits) throws DeployError with Swarm's words.
    JobOutcome wait(const engine::LogSink& sink);

    // From another thread: removes the service. False when there is none yet.
    bool cancel();

    static constexpr std::chrono::milliseconds poll_interval{250};

private:
    int clear_finished_runs();
    void ensure_network();
    void remove(const char* why);

    engine::Engine& engine_;
    engine::Swarm& swarm_;
    Clock& clock_;
    const stack::Stack& stack_;
    const stack::Job& job_;
    util::Output& out_;

    std::mutex mutex_;  // guards id_ and the flags against cancel()
    std::string id_;
    std::string name_;
    std::string container_;  // the task's container, when it runs on this node
    bool cancelled_ = false;
    bool timed_out_ = false;
    bool removed_ = false;
};

}  // namespace mldeploy::deploy
