// A canary rollout's judge: what the balancer measured for the new version in
// the current step, against the service's [rollout] thresholds. The figures
// come through a VersionMeter (the real one reads the balancer's access log
// through the engine; the unit tests script one), so the judge and the
// executor's canary are tested without an engine or a clock.
#pragma once

#include "engine/engine.hpp"
#include "stack/model.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace mldeploy::deploy {

// One version's answers since the step began.
struct StepFigures {
    std::uint64_t requests = 0;
    std::uint64_t errors = 0;  // 5xx
    double p95 = 0;            // seconds; 0 without requests
};

class VersionMeter {
public:
    virtual ~VersionMeter() = default;
    // A new step: its figures count from now.
    virtual void restart() = 0;
    // What the balancer logged for `service` (its upstream) since restart().
    virtual StepFigures figures(const std::string& service) = 0;
};

// The real one: the balancer's access log through the engine's log API.
class LogMeter : public VersionMeter {
public:
    LogMeter(engine::Engine& engine, const stack::Stack& stack) : engine_(engine), stack_(stack) {}
    void restart() override;
    StepFigures figures(const std::string& service) override;

private:
    engine::Engine& engine_;
    const stack::Stack& stack_;
    double since_ = 0;  // unix time
};

enum class StepVerdict { watching, passed, failed };

struct StepJudgement {
    StepVerdict verdict = StepVerdict::watching;
    std::string why;  // failed: the figures that crossed a threshold
};

// How long a step waits for min_requests before it gives up (too little
// traffic to judge is a failure: nothing says the new version is good).
std::chrono::milliseconds starved_after(const stack::Rollout& rollout);

// The step's verdict after `elapsed` in it. A threshold crossed fails it at once
// (once min_requests answers are in); it passes when its pause is over with
// min_requests answers in.
StepJudgement judge_step(const stack::Rollout& rollout, const StepFigures& figures, std::chrono::milliseconds elapsed);

// "143 answers, 2 errors (1.4%, max 5%), p95 0.021s (max 2s)".
std::string figures_text(const stack::Rollout& rollout, const StepFigures& figures);

}  // namespace mldeploy::deploy
