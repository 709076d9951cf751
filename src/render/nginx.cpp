#include "render/nginx.hpp"

#include "metrics/access_log.hpp"
#include "render/nginx_mirror.hpp"
#include "render/templates.hpp"
#include "util/hash.hpp"
#include "util/units.hpp"

#include <fmt/format.h>
#include <kainjow/mustache.hpp>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace mldeploy::render {
namespace {

using kainjow::mustache::data;
using kainjow::mustache::mustache;

std::string upstream_name(const std::string& service) { return "mldeploy_" + service; }

std::string method_directive(const std::string& algorithm) {
    if (algorithm == "least_conn") return "least_conn";
    if (algorithm == "ip_hash") return "ip_hash";
    if (algorithm == "random") return "random two least_conn";
    return "";  // round robin is nginx's default
}

// The rewrite that takes a route's prefix off the URI before it is passed on; empty
// when nothing is to be taken off. A `rewrite ... break` (not a URI on proxy_pass) because
// the drain's named location cannot have a URI on proxy_pass. `exact` is the
// `location = /v1` of a route "/v1": it becomes "/".
std::string strip_rewrite(const stack::Route& route, bool exact) {
    if (!route.strip_prefix || route.path == "/") return "";
    if (exact) return "rewrite ^ / break;";
    std::string prefix = route.path.ends_with('/') ? route.path.substr(0, route.path.size() - 1) : route.path;
    return "rewrite \"^" + detail::regex_literal(prefix) + "(/.*)$\" $1 break;";
}

}  // namespace

namespace {

// A route's shares as nginx writes them: the backends that get requests, the
// last one as "*" (what the others leave), so rounding can never leave a gap.
struct Share {
    std::string service;
    std::string percent;  // "90%", or "*" for the last
};
std::vector<Share> shares_of(const std::vector<stack::Backend>& split) {
    std::vector<Share> shares;
    for (const auto& b : split)
        if (b.weight > 0) shares.push_back({b.service, std::to_string(b.weight) + "%"});
    if (!shares.empty()) shares.back().percent = "*";
    return shares;
}

// "$http_x_user_id" for "header:X-User-Id", "$cookie_user" for "cookie:user".
std::string sticky_variable(const std::string& sticky) {
    const auto colon = sticky.find(':');
    std::string name = sticky.substr(colon + 1);
    for (auto& c : name) c = c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return (sticky.starts_with("header:") ? "$http_" : "$cookie_") + name;
}

std::string render_with_marker(const stack::Stack& stack, const ReplicaAddresses& replicas,
                               const std::string& stack_fingerprint, const std::string& drain_marker,
                               const ResolvedNames* resolved = nullptr) {
    const auto method = method_directive(stack.balancer.algorithm);
    const auto has_replicas_of = [&](const std::string& service) {
        auto it = replicas.find(service);
        return it != replicas.end() && !it->second.empty();
    };
    // What a request's upstream variable holds for `service`: its upstream's
    // name, or (resolved) the name:port its resolver answers.
    const auto target_of = [&](const std::string& service) {
        return resolved == nullptr ? upstream_name(service) : resolved->targets.at(service);
    };

    data upstreams{data::type::list};
    for (const auto& service : stack.services) {
        if (resolved != nullptr) break;  // no upstream blocks: each route names its target
        auto it = replicas.find(service.name);
        if (it == replicas.end() || it->second.empty()) continue;
        // max_inflight: each replica takes at most that many requests at once
        // (max_conns, counted across workers in the zone).
        const auto server_extra =
            service.max_inflight ? " max_conns=" + std::to_string(*service.max_inflight) : std::string();
        data servers{data::type::list};
        for (const auto& address : it->second) servers << data{"address", address + server_extra};
        data upstream;
        upstream.set("upstream", upstream_name(service.name));
        if (!method.empty()) upstream.set("method", method);
        // (Lines of their own at the end of another's: a section tag's line would
        // leave a blank line in every config without them.)
        upstream.set("zone", service.max_inflight ? "\n        zone " + upstream_name(service.name) + " 64k;" : "");
        upstream.set("servers", servers);
        upstreams << upstream;
    }

    // max_inflight, per service: the requests in progress on all its replicas
    // together are bounded (limit_conn), so a request past them is answered 503
    // at once instead of waiting, and is told apart from a replica's failure
    // (which stays a retry, then 502). One zone per service, keyed on the
    // upstream a request goes to ($mldeploy_upstream, set in its location).
    struct Limit {
        int index;
        int requests;
    };
    std::map<std::string, Limit> limits;
    std::string traffic;  // split_clients, maps and limit zones, after the proxy settings
    for (const auto& service : stack.services) {
        if (!service.max_inflight || !has_replicas_of(service.name)) continue;
        const bool routed = std::any_of(stack.balancer.routes.begin(), stack.balancer.routes.end(), [&](auto& r) {
            const auto split = r.split();
            return std::any_of(split.begin(), split.end(),
                               [&](auto& b) { return b.service == service.name && b.weight > 0; });
        });
        if (!routed) continue;
        const int count = resolved == nullptr ? static_cast<int>(replicas.at(service.name).size()) : service.replicas;
        const int index = static_cast<int>(limits.size()) + 1;
        limits[service.name] = {index, std::max(1, count) * *service.max_inflight};
        traffic += fmt::format(
            "\n\n    # {0}: at most {1} requests in progress per replica, {2} in all.\n"
            "    map $mldeploy_upstream $mldeploy_inflight_{3} {{\n        {4} 1;\n        default \"\";\n    }}\n"
            "    limit_conn_zone $mldeploy_inflight_{3} zone=mldeploy_inflight_{3}:1m;",
            service.name, *service.max_inflight, limits[service.name].requests, index, target_of(service.name));
    }

    // "/v1" means /v1 itself and what lies under /v1/, never "/v1x": an exact
    // location and a prefix one ending in '/'. A path ending in '/' is a prefix.
    data routes{data::type::list};
    int index = 0;
    int route_index = 0;
    bool has_root_route = false;
    bool uses_busy = false;
    detail::MirrorRenderer mirrors(stack.logs_requests(), target_of);
    for (const auto& route : stack.balancer.routes) {
        ++route_index;
        const auto shares = shares_of(route.split());
        const bool weighted = shares.size() > 1;
        // One backend (the plain form, or every other weight 0): as before, no split.
        const std::string single = shares.empty() ? route.split().front().service : shares.front().service;
        bool has_replicas = false;
        bool some_without = false;
        for (const auto& share : shares) (has_replicas_of(share.service) ? has_replicas : some_without) = true;
        if (!weighted) has_replicas = has_replicas_of(single);
        const auto split_variable = "$mldeploy_split_" + std::to_string(route_index);

        std::vector<std::string> lines;  // the location's proxying, one directive a line
        if (auto mirror = mirrors.add_route(route_index, route, has_replicas_of(route.mirror)); !mirror.empty())
            lines.push_back(mirror);
        if (weighted && has_replicas) {
            // Each request draws its backend from the split: by its random id, or
            // by the sticky header or cookie (the id when the request has none),
            // so one value always lands on the same backend while weights hold.
            std::string summary;
            std::string parts;
            for (const auto& share : shares) {
                summary += (summary.empty() ? "" : ", ") + share.service + " " +
                           (share.percent == "*" ? std::string("the rest") : share.percent);
                parts += fmt::format("        {} {};\n", share.percent,
                                     has_replicas_of(share.service) ? target_of(share.service) : "\"\"");
            }
            std::string key = "${request_id}";
            traffic += fmt::format("\n\n    # Route {}: {}.", route.path, summary);
            if (!route.sticky.empty()) {
                const auto variable = sticky_variable(route.sticky);
                key = fmt::format("${{mldeploy_key_{}}}", route_index);
                traffic += fmt::format(
                    "\n    map {0} $mldeploy_key_{1} {{\n        \"\" $request_id;\n        default "
                    "{0};\n    }}",
                    variable, route_index);
            }
            traffic += fmt::format("\n    split_clients \"{}\" {} {{\n{}    }}", key, split_variable, parts);
            if (some_without)
                lines.push_back("if (" + split_variable + " = \"\") { return 503 '{\"error\": \"a backend of route " +
                                route.path + " has no replicas\"}\\n'; }");
        }
        // The route's services with an in-flight bound: one limit each.
        std::vector<std::string> limit_lines;
        for (const auto& share : weighted ? shares : std::vector<Share>{{single, "*"}})
            if (auto it = limits.find(share.service); it != limits.end())
                limit_lines.push_back(
                    fmt::format("limit_conn mldeploy_inflight_{} {};", it->second.index, it->second.requests));
        if (!limit_lines.empty()) {
            uses_busy = true;
            lines.push_back("set $mldeploy_upstream " + (weighted ? split_variable : target_of(single)) + ";");
            lines.insert(lines.end(), limit_lines.begin(), limit_lines.end());
            lines.push_back("limit_conn_status 503;");
            lines.push_back("limit_conn_log_level info;  # an expected refusal, not an error");
            lines.push_back("error_page 503 = @mldeploy_busy;");
        }
        // A name resolved per request needs a variable: nginx resolves a
        // literal proxy_pass host once, at start.
        if (weighted)
            lines.push_back("proxy_pass http://" + split_variable + ";");
        else if (resolved == nullptr)
            lines.push_back("proxy_pass http://" + upstream_name(single) + ";");
        else if (has_replicas)
            lines.push_back("set $mldeploy_target http://" + resolved->targets.at(single) +
                            "; proxy_pass $mldeploy_target;");
        std::string proxy;
        for (const auto& line : lines) proxy += (proxy.empty() ? "" : "\n            ") + line;

        if (route.path == "/") has_root_route = true;
        std::vector<std::string> matches;
        if (route.path.ends_with('/'))
            matches = {route.path};
        else
            matches = {"= " + route.path, route.path + "/"};
        for (const auto& match : matches) {
            data r;
            if (auto rewrite = strip_rewrite(route, match.starts_with("= ")); !rewrite.empty())
                r.set("rewrite", rewrite);
            r.set("index", std::to_string(++index));
            r.set("match", match);
            std::string names;
            for (const auto& share : shares) names += (names.empty() ? "" : "/") + share.service;
            r.set("service", weighted ? names : single);
            r.set("has_replicas", has_replicas ? data::type::bool_true : data::type::bool_false);
            r.set("proxy", proxy);
            routes << r;
        }
    }

    const auto shadow = mirrors.finish();
    traffic += shadow.http;

    data view;
    view.set("stack", stack.name);
    view.set("drain_marker", drain_marker);
    view.set("stack_fingerprint", stack_fingerprint);
    view.set("max_body", util::format_size(stack.balancer.max_body_bytes));
    view.set("timeout", util::format_duration(stack.balancer.timeout));
    view.set("upstreams", upstreams);
    view.set("routes", routes);
    view.set("traffic", traffic);
    // Every replica of a service holds max_inflight requests: answer at once,
    // and say when to try again. The request never reached a replica.
    view.set("busy", uses_busy ? "\n\n        location @mldeploy_busy {\n            default_type application/json;\n"
                                 "            add_header Retry-After 1 always;\n            return 503 '{\"error\": "
                                 "\"every replica is busy (max_inflight); retry later\"}\\n';\n        }"
                               : "");
    view.set("mirrors", shadow.locations);
    view.set("shadow_server", shadow.server);
    view.set("has_root_route", has_root_route ? data::type::bool_true : data::type::bool_false);
    view.set("control_port", std::to_string(kBalancerControlPort));
    // [metrics]: lines of their own at the end of another's (as the resolver's).
    const std::string log_name = metrics::kAccessLogFormatName;
    view.set(
        "metrics_log_format",
        !stack.logs_requests()
            ? std::string()
            : "\n    # One line per request on stdout, which the stack's controller ([metrics])\n"
              "    # and `mldeploy traffic` read through the engine's log API (docs/metrics.md).\n    log_format " +
                  log_name + " '" + metrics::kAccessLogFormat + "';");
    view.set("metrics_access_log",
             !stack.logs_requests() ? std::string()
                                    : "\n        # Buffered: one write per 32 KiB of lines or per second, not one per "
                                      "request.\n        access_log /dev/stdout " +
                                          log_name + " buffer=32k flush=1s;");
    // Lines of their own at the end of another's: a section tag's line would
    // leave a blank line in every config without them.
    view.set("resolver", resolved == nullptr ? std::string()
                                             : "\n    # Replicas are found by their service's name when a request "
                                               "comes\n    # (every address the resolver answers takes traffic), "
                                               "not once at start.\n    resolver " +
                                                   resolved->resolver + " valid=" + resolved->valid + " ipv6=off;");

    mustache tpl{std::string(template_text("nginx.conf.mustache"))};
    if (!tpl.is_valid()) throw std::logic_error("nginx template: " + tpl.error_message());
    return tpl.render(view);
}

}  // namespace

std::string render_nginx_config(const stack::Stack& stack, const ReplicaAddresses& replicas,
                                const std::string& stack_fingerprint) {
    // Each config has its own marker name, so a marker made for the config
    // being replaced never applies to the next one.
    const auto marker = "drain-" + util::fnv1a_hex(render_with_marker(stack, replicas, stack_fingerprint, ""));
    return render_with_marker(stack, replicas, stack_fingerprint, marker);
}

std::string render_nginx_config_resolved(const stack::Stack& stack, const ResolvedNames& names) {
    // The routes' replicas: a service takes traffic when it has a name.
    ReplicaAddresses replicas;
    for (const auto& [service, target] : names.targets) replicas[service] = {target};
    const auto marker = "drain-" + util::fnv1a_hex(render_with_marker(stack, replicas, "stack-0", "", &names));
    return render_with_marker(stack, replicas, "stack-0", marker, &names);
}

std::string stack_fingerprint_of(std::string_view stack_json) { return "stack-" + util::fnv1a_hex(stack_json); }

std::optional<RunningConfig> parse_running_config(std::string_view answer) {
    // "drain-<hex> stack-<hex>\n", exactly: anything else is not this endpoint
    // (an older config passes the path on to a replica).
    const auto hex_word = [](std::string_view word, std::string_view prefix) {
        return word.size() > prefix.size() && word.starts_with(prefix) &&
               word.substr(prefix.size()).find_first_not_of("0123456789abcdef") == std::string_view::npos;
    };
    if (!answer.ends_with('\n')) return std::nullopt;
    answer.remove_suffix(1);
    const auto space = answer.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    const auto marker = answer.substr(0, space);
    const auto fingerprint = answer.substr(space + 1);
    if (!hex_word(marker, "drain-") || !hex_word(fingerprint, "stack-")) return std::nullopt;
    return RunningConfig{std::string(marker), std::string(fingerprint)};
}

std::optional<RunningConfig> running_config_of(std::string_view config) {
    const auto value_of = [&](std::string_view key) -> std::string {
        const auto at = config.find(key);
        if (at == std::string_view::npos) return {};
        const auto start = at + key.size();
        return std::string(config.substr(start, config.find('\n', start) - start));
    };
    auto marker = value_of("# drain-marker: ");
    auto fingerprint = value_of("# stack-fingerprint: ");
    if (marker.empty() || fingerprint.empty()) return std::nullopt;
    return RunningConfig{std::move(marker), std::move(fingerprint)};
}

std::optional<std::string> drain_marker_of(std::string_view config) {
    constexpr std::string_view key = "# drain-marker: ";
    const auto at = config.find(key);
    if (at == std::string_view::npos) return std::nullopt;
    const auto start = at + key.size();
    const auto end = config.find('\n', start);
    auto marker = std::string(config.substr(start, end - start));
    if (marker.empty()) return std::nullopt;
    return marker;
}

}  // namespace mldeploy::render
