// A very small HTTP/1.1 server for a few scrapes a second (the controller's
// /metrics): one connection at a time, GET only, every answer closes its
// connection. Not for the public internet: it reads at most 16 KiB per request.
#pragma once

#include <functional>
#include <string>

namespace mldeploy::util {

struct HttpAnswer {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
};

using HttpHandler = std::function<HttpAnswer(const std::string& method, const std::string& path)>;

// Listens on host:port (IPv4; "0.0.0.0" for every address) and answers each
// request with `handler` until the process ends. Throws std::runtime_error when
// it cannot listen.
[[noreturn]] void serve_http(const std::string& host, int port, const HttpHandler& handler);

// The request line's method and path ("GET /metrics?x=1 HTTP/1.1" -> GET, /metrics);
// false when `head` does not start with one.
bool parse_request_line(const std::string& head, std::string& method, std::string& path);

}  // namespace mldeploy::util
