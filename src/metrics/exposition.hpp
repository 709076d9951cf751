// What the controller serves: the aggregate as Prometheus text (/metrics) and as
// the JSON that `mldeploy top` reads (/top.json).
#pragma once

#include "metrics/aggregate.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mldeploy::metrics {

struct Snapshot {
    std::string stack;
    std::map<std::string, int> replicas;  // service -> its running replicas
    std::vector<ReplicaId> current;       // the replicas now, listed even before any request
    std::map<ReplicaId, ReplicaTotals> totals;
    std::map<ReplicaId, WindowStats> window;
    double window_seconds = 10;
    // Requests the balancer works on right now (nginx's stub_status "writing",
    // less the status request itself): live, for the whole balancer.
    std::optional<long> balancer_inflight;
    double now = 0;
};

// Prometheus' text format 0.0.4: mldeploy_requests_total, _request_duration_seconds,
// _inflight_requests, _replicas (CONTRACT.md), and mldeploy_balancer_inflight_requests.
std::string prometheus_text(const Snapshot& snapshot);

// {"stack", "window_seconds", "balancer_inflight", "replicas": [{"service", "replica",
//  "requests_per_second", "inflight", "p50_seconds", "p95_seconds", "p99_seconds",
//  "errors_per_second", "requests_total", "errors_total", "gpu"}]}
nlohmann::json top_json(const Snapshot& snapshot);

}  // namespace mldeploy::metrics
