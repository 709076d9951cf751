// [services.X.rollout]: rolling (the default) or canary, and a canary's steps
// and thresholds (docs/stack-file.md, docs/traffic.md#canary-rollouts).
#include "stack/checks.hpp"
#include "stack/keys.hpp"
#include "stack/sections.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

namespace mldeploy::stack::detail {
namespace {

// steps = [10, 50, 100]: whole percents 1..100, rising, the last 100.
std::optional<std::vector<int>> read_steps(const TableReader& reader) {
    const toml::node* node = reader.find("steps");
    if (node == nullptr) return std::nullopt;
    Context& ctx = reader.context();
    const toml::array* array = node->as_array();
    if (array == nullptr || array->empty()) {
        ctx.error(ctx.pos_of(*node),
                  fmt::format("'steps' must be a non-empty array of percents such as [10, 50, 100], not {}",
                              array == nullptr ? type_phrase(node->type()) : "an empty array"));
        return std::nullopt;
    }
    std::vector<int> steps;
    bool ok = true;
    for (const toml::node& entry : *array) {
        const auto* whole = entry.as_integer();
        if (whole == nullptr || whole->get() < 1 || whole->get() > 100) {
            ctx.error(
                ctx.pos_of(entry),
                whole == nullptr
                    ? fmt::format("each step must be a whole percent from 1 to 100, not {}", type_phrase(entry.type()))
                    : fmt::format("each step must be a whole percent from 1 to 100, not {}", whole->get()));
            ok = false;
            continue;
        }
        const int step = static_cast<int>(whole->get());
        if (!steps.empty() && step <= steps.back()) {
            ctx.error(ctx.pos_of(entry),
                      fmt::format("steps must rise: {} comes after {} (such as [10, 50, 100])", step, steps.back()));
            ok = false;
        }
        steps.push_back(step);
    }
    if (ok && steps.back() != 100) {
        ctx.error(ctx.pos_of(*node), fmt::format("'steps' must end with 100, not {}: the last step moves all the "
                                                 "service's traffic to the new version (such as [{}, 100])",
                                                 steps.back(), fmt::join(steps, ", ")));
        ok = false;
    }
    if (!ok) return std::nullopt;
    return steps;
}

// max_error_rate = "1%" (a percent 0..100, decimals allowed), or a fraction 0..1.
std::optional<double> read_error_rate(const TableReader& reader) {
    const toml::node* node = reader.find("max_error_rate");
    if (node == nullptr) return std::nullopt;
    Context& ctx = reader.context();
    const auto wrong = [&](const std::string& what) {
        ctx.error(ctx.pos_of(*node), fmt::format("'max_error_rate' must be a percent such as \"1%\" or \"0.5%\" "
                                                 "(0% to 100%), or a fraction from 0 to 1, not {}",
                                                 what));
        return std::nullopt;
    };
    if (const auto* text = node->as_string()) {
        const std::string value = text->get();
        if (!value.ends_with('%') || value.size() < 2) return wrong("\"" + value + "\"");
        double percent = 0;
        const char* first = value.data();
        const char* last = value.data() + value.size() - 1;
        const auto [end, ec] = std::from_chars(first, last, percent);
        if (ec != std::errc() || end != last || !std::isfinite(percent) || percent < 0 || percent > 100)
            return wrong("\"" + value + "\"");
        return percent / 100;
    }
    if (node->is_integer() || node->is_floating_point()) {
        const double fraction =
            node->is_integer() ? static_cast<double>(node->as_integer()->get()) : node->as_floating_point()->get();
        if (fraction < 0 || fraction > 1) return wrong(fmt::format("{}", fraction));
        return fraction;
    }
    return wrong(std::string(type_phrase(node->type())));
}

}  // namespace

std::optional<Rollout> read_rollout(const TableReader& service) {
    const toml::table* table = service.subtable("rollout");
    if (table == nullptr) return std::nullopt;
    TableReader reader(service.context(), *table, service.child("rollout"));
    reader.allow_only(keys::rollout);
    Context& ctx = reader.context();
    Rollout rollout;
    rollout.pos = reader.pos();
    if (auto strategy = reader.string("strategy");
        strategy && check_one_of(ctx, "strategy", *strategy, keys::rollout_strategies))
        rollout.strategy = strategy->value;
    if (auto steps = read_steps(reader)) rollout.steps = *steps;
    if (auto pause = duration_at_least(reader, "pause", Millis{1000})) rollout.pause = *pause;
    if (auto rate = read_error_rate(reader)) rollout.max_error_rate = *rate;
    if (auto p95 = duration_at_least(reader, "max_p95", Millis{1})) rollout.max_p95 = *p95;
    if (auto min = reader.integer("min_requests")) {
        if (min->value >= 1 && min->value <= keys::max_min_requests)
            rollout.min_requests = static_cast<int>(min->value);
        else
            ctx.error(min->pos, fmt::format("'min_requests' must be 1 to {}, not {} (answers the new version must "
                                            "give in a step before it is judged, such as 20)",
                                            keys::max_min_requests, min->value));
    }
    // The canary's keys mean nothing to a rolling update: say so rather than ignore them.
    if (!rollout.canary())
        for (const auto& key : keys::canary_only)
            if (const toml::node* node = reader.find(key))
                ctx.error(ctx.pos_of(*node),
                          fmt::format("'{}' applies to strategy = \"canary\" only; add strategy = \"canary\" or "
                                      "remove it",
                                      key));
    return rollout;
}

}  // namespace mldeploy::stack::detail
