#include "deploy/health_probe.hpp"

#include "util/netif.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <optional>
#include <regex>
#include <thread>

namespace mldeploy::deploy {
namespace {

// $1 address (IPv6 in brackets for URLs), $2 bare address, $3 port, $4 path, $5 timeout in seconds.
// Debian's nginx images have bash and coreutils but no curl; Alpine's have wget.
constexpr const char* kProbeScript = R"(if command -v curl >/dev/null 2>&1; then
  exec curl -sS -o /dev/null -m "$5" -w 'HTTP/curl %{http_code}\n' "http://$1:$3$4"
elif command -v bash >/dev/null 2>&1 && command -v timeout >/dev/null 2>&1; then
  exec timeout "$5" bash -c 'exec 3<>"/dev/tcp/$0/$1" || exit 1
printf "GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n" "$2" "$0" >&3
IFS= read -r line <&3 && printf "%s\n" "$line"' "$2" "$3" "$4"
elif command -v wget >/dev/null 2>&1; then
  wget -S -q -O /dev/null -T "$5" "http://$1:$3$4" 2>&1 | grep -m1 'HTTP/'
  exit 0
fi
echo "the balancer image has none of curl, bash or wget to probe with" >&2
exit 127)";

}  // namespace

namespace {

std::optional<ProbeRoute> forced_route() {
    if (const char* forced = std::getenv("MLDEPLOY_PROBE")) {
        const std::string_view f(forced);
        if (f == "direct") return ProbeRoute::direct;
        if (f == "balancer") return ProbeRoute::via_balancer;
    }
    return std::nullopt;
}

// The route where the address does not matter: forced, or a rootless engine.
// A rootless engine's networks may reuse the subnets of the host's own bridges
// (both count from 10.89.0.0/24), so its addresses can look local.
std::optional<ProbeRoute> route_whatever_the_address(const engine::Engine& engine) {
    if (const auto forced = forced_route()) return forced;
    if (engine.rootless()) return ProbeRoute::via_balancer;
    return std::nullopt;
}

ProbeRoute route_by_address(const util::DirectRoutes& routes, const std::string& address) {
    return routes.reach(address) ? ProbeRoute::direct : ProbeRoute::via_balancer;
}

}  // namespace

bool probes_need_balancer(const engine::Engine& engine) {
    return route_whatever_the_address(engine) == ProbeRoute::via_balancer;
}

ProbeRoute probe_route(const engine::Engine& engine, const std::string& address) {
    if (const auto route = route_whatever_the_address(engine)) return *route;
    return route_by_address(util::DirectRoutes::of_this_host(), address);
}

std::vector<std::string> balancer_probe_command(const std::string& address, int port, const std::string& path,
                                                std::chrono::milliseconds timeout) {
    const bool ipv6 = address.find(':') != std::string::npos;
    return {"sh",
            "-c",
            kProbeScript,
            "mldeploy-probe",
            ipv6 ? "[" + address + "]" : address,
            address,
            std::to_string(port),
            path,
            fmt::format("{:.3f}", static_cast<double>(timeout.count()) / 1000.0)};
}

ProbeResult read_balancer_probe(const engine::ExecResult& result) {
    static const std::regex status_line(R"(HTTP/[0-9.a-z]+ ([0-9]{3}))");
    ProbeResult probe;
    std::smatch m;
    if (std::regex_search(result.output, m, status_line)) probe.status = std::stoi(m[1].str());
    if (probe.status != 0) return probe;
    std::string said = result.output;
    while (!said.empty() && (said.back() == '\n' || said.back() == '\r' || said.back() == ' ')) said.pop_back();
    if (said.empty())
        said = result.exit_code == 124 ? "timed out" : fmt::format("no answer (exit {})", result.exit_code);
    probe.error = "from the balancer: " + said;
    return probe;
}

HealthProber::HealthProber(engine::Engine& engine, std::function<std::string()> balancer_id)
    : engine_(engine), balancer_id_(std::move(balancer_id)) {}

ProbeResult HealthProber::container_get(const std::string& address, int port, const std::string& path,
                                        std::chrono::milliseconds timeout) {
    if (probe_route(engine_, address) == ProbeRoute::direct) return http_get(http_url(address, port, path), timeout);
    return get_via_balancer({address, port, path}, timeout);
}

ProbeResult HealthProber::get_via_balancer(const ProbeRequest& request, std::chrono::milliseconds timeout) {
    const auto balancer = balancer_id_();
    return read_balancer_probe(
        engine_.exec(balancer, balancer_probe_command(request.address, request.port, request.path, timeout)));
}

std::vector<std::optional<ProbeResult>> HealthProber::get_all(const std::vector<ProbeRequest>& requests,
                                                              std::chrono::milliseconds timeout) {
    std::vector<std::optional<ProbeResult>> results(requests.size());
    std::vector<std::size_t> direct;
    std::vector<std::size_t> inside;
    const auto fixed = route_whatever_the_address(engine_);
    const auto routes = fixed ? util::DirectRoutes() : util::DirectRoutes::of_this_host();  // read once
    for (std::size_t i = 0; i < requests.size(); ++i) {
        const auto route = fixed ? *fixed : route_by_address(routes, requests[i].address);
        (route == ProbeRoute::direct ? direct : inside).push_back(i);
    }
    auto via_balancer = [&](std::size_t i) {
        try {
            results[i] = get_via_balancer(requests[i], timeout);
        } catch (const std::exception&) {
            // results[i] stays empty: not asked
        }
    };
    {
        // With no GET to run here, the last exec runs on this thread.
        const std::size_t threads = direct.empty() && !inside.empty() ? inside.size() - 1 : inside.size();
        std::vector<std::jthread> execs;
        for (std::size_t k = 0; k < threads; ++k) execs.emplace_back(via_balancer, inside[k]);
        if (threads < inside.size()) via_balancer(inside.back());
        std::vector<std::string> urls;
        for (const auto i : direct) urls.push_back(http_url(requests[i].address, requests[i].port, requests[i].path));
        auto answers = http_get_all(urls, timeout);
        for (std::size_t k = 0; k < direct.size(); ++k) results[direct[k]] = std::move(answers[k]);
    }  // joins the execs
    return results;
}

}  // namespace mldeploy::deploy
