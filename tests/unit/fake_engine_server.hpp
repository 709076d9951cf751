// A real HTTP server on a unix socket, in the test's own process, that answers
// each request from a table of canned answers and records what it was asked:
// the engines' REST code is tested through curl and a socket, not a mock.
// One connection at a time, closed after each answer (curl reconnects).
#pragma once

#include "temp_dir.hpp"

#include <doctest/doctest.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mldeploy::test {

struct FakeAnswer {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
};

struct FakeRequest {
    std::string method;
    std::string target;  // path and query
    std::string body;
    std::vector<std::string> headers;  // "Name: value", as sent
};

class FakeEngineServer {
public:
    // `answer` is called on the server's thread for every request.
    using Handler = std::function<FakeAnswer(const FakeRequest&)>;

    explicit FakeEngineServer(Handler answer) : answer_(std::move(answer)) {
        socket_path_ = (dir_.path() / "engine.sock").string();
        listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(listener_ >= 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        REQUIRE(socket_path_.size() < sizeof(address.sun_path));
        std::memcpy(address.sun_path, socket_path_.c_str(), socket_path_.size() + 1);
        REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
        REQUIRE(::listen(listener_, 16) == 0);
        thread_ = std::thread([this] { serve(); });
    }
    ~FakeEngineServer() {
        stop_ = true;
        thread_.join();
        ::close(listener_);
    }
    FakeEngineServer(const FakeEngineServer&) = delete;
    FakeEngineServer& operator=(const FakeEngineServer&) = delete;

    const std::string& socket_path() const { return socket_path_; }

    std::vector<FakeRequest> requests() const {
        std::lock_guard lock(mutex_);
        return requests_;
    }

private:
    void serve() {
        while (!stop_) {
            pollfd ready{listener_, POLLIN, 0};
            if (::poll(&ready, 1, 50) <= 0) {
                continue;
            }
            const int connection = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
            if (connection < 0) {
                continue;
            }
            handle(connection);
            ::close(connection);
        }
    }

    void handle(int connection) {
        std::string data;
        char buffer[4096];
        std::size_t header_end = std::string::npos;
        while ((header_end = data.find("\r\n\r\n")) == std::string::npos) {
            const ssize_t n = ::read(connection, buffer, sizeof(buffer));
            if (n <= 0) {
                return;
            }
            data.append(buffer, static_cast<std::size_t>(n));
        }
        const std::string head = data.substr(0, header_end);
        std::size_t length = 0;
        std::vector<std::string> headers;
        for (std::size_t at = 0; at < head.size();) {
            const std::size_t eol = std::min(head.find("\r\n", at), head.size());
            std::string line = head.substr(at, eol - at);
            if (at > 0) headers.push_back(line);
            for (auto& c : line) {
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            }
            if (line.starts_with("content-length:")) {
                length = std::stoul(line.substr(15));
            }
            at = eol + 2;
        }
        std::string body = data.substr(header_end + 4);
        while (body.size() < length) {
            const ssize_t n = ::read(connection, buffer, sizeof(buffer));
            if (n <= 0) {
                return;
            }
            body.append(buffer, static_cast<std::size_t>(n));
        }
        FakeRequest request;
        const auto first_space = head.find(' ');
        const auto second_space = head.find(' ', first_space + 1);
        request.method = head.substr(0, first_space);
        request.target = head.substr(first_space + 1, second_space - first_space - 1);
        request.body = body;
        request.headers = std::move(headers);
        {
            std::lock_guard lock(mutex_);
            requests_.push_back(request);
        }
        const FakeAnswer answer = answer_(request);
        std::string out = "HTTP/1.1 " + std::to_string(answer.status) + " X\r\nContent-Type: " + answer.content_type +
                          "\r\nContent-Length: " + std::to_string(answer.body.size()) +
                          "\r\nConnection: close\r\n\r\n" + answer.body;
        for (std::size_t sent = 0; sent < out.size();) {
            const ssize_t n = ::write(connection, out.data() + sent, out.size() - sent);
            if (n <= 0) {
                return;
            }
            sent += static_cast<std::size_t>(n);
        }
    }

    TempDir dir_;
    Handler answer_;
    std::string socket_path_;
    int listener_ = -1;
    std::atomic<bool> stop_{false};
    mutable std::mutex mutex_;
    std::vector<FakeRequest> requests_;
    std::thread thread_;
};

// One frame of Docker's multiplexed stream (1 stdout, 2 stderr).
inline std::string frame(int stream, const std::string& payload) {
    std::string out(8, '\0');
    out[0] = static_cast<char>(stream);
    const auto size = static_cast<std::uint32_t>(payload.size());
    out[4] = static_cast<char>((size >> 24) & 0xff);
    out[5] = static_cast<char>((size >> 16) & 0xff);
    out[6] = static_cast<char>((size >> 8) & 0xff);
    out[7] = static_cast<char>(size & 0xff);
    return out + payload;
}

}  // namespace mldeploy::test
