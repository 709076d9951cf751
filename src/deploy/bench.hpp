// `mldeploy bench`: a bounded load (the seed article's `ab` run, built in).
// `run_load` sends N requests with C at once over libcurl's multi interface,
// reusing connections as a client library would; `summarize` is the pure part:
// ab's percentiles, requests/s, failures and how many answers each replica gave.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mldeploy::deploy {

// The header the balancer answers with the replica's address (ip:port) when the
// request carries `X-Mldeploy-Bench: 1` (templates/nginx.conf.mustache).
inline constexpr const char* kBenchRequestHeader = "X-Mldeploy-Bench: 1";
inline constexpr const char* kUpstreamHeader = "x-mldeploy-upstream";

struct LoadOptions {
    std::string url;
    int requests = 100;
    int concurrency = 1;
    std::optional<std::string> body;           // POSTed as application/json when set
    std::chrono::milliseconds timeout{30000};  // per request
};

// One request's outcome.
struct Sample {
    std::int64_t micros = 0;  // from start to the last byte
    int status = 0;           // 0: no HTTP answer (connect refused, timeout, ...)
    std::string upstream;     // the balancer's X-Mldeploy-Upstream, "" without one
    std::string error;        // libcurl's message when status is 0
};

struct LoadRun {
    std::vector<Sample> samples;
    double seconds = 0;  // wall time of the whole run
};

// Sends the load; blocks until every request has an outcome. Throws
// std::runtime_error only when curl itself cannot run.
LoadRun run_load(const LoadOptions& options);

// ab's "Percentage of the requests served within a certain time".
inline const std::vector<int> kPercents{50, 66, 75, 80, 90, 95, 98, 99, 100};

// ab's rule: the sorted times' element n*p/100 (integer division), the longest for 100.
// `sorted` ascending and not empty.
std::int64_t percentile(const std::vector<std::int64_t>& sorted, int percent);

struct Summary {
    int requests = 0;
    int answered = 0;  // with an HTTP status
    int failed = 0;    // without one
    int non_2xx = 0;   // answered, but not 2xx
    double seconds = 0;
    double requests_per_second = 0;         // answered / seconds
    double mean_ms = 0;                     // of the answered
    std::map<int, double> percentiles_ms;   // by percent; empty when nothing was answered
    std::map<std::string, int> by_replica;  // answers per replica name (or address when unknown)
    int unattributed = 0;                   // answers without an address (the balancer's own)
    std::string first_error;                // of the failed, for the user
};

// `names`: replica address (ip:port) -> name; an address not in it counts under itself.
// When the balancer retried, the header lists every address tried: the last answered.
Summary summarize(const LoadRun& run, const std::map<std::string, std::string>& names = {});

// The ab-like report, and the same as JSON.
std::string summary_text(const Summary& summary);
nlohmann::json summary_json(const Summary& summary);

}  // namespace mldeploy::deploy
