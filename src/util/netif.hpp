// Whether this host reaches an address directly, through one of its own
// interfaces: a container on a rootful engine's bridge is reachable from the
// host; one on a rootless network (slirp4netns, pasta) or inside a VM is not.
//
// Read from the kernel's route tables (/proc/net/route, /proc/net/ipv6_route):
// the routes without a gateway through an interface other than loopback, which
// the kernel adds for the subnet of every address of an interface that is up.
// (One read of two small files costs tens of microseconds; getifaddrs, which
// this replaced, asked netlink for every link's details: 0.5-1 ms at the first
// call, on every `ps`.)
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace mldeploy::util {

class DirectRoutes {
public:
    // This host's, read now; none where the tables cannot be read.
    static DirectRoutes of_this_host();
    // From the text of /proc/net/route and /proc/net/ipv6_route.
    static DirectRoutes parse(std::string_view ipv4_table, std::string_view ipv6_table);

    // True when `address` (IPv4 or IPv6, no brackets) lies in one of them.
    bool reach(const std::string& address) const;

private:
    struct Net {
        bool v6 = false;
        std::array<unsigned char, 16> prefix{};
        std::array<unsigned char, 16> mask{};
    };
    std::vector<Net> nets_;
};

// DirectRoutes::of_this_host().reach(address).
bool host_has_route_to(const std::string& address);

}  // namespace mldeploy::util
