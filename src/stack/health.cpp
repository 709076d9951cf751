#include "stack/checks.hpp"
#include "stack/keys.hpp"
#include "stack/sections.hpp"

namespace mldeploy::stack::detail {
std::optional<Health> read_health(const TableReader& service) {
    const toml::table* table = service.subtable("health");
    if (table == nullptr) return std::nullopt;
    TableReader reader(service.context(), *table, service.child("health"));
    reader.allow_only(keys::health);
    Health health;
    if (auto path = reader.string("path"); path && check_url_path(reader.context(), "path", *path))
        health.path = path->value;
    if (auto interval = duration_at_least(reader, "interval", Millis{1})) health.interval = *interval;
    if (auto timeout = duration_at_least(reader, "timeout", Millis{1})) health.timeout = *timeout;
    if (auto start = duration_at_least(reader, "start_period", Millis{0})) health.start_period = *start;
    if (auto retries = reader.integer("retries")) {
        if (auto in_range = int_in_range(reader.context(), "retries", *retries, keys::min_retries, keys::max_retries))
            health.retries = *in_range;
    }
    return health;
}

}  // namespace mldeploy::stack::detail
