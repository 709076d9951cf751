// `mldeploy run`'s rules on the fake engine: the job's container (name, labels,
// network, command), its exit code, its timeout, an interrupt, and which
// finished runs are kept.
#include "deploy/job_run.hpp"
#include "deploy_world.hpp"
#include "plan/specs.hpp"

#include <doctest/doctest.h>

#include <thread>

using namespace mldeploy;
using namespace std::chrono_literals;
using test::Behavior;
using test::World;

namespace {

stack::Stack job_stack() {
    auto s = test::demo_stack(1);
    stack::Job train;
    train.name = "train";
    train.image = "acme/train:1";
    train.command = {"python3", "train.py"};
    train.env = {{"EPOCHS", "3"}};
    train.volumes = {{"/srv/artifacts", "/out", "", true}};
    train.resources.cpus = 2;
    s.jobs = {train};
    return s;
}

struct JobWorld : World {
    stack::Stack stack = job_stack();
    std::vector<std::string> lines;

    JobWorld() { engine.add_image("acme/train:1", "sha256:train1"); }

    deploy::JobOutcome run(std::vector<std::string> args = {}) {
        deploy::JobRun job(engine, clock, stack, stack.jobs[0], out);
        job.start(args);
        return job.wait([this](engine::LogStream, std::string_view line) { lines.emplace_back(line); });
    }
};

int count(const std::vector<test::Call>& calls, const std::string& method) {
    return static_cast<int>(std::count_if(calls.begin(), calls.end(), [&](auto& c) { return c.method == method; }));
}

}  // namespace

TEST_SUITE("job run") {
    TEST_CASE("the job's container: name, labels, the stack's network, its settings") {
        const auto s = job_stack();
        const auto spec = deploy::job_spec(s, s.jobs[0], 4, {});
        CHECK(spec.name == "demo-job-train-4");
        CHECK(spec.labels.at("io.mldeploy.stack") == "demo");
        CHECK(spec.labels.at("io.mldeploy.role") == "job");
        CHECK(spec.labels.at("io.mldeploy.job") == "train");
        CHECK(spec.labels.at("io.mldeploy.run") == "4");
        CHECK(spec.network == "demo_net");
        CHECK(spec.restart_policy == "no");
        CHECK(spec.command == std::vector<std::string>{"python3", "train.py"});
        CHECK(spec.env.at("EPOCHS") == "3");
        CHECK(spec.cpus == 2.0);
        REQUIRE(spec.mounts.size() == 1);
        CHECK(spec.mounts[0].target == "/out");
    }

    TEST_CASE("ARGS replace the command") {
        const auto s = job_stack();
        CHECK(deploy::job_spec(s, s.jobs[0], 1, {"sh", "-c", "exit 3"}).command ==
              std::vector<std::string>{"sh", "-c", "exit 3"});
    }

    TEST_CASE("a run: network made, container started, output streamed, exit code returned, container kept") {
        JobWorld w;
        w.engine.script("demo-job-train-1", Behavior{0, 3, std::nullopt, 0ms, {"epoch 1", "epoch 2"}});
        const auto outcome = w.run();
        CHECK(outcome.exit_code == 3);
        CHECK_FALSE(outcome.timed_out);
        CHECK_FALSE(outcome.interrupted);
        CHECK(outcome.container == "demo-job-train-1");
        CHECK(w.lines == std::vector<std::string>{"epoch 1", "epoch 2"});
        CHECK(w.engine.has_network("demo_net"));
        const auto c = w.engine.container("demo-job-train-1");
        REQUIRE(c);
        CHECK(c->state == "exited");
        CHECK(c->network == "demo_net");
        CHECK(count(w.engine.calls(), "wait_container") == 1);
    }

    TEST_CASE("a new run removes the job's last finished one, and leaves a running one alone") {
        JobWorld w;
        w.engine.script("demo-job-train-1", Behavior{0, 0, std::nullopt, 0ms, {}});
        w.engine.script("demo-job-train-2", Behavior{0, 0, std::nullopt, 0ms, {}});
        w.engine.script("demo-job-train-3", Behavior{0, 0, std::nullopt, 0ms, {}});
        CHECK(w.run().exit_code == 0);
        // Another run of the job, still running, made elsewhere.
        auto other = deploy::job_spec(w.stack, w.stack.jobs[0], 2, {});
        w.engine.add_running_container(other);
        CHECK(w.run().container == "demo-job-train-3");
        CHECK_FALSE(w.engine.container("demo-job-train-1"));
        CHECK(w.engine.container("demo-job-train-2"));
        CHECK(w.engine.container("demo-job-train-3"));
    }

    TEST_CASE("a name taken meanwhile: the next number") {
        JobWorld w;
        engine::ContainerSpec squatter;
        squatter.name = "demo-job-train-1";  // without the job's labels: not seen as a run
        w.engine.add_running_container(squatter);
        w.engine.script("demo-job-train-2", Behavior{0, 0, std::nullopt, 0ms, {}});
        CHECK(w.run().container == "demo-job-train-2");
    }

    TEST_CASE("past its timeout the job is stopped and the run says so") {
        JobWorld w;
        w.stack.jobs[0].timeout = 2s;  // the container runs until stopped
        const auto outcome = w.run();
        CHECK(outcome.timed_out);
        CHECK(w.engine.container("demo-job-train-1")->state == "exited");
        CHECK(count(w.engine.calls(), "stop_container") == 1);
        CHECK(w.clock.slept() >= 2s);
    }

    TEST_CASE("cancel before a container exists: nothing is started") {
        JobWorld w;
        deploy::JobRun job(w.engine, w.clock, w.stack, w.stack.jobs[0], w.out);
        CHECK_FALSE(job.cancel());
        CHECK(job.start({}).empty());
        CHECK(count(w.engine.calls(), "create_container") == 0);
    }

    TEST_CASE("cancel while it runs: stopped, reported as interrupted") {
        JobWorld w;
        deploy::JobRun job(w.engine, w.clock, w.stack, w.stack.jobs[0], w.out);
        job.start({});
        std::thread interrupt([&] {
            // Once the wait is under way (the fake's wait blocks until a stop).
            while (count(w.engine.calls(), "wait_container") == 0) std::this_thread::sleep_for(1ms);
            CHECK(job.cancel());
        });
        const auto outcome = job.wait([](engine::LogStream, std::string_view) {});
        interrupt.join();
        CHECK(outcome.interrupted);
        CHECK_FALSE(outcome.timed_out);
        CHECK(w.engine.container("demo-job-train-1")->state == "exited");
    }

    TEST_CASE("a start that fails leaves no container") {
        JobWorld w;
        w.engine.script("demo-job-train-1",
                        Behavior{std::nullopt, 1, std::string("unresolvable CDI devices nvidia.com/gpu=all"), 0ms, {}});
        deploy::JobRun job(w.engine, w.clock, w.stack, w.stack.jobs[0], w.out);
        CHECK_THROWS_WITH_AS(job.start({}), doctest::Contains("unresolvable CDI devices"), engine::EngineError);
        CHECK_FALSE(w.engine.container("demo-job-train-1"));
    }

    TEST_CASE("up and scale leave job containers alone") {
        JobWorld w;
        w.up(w.stack);
        w.engine.script("demo-job-train-1", Behavior{0, 0, std::nullopt, 0ms, {}});
        w.run();
        w.up(w.stack);
        CHECK(w.engine.container("demo-job-train-1"));
    }
}
