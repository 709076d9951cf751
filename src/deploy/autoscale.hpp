// The autoscaler's decision, pure: from the demand on a service (requests in
// flight over the recent window, summed over its replicas) and its running
// replicas, the count it should run. The wanted count is ceil(in flight /
// target) within [min, max], as Ray Serve and KEDA compute it; it is applied
// only once demand has asked for more (fewer) replicas for scale_up_delay
// (scale_down_delay) without a break, so a short burst or a dip changes
// nothing. A scale-down goes to the most replicas demand asked for during its
// delay (as Kubernetes' HPA stabilises), so a dip in a falling load does not
// take too many away. Time is given, never read: tests use a fake clock.
#pragma once

#include "stack/model.hpp"

#include <chrono>
#include <string>

namespace mldeploy::deploy {

using AutoscaleClock = std::chrono::steady_clock;

// What the autoscaler remembers of one service between readings.
struct AutoscaleState {
    enum class Phase { steady, above, below };
    Phase phase = Phase::steady;
    AutoscaleClock::time_point since{};  // when the phase began
    int peak = 0;                        // below: the most replicas wanted since `since`
};

struct AutoscaleDecision {
    int current = 0;  // replicas running
    int wanted = 0;   // what demand asks for now, within [min, max]
    int desired = 0;  // what to run now: current, or wanted once its delay is over
    double per_replica = 0;
    std::string reason;  // "in flight 5.2/replica > target 2 for 10s: 2 -> 5"
    bool changes() const { return desired != current; }
};

// ceil(inflight / target) within [min, max].
int wanted_replicas(const stack::Autoscale& settings, double inflight);

// One reading at `now`: `inflight` is the service's requests in flight (the
// sum over its replicas of the window's average), `current` its replicas.
// Updates `state`; after a decision that changes the count, the state starts anew.
AutoscaleDecision decide(const stack::Autoscale& settings, AutoscaleState& state, AutoscaleClock::time_point now,
                         double inflight, int current);

// "steady", "above target", "below target", for `ps`.
std::string phase_name(AutoscaleState::Phase phase);

}  // namespace mldeploy::deploy
