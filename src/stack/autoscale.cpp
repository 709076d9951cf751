#include "stack/checks.hpp"
#include "stack/keys.hpp"
#include "stack/sections.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace mldeploy::stack::detail {
namespace {

// min and max: whole replicas, 1..max_replicas. No scale to zero: a request
// arriving then would wait for a replica to start, and nginx cannot hold it.
std::optional<int> read_bound(const TableReader& reader, std::string_view key, Need need = Need::optional) {
    auto value = reader.integer(key, need);
    if (!value) return std::nullopt;
    if (value->value < 1 || value->value > keys::max_replicas) {
        reader.context().error(value->pos, fmt::format("'{}' must be 1 to {} replicas, not {} (scaling to zero is "
                                                       "not supported: a request would wait for a replica to start)",
                                                       key, keys::max_replicas, value->value));
        return std::nullopt;
    }
    return static_cast<int>(value->value);
}

}  // namespace

std::optional<Autoscale> read_autoscale(const TableReader& service, Service& into) {
    const toml::table* table = service.subtable("autoscale");
    if (table == nullptr) return std::nullopt;
    TableReader reader(service.context(), *table, service.child("autoscale"));
    reader.allow_only(keys::autoscale);
    Context& ctx = reader.context();
    Autoscale autoscale;
    autoscale.pos = reader.pos();
    const auto min = read_bound(reader, "min");
    const auto max = read_bound(reader, "max", Need::required);
    if (min) autoscale.min = *min;
    if (max) autoscale.max = *max;
    if (min && max && *min > *max)
        ctx.error(reader.find("min") != nullptr ? ctx.pos_of(*reader.find("min")) : autoscale.pos,
                  fmt::format("autoscale 'min' ({}) is more than 'max' ({}); min must be at most max", *min, *max));
    if (!max) autoscale.max = std::max(autoscale.min, autoscale.max);
    if (auto target = reader.number("target_inflight")) {
        if (target->value > 0 && target->value <= keys::max_inflight)
            autoscale.target_inflight = target->value;
        else
            ctx.error(target->pos, fmt::format("'target_inflight' must be more than 0 and at most {}, not {} (requests "
                                               "in progress per replica to aim for, such as 2)",
                                               keys::max_inflight, target->value));
        // The balancer never lets a replica hold more than max_inflight, so a
        // target at or past it would never be exceeded and nothing would scale up.
        if (into.max_inflight && target->value >= *into.max_inflight)
            ctx.error(target->pos, fmt::format("'target_inflight' ({}) must be below the service's 'max_inflight' "
                                               "({}): a replica never holds more than max_inflight, so the target "
                                               "would never be exceeded",
                                               target->value, *into.max_inflight));
    }
    if (auto up = duration_at_least(reader, "scale_up_delay", Millis{0})) autoscale.scale_up_delay = *up;
    if (auto down = duration_at_least(reader, "scale_down_delay", Millis{0})) autoscale.scale_down_delay = *down;

    // `replicas` is where a first `up` starts: inside [min, max], or min when left out.
    if (const toml::node* replicas = service.find("replicas")) {
        // Only against bounds that are themselves right (else they are the error).
        const bool bounds_ok = max && (min || reader.find("min") == nullptr) && autoscale.min <= autoscale.max;
        const int lo = autoscale.min;
        const int hi = autoscale.max;
        if (bounds_ok && (into.replicas < lo || into.replicas > hi))
            ctx.error(ctx.pos_of(*replicas),
                      fmt::format("'replicas' is {}, outside autoscale's [{}, {}]; leave it out (a first `up` "
                                  "starts min replicas) or give a count from {} to {}",
                                  into.replicas, lo, hi, lo, hi));
    } else {
        into.replicas = autoscale.min;
    }
    return autoscale;
}

}  // namespace mldeploy::stack::detail
