// mldeploy top [SERVICE] [--once] [--format json]: each replica's requests per
// second, requests in flight, p50/p95/p99 and errors, as the stack's controller
// measures them (docs/metrics.md). A refreshing table on a terminal.
#include "cmd/commands.hpp"
#include "deploy/probe.hpp"
#include "plan/labels.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

namespace mldeploy::cmd {
namespace {

struct TopOptions {
    std::string service;
    bool once = false;
    std::string format;
    double interval_s = 2;
};

// The controller's /top.json URL, from its published port.
std::string controller_url(engine::Engine& engine, const std::string& stack) {
    const auto list =
        engine.list_containers({{plan::label::stack, stack}, {plan::label::role, plan::label::role_controller}});
    bool unpublished = false;
    for (const auto& c : list) {
        if (c.state != "running") continue;
        for (const auto& p : c.ports) {
            std::string host = p.host_ip;
            if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
            if (host == "::") host = "::1";
            return deploy::http_url(host, p.host_port, "/top.json");
        }
        unpublished = true;
    }
    // Autoscaling alone runs a controller too, with no port to read it from.
    if (unpublished)
        throw std::runtime_error(
            fmt::format("stack {} autoscales, but its figures are published only with a [metrics] table: add "
                        "'[metrics]' and 'port = 9464' to its stack file and run `mldeploy up`",
                        stack));
    if (!list.empty())
        throw std::runtime_error(fmt::format("the controller of stack {} is not running ({}); `mldeploy up` starts it",
                                             stack, list.front().state));
    throw std::runtime_error(
        fmt::format("stack {} measures nothing: add a [metrics] table with a port to its stack "
                    "file (e.g. '[metrics]' and 'port = 9464') and run `mldeploy up`",
                    stack));
}

std::string seconds_text(double s) {
    if (s <= 0) return "-";
    if (s < 1) return fmt::format("{:.0f}ms", s * 1000);
    return fmt::format("{:.2f}s", s);
}

std::string table_of(const nlohmann::json& top) {
    std::string text = fmt::format("{:<16} {:>7} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7} {:>8}  {}", "SERVICE", "REPLICA",
                                   "REQ/S", "INFLIGHT", "P50", "P95", "P99", "ERR/S", "ERRORS", "GPU");
    for (const auto& r : top.at("replicas")) {
        const auto gpu = r.at("gpu").is_null() ? std::string("-") : r.at("gpu").get<std::string>();
        text += fmt::format(
            "\n{:<16} {:>7} {:>8.1f} {:>8.1f} {:>8} {:>8} {:>8} {:>7.1f} {:>8}  {}", r.at("service").get<std::string>(),
            r.at("replica").get<std::string>(), r.at("requests_per_second").get<double>(),
            r.at("inflight").get<double>(), seconds_text(r.at("p50_seconds").get<double>()),
            seconds_text(r.at("p95_seconds").get<double>()), seconds_text(r.at("p99_seconds").get<double>()),
            r.at("errors_per_second").get<double>(), r.at("errors_total").get<std::uint64_t>(), gpu);
    }
    if (top.at("replicas").empty()) text += "\n(no replicas)";
    return text;
}

nlohmann::json fetch(const std::string& url, const std::string& service) {
    const auto answer = deploy::http_get(url, std::chrono::milliseconds(3000));
    if (!answer.ok())
        throw std::runtime_error(fmt::format("the controller did not answer {}: {}", url,
                                             answer.status == 0 ? answer.error : std::to_string(answer.status)));
    auto top = nlohmann::json::parse(answer.body);
    if (!service.empty()) {
        auto kept = nlohmann::json::array();
        for (const auto& r : top["replicas"])
            if (r["service"] == service) kept.push_back(r);
        top["replicas"] = kept;
    }
    return top;
}

int run_top(const GlobalOptions& g, const TopOptions& o) {
    auto engine = connect_engine(g);
    const auto stack = resolve_stack_name(g, *engine);
    const auto url = controller_url(*engine, stack);
    const bool json = (o.format.empty() ? g.format : o.format) == "json";
    auto& out = output();
    const bool refresh = !o.once && !json && isatty(STDOUT_FILENO) != 0;
    for (;;) {
        const auto top = fetch(url, o.service);
        if (!o.service.empty() && top["replicas"].empty() && !top["services"].contains(o.service))
            throw UsageError(fmt::format("stack {} has no service {}", stack, o.service));
        if (json) {
            out.result(top.dump(2));
            return 0;
        }
        const auto header = fmt::format("stack {}: the last {}s (refreshed every {}s; Ctrl-C ends)", stack,
                                        top.value("window_seconds", 10.0), o.interval_s);
        if (!refresh) {
            out.result(table_of(top));
            return 0;
        }
        // Home and clear, then the whole table in one write.
        std::fputs(("\x1b[H\x1b[2J" + header + "\n\n" + table_of(top) + "\n").c_str(), stdout);
        std::fflush(stdout);
        std::this_thread::sleep_for(std::chrono::duration<double>(o.interval_s));
    }
}

}  // namespace

Command top_command() {
    return {
        "top", "Each replica's requests/s, requests in flight, latency percentiles and errors",
        [](CLI::App& app) -> Runner {
            auto o = std::make_shared<TopOptions>();
            app.add_option("SERVICE", o->service, "Only this service's replicas");
            app.add_flag("--once", o->once, "Print the table once (also when stdout is not a terminal)");
            app.add_option("--format", o->format, "text or json (json: once)")->check(CLI::IsMember({"text", "json"}));
            app.add_option("--interval", o->interval_s, "Seconds between refreshes (default 2)")
                ->check(CLI::Range(0.2, 3600.0));
            return [o](const GlobalOptions& g) { return run_top(g, *o); };
        },
        "mldeploy top --once --format json", uses::file | uses::stack | uses::host | uses::format};
}

}  // namespace mldeploy::cmd
