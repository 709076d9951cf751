// The sums of the balancer's access log, per replica: requests by status code
// and a latency histogram since the balancer started (exact: every line of the
// log counted once), and a sliding window of recent requests for rates,
// percentiles and the average number in flight. Pure: time is given, never read.
#pragma once

#include "metrics/access_log.hpp"

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

namespace mldeploy::metrics {

// Histogram bucket bounds in seconds (Prometheus' `le`), from a fast
// classifier to a long generation; +Inf is implicit.
inline constexpr std::array<double, 16> kBuckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                                 2.5,   5,    10,    30,   60,  120,  300, 600};

struct ReplicaId {
    std::string service;
    std::string replica;  // "1", "2", ...; the address when no replica holds it
    auto operator<=>(const ReplicaId&) const = default;
};

// Which replica an address ("ip:port") belongs to, as the engine says now.
using AddressBook = std::map<std::string, ReplicaId>;

struct Histogram {
    std::array<std::uint64_t, kBuckets.size() + 1> counts{};  // per bucket, not cumulative; last: +Inf
    double sum = 0;
    std::uint64_t count = 0;
    void observe(double seconds);
    // Cumulative count at bucket i (Prometheus' _bucket{le=kBuckets[i]}).
    std::uint64_t cumulative(std::size_t i) const;
};

// One replica's figures over the window that ends at `now`.
struct WindowStats {
    double rate = 0;        // requests ended per second
    double error_rate = 0;  // 5xx answers per second
    std::uint64_t requests = 0;
    std::uint64_t errors = 0;
    double inflight = 0;               // average requests in progress (ended ones only: see docs/metrics.md)
    double p50 = 0, p95 = 0, p99 = 0;  // seconds; 0 without requests
};

struct ReplicaTotals {
    std::map<int, std::uint64_t> by_code;
    Histogram latency;
};

class Aggregate {
public:
    explicit Aggregate(double window_seconds = 10) : window_(window_seconds) {}

    // Counts one log line's tries; `book` names the replicas. Returns false for
    // a line that is not an access record (ignored).
    bool add_line(std::string_view line, const AddressBook& book);
    void add(const Record& record, const AddressBook& book);

    const std::map<ReplicaId, ReplicaTotals>& totals() const { return totals_; }
    std::uint64_t records() const { return records_; }
    // The window's figures per replica that has totals.
    std::map<ReplicaId, WindowStats> window(double now);
    // The same per service, all its replicas' tries together (a version's
    // figures: `mldeploy traffic`); its percentiles are over every try, not
    // combined from the replicas'.
    std::map<std::string, WindowStats> service_window(double now);
    double window_seconds() const { return window_; }

private:
    struct Recent {
        double start, end;
        int code;
    };
    void prune(double now);
    WindowStats stats_of(const std::vector<const std::deque<Recent>*>& lists, double now) const;

    double window_;
    std::uint64_t records_ = 0;
    std::map<ReplicaId, ReplicaTotals> totals_;
    std::map<ReplicaId, std::deque<Recent>> recent_;
};

// The q-th quantile (0..1) of `values` (sorted in place), nearest rank.
double quantile(std::vector<double>& values, double q);

}  // namespace mldeploy::metrics
