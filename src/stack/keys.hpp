// The keys each table of a stack file may hold, and the closed sets and limits
// of its values: one list that the loader checks against (allow_only, check_one_of)
// and the JSON Schema (stack/schema.hpp) is built from, so the two cannot drift.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mldeploy::stack::keys {

inline const std::vector<std::string> top_level{"name", "target", "network", "services", "balancer", "jobs", "metrics"};
inline const std::vector<std::string> network{"name"};
inline const std::vector<std::string> service{"build", "image",        "port",      "replicas", "command",
                                              "env",   "volumes",      "restart",   "health",   "resources",
                                              "drain", "max_inflight", "autoscale", "rollout"};
inline const std::vector<std::string> job{"build", "image", "command", "env", "volumes", "resources", "timeout"};
inline const std::vector<std::string> build{"context", "dockerfile", "args"};
inline const std::vector<std::string> health{"path", "interval", "timeout", "retries", "start_period"};
inline const std::vector<std::string> resources{"cpus", "memory", "gpus", "share_gpus"};
inline const std::vector<std::string> balancer{"image",    "port",    "host_ip", "algorithm",
                                               "max_body", "timeout", "routes"};
inline const std::vector<std::string> route{"path",   "service", "strip_prefix",  "backends",
                                            "sticky", "mirror",  "mirror_percent"};
inline const std::vector<std::string> backend{"service", "weight"};
inline const std::vector<std::string> metrics{"port", "host_ip"};
inline const std::vector<std::string> autoscale{"min", "max", "target_inflight", "scale_up_delay", "scale_down_delay"};
inline const std::vector<std::string> rollout{"strategy",       "steps",   "pause",
                                              "max_error_rate", "max_p95", "min_requests"};
// The keys of a rollout that only a canary reads.
inline const std::vector<std::string> canary_only{"steps", "pause", "max_error_rate", "max_p95", "min_requests"};
inline const std::vector<std::string> rollout_strategies{"rolling", "canary"};
inline constexpr int max_min_requests = 1000000;

inline const std::vector<std::string> targets{"engine", "swarm"};
inline const std::vector<std::string> restart_policies{"no", "on-failure", "always", "unless-stopped"};
inline const std::vector<std::string> algorithms{"round_robin", "least_conn", "ip_hash", "random"};
inline const std::vector<std::string> volume_options{"ro", "rw", "z", "Z"};

inline constexpr int max_replicas = 1000;
inline constexpr int max_inflight = 100000;
// sticky = "<kind>:NAME"
inline const std::vector<std::string> sticky_kinds{"header", "cookie"};
inline constexpr int min_retries = 1;
inline constexpr int max_retries = 100;
inline constexpr double max_cpus = 1024;
inline constexpr std::int64_t min_memory_bytes = 6LL * 1024 * 1024;  // Docker refuses less

}  // namespace mldeploy::stack::keys
