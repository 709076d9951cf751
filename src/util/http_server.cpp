#include "util/http_server.hpp"

#include "util/fd.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace mldeploy::util {
namespace {

const char* reason(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        default:
            return "Error";
    }
}

void write_all(int fd, const std::string& data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
        const auto n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) continue;
            return;  // the client went away
        }
        sent += static_cast<std::size_t>(n);
    }
}

void answer_one(int fd, const HttpHandler& handler) {
    // A client that sends nothing does not hold the server for long.
    timeval timeout{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    std::string head;
    char buffer[4096];
    while (head.find("\r\n\r\n") == std::string::npos && head.size() < 16384) {
        const auto n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        head.append(buffer, static_cast<std::size_t>(n));
    }
    std::string method, path;
    HttpAnswer answer;
    if (!parse_request_line(head, method, path)) {
        answer = {400, "text/plain; charset=utf-8", "bad request\n"};
    } else if (method != "GET" && method != "HEAD") {
        answer = {405, "text/plain; charset=utf-8", "only GET\n"};
    } else {
        try {
            answer = handler(method, path);
        } catch (const std::exception& e) {
            answer = {500, "text/plain; charset=utf-8", std::string(e.what()) + "\n"};
        }
    }
    std::string out = "HTTP/1.1 " + std::to_string(answer.status) + " " + reason(answer.status) +
                      "\r\nContent-Type: " + answer.content_type +
                      "\r\nContent-Length: " + std::to_string(answer.body.size()) + "\r\nConnection: close\r\n\r\n";
    if (method != "HEAD") out += answer.body;
    write_all(fd, out);
}

}  // namespace

bool parse_request_line(const std::string& head, std::string& method, std::string& path) {
    const auto line_end = head.find("\r\n");
    const std::string line = head.substr(0, line_end);
    const auto first = line.find(' ');
    if (first == std::string::npos || first == 0) return false;
    const auto second = line.find(' ', first + 1);
    if (second == std::string::npos || !line.substr(second + 1).starts_with("HTTP/")) return false;
    method = line.substr(0, first);
    path = line.substr(first + 1, second - first - 1);
    if (!path.starts_with('/')) return false;
    path = path.substr(0, path.find('?'));
    return true;
}

void serve_http(const std::string& host, int port, const HttpHandler& handler) {
    Fd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (listener.get() < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    int one = 1;
    ::setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1)
        throw std::runtime_error("not an IPv4 address: " + host);
    if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener.get(), 64) != 0)
        throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port) + ": " + std::strerror(errno));
    for (;;) {
        Fd client(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (client.get() < 0) continue;
        answer_one(client.get(), handler);
    }
}

}  // namespace mldeploy::util
