// Time as the executor sees it: injected, so that unit tests run a rolling
// update's waits (health budgets, drains, polls) in no time on a fake clock.
#pragma once

#include <chrono>

namespace mldeploy::deploy {

class Clock {
public:
    using time_point = std::chrono::steady_clock::time_point;
    virtual ~Clock() = default;
    virtual time_point now() = 0;
    virtual void sleep_for(std::chrono::milliseconds duration) = 0;
};

// The real one: steady_clock and this_thread::sleep_for.
Clock& system_clock();

}  // namespace mldeploy::deploy
