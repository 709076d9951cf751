#include "deploy/probe.hpp"

#include "util/curl.hpp"

#include <algorithm>

namespace mldeploy::deploy {
namespace {

size_t keep_body_start(char* data, size_t size, size_t count, void* user) {
    auto* body = static_cast<std::string*>(user);
    const size_t n = size * count;
    if (body->size() < 65536) body->append(data, std::min(n, 65536 - body->size()));
    return n;
}

}  // namespace

ProbeResult http_get(const std::string& url, std::chrono::milliseconds timeout) {
    // One handle per thread, kept: probes repeat every few hundred ms while waiting.
    thread_local util::CurlEasy curl;
    curl.reset_options();
    CURL* h = curl.get();
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    // A new connection each time: a kept one may lead to a replica that is gone,
    // or to an nginx worker that still runs the configuration before a reload.
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    ProbeResult result;
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep_body_start);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &result.body);
    const CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        result.error = curl_easy_strerror(rc);
        return result;
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    result.status = static_cast<int>(status);
    return result;
}

std::string http_url(const std::string& host, int port, const std::string& path) {
    const bool ipv6 = host.find(':') != std::string::npos;
    return "http://" + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + path;
}

}  // namespace mldeploy::deploy
