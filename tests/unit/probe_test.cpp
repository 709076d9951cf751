// deploy::http_get_all against a real HTTP server on loopback, in this process:
// every GET at once, each answer in its place.
#include "deploy/probe.hpp"
#include "util/fd.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

using mldeploy::deploy::http_get_all;
using mldeploy::deploy::http_url;

namespace {

using mldeploy::util::Fd;

// Accepts `connections` connections, reads each request, and only then answers
// them all: GETs made one after the other would never see an answer.
class AnswerAllAtOnce {
public:
    explicit AnswerAllAtOnce(int connections) : listener_(::socket(AF_INET, SOCK_STREAM, 0)) {
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(listener_.get(), 8) == 0);
        socklen_t len = sizeof addr;
        ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        thread_ = std::jthread([this, connections] { serve(connections); });
    }

    int port() const { return port_; }

private:
    void serve(int connections) {
        std::vector<std::pair<int, std::string>> clients;  // fd, request line
        for (int i = 0; i < connections; ++i) {
            const int fd = ::accept(listener_.get(), nullptr, nullptr);
            if (fd < 0) return;
            std::string request;
            char buf[1024];
            while (request.find("\r\n\r\n") == std::string::npos) {
                const ssize_t n = ::read(fd, buf, sizeof buf);
                if (n <= 0) break;
                request.append(buf, static_cast<size_t>(n));
            }
            clients.emplace_back(fd, request.substr(0, request.find('\r')));
        }
        for (const auto& [fd, line] : clients) {
            const bool ok = line.find(" /ok ") != std::string::npos;
            const std::string answer = ok ? "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                                          : "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                                            "Connection: close\r\n\r\n";
            (void)!::write(fd, answer.data(), answer.size());
            ::close(fd);
        }
    }

    Fd listener_;
    int port_ = 0;
    std::jthread thread_;
};

int closed_port() {
    Fd s(::socket(AF_INET, SOCK_STREAM, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&addr), &len);
    return ntohs(addr.sin_port);  // bound, never listening: refused
}

}  // namespace

TEST_CASE("http_get_all makes every GET at once and keeps each answer in its place") {
    AnswerAllAtOnce server(2);
    const auto results =
        http_get_all({http_url("127.0.0.1", server.port(), "/bad"), http_url("127.0.0.1", closed_port(), "/ok"),
                      http_url("127.0.0.1", server.port(), "/ok")},
                     std::chrono::milliseconds(5000));
    REQUIRE(results.size() == 3);
    CHECK(results[0].status == 503);
    CHECK_FALSE(results[0].ok());
    CHECK(results[1].status == 0);
    CHECK_FALSE(results[1].error.empty());
    CHECK(results[2].status == 200);
    CHECK(results[2].ok());
    CHECK(results[2].body == "ok");
}

TEST_CASE("http_get_all of nothing asks nothing") { CHECK(http_get_all({}, std::chrono::milliseconds(100)).empty()); }
