// mldeploy run JOB [-- ARGS...]: run one of the stack's jobs to completion on
// the stack's network (a Swarm job service on the swarm target), stream its
// output, exit with its exit status.
#include "cmd/commands.hpp"
#include "cmd/swarm_target.hpp"
#include "deploy/clock.hpp"
#include "deploy/job_run.hpp"
#include "deploy/swarm_job_run.hpp"
#include "util/units.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <memory>
#include <thread>

namespace mldeploy::cmd {
namespace {

constexpr int kTimedOut = 124;     // as timeout(1)
constexpr int kInterrupted = 130;  // 128 + SIGINT

const stack::Job& find_job(const stack::Stack& stack, const std::string& name) {
    if (const auto* job = stack.find_job(name)) return *job;
    std::vector<std::string> names;
    for (const auto& j : stack.jobs) names.push_back(j.name);
    if (names.empty())
        throw UsageError(fmt::format("no job '{}': {} has no [jobs.<name>] table", name, stack.file.string()));
    throw UsageError(fmt::format("no job '{}' in {}; its jobs: {}", name, stack.file.string(), fmt::join(names, ", ")));
}

// SIGINT and SIGTERM, taken by a thread of their own while the job runs, so
// that they stop the job's container instead of ending mldeploy with it running.
class SignalWatch {
public:
    explicit SignalWatch(std::function<void(int)> on_signal) {
        sigemptyset(&set_);
        sigaddset(&set_, SIGINT);
        sigaddset(&set_, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &set_, &old_);  // before any thread starts: they all inherit it
        thread_ = std::thread([this, on_signal = std::move(on_signal)] {
            const timespec slice{0, 200'000'000};
            while (!done_) {
                const int sig = sigtimedwait(&set_, nullptr, &slice);
                if (sig > 0) on_signal(sig);
            }
        });
    }
    ~SignalWatch() {
        done_ = true;
        thread_.join();
        pthread_sigmask(SIG_SETMASK, &old_, nullptr);
    }
    SignalWatch(const SignalWatch&) = delete;
    SignalWatch& operator=(const SignalWatch&) = delete;

private:
    sigset_t set_{};
    sigset_t old_{};
    std::atomic<bool> done_{false};
    std::thread thread_;
};

void write_line(std::FILE* stream, std::string_view line) {
    std::fwrite(line.data(), 1, line.size(), stream);
    std::fputc('\n', stream);
    std::fflush(stream);
}

// Either target's run (deploy::JobRun, deploy::SwarmJobRun) from start to its exit status.
template <typename Run>
int run_to_end(Run& run, const stack::Job& job, const std::vector<std::string>& args, bool build) {
    auto& out = output();
    SignalWatch signals([&](int) {
        if (!run.cancel()) {
            // Nothing runs yet (an image is being built or pulled): just end.
            out.error(fmt::format("interrupted: job {} was not started", job.name));
            std::_Exit(kInterrupted);
        }
    });
    run.start(args, build ? deploy::BuildPolicy::always : deploy::BuildPolicy::when_changed);
    const auto outcome = run.wait([](engine::LogStream stream, std::string_view line) {
        write_line(stream == engine::LogStream::stderr_ ? stderr : stdout, line);
    });
    if (outcome.interrupted) {
        out.error(fmt::format("interrupted: stopped job {} ({})", job.name, outcome.container));
        return kInterrupted;
    }
    if (outcome.timed_out) {
        out.error(fmt::format("job {} timed out after {}: stopped {} (exit status {})", job.name,
                              util::format_duration(*job.timeout), outcome.container, kTimedOut));
        return kTimedOut;
    }
    if (outcome.exit_code != 0)
        out.error(fmt::format("job {} failed: exit status {} ({})", job.name, outcome.exit_code, outcome.container));
    else
        out.done(fmt::format("job {} finished ({})", job.name, outcome.container));
    return outcome.exit_code;
}

int run_job(const GlobalOptions& g, const std::string& job_name, const std::vector<std::string>& args, bool build) {
    // stdout is the job's alone: `mldeploy run train > out.txt` holds only what it printed.
    output().progress_to_stderr();
    const auto stack = load_stack(g);
    const auto& job = find_job(stack, job_name);
    auto engine = connect_engine(g);
    if (auto swarm = stack_swarm(g, *engine, stack.name)) {
        deploy::SwarmJobRun run(*swarm, *swarm, deploy::system_clock(), stack, job, output());
        return run_to_end(run, job, args, build);
    }
    deploy::JobRun run(*engine, deploy::system_clock(), stack, job, output());
    return run_to_end(run, job, args, build);
}

}  // namespace

Command run_command() {
    return {"run", "Run one of the stack's jobs to completion and exit with its status",
            [](CLI::App& app) -> Runner {
                auto job = std::make_shared<std::string>();
                auto args = std::make_shared<std::vector<std::string>>();
                auto build = std::make_shared<bool>(false);
                app.add_option("JOB", *job, "A job of the stack file ([jobs.<name>])")->required();
                app.add_option("ARGS", *args, "After --: the command to run instead of the job's `command`");
                app.add_flag("--build", *build, "Build the job's image even when its context is unchanged");
                return [job, args, build](const GlobalOptions& g) { return run_job(g, *job, *args, *build); };
            },
            "mldeploy run train -- python3 train.py --epochs 1", uses::file | uses::host};
}

}  // namespace mldeploy::cmd
