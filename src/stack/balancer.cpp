#include "stack/checks.hpp"
#include "stack/keys.hpp"
#include "stack/rules.hpp"
#include "stack/sections.hpp"
#include "util/suggest.hpp"

#include <fmt/format.h>

namespace mldeploy::stack::detail {
namespace {

std::vector<std::string> names_of(const std::vector<Service>& services) {
    std::vector<std::string> names;
    names.reserve(services.size());
    for (const auto& service : services) names.push_back(service.name);
    return names;
}

bool check_route_service(Context& ctx, const Located<std::string>& service, const std::vector<Service>& services) {
    auto names = names_of(services);
    if (std::find(names.begin(), names.end(), service.value) != names.end()) return true;
    std::string message = fmt::format("route to unknown service {}", in_quotes(service.value));
    if (auto close = util::closest_match(service.value, names))
        message += fmt::format("; did you mean '{}'?", *close);
    else
        message += fmt::format("; the services are: {}", join(names));
    ctx.error(service.pos, std::move(message));
    return false;
}

std::optional<Route> read_route(Context& ctx, const toml::table& table, const std::vector<Service>& services,
                                std::map<std::string, SourcePos>& seen_paths) {
    TableReader reader(ctx, table, "balancer.routes", true);
    reader.allow_only(keys::route);
    auto path = reader.string("path", Need::required);
    auto service = reader.string("service", Need::required);
    auto strip = reader.boolean("strip_prefix");
    bool path_ok = path && check_url_path(ctx, "path", *path);
    if (path_ok) {
        auto [first, inserted] = seen_paths.emplace(path->value, path->pos);
        if (!inserted) {
            ctx.error(path->pos, fmt::format("duplicate route path {}; it is already routed at line {}",
                                             in_quotes(path->value), first->second.line));
            path_ok = false;
        }
    }
    bool service_ok = service && check_route_service(ctx, *service, services);
    if (!path_ok || !service_ok) return std::nullopt;
    return Route{path->value, service->value, strip && strip->value};
}

std::vector<Route> read_routes(const TableReader& balancer, const std::vector<Service>& services) {
    std::vector<Route> routes;
    const toml::node* node = balancer.find("routes");
    if (node == nullptr) return routes;
    Context& ctx = balancer.context();
    const toml::array* entries = node->as_array();
    if (entries == nullptr) {
        balancer.wrong_type("routes", *node, "an array of tables, written [[balancer.routes]]");
        return routes;
    }
    std::map<std::string, SourcePos> seen_paths;
    for (const toml::node& entry : *entries) {
        const toml::table* table = entry.as_table();
        if (table == nullptr) {
            ctx.error(ctx.pos_of(entry), fmt::format("each route must be a table with 'path' and 'service', not {}",
                                                     type_phrase(entry.type())));
            continue;
        }
        if (auto route = read_route(ctx, *table, services, seen_paths)) routes.push_back(std::move(*route));
    }
    return routes;
}

// Without [[balancer.routes]], a lone service takes every path.
void default_routes(Context& ctx, const SourcePos& pos, const std::vector<Service>& services,
                    std::vector<Route>& routes) {
    if (services.size() == 1) {
        routes.push_back({"/", services.front().name});
    } else if (services.size() > 1) {
        ctx.error(pos, fmt::format("the stack has {} services ({}); add [[balancer.routes]] tables with 'path' and "
                                   "'service' to say which path goes to which",
                                   services.size(), join(names_of(services))));
    }
}

// `routes = []` counts as not written.
bool has_written_routes(const TableReader& balancer) {
    const toml::node* node = balancer.find("routes");
    return node != nullptr && !(node->is_array() && node->as_array()->empty());
}

void read_host_ip(const TableReader& balancer, Balancer& into) {
    auto host_ip = balancer.string("host_ip");
    if (!host_ip) return;
    if (!is_ip_literal(host_ip->value)) {
        balancer.context().error(host_ip->pos, fmt::format("'host_ip' must be an IPv4 or IPv6 address such as "
                                                           "\"0.0.0.0\" or \"::1\", not {}",
                                                           in_quotes(host_ip->value)));
        return;
    }
    into.host_ip = host_ip->value;
}

}  // namespace

Balancer read_balancer(Context& ctx, const toml::table* table, const std::vector<Service>& services) {
    Balancer balancer;
    if (table == nullptr) {
        ctx.error(ctx.whole_file(),
                  "missing [balancer]: add one with the host port to publish, such as "
                  "'[balancer]' and 'port = 8080'");
        return balancer;
    }
    TableReader reader(ctx, *table, "balancer");
    reader.allow_only(keys::balancer);
    if (auto image = reader.string("image"); image && check_image_reference(ctx, "image", *image))
        balancer.image = image->value;
    if (auto port = reader.integer("port", Need::required)) balancer.port = port_number(ctx, "port", *port).value_or(0);
    read_host_ip(reader, balancer);
    if (auto algorithm = reader.string("algorithm");
        algorithm && check_one_of(ctx, "algorithm", *algorithm, keys::algorithms))
        balancer.algorithm = algorithm->value;
    if (auto max_body = reader.size("max_body")) balancer.max_body_bytes = max_body->value;
    if (auto timeout = duration_at_least(reader, "timeout", Millis{1000})) balancer.timeout = *timeout;
    balancer.routes = read_routes(reader, services);
    if (!has_written_routes(reader)) default_routes(ctx, reader.pos(), services, balancer.routes);
    return balancer;
}

}  // namespace mldeploy::stack::detail
