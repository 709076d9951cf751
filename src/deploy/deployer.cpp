#include "deploy/deployer.hpp"

#include "deploy/errors.hpp"
#include "deploy/probe.hpp"
#include "plan/labels.hpp"
#include "plan/observe.hpp"
#include "plan/specs.hpp"
#include "render/nginx.hpp"
#include "stack/serialize.hpp"
#include "util/tar.hpp"
#include "util/untar.hpp"

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <future>
#include <thread>

namespace mldeploy::deploy {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPollInterval = std::chrono::milliseconds(100);
// A starting replica is probed more often than the engine is asked about it: a
// refused connection costs nothing, an inspect is a request to the engine.
constexpr auto kProbeInterval = std::chrono::milliseconds(40);
constexpr auto kCrashCheckInterval = std::chrono::milliseconds(400);
// nginx applies a reload asynchronously; old workers keep their in-flight
// requests. Leaving it this long before a replica is stopped is enough here.
constexpr auto kReloadSettle = std::chrono::milliseconds(300);

// One exec in the balancer does a whole reload (each exec costs several engine
// round trips): $1 the new config (empty: already copied to nginx.conf.next),
// $2 the running config's drain marker (empty: nobody to drain), $3 how long
// clients get to see their connections closed. Exit kConfigRejected when
// `nginx -t` refuses the new config; the running one is then left as it was.
// After the reload signal it waits (up to 5 s) until every worker that ran
// before has stopped accepting (its title becomes "... is shutting down"): with
// `reuseport` each worker has its own listening socket, and until then a new
// connection may still reach an old worker and its old configuration.
constexpr const char* kReloadScript = R"sh(d=/etc/mldeploy
rm -f "$d"/drain-*
if [ -n "$2" ]; then : >"$d/$2" && sleep "$3"; fi
if [ -n "$1" ]; then printf '%s' "$1" >"$d/nginx.conf.next" || exit 91; fi
if ! out=$(nginx -t -q -c "$d/nginx.conf.next" 2>&1); then
  rm -f "$d/nginx.conf.next"; [ -z "$2" ] || rm -f "$d/$2"
  printf '%s\n' "$out"; exit 90
fi
workers() {
  for p in /proc/[0-9]*; do
    [ "$(tr -d '\000' <"$p/cmdline" 2>/dev/null)" = "nginx: worker process" ] && echo "${p#/proc/}"
  done
}
old=$(workers)
mv "$d/nginx.conf.next" "$d/nginx.conf" && nginx -s reload -c "$d/nginx.conf" || exit
i=0
while [ "$i" -lt 500 ]; do
  left=$(workers); busy=
  for p in $old; do case " $(echo $left) " in *" $p "*) busy=1 ;; esac; done
  [ -z "$busy" ] && exit 0
  i=$((i + 1)); sleep 0.01
done)sh";
constexpr int kConfigRejected = 90;

// A new balancer's first files come in its environment; its command writes each
// one that is not there yet (a restarted balancer keeps what reloads wrote) and
// starts nginx without them in its environment.
constexpr const char* kFirstConfigVariable = "MLDEPLOY_FIRST_NGINX_CONF";
constexpr const char* kFirstStackVariable = "MLDEPLOY_FIRST_STACK_JSON";
constexpr const char* kFirstFilesScript = R"(d=/etc/mldeploy
mkdir -p "$d" || exit 1
if [ ! -f "$d/nginx.conf" ]; then printf '%s' "$MLDEPLOY_FIRST_NGINX_CONF" >"$d/nginx.conf" || exit 1; fi
if [ -n "$MLDEPLOY_FIRST_STACK_JSON" ] && [ ! -f "$d/stack.json" ]; then
  (umask 077 && printf '%s' "$MLDEPLOY_FIRST_STACK_JSON" >"$d/stack.json") || exit 1
fi
unset MLDEPLOY_FIRST_NGINX_CONF MLDEPLOY_FIRST_STACK_JSON
exec nginx -c "$d/nginx.conf" -g 'daemon off;')";
// Linux refuses a single argument over 128 KiB; larger configs are copied in.
constexpr size_t kLargestConfigArgument = 100 * 1024;

std::string state_word(const engine::ContainerDetails& d) { return d.state.empty() ? "unknown" : d.state; }

// Runs each task on its own thread and rethrows the first failure after all end.
void run_all(std::vector<std::function<void()>> tasks) {
    std::vector<std::future<void>> futures;
    futures.reserve(tasks.size());
    for (auto& t : tasks) futures.push_back(std::async(std::launch::async, std::move(t)));
    std::exception_ptr first;
    for (auto& f : futures) {
        try {
            f.get();
        } catch (...) {
            if (!first) first = std::current_exception();
        }
    }
    if (first) std::rethrow_exception(first);
}

}  // namespace

plan::Observed observe_stack(engine::Engine& engine, const stack::Stack& stack) {
    const auto labels = plan::stack_labels(stack);
    auto containers = engine.list_containers(labels);
    bool network_exists = false;
    for (const auto& n : engine.list_networks(labels))
        if (n.name == stack.network) network_exists = true;
    return plan::observe(containers, network_exists);
}

std::optional<stack::Stack> load_deployed_stack(engine::Engine& engine, const std::string& stack_name) {
    const auto balancers =
        engine.list_containers({{plan::label::stack, stack_name}, {plan::label::role, plan::label::role_balancer}});
    for (const auto& b : balancers) {
        std::string tar;
        try {
            tar = engine.get_archive(b.id, std::string(render::kBalancerConfigDir) + "/" + kDeployedStackFile);
        } catch (const engine::EngineError& e) {
            if (e.not_found()) continue;
            throw;
        }
        if (auto text = util::untar_file(tar, kDeployedStackFile))
            return stack::stack_from_json(nlohmann::json::parse(*text));
    }
    return std::nullopt;
}

Deployer::Deployer(engine::Engine& engine, const stack::Stack& stack, util::Output& out, DeployOptions options)
    : engine_(engine), stack_(stack), out_(out), options_(options), prober_(engine, [this] { return balancer_for_probes(); }) {}

std::string Deployer::balancer_for_probes() {
    if (balancer_starting_.valid()) return balancer_starting_.get();  // rethrows the balancer's failure
    if (balancer_id_) return *balancer_id_;
    throw DeployError(fmt::format("the replicas' addresses are not reachable from this host (a rootless engine?) and "
                                  "stack {} has no running balancer to probe them from",
                                  stack_.name));
}

plan::DesiredHashes Deployer::desired_hashes(const std::map<std::string, std::string>& service_images,
                                             const std::string& balancer_image) const {
    plan::DesiredHashes hashes;
    for (const auto& service : stack_.services) {
        const auto& image_id = service_images.at(service.name);
        hashes.service[service.name] = plan::replica_spec(stack_, service, 1, image_id).labels.at(plan::label::config_hash);
    }
    hashes.balancer = plan::balancer_spec(stack_, balancer_image).labels.at(plan::label::config_hash);
    return hashes;
}

void Deployer::adopt_running_members(const plan::Plan& plan, const plan::Observed& observed) {
    std::vector<std::function<void()>> lookups;
    for (const auto& c : observed.containers) {
        if (c.role == plan::label::role_balancer) {
            if (c.running() && plan.balancer == plan::BalancerAction::keep &&
                std::none_of(plan.remove.begin(), plan.remove.end(), [&](auto& r) { return r.id == c.id; })) {
                balancer_id_ = c.id;
                lookups.push_back([this] { learn_running_config(); });
            }
            continue;
        }
        const auto* service = stack_.find_service(c.service);
        const bool leaving = std::any_of(plan.remove.begin(), plan.remove.end(), [&](auto& r) { return r.id == c.id; });
        if (!c.running() || leaving || service == nullptr) continue;
        lookups.push_back([this, c, service] {
            auto address = replica_address(*service, c.id);
            std::lock_guard lock(members_mutex_);
            members_[{c.service, c.replica}] = Member{c.id, c.name, address};
        });
    }
    run_all(std::move(lookups));
}

std::string Deployer::replica_address(const stack::Service& service, const std::string& id) {
    const auto details = engine_.inspect_container(id);
    auto it = details.ip_by_network.find(stack_.network);
    if (it == details.ip_by_network.end() || it->second.empty())
        throw DeployError(fmt::format("replica {} has no address on network {}", details.name, stack_.network));
    const bool ipv6 = it->second.find(':') != std::string::npos;
    return (ipv6 ? "[" + it->second + "]" : it->second) + ":" + std::to_string(service.port);
}

void Deployer::fail_with_logs(const std::string& id, const std::string& what) {
    std::string tail;
    // Podman sometimes answers a running container's log request with nothing
    // although lines were written (seen on 4.3): ask again before saying so.
    for (int attempt = 0; attempt < 4 && tail.empty(); ++attempt) {
        if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(300));
        try {
            engine_.logs(id, false, 20, [&](engine::LogStream, std::string_view line) {
                if (line.find_first_not_of(" \t\r") == std::string_view::npos) return;
                tail += "\n    | ";
                tail += line;
            });
        } catch (const std::exception&) {
            // The logs are a courtesy; the failure itself is what must reach the user.
        }
    }
    throw DeployError(what + (tail.empty() ? "\n    (the container wrote no log lines)" : "\n  its last log lines:" + tail));
}

void Deployer::wait_healthy(const stack::Service& service, const std::string& id, const std::string& name) {
    const auto& health = service.health;
    const auto budget = health ? health->start_period + health->interval * health->retries
                               : std::chrono::milliseconds(30000);
    const auto deadline = Clock::now() + budget;
    std::string last_problem = "not started";
    std::string address;  // known once the replica runs
    bool cheap_probe = false;  // the route to `address` is a direct GET
    auto last_crash_check = Clock::now();
    while (Clock::now() < deadline) {
        if (address.empty() || !health) {
            const auto details = engine_.inspect_container(id);
            if (!details.running) {
                if (details.state == "exited" || details.state == "stopped" || details.state == "dead")
                    fail_with_logs(id, fmt::format("replica {} exited with code {} before it was healthy", name,
                                                   details.exit_code));
                last_problem = "state " + state_word(details);
            } else if (!health) {
                return;
            } else {
                auto it = details.ip_by_network.find(stack_.network);
                if (it != details.ip_by_network.end() && !it->second.empty()) {
                    address = it->second;
                    // A probe run inside the balancer is an exec: as costly as an inspect.
                    cheap_probe = probe_route(engine_, address) == ProbeRoute::direct;
                }
            }
        }
        if (!address.empty()) {
            const auto probe = prober_.get(address, service.port, health->path, health->timeout);
            if (probe.ok()) return;
            last_problem = probe.status ? fmt::format("GET {} answered {}", health->path, probe.status)
                                        : fmt::format("GET {}: {}", health->path, probe.error);
            // A replica that crashed does not answer; notice it rather than wait out the budget.
            if (probe.status == 0 && Clock::now() - last_crash_check >= kCrashCheckInterval) {
                last_crash_check = Clock::now();
                if (!engine_.inspect_container(id).running) address.clear();
            }
        }
        std::this_thread::sleep_for(!address.empty() && cheap_probe ? kProbeInterval : kPollInterval);
    }
    fail_with_logs(id, fmt::format("replica {} did not become healthy within {}s (last: {})", name,
                                   std::chrono::duration_cast<std::chrono::seconds>(budget).count(), last_problem));
}

Deployer::Member Deployer::start_replica(const stack::Service& service, int replica, const std::string& name,
                                         const std::string& image_id) {
    auto spec = plan::replica_spec(stack_, service, replica, image_id);
    spec.name = name;
    const auto started = Clock::now();
    std::string id;
    try {
        id = engine_.create_container(spec);
    } catch (const engine::EngineError& e) {
        // Another mldeploy run is creating the same replica right now: the name
        // is the engine's lock. Wait for that one instead of making a second.
        if (!e.conflict()) throw;
        // ...unless the name belongs to something else: another stack whose
        // names run into ours ("a-b" + "c" and "a" + "b-c"), or no stack at all.
        // The engine reserves the name a moment before the container can be
        // inspected (Podman and Docker alike): wait for it to show.
        std::optional<engine::ContainerDetails> other;
        for (int attempt = 0; attempt < 100 && !other; ++attempt) {
            try {
                other = engine_.inspect_container(name);
            } catch (const engine::EngineError& missing) {
                if (!missing.not_found()) throw;
                std::this_thread::sleep_for(kPollInterval);
            }
        }
        if (!other) return start_replica(service, replica, name, image_id);  // its creation failed: ours, then
        const auto owner = other->labels;
        const auto label_of = [&](const char* key) {
            auto it = owner.find(key);
            return it == owner.end() ? std::string("(none)") : it->second;
        };
        if (label_of(plan::label::stack) != stack_.name || label_of(plan::label::service) != service.name)
            throw DeployError(fmt::format("a container named {} already exists and is not this stack's (its stack "
                                          "label: {}); remove it or rename the stack or service",
                                          name, label_of(plan::label::stack)));
        out_.detail(fmt::format("{} is being created by another run; waiting for it", name));
        wait_healthy(service, name, name);
        return Member{engine_.inspect_container(name).id, name, replica_address(service, name)};
    }
    try {
        start_named(id, "replica " + name);
        wait_healthy(service, id, name);
        Member member{id, name, replica_address(service, id)};
        out_.done(fmt::format("{} {} ({:.1f}s)", name, service.health ? "healthy" : "running",
                              std::chrono::duration<double>(Clock::now() - started).count()));
        return member;
    } catch (...) {
        // Nothing half-made stays behind: a replica that never got healthy goes.
        try {
            engine_.remove_container(id);
        } catch (const std::exception&) {
        }
        throw;
    }
}

void Deployer::start_named(const std::string& id, const std::string& what) {
    try {
        engine_.start_container(id);
    } catch (const engine::EngineError& e) {
        // The engine's step names the container by id; the user knows it by name.
        throw engine::EngineError("start " + what, e.http_status(), e.engine_message());
    }
}

void Deployer::remove_container(const std::string& id, const std::string& name, int stop_timeout_s) {
    if (stop_timeout_s > 0) {
        try {
            engine_.stop_container(id, stop_timeout_s);
        } catch (const engine::EngineError& e) {
            if (!e.not_found()) out_.warn(fmt::format("stopping {}: {}", name, e.engine_message()));
        }
    }
    engine_.remove_container(id);
    out_.done(fmt::format("removed {}", name));
}

std::string Deployer::balancer_url(const std::string& path) const {
    auto host = stack_.balancer.host_ip;
    if (host == "0.0.0.0") host = "127.0.0.1";
    if (host == "::") host = "::1";
    return http_url(host, stack_.balancer.port, path);
}

bool Deployer::clients_connected() {
    // Only this probe's own connection: nobody to drain.
    const auto status = http_get(balancer_url("/_mldeploy/status"), std::chrono::milliseconds(1000));
    int active = -1;
    if (status.ok()) std::sscanf(status.body.c_str(), "Active connections: %d", &active);
    if (active == 1) return false;
    out_.detail(fmt::format("draining {} client connection(s) before the reload", active > 0 ? active - 1 : active));
    return true;
}

void Deployer::reload_balancer(const std::string& config, const std::string& running_marker) {
    const bool inline_config = config.size() <= kLargestConfigArgument;
    if (!inline_config)
        engine_.put_archive(*balancer_id_, render::kBalancerConfigDir, util::tar_files({{"nginx.conf.next", config, 0644}}));
    const auto drain = !running_marker.empty() && clients_connected() ? running_marker : std::string();
    const auto reload = engine_.exec(
        *balancer_id_, {"sh", "-c", kReloadScript, "mldeploy-reload", inline_config ? config : std::string(), drain,
                        fmt::format("{:.3f}", static_cast<double>(options_.connection_drain.count()) / 1000.0)});
    if (reload.exit_code == kConfigRejected)
        throw DeployError("nginx rejected the balancer configuration (the balancer keeps its previous one):\n" +
                          reload.output);
    if (reload.exit_code != 0) throw DeployError("nginx could not reload its configuration:\n" + reload.output);
    wait_config_live(*render::drain_marker_of(config));
    out_.detail("balancer reloaded");
}

void Deployer::wait_config_live(const std::string& marker) {
    // A reload is a signal: nginx starts new workers a moment later. Until one
    // of them answers, new connections may still meet the old configuration.
    const auto url = balancer_url("/_mldeploy/config");
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline) {
        const auto answer = http_get(url, std::chrono::milliseconds(1000));
        if (const auto live = render::parse_running_config(answer.body); live && live->drain_marker == marker) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    fail_with_logs(*balancer_id_, "the balancer did not load its new configuration within 10s");
}

void Deployer::wait_balancer_answers() {
    const auto url = balancer_url("/_mldeploy/health");
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    ProbeResult probe;
    while (Clock::now() < deadline) {
        probe = http_get(url, std::chrono::milliseconds(1000));
        if (probe.ok()) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    fail_with_logs(*balancer_id_, fmt::format("the balancer did not answer on {} within 30s (last: {})", url,
                                              probe.status ? std::to_string(probe.status) : probe.error));
}

void Deployer::create_balancer(const std::string& image_id) {
    auto spec = plan::balancer_spec(stack_, image_id);  // its config-hash label is already set
    running_.reset();
    // The first config and stack.json go in with the create call (kFirstFilesScript):
    // copying a file into a container costs 0.3 s (running) to 1 s (created) on
    // Podman 4.3, which mounts the container's storage for it.
    const auto first = balancer_files();
    const bool first_config_inline = first.config.size() <= kLargestConfigArgument;
    const bool first_stack_inline = first_config_inline && first.stack_json.size() <= kLargestConfigArgument;
    if (first_config_inline) {
        spec.env[kFirstConfigVariable] = first.config;
        if (first_stack_inline) spec.env[kFirstStackVariable] = first.stack_json;
        spec.command = {"sh", "-c", kFirstFilesScript};
    }
    out_.step(fmt::format("starting balancer {} on {}:{}", spec.name, stack_.balancer.host_ip, stack_.balancer.port));
    std::string id;
    try {
        id = engine_.create_container(spec);
    } catch (const engine::EngineError& e) {
        if (!e.conflict()) throw;
        // Made by a concurrent run: use it, with this run's view of the replicas.
        balancer_id_ = engine_.inspect_container(spec.name).id;
        const auto deadline = Clock::now() + std::chrono::seconds(30);
        while (!engine_.inspect_container(*balancer_id_).running && Clock::now() < deadline)
            std::this_thread::sleep_for(kPollInterval);
        wait_balancer_answers();  // then it serves /_mldeploy/config, and has its file
        learn_running_config();
        sync_balancer();
        return;
    }
    balancer_id_ = id;
    try {
        if (!first_config_inline) sync_balancer();  // the config goes in before nginx starts
        start_named(id, fmt::format("balancer {} on {}:{}", spec.name, stack_.balancer.host_ip, stack_.balancer.port));
        // A stack.json too large for the environment comes with the next sync.
        if (first_config_inline)
            running_ = render::RunningConfig{first.marker, first_stack_inline ? first.fingerprint : "stack-none"};
        wait_balancer_answers();
    } catch (...) {
        try {
            engine_.remove_container(id);
        } catch (const std::exception&) {
        }
        balancer_id_.reset();
        throw;
    }
    out_.done(fmt::format("balancer answers on port {}", stack_.balancer.port));
}

void Deployer::learn_running_config() {
    // The balancer says which config it runs in one GET on its port...
    if (const auto answer = http_get(balancer_url("/_mldeploy/config"), std::chrono::milliseconds(1000)); answer.ok()) {
        if ((running_ = render::parse_running_config(answer.body))) return;
    }
    // ...unless its config is older than that page, or it does not answer:
    // read the files themselves (a copy out of the container: slower).
    std::string tar;
    try {
        tar = engine_.get_archive(*balancer_id_, render::kBalancerConfigDir);
    } catch (const engine::EngineError& e) {
        // A balancer that has not written its first config yet: unknown, so written anew.
        if (!e.not_found()) throw;
        running_.reset();
        return;
    }
    const auto config = util::untar_file(tar, "nginx.conf").value_or("");
    running_ = render::RunningConfig{render::drain_marker_of(config).value_or(""),
                                     render::stack_fingerprint_of(util::untar_file(tar, kDeployedStackFile).value_or(""))};
}

Deployer::BalancerFiles Deployer::balancer_files() {
    render::ReplicaAddresses addresses;
    {
        std::lock_guard lock(members_mutex_);
        for (const auto& [slot, member] : members_) addresses[slot.first].push_back(member.address);
    }
    BalancerFiles files;
    // The stack as `up` was given it: replica counts as in its file, so that
    // `scale` does not have to copy a new one in (scale -s counts the replicas
    // the engine runs).
    files.stack_json = stack::to_json(stack_, false).dump(2);
    files.fingerprint = render::stack_fingerprint_of(files.stack_json);
    files.config = render::render_nginx_config(stack_, addresses, files.fingerprint);
    files.marker = render::drain_marker_of(files.config).value_or("");
    return files;
}

void Deployer::sync_balancer() {
    if (!balancer_id_) return;
    const auto [config, marker, stack_json, fingerprint] = balancer_files();
    const bool config_changed = !running_ || running_->drain_marker != marker;
    const bool stack_changed = !running_ || running_->stack_fingerprint != fingerprint;
    if (!config_changed && !stack_changed) return;

    const auto stack_file = util::TarEntry{std::string("mldeploy/") + kDeployedStackFile, stack_json, 0600};
    if (!engine_.inspect_container(*balancer_id_).running) {
        // Not started yet: both files go in before nginx reads them.
        engine_.put_archive(*balancer_id_, "/etc", util::tar_files({{"mldeploy/nginx.conf", config, 0644}, stack_file}));
    } else {
        // The stack file is copied while nginx reloads.
        std::future<void> stack_copied;
        if (stack_changed)
            stack_copied = std::async(std::launch::async, [this, &stack_file] {
                engine_.put_archive(*balancer_id_, "/etc", util::tar_files({stack_file}));
            });
        std::exception_ptr failure;
        try {
            if (config_changed) reload_balancer(config, running_ ? running_->drain_marker : std::string());
        } catch (...) {
            failure = std::current_exception();
        }
        if (stack_copied.valid()) stack_copied.get();
        if (failure) std::rethrow_exception(failure);
    }
    running_ = render::RunningConfig{marker, fingerprint};
}

void Deployer::apply(const plan::Plan& plan, const plan::Observed& observed,
                     const std::map<std::string, std::string>& service_images, const std::string& balancer_image) {
    if (plan.create_network) {
        out_.step(fmt::format("creating network {}", stack_.network));
        try {
            engine_.create_network(stack_.network, plan::stack_labels(stack_));
        } catch (const engine::EngineError& e) {
            if (!e.conflict()) throw;  // made meanwhile by another run: fine
        }
    }

    adopt_running_members(plan, observed);

    // What leaves goes out of the balancer first, then gets its drain time.
    if (!plan.remove.empty()) {
        sync_balancer();
        if (balancer_id_) std::this_thread::sleep_for(kReloadSettle);
        out_.step(fmt::format("removing {} container(s)", plan.remove.size()));
        std::vector<std::function<void()>> removals;
        for (const auto& c : plan.remove)
            removals.push_back([this, c] {
                remove_container(c.id, c.name, c.running() ? static_cast<int>(options_.drain.count()) : 0);
            });
        run_all(std::move(removals));
    }

    // A new balancer starts alongside the replicas: it serves its health page
    // (and 503 for a service with no replica yet) until the first reload, and
    // on a rootless engine the replicas' probes run inside it.
    if (plan.balancer == plan::BalancerAction::recreate && plan.old_balancer) {
        remove_container(plan.old_balancer->id, plan.old_balancer->name, 2);
    }
    // Where the replicas' probes run inside the balancer (rootless engines), it
    // starts first, alongside the replicas. Elsewhere it starts after them, with
    // every healthy replica in its first config: no reload, and the engine (Podman
    // serialises container starts) is not asked for both at once.
    bool balancer_pending = plan.balancer != plan::BalancerAction::keep;
    if (balancer_pending && probes_need_balancer(engine_)) {
        balancer_starting_ = std::async(std::launch::async, [this, &balancer_image] {
                                 create_balancer(balancer_image);
                                 return *balancer_id_;
                             }).share();
        balancer_pending = false;
    }
    const auto create_pending_balancer = [&] {
        if (!balancer_pending) return;
        balancer_pending = false;
        create_balancer(balancer_image);
    };
    // The balancer's failure is the one to report when both fail.
    const auto balancer_started = [this] {
        if (!balancer_starting_.valid()) return;
        auto starting = std::move(balancer_starting_);
        balancer_starting_ = {};
        starting.get();
    };

    if (!plan.start.empty()) {
        out_.step(fmt::format("starting {} replica(s)", plan.start.size()));
        std::vector<std::function<void()>> starts;
        for (const auto& slot : plan.start) {
            const auto* service = stack_.find_service(slot.service);
            starts.push_back([this, service, slot, &service_images] {
                auto member = start_replica(*service, slot.replica, plan::replica_name(stack_, slot.service, slot.replica),
                                            service_images.at(slot.service));
                std::lock_guard lock(members_mutex_);
                members_[{slot.service, slot.replica}] = std::move(member);
            });
        }
        // Healthy ones join the balancer even when a sibling failed.
        std::exception_ptr failure;
        try {
            run_all(std::move(starts));
        } catch (...) {
            failure = std::current_exception();
        }
        balancer_started();
        create_pending_balancer();
        sync_balancer();
        if (failure) std::rethrow_exception(failure);
    }
    balancer_started();
    create_pending_balancer();

    for (const auto& r : plan.replace) {
        const auto* service = stack_.find_service(r.slot.service);
        const auto canonical = plan::replica_name(stack_, r.slot.service, r.slot.replica);
        out_.step(fmt::format("replacing {}", canonical));
        if (!r.old.running()) {
            remove_container(r.old.id, r.old.name, 0);
            auto member = start_replica(*service, r.slot.replica, canonical, service_images.at(r.slot.service));
            {
                std::lock_guard lock(members_mutex_);
                members_[{r.slot.service, r.slot.replica}] = std::move(member);
            }
            sync_balancer();
            continue;
        }
        const auto new_name = r.old.name == canonical ? canonical + "-next" : canonical;
        auto member = start_replica(*service, r.slot.replica, new_name, service_images.at(r.slot.service));
        {
            std::lock_guard lock(members_mutex_);
            members_[{r.slot.service, r.slot.replica}] = member;
        }
        sync_balancer();
        std::this_thread::sleep_for(kReloadSettle);
        remove_container(r.old.id, r.old.name, static_cast<int>(options_.drain.count()));
        if (new_name != canonical) engine_.rename_container(member.id, canonical);
    }

    // Nothing else changed, but the balancer may still list stale addresses
    // (a replica restarted by the engine, a config written by an older run).
    sync_balancer();
}

}  // namespace mldeploy::deploy
