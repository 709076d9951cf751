// HTTP GET probes of replicas and the balancer, from the host.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace mldeploy::deploy {

struct ProbeResult {
    int status = 0;     // 0: no HTTP answer
    std::string error;  // transport error when status is 0
    std::string body;   // the first 64 KiB of the answer
    bool ok() const { return status >= 200 && status < 300; }
};

ProbeResult http_get(const std::string& url, std::chrono::milliseconds timeout);

// The same GET of every URL at once, on this thread (one curl multi handle: no
// thread per probe); the results in the order of `urls`.
std::vector<ProbeResult> http_get_all(const std::vector<std::string>& urls, std::chrono::milliseconds timeout);

// "http://10.89.0.4:5000/healthz"; brackets for IPv6 addresses.
std::string http_url(const std::string& host, int port, const std::string& path);

}  // namespace mldeploy::deploy
