#include "render/nginx_mirror.hpp"

#include "metrics/access_log.hpp"

#include <fmt/format.h>

namespace mldeploy::render::detail {

std::string regex_literal(std::string_view path) {
    std::string out;
    for (char c : path) {
        if (std::string_view(".()*+").find(c) != std::string_view::npos) out += '\\';
        out += c;
    }
    return out;
}

// nginx's `mirror` keeps a request going until its copy's subrequest ends: the
// client gets its answer, but its next request on the same keep-alive
// connection waits for the copy. So the copy leaves the client's request at
// once: the route's mirror location passes it over loopback to the shadow
// server (finish()), which answers at once and sends it on to the candidate.
// A copy costs the client one loopback round trip, whatever the candidate does
// (docs/traffic.md has the figures).
std::string MirrorRenderer::add_route(int index, const stack::Route& route, bool candidate_has_replicas) {
    if (route.mirror.empty() || route.mirror_percent == 0 || !candidate_has_replicas) return "";
    const bool sampled = route.mirror_percent < 100;
    const bool strips = route.strip_prefix && route.path != "/";
    out_.http += fmt::format("\n\n    # Route {}: a copy of {}% of its requests goes to {} (shadow traffic).",
                             route.path, route.mirror_percent, route.mirror);
    // Not by the request id alone: the route's weighted split draws from it, and
    // the copies would then come from one backend's share only.
    if (sampled)
        out_.http += fmt::format(
            "\n    split_clients \"mirror${{request_id}}\" $mldeploy_mirror_{0} {{\n        {1}% 1;\n        * \"\";\n"
            "    }}",
            index, route.mirror_percent);
    // The URI as the client sent it, less the route's prefix when the route strips it.
    std::string uri = "$request_uri";
    if (strips) {
        const auto prefix =
            regex_literal(route.path.ends_with('/') ? route.path.substr(0, route.path.size() - 1) : route.path);
        uri = fmt::format("$mldeploy_mirror_uri_{}", index);
        out_.http += fmt::format(
            "\n    map $request_uri {0} {{\n        \"~^{1}(?<mldeploy_rest_{2}>/.*)$\" $mldeploy_rest_{2};\n"
            "        \"~^{1}(?<mldeploy_query_{2}>\\?.*)?$\" /$mldeploy_query_{2};\n        default $request_uri;\n"
            "    }}",
            uri, prefix, index);
    }

    out_.locations += fmt::format(
        "\n\n        # Route {0}'s copies for {1}: handed to the shadow server, which answers at once.\n"
        "        location = /_mldeploy_mirror/{2} {{\n            internal;\n{3}"
        "            proxy_pass http://127.0.0.1:{4}/{2}{5};\n"
        "            proxy_connect_timeout 1s;\n            proxy_send_timeout 5s;\n            proxy_read_timeout "
        "5s;\n"
        "            proxy_next_upstream off;\n        }}",
        route.path, route.mirror, index,
        sampled ? fmt::format("            if ($mldeploy_mirror_{} = \"\") {{ return 204; }}\n", index) : "",
        kBalancerShadowPort, uri);

    const std::string log_name = metrics::kAccessLogFormatName;
    const std::string logging =
        logs_requests_ ? "\n            # Logged as the candidate's own requests: its error rate and latency.\n"
                         "            log_subrequest on;\n            access_log /dev/stdout " +
                             log_name + " buffer=32k flush=1s;"
                       : "";
    out_.server += fmt::format(
        "\n\n        location /{0}/ {{\n            limit_conn mldeploy_copies 1000;\n            mirror "
        "/_mldeploy_copy/{0};\n"
        "            proxy_pass http://mldeploy_shadow_done/_mldeploy_done;\n            proxy_pass_request_body off;\n"
        "            proxy_set_header Content-Length \"\";\n            proxy_set_header Connection \"\";\n        }}\n"
        "\n        location = /_mldeploy_copy/{0} {{\n            internal;\n"
        "            proxy_pass http://{1}$mldeploy_copy_uri;\n"
        "            proxy_ignore_client_abort on;  # the route's side is gone at once, by design\n"
        "            proxy_next_upstream off;  # a copy reaches the candidate once at most\n"
        "            # What the route's side was given for the client, not this hop's.\n"
        "            proxy_set_header Connection \"\";\n            proxy_set_header Host $host;\n"
        "            proxy_set_header X-Real-IP $http_x_real_ip;\n"
        "            proxy_set_header X-Forwarded-For $http_x_forwarded_for;\n"
        "            proxy_set_header X-Forwarded-Proto $http_x_forwarded_proto;\n"
        "            proxy_set_header X-Request-ID $http_x_request_id;\n"
        "            proxy_set_header X-Mldeploy-Shadow 1;{2}\n        }}",
        index, target_of_(route.mirror), logging);
    return fmt::format("mirror /_mldeploy_mirror/{};", index);
}

MirrorConfig MirrorRenderer::finish() const {
    MirrorConfig config = out_;
    if (config.server.empty()) return config;
    config.http += fmt::format(
        "\n\n    # A copy reaches the shadow server as /N/URI: route N's, for its candidate.\n"
        "    map $request_uri $mldeploy_copy_uri {{\n        \"~^/[0-9]+(?<mldeploy_copy_path>/.*)$\" "
        "$mldeploy_copy_path;\n        default /;\n    }}\n"
        "    limit_conn_zone $server_addr zone=mldeploy_copies:1m;\n"
        "    upstream mldeploy_shadow_done {{\n        server 127.0.0.1:{0};\n        keepalive 16;\n    }}",
        kBalancerShadowPort);
    config.server = fmt::format(
        "\n\n    # Shadow traffic: the routes' copies come in here and are answered at once\n"
        "    # (an empty 204); each goes on to its candidate in a mirror subrequest that\n"
        "    # holds only this loopback connection, never a client's. At most 1000\n"
        "    # copies are in progress: past it a copy is dropped (503 to the route's side),\n"
        "    # so a candidate that hangs cannot take the balancer's connections.\n"
        "    server {{\n        listen 127.0.0.1:{0};\n        limit_conn_status 503;\n"
        "        limit_conn_log_level info;  # a dropped copy, not an error\n\n"
        "        location = /_mldeploy_done {{\n            return 204;\n        }}{1}\n    }}",
        kBalancerShadowPort, config.server);
    return config;
}

}  // namespace mldeploy::render::detail
