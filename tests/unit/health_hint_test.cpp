// Why a replica never got healthy: its listening sockets read from /proc/net/tcp
// and tcp6, the hint made of them and of the last probe's answer, and repeated log
// lines collapsed.
#include "deploy/health_hint.hpp"

#include <doctest/doctest.h>

using namespace mldeploy::deploy;

namespace {

const std::string kHeader =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
// 127.0.0.1:8000 listening; 10.89.0.5:8000 <- 10.89.0.2:50000 established.
const std::string kLoopbackOnly =
    kHeader +
    "   0: 0100007F:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n"
    "   1: 0500590A:1F40 0200590A:C350 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 20 4 30 10 -1\n";
// [::]:8000 and [::1]:9000 listening (tcp6).
const std::string kTcp6 =
    kHeader +
    "   0: 00000000000000000000000000000000:1F40 00000000000000000000000000000000:0000 0A 00000000:00000000 "
    "00:00000000 00000000     0        0 3 1 0 100 0 0 10 0\n"
    "   1: 00000000000000000000000001000000:2328 00000000000000000000000000000000:0000 0A 00000000:00000000 "
    "00:00000000 00000000     0        0 4 1 0 100 0 0 10 0\n";

}  // namespace

TEST_SUITE("health hints") {
    TEST_CASE("listening sockets from /proc/net/tcp and tcp6") {
        const auto v4 = parse_listening(kLoopbackOnly);
        REQUIRE(v4.size() == 1);  // the established connection is no listener
        CHECK(v4[0].address == "127.0.0.1");
        CHECK(v4[0].port == 8000);
        const auto v6 = parse_listening(kTcp6);
        REQUIRE(v6.size() == 2);
        CHECK(v6[0].address == "::");
        CHECK(v6[0].port == 8000);
        CHECK(v6[1].address == "::1");
        CHECK(v6[1].port == 9000);
        CHECK(parse_listening("").empty());
        CHECK(parse_listening("cat: /proc/net/tcp6: No such file or directory\n").empty());
    }

    TEST_CASE("a model bound to 127.0.0.1: listen on 0.0.0.0") {
        CHECK(health_hint({0, "connection refused", ""}, "/healthz", 8000, parse_listening(kLoopbackOnly), true) ==
              "hint: the model listens only on 127.0.0.1:8000 inside its container, which nothing outside it "
              "reaches; make it listen on 0.0.0.0 (all addresses)");
    }

    TEST_CASE("nothing on the port yet: a longer start_period, and the ports it does listen on") {
        CHECK(health_hint({0, "connection refused", ""}, "/healthz", 8000, {}, true) ==
              "hint: nothing listens on port 8000 in the replica yet; a model that loads slowly needs a longer "
              "health.start_period");
        CHECK(health_hint({0, "connection refused", ""}, "/healthz", 7000, parse_listening(kTcp6), true) ==
              "hint: nothing listens on port 7000 in the replica yet; a model that loads slowly needs a longer "
              "health.start_period; it listens on 8000, 9000: is the service's `port` right?");
    }

    TEST_CASE("the port answers, the path does not: the status it got") {
        CHECK(health_hint({404, "", "not found"}, "/health", 8000, {}, false) ==
              "hint: the model answers on port 8000, but GET /health returned 404, not 2xx: is health.path the "
              "model's health page?");
    }

    TEST_CASE("listening on all addresses, or unknown: no hint") {
        CHECK(health_hint({0, "timed out", ""}, "/healthz", 8000, parse_listening(kTcp6), true).empty());
        CHECK(health_hint({0, "connection refused", ""}, "/healthz", 8000, {}, false).empty());
    }

    TEST_CASE("repeated log lines collapse; lines differing only in digits are repeats") {
        std::vector<std::string> lines{"loading weights", "Traceback: boom"};
        for (int i = 10; i < 30; ++i)
            lines.push_back("127.0.0.1 - - [02/Dec/2026 11:44:" + std::to_string(i) +
                            "] \"GET /health HTTP/1.1\" 404 -");
        lines.emplace_back("a last line");
        CHECK(collapse_repeats(lines) ==
              std::vector<std::string>{"loading weights", "Traceback: boom",
                                       "127.0.0.1 - - [02/Dec/2026 11:44:29] \"GET /health HTTP/1.1\" 404 -",
                                       "(repeated 19 times)", "a last line"});
        CHECK(collapse_repeats({"a", "b", "a"}) == std::vector<std::string>{"a", "b", "a"});
        CHECK(collapse_repeats({}).empty());
    }
}
