#include "deploy/autoscaler.hpp"

#include "deploy/scale.hpp"
#include "deploy/stack_state.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace mldeploy::deploy {
namespace {

using nlohmann::json;

// The stack as deployed is read again this often: a new `up` may change the settings.
constexpr auto kReloadEvery = std::chrono::seconds(15);
// The controller's log lines `ps` reads back.
constexpr int kLogTail = 500;

}  // namespace

std::string autoscale_line(const AutoscaleEvent& e) {
    const json j{{"service", e.service}, {"event", e.event},       {"phase", e.phase},   {"at", e.at},
                 {"since", e.since},     {"replicas", e.replicas}, {"wanted", e.wanted}, {"min", e.min},
                 {"max", e.max},         {"target", e.target},     {"reason", e.reason}};
    return kAutoscaleLinePrefix + j.dump();
}

std::optional<AutoscaleEvent> parse_autoscale_line(std::string_view line) {
    // A line may carry the engine's timestamp or a carriage return: find the JSON.
    const auto at = line.find(kAutoscaleLinePrefix);
    if (at == std::string_view::npos) return std::nullopt;
    const auto text = line.substr(at + std::string_view(kAutoscaleLinePrefix).size());
    const auto j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("service")) return std::nullopt;
    AutoscaleEvent e;
    e.service = j.value("service", "");
    e.event = j.value("event", "");
    e.phase = j.value("phase", "");
    e.at = j.value("at", 0.0);
    e.since = j.value("since", 0.0);
    e.replicas = j.value("replicas", 0);
    e.wanted = j.value("wanted", 0);
    e.min = j.value("min", 0);
    e.max = j.value("max", 0);
    e.target = j.value("target", 0.0);
    e.reason = j.value("reason", "");
    return e;
}

std::map<std::string, AutoscaleReport> autoscale_reports(const std::vector<std::string>& lines) {
    std::map<std::string, AutoscaleReport> reports;
    for (const auto& line : lines) {
        auto e = parse_autoscale_line(line);
        if (!e) continue;
        auto& r = reports[e->service];
        if (e->event == "scaled" || e->event == "failed") r.last_decision = *e;
        r.state = std::move(*e);
    }
    return reports;
}

std::map<std::string, AutoscaleReport> read_autoscale_reports(engine::Engine& engine,
                                                              const std::string& controller_id) {
    std::vector<std::string> lines;
    engine.logs(controller_id, engine::Engine::LogOptions{false, kLogTail, std::nullopt, false},
                [&lines](engine::LogStream stream, std::string_view line) {
                    if (stream == engine::LogStream::stdout_) lines.emplace_back(line);
                });
    return autoscale_reports(lines);
}

std::vector<std::string> describe_report(const AutoscaleReport& report, double now) {
    const auto& s = report.state;
    const auto ago = [now](double at) { return fmt::format("{:.0f}s", std::max(0.0, now - at)); };
    std::vector<std::string> lines{fmt::format("{}: min {}, max {}, target {}/replica: {} for {}", s.service, s.min,
                                               s.max, s.target, s.phase, ago(s.since))};
    if (s.phase != "steady") lines.push_back("  now: " + s.reason);
    if (report.last_decision)
        lines.push_back(fmt::format("  last: {} ago{}: {}", ago(report.last_decision->at),
                                    report.last_decision->event == "failed" ? " (failed)" : "",
                                    report.last_decision->reason));
    else
        lines.push_back("  last: no change yet");
    return lines;
}

Autoscaler::Autoscaler(engine::Engine& engine, std::string stack_name, util::Output& out, Sink log, Collaborators with)
    : engine_(engine), stack_name_(std::move(stack_name)), out_(out), log_(std::move(log)), with_(with) {}

void Autoscaler::reload(AutoscaleClock::time_point now) {
    if (loaded_at_ && now - *loaded_at_ < kReloadEvery) return;
    loaded_at_ = now;
    try {
        if (auto deployed = load_deployed_stack(engine_, stack_name_)) stack_ = std::move(deployed);
    } catch (const std::exception& e) {
        // The stack read last time still holds; the next reading tries again.
        out_.warn(fmt::format("autoscale: reading the deployed stack: {}", e.what()));
    }
}

AutoscaleEvent Autoscaler::event_of(const stack::Service& service, const AutoscaleDecision& d, std::string kind,
                                    double unix_now) const {
    const auto& s = *service.autoscale;
    const auto state = states_.find(service.name);
    const auto since = since_unix_.find(service.name);
    return {service.name,
            std::move(kind),
            phase_name(state == states_.end() ? AutoscaleState::Phase::steady : state->second.phase),
            unix_now,
            since == since_unix_.end() ? unix_now : since->second,
            d.current,
            d.wanted,
            s.min,
            s.max,
            s.target_inflight,
            d.reason};
}

bool Autoscaler::tick(AutoscaleClock::time_point now, double unix_now, const std::map<std::string, double>& inflight,
                      const std::map<std::string, int>& running) {
    reload(now);
    if (!stack_) return false;
    bool changed = false;
    for (const auto& service : stack_->services) {
        if (!service.autoscale) continue;
        const auto demand = inflight.find(service.name);
        const auto count = running.find(service.name);
        const bool first = !states_.contains(service.name);
        auto& state = states_[service.name];
        const auto before = state.phase;
        const auto d = decide(*service.autoscale, state, now, demand == inflight.end() ? 0.0 : demand->second,
                              count == running.end() ? 0 : count->second);
        if (first || state.phase != before) since_unix_[service.name] = unix_now;
        if (first) log_(autoscale_line(event_of(service, d, "start", unix_now)));
        if (!d.changes()) {
            if (!first && state.phase != before) log_(autoscale_line(event_of(service, d, "state", unix_now)));
            continue;
        }
        since_unix_[service.name] = unix_now;
        auto event = event_of(service, d, "scaled", unix_now);
        try {
            out_.step(fmt::format("autoscale: {} to {} replica(s): {}", service.name, d.desired, d.reason));
            scale_service(engine_, *stack_, service.name, d.desired, out_, std::nullopt, with_);
            event.replicas = d.desired;
        } catch (const std::exception& e) {
            // Tried again once demand has asked for its delay again.
            event.event = "failed";
            event.reason = fmt::format("{}: {}", d.reason, e.what());
        }
        log_(autoscale_line(event));
        changed = true;
    }
    return changed;
}

}  // namespace mldeploy::deploy
