#include "deploy/executor.hpp"

#include "deploy/errors.hpp"
#include "deploy/health_hint.hpp"
#include "plan/canary.hpp"
#include "plan/gpus.hpp"
#include "plan/labels.hpp"
#include "plan/specs.hpp"

#include "util/interrupt.hpp"
#include "util/units.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <functional>

namespace mldeploy::deploy {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(100);
// A starting replica is probed more often than the engine is asked about it: a
// refused connection costs nothing, an inspect is a request to the engine.
constexpr auto kProbeInterval = std::chrono::milliseconds(40);
constexpr auto kCrashCheckInterval = std::chrono::milliseconds(400);
// A replica without a [health] table is ready once its port answers HTTP at all.
constexpr auto kNoHealthBudget = std::chrono::seconds(30);
// How long a drained replica gets to exit on SIGTERM before it is killed.
constexpr int kStopTimeoutS = 10;
// A canary step reads the balancer's log this often, and says where it stands this often.
constexpr auto kCanaryPollInterval = std::chrono::milliseconds(2000);
constexpr auto kCanaryNoteInterval = std::chrono::seconds(10);

std::string state_word(const engine::ContainerDetails& d) { return d.state.empty() ? "unknown" : d.state; }

bool exited(const engine::ContainerDetails& d) {
    return !d.running && (d.state == "exited" || d.state == "stopped" || d.state == "dead");
}

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

double seconds_since(Clock& clock, Clock::time_point start) {
    return std::chrono::duration<double>(clock.now() - start).count();
}

}  // namespace

Executor::Executor(engine::Engine& engine, const stack::Stack& stack, util::Output& out, Collaborators with)
    : engine_(engine),
      stack_(stack),
      out_(out),
      clock_(with.clock ? *with.clock : system_clock()),
      own_prober_(with.prober ? nullptr
                              : std::make_unique<HealthProber>(engine, [this] { return balancer_for_probes(); })),
      prober_(with.prober ? *with.prober : *own_prober_),
      own_meter_(with.meter ? nullptr : std::make_unique<LogMeter>(engine, stack)),
      meter_(with.meter ? *with.meter : *own_meter_),
      interrupted_(with.interrupted ? with.interrupted : [] { return util::InterruptScope::requested() != 0; }),
      balancer_(engine, prober_, clock_, out, stack),
      host_gpus_(plan::asks_for_gpus(stack) ? engine.gpus() : engine::GpuInventory{}) {}

std::string Executor::balancer_for_probes() {
    if (balancer_starting_.valid()) return balancer_starting_.get();  // rethrows the balancer's failure
    if (balancer_.id()) return *balancer_.id();
    // The balancer being replaced still sits on the network until then.
    if (!old_balancer_.empty()) return old_balancer_;
    throw DeployError(
        fmt::format("the replicas' addresses are not reachable from this host (a rootless engine?) and "
                    "stack {} has no running balancer to probe them from",
                    stack_.name));
}

std::chrono::milliseconds Executor::longest_drain() const {
    auto longest = stack_.balancer.timeout;
    for (const auto& s : stack_.services) longest = std::max(longest, stack_.drain_of(s));
    return longest;
}

BalancerFiles Executor::files() {
    render::ReplicaAddresses addresses;
    {
        std::lock_guard lock(members_mutex_);
        for (const auto& [slot, member] : members_) addresses[slot.first].push_back(member.address);
    }
    if (routing_) return balancer_files(stack_, *routing_, addresses);
    return balancer_files(stack_, addresses);
}

int Executor::sync(const Drain& drain) { return balancer_.sync(files(), drain); }

std::string Executor::replica_address(const stack::Service& service, const std::string& id) {
    const auto details = engine_.inspect_container(id);
    auto it = details.ip_by_network.find(stack_.network);
    if (it == details.ip_by_network.end() || it->second.empty())
        throw DeployError(fmt::format("replica {} has no address on network {}", details.name, stack_.network));
    const bool ipv6 = it->second.find(':') != std::string::npos;
    return (ipv6 ? "[" + it->second + "]" : it->second) + ":" + std::to_string(service.port);
}

void Executor::adopt_running(const plan::Plan& plan, const plan::Observed& observed) {
    const auto leaving = [&](const plan::ObservedContainer& c) {
        return std::any_of(plan.remove.begin(), plan.remove.end(), [&](auto& r) { return r.id == c.id; });
    };
    // Replicas that leave stay members until the balancer has stopped sending
    // to them, unless a kept replica holds their slot (a roll cut short).
    std::set<Slot> kept;
    for (const auto& c : observed.containers)
        if (c.role == plan::label::role_model && c.running() && !leaving(c)) kept.insert({c.service, c.replica});
    std::vector<std::function<void()>> lookups;
    for (const auto& c : observed.containers) {
        if (c.role == plan::label::role_balancer) {
            if (c.running() && plan.balancer == plan::BalancerAction::keep && !leaving(c))
                lookups.push_back([this, id = c.id] { balancer_.adopt(id); });
            continue;
        }
        const auto* service = stack_.find_service(c.service);
        if (!c.running() || service == nullptr || (leaving(c) && kept.contains({c.service, c.replica}))) continue;
        lookups.push_back([this, c, service] {
            auto address = replica_address(*service, c.id);
            std::lock_guard lock(members_mutex_);
            members_[{c.service, c.replica}] = Member{c.id, c.name, address};
        });
    }
    run_all(std::move(lookups));
}

void Executor::remove_leaving(const plan::Plan& plan) {
    if (plan.remove.empty()) return;
    // What leaves goes out of the balancer first, then gets its drain time.
    Drain drain{{}, plan.remove_drain};
    std::vector<plan::ObservedContainer> not_members;
    {
        std::lock_guard lock(members_mutex_);
        for (const auto& c : plan.remove) {
            const auto it = members_.find({c.service, c.replica});
            if (it != members_.end() && it->second.id == c.id) {
                drain.addresses.push_back(it->second.address);
                members_.erase(it);
            } else if (c.role == plan::label::role_model && c.running()) {
                not_members.push_back(c);
            }
        }
    }
    // Running replicas that are no member (their service left the stack, or a
    // roll cut short left a newer one in their slot) may still be in the
    // running config: they drain too.
    for (const auto& c : not_members) {
        try {
            const auto details = engine_.inspect_container(c.id);
            const auto ip = details.ip_by_network.find(stack_.network);
            if (ip == details.ip_by_network.end() || ip->second.empty() || c.port <= 0) continue;
            const bool ipv6 = ip->second.find(':') != std::string::npos;
            drain.addresses.push_back((ipv6 ? "[" + ip->second + "]" : ip->second) + ":" + std::to_string(c.port));
        } catch (const engine::EngineError& e) {
            if (!e.not_found()) throw;  // gone already: nothing to drain
        }
    }
    sync(drain);
    out_.step(fmt::format("removing {} container(s)", plan.remove.size()));
    std::vector<std::function<void()>> removals;
    for (const auto& c : plan.remove) {
        if (c.role == plan::label::role_balancer) {
            removals.push_back([this, c] {
                engine_.remove_container(c.id);
                out_.done(fmt::format("removed {}", c.name));
            });
            continue;
        }
        removals.push_back([this, c] {
            if (c.running())
                stop_and_remove(c.id, c.name);
            else {
                engine_.remove_container(c.id);
                out_.done(fmt::format("removed {}", c.name));
            }
        });
    }
    run_all(std::move(removals));
}

void Executor::stop_and_remove(const std::string& id, const std::string& name) {
    try {
        engine_.stop_container(id, kStopTimeoutS);
    } catch (const engine::EngineError& e) {
        if (!e.not_found()) out_.warn(fmt::format("stopping {}: {}", name, e.engine_message()));
    }
    engine_.remove_container(id);
    out_.done(fmt::format("removed {}", name));
}

void Executor::stop_and_remove_all(const std::vector<Member>& members) {
    // Drained already: their stops (up to kStopTimeoutS each) overlap.
    std::vector<std::function<void()>> removals;
    for (const auto& m : members) removals.push_back([this, m] { stop_and_remove(m.id, m.name); });
    run_all(std::move(removals));
}

std::string Executor::unhealthy_hint(const stack::Service& service, const std::string& id, const std::string& path,
                                     const ProbeResult& last) {
    std::vector<ListeningSocket> listening;
    bool known = false;
    if (last.status == 0) {
        // What the replica listens on, from inside it: 127.0.0.1 only, or not yet.
        try {
            const auto result = engine_.exec(id, kListeningCommand);
            listening = parse_listening(result.output);
            known = result.output.find("local_address") != std::string::npos;
        } catch (const std::exception&) {
            // A hint is a courtesy (the image may have no cat); the failure is told without it.
        }
    }
    return health_hint(last, path, service.port, listening, known);
}

void Executor::wait_ready(const stack::Service& service, const std::string& id, const std::string& name) {
    const auto& health = service.health;
    const auto budget = health ? health->start_period + health->interval * health->retries
                               : std::chrono::duration_cast<std::chrono::milliseconds>(kNoHealthBudget);
    // Without a health table the replica is ready when its port answers HTTP
    // (any status): a container that merely runs may still crash while loading.
    const auto path = health ? health->path : std::string("/");
    const auto timeout = health ? health->timeout : std::chrono::milliseconds(1000);
    const auto deadline = clock_.now() + budget;
    std::string last_problem = "not started";
    ProbeResult last_probe;    // the last answer, for the hint
    std::string address;       // known once the replica runs
    bool cheap_probe = false;  // the route to `address` is a direct GET
    auto last_crash_check = clock_.now();
    while (clock_.now() < deadline) {
        if (address.empty()) {
            const auto details = engine_.inspect_container(id);
            if (exited(details))
                throw_with_logs(
                    engine_, id,
                    fmt::format("replica {} exited with code {} before it was ready", name, details.exit_code));
            if (!details.running) {
                last_problem = "state " + state_word(details);
            } else if (auto it = details.ip_by_network.find(stack_.network);
                       it != details.ip_by_network.end() && !it->second.empty()) {
                address = it->second;
                // A probe run inside the balancer is an exec: as costly as an inspect.
                cheap_probe = probe_route(engine_, address) == ProbeRoute::direct;
            } else {
                last_problem = "no address on " + stack_.network;
            }
        }
        if (!address.empty()) {
            const auto probe = prober_.container_get(address, service.port, path, timeout);
            if (health ? probe.ok() : probe.status != 0) return;
            last_probe = probe;
            last_problem = probe.status ? fmt::format("GET {} answered {}", path, probe.status)
                                        : fmt::format("GET {} on port {}: {}", path, service.port, probe.error);
            // A replica that crashed does not answer; notice it rather than wait out the budget.
            if (probe.status == 0 && clock_.now() - last_crash_check >= kCrashCheckInterval) {
                last_crash_check = clock_.now();
                const auto details = engine_.inspect_container(id);
                if (exited(details))
                    throw_with_logs(
                        engine_, id,
                        fmt::format("replica {} exited with code {} before it was ready", name, details.exit_code));
                if (!details.running) address.clear();
            }
        }
        clock_.sleep_for(!address.empty() && cheap_probe ? kProbeInterval : kPollInterval);
    }
    throw_with_logs(engine_, id,
                    fmt::format("replica {} did not become {} within {}s (last: {})", name,
                                health ? "healthy" : "ready (its port never answered)",
                                std::chrono::duration_cast<std::chrono::seconds>(budget).count(), last_problem),
                    address.empty() ? "" : unhealthy_hint(service, id, path, last_probe));
}

Executor::Member Executor::start_replica(const stack::Service& service, int replica, const std::string& name,
                                         const std::string& image_id) {
    auto spec = plan::replica_spec(stack_, service, replica, image_id, &host_gpus_);
    spec.name = name;
    const auto started = clock_.now();
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
                clock_.sleep_for(kPollInterval);
            }
        }
        if (!other) return start_replica(service, replica, name, image_id);  // its creation failed: ours, then
        const auto owner = other->labels;
        const auto label_of = [&](const char* key) {
            auto it = owner.find(key);
            return it == owner.end() ? std::string("(none)") : it->second;
        };
        if (label_of(plan::label::stack) != stack_.name || label_of(plan::label::service) != service.name)
            throw DeployError(
                fmt::format("a container named {} already exists and is not this stack's (its stack "
                            "label: {}); remove it or rename the stack or service",
                            name, label_of(plan::label::stack)));
        out_.detail(fmt::format("{} is being created by another run; waiting for it", name));
        wait_ready(service, name, name);
        return Member{engine_.inspect_container(name).id, name, replica_address(service, name)};
    }
    try {
        try {
            engine_.start_container(id);
        } catch (const engine::EngineError& e) {
            // The engine's step names the container by id; the user knows it by name.
            throw e.as_step("start replica " + name);
        }
        wait_ready(service, id, name);
        Member member{id, name, replica_address(service, id)};
        out_.done(fmt::format("{} {} ({:.1f}s)", name, service.health ? "healthy" : "answers",
                              seconds_since(clock_, started)));
        std::lock_guard lock(members_mutex_);
        started_.insert(id);
        return member;
    } catch (...) {
        // Nothing half-made stays behind: a replica that never got ready goes.
        try {
            engine_.remove_container(id);
        } catch (const std::exception&) {
        }
        throw;
    }
}

void Executor::start_new_replicas(const std::vector<plan::ReplicaSlot>& slots, const ImageIds& images) {
    if (slots.empty()) return;
    out_.step(fmt::format("starting {} replica(s)", slots.size()));
    std::vector<std::function<void()>> starts;
    for (const auto& slot : slots) {
        const auto* service = stack_.find_service(slot.service);
        starts.push_back([this, service, slot, &images] {
            auto member = start_replica(*service, slot.replica, plan::replica_name(stack_, slot.service, slot.replica),
                                        images.services.at(slot.service));
            std::lock_guard lock(members_mutex_);
            members_[{slot.service, slot.replica}] = std::move(member);
        });
    }
    run_all(std::move(starts));
}

void Executor::replace_service(const std::vector<plan::Replacement>& replacements, const std::string& image_id) {
    // A roll keeps each old replica, stopped and named <name>-prev, until every
    // new one is healthy: a later one that fails puts the service back on the
    // version that ran before, as a whole.
    struct Rolled {
        plan::Replacement replacement;
        Member old;
        Member fresh;
    };
    std::vector<Rolled> rolled;
    const auto& service = *stack_.find_service(replacements.front().slot.service);

    const auto roll_back = [&](const std::string& why) {
        std::vector<std::string> failures;
        for (auto it = rolled.rbegin(); it != rolled.rend(); ++it) {
            const auto& [r, old, fresh] = *it;
            const auto canonical = plan::replica_name(stack_, r.slot.service, r.slot.replica);
            out_.step(fmt::format("rolling {} back to the version that ran before", canonical));
            try {
                engine_.start_container(old.id);
                wait_ready(service, old.id, old.name);
                Member back{old.id, old.name, replica_address(service, old.id)};
                {
                    std::lock_guard lock(members_mutex_);
                    members_[{r.slot.service, r.slot.replica}] = back;
                }
                sync(Drain{{fresh.address}, r.drain});
                stop_and_remove(fresh.id, fresh.name);
                engine_.rename_container(old.id, canonical);
                out_.done(fmt::format("{} is back on the version that ran before", canonical));
            } catch (const std::exception& e) {
                failures.push_back(fmt::format("{}: {}", canonical, e.what()));
            }
        }
        auto message = fmt::format("the {} of service {} failed: {}",
                                   replacements.front().restart ? "restart" : "update", service.name, why);
        if (!rolled.empty())
            message += failures.empty()
                           ? fmt::format(
                                 "\n  rolled back: the {} replica(s) already updated run the version that ran "
                                 "before again",
                                 rolled.size())
                           : fmt::format(
                                 "\n  the rollback failed too (the stack runs mixed versions; run `mldeploy up` "
                                 "again): {}",
                                 fmt::join(failures, "; "));
        else
            message += "\n  no replica was changed: the version that ran before still serves";
        throw DeployError(message);
    };

    for (const auto& r : replacements) {
        const auto canonical = plan::replica_name(stack_, r.slot.service, r.slot.replica);
        out_.step(fmt::format("replacing {}", canonical));
        if (!r.old.running()) {
            // Nothing served from it: no drain, nothing to roll back to.
            engine_.remove_container(r.old.id);
            Member member;
            try {
                member = start_replica(service, r.slot.replica, canonical, image_id);
            } catch (const std::exception& e) {
                // The replicas rolled before this one go back too.
                roll_back(fmt::format("its new replica {} did not become ready: {}", canonical, e.what()));
            }
            {
                std::lock_guard lock(members_mutex_);
                members_[{r.slot.service, r.slot.replica}] = std::move(member);
            }
            sync();
            continue;
        }
        Member old;
        {
            std::lock_guard lock(members_mutex_);
            old = members_.at({r.slot.service, r.slot.replica});
        }
        const auto new_name = r.old.name == canonical ? canonical + "-next" : canonical;
        Member fresh;
        try {
            fresh = start_replica(service, r.slot.replica, new_name, image_id);
        } catch (const std::exception& e) {
            roll_back(fmt::format("its new replica {} did not become ready: {}", canonical, e.what()));
        }
        {
            std::lock_guard lock(members_mutex_);
            members_[{r.slot.service, r.slot.replica}] = fresh;
        }
        sync(Drain{{old.address}, r.drain});
        try {
            engine_.stop_container(old.id, kStopTimeoutS);
        } catch (const engine::EngineError& e) {
            if (!e.not_found()) throw;
        }
        engine_.rename_container(old.id, canonical + "-prev");
        old.name = canonical + "-prev";
        if (new_name != canonical) {
            engine_.rename_container(fresh.id, canonical);
            fresh.name = canonical;
        }
        rolled.push_back({r, old, fresh});
    }
    for (const auto& [r, old, fresh] : rolled) {
        engine_.remove_container(old.id);
        out_.done(fmt::format("removed the previous version of {}", fresh.name));
    }
}

std::optional<std::string> Executor::canary_step(const stack::Service& service, std::size_t step, int percent) {
    const auto& rollout = *service.rollout;
    const auto next = plan::canary_service_name(service.name);
    routing_ = plan::canary_routing(stack_, service.name, percent);
    sync();
    meter_.restart();
    const auto started = clock_.now();
    auto last_note = started;
    out_.step(fmt::format("canary of {}: step {} of {}, {}% of its traffic on the new version (watched for {})",
                          service.name, step, rollout.steps.size(), percent, util::format_duration(rollout.pause)));
    for (;;) {
        if (interrupted_()) return std::string("interrupted");
        const auto figures = meter_.figures(next);
        const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now() - started);
        const auto judged = judge_step(rollout, figures, elapsed);
        if (judged.verdict == StepVerdict::failed)
            return fmt::format("at step {} ({}%), {}", step, percent, judged.why);
        if (judged.verdict == StepVerdict::passed) {
            out_.done(fmt::format("step {} ({}%) passed: {}", step, percent, figures_text(rollout, figures)));
            return std::nullopt;
        }
        if (clock_.now() - last_note >= kCanaryNoteInterval) {
            last_note = clock_.now();
            out_.note(fmt::format("{}% for {}s: {}", percent,
                                  std::chrono::duration_cast<std::chrono::seconds>(elapsed).count(),
                                  figures_text(rollout, figures)));
        }
        clock_.sleep_for(kCanaryPollInterval);
    }
}

void Executor::canary_service(const std::vector<plan::Replacement>& replacements, const std::string& image_id) {
    const auto& service = *stack_.find_service(replacements.front().slot.service);
    const auto next = plan::canary_service_name(service.name);
    const auto drain = replacements.front().drain;
    // Ctrl-C and SIGTERM from here on roll the canary back before `up` stops.
    util::InterruptScope interrupt_scope;
    out_.step(fmt::format("canary of {}: starting {} replica(s) of the new version beside the old", service.name,
                          replacements.size()));

    // The new version's replicas, named <name>-next until they take over.
    std::map<int, Member> fresh;
    std::mutex fresh_mutex;
    std::vector<std::function<void()>> starts;
    for (const auto& r : replacements) {
        starts.push_back([&, r] {
            const auto canonical = plan::replica_name(stack_, r.slot.service, r.slot.replica);
            const auto name = r.old.name == canonical ? canonical + "-next" : canonical;
            auto member = start_replica(service, r.slot.replica, name, image_id);
            std::lock_guard lock(fresh_mutex);
            fresh[r.slot.replica] = std::move(member);
        });
    }
    const auto remove_fresh = [&] {
        std::vector<std::string> addresses;
        {
            std::lock_guard lock(members_mutex_);
            for (const auto& [replica, member] : fresh) {
                members_.erase({next, replica});
                addresses.push_back(member.address);
                started_.erase(member.id);
            }
        }
        routing_.reset();
        sync(Drain{addresses, drain});
        std::vector<Member> leaving;
        for (const auto& [replica, member] : fresh) leaving.push_back(member);
        stop_and_remove_all(leaving);
    };
    try {
        run_all(std::move(starts));
    } catch (const std::exception& e) {
        remove_fresh();
        throw DeployError(
            fmt::format("the canary of service {} failed: a replica of the new version did not become "
                        "ready: {}\n  no request reached the new version: the version that ran before "
                        "still serves",
                        service.name, e.what()));
    }
    {
        std::lock_guard lock(members_mutex_);
        for (const auto& [replica, member] : fresh) members_[{next, replica}] = member;
    }

    std::optional<std::string> failure;
    const auto& steps = service.rollout->steps;
    for (std::size_t i = 0; i < steps.size() && !failure; ++i) {
        try {
            failure = canary_step(service, i + 1, steps[i]);
        } catch (...) {
            // An engine failure mid-canary: every request back on the old version first.
            try {
                remove_fresh();
            } catch (const std::exception& e) {
                out_.warn(fmt::format("removing the new version of {}: {}", service.name, e.what()));
            }
            throw;
        }
    }
    if (failure) {
        const bool interrupted = *failure == "interrupted";
        out_.step(fmt::format("canary of {} {}: moving every request back to the version that ran before", service.name,
                              interrupted ? "interrupted" : "failed"));
        remove_fresh();
        out_.done(fmt::format("{} serves on the version that ran before; the new version was drained and removed",
                              service.name));
        if (interrupted)
            throw Interrupted(
                fmt::format("the canary of service {} was interrupted and rolled back: the version "
                            "that ran before serves every request",
                            service.name));
        throw DeployError(
            fmt::format("the canary of service {} failed {}\n  rolled back: the version that ran "
                        "before serves every request; the new version was drained and removed",
                        service.name, *failure));
    }

    // Passed: the new version takes each slot, the old drains and goes.
    out_.step(fmt::format("canary of {} passed every step: the new version takes over", service.name));
    std::vector<std::string> old_addresses;
    std::vector<Member> olds;
    {
        std::lock_guard lock(members_mutex_);
        for (const auto& r : replacements) {
            const auto it = members_.find({r.slot.service, r.slot.replica});
            if (it != members_.end()) {
                old_addresses.push_back(it->second.address);
                olds.push_back(it->second);
            }
            members_.erase({next, r.slot.replica});
            members_[{r.slot.service, r.slot.replica}] = fresh.at(r.slot.replica);
        }
    }
    routing_.reset();
    sync(Drain{old_addresses, drain});
    stop_and_remove_all(olds);
    for (const auto& r : replacements) {
        const auto canonical = plan::replica_name(stack_, r.slot.service, r.slot.replica);
        auto& member = fresh.at(r.slot.replica);
        if (member.name != canonical) {
            engine_.rename_container(member.id, canonical);
            member.name = canonical;
            std::lock_guard lock(members_mutex_);
            members_[{r.slot.service, r.slot.replica}].name = canonical;
        }
    }
    out_.done(fmt::format("{} runs the new version on {} replica(s)", service.name, replacements.size()));
}

void Executor::start_balancer(const std::string& image_id) {
    auto spec = plan::balancer_spec(stack_, image_id);
    out_.step(fmt::format("starting balancer {} on {}:{}", spec.name, stack_.balancer.host_ip, stack_.balancer.port));
    const auto first = files();
    try {
        balancer_.use(balancer_.start(spec, first), first);
    } catch (const engine::EngineError& e) {
        if (!e.conflict()) throw;
        // Made by a concurrent run: use it, with this run's view of the replicas.
        balancer_.adopt_starting(spec.name);
        sync();
        return;
    }
    out_.done(fmt::format("balancer answers on port {}", stack_.balancer.port));
}

void Executor::replace_balancer(const plan::ObservedContainer& old, const std::string& image_id) {
    auto spec = plan::balancer_spec(stack_, image_id);
    const auto canonical = spec.name;
    const auto first = files();
    if (old.running() && old.port != stack_.balancer.port) {
        // A new port: the new balancer starts beside the old one, which serves
        // until the new one answers (and keeps serving if it never does).
        spec.name = canonical + "-next";
        out_.step(fmt::format("starting balancer {} on {}:{} (the old one serves on port {} meanwhile)", canonical,
                              stack_.balancer.host_ip, stack_.balancer.port, old.port));
        std::string id;
        try {
            id = balancer_.start(spec, first);
        } catch (const std::exception& e) {
            throw DeployError(
                fmt::format("the new balancer could not start on port {}: {}\n  the balancer keeps "
                            "serving on port {}; choose a free [balancer] port and run `mldeploy up` again",
                            stack_.balancer.port, e.what(), old.port));
        }
        balancer_.use(id, first);
        balancer_.stop_gracefully(old.id, longest_drain());
        engine_.remove_container(old.id);
        engine_.rename_container(id, canonical);
        out_.done(fmt::format("balancer answers on port {} (port {} closed)", stack_.balancer.port, old.port));
        return;
    }
    // The same port: the old one must let go of it first. It is only stopped,
    // and starts again if the new one does not.
    out_.step(fmt::format("replacing balancer {} (its image or command changed, or it was not running)", canonical));
    if (old.running()) balancer_.stop_gracefully(old.id, longest_drain());
    if (old.name == canonical) engine_.rename_container(old.id, canonical + "-prev");
    try {
        balancer_.use(balancer_.start(spec, first), first);
    } catch (const std::exception& e) {
        if (old.running()) {
            engine_.rename_container(old.id, old.name);
            engine_.start_container(old.id);
            balancer_.wait_answers(old.id, old.port);
            throw DeployError(
                fmt::format("the new balancer did not start: {}\n  the previous balancer serves again", e.what()));
        }
        throw;
    }
    engine_.remove_container(old.id);
    out_.done(fmt::format("balancer answers on port {}", stack_.balancer.port));
}

void Executor::check_started_still_run() {
    std::vector<std::string> ids;
    {
        std::lock_guard lock(members_mutex_);
        for (const auto& [slot, m] : members_)
            if (started_.contains(m.id)) ids.push_back(m.id);
    }
    for (const auto& id : ids) {
        const auto details = engine_.inspect_container(id);
        if (details.running) continue;
        {
            std::lock_guard lock(members_mutex_);
            std::erase_if(members_, [&](const auto& entry) { return entry.second.id == id; });
        }
        sync();
        throw_with_logs(
            engine_, id,
            fmt::format("replica {} exited with code {} after it was ready", details.name, details.exit_code));
    }
}

void Executor::apply(const plan::Plan& plan, const plan::Observed& observed, const ImageIds& images) {
    if (plan.create_network) {
        out_.step(fmt::format("creating network {}", stack_.network));
        try {
            engine_.create_network(stack_.network, plan::stack_labels(stack_));
        } catch (const engine::EngineError& e) {
            if (!e.conflict()) throw;  // made meanwhile by another run: fine
        }
    }

    adopt_running(plan, observed);
    if (plan.old_balancer && plan.old_balancer->running()) old_balancer_ = plan.old_balancer->id;
    remove_leaving(plan);

    // Where the replicas' probes run inside the balancer (rootless engines), a
    // new balancer starts first, alongside the replicas. Elsewhere it starts
    // after them, with every healthy replica in its first config: no reload,
    // and the engine (Podman serialises container starts) is not asked for both
    // at once.
    bool balancer_pending = plan.balancer == plan::BalancerAction::create;
    if (balancer_pending && probes_need_balancer(engine_)) {
        balancer_starting_ = std::async(std::launch::async, [this, &images] {
                                 start_balancer(images.balancer);
                                 return *balancer_.id();
                             }).share();
        balancer_pending = false;
    }
    // The balancer's failure is the one to report when both fail.
    const auto balancer_started = [this] {
        if (!balancer_starting_.valid()) return;
        auto starting = std::move(balancer_starting_);
        balancer_starting_ = {};
        starting.get();
    };

    // A canary's new slots wait for its verdict: started now, they would serve
    // the untried version beside the share the canary judges.
    const auto canaries = plan::canary_services(stack_, plan);
    std::vector<plan::ReplicaSlot> starts;
    std::map<std::string, std::vector<plan::ReplicaSlot>> after_canary;
    for (const auto& slot : plan.start)
        (canaries.contains(slot.service) ? after_canary[slot.service] : starts).push_back(slot);

    // Healthy ones join the balancer even when a sibling failed.
    std::exception_ptr failure;
    try {
        start_new_replicas(starts, images);
    } catch (...) {
        failure = std::current_exception();
    }
    balancer_started();
    if (balancer_pending) start_balancer(images.balancer);
    if (plan.balancer == plan::BalancerAction::recreate && plan.old_balancer)
        replace_balancer(*plan.old_balancer, images.balancer);
    sync();
    if (failure) std::rethrow_exception(failure);

    // Each service's replacements roll one at a time, and back as a whole.
    std::map<std::string, std::vector<plan::Replacement>> by_service;
    for (const auto& r : plan.replace) by_service[r.slot.service].push_back(r);
    for (const auto& service : stack_.services)
        if (auto it = by_service.find(service.name); it != by_service.end()) {
            const auto& replacements = it->second;
            if (canaries.contains(service.name)) {
                canary_service(replacements, images.services.at(service.name));
                if (auto waiting = after_canary.find(service.name); waiting != after_canary.end()) {
                    start_new_replicas(waiting->second, images);
                    sync();
                }
            } else
                replace_service(replacements, images.services.at(service.name));
        }

    // Nothing else changed, but the balancer may still list stale addresses
    // (a replica restarted by the engine, a config written by an older run).
    sync();
    check_started_still_run();
}

}  // namespace mldeploy::deploy
