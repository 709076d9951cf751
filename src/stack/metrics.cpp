#include "stack/checks.hpp"
#include "stack/keys.hpp"
#include "stack/rules.hpp"
#include "stack/sections.hpp"

#include <fmt/format.h>

namespace mldeploy::stack::detail {

std::optional<Metrics> read_metrics(const TableReader& top, const Balancer& balancer) {
    const toml::node* node = top.find("metrics");
    if (node == nullptr) return std::nullopt;
    const toml::table* table = node->as_table();
    if (table == nullptr) {
        top.wrong_type("metrics", *node, "a table ([metrics]) with the host port to serve /metrics on");
        return std::nullopt;
    }
    Context& ctx = top.context();
    TableReader reader(ctx, *table, "metrics");
    reader.allow_only(keys::metrics);
    Metrics metrics;
    if (auto port = reader.integer("port", Need::required)) {
        metrics.port = port_number(ctx, "port", *port).value_or(0);
        if (metrics.port != 0 && metrics.port == balancer.port)
            ctx.error(port->pos,
                      fmt::format("metrics 'port' {} is the balancer's port too; choose another port", metrics.port));
    }
    if (auto host_ip = reader.string("host_ip")) {
        if (is_ip_literal(host_ip->value))
            metrics.host_ip = host_ip->value;
        else
            ctx.error(host_ip->pos, fmt::format("'host_ip' must be an IPv4 or IPv6 address such as \"127.0.0.1\" or "
                                                "\"0.0.0.0\", not {}",
                                                in_quotes(host_ip->value)));
    }
    return metrics;
}

}  // namespace mldeploy::stack::detail
