// The balancer's nginx configuration, rendered from templates/nginx.conf.mustache.
#pragma once

#include "stack/model.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mldeploy::render {

// host:port of each replica that takes traffic, per service name.
using ReplicaAddresses = std::map<std::string, std::vector<std::string>>;

// `stack_fingerprint` (stack_fingerprint_of the stack.json kept beside the
// config) is served with the config's marker at /_mldeploy/config.
std::string render_nginx_config(const stack::Stack& stack, const ReplicaAddresses& replicas,
                                const std::string& stack_fingerprint = "stack-0");

// The same routes and settings for an nginx outside mldeploy's own engine
// (export compose): each service is reached by a name that `resolver` answers
// when a request comes, with every replica's address (Docker's embedded DNS
// answers a compose service's name so). `targets`: service -> "name:port"; a
// service without one answers 503.
struct ResolvedNames {
    std::string resolver;
    std::map<std::string, std::string> targets;
    // How long nginx keeps an answer: a short one follows replicas that come and
    // go sooner (the swarm target: 1s), at a DNS query per second per name.
    std::string valid = "5s";
};
std::string render_nginx_config_resolved(const stack::Stack& stack, const ResolvedNames& names);

std::string stack_fingerprint_of(std::string_view stack_json);

// What a running balancer answers at /_mldeploy/config: the drain marker of the
// config it runs (which names that config) and the fingerprint of its stack.json.
struct RunningConfig {
    std::string drain_marker;
    std::string stack_fingerprint;
};
std::optional<RunningConfig> parse_running_config(std::string_view answer);

// The same, read from the header of a config's text (nullopt: not there).
std::optional<RunningConfig> running_config_of(std::string_view config);

// The name of the file (in kBalancerConfigDir) that, while it exists, makes
// `config` close every client connection after its answer; nullopt for a config
// without one (written by an older mldeploy).
std::optional<std::string> drain_marker_of(std::string_view config);

// Where the config lives inside the balancer container.
inline constexpr const char* kBalancerConfigDir = "/etc/mldeploy";
inline constexpr const char* kBalancerConfigPath = "/etc/mldeploy/nginx.conf";
inline constexpr int kBalancerListenPort = 80;
// mldeploy's pages (/_mldeploy/config, /_mldeploy/status): never published.
inline constexpr int kBalancerControlPort = 8081;

}  // namespace mldeploy::render
