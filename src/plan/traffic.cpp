#include "plan/traffic.hpp"

#include "util/suggest.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace mldeploy::plan {
namespace {

std::vector<std::string> services_of(const stack::Route& route) {
    std::vector<std::string> names;
    for (const auto& b : route.file_split()) names.push_back(b.service);
    return names;
}

bool holds(const stack::Route& route, const std::string& service) {
    const auto names = services_of(route);
    return std::find(names.begin(), names.end(), service) != names.end();
}

// "/ (recs, recs-v2), /v1 (old)": what the routes split, for messages.
std::string routes_text(const stack::Stack& stack) {
    std::vector<std::string> parts;
    for (const auto& r : stack.balancer.routes)
        parts.push_back(fmt::format("{} ({})", r.path, fmt::join(services_of(r), ", ")));
    return fmt::format("{}", fmt::join(parts, ", "));
}

// An example of a right command line for `route`: its split as it is now.
std::string example_for(const stack::Route& route) {
    std::vector<std::string> words;
    for (const auto& b : route.split()) words.push_back(fmt::format("{}={}", b.service, b.weight));
    return fmt::format("{}", fmt::join(words, " "));
}

}  // namespace

std::vector<Share> parse_shares(const std::vector<std::string>& words) {
    std::vector<Share> shares;
    int sum = 0;
    for (const auto& word : words) {
        const auto eq = word.find('=');
        if (eq == std::string::npos || eq == 0)
            throw TrafficError(fmt::format("'{}' is not SERVICE=PERCENT (e.g. recs=90)", word));
        Share share{word.substr(0, eq), -1};
        const auto digits = word.substr(eq + 1);
        const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), share.percent);
        if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() || share.percent < 0 ||
            share.percent > 100)
            throw TrafficError(fmt::format("'{}': the percent must be a whole number from 0 to 100 (e.g. {}=50)", word,
                                           share.service));
        for (const auto& s : shares)
            if (s.service == share.service)
                throw TrafficError(fmt::format("service {} is given twice; give each service once", share.service));
        sum += share.percent;
        shares.push_back(std::move(share));
    }
    if (!shares.empty() && sum != 100)
        throw TrafficError(fmt::format("the percents sum to {}, not 100 (e.g. a=90 b=10)", sum));
    return shares;
}

std::size_t route_for(const stack::Stack& stack, const std::string& path, const std::vector<Share>& shares) {
    const auto& routes = stack.balancer.routes;
    if (!path.empty()) {
        for (std::size_t i = 0; i < routes.size(); ++i)
            if (routes[i].path == path) return i;
        throw TrafficError(
            fmt::format("stack {} has no route {}; its routes: {}", stack.name, path, routes_text(stack)));
    }
    std::vector<std::size_t> fitting;
    for (std::size_t i = 0; i < routes.size(); ++i) {
        const bool all =
            std::all_of(shares.begin(), shares.end(), [&](const Share& s) { return holds(routes[i], s.service); });
        if (all) fitting.push_back(i);
    }
    // A route with one service cannot be split: prefer the ones with backends.
    std::vector<std::size_t> weighted;
    for (auto i : fitting)
        if (routes[i].file_split().size() > 1) weighted.push_back(i);
    if (!weighted.empty()) fitting = weighted;
    if (fitting.size() == 1) return fitting.front();
    if (fitting.empty()) {
        std::vector<std::string> names;
        for (const auto& s : shares) names.push_back(s.service);
        throw TrafficError(fmt::format("no route of stack {} has {} behind it; its routes: {}", stack.name,
                                       fmt::join(names, " and "), routes_text(stack)));
    }
    std::vector<std::string> options;
    for (auto i : fitting) options.push_back("--route " + routes[i].path);
    throw TrafficError(fmt::format("more than one route fits; give one of: {}", fmt::join(options, ", ")));
}

std::vector<stack::Backend> split_of(const stack::Route& route, const std::vector<Share>& shares) {
    const auto names = services_of(route);
    if (names.size() < 2)
        throw TrafficError(
            fmt::format("route {} sends every request to {}: to split it, give it backends = "
                        "[{{ service = ..., weight = ... }}, ...] in the stack file",
                        route.path, names.front()));
    for (const auto& s : shares) {
        if (holds(route, s.service)) continue;
        const auto near = util::closest_match(s.service, names);
        throw TrafficError(fmt::format("service {} is not behind route {}{}; its backends: {} (e.g. {})", s.service,
                                       route.path, near ? " (did you mean " + *near + "?)" : "", fmt::join(names, ", "),
                                       example_for(route)));
    }
    auto split = route.file_split();
    for (auto& b : split) {
        b.weight = 0;
        for (const auto& s : shares)
            if (s.service == b.service) b.weight = s.percent;
    }
    return split;
}

void set_live(stack::Route& route, const std::vector<stack::Backend>& split) {
    if (split == route.file_split())
        route.live.reset();
    else
        route.live = split;
}

std::string percents_text(const std::vector<stack::Backend>& split) {
    std::vector<int> weights;
    for (const auto& b : split) weights.push_back(b.weight);
    return fmt::format("{}", fmt::join(weights, "/"));
}

std::string split_text(const std::vector<stack::Backend>& split) {
    std::vector<std::string> parts;
    for (const auto& b : split) parts.push_back(fmt::format("{} {}", b.service, b.weight));
    return fmt::format("{}", fmt::join(parts, ", "));
}

CarriedSplits carry_live_splits(stack::Stack& file, const stack::Stack& deployed) {
    CarriedSplits said;
    for (auto& route : file.balancer.routes) {
        const auto it = std::find_if(deployed.balancer.routes.begin(), deployed.balancer.routes.end(),
                                     [&](const stack::Route& r) { return r.path == route.path; });
        if (it == deployed.balancer.routes.end() || !it->live) continue;
        if (route.same_in_file(*it)) {
            route.live = it->live;
            said.kept.push_back(
                fmt::format("route {}: the live split {} set by `mldeploy traffic` stays (the file's "
                            "is {})",
                            route.path, percents_text(*it->live), percents_text(route.file_split())));
        } else {
            route.live.reset();
            // Percents alone when the backends are the same services, in the same order.
            const bool same_services = services_of(route) == services_of(*it);
            const auto text = same_services ? percents_text : split_text;
            said.replaced.push_back(fmt::format("route {}: the file's split {} replaces the live split {}", route.path,
                                                text(route.file_split()), text(*it->live)));
        }
    }
    return said;
}

}  // namespace mldeploy::plan
