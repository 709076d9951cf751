#include "deploy/bench.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <string_view>

namespace mldeploy::deploy {
namespace {

// The address that answered: the last of "a:1, b:2" (nginx lists each replica
// it tried, and moves on only when one failed), or of "a:1 : b:2" (a second upstream).
std::string answered_by(const std::string& upstream) {
    std::size_t start = 0;
    for (const std::string_view sep : {std::string_view(", "), std::string_view(" : ")}) {
        const auto at = upstream.rfind(sep);
        if (at != std::string::npos) start = std::max(start, at + sep.size());
    }
    const auto begin = upstream.find_first_not_of(' ', start);
    const auto end = upstream.find_last_not_of(" \r\n");
    return begin == std::string::npos || end < begin ? std::string() : upstream.substr(begin, end - begin + 1);
}

}  // namespace

std::int64_t percentile(const std::vector<std::int64_t>& sorted, int percent) {
    if (percent >= 100) return sorted.back();
    const auto index = sorted.size() * static_cast<std::size_t>(std::max(percent, 0)) / 100;
    return sorted[std::min(index, sorted.size() - 1)];
}

Summary summarize(const LoadRun& run, const std::map<std::string, std::string>& names) {
    Summary s;
    s.requests = static_cast<int>(run.samples.size());
    s.seconds = run.seconds;
    std::vector<std::int64_t> times;
    for (const auto& sample : run.samples) {
        if (sample.status == 0) {
            ++s.failed;
            if (s.first_error.empty()) s.first_error = sample.error;
            continue;
        }
        ++s.answered;
        if (sample.status < 200 || sample.status > 299) ++s.non_2xx;
        times.push_back(sample.micros);
        const auto address = answered_by(sample.upstream);
        if (address.empty()) {
            ++s.unattributed;
        } else {
            const auto it = names.find(address);
            ++s.by_replica[it == names.end() ? address : it->second];
        }
    }
    if (!times.empty()) {
        std::sort(times.begin(), times.end());
        for (int p : kPercents) s.percentiles_ms[p] = static_cast<double>(percentile(times, p)) / 1000.0;
        s.mean_ms = static_cast<double>(std::accumulate(times.begin(), times.end(), std::int64_t{0})) /
                    static_cast<double>(times.size()) / 1000.0;
    }
    s.requests_per_second = s.seconds > 0 ? s.answered / s.seconds : 0;
    return s;
}

std::string summary_text(const Summary& s) {
    std::string text;
    text += fmt::format("Time taken for tests:   {:.3f} seconds\n", s.seconds);
    text += fmt::format("Complete requests:      {}\n", s.answered);
    text += fmt::format("Failed requests:        {}{}\n", s.failed,
                        s.first_error.empty() ? "" : fmt::format(" (first: {})", s.first_error));
    text += fmt::format("Non-2xx responses:      {}\n", s.non_2xx);
    text += fmt::format("Requests per second:    {:.2f} [#/sec] (mean)\n", s.requests_per_second);
    text += fmt::format("Time per request:       {:.3f} [ms] (mean)\n", s.mean_ms);
    if (!s.percentiles_ms.empty()) {
        text += "\nPercentage of the requests served within a certain time (ms)\n";
        for (const auto& [p, ms] : s.percentiles_ms)
            text += fmt::format(" {:>3}%  {:>8.1f}{}\n", p, ms, p == 100 ? " (longest request)" : "");
    }
    // Only through the balancer: a replica asked directly names no address.
    if (!s.by_replica.empty()) {
        text += "\nAnswers per replica\n";
        std::size_t width = 10;
        for (const auto& [name, count] : s.by_replica) width = std::max(width, name.size());
        auto line = [&](const std::string& name, int count) {
            const double share = s.answered > 0 ? 100.0 * count / s.answered : 0;
            text += fmt::format("  {:<{}}  {:>7}  {:>5.1f}%\n", name, width, count, share);
        };
        for (const auto& [name, count] : s.by_replica) line(name, count);
        if (s.unattributed > 0) line("(balancer)", s.unattributed);
    }
    return text;
}

nlohmann::json summary_json(const Summary& s) {
    nlohmann::json percentiles = nlohmann::json::object();
    for (const auto& [p, ms] : s.percentiles_ms) percentiles[std::to_string(p)] = ms;
    nlohmann::json replicas = nlohmann::json::object();
    for (const auto& [name, count] : s.by_replica) replicas[name] = count;
    return {{"requests", s.requests},      {"complete", s.answered},
            {"failed", s.failed},          {"non_2xx", s.non_2xx},
            {"seconds", s.seconds},        {"requests_per_second", s.requests_per_second},
            {"mean_ms", s.mean_ms},        {"percentiles_ms", percentiles},
            {"replicas", replicas},        {"unattributed", s.unattributed},
            {"first_error", s.first_error}};
}

}  // namespace mldeploy::deploy
