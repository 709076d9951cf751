// Whether this host has an interface on the network of an address: a container
// on a rootful engine's bridge is reachable from the host; one on a rootless
// network (slirp4netns, pasta) or inside a VM is not.
#pragma once

#include <string>

namespace mldeploy::util {

// True when `address` (IPv4 or IPv6, no brackets) lies in the subnet of one of
// this host's interfaces that is up.
bool host_has_route_to(const std::string& address);

}  // namespace mldeploy::util
