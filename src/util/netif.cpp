#include "util/netif.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cstring>
#include <memory>

namespace mldeploy::util {
namespace {

struct IfaddrsFree {
    void operator()(ifaddrs* list) const { freeifaddrs(list); }
};

bool same_subnet(const unsigned char* a, const unsigned char* b, const unsigned char* mask, size_t len) {
    for (size_t i = 0; i < len; ++i)
        if ((a[i] & mask[i]) != (b[i] & mask[i])) return false;
    return true;
}

}  // namespace

bool host_has_route_to(const std::string& address) {
    in_addr v4{};
    in6_addr v6{};
    const bool is_v4 = inet_pton(AF_INET, address.c_str(), &v4) == 1;
    if (!is_v4 && inet_pton(AF_INET6, address.c_str(), &v6) != 1) return false;

    ifaddrs* raw = nullptr;
    if (getifaddrs(&raw) != 0) return false;
    const std::unique_ptr<ifaddrs, IfaddrsFree> list(raw);
    for (const ifaddrs* i = list.get(); i != nullptr; i = i->ifa_next) {
        if (i->ifa_addr == nullptr || i->ifa_netmask == nullptr || !(i->ifa_flags & IFF_UP)) continue;
        if (i->ifa_flags & IFF_LOOPBACK) continue;  // 127/8 and ::1 are nobody's container network
        if (is_v4 && i->ifa_addr->sa_family == AF_INET) {
            const auto* addr = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
            const auto* mask = reinterpret_cast<const sockaddr_in*>(i->ifa_netmask);
            if (same_subnet(reinterpret_cast<const unsigned char*>(&v4),
                            reinterpret_cast<const unsigned char*>(&addr->sin_addr),
                            reinterpret_cast<const unsigned char*>(&mask->sin_addr), sizeof(in_addr)))
                return true;
        } else if (!is_v4 && i->ifa_addr->sa_family == AF_INET6) {
            const auto* addr = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
            const auto* mask = reinterpret_cast<const sockaddr_in6*>(i->ifa_netmask);
            if (same_subnet(v6.s6_addr, addr->sin6_addr.s6_addr, mask->sin6_addr.s6_addr, sizeof(in6_addr)))
                return true;
        }
    }
    return false;
}

}  // namespace mldeploy::util
