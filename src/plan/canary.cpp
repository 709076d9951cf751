#include "plan/canary.hpp"

#include <algorithm>
#include <stdexcept>

namespace mldeploy::plan {

std::string canary_service_name(const std::string& service) { return service + ".canary"; }

stack::Stack canary_routing(const stack::Stack& stack, const std::string& service, int percent) {
    const auto* found = stack.find_service(service);
    if (found == nullptr) throw std::invalid_argument("canary of unknown service " + service);
    percent = std::clamp(percent, 0, 100);
    stack::Stack routed = stack;
    auto next = *found;
    next.name = canary_service_name(service);
    routed.services.push_back(std::move(next));
    for (auto& route : routed.balancer.routes) {
        const auto split = route.split();
        if (std::none_of(split.begin(), split.end(), [&](auto& b) { return b.service == service; })) continue;
        std::vector<stack::Backend> divided;
        for (const auto& b : split) {
            if (b.service != service) {
                divided.push_back(b);
                continue;
            }
            const int to_new = (b.weight * percent + 50) / 100;
            divided.push_back({service, b.weight - to_new});
            divided.push_back({canary_service_name(service), to_new});
        }
        route.live = std::move(divided);
    }
    return routed;
}

}  // namespace mldeploy::plan
