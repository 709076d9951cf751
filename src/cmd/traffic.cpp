// mldeploy traffic [--route PATH] [SVC=PCT ...]: each route's live split with
// what the balancer measured per backend, or a new live split put in with a
// graceful reload (docs/traffic.md). The split is kept in the balancer's
// stack.json; `up` keeps it while the file leaves the route as it was.
#include "deploy/traffic.hpp"
#include "cmd/commands.hpp"
#include "cmd/swarm_target.hpp"
#include "deploy/stack_state.hpp"
#include "plan/canary.hpp"
#include "plan/traffic.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>

namespace mldeploy::cmd {
namespace {

struct TrafficOptions {
    std::string route;
    std::vector<std::string> shares;
    double window_s = 30;
    std::string format;
};

double unix_now() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

std::string seconds_text(double s) {
    if (s <= 0) return "-";
    if (s < 1) return fmt::format("{:.0f}ms", s * 1000);
    return fmt::format("{:.2f}s", s);
}

nlohmann::json figures_json(const metrics::WindowStats& w) {
    return {
        {"requests", w.requests},
        {"requests_per_second", w.rate},
        {"errors", w.errors},
        {"error_rate", w.requests == 0 ? 0.0 : static_cast<double>(w.errors) / static_cast<double>(w.requests)},
        {"p95_seconds", w.p95},
    };
}

nlohmann::json route_json(const stack::Route& route, const deploy::TrafficWindow& window) {
    const auto file = route.file_split();
    auto split = route.split();
    // A canary in progress (`up`): its new version answers as <service>.canary,
    // a backend the kept stack does not name. Shown beside its service.
    std::vector<stack::Backend> shown;
    for (const auto& b : split) {
        shown.push_back(b);
        if (window.services.contains(plan::canary_service_name(b.service)))
            shown.push_back({plan::canary_service_name(b.service), -1});
    }
    split = shown;
    std::uint64_t total = 0;
    for (const auto& b : split)
        if (auto it = window.services.find(b.service); it != window.services.end()) total += it->second.requests;
    auto backends = nlohmann::json::array();
    for (std::size_t i = 0; i < split.size(); ++i) {
        const auto& b = split[i];
        const auto it = window.services.find(b.service);
        const auto w = it == window.services.end() ? metrics::WindowStats{} : it->second;
        auto backend = figures_json(w);
        backend["service"] = b.service;
        backend["canary"] = b.weight < 0;  // the new version of a canary rollout: its weight is up's
        backend["weight"] = std::max(0, b.weight);
        const auto in_file = std::find_if(file.begin(), file.end(), [&](auto& f) { return f.service == b.service; });
        backend["file_weight"] = in_file == file.end() ? 0 : in_file->weight;
        backend["share"] = total == 0 ? 0.0 : static_cast<double>(w.requests) / static_cast<double>(total);
        backends.push_back(backend);
    }
    nlohmann::json answer{
        {"path", route.path}, {"live", route.live.has_value()}, {"sticky", route.sticky}, {"backends", backends}};
    // The mirror's candidate: its own answers to the copies (discarded), beside the primary's.
    if (!route.mirror.empty()) {
        const auto it = window.services.find(route.mirror);
        auto mirror = figures_json(it == window.services.end() ? metrics::WindowStats{} : it->second);
        mirror["service"] = route.mirror;
        mirror["percent"] = route.mirror_percent;
        answer["mirror"] = mirror;
    }
    return answer;
}

std::string route_table(const nlohmann::json& r) {
    std::string text =
        fmt::format("route {}{}{}\n  {:<20} {:>16} {:>9} {:>8} {:>7} {:>6} {:>8}", r.at("path").get<std::string>(),
                    r.at("live").get<bool>() ? " (live split set by `mldeploy traffic`)" : "",
                    r.at("sticky").get<std::string>().empty() ? "" : ", sticky " + r.at("sticky").get<std::string>(),
                    "SERVICE", "WEIGHT", "REQUESTS", "REQ/S", "SHARE", "5XX", "P95");
    for (const auto& b : r.at("backends")) {
        const int weight = b.at("weight");
        const int file = b.at("file_weight");
        text += fmt::format("\n  {:<20} {:>16} {:>9} {:>8.1f} {:>6.1f}% {:>5.1f}% {:>8}",
                            b.at("service").get<std::string>(),
                            b.at("canary").get<bool>() ? std::string("canary")
                            : weight == file           ? fmt::format("{}%", weight)
                                                       : fmt::format("{}% (file {}%)", weight, file),
                            b.at("requests").get<std::uint64_t>(), b.at("requests_per_second").get<double>(),
                            b.at("share").get<double>() * 100, b.at("error_rate").get<double>() * 100,
                            seconds_text(b.at("p95_seconds").get<double>()));
    }
    if (r.contains("mirror")) {
        const auto& m = r.at("mirror");
        text +=
            fmt::format("\n  {:<20} {:>16} {:>9} {:>8.1f} {:>7} {:>5.1f}% {:>8}  (copies; its answers are discarded)",
                        m.at("service").get<std::string>(), fmt::format("mirror {}%", m.at("percent").get<int>()),
                        m.at("requests").get<std::uint64_t>(), m.at("requests_per_second").get<double>(), "-",
                        m.at("error_rate").get<double>() * 100, seconds_text(m.at("p95_seconds").get<double>()));
    }
    return text;
}

int show(const stack::Stack& stack, engine::Engine& engine, const TrafficOptions& o, bool json) {
    std::vector<const stack::Route*> routes;
    if (!o.route.empty())
        routes.push_back(&stack.balancer.routes.at(plan::route_for(stack, o.route, {})));
    else
        for (const auto& r : stack.balancer.routes) routes.push_back(&r);
    const auto window = deploy::measure_traffic(engine, stack, o.window_s, unix_now());
    nlohmann::json answer{{"stack", stack.name},
                          {"window_seconds", o.window_s},
                          {"measured", stack.logs_requests()},
                          {"routes", nlohmann::json::array()}};
    for (const auto* r : routes) answer["routes"].push_back(route_json(*r, window));
    if (json) {
        output().result(answer.dump(2));
        return 0;
    }
    std::string text = fmt::format("stack {}: the last {}s of the balancer's access log", stack.name, o.window_s);
    for (const auto& r : answer["routes"]) text += "\n" + route_table(r);
    if (!stack.logs_requests())
        text +=
            "\n(the balancer logs no requests for this stack: rates need a route with `backends` or a "
            "[metrics] table in the stack file, then `mldeploy up`)";
    output().result(text);
    return 0;
}

int shift(stack::Stack stack, engine::Engine& engine, const TrafficOptions& o, bool json) {
    const auto shares = plan::parse_shares(o.shares);
    auto& route = stack.balancer.routes.at(plan::route_for(stack, o.route, shares));
    const auto before = route.split();
    const auto after = plan::split_of(route, shares);
    auto& out = output();
    if (after != before) {
        plan::set_live(route, after);
        out.step(fmt::format("route {}: moving traffic to {}", route.path, plan::split_text(after)));
        deploy::apply_routes(engine, stack, out);
    }
    if (json) {
        auto split_json = [](const std::vector<stack::Backend>& split) {
            auto a = nlohmann::json::array();
            for (const auto& b : split) a.push_back({{"service", b.service}, {"weight", b.weight}});
            return a;
        };
        out.result(nlohmann::json{{"path", route.path},
                                  {"before", split_json(before)},
                                  {"after", split_json(after)},
                                  {"changed", after != before},
                                  {"live", route.live.has_value()}}
                       .dump(2));
    } else if (after == before) {
        out.result(fmt::format("route {}: already {} (nothing changed)", route.path, plan::split_text(after)));
    } else {
        out.result(fmt::format("route {}: {} -> {}{}", route.path, plan::split_text(before), plan::split_text(after),
                               route.live ? "" : " (the stack file's split)"));
    }
    return 0;
}

int run_traffic(const GlobalOptions& g, const TrafficOptions& o) {
    auto engine = connect_engine(g);
    const auto name = resolve_stack_name(g, *engine);
    if (stack_swarm(g, *engine, name))
        throw UsageError(
            fmt::format("stack {} runs on a swarm, whose routing mesh has no weighted routes; "
                        "`mldeploy traffic` works on the engine target",
                        name));
    const bool json = (o.format.empty() ? g.format : o.format) == "json";
    try {
        if (o.shares.empty()) {
            const auto kept = deploy::load_kept_stack(*engine, name);
            if (!kept)
                throw UsageError(fmt::format("stack '{}' has no balancer holding its routes; run `mldeploy up`", name));
            return show(*kept, *engine, o, json);
        }
        // Env values too: a replica the engine lost is started again as it ran.
        auto deployed = deploy::load_deployed_stack(*engine, name);
        if (!deployed)
            throw UsageError(fmt::format("stack '{}' has no balancer holding its routes; run `mldeploy up`", name));
        return shift(std::move(*deployed), *engine, o, json);
    } catch (const plan::TrafficError& e) {
        throw UsageError(e.what());
    }
}

}  // namespace

Command traffic_command() {
    return {"traffic", "Show each route's live split with rates and errors, or move it: SVC=PCT ...",
            [](CLI::App& app) -> Runner {
                auto o = std::make_shared<TrafficOptions>();
                app.add_option("SHARES", o->shares,
                               "The new split, SERVICE=PERCENT for the route's backends (whole percents summing to "
                               "100; a backend left out gets 0). Without them: show the split");
                app.add_option("--route", o->route, "The route, by path (needed when several routes fit)")
                    ->type_name("PATH");
                app.add_option("--window", o->window_s, "Seconds of the access log measured (default 30)")
                    ->check(CLI::Range(1.0, 3600.0));
                app.add_option("--format", o->format, "text or json")->check(CLI::IsMember({"text", "json"}));
                return [o](const GlobalOptions& g) { return run_traffic(g, *o); };
            },
            "mldeploy traffic recs=90 recs-v2=10", uses::file | uses::stack | uses::host | uses::format};
}

}  // namespace mldeploy::cmd
