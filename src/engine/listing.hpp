// Listing containers with their network addresses, in one request.
//
// `ps` probes each running replica at its address. libpod's own container list
// names a container's networks but not its addresses, so without this each
// address costs an inspect, one more round trip in a row after the list. The
// Docker-compatible list carries them (NetworkSettings.Networks.*.IPAddress),
// and Podman serves it as Docker does: both flavours implement AddressedListing
// with it. (A capability beside Engine, not in it, so that engine.hpp need not
// change; a caller asks with dynamic_cast and falls back to inspects.)
#pragma once

#include "engine/engine.hpp"

#include <nlohmann/json_fwd.hpp>

#include <map>
#include <string>
#include <vector>

namespace mldeploy::engine {

struct ListedContainer {
    ContainerSummary summary;
    std::map<std::string, std::string> ip_by_network;  // network name -> address ("" for none yet)
};

class AddressedListing {
public:
    virtual ~AddressedListing() = default;

    // What list_containers(label_filter) gives, with each container's addresses.
    virtual std::vector<ListedContainer> list_containers_with_addresses(const Labels& label_filter) = 0;
};

// The Docker-compatible API, which both engines serve (Podman beside libpod).
inline constexpr const char* docker_api_prefix = "/v1.41";

// The value of ?filters= for Docker's list calls: {"label": ["k=v", "k2", ...]}
// ("k" alone, for an empty value, means "has the label": a filter "k=" matches
// only an empty value on Docker, any value on Podman); "" without labels.
std::string docker_label_filters(const Labels& labels);

// The published ports of a container list entry's "Ports": only those with a
// PublicPort; "0.0.0.0" becomes "" (every address, as Podman reports it), and
// the "::" twin Docker lists beside it is dropped.
std::vector<PortBinding> docker_published_ports(const nlohmann::json& ports);

// The answer of the Docker-compatible GET /containers/json, from either engine.
std::vector<ListedContainer> parse_docker_container_list(const nlohmann::json& list);

}  // namespace mldeploy::engine
