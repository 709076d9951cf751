#include "engine/listing.hpp"

#include "engine/docker.hpp"
#include "engine/reply.hpp"

#include <nlohmann/json.hpp>

namespace mldeploy::engine {

using namespace reply;

std::vector<ListedContainer> parse_docker_container_list(const nlohmann::json& list) {
    std::vector<ListedContainer> containers;
    if (!list.is_array()) {
        return containers;
    }
    for (const auto& c : list) {
        ListedContainer listed;
        ContainerSummary& summary = listed.summary;
        summary.id = get_string(c, "Id");
        if (const auto names = c.find("Names");
            names != c.end() && names->is_array() && !names->empty() && (*names)[0].is_string()) {
            summary.name = (*names)[0].get<std::string>();
            if (summary.name.starts_with('/')) {
                summary.name.erase(0, 1);  // Docker names containers "/name" here
            }
        }
        summary.image = get_string(c, "Image");
        summary.state = get_string(c, "State");
        summary.status = get_string(c, "Status");
        summary.labels = get_labels(c, "Labels");
        if (const auto ports = c.find("Ports"); ports != c.end() && ports->is_array()) {
            summary.ports = docker_published_ports(*ports);
        }
        for (const auto& [network, settings] : get_object(get_object(c, "NetworkSettings"), "Networks").items()) {
            listed.ip_by_network[network] = get_string(settings, "IPAddress");
        }
        containers.push_back(std::move(listed));
    }
    return containers;
}

}  // namespace mldeploy::engine
