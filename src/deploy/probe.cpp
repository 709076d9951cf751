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

void set_probe_options(CURL* h, const std::string& url, std::chrono::milliseconds timeout, std::string* body) {
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());  // curl copies it
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    // A new connection each time: a kept one may lead to a replica that is gone,
    // or to an nginx worker that still runs the configuration before a reload.
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep_body_start);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
}

void read_outcome(CURL* h, CURLcode rc, ProbeResult& result) {
    if (rc != CURLE_OK) {
        result.error = curl_easy_strerror(rc);
        return;
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    result.status = static_cast<int>(status);
}

}  // namespace

ProbeResult http_get(const std::string& url, std::chrono::milliseconds timeout) {
    // One handle per thread, kept: probes repeat every few hundred ms while waiting.
    thread_local util::CurlEasy curl;
    curl.reset_options();
    ProbeResult result;
    set_probe_options(curl.get(), url, timeout, &result.body);
    read_outcome(curl.get(), curl_easy_perform(curl.get()), result);
    return result;
}

std::vector<ProbeResult> http_get_all(const std::vector<std::string>& urls, std::chrono::milliseconds timeout) {
    std::vector<ProbeResult> results(urls.size());
    if (urls.empty()) return results;
    util::CurlMulti multi;
    std::vector<util::CurlEasy> handles(urls.size());
    std::vector<util::MultiMember> members;  // removed from `multi` before the handles go
    members.reserve(urls.size());
    for (std::size_t i = 0; i < urls.size(); ++i) {
        set_probe_options(handles[i].get(), urls[i], timeout, &results[i].body);
        curl_easy_setopt(handles[i].get(), CURLOPT_PRIVATE, static_cast<void*>(&results[i]));
        members.emplace_back(multi, handles[i]);
    }
    for (int running = 1; running > 0;) {
        if (const CURLMcode rc = curl_multi_perform(multi.get(), &running); rc != CURLM_OK) {
            for (auto& r : results)
                if (r.status == 0 && r.error.empty()) r.error = curl_multi_strerror(rc);
            return results;
        }
        if (running > 0) curl_multi_poll(multi.get(), nullptr, 0, 1000, nullptr);
    }
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi.get(), &left)) {
        if (msg->msg != CURLMSG_DONE) continue;
        void* result = nullptr;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &result);
        read_outcome(msg->easy_handle, msg->data.result, *static_cast<ProbeResult*>(result));
    }
    return results;
}

std::string http_url(const std::string& host, int port, const std::string& path) {
    const bool ipv6 = host.find(':') != std::string::npos;
    return "http://" + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + path;
}

}  // namespace mldeploy::deploy
