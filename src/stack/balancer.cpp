#include "stack/checks.hpp"
#include "stack/keys.hpp"
#include "stack/rules.hpp"
#include "stack/sections.hpp"
#include "util/suggest.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

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

// backends = [{ service = "a", weight = 90 }, { service = "b", weight = 10 }]:
// known services, each once, integer percents summing to 100.
std::optional<std::vector<Backend>> read_backends(const TableReader& route, const std::vector<Service>& services) {
    const toml::node* node = route.find("backends");
    if (node == nullptr) return std::nullopt;
    Context& ctx = route.context();
    const toml::array* entries = node->as_array();
    if (entries == nullptr || entries->empty()) {
        ctx.error(ctx.pos_of(*node),
                  fmt::format("'backends' must be a non-empty array of tables such as [{{ service = \"a\", weight "
                              "= 90 }}, {{ service = \"b\", weight = 10 }}], not {}",
                              entries == nullptr ? type_phrase(node->type()) : "an empty array"));
        return std::nullopt;
    }
    std::vector<Backend> backends;
    std::map<std::string, SourcePos> seen;
    bool ok = true;
    int sum = 0;
    for (const toml::node& entry : *entries) {
        const toml::table* table = entry.as_table();
        if (table == nullptr) {
            ctx.error(ctx.pos_of(entry), fmt::format("each backend must be a table such as {{ service = \"a\", "
                                                     "weight = 90 }}, not {}",
                                                     type_phrase(entry.type())));
            ok = false;
            continue;
        }
        TableReader reader(ctx, *table, "balancer.routes.backends", true);
        reader.allow_only(keys::backend);
        auto service = reader.string("service", Need::required);
        auto weight = reader.integer("weight", Need::required);
        std::optional<int> percent;
        if (weight) percent = int_in_range(ctx, "weight", *weight, 0, 100);
        bool service_ok = service && check_route_service(ctx, *service, services);
        if (service_ok) {
            auto [first, inserted] = seen.emplace(service->value, service->pos);
            if (!inserted) {
                ctx.error(service->pos, fmt::format("service {} is already a backend of this route (line {}); "
                                                    "give each service once",
                                                    in_quotes(service->value), first->second.line));
                service_ok = false;
            }
        }
        if (!service_ok || !percent) {
            ok = false;
            continue;
        }
        sum += *percent;
        backends.push_back({service->value, *percent});
    }
    if (ok && sum != 100) {
        ctx.error(ctx.pos_of(*node), fmt::format("the weights of 'backends' sum to {}; they are percents of the "
                                                 "route's requests and must sum to 100",
                                                 sum));
        ok = false;
    }
    if (!ok) return std::nullopt;
    return backends;
}

// sticky = "header:X-User-Id" | "cookie:user": a name nginx can read as a variable
// ($http_x_user_id, $cookie_user), so nothing else can reach the configuration.
std::optional<std::string> read_sticky(const TableReader& route) {
    auto sticky = route.string("sticky");
    if (!sticky) return std::nullopt;
    const auto colon = sticky->value.find(':');
    const auto kind = sticky->value.substr(0, colon);
    const auto name = colon == std::string::npos ? std::string() : sticky->value.substr(colon + 1);
    const bool header = kind == "header";
    const auto allowed = [&](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == (header ? '-' : '_');
    };
    const bool name_ok = !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), allowed);
    if ((header || kind == "cookie") && name_ok) return sticky->value;
    route.context().error(sticky->pos,
                          fmt::format("'sticky' must be \"header:NAME\" (NAME: letters, digits and '-') or "
                                      "\"cookie:NAME\" (NAME: letters, digits and '_'), such as \"header:X-User-Id\", "
                                      "not {}",
                                      in_quotes(sticky->value)));
    return std::nullopt;
}

// mirror = "svc" (a known service that is not one of the route's own backends,
// which would then get some requests twice) and mirror_percent = 0..100.
struct MirrorKeys {
    bool ok = true;
    std::string service;  // "" when not written
    int percent = 100;
};
MirrorKeys read_mirror(const TableReader& route, const std::vector<Service>& services,
                       const std::vector<std::string>& own_backends) {
    MirrorKeys out;
    Context& ctx = route.context();
    const bool written = route.find("mirror") != nullptr;
    auto mirror = route.string("mirror");
    if (auto value = route.integer("mirror_percent")) {
        if (auto percent = int_in_range(ctx, "mirror_percent", *value, 0, 100))
            out.percent = *percent;
        else
            out.ok = false;
        if (!written) {
            ctx.error(value->pos,
                      "'mirror_percent' is the share of requests copied to 'mirror', which this route does not "
                      "have; add mirror = \"SERVICE\" or remove it");
            out.ok = false;
        }
    }
    if (written && !mirror) out.ok = false;  // the wrong type, already said
    if (!mirror) return out;
    if (!check_route_service(ctx, *mirror, services)) {
        out.ok = false;
    } else if (std::find(own_backends.begin(), own_backends.end(), mirror->value) != own_backends.end()) {
        ctx.error(mirror->pos, fmt::format("service {} already answers this route; a mirror gets copies of "
                                           "requests another service answers: name a service that is not in "
                                           "'service' or 'backends'",
                                           in_quotes(mirror->value)));
        out.ok = false;
    }
    out.service = mirror->value;
    return out;
}

std::optional<Route> read_route(Context& ctx, const toml::table& table, const std::vector<Service>& services,
                                std::map<std::string, SourcePos>& seen_paths) {
    TableReader reader(ctx, table, "balancer.routes", true);
    reader.allow_only(keys::route);
    auto path = reader.string("path", Need::required);
    const bool weighted = reader.find("backends") != nullptr;
    std::optional<Located<std::string>> service;
    if (weighted) {
        if (const toml::node* both = reader.find("service")) {
            ctx.error(ctx.pos_of(*both),
                      "a route takes 'service' (one backend) or 'backends' (a weighted split), "
                      "not both; remove one");
            return std::nullopt;
        }
    } else {
        service = reader.string("service", Need::required);
    }
    auto backends = weighted ? read_backends(reader, services) : std::nullopt;
    auto strip = reader.boolean("strip_prefix");
    auto sticky = read_sticky(reader);
    std::vector<std::string> own;
    if (service) own.push_back(service->value);
    for (const auto& backend : backends.value_or(std::vector<Backend>{})) own.push_back(backend.service);
    const auto mirror = read_mirror(reader, services, own);
    bool path_ok = path && check_url_path(ctx, "path", *path);
    if (path_ok) {
        auto [first, inserted] = seen_paths.emplace(path->value, path->pos);
        if (!inserted) {
            ctx.error(path->pos, fmt::format("duplicate route path {}; it is already routed at line {}",
                                             in_quotes(path->value), first->second.line));
            path_ok = false;
        }
    }
    bool service_ok = weighted ? backends.has_value() : service && check_route_service(ctx, *service, services);
    if (!path_ok || !service_ok || !mirror.ok) return std::nullopt;
    Route route{path->value, service ? service->value : std::string(), strip && strip->value};
    if (backends) route.backends = std::move(*backends);
    if (sticky) route.sticky = *sticky;
    route.mirror = mirror.service;
    route.mirror_percent = mirror.percent;
    return route;
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
