#include "util/netif.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>

namespace mldeploy::util {
namespace {

// Route flags (linux/route.h, linux/ipv6_route.h).
constexpr unsigned kUp = 0x0001;
constexpr unsigned kGateway = 0x0002;
constexpr unsigned kReject = 0x0200;

bool direct(unsigned flags, std::string_view iface) {
    return (flags & kUp) && !(flags & (kGateway | kReject)) && iface != "lo";
}

template <class T>
bool hex(std::string_view text, T& value) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
    return ec == std::errc() && end == text.data() + text.size();
}

std::vector<std::string_view> fields(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        const std::size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
        if (i > start) out.push_back(line.substr(start, i - start));
    }
    return out;
}

template <class F>
void each_line(std::string_view text, F&& f) {
    while (!text.empty()) {
        const auto end = text.find('\n');
        f(fields(text.substr(0, end)));
        if (end == std::string_view::npos) break;
        text.remove_prefix(end + 1);
    }
}

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};

std::string read_file(const char* path) {
    std::string text;
    const std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path, "r"));
    if (!file) return text;
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, file.get())) > 0;) text.append(buffer, n);
    return text;
}

}  // namespace

DirectRoutes DirectRoutes::parse(std::string_view ipv4_table, std::string_view ipv6_table) {
    DirectRoutes routes;
    // "Iface Destination Gateway Flags RefCnt Use Metric Mask ...": addresses as
    // the hex of the 32-bit value in memory (network byte order) read natively.
    each_line(ipv4_table, [&](const std::vector<std::string_view>& f) {
        std::uint32_t dest = 0, mask = 0;
        unsigned flags = 0;
        if (f.size() < 8 || !hex(f[1], dest) || !hex(f[3], flags) || !hex(f[7], mask)) return;  // the header too
        if (!direct(flags, f[0]) || mask == 0) return;
        Net net;
        std::memcpy(net.prefix.data(), &dest, 4);
        std::memcpy(net.mask.data(), &mask, 4);
        routes.nets_.push_back(net);
    });
    // "dest(32 hex digits) prefix-length src src-length next-hop metric refcnt use flags iface".
    each_line(ipv6_table, [&](const std::vector<std::string_view>& f) {
        unsigned length = 0, flags = 0;
        if (f.size() < 10 || f[0].size() != 32 || !hex(f[1], length) || !hex(f[8], flags)) return;
        if (!direct(flags, f[9]) || length == 0 || length > 128) return;
        Net net;
        net.v6 = true;
        for (std::size_t i = 0; i < 16; ++i)
            if (!hex(f[0].substr(2 * i, 2), net.prefix[i])) return;
        for (unsigned bit = 0; bit < length; ++bit) net.mask[bit / 8] |= static_cast<unsigned char>(0x80 >> (bit % 8));
        routes.nets_.push_back(net);
    });
    return routes;
}

DirectRoutes DirectRoutes::of_this_host() {
    return parse(read_file("/proc/net/route"), read_file("/proc/net/ipv6_route"));
}

bool DirectRoutes::reach(const std::string& address) const {
    std::array<unsigned char, 16> a{};
    const bool v4 = inet_pton(AF_INET, address.c_str(), a.data()) == 1;
    if (!v4 && inet_pton(AF_INET6, address.c_str(), a.data()) != 1) return false;
    for (const auto& net : nets_) {
        if (net.v6 == v4) continue;
        bool inside = true;
        for (std::size_t i = 0; i < (v4 ? 4 : 16) && inside; ++i)
            inside = (a[i] & net.mask[i]) == (net.prefix[i] & net.mask[i]);
        if (inside) return true;
    }
    return false;
}

bool host_has_route_to(const std::string& address) { return DirectRoutes::of_this_host().reach(address); }

}  // namespace mldeploy::util
