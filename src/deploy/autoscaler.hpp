// The autoscaler as the controller runs it (`mldeploy agent`, deploy/agent.hpp):
// each reading, for every service with [services.X.autoscale], the decision of
// deploy/autoscale.hpp on the demand the balancer measured, applied through the
// same path as `mldeploy scale` (deploy/scale.hpp). It takes the stack from the
// balancer (the stack as last deployed), so a new `up` changes its settings.
//
// What it decides goes to its log as one line per event, `autoscale {json}`:
// `ps` reads them back with the engine's logs API (no port is published, no
// file is kept), and the same lines tell a user reading `mldeploy logs`.
#pragma once

#include "deploy/autoscale.hpp"
#include "deploy/executor.hpp"
#include "engine/engine.hpp"
#include "stack/model.hpp"
#include "util/output.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mldeploy::deploy {

// One line of the autoscaler's log, as `ps` shows it.
struct AutoscaleEvent {
    std::string service;
    std::string event;  // "start", "state" (the phase changed), "scaled", "failed"
    std::string phase;  // phase_name()
    double at = 0;      // unix seconds
    double since = 0;   // unix seconds: when the phase began
    int replicas = 0;   // running (after a "scaled": the new count)
    int wanted = 0;
    int min = 0, max = 0;
    double target = 0;
    std::string reason;
};

inline constexpr const char* kAutoscaleLinePrefix = "autoscale ";
std::string autoscale_line(const AutoscaleEvent& event);
std::optional<AutoscaleEvent> parse_autoscale_line(std::string_view line);

// What `ps` shows per service: the latest state line, and the latest decision
// ("scaled" or "failed"), from the log's lines in order.
struct AutoscaleReport {
    AutoscaleEvent state;
    std::optional<AutoscaleEvent> last_decision;
};
std::map<std::string, AutoscaleReport> autoscale_reports(const std::vector<std::string>& lines);

// The reports from the controller's log: its last lines (an autoscaler writes
// a line per change of phase or count, so a few hundred reach back far).
std::map<std::string, AutoscaleReport> read_autoscale_reports(engine::Engine& engine, const std::string& controller_id);

// `ps`'s lines for one service at unix time `now`:
//   "llm: min 1, max 4, target 2/replica: above target for 4s"
//   "  last: 12s ago: in flight 8.0 (8.0/replica) > target 2 for 2s: 1 -> 3"
std::vector<std::string> describe_report(const AutoscaleReport& report, double now);

class Autoscaler {
public:
    using Sink = std::function<void(const std::string&)>;
    // `log` takes each autoscale line; `out` the scale's progress.
    Autoscaler(engine::Engine& engine, std::string stack_name, util::Output& out, Sink log, Collaborators with = {});

    // One reading at `now` (`unix_now` for the log): `inflight` per service (the
    // window's average summed over its replicas), `running` replicas per
    // service. Returns whether it changed a count (the caller lists anew).
    bool tick(AutoscaleClock::time_point now, double unix_now, const std::map<std::string, double>& inflight,
              const std::map<std::string, int>& running);

    // The stack it scales, as it was last read from the balancer.
    const std::optional<stack::Stack>& stack() const { return stack_; }

private:
    void reload(AutoscaleClock::time_point now);
    AutoscaleEvent event_of(const stack::Service& service, const AutoscaleDecision& d, std::string kind,
                            double unix_now) const;

    engine::Engine& engine_;
    std::string stack_name_;
    util::Output& out_;
    Sink log_;
    Collaborators with_;
    std::optional<stack::Stack> stack_;
    std::optional<AutoscaleClock::time_point> loaded_at_;
    std::map<std::string, AutoscaleState> states_;
    std::map<std::string, double> since_unix_;
};

}  // namespace mldeploy::deploy
