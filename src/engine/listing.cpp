#include "engine/listing.hpp"

#include "engine/reply.hpp"

#include <nlohmann/json.hpp>

namespace mldeploy::engine {

using namespace reply;
using nlohmann::json;

std::string docker_label_filters(const Labels& labels) {
    if (labels.empty()) {
        return {};
    }
    json values = json::array();
    for (const auto& [k, v] : labels) {
        values.push_back(v.empty() ? k : k + "=" + v);
    }
    return json{{"label", values}}.dump();
}

std::vector<PortBinding> docker_published_ports(const nlohmann::json& ports) {
    std::vector<PortBinding> out;
    if (!ports.is_array()) {
        return out;
    }
    std::vector<PortBinding> v6_any;
    for (const auto& p : ports) {
        const int public_port = get_int<int>(p, "PublicPort");
        if (public_port == 0) {
            continue;  // exposed, not published
        }
        PortBinding binding;
        binding.host_ip = get_string(p, "IP");
        binding.host_port = public_port;
        binding.container_port = get_int<int>(p, "PrivatePort");
        binding.protocol = get_string(p, "Type");
        if (binding.protocol.empty()) {
            binding.protocol = "tcp";
        }
        if (binding.host_ip == "0.0.0.0") {
            binding.host_ip.clear();  // every address, as Podman reports it (and as created)
        }
        (binding.host_ip == "::" ? v6_any : out).push_back(binding);
    }
    // A port bound to every address is listed twice, for 0.0.0.0 and for ::.
    for (const auto& b : v6_any) {
        const bool twin = std::any_of(out.begin(), out.end(), [&](const PortBinding& o) {
            return o.host_ip.empty() && o.host_port == b.host_port && o.container_port == b.container_port &&
                   o.protocol == b.protocol;
        });
        if (!twin) {
            out.push_back(b);
        }
    }
    return out;
}

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
