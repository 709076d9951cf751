#include "deploy/agent.hpp"

#include "deploy/autoscaler.hpp"
#include "deploy/probe.hpp"
#include "engine/listing.hpp"
#include "plan/labels.hpp"
#include "render/nginx.hpp"
#include "util/http_server.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>

namespace mldeploy::deploy {
namespace {

using namespace std::chrono_literals;

double unix_now() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

void say(const std::string& text) {
    std::fprintf(stderr, "agent: %s\n", text.c_str());
    std::fflush(stderr);
}

std::string label_of(const engine::Labels& labels, const char* key) {
    auto it = labels.find(key);
    return it == labels.end() ? std::string() : it->second;
}

class Agent {
public:
    Agent(engine::Engine& engine, const AgentOptions& options)
        : engine_(engine), options_(options), aggregate_(options.window_seconds) {}

    void follow_forever() {
        for (;;) {
            try {
                follow_once();
            } catch (const std::exception& e) {
                say(std::string("following the balancer's log: ") + e.what());
            }
            std::this_thread::sleep_for(1s);
        }
    }

    void refresh_forever() {
        for (;;) {
            try {
                refresh();
            } catch (const std::exception& e) {
                say(std::string("listing the stack: ") + e.what());
            }
            std::this_thread::sleep_for(2s);
        }
    }

    // Each second, the autoscaler's reading (deploy/autoscaler.hpp). It starts
    // once the replicas are listed and a whole window has passed: before, the
    // demand it would read is not yet the balancer's (the log is still being
    // read again from its start).
    void autoscale_forever() {
        util::Output out(util::Output::Level::normal, false);
        Autoscaler autoscaler(engine_, options_.stack, out, [](const std::string& line) {
            std::printf("%s\n", line.c_str());
            std::fflush(stdout);
        });
        const double started = unix_now();
        for (;;) {
            std::this_thread::sleep_for(1s);
            try {
                if (unix_now() - started < options_.window_seconds) continue;
                if (!listed_) refresh();
                auto [inflight, running] = demand();
                if (autoscaler.tick(std::chrono::steady_clock::now(), unix_now(), inflight, running)) refresh();
            } catch (const std::exception& e) {
                say(std::string("autoscaling: ") + e.what());
            }
        }
    }

    util::HttpAnswer answer(const std::string& path) {
        if (path == "/metrics")
            return {200, "text/plain; version=0.0.4; charset=utf-8", metrics::prometheus_text(snapshot())};
        if (path == "/top.json") return {200, "application/json", metrics::top_json(snapshot()).dump() + "\n"};
        if (path == "/healthz") return {200, "text/plain; charset=utf-8", "ok\n"};
        return {404, "text/plain; charset=utf-8", "not found: try /metrics\n"};
    }

private:
    metrics::Snapshot snapshot() {
        std::lock_guard lock(mutex_);
        metrics::Snapshot s;
        s.stack = options_.stack;
        s.replicas = replicas_;
        s.current = current_;
        s.totals = aggregate_.totals();
        s.now = unix_now();
        s.window = aggregate_.window(s.now);
        s.window_seconds = options_.window_seconds;
        s.balancer_inflight = balancer_inflight_;
        return s;
    }

    // Per service: requests in flight (the window's average, summed over its
    // replicas, also those that left within it) and replicas running.
    std::pair<std::map<std::string, double>, std::map<std::string, int>> demand() {
        std::lock_guard lock(mutex_);
        std::map<std::string, double> inflight;
        for (const auto& [id, stats] : aggregate_.window(unix_now())) inflight[id.service] += stats.inflight;
        std::map<std::string, int> running;
        for (const auto& id : current_) ++running[id.service];
        return {inflight, running};
    }

    // The running balancer's id, or "" when there is none.
    std::string running_balancer() {
        const auto list = engine_.list_containers(
            {{plan::label::stack, options_.stack}, {plan::label::role, plan::label::role_balancer}});
        const std::string canonical = options_.stack + "-balancer";
        std::string id;
        for (const auto& c : list) {
            if (c.state != "running") continue;
            if (id.empty() || c.name == canonical) id = c.id;
        }
        return id;
    }

    void follow_once() {
        const auto id = running_balancer();
        if (id.empty()) return;
        {
            // The whole log again, from its start: the counts are a function of it.
            std::lock_guard lock(mutex_);
            aggregate_ = metrics::Aggregate(options_.window_seconds);
        }
        say("following the access log of balancer " + id.substr(0, 12));
        engine_.logs(id, engine::Engine::LogOptions{true, std::nullopt, std::nullopt, false},
                     [this](engine::LogStream stream, std::string_view line) {
                         if (stream != engine::LogStream::stdout_) return;
                         auto record = metrics::parse_access_line(line);
                         if (!record) return;
                         learn_addresses_of(*record);
                         std::lock_guard lock(mutex_);
                         aggregate_.add(*record, book_);
                     });
    }

    // A try on an address the book does not hold yet (a replica that started
    // since the last listing): list now, so that it counts on its replica.
    void learn_addresses_of(const metrics::Record& record) {
        for (const auto& a : record.attempts) {
            {
                std::lock_guard lock(mutex_);
                if (book_.contains(a.address) || a.address.find(':') == std::string::npos) continue;
                auto seen = unknown_.find(a.address);
                if (seen != unknown_.end() && unix_now() - seen->second < 5) continue;
                unknown_[a.address] = unix_now();
            }
            try {
                refresh();
            } catch (const std::exception& e) {
                say(std::string("listing the stack: ") + e.what());
            }
        }
    }

    void refresh() {
        std::vector<engine::ListedContainer> listed;
        const engine::Labels filter{{plan::label::stack, options_.stack}};
        if (auto* addressed = dynamic_cast<engine::AddressedListing*>(&engine_)) {
            listed = addressed->list_containers_with_addresses(filter);
        } else {
            for (auto& c : engine_.list_containers(filter)) {
                engine::ListedContainer l{c, {}};
                if (c.state == "running") l.ip_by_network = engine_.inspect_container(c.id).ip_by_network;
                listed.push_back(std::move(l));
            }
        }
        metrics::AddressBook book;
        std::map<std::string, int> replicas;
        std::vector<metrics::ReplicaId> current;
        std::string balancer_address;
        for (const auto& l : listed) {
            const auto& c = l.summary;
            const auto role = label_of(c.labels, plan::label::role);
            if (role == plan::label::role_balancer && c.state == "running" &&
                (balancer_address.empty() || c.name == options_.stack + "-balancer"))
                for (const auto& [network, ip] : l.ip_by_network)
                    if (!ip.empty()) balancer_address = ip;
            if (role != plan::label::role_model || c.state != "running") continue;
            metrics::ReplicaId id{label_of(c.labels, plan::label::service), label_of(c.labels, plan::label::replica)};
            // A -next replica of a rolling update has its slot's number: same replica.
            ++replicas[id.service];
            current.push_back(id);
            const auto port = label_of(c.labels, plan::label::port);
            for (const auto& [network, ip] : l.ip_by_network)
                if (!ip.empty()) book[ip + ":" + port] = id;
        }
        std::optional<long> inflight;
        if (!balancer_address.empty()) {
            const auto page = http_get(http_url(balancer_address, render::kBalancerControlPort, "/_mldeploy/status"),
                                       std::chrono::milliseconds(1000));
            if (page.ok()) inflight = requests_in_progress(page.body);
        }
        std::lock_guard lock(mutex_);
        // Addresses of replicas that left keep their names for the lines still
        // to come (a replay of the log); a new holder of an address wins.
        for (auto& [address, id] : book) book_[address] = id;
        std::sort(current.begin(), current.end());
        current.erase(std::unique(current.begin(), current.end()), current.end());
        // Services whose replicas all left stay, at 0.
        for (auto& [service, n] : replicas_) n = 0;
        for (const auto& [service, n] : replicas) replicas_[service] = n;
        current_ = std::move(current);
        balancer_inflight_ = inflight;
        listed_ = true;
    }

    engine::Engine& engine_;
    AgentOptions options_;
    std::mutex mutex_;
    metrics::Aggregate aggregate_;
    metrics::AddressBook book_;
    std::map<std::string, double> unknown_;
    std::map<std::string, int> replicas_;
    std::vector<metrics::ReplicaId> current_;
    std::optional<long> balancer_inflight_;
    std::atomic<bool> listed_{false};
};

}  // namespace

std::optional<long> requests_in_progress(std::string_view page) {
    const auto at = page.find("Writing: ");
    if (at == std::string_view::npos) return std::nullopt;
    const auto digits = page.substr(at + 9);
    long writing = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), writing);
    if (ec != std::errc{} || ptr == digits.data()) return std::nullopt;
    return std::max(0L, writing - 1);
}

void run_agent(engine::Engine& engine, const AgentOptions& options) {
    Agent agent(engine, options);
    say(fmt::format("stack {}: serving /metrics on {}:{}", options.stack, options.listen_host, options.port));
    std::thread([&agent] { agent.refresh_forever(); }).detach();
    std::thread([&agent] { agent.follow_forever(); }).detach();
    if (options.autoscale) std::thread([&agent] { agent.autoscale_forever(); }).detach();
    util::serve_http(options.listen_host, options.port,
                     [&agent](const std::string&, const std::string& path) { return agent.answer(path); });
}

}  // namespace mldeploy::deploy
