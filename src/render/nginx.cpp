#include "render/nginx.hpp"

#include "render/templates.hpp"
#include "util/hash.hpp"
#include "util/units.hpp"

#include <kainjow/mustache.hpp>

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

// A route path as a PCRE literal: the path characters the loader allows that mean
// something in a regular expression are escaped.
std::string regex_literal(std::string_view path) {
    std::string out;
    for (char c : path) {
        if (std::string_view(".()*+").find(c) != std::string_view::npos) out += '\\';
        out += c;
    }
    return out;
}

// The rewrite that takes a route's prefix off the URI before it is passed on; empty
// when nothing is to be taken off. A `rewrite ... break` (not a URI on proxy_pass) because
// the drain's named location cannot have a URI on proxy_pass. `exact` is the
// `location = /v1` of a route "/v1": it becomes "/".
std::string strip_rewrite(const stack::Route& route, bool exact) {
    if (!route.strip_prefix || route.path == "/") return "";
    if (exact) return "rewrite ^ / break;";
    std::string prefix = route.path.ends_with('/') ? route.path.substr(0, route.path.size() - 1) : route.path;
    return "rewrite \"^" + regex_literal(prefix) + "(/.*)$\" $1 break;";
}

}  // namespace

namespace {

std::string render_with_marker(const stack::Stack& stack, const ReplicaAddresses& replicas,
                               const std::string& stack_fingerprint, const std::string& drain_marker,
                               const ResolvedNames* resolved = nullptr) {
    const auto method = method_directive(stack.balancer.algorithm);

    data upstreams{data::type::list};
    for (const auto& service : stack.services) {
        if (resolved != nullptr) break;  // no upstream blocks: each route names its target
        auto it = replicas.find(service.name);
        if (it == replicas.end() || it->second.empty()) continue;
        data servers{data::type::list};
        for (const auto& address : it->second) servers << data{"address", address};
        data upstream;
        upstream.set("upstream", upstream_name(service.name));
        if (!method.empty()) upstream.set("method", method);
        upstream.set("servers", servers);
        upstreams << upstream;
    }

    // "/v1" means /v1 itself and what lies under /v1/, never "/v1x": an exact
    // location and a prefix one ending in '/'. A path ending in '/' is a prefix.
    data routes{data::type::list};
    int index = 0;
    bool has_root_route = false;
    for (const auto& route : stack.balancer.routes) {
        auto it = replicas.find(route.service);
        const bool has_replicas = it != replicas.end() && !it->second.empty();
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
            r.set("service", route.service);
            r.set("upstream", upstream_name(route.service));
            r.set("has_replicas", has_replicas ? data::type::bool_true : data::type::bool_false);
            // A name resolved per request needs a variable: nginx resolves a
            // literal proxy_pass host once, at start.
            if (resolved == nullptr)
                r.set("proxy", "proxy_pass http://" + upstream_name(route.service) + ";");
            else if (has_replicas)
                r.set("proxy", "set $mldeploy_target http://" + resolved->targets.at(route.service) +
                                   "; proxy_pass $mldeploy_target;");
            routes << r;
        }
    }

    data view;
    view.set("stack", stack.name);
    view.set("drain_marker", drain_marker);
    view.set("stack_fingerprint", stack_fingerprint);
    view.set("max_body", util::format_size(stack.balancer.max_body_bytes));
    view.set("timeout", util::format_duration(stack.balancer.timeout));
    view.set("upstreams", upstreams);
    view.set("routes", routes);
    view.set("has_root_route", has_root_route ? data::type::bool_true : data::type::bool_false);
    view.set("control_port", std::to_string(kBalancerControlPort));
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
