// libFuzzer target for the stack loader: any bytes in, either a Stack or a
// StackError out. Anything else escaping (another exception, a crash, a sanitizer
// report, a hang) is a bug. A Stack that loads must also keep the promises the
// rest of mldeploy relies on (valid names, ports in range, routes to existing
// services, paths safe for nginx, no NUL in a path...) and must survive the JSON
// round trip that `scale -s` relies on; a broken promise aborts, so the fuzzer
// keeps the input.
//
// Build: see fuzz/CMakeLists.txt, or run bench/fuzz.sh.
#include "stack/load.hpp"
#include "stack/rules.hpp"
#include "stack/serialize.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace {

using namespace mldeploy::stack;

[[noreturn]] void broken(const char* promise, std::string_view value) {
    std::fprintf(stderr, "fuzz_stack_loader: a loaded stack breaks a promise: %s (value: %s)\n", promise,
                 detail::in_quotes(value).c_str());
    std::abort();
}

void expect(bool ok, const char* promise, std::string_view value = {}) {
    if (!ok) broken(promise, value);
}

bool has_nul(std::string_view text) { return text.find('\0') != std::string_view::npos; }

void check_promises(const Stack& stack) {
    expect(is_valid_name(stack.name), "stack name is valid", stack.name);
    // The default, "<name>_net", may be 4 characters longer than a name written in [network].
    const std::string_view network = stack.network;
    const bool default_network = network == stack.name + "_net";
    expect(detail::is_valid_network_name(default_network ? network.substr(0, network.size() - 4) : network),
           "network name is valid", stack.network);
    expect(!stack.services.empty(), "at least one service");
    for (const auto& s : stack.services) {
        expect(is_valid_name(s.name), "service name is valid", s.name);
        expect(s.port >= 1 && s.port <= 65535, "service port in 1..65535", std::to_string(s.port));
        expect(s.replicas >= 0 && s.replicas <= 1000, "replicas in 0..1000", std::to_string(s.replicas));
        expect(detail::is_image_reference(s.image), "image is an image reference", s.image);
        if (s.build) {
            expect(s.build->context.is_absolute(), "build context is absolute", s.build->context.string());
            expect(!has_nul(s.build->context.string()), "no NUL in the build context", s.build->context.string());
            expect(!has_nul(s.build->dockerfile), "no NUL in the dockerfile", s.build->dockerfile);
            for (const auto& [k, v] : s.build->args) expect(detail::is_variable_name(k), "build arg name is valid", k);
        }
        for (const auto& [k, v] : s.env) expect(detail::is_variable_name(k), "env name is valid", k);
        for (const auto& v : s.volumes) {
            expect(!has_nul(v.source), "no NUL in a volume source", v.source);
            expect(v.target.starts_with('/') && !has_nul(v.target), "volume target is an absolute path", v.target);
        }
        if (s.health) {
            expect(detail::is_url_path(s.health->path), "health path is a safe URL path", s.health->path);
            expect(s.health->interval.count() >= 1 && s.health->timeout.count() >= 1, "health durations positive");
            expect(s.health->retries >= 1 && s.health->retries <= 100, "health retries in 1..100");
        }
        if (s.resources.cpus) expect(*s.resources.cpus > 0 && *s.resources.cpus <= 1024, "cpus in (0, 1024]");
        if (s.resources.memory_bytes) expect(*s.resources.memory_bytes >= 6LL * 1024 * 1024, "memory at least 6m");
    }
    const auto& b = stack.balancer;
    expect(b.port >= 1 && b.port <= 65535, "balancer port in 1..65535", std::to_string(b.port));
    expect(detail::is_image_reference(b.image), "balancer image is an image reference", b.image);
    expect(detail::is_ip_literal(b.host_ip), "host_ip is an address", b.host_ip);
    expect(b.timeout.count() >= 1000, "balancer timeout at least 1s");
    expect(b.max_body_bytes >= 0, "max_body not negative", std::to_string(b.max_body_bytes));
    expect(!b.routes.empty(), "at least one route");
    for (const auto& r : b.routes) {
        expect(detail::is_url_path(r.path), "route path is a safe URL path", r.path);
        expect(stack.find_service(r.service) != nullptr, "route goes to a service of the stack", r.service);
    }
}

// What `up` stores inside the balancer and `scale -s` reads back.
void check_round_trip(const Stack& stack) {
    const auto json = to_json(stack, false);
    const auto again = to_json(stack_from_json(nlohmann::json::parse(json.dump())), false);
    expect(json == again, "to_json(stack_from_json(to_json(s))) == to_json(s)", json.dump());
    (void)to_toml(stack, true);  // what `config` prints: must not throw
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const EnvLookup no_env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
    try {
        const Stack stack = load_stack_text(text, "/tmp/fuzz/stack.toml", no_env);
        check_promises(stack);
        check_round_trip(stack);
    } catch (const StackError& e) {
        // The expected failure: every diagnostic must carry a message.
        for (const auto& d : e.diagnostics()) expect(!d.message.empty(), "a diagnostic has a message");
    }
    return 0;
}
