// A canary's routing, pure: while the new version of a service is judged, it
// runs as a service of its own in the balancer, `<service>.canary` (service
// names hold no '.', so it cannot meet a real one), and every route's share of
// the service is split between the two. The access log then tells the
// versions apart by their upstream ($proxy_host), which the judge reads.
#pragma once

#include "stack/model.hpp"

#include <string>

namespace mldeploy::plan {

std::string canary_service_name(const std::string& service);

// `stack` as the balancer routes it with `percent` (0..100) of `service`'s
// traffic on its new version: a copy of the service named
// canary_service_name(service), and in each route whose split holds the service,
// its weight divided between the two (the new version's part rounded, the
// old version keeps the rest, so every route still sums to 100). A route
// that mirrors to the service keeps mirroring to the old version.
stack::Stack canary_routing(const stack::Stack& stack, const std::string& service, int percent);

}  // namespace mldeploy::plan
