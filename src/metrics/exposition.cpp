#include "metrics/exposition.hpp"

#include <fmt/format.h>

#include <set>

namespace mldeploy::metrics {
namespace {

std::string escaped(std::string_view value) {
    std::string out;
    for (char c : value) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

std::string labels(const std::string& stack, const ReplicaId& id) {
    return fmt::format("stack=\"{}\",service=\"{}\",replica=\"{}\"", escaped(stack), escaped(id.service),
                       escaped(id.replica));
}

// Seconds as Prometheus writes them: the shortest text that reads back the same.
std::string number(double v) { return fmt::format("{}", v); }

std::set<ReplicaId> every_replica(const Snapshot& s) {
    std::set<ReplicaId> ids(s.current.begin(), s.current.end());
    for (const auto& [id, t] : s.totals) ids.insert(id);
    return ids;
}

}  // namespace

std::string prometheus_text(const Snapshot& s) {
    std::string out;
    out +=
        "# HELP mldeploy_requests_total Requests a replica answered, by status code (each try of a retried "
        "request counts on its replica).\n# TYPE mldeploy_requests_total counter\n";
    for (const auto& [id, t] : s.totals)
        for (const auto& [code, n] : t.by_code)
            out += fmt::format("mldeploy_requests_total{{{},code=\"{}\"}} {}\n", labels(s.stack, id), code, n);

    out +=
        "# HELP mldeploy_request_duration_seconds How long a replica took to answer.\n"
        "# TYPE mldeploy_request_duration_seconds histogram\n";
    for (const auto& [id, t] : s.totals) {
        const auto l = labels(s.stack, id);
        for (std::size_t i = 0; i < kBuckets.size(); ++i)
            out += fmt::format("mldeploy_request_duration_seconds_bucket{{{},le=\"{}\"}} {}\n", l, number(kBuckets[i]),
                               t.latency.cumulative(i));
        out += fmt::format("mldeploy_request_duration_seconds_bucket{{{},le=\"+Inf\"}} {}\n", l, t.latency.count);
        out += fmt::format("mldeploy_request_duration_seconds_sum{{{}}} {}\n", l, number(t.latency.sum));
        out += fmt::format("mldeploy_request_duration_seconds_count{{{}}} {}\n", l, t.latency.count);
    }

    out += fmt::format(
        "# HELP mldeploy_inflight_requests Requests in progress on a replica, averaged over the last {}s "
        "(from requests that ended).\n# TYPE mldeploy_inflight_requests gauge\n",
        number(s.window_seconds));
    for (const auto& id : every_replica(s)) {
        const auto it = s.window.find(id);
        out += fmt::format("mldeploy_inflight_requests{{{}}} {}\n", labels(s.stack, id),
                           number(it == s.window.end() ? 0.0 : it->second.inflight));
    }

    out += "# HELP mldeploy_replicas Running replicas of a service.\n# TYPE mldeploy_replicas gauge\n";
    for (const auto& [service, n] : s.replicas)
        out +=
            fmt::format("mldeploy_replicas{{stack=\"{}\",service=\"{}\"}} {}\n", escaped(s.stack), escaped(service), n);

    if (s.balancer_inflight) {
        out +=
            "# HELP mldeploy_balancer_inflight_requests Requests the balancer works on now (all services).\n"
            "# TYPE mldeploy_balancer_inflight_requests gauge\n";
        out += fmt::format("mldeploy_balancer_inflight_requests{{stack=\"{}\"}} {}\n", escaped(s.stack),
                           *s.balancer_inflight);
    }
    return out;
}

nlohmann::json top_json(const Snapshot& s) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& id : every_replica(s)) {
        WindowStats w;
        if (auto it = s.window.find(id); it != s.window.end()) w = it->second;
        std::uint64_t total = 0, errors = 0;
        if (auto it = s.totals.find(id); it != s.totals.end())
            for (const auto& [code, n] : it->second.by_code) {
                total += n;
                if (code >= 500) errors += n;
            }
        rows.push_back({{"service", id.service},
                        {"replica", id.replica},
                        {"requests_per_second", w.rate},
                        {"errors_per_second", w.error_rate},
                        {"inflight", w.inflight},
                        {"p50_seconds", w.p50},
                        {"p95_seconds", w.p95},
                        {"p99_seconds", w.p99},
                        {"requests_total", total},
                        {"errors_total", errors},
                        {"gpu", nullptr}});
    }
    nlohmann::json j{{"stack", s.stack}, {"window_seconds", s.window_seconds}, {"replicas", rows}};
    j["balancer_inflight"] = s.balancer_inflight ? nlohmann::json(*s.balancer_inflight) : nlohmann::json();
    nlohmann::json services = nlohmann::json::object();
    for (const auto& [service, n] : s.replicas) services[service] = n;
    j["services"] = services;
    return j;
}

}  // namespace mldeploy::metrics
