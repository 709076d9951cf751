#include "deploy/health_hint.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cstdlib>
#include <sstream>

namespace mldeploy::deploy {
namespace {

// /proc/net/tcp writes each 32-bit word of an address in host byte order (little
// endian here): "0100007F" is 127.0.0.1.
std::string address_of(std::string_view hex) {
    auto byte_at = [&](std::size_t i) {
        return static_cast<unsigned>(std::strtoul(std::string(hex.substr(i, 2)).c_str(), nullptr, 16));
    };
    std::vector<unsigned> bytes;
    for (std::size_t word = 0; word + 8 <= hex.size(); word += 8)
        for (int i = 3; i >= 0; --i) bytes.push_back(byte_at(word + static_cast<std::size_t>(i) * 2));
    if (bytes.size() == 4) return fmt::format("{}.{}.{}.{}", bytes[0], bytes[1], bytes[2], bytes[3]);
    if (bytes.size() != 16) return std::string(hex);
    bool all_zero = true;
    for (unsigned b : bytes) all_zero = all_zero && b == 0;
    if (all_zero) return "::";
    bool loopback = bytes[15] == 1;
    for (std::size_t i = 0; i < 15; ++i) loopback = loopback && bytes[i] == 0;
    if (loopback) return "::1";
    // An IPv4-mapped address: ::ffff:a.b.c.d
    bool mapped = bytes[10] == 0xff && bytes[11] == 0xff;
    for (std::size_t i = 0; i < 10; ++i) mapped = mapped && bytes[i] == 0;
    if (mapped) return fmt::format("::ffff:{}.{}.{}.{}", bytes[12], bytes[13], bytes[14], bytes[15]);
    std::string out;
    for (std::size_t i = 0; i < 16; i += 2)
        out += fmt::format("{}{:x}", i == 0 ? "" : ":", bytes[i] << 8 | bytes[i + 1]);
    return out;
}

bool is_loopback(const std::string& address) {
    return address.rfind("127.", 0) == 0 || address == "::1" || address.rfind("::ffff:127.", 0) == 0;
}

std::string digits_as_hash(std::string_view line) {
    std::string out(line);
    for (char& c : out)
        if (std::isdigit(static_cast<unsigned char>(c)) != 0) c = '#';
    return out;
}

}  // namespace

std::vector<ListeningSocket> parse_listening(std::string_view text) {
    std::vector<ListeningSocket> out;
    std::istringstream lines{std::string(text)};
    std::string line;
    while (std::getline(lines, line)) {
        // "  0: 0100007F:1F40 00000000:0000 0A ..." (sl, local, remote, state)
        std::istringstream fields(line);
        std::string slot, local, remote, state;
        if (!(fields >> slot >> local >> remote >> state) || slot.back() != ':' || state != "0A") continue;
        const auto colon = local.find(':');
        if (colon == std::string::npos) continue;
        out.push_back({address_of(std::string_view(local).substr(0, colon)),
                       static_cast<int>(std::strtol(local.c_str() + colon + 1, nullptr, 16))});
    }
    return out;
}

std::string health_hint(const ProbeResult& last, const std::string& path, int port,
                        const std::vector<ListeningSocket>& listening, bool listening_known) {
    if (last.status != 0)
        return fmt::format(
            "hint: the model answers on port {}, but GET {} returned {}, not 2xx: is "
            "health.path the model's health page?",
            port, path, last.status);
    if (!listening_known) return "";
    std::vector<std::string> on_port;
    std::vector<int> other_ports;
    bool reachable = false;
    for (const auto& socket : listening) {
        if (socket.port != port) {
            other_ports.push_back(socket.port);
            continue;
        }
        on_port.push_back(socket.address);
        reachable = reachable || !is_loopback(socket.address);
    }
    if (!on_port.empty() && !reachable)
        return fmt::format(
            "hint: the model listens only on {}:{} inside its container, which nothing outside "
            "it reaches; make it listen on 0.0.0.0 (all addresses)",
            on_port.front(), port);
    if (on_port.empty()) {
        std::string hint = fmt::format(
            "hint: nothing listens on port {} in the replica yet; a model that loads slowly needs a longer "
            "health.start_period",
            port);
        if (!other_ports.empty()) {
            std::string ports;
            for (int p : other_ports) ports += (ports.empty() ? "" : ", ") + std::to_string(p);
            hint += fmt::format("; it listens on {}: is the service's `port` right?", ports);
        }
        return hint;
    }
    return "";
}

std::vector<std::string> collapse_repeats(const std::vector<std::string>& lines) {
    std::vector<std::string> out;
    std::string run_key;
    std::string run_last;
    int run = 0;
    auto flush = [&] {
        if (run == 0) return;
        out.push_back(run_last);
        if (run > 1) out.push_back(fmt::format("(repeated {} times)", run - 1));
    };
    for (const auto& line : lines) {
        auto key = digits_as_hash(line);
        if (run > 0 && key == run_key) {
            ++run;
            run_last = line;
            continue;
        }
        flush();
        run_key = std::move(key);
        run_last = line;
        run = 1;
    }
    flush();
    return out;
}

}  // namespace mldeploy::deploy
