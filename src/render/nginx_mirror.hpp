// Shadow traffic (a route's `mirror`) as nginx configuration: the pieces
// render_nginx_config puts in its template. Internal to render/.
#pragma once

#include "stack/model.hpp"

#include <functional>
#include <string>
#include <string_view>

namespace mldeploy::render::detail {

// Where the balancer takes copies in, inside its container: never published.
inline constexpr int kBalancerShadowPort = 8082;

// A route path as a PCRE literal: the path characters the loader allows that mean
// something in a regular expression are escaped.
std::string regex_literal(std::string_view path);

struct MirrorConfig {
    std::string http;       // split_clients and maps, at http level
    std::string locations;  // the routes' internal mirror locations, in the public server
    std::string server;     // the shadow server, at http level ("" when no route mirrors)
};

class MirrorRenderer {
public:
    // `target_of`: what proxy_pass names for a service (its upstream, or name:port).
    MirrorRenderer(bool logs_requests, std::function<std::string(const std::string&)> target_of)
        : logs_requests_(logs_requests), target_of_(std::move(target_of)) {}

    // The directive for route number `index` (1-based) to put in its locations;
    // "" when it has no mirror, copies 0%, or its candidate has no replicas.
    std::string add_route(int index, const stack::Route& route, bool candidate_has_replicas);

    MirrorConfig finish() const;

private:
    bool logs_requests_;
    std::function<std::string(const std::string&)> target_of_;
    MirrorConfig out_;
};

}  // namespace mldeploy::render::detail
