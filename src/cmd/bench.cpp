// mldeploy bench [SERVICE] [-n N] [-c C] [--path P] [--compare]: the seed
// article's `ab` run, built in. A bounded load against the stack's balancer
// (its published port on this host), ab's percentiles, requests/s, failures,
// and how many answers each replica gave (the balancer names the replica's
// address to requests that ask: deploy/bench.hpp). --compare runs the same load
// against one replica directly, where this host reaches it. Load goes to this
// host's loopback or the stack's own addresses, never elsewhere.
#include "deploy/bench.hpp"
#include "cmd/commands.hpp"
#include "engine/listing.hpp"
#include "plan/labels.hpp"
#include "util/netif.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>

#include <algorithm>
#include <cstdlib>
#include <set>

namespace mldeploy::cmd {
namespace {

struct BenchOptions {
    std::string service;
    int requests = 200;
    int concurrency = 10;
    std::string path = "/";
    std::string data;
    std::string url;
    int timeout_s = 30;
    bool compare = false;
    int replica = 1;
};

std::string label(const engine::ContainerSummary& c, const char* key) {
    auto it = c.labels.find(key);
    return it == c.labels.end() ? "" : it->second;
}

std::string host_port(const std::string& ip, int port) {
    return ip.find(':') != std::string::npos ? fmt::format("[{}]:{}", ip, port) : fmt::format("{}:{}", ip, port);
}

bool is_loopback(const std::string& host) {
    if (host == "localhost") return true;
    in_addr v4{};
    if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
    in6_addr v6{};
    return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

// The host of an http:// URL ("" when it is not one): "h" of http://h:port/path, without brackets.
std::string url_host(const std::string& url) {
    constexpr std::string_view scheme = "http://";
    if (!url.starts_with(scheme)) return "";
    const std::string rest = url.substr(scheme.size());
    if (rest.starts_with('[')) {
        const auto close = rest.find(']');
        return close == std::string::npos ? "" : rest.substr(1, close - 1);
    }
    return rest.substr(0, rest.find_first_of(":/?#"));
}

struct StackView {
    std::vector<engine::ListedContainer> containers;
    const engine::ListedContainer* balancer = nullptr;
    std::map<std::string, std::string> replica_names;  // ip:port -> container name
    std::set<std::string> addresses;                   // every address of the stack's containers
};

StackView view_of(engine::Engine& engine, const std::string& stack) {
    auto* listing = dynamic_cast<engine::AddressedListing*>(&engine);
    if (listing == nullptr) throw std::runtime_error("this engine cannot list container addresses");
    StackView view;
    view.containers = listing->list_containers_with_addresses({{plan::label::stack, stack}});
    std::sort(view.containers.begin(), view.containers.end(),
              [](const auto& a, const auto& b) { return a.summary.name < b.summary.name; });
    for (const auto& c : view.containers) {
        const auto role = label(c.summary, plan::label::role);
        if (role == plan::label::role_balancer && c.summary.state == "running") view.balancer = &c;
        const int port = std::atoi(label(c.summary, plan::label::port).c_str());
        for (const auto& [network, ip] : c.ip_by_network) {
            if (ip.empty()) continue;
            view.addresses.insert(ip);
            if (role == plan::label::role_model && port > 0) view.replica_names[host_port(ip, port)] = c.summary.name;
        }
    }
    return view;
}

// The balancer's endpoint on this host: its published port, on loopback when it
// listens on every address.
std::string balancer_url(const StackView& view, const std::string& stack, const std::string& path) {
    if (view.balancer == nullptr)
        throw std::runtime_error(fmt::format("stack {} has no running balancer; run `mldeploy up` first", stack));
    for (const auto& p : view.balancer->summary.ports) {
        if (p.host_port <= 0) continue;
        const bool any = p.host_ip.empty() || p.host_ip == "0.0.0.0" || p.host_ip == "::";
        return fmt::format("http://{}{}", host_port(any ? "127.0.0.1" : p.host_ip, p.host_port), path);
    }
    throw std::runtime_error(fmt::format("the balancer of stack {} publishes no port", stack));
}

// --url: only this host's loopback, the balancer's published address or an
// address of the stack's own containers.
void check_url(const std::string& url, const StackView& view) {
    const auto host = url_host(url);
    if (host.empty()) throw UsageError(fmt::format("--url {}: give an http:// URL", url));
    if (is_loopback(host) || view.addresses.contains(host)) return;
    if (view.balancer != nullptr)
        for (const auto& p : view.balancer->summary.ports)
            if (p.host_ip == host) return;
    throw UsageError(fmt::format(
        "--url {}: bench sends load only to this host's loopback or to the stack's own addresses, and {} is neither",
        url, host));
}

const engine::ListedContainer& pick_replica(const StackView& view, const std::string& stack, const BenchOptions& o) {
    std::set<std::string> services;
    for (const auto& c : view.containers)
        if (label(c.summary, plan::label::role) == plan::label::role_model)
            services.insert(label(c.summary, plan::label::service));
    std::string service = o.service;
    if (service.empty()) {
        if (services.size() != 1)
            throw UsageError(
                fmt::format("stack {} has {} services with replicas; name one: mldeploy bench SERVICE "
                            "--compare",
                            stack, services.size()));
        service = *services.begin();
    }
    for (const auto& c : view.containers)
        if (label(c.summary, plan::label::service) == service &&
            label(c.summary, plan::label::replica) == std::to_string(o.replica) && c.summary.state == "running")
            return c;
    throw UsageError(fmt::format("service {} of stack {} has no running replica {}", service, stack, o.replica));
}

std::string load_line(const std::string& url, const BenchOptions& o, const std::string& what) {
    return fmt::format("Benchmarking {} ({}): {} requests, {} at a time", url, what, o.requests, o.concurrency);
}

deploy::LoadOptions load_options(const std::string& url, const BenchOptions& o) {
    deploy::LoadOptions load;
    load.url = url;
    load.requests = o.requests;
    load.concurrency = o.concurrency;
    if (!o.data.empty()) load.body = o.data;
    load.timeout = std::chrono::seconds(o.timeout_s);
    return load;
}

int run_bench(const GlobalOptions& g, const BenchOptions& o) {
    if (!o.path.starts_with('/')) throw UsageError(fmt::format("--path {}: must start with '/'", o.path));
    auto engine = connect_engine(g);
    const auto stack = resolve_stack_name(g, *engine);
    const auto view = view_of(*engine, stack);
    std::string url = o.url;
    if (url.empty())
        url = balancer_url(view, stack, o.path);
    else
        check_url(url, view);
    const bool json = g.format == "json";
    auto& out = output();

    if (!json) out.step(load_line(url, o, "stack " + stack + ", through the balancer"));
    const auto summary = deploy::summarize(deploy::run_load(load_options(url, o)), view.replica_names);
    nlohmann::json report{{"stack", stack},
                          {"url", url},
                          {"requests", o.requests},
                          {"concurrency", o.concurrency},
                          {"balancer", deploy::summary_json(summary)}};
    std::string text = deploy::summary_text(summary);

    if (o.compare) {
        const auto& replica = pick_replica(view, stack, o);
        const int port = std::atoi(label(replica.summary, plan::label::port).c_str());
        std::string ip;
        for (const auto& [network, address] : replica.ip_by_network)
            if (!address.empty()) ip = address;
        const std::string direct = fmt::format("http://{}{}", host_port(ip, port), o.path);
        nlohmann::json compare{{"replica", replica.summary.name}, {"url", direct}};
        if (ip.empty() || engine->rootless() || !util::host_has_route_to(ip)) {
            const auto why =
                fmt::format("replica {} ({}) is not reachable from this host{}; only the balancer's numbers are shown",
                            replica.summary.name, ip.empty() ? "no address" : host_port(ip, port),
                            engine->rootless() ? " (a rootless engine's network)" : "");
            compare["skipped"] = why;
            text += "\n--compare: " + why + "\n";
        } else {
            if (!json) {
                out.result(text);
                text.clear();
                out.step(load_line(direct, o, "replica " + replica.summary.name + " directly"));
            }
            const auto alone = deploy::summarize(deploy::run_load(load_options(direct, o)), view.replica_names);
            compare["summary"] = deploy::summary_json(alone);
            text += deploy::summary_text(alone);
            if (!summary.percentiles_ms.empty() && !alone.percentiles_ms.empty()) {
                const double ratio =
                    alone.requests_per_second > 0 ? summary.requests_per_second / alone.requests_per_second : 0;
                text += fmt::format(
                    "\nThrough the balancer against {} directly: p50 {:+.1f} ms, p99 {:+.1f} ms, requests/s x{:.2f}\n",
                    replica.summary.name, summary.percentiles_ms.at(50) - alone.percentiles_ms.at(50),
                    summary.percentiles_ms.at(99) - alone.percentiles_ms.at(99), ratio);
            }
        }
        report["compare"] = compare;
    }
    out.result(json ? report.dump(2) : text);
    return 0;
}

}  // namespace

Command bench_command() {
    return {"bench", "Send a bounded load to the stack and print latency percentiles, requests/s and the spread",
            [](CLI::App& app) -> Runner {
                auto o = std::make_shared<BenchOptions>();
                app.add_option("SERVICE", o->service, "The service --compare measures (may be left out with one)");
                app.add_option("-n,--requests", o->requests, "Requests to send")->check(CLI::Range(1, 1000000));
                app.add_option("-c,--concurrency", o->concurrency, "Requests at a time")->check(CLI::Range(1, 1000));
                app.add_option("--path", o->path, "The path to request (default /)");
                app.add_option("-d,--data", o->data, "POST this body (as application/json) instead of a GET");
                app.add_option("--url", o->url,
                               "Another address of the stack (loopback or its own containers' addresses only)");
                app.add_option("--timeout", o->timeout_s, "Seconds one request may take")->check(CLI::Range(1, 3600));
                app.add_flag("--compare", o->compare, "Run the same load against one replica directly too");
                app.add_option("-r,--replica", o->replica, "The replica --compare measures (default 1)")
                    ->check(CLI::Range(1, 1000));
                return [o](const GlobalOptions& g) { return run_bench(g, *o); };
            },
            "mldeploy bench -n 1000 -c 10 --path /predict --compare",
            uses::file | uses::stack | uses::host | uses::format};
}

}  // namespace mldeploy::cmd
