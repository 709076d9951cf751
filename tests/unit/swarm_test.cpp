// The swarm target without a swarm: the service bodies Swarm is sent, the plan
// (desired services against what Swarm holds), the refusal of local-only images
// on a multi-node swarm, and SwarmSession on a fake Swarm (create, update,
// scale, a rolled-back update, removal).
#include "engine/swarm.hpp"
#include "deploy/errors.hpp"
#include "deploy/swarm_job_run.hpp"
#include "deploy/swarm_session.hpp"
#include "deploy_world.hpp"
#include "plan/swarm.hpp"
#include "stack/load.hpp"

#include <doctest/doctest.h>

using namespace mldeploy;
using namespace mldeploy::test;
namespace sw = mldeploy::plan::swarm;
using Kind = sw::ServiceAction::Kind;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string joined(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
}

// Swarm as the deploy layer sees it, in memory: services with their specs and
// tasks (every task runs at once), configs; an update can be scripted to be
// rolled back, as Swarm does when the new tasks fail.
class FakeSwarm : public engine::Swarm {
public:
    explicit FakeSwarm(FakeEngine& engine) : engine_(engine) {}

    int nodes = 1;
    bool roll_back_updates = false;
    std::vector<std::string> calls;
    // How a job's task ends, by service name: after `polls` lists of its tasks
    // it is in `state` with `exit_code`; its container writes `lines`. A job
    // without a script runs until removed.
    struct JobScript {
        int polls = 1;
        std::string state = "complete";
        int exit_code = 0;
        std::vector<std::string> lines;
        std::string error;
    };
    std::map<std::string, JobScript> jobs;

    engine::SwarmStatus swarm_status() override { return {"active", true, nodes, "node1"}; }

    std::string create_service(const engine::ServiceSpec& spec) override {
        calls.push_back("create_service " + spec.name);
        const auto id = "svc-" + spec.name;
        if (services_.contains(id)) throw engine::EngineError("create service " + spec.name, 409, "name conflicts");
        auto& s = services_[id];
        s.state.id = id;
        set_spec(s, spec);
        if (spec.job) {
            // The task's container, on the fake engine, so that its log can be followed.
            const auto it = jobs.find(spec.name);
            Behavior behavior;
            if (it != jobs.end()) behavior.log_lines = it->second.lines;
            engine_.script(spec.name + ".1", behavior);
            engine::ContainerSpec container;
            container.name = spec.name + ".1";
            s.tasks.front().container_id = engine_.add_running_container(container);
            s.tasks.front().node_id = "node1";
        }
        return id;
    }
    void update_service(const engine::ServiceState& current, const engine::ServiceSpec& spec) override {
        calls.push_back("update_service " + spec.name);
        auto& s = services_.at(current.id);
        CHECK(current.version == s.state.version);
        if (roll_back_updates) {
            ++s.state.version;
            s.state.update_state = "rollback_completed";
            s.state.update_message = "update rolled back due to failure or early termination of task abc";
            engine::TaskState failed;
            failed.id = "failed-task";
            failed.service_id = current.id;
            failed.slot = 1;
            failed.state = "failed";
            failed.desired_state = "shutdown";
            failed.error = "task: non-zero exit (1)";
            failed.container_labels = spec.container_labels;
            s.tasks.push_back(failed);
            return;
        }
        set_spec(s, spec);
        s.state.update_state = "completed";
    }
    void scale_service(const engine::ServiceState& current, int replicas) override {
        calls.push_back("scale_service " + current.name + " " + std::to_string(replicas));
        auto& s = services_.at(current.id);
        auto spec = s.spec;
        spec.replicas = replicas;
        set_spec(s, spec);
    }
    engine::ServiceState inspect_service(const std::string& id_or_name) override {
        for (auto& [id, s] : services_)
            if (id == id_or_name || s.state.name == id_or_name) return s.state;
        throw engine::EngineError("inspect service " + id_or_name, 404, "service not found");
    }
    std::vector<engine::ServiceState> list_services(const engine::Labels& filter) override {
        std::vector<engine::ServiceState> out;
        for (auto& [id, s] : services_) {
            bool match = true;
            for (const auto& [k, v] : filter) {
                auto it = s.state.labels.find(k);
                if (it == s.state.labels.end() || (!v.empty() && it->second != v)) match = false;
            }
            if (match) out.push_back(s.state);
        }
        return out;
    }
    void remove_service(const std::string& id) override {
        calls.push_back("remove_service " + id);
        services_.erase(id);
    }
    std::vector<engine::TaskState> list_tasks(const std::string& service_id) override {
        const auto it = services_.find(service_id);
        if (it == services_.end()) throw engine::EngineError("list tasks " + service_id, 404, "service not found");
        auto& s = it->second;
        if (s.spec.job) {
            ++s.polls;
            const auto script = jobs.find(s.spec.name);
            if (script != jobs.end() && s.polls >= script->second.polls) {
                auto& t = s.tasks.front();
                t.state = script->second.state;
                t.desired_state = "complete";
                t.exit_code = script->second.exit_code;
                t.error = script->second.error;
            }
        }
        return s.tasks;
    }
    // A finished job's task, as a run before this one left it.
    void finish_job(const std::string& name) {
        for (auto& [id, s] : services_)
            if (s.state.name == name) s.tasks.front().state = "complete";
    }
    void service_logs(const std::string&, const engine::Engine::LogOptions&, const ServiceLogSink&) override {}
    std::string create_config(const std::string& name, const std::string& data, const engine::Labels& labels) override {
        calls.push_back("create_config " + name);
        configs_.push_back({"cfg-" + name, name, labels});
        config_data[name] = data;
        return "cfg-" + name;
    }
    std::vector<engine::ConfigSummary> list_configs(const engine::Labels&) override { return configs_; }
    void remove_config(const std::string& id) override {
        calls.push_back("remove_config " + id);
        std::erase_if(configs_, [&](const auto& c) { return c.id == id; });
    }
    void create_overlay_network(const std::string& name, const engine::Labels& labels) override {
        calls.push_back("create_overlay_network " + name);
        engine_.create_network(name, labels);
    }

    const engine::ServiceSpec& spec_of(const std::string& name) { return services_.at("svc-" + name).spec; }
    std::size_t service_count() const { return services_.size(); }
    std::map<std::string, std::string> config_data;

private:
    struct Held {
        engine::ServiceState state;
        engine::ServiceSpec spec;
        std::vector<engine::TaskState> tasks;
        int polls = 0;
    };
    void set_spec(Held& s, const engine::ServiceSpec& spec) {
        s.spec = spec;
        ++s.state.version;
        s.state.name = spec.name;
        s.state.labels = spec.labels;
        s.state.replicas = spec.replicas;
        s.state.image = spec.image;
        s.tasks.clear();
        for (int i = 1; i <= spec.replicas.value_or(1); ++i) {
            engine::TaskState t;
            t.id = spec.name + "-task-" + std::to_string(i);
            t.service_id = s.state.id;
            t.slot = spec.replicas ? i : 0;
            t.state = "running";
            t.desired_state = "running";
            t.container_labels = spec.container_labels;
            t.image = spec.image;
            s.tasks.push_back(t);
        }
    }

    FakeEngine& engine_;
    std::map<std::string, Held> services_;
    std::vector<engine::ConfigSummary> configs_;
};

stack::Stack job_stack() {
    auto s = demo_stack(1);
    stack::Job train;
    train.name = "train";
    train.image = "acme/train:1";
    train.command = {"python3", "train.py"};
    train.env = {{"EPOCHS", "3"}};
    train.resources.cpus = 2;
    s.jobs = {train};
    return s;
}

struct SwarmWorld : World {
    FakeSwarm swarm{engine};
    SwarmWorld() { prober.script_url("http://127.0.0.1:9090/_mldeploy/health", {200, "", "ok"}); }

    deploy::SwarmSession session(const stack::Stack& stack, deploy::SwarmOptions options = {}) {
        return deploy::SwarmSession(engine, swarm, stack, out, std::move(options),
                                    deploy::Collaborators{&clock, &prober});
    }
    void up(const stack::Stack& stack, deploy::SwarmOptions options = {}) {
        auto s = session(stack, std::move(options));
        s.apply(s.plan());
    }
};

}  // namespace

TEST_SUITE("swarm") {
    TEST_CASE("swarm: a model service's body is dnsrr, rolls start-first with rollback, checks health cheaply") {
        const auto stack = demo_stack(3);
        const auto spec = sw::with_hash(sw::model_service(stack, stack.services.front(), "sha256:llm1", 3));
        const auto body = engine::swarm_service_body(spec);
        CHECK(body["Name"] == "demo-llm");
        CHECK(body["Labels"]["io.mldeploy.stack"] == "demo");
        CHECK(body["Labels"]["io.mldeploy.role"] == "model");
        CHECK(body["Labels"]["io.mldeploy.service"] == "llm");
        CHECK(body["Mode"]["Replicated"]["Replicas"] == 3);
        CHECK(body["EndpointSpec"]["Mode"] == "dnsrr");
        CHECK(body["TaskTemplate"]["ContainerSpec"]["Image"] == "sha256:llm1");
        CHECK(body["TaskTemplate"]["ContainerSpec"]["Env"] == nlohmann::json::array({"MODEL=v1"}));
        CHECK(body["TaskTemplate"]["Networks"][0]["Target"] == "demo_net");
        CHECK(body["TaskTemplate"]["Networks"][0]["Aliases"] == nlohmann::json::array({"llm"}));
        CHECK(body["UpdateConfig"]["Order"] == "start-first");
        CHECK(body["UpdateConfig"]["FailureAction"] == "rollback");
        CHECK(body["UpdateConfig"]["Parallelism"] == 1);
        CHECK(body["RollbackConfig"]["FailureAction"] == "pause");
        CHECK(body["TaskTemplate"]["RestartPolicy"]["Condition"] == "none");  // restart = "no"
        const auto& health = body["TaskTemplate"]["ContainerSpec"]["HealthCheck"];
        CHECK(health["Test"][0] == "CMD-SHELL");
        const auto test = health["Test"][1].get<std::string>();
        CHECK(contains(test, "http://127.0.0.1:8000/healthz"));
        CHECK(contains(test, "/dev/tcp/127.0.0.1/8000"));
        CHECK_FALSE(contains(test, "python"));
        CHECK(health["Interval"] == 1000000000LL);
        CHECK(health["Timeout"] == 6000000000LL);  // the stack's 1 s, plus 5 s for Docker's exec
        CHECK(health["Retries"] == 2);
        // The task's container shows which spec it was made from.
        CHECK(body["TaskTemplate"]["ContainerSpec"]["Labels"]["io.mldeploy.config-hash"] ==
              body["Labels"]["io.mldeploy.config-hash"]);
    }

    TEST_CASE("swarm: the balancer is global, published in host mode, its nginx.conf a config object") {
        const auto stack = demo_stack(2);
        const auto spec =
            sw::balancer_service(stack, "sha256:nginx", {"cfg1", "demo-nginx-abc", "/etc/mldeploy/nginx.conf"});
        const auto body = engine::swarm_service_body(spec);
        CHECK(body["Mode"].contains("Global"));
        CHECK(body["EndpointSpec"]["Ports"][0]["PublishMode"] == "host");
        CHECK(body["EndpointSpec"]["Ports"][0]["PublishedPort"] == 9090);
        CHECK(body["EndpointSpec"]["Ports"][0]["TargetPort"] == 80);
        CHECK(body["TaskTemplate"]["ContainerSpec"]["Configs"][0]["ConfigID"] == "cfg1");
        CHECK(body["TaskTemplate"]["ContainerSpec"]["Configs"][0]["File"]["Name"] == "/etc/mldeploy/nginx.conf");
        CHECK(body["UpdateConfig"]["Order"] == "stop-first");  // the host port is the node's
        const auto config = sw::balancer_config(stack);
        CHECK(contains(config, "resolver 127.0.0.11 valid=1s"));
        CHECK(contains(config, "set $mldeploy_target http://tasks.demo-llm:8000;"));
        CHECK(contains(config, "proxy_next_upstream error timeout"));
    }

    TEST_CASE("swarm: a job is a replicated job; what Swarm cannot take is refused") {
        engine::ServiceSpec job;
        job.name = "j";
        job.image = "x";
        job.replicas = 1;
        job.job = true;
        job.restart_condition = "none";
        CHECK(engine::swarm_service_body(job)["Mode"]["ReplicatedJob"]["TotalCompletions"] == 1);
        job.replicas.reset();
        CHECK_THROWS_AS(engine::swarm_service_body(job), std::invalid_argument);
        engine::ServiceSpec bad;
        bad.name = "b";
        bad.restart_condition = "always";
        CHECK_THROWS_WITH(engine::swarm_service_body(bad),
                          doctest::Contains("restart condition 'always' is not none, on-failure or any"));
    }

    TEST_CASE("swarm: a task's image is the local id on one node, the reference on more") {
        CHECK(sw::task_image({"acme/llm:1", "sha256:llm1"}, 1) == "sha256:llm1");
        CHECK(sw::task_image({"reg.example:5000/llm:1", "sha256:llm1"}, 3) == "reg.example:5000/llm:1");
        CHECK(sw::task_image({"acme/llm:1", ""}, 1) == "acme/llm:1");
    }

    TEST_CASE("swarm: the hash ignores the replica count and follows everything else") {
        const auto stack = demo_stack(2);
        const auto& svc = stack.services.front();
        CHECK(sw::spec_hash(sw::model_service(stack, svc, "i", 2)) ==
              sw::spec_hash(sw::model_service(stack, svc, "i", 5)));
        auto changed = stack;
        changed.services.front().env["MODEL"] = "v2";
        CHECK(sw::spec_hash(sw::model_service(stack, svc, "i", 2)) !=
              sw::spec_hash(sw::model_service(changed, changed.services.front(), "i", 2)));
        CHECK(sw::spec_hash(sw::model_service(stack, svc, "i", 2)) !=
              sw::spec_hash(sw::model_service(stack, svc, "j", 2)));
    }

    TEST_CASE("swarm: the plan from nothing, then no change, an update, a scale, a removal") {
        const auto stack = demo_stack(2);
        sw::Desired d;
        d.models = {sw::with_hash(sw::model_service(stack, stack.services.front(), "sha256:llm1", 2))};
        d.config = sw::config_name(stack, sw::balancer_config(stack));
        d.balancer =
            sw::with_hash(sw::balancer_service(stack, "sha256:nginx", {"", d.config, "/etc/mldeploy/nginx.conf"}));

        auto fresh = sw::make_plan(d, sw::Observed{}, "demo_net", {});
        CHECK(fresh.create_network);
        CHECK(fresh.create_config == d.config);
        REQUIRE(fresh.services.size() == 2);
        CHECK(fresh.services[0].kind == Kind::create);
        CHECK(fresh.services[1].kind == Kind::create);
        CHECK(joined(sw::describe(fresh)) ==
              "create overlay network demo_net\n"
              "create config " +
                  d.config +
                  " (the balancer's nginx.conf)\n"
                  "create service demo-llm (2 replica(s))\n"
                  "create service demo-balancer (global: one task per node)\n");

        const auto state = [](const engine::ServiceSpec& spec, int version = 1) {
            engine::ServiceState s;
            s.id = "id-" + spec.name;
            s.name = spec.name;
            s.version = static_cast<std::uint64_t>(version);
            s.labels = spec.labels;
            s.replicas = spec.replicas;
            return s;
        };
        auto observed = sw::observe({state(d.models[0]), state(d.balancer)}, {{"cfg", d.config, {}}}, true, 1);
        const auto same = sw::make_plan(d, observed, "demo_net", {});
        CHECK(same.empty());
        CHECK(joined(sw::describe(same)) == "no changes: the stack is up to date\n");

        auto changed = stack;
        changed.services.front().env["MODEL"] = "v2";
        auto d2 = d;
        d2.models = {sw::with_hash(sw::model_service(changed, changed.services.front(), "sha256:llm1", 2))};
        const auto update = sw::make_plan(d2, observed, "demo_net", {});
        CHECK(update.services[0].kind == Kind::update);
        CHECK(contains(joined(sw::describe(update)),
                       "update service demo-llm (config changed; Swarm rolls its tasks start-first, one at a time"));
        // scale never updates: only the count changes.
        const auto scale = sw::make_plan(d2, observed, "demo_net", {true, {{"llm", 4}}});
        CHECK(scale.services[0].kind == Kind::scale);
        CHECK(scale.services[0].to == 4);
        CHECK(joined(sw::describe(scale)) == "scale service demo-llm from 2 to 4 replica(s)\n");

        // An update Swarm paused is sent again; a service no longer in the stack goes; so do old configs.
        auto paused = observed;
        paused.services[0].update_state = "paused";
        paused.services.push_back({"id-old", "demo-old", "model", "old", "h", 1, ""});
        paused.configs.push_back({"cfg-old", "demo-nginx-old", {}});
        const auto repair = sw::make_plan(d, paused, "demo_net", {});
        CHECK(repair.services[0].kind == Kind::update);
        CHECK(contains(repair.services[0].reason, "stopped half-way: paused"));
        CHECK(repair.services.back().kind == Kind::remove);
        CHECK(repair.services.back().name == "demo-old");
        CHECK(repair.remove_configs == std::vector<std::string>{"cfg-old"});
    }

    TEST_CASE("swarm: an image only this machine holds is refused at plan time on a multi-node swarm") {
        auto stack = demo_stack(2);
        CHECK(sw::local_only_images(stack, 1).empty());
        const auto problems = sw::local_only_images(stack, 3);
        REQUIRE(problems.size() == 1);  // the balancer's docker.io/library/nginx names a registry
        CHECK(contains(problems[0], "service llm: image acme/llm:1 names no registry, and this swarm has 3 nodes"));
        CHECK(contains(problems[0], "mldeploy push"));

        SwarmWorld w;
        w.swarm.nodes = 3;
        auto session = w.session(stack);
        CHECK_THROWS_WITH_AS(session.plan(), doctest::Contains("cannot run on this 3-node swarm"), deploy::DeployError);
        CHECK(w.swarm.calls.empty());  // nothing made

        stack.services.front().image = "registry.example:5000/acme/llm:1";
        w.engine.add_image("registry.example:5000/acme/llm:1", "sha256:llm1");
        auto pushed = w.session(stack);
        const auto plan = pushed.plan();
        pushed.apply(plan);
        // More nodes: each pulls the reference, not this machine's id.
        CHECK(w.swarm.spec_of("demo-llm").image == "registry.example:5000/acme/llm:1");
    }

    TEST_CASE("swarm: up creates network, config and services; a second up changes nothing; a change updates") {
        SwarmWorld w;
        auto stack = demo_stack(2);
        w.up(stack);
        CHECK(w.swarm.calls ==
              std::vector<std::string>{"create_overlay_network demo_net",
                                       "create_config " + sw::config_name(stack, sw::balancer_config(stack)),
                                       "create_service demo-llm", "create_service demo-balancer"});
        CHECK(w.swarm.spec_of("demo-llm").image == "sha256:llm1");  // by id: no registry asked
        CHECK(w.swarm.spec_of("demo-balancer").configs.front().config_id.starts_with("cfg-"));

        w.swarm.calls.clear();
        {
            auto s = w.session(stack);
            const auto plan = s.plan();
            CHECK(joined(s.describe(plan)) == "no changes: the stack is up to date\n");
            s.apply(plan);
        }
        CHECK(w.swarm.calls.empty());

        stack.services.front().env["MODEL"] = "v2";
        w.up(stack);
        CHECK(w.swarm.calls == std::vector<std::string>{"update_service demo-llm"});
        CHECK(w.swarm.spec_of("demo-llm").env.at("MODEL") == "v2");

        w.swarm.calls.clear();
        deploy::scale_swarm_service(w.swarm, "demo", "llm", 4, w.out, &w.clock);
        CHECK(w.swarm.calls == std::vector<std::string>{"scale_service demo-llm 4"});
        CHECK(w.swarm.spec_of("demo-llm").replicas == 4);
    }

    TEST_CASE("swarm: an update Swarm rolled back fails `up` with Swarm's reason and the new task's error") {
        SwarmWorld w;
        auto stack = demo_stack(2);
        w.up(stack);
        w.swarm.roll_back_updates = true;
        stack.services.front().env["MODEL"] = "broken";
        CHECK_THROWS_WITH_AS(w.up(stack),
                             doctest::Contains("service demo-llm: Swarm rolled the update back (update rolled back due "
                                               "to failure or early termination of task abc); the new version's task "
                                               "svc-demo-llm.1 failed: task: non-zero exit (1)"),
                             deploy::DeployError);
    }

    TEST_CASE("swarm: a changed route is a new config and a balancer update; the old config goes") {
        SwarmWorld w;
        auto stack = demo_stack(1);
        w.up(stack);
        const auto first = sw::config_name(stack, sw::balancer_config(stack));
        stack.balancer.timeout = std::chrono::seconds(60);
        w.swarm.calls.clear();
        w.up(stack);
        const auto second = sw::config_name(stack, sw::balancer_config(stack));
        CHECK(first != second);
        CHECK(w.swarm.calls == std::vector<std::string>{"create_config " + second, "update_service demo-balancer",
                                                        "remove_config cfg-" + first});
        CHECK(contains(w.swarm.config_data.at(second), "proxy_read_timeout 1m"));
    }

    TEST_CASE("swarm: down removes the balancer first, then the services, configs and network") {
        SwarmWorld w;
        w.up(demo_stack(2));
        const auto removed = deploy::remove_swarm_stack(w.engine, w.swarm, "demo", w.out, &w.clock);
        CHECK(removed == 4);
        CHECK(w.swarm.service_count() == 0);
        CHECK(w.swarm.list_configs({}).empty());
        CHECK(w.engine.list_networks({}).empty());
        CHECK(w.swarm.calls[w.swarm.calls.size() - 3] == "remove_service svc-demo-balancer");
    }

    TEST_CASE("swarm: target is a top-level key, engine or swarm") {
        const auto stack = stack::load_stack_text(
            "name = \"s\"\ntarget = \"swarm\"\n[services.m]\nimage = \"x\"\nport = 80\n"
            "[balancer]\nport = 8080\n",
            "s.toml");
        CHECK(stack.target == "swarm");
        CHECK_THROWS_WITH(stack::load_stack_text("name = \"s\"\ntarget = \"swarn\"\n[services.m]\nimage = \"x\"\n"
                                                 "port = 80\n[balancer]\nport = 8080\n",
                                                 "s.toml"),
                          doctest::Contains("did you mean 'swarm'"));
    }

    TEST_CASE("swarm: a job run is a replicated job of one task, never restarted, on the overlay network") {
        const auto stack = job_stack();
        const auto spec = sw::job_service(stack, stack.jobs[0], "sha256:train1", 4, {});
        CHECK(spec.name == "demo-job-train-4");
        CHECK(spec.labels.at("io.mldeploy.role") == "job");
        CHECK(spec.labels.at("io.mldeploy.job") == "train");
        CHECK(spec.labels.at("io.mldeploy.run") == "4");
        CHECK_FALSE(spec.container_labels.contains("io.mldeploy.stack"));  // not a container of the engine target
        const auto body = engine::swarm_service_body(spec);
        CHECK(body["Mode"]["ReplicatedJob"]["TotalCompletions"] == 1);
        CHECK(body["TaskTemplate"]["RestartPolicy"]["Condition"] == "none");
        CHECK(body["TaskTemplate"]["ContainerSpec"]["Image"] == "sha256:train1");
        CHECK(body["TaskTemplate"]["ContainerSpec"]["Args"] == nlohmann::json::array({"python3", "train.py"}));
        CHECK(body["TaskTemplate"]["Networks"][0]["Target"] == "demo_net");
        CHECK(sw::job_service(stack, stack.jobs[0], "x", 1, {"sh", "-c", "exit 3"}).command ==
              std::vector<std::string>{"sh", "-c", "exit 3"});
    }

    TEST_CASE("swarm: run makes the network, starts the job's service, streams its output, returns its code") {
        SwarmWorld w;
        const auto stack = job_stack();
        w.engine.add_image("acme/train:1", "sha256:train1");
        w.swarm.jobs["demo-job-train-1"] = {3, "failed", 3, {"epoch 1", "epoch 2"}, "task: non-zero exit (3)"};
        deploy::SwarmJobRun run(w.engine, w.swarm, w.clock, stack, stack.jobs[0], w.out);
        CHECK(run.start({}) == "demo-job-train-1");
        std::vector<std::string> lines;
        const auto outcome = run.wait([&](engine::LogStream, std::string_view l) { lines.emplace_back(l); });
        CHECK(outcome.exit_code == 3);
        CHECK_FALSE(outcome.timed_out);
        CHECK_FALSE(outcome.interrupted);
        CHECK(lines == std::vector<std::string>{"epoch 1", "epoch 2"});
        CHECK(w.swarm.calls ==
              std::vector<std::string>{"create_overlay_network demo_net", "create_service demo-job-train-1"});
        CHECK(w.swarm.spec_of("demo-job-train-1").image == "sha256:train1");  // one node: no registry asked
        CHECK(w.swarm.service_count() == 1);                                  // kept, as a finished container is
    }

    TEST_CASE("swarm: a new run removes the job's finished runs and leaves a running one alone") {
        SwarmWorld w;
        const auto stack = job_stack();
        w.engine.add_image("acme/train:1", "sha256:train1");
        w.swarm.create_service(sw::job_service(stack, stack.jobs[0], "x", 1, {}));
        w.swarm.finish_job("demo-job-train-1");
        w.swarm.create_service(sw::job_service(stack, stack.jobs[0], "x", 2, {}));  // still running
        w.swarm.jobs["demo-job-train-3"] = {};
        deploy::SwarmJobRun run(w.engine, w.swarm, w.clock, stack, stack.jobs[0], w.out);
        CHECK(run.start({}) == "demo-job-train-3");
        CHECK(run.wait([](auto, auto) {}).exit_code == 0);
        CHECK_THROWS(w.swarm.inspect_service("demo-job-train-1"));
        CHECK(w.swarm.inspect_service("demo-job-train-2").name == "demo-job-train-2");
    }

    TEST_CASE("swarm: past its timeout the job's service is removed and the run says so") {
        SwarmWorld w;
        auto stack = job_stack();
        stack.jobs[0].timeout = std::chrono::milliseconds(2000);
        w.engine.add_image("acme/train:1", "sha256:train1");
        deploy::SwarmJobRun run(w.engine, w.swarm, w.clock, stack, stack.jobs[0], w.out);
        run.start({});
        const auto outcome = run.wait([](auto, auto) {});
        CHECK(outcome.timed_out);
        // Stopped by mldeploy: dockerd 20.10 leaves a removed job's task running.
        CHECK(w.engine.container("demo-job-train-1.1")->state == "exited");
        CHECK(w.swarm.service_count() == 0);
        CHECK(w.clock.slept() >= std::chrono::milliseconds(2000));
    }

    TEST_CASE("swarm: a task Swarm rejects fails the run with Swarm's words") {
        SwarmWorld w;
        const auto stack = job_stack();
        w.engine.add_image("acme/train:1", "sha256:train1");
        w.swarm.jobs["demo-job-train-1"] = {1, "rejected", 0, {}, "No such image: sha256:train1"};
        deploy::SwarmJobRun run(w.engine, w.swarm, w.clock, stack, stack.jobs[0], w.out);
        run.start({});
        CHECK_THROWS_WITH_AS(run.wait([](auto, auto) {}), doctest::Contains("No such image: sha256:train1"),
                             deploy::DeployError);
    }

    TEST_CASE("swarm: cancel removes the job's service and the run is interrupted") {
        SwarmWorld w;
        const auto stack = job_stack();
        w.engine.add_image("acme/train:1", "sha256:train1");
        deploy::SwarmJobRun run(w.engine, w.swarm, w.clock, stack, stack.jobs[0], w.out);
        CHECK_FALSE(deploy::SwarmJobRun(w.engine, w.swarm, w.clock, stack, stack.jobs[0], w.out).cancel());
        run.start({});
        CHECK(run.cancel());
        const auto outcome = run.wait([](auto, auto) {});
        CHECK(outcome.interrupted);
        CHECK(w.engine.container("demo-job-train-1.1")->state == "exited");
        CHECK(w.swarm.service_count() == 0);
    }

    TEST_CASE("swarm: a job's image that only this machine holds is refused on a multi-node swarm") {
        SwarmWorld w;
        w.swarm.nodes = 3;
        const auto stack = job_stack();
        deploy::SwarmJobRun run(w.engine, w.swarm, w.clock, stack, stack.jobs[0], w.out);
        CHECK_THROWS_WITH_AS(run.start({}), doctest::Contains("mldeploy push"), deploy::DeployError);
        CHECK(w.swarm.service_count() == 0);
    }
}
