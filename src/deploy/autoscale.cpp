#include "deploy/autoscale.hpp"

#include "util/units.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace mldeploy::deploy {
namespace {

// "in flight 10.4 (5.2/replica)"
std::string demand_text(double inflight, double per_replica) {
    return fmt::format("in flight {:.1f} ({:.1f}/replica)", inflight, per_replica);
}

// Why demand differs from the running count: the target, or the bounds when
// the count is outside them (a `scale` by hand, a first adoption).
std::string cause(const stack::Autoscale& s, const AutoscaleDecision& d, double inflight) {
    if (d.current < s.min || d.current > s.max)
        return fmt::format("{} replicas outside [{}, {}], {}", d.current, s.min, s.max,
                           demand_text(inflight, d.per_replica));
    return fmt::format("{} {} target {}", demand_text(inflight, d.per_replica), d.wanted > d.current ? ">" : "<",
                       s.target_inflight);
}

std::string seconds(AutoscaleClock::duration d) {
    return fmt::format("{:.1f}s", std::chrono::duration<double>(d).count());
}

}  // namespace

int wanted_replicas(const stack::Autoscale& settings, double inflight) {
    // A hair under: 4.0 in flight at target 2 is 2 replicas, also when the sum
    // of the window's averages comes out at 4.0000001.
    const double ratio = std::max(0.0, inflight) / settings.target_inflight - 1e-6;
    const auto wanted = static_cast<long long>(std::ceil(std::min(ratio, 1e9)));
    return static_cast<int>(std::clamp<long long>(wanted, settings.min, settings.max));
}

AutoscaleDecision decide(const stack::Autoscale& settings, AutoscaleState& state, AutoscaleClock::time_point now,
                         double inflight, int current) {
    AutoscaleDecision d;
    d.current = current;
    d.desired = current;
    d.wanted = wanted_replicas(settings, inflight);
    d.per_replica = current > 0 ? inflight / current : inflight;

    if (d.wanted == current) {
        state = {AutoscaleState::Phase::steady, now, current};
        d.reason = fmt::format("{}, target {}: {} replica(s) fit", demand_text(inflight, d.per_replica),
                               settings.target_inflight, current);
        return d;
    }
    const bool up = d.wanted > current;
    const auto phase = up ? AutoscaleState::Phase::above : AutoscaleState::Phase::below;
    if (state.phase != phase) {
        state = {phase, now, d.wanted};
    } else if (!up) {
        state.peak = std::max(state.peak, d.wanted);
    }
    const auto delay = up ? settings.scale_up_delay : settings.scale_down_delay;
    const auto held = now - state.since;
    const int target = up ? d.wanted : state.peak;
    if (held >= delay) {
        d.desired = target;
        d.reason = fmt::format("{} for {}: {} -> {}", cause(settings, d, inflight), util::format_duration(delay),
                               current, target);
        state = {AutoscaleState::Phase::steady, now, target};
        return d;
    }
    d.reason = fmt::format("{} for {} of {}: {} -> {} then", cause(settings, d, inflight), seconds(held),
                           util::format_duration(delay), current, target);
    return d;
}

std::string phase_name(AutoscaleState::Phase phase) {
    switch (phase) {
        case AutoscaleState::Phase::above:
            return "above target";
        case AutoscaleState::Phase::below:
            return "below target";
        case AutoscaleState::Phase::steady:
            break;
    }
    return "steady";
}

}  // namespace mldeploy::deploy
