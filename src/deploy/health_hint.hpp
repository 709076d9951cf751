// Why a replica never got healthy, in words a user can act on: read from the last
// probe's answer and from the replica's own listening sockets (/proc/net/tcp and
// /proc/net/tcp6, read through the engine's exec inside the replica).
#pragma once

#include "deploy/probe.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace mldeploy::deploy {

// A TCP socket in LISTEN state inside a container.
struct ListeningSocket {
    std::string address;  // "0.0.0.0", "127.0.0.1", "::", "::1", ...
    int port = 0;
};

// The LISTEN sockets of /proc/net/tcp and /proc/net/tcp6 text (both may be concatenated).
std::vector<ListeningSocket> parse_listening(std::string_view proc_net_tcp);

// The hint for a replica whose health GET of `path` on `port` never returned 2xx:
// `last` is the last probe's answer, `listening` what the replica listens on
// (`listening_known` false when it could not be read). Empty when there is nothing to say.
std::string health_hint(const ProbeResult& last, const std::string& path, int port,
                        const std::vector<ListeningSocket>& listening, bool listening_known);

// The command that prints the replica's listening sockets.
inline const std::vector<std::string> kListeningCommand{"cat", "/proc/net/tcp", "/proc/net/tcp6"};

// Log lines with runs of lines that differ only in their digits (a timestamp, a
// client port: a health probe's own access-log line) collapsed into the last one,
// followed by "(repeated N times)".
std::vector<std::string> collapse_repeats(const std::vector<std::string>& lines);

}  // namespace mldeploy::deploy
