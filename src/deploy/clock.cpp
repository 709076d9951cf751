#include "deploy/clock.hpp"

#include <thread>

namespace mldeploy::deploy {
namespace {

class SystemClock final : public Clock {
public:
    time_point now() override { return std::chrono::steady_clock::now(); }
    void sleep_for(std::chrono::milliseconds duration) override { std::this_thread::sleep_for(duration); }
};

}  // namespace

Clock& system_clock() {
    static SystemClock clock;
    return clock;
}

}  // namespace mldeploy::deploy
