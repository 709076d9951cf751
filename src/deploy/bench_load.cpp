#include "deploy/bench.hpp"

#include "util/curl.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string_view>

namespace mldeploy::deploy {
namespace {

// One client connection: an easy handle that runs request after request (curl
// keeps its connection alive between them), and what the current one answered.
struct Client {
    util::CurlEasy easy;
    std::string upstream;
    char error[CURL_ERROR_SIZE] = {};
    std::chrono::steady_clock::time_point started;
};

size_t discard_body(char*, size_t size, size_t count, void*) { return size * count; }

size_t read_header(char* data, size_t size, size_t count, void* user) {
    const std::string_view line(data, size * count);
    const auto colon = line.find(':');
    if (colon != std::string_view::npos) {
        std::string name(line.substr(0, colon));
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
        if (name == kUpstreamHeader) {
            auto value = line.substr(colon + 1);
            while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
            while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
                value.remove_suffix(1);
            static_cast<Client*>(user)->upstream = std::string(value);
        }
    }
    return size * count;
}

void check(CURLMcode code, const char* what) {
    if (code != CURLM_OK) throw std::runtime_error(fmt::format("{}: {}", what, curl_multi_strerror(code)));
}

}  // namespace

LoadRun run_load(const LoadOptions& options) {
    const int total = std::max(options.requests, 0);
    const int width = std::clamp(options.concurrency, 1, std::max(total, 1));
    util::CurlMulti multi;
    util::CurlSlist headers;
    headers.append(kBenchRequestHeader);
    if (options.body) headers.append("Content-Type: application/json");

    std::vector<std::unique_ptr<Client>> clients;
    // After the clients, so destroyed first: a handle leaves the multi before it is freed.
    std::vector<std::optional<util::MultiMember>> members;
    int sent = 0;
    auto send = [&](std::size_t index) {
        Client& client = *clients[index];
        CURL* h = client.easy.get();
        client.upstream.clear();
        client.error[0] = '\0';
        curl_easy_setopt(h, CURLOPT_URL, options.url.c_str());
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_body);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, read_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &client);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, client.error);
        curl_easy_setopt(h, CURLOPT_PRIVATE, reinterpret_cast<char*>(index));
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count()));
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_NOPROXY, "*");  // loopback and the stack's own addresses only
        if (options.body) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(options.body->size()));
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, options.body->c_str());
        }
        client.started = std::chrono::steady_clock::now();
        members[index].emplace(multi, client.easy);
        ++sent;
    };

    LoadRun run;
    run.samples.reserve(static_cast<std::size_t>(total));
    const auto begin = std::chrono::steady_clock::now();
    for (int i = 0; i < width && sent < total; ++i) {
        clients.push_back(std::make_unique<Client>());
        members.emplace_back();
        send(clients.size() - 1);
    }
    while (static_cast<int>(run.samples.size()) < total) {
        int running = 0;
        check(curl_multi_perform(multi.get(), &running), "bench");
        int left = 0;
        while (CURLMsg* msg = curl_multi_info_read(multi.get(), &left)) {
            if (msg->msg != CURLMSG_DONE) continue;
            char* tag = nullptr;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &tag);
            const auto index = reinterpret_cast<std::size_t>(tag);
            Client& client = *clients[index];
            const CURLcode result = msg->data.result;
            Sample sample;
            sample.micros =
                std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - client.started)
                    .count();
            if (result == CURLE_OK) {
                long status = 0;
                curl_easy_getinfo(client.easy.get(), CURLINFO_RESPONSE_CODE, &status);
                sample.status = static_cast<int>(status);
                sample.upstream = client.upstream;
            } else {
                sample.error = client.error[0] != '\0' ? client.error : curl_easy_strerror(result);
            }
            run.samples.push_back(std::move(sample));
            // The same handle (and its kept-alive connection) runs the next request.
            members[index].reset();
            if (sent < total) send(index);
        }
        if (static_cast<int>(run.samples.size()) >= total) break;
        check(curl_multi_poll(multi.get(), nullptr, 0, 100, nullptr), "bench");
    }
    run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    return run;
}

}  // namespace mldeploy::deploy
