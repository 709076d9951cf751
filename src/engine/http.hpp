// HTTP/1.1 over a unix socket (the engines' REST APIs), on libcurl.
//
// Transport failures (socket missing, connection refused, timeout, interrupted)
// are kept apart from HTTP statuses: a response has either a status or a
// TransportError, never a status that stands for both.
//
// One CURL easy handle is kept per thread and per socket path (thread_local), so
// a UnixHttpClient may be used from several threads at once, and each thread's
// connection to the engine stays open between calls.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mldeploy::engine {

struct TransportError {
    int curl_code = 0;    // a CURLcode
    std::string message;  // curl's own words, e.g. "Could not connect to server"
};

struct HttpResponse {
    int status = 0;                              // 0 when the transport failed
    std::string body;                            // for streamed calls: only the body of a non-2xx answer
    std::map<std::string, std::string> headers;  // names in lower case
    std::optional<TransportError> transport_error;

    std::string header(const std::string& lower_case_name) const {
        const auto it = headers.find(lower_case_name);
        return it == headers.end() ? std::string() : it->second;
    }

    bool ok() const { return !transport_error && status >= 200 && status < 300; }
};

// Gets the body of a streamed answer piece by piece, as it arrives (pieces are
// split anywhere). It may throw to stop the transfer; the exception reaches the
// caller of stream() unchanged.
using ChunkSink = std::function<void(std::string_view chunk)>;

// Percent-encodes everything but RFC 3986's unreserved characters.
std::string url_encode(std::string_view value);

// Percent-encodes a path segment, keeping also ':' '@' and '/' (image references
// such as "localhost/mldeploy/python:3.11" go into paths as they are).
std::string url_encode_path(std::string_view value);

// Builds "?k=v&k2=v2" with values encoded; empty when nothing was added.
class Query {
public:
    Query& add(std::string_view key, std::string_view value);
    Query& add(std::string_view key, bool value) { return add(key, std::string_view(value ? "true" : "false")); }
    Query& add(std::string_view key, int value) { return add(key, std::string_view(std::to_string(value))); }
    Query& add(std::string_view key, const char* value) { return add(key, std::string_view(value)); }
    std::string str() const;

private:
    std::string text_;
};

// When set, every transfer in the process checks this flag about once a second
// and gives up (TransportError "interrupted") once it reads true; for Ctrl-C
// during a build or `logs --follow`. The flag must outlive all transfers.
void set_http_cancel_flag(const std::atomic<bool>* flag);

// True when the socket file belongs to a user other than root: the engine
// behind it is a rootless one (Podman or Docker run by that user).
bool socket_owned_by_user(const std::string& socket_path);

class UnixHttpClient {
public:
    static constexpr std::chrono::seconds default_timeout{120};
    static constexpr std::chrono::seconds connect_timeout{5};

    explicit UnixHttpClient(std::string socket_path);

    const std::string& socket_path() const { return socket_path_; }

    // A plain call: the whole body is returned. path_with_query starts with '/'.
    // timeout bounds the whole call (connect included).
    HttpResponse request(std::string_view method, std::string_view path_with_query, std::string_view body = {},
                         std::string_view content_type = {}, std::chrono::seconds timeout = default_timeout) const;

    // A streamed call without a total timeout: a 2xx body goes to `sink` piece by
    // piece; any other body is returned in HttpResponse::body.
    // `headers`: more request headers ("Name: value").
    HttpResponse stream(std::string_view method, std::string_view path_with_query, std::string_view body,
                        std::string_view content_type, const ChunkSink& sink,
                        const std::vector<std::string>& headers = {}) const;

private:
    HttpResponse perform(std::string_view method, std::string_view path_with_query, std::string_view body,
                         std::string_view content_type, std::chrono::seconds timeout, const ChunkSink* sink,
                         const std::vector<std::string>& extra_headers = {}) const;

    std::string socket_path_;
};

}  // namespace mldeploy::engine
