// The balancer's access log, as mldeploy measures it: one line per request that
// reached the routes, written by nginx at the request's end (kAccessLogFormat),
// and its decoder. A request nginx retried on another replica lists every
// attempt: "$upstream_addr" is then "a, b" (and "a : b" across an internal
// redirect), with one status and one response time per attempt.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mldeploy::metrics {

// The log_format's name and text. Fields are separated by '|', which none of
// them can hold; the first names the format, so that other lines on the same
// stream (and a later format) are told apart.
inline constexpr const char* kAccessLogFormatName = "mldeploy_v1";
inline constexpr const char* kAccessLogFormat =
    "mldeploy1|$msec|$request_time|$status|$proxy_host|$upstream_addr|$upstream_status|$upstream_response_time";

// One try of a request on one replica.
struct Attempt {
    std::string address;  // "10.88.0.5:5000"; an upstream's name when none was live
    int code = 0;         // the replica's status; the request's for the last try without one (499)
    double seconds = 0;   // the replica's response time (0 when unknown)
    double start = 0;     // unix time the try began (reconstructed backwards from the end)
    double end = 0;       // unix time it ended
};

struct Record {
    double end = 0;                 // $msec: unix time the request ended
    double seconds = 0;             // $request_time: the whole request, as the client saw it
    int status = 0;                 // $status: what the client got
    std::string service;            // from $proxy_host ("mldeploy_<service>"); "" when not proxied
    std::vector<Attempt> attempts;  // empty when no replica was tried (404, /_mldeploy/health)
};

// nullopt: not a line of this format (another line on the stream, or cut short).
std::optional<Record> parse_access_line(std::string_view line);

// The service an upstream group's name stands for ("mldeploy_recs" -> "recs").
std::string service_of_upstream(std::string_view upstream);

}  // namespace mldeploy::metrics
