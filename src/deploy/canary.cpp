#include "deploy/canary.hpp"

#include "deploy/traffic.hpp"
#include "util/units.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

namespace mldeploy::deploy {
namespace {

double unix_now() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

std::string percent_text(double fraction) {
    auto text = fmt::format("{:.2f}", fraction * 100);
    while (text.ends_with('0')) text.pop_back();
    if (text.ends_with('.')) text.pop_back();
    return text + "%";
}

std::string seconds_text(double seconds) { return fmt::format("{:.3f}s", seconds); }

}  // namespace

void LogMeter::restart() { since_ = unix_now(); }

StepFigures LogMeter::figures(const std::string& service) {
    const double now = unix_now();
    const auto window = measure_traffic(engine_, stack_, std::max(0.001, now - since_), now);
    const auto it = window.services.find(service);
    if (it == window.services.end()) return {};
    return StepFigures{it->second.requests, it->second.errors, it->second.p95};
}

std::chrono::milliseconds starved_after(const stack::Rollout& rollout) {
    return std::max(rollout.pause * 4, rollout.pause + std::chrono::milliseconds(60000));
}

StepJudgement judge_step(const stack::Rollout& rollout, const StepFigures& figures, std::chrono::milliseconds elapsed) {
    const auto min_requests = static_cast<std::uint64_t>(std::max(1, rollout.min_requests));
    if (figures.requests >= min_requests) {
        const double share = static_cast<double>(figures.errors) / static_cast<double>(figures.requests);
        if (share > rollout.max_error_rate)
            return {StepVerdict::failed,
                    fmt::format("its error rate {} ({} of {} answers were 5xx) is over max_error_rate {}",
                                percent_text(share), figures.errors, figures.requests,
                                percent_text(rollout.max_error_rate))};
        if (rollout.max_p95 && figures.p95 > std::chrono::duration<double>(*rollout.max_p95).count())
            return {StepVerdict::failed,
                    fmt::format("its p95 latency {} (over {} answers) is over max_p95 {}", seconds_text(figures.p95),
                                figures.requests, util::format_duration(*rollout.max_p95))};
        if (elapsed >= rollout.pause) return {StepVerdict::passed, ""};
        return {};
    }
    if (elapsed >= starved_after(rollout))
        return {StepVerdict::failed,
                fmt::format("it answered only {} request(s) in {}s, fewer than min_requests {}: too little traffic "
                            "to judge it (send traffic during the rollout, or lower min_requests)",
                            figures.requests, std::chrono::duration_cast<std::chrono::seconds>(elapsed).count(),
                            rollout.min_requests)};
    return {};
}

std::string figures_text(const stack::Rollout& rollout, const StepFigures& figures) {
    const double share =
        figures.requests ? static_cast<double>(figures.errors) / static_cast<double>(figures.requests) : 0;
    auto text = fmt::format("{} answers (min {}), {} errors ({}, max {})", figures.requests, rollout.min_requests,
                            figures.errors, percent_text(share), percent_text(rollout.max_error_rate));
    text += fmt::format(", p95 {}", seconds_text(figures.p95));
    if (rollout.max_p95) text += fmt::format(" (max {})", util::format_duration(*rollout.max_p95));
    return text;
}

}  // namespace mldeploy::deploy
