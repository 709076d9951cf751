#include "metrics/aggregate.hpp"

#include <algorithm>
#include <cmath>

namespace mldeploy::metrics {
namespace {

// Kept per replica at most: a window of 10 s at 10 000 requests/s.
constexpr std::size_t kRecentCap = 100000;

ReplicaId replica_of(const Attempt& a, const std::string& service, const AddressBook& book) {
    if (auto it = book.find(a.address); it != book.end()) return it->second;
    // An address no replica holds now (it left), or an upstream group with no
    // live server: the service from the log, the address as the replica.
    return {service.empty() ? std::string("unknown") : service, a.address};
}

}  // namespace

void Histogram::observe(double seconds) {
    std::size_t i = 0;
    while (i < kBuckets.size() && seconds > kBuckets[i]) ++i;
    ++counts[i];
    sum += seconds;
    ++count;
}

std::uint64_t Histogram::cumulative(std::size_t i) const {
    std::uint64_t total = 0;
    for (std::size_t b = 0; b <= i && b < counts.size(); ++b) total += counts[b];
    return total;
}

bool Aggregate::add_line(std::string_view line, const AddressBook& book) {
    auto record = parse_access_line(line);
    if (!record) return false;
    add(*record, book);
    return true;
}

void Aggregate::add(const Record& record, const AddressBook& book) {
    ++records_;
    for (const auto& a : record.attempts) {
        const auto id = replica_of(a, record.service, book);
        auto& t = totals_[id];
        ++t.by_code[a.code];
        t.latency.observe(a.seconds);
        auto& recent = recent_[id];
        recent.push_back({a.start, a.end, a.code});
        if (recent.size() > kRecentCap) recent.pop_front();
    }
}

void Aggregate::prune(double now) {
    for (auto& [id, recent] : recent_)
        while (!recent.empty() && recent.front().end < now - window_) recent.pop_front();
}

WindowStats Aggregate::stats_of(const std::vector<const std::deque<Recent>*>& lists, double now) const {
    WindowStats w;
    const double from = now - window_;
    std::vector<double> durations;
    double busy = 0;
    for (const auto* list : lists) {
        for (const auto& r : *list) {
            if (r.end < from || r.end > now + 1) continue;
            ++w.requests;
            if (r.code >= 500) ++w.errors;
            durations.push_back(r.end - r.start);
            busy += std::max(0.0, std::min(r.end, now) - std::max(r.start, from));
        }
    }
    w.rate = static_cast<double>(w.requests) / window_;
    w.error_rate = static_cast<double>(w.errors) / window_;
    w.inflight = busy / window_;
    w.p50 = quantile(durations, 0.50);
    w.p95 = quantile(durations, 0.95);
    w.p99 = quantile(durations, 0.99);
    return w;
}

std::map<ReplicaId, WindowStats> Aggregate::window(double now) {
    prune(now);
    std::map<ReplicaId, WindowStats> out;
    for (const auto& [id, totals] : totals_) {
        (void)totals;
        const auto it = recent_.find(id);
        out[id] = it == recent_.end() ? WindowStats{} : stats_of({&it->second}, now);
    }
    return out;
}

std::map<std::string, WindowStats> Aggregate::service_window(double now) {
    prune(now);
    std::map<std::string, std::vector<const std::deque<Recent>*>> by_service;
    for (const auto& [id, recent] : recent_) by_service[id.service].push_back(&recent);
    std::map<std::string, WindowStats> out;
    for (const auto& [service, lists] : by_service) out[service] = stats_of(lists, now);
    return out;
}

double quantile(std::vector<double>& values, double q) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
    return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

}  // namespace mldeploy::metrics
