#include "deploy/health_hint.hpp"

#include <fmt/format.h>

#include <arpa/inet.h>

#include <charconv>
#include <cstdint>
#include <cstring>

#include <cctype>
#include <cstdlib>
#include <sstream>

namespace mldeploy::deploy {
namespace {

// /proc/net/tcp writes each 32-bit word of an address in host byte order:
// "0100007F" is 127.0.0.1. The bytes, then libc's own text form.
std::string address_of(std::string_view hex) {
    unsigned char bytes[16] = {};
    const std::size_t size = hex.size() / 2;
    if (size != 4 && size != 16) return std::string(hex);
    for (std::size_t word = 0; word < size / 4; ++word) {
        std::uint32_t value = 0;
        std::from_chars(hex.data() + word * 8, hex.data() + word * 8 + 8, value, 16);
        std::memcpy(bytes + word * 4, &value, 4);  // host order, as the kernel wrote it
    }
    char text[INET6_ADDRSTRLEN] = {};
    if (inet_ntop(size == 4 ? AF_INET : AF_INET6, bytes, text, sizeof(text)) == nullptr) return std::string(hex);
    return text;
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
