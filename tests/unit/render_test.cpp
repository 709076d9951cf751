// The balancer's nginx.conf: the full text against golden files in
// data/golden/, key properties checked on their own, and every golden file
// through `nginx -t` (nginx must be installed: packaging/install-deps.sh).
//
// Regenerate the goldens after an intended template change:
//   MLDEPLOY_UPDATE_GOLDEN=1 unit_tests -ts=render
// then review `git diff tests/unit/data/golden`.
// Another nginx binary than /usr/sbin/nginx: MLDEPLOY_NGINX=/path/to/nginx.
#include "render/nginx.hpp"
#include "stack/load.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace mldeploy;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const fs::path kGoldenDir = fs::path(MLDEPLOY_TEST_DATA) / "golden";

stack::Service service(const std::string& name, int port) {
    stack::Service s;
    s.name = name;
    s.image = "ghcr.io/acme/" + name + ":1";
    s.port = port;
    return s;
}

stack::Stack base_stack(const std::string& name) {
    stack::Stack s;
    s.name = name;
    s.network = name + "_net";
    s.balancer.port = 8080;
    return s;
}

struct Case {
    std::string golden;  // file name under data/golden
    stack::Stack stack;
    render::ReplicaAddresses replicas;
};

// Defaults: round robin, 100m bodies, 5m timeout.
Case one_service_two_replicas() {
    auto s = base_stack("demo");
    s.services = {service("llm", 8000)};
    s.balancer.routes = {{"/", "llm"}};
    return {"one-service-two-replicas.conf", s, {{"llm", {"10.89.0.2:8000", "10.89.0.3:8000"}}}};
}

Case two_services_least_conn() {
    auto s = base_stack("shop");
    s.services = {service("llm", 8000), service("embed", 9000)};
    s.balancer.algorithm = "least_conn";
    s.balancer.max_body_bytes = 1LL << 30;
    s.balancer.timeout = 90s;
    s.balancer.routes = {{"/v1/embeddings", "embed"}, {"/", "llm"}};
    return {"two-services-least-conn.conf",
            s,
            {{"llm", {"10.89.0.2:8000", "10.89.0.3:8000", "10.89.0.4:8000"}},
             {"embed", {"10.89.0.5:9000", "[fd00:89::6]:9000"}}}};
}

// embed: listed with no addresses; rerank: not listed at all. Both answer 503.
Case no_replicas_503() {
    auto s = base_stack("demo");
    s.services = {service("llm", 8000), service("embed", 9000), service("rerank", 7000)};
    s.balancer.routes = {{"/v1/embeddings", "embed"}, {"/v1/rerank", "rerank"}, {"/", "llm"}};
    return {"no-replicas-503.conf", s, {{"llm", {"10.89.0.2:8000"}}, {"embed", {}}}};
}

Case ip_hash() {
    auto s = base_stack("sticky");
    s.services = {service("chat", 8000)};
    s.balancer.algorithm = "ip_hash";
    s.balancer.max_body_bytes = 512 * 1024;
    s.balancer.timeout = 1500ms;
    s.balancer.routes = {{"/", "chat"}};
    return {"ip-hash.conf", s, {{"chat", {"10.89.0.7:8000", "10.89.0.8:8000", "10.89.0.9:8000"}}}};
}

Case random_two() {
    auto s = base_stack("demo");
    s.services = {service("llm", 8000)};
    s.balancer.algorithm = "random";
    s.balancer.max_body_bytes = 3LL << 20;
    s.balancer.timeout = 1h;
    s.balancer.routes = {{"/api/", "llm"}};
    return {"random.conf", s, {{"llm", {"10.89.0.2:8000", "10.89.0.3:8000"}}}};
}

// strip_prefix: "/v1" (exact and prefix locations), "/api.v2/" (a regex character,
// a trailing '/'), "/" (nothing to strip) and a route without replicas.
Case strip_prefix() {
    auto s = base_stack("strip");
    s.services = {service("llm", 8000), service("embed", 9000), service("rerank", 7000)};
    s.balancer.routes = {{"/v1", "llm", true},
                         {"/api.v2/", "embed", true},
                         {"/v0", "rerank", true},
                         {"/old", "llm"},
                         {"/", "llm", true}};
    return {"strip-prefix.conf", s, {{"llm", {"10.89.0.2:8000"}}, {"embed", {"10.89.0.3:9000"}}}};
}

// Two versions of a model behind one route, 90/10 by each request's id; a third
// at weight 0 gets nothing (no share in the split); a second route keeps the
// plain form to one of them.
Case weighted() {
    auto s = base_stack("versions");
    s.services = {service("recs", 8000), service("recs-v2", 8000), service("recs-v3", 8000)};
    stack::Route split{"/", "", false};
    split.backends = {{"recs", 90}, {"recs-v2", 10}, {"recs-v3", 0}};
    s.balancer.routes = {split, {"/v2", "recs-v2", true}};
    return {"weighted.conf",
            s,
            {{"recs", {"10.89.0.2:8000"}},
             {"recs-v2", {"10.89.0.3:8000", "10.89.0.4:8000"}},
             {"recs-v3", {"10.89.0.5:8000"}}}};
}

// Sticky by a header on one route and by a cookie on another; a backend without
// replicas answers its share 503; the live split (`mldeploy traffic`) wins over the file's.
Case sticky() {
    auto s = base_stack("sticky");
    s.services = {service("a", 8000), service("b", 8000), service("c", 8000)};
    stack::Route by_header{"/", "", false};
    by_header.backends = {{"a", 50}, {"b", 50}};
    by_header.sticky = "header:X-User-Id";
    by_header.live = std::vector<stack::Backend>{{"a", 20}, {"b", 80}};
    stack::Route by_cookie{"/web", "", false};
    by_cookie.backends = {{"a", 70}, {"c", 30}};
    by_cookie.sticky = "cookie:session_id";
    s.balancer.routes = {by_header, by_cookie};
    return {"sticky.conf", s, {{"a", {"10.89.0.2:8000"}}, {"b", {"10.89.0.3:8000"}}}};
}

// max_inflight: max_conns per replica and a limit on the service's requests in
// progress, on a plain route and on a weighted one.
Case max_inflight() {
    auto s = base_stack("bounded");
    s.services = {service("llm", 8000), service("llm-v2", 8000)};
    s.services[0].max_inflight = 4;
    s.services[1].max_inflight = 2;
    stack::Route split{"/chat", "", false};
    split.backends = {{"llm", 75}, {"llm-v2", 25}};
    s.balancer.routes = {{"/", "llm"}, split};
    return {"max-inflight.conf", s, {{"llm", {"10.89.0.2:8000", "10.89.0.3:8000"}}, {"llm-v2", {"10.89.0.4:8000"}}}};
}

// Shadow traffic: a plain route copying every request (prefix stripped), a
// weighted one copying 25% with [metrics] on (the copies are logged), and a
// mirror whose candidate has no replicas (no copies, the route unchanged).
Case mirror() {
    auto s = base_stack("shadow");
    s.services = {service("a", 8000), service("b", 8000), service("slow", 8000), service("gone", 8000)};
    stack::Route plain{"/v1", "a", true};
    plain.mirror = "slow";
    stack::Route split{"/", "", false};
    split.backends = {{"a", 90}, {"b", 10}};
    split.mirror = "slow";
    split.mirror_percent = 25;
    stack::Route none{"/none/", "a", false};
    none.mirror = "gone";
    s.balancer.routes = {plain, split, none};
    s.metrics = stack::Metrics{9100};
    return {"mirror.conf",
            s,
            {{"a", {"10.89.0.2:8000"}}, {"b", {"10.89.0.3:8000"}}, {"slow", {"10.89.0.4:8000", "10.89.0.5:8000"}}}};
}

std::vector<Case> all_cases() {
    return {one_service_two_replicas(),
            two_services_least_conn(),
            no_replicas_503(),
            ip_hash(),
            random_two(),
            strip_prefix(),
            weighted(),
            sticky(),
            max_inflight(),
            mirror()};
}

std::string read_text(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

void write_text(const fs::path& file, const std::string& text) {
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << text;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

bool updating_goldens() {
    const char* v = std::getenv("MLDEPLOY_UPDATE_GOLDEN");
    return v != nullptr && std::string(v) == "1";
}

// Where the rendered text goes on a mismatch, for `diff -u golden actual`.
fs::path actual_path(const std::string& golden) {
    return fs::temp_directory_path() / "mldeploy-golden-actual" / golden;
}

// The first differing line, both versions, and the diff command.
std::string mismatch_message(const std::string& golden, const std::string& expected, const std::string& actual) {
    const auto want = lines_of(expected);
    const auto got = lines_of(actual);
    std::size_t i = 0;
    while (i < want.size() && i < got.size() && want[i] == got[i]) ++i;
    std::ostringstream m;
    m << "rendered config differs from golden " << golden << " at line " << (i + 1) << "\n"
      << "  golden:   " << (i < want.size() ? "\"" + want[i] + "\"" : "<end of file>") << "\n"
      << "  rendered: " << (i < got.size() ? "\"" + got[i] + "\"" : "<end of file>") << "\n";
    if (want.size() != got.size()) m << "  (golden has " << want.size() << " lines, rendered " << got.size() << ")\n";
    if (i == want.size() && i == got.size()) m << "  (the texts differ only in line endings or a final newline)\n";
    m << "  see: diff -u " << (kGoldenDir / golden).string() << " " << actual_path(golden).string() << "\n"
      << "  if the change is intended: MLDEPLOY_UPDATE_GOLDEN=1 unit_tests -ts=render";
    return m.str();
}

// The text between "<opener> {" and its closing brace (nested braces counted).
std::string block(const std::string& text, const std::string& opener) {
    const auto start = text.find(opener + " {");
    if (start == std::string::npos) return "";
    int depth = 0;
    for (auto i = text.find('{', start); i < text.size(); ++i) {
        if (text[i] == '{') ++depth;
        if (text[i] == '}' && --depth == 0) return text.substr(start, i - start + 1);
    }
    return "";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::size_t count(const std::string& text, const std::string& part) {
    std::size_t n = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + part.size())) ++n;
    return n;
}

std::string nginx_binary() {
    if (const char* v = std::getenv("MLDEPLOY_NGINX"); v != nullptr && *v != '\0') return v;
    return "/usr/sbin/nginx";
}

struct RunResult {
    int status = -1;
    std::string output;
};

RunResult run(const std::string& command) {
    RunResult r;
    FILE* pipe = popen((command + " 2>&1").c_str(), "r");
    if (pipe == nullptr) return r;
    std::array<char, 4096> buffer{};
    while (std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) r.output.append(buffer.data(), n);
    r.status = pclose(pipe);
    return r;
}

std::string quoted(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

}  // namespace

TEST_SUITE("render") {
    TEST_CASE("render_nginx_config matches the golden files") {
        for (const auto& c : all_cases()) {
            CAPTURE(c.golden);
            const auto rendered = render::render_nginx_config(c.stack, c.replicas);
            const auto golden = kGoldenDir / c.golden;
            if (updating_goldens()) {
                write_text(golden, rendered);
                MESSAGE("updated golden " << golden.string());
                continue;
            }
            REQUIRE_MESSAGE(fs::exists(golden),
                            "missing golden " << golden.string() << "; create it with MLDEPLOY_UPDATE_GOLDEN=1");
            const auto expected = read_text(golden);
            if (rendered == expected) {
                CHECK(true);
                continue;
            }
            write_text(actual_path(c.golden), rendered);
            FAIL_CHECK(mismatch_message(c.golden, expected, rendered));
        }
    }

    TEST_CASE("rendering is deterministic") {
        for (const auto& c : all_cases()) {
            CAPTURE(c.golden);
            CHECK(render::render_nginx_config(c.stack, c.replicas) == render::render_nginx_config(c.stack, c.replicas));
        }
    }

    TEST_CASE("every upstream keeps connections to its replicas alive") {
        const auto c = two_services_least_conn();
        const auto text = render::render_nginx_config(c.stack, c.replicas);
        CHECK(count(text, "upstream mldeploy_") == 2);
        for (const auto& [name, addresses] : c.replicas) {
            CAPTURE(name);
            const auto up = block(text, "upstream mldeploy_" + name);
            REQUIRE_FALSE(up.empty());
            CHECK(contains(up, "keepalive 128;"));
            CHECK(count(up, "server ") == addresses.size());
            for (const auto& address : addresses) CHECK(contains(up, "server " + address + " "));
        }
    }

    TEST_CASE("proxy settings for model traffic") {
        const auto c = two_services_least_conn();
        const auto text = render::render_nginx_config(c.stack, c.replicas);
        CHECK(contains(text, "proxy_http_version 1.1;"));
        CHECK(contains(text, "proxy_set_header Connection \"\";"));
        CHECK(contains(text, "proxy_buffering off;"));
        CHECK(contains(text, "proxy_next_upstream error timeout"));
        CHECK(contains(text, "pid /tmp/"));
        CHECK(contains(text, "listen 80 "));
        CHECK(contains(text, "location = /_mldeploy/health {"));
        CHECK(contains(text, "stack \"shop\""));
    }

    TEST_CASE("client_max_body_size and the timeouts come from the balancer settings") {
        SUBCASE("defaults") {
            const auto c = one_service_two_replicas();
            const auto text = render::render_nginx_config(c.stack, c.replicas);
            CHECK(contains(text, "client_max_body_size 100m;"));
            CHECK(contains(text, "proxy_read_timeout 5m;"));
            CHECK(contains(text, "proxy_send_timeout 5m;"));
            CHECK(contains(text, "send_timeout 5m;"));
        }
        SUBCASE("gigabytes and seconds") {
            const auto c = two_services_least_conn();
            const auto text = render::render_nginx_config(c.stack, c.replicas);
            CHECK(contains(text, "client_max_body_size 1g;"));
            CHECK(contains(text, "proxy_read_timeout 90s;"));
        }
        SUBCASE("kilobytes and milliseconds") {
            const auto c = ip_hash();
            const auto text = render::render_nginx_config(c.stack, c.replicas);
            CHECK(contains(text, "client_max_body_size 512k;"));
            CHECK(contains(text, "proxy_read_timeout 1500ms;"));
        }
        SUBCASE("hours and an odd size in bytes") {
            auto c = random_two();
            c.stack.balancer.max_body_bytes = 1000;
            const auto text = render::render_nginx_config(c.stack, c.replicas);
            CHECK(contains(text, "client_max_body_size 1000;"));
            CHECK(contains(text, "proxy_read_timeout 1h;"));
        }
    }

    TEST_CASE("routes: proxied to the upstream, or 503 when the service has no replicas") {
        const auto c = no_replicas_503();
        const auto text = render::render_nginx_config(c.stack, c.replicas);

        // Routes live in the published server (after the control server's own "location /").
        const auto published = text.substr(text.find("listen 80 "));
        const auto llm = block(published, "location /");
        CHECK(contains(llm, "proxy_pass http://mldeploy_llm;"));
        CHECK_FALSE(contains(llm, "return 503"));

        const std::vector<std::pair<std::string, std::string>> empty_routes{{"embed", "/v1/embeddings"},
                                                                            {"rerank", "/v1/rerank"}};
        for (const auto& [name, path] : empty_routes) {
            CAPTURE(name);
            const auto route = block(published, "location " + path + "/");
            REQUIRE_FALSE(route.empty());
            CHECK(contains(published, "location = " + path + " {"));
            CHECK(contains(route, "return 503"));
            CHECK(contains(route, "service " + name + " has no replicas"));
            CHECK(contains(route, "default_type application/json;"));
            CHECK_FALSE(contains(route, "proxy_pass"));
            // nginx refuses an upstream with no servers: there must be none.
            CHECK_FALSE(contains(text, "upstream mldeploy_" + name));
        }
        CHECK(count(text, "upstream mldeploy_") == 1);
    }

    TEST_CASE("strip_prefix: the prefix comes off before proxy_pass, in the drain location too") {
        const auto c = strip_prefix();
        const auto text = render::render_nginx_config(c.stack, c.replicas);
        const auto published = text.substr(text.find("listen 80 "));
        CHECK(contains(block(published, "location = /v1"), "rewrite ^ / break;\n            proxy_pass"));
        CHECK(contains(block(published, "location /v1/"), "rewrite \"^/v1(/.*)$\" $1 break;"));
        CHECK(contains(block(published, "location /api.v2/"), "rewrite \"^/api\\.v2(/.*)$\" $1 break;"));
        // After the drain check: a rewrite ... break would skip it.
        const auto v1 = block(published, "location /v1/");
        CHECK(v1.find("return 418") < v1.find("rewrite"));
        // Every rewrite twice (the location and its @drain), none for "/", "/old" or "/v0" (no replicas).
        CHECK(count(published, "rewrite ") == 6);
        CHECK_FALSE(contains(block(published, "location /old/"), "rewrite"));
        CHECK_FALSE(contains(block(published, "location /v0/"), "rewrite"));
    }

    TEST_CASE("no replicas at all: no upstream, every route answers 503") {
        auto c = two_services_least_conn();
        const auto text = render::render_nginx_config(c.stack, {});
        CHECK_FALSE(contains(text, "upstream mldeploy_"));
        CHECK_FALSE(contains(text, "proxy_pass"));
        const auto published = text.substr(text.find("listen 80 "));
        for (const auto& route : c.stack.balancer.routes) {
            CAPTURE(route.path);
            const auto opener = route.path.ends_with('/') ? route.path : route.path + "/";
            CHECK(contains(block(published, "location " + opener), "return 503"));
        }
    }

    TEST_CASE("a service with replicas but no route still gets its upstream") {
        auto c = two_services_least_conn();
        c.stack.balancer.routes = {{"/", "llm"}};
        const auto text = render::render_nginx_config(c.stack, c.replicas);
        CHECK(contains(text, "upstream mldeploy_embed {"));
        CHECK_FALSE(contains(text, "location /v1/embeddings"));
    }

    TEST_CASE("the balancing method in every upstream") {
        auto c = two_services_least_conn();
        struct Want {
            const char* algorithm;
            const char* directive;  // "" = round robin, nginx's default: no line
        };
        for (const auto& w : {Want{"round_robin", ""}, Want{"least_conn", "least_conn;"}, Want{"ip_hash", "ip_hash;"},
                              Want{"random", "random two least_conn;"}}) {
            CAPTURE(w.algorithm);
            c.stack.balancer.algorithm = w.algorithm;
            const auto text = render::render_nginx_config(c.stack, c.replicas);
            for (const char* name : {"llm", "embed"}) {
                CAPTURE(name);
                const auto up = block(text, std::string("upstream mldeploy_") + name);
                REQUIRE_FALSE(up.empty());
                if (*w.directive != '\0') {
                    CHECK(count(up, w.directive) == 1);
                    // The method goes before keepalive: after it, nginx warns "load balancing
                    // method redefined" and the upstream loses its keepalive connections.
                    CHECK(up.find(w.directive) < up.find("keepalive"));
                } else {
                    CHECK_FALSE(contains(up, "least_conn"));
                    CHECK_FALSE(contains(up, "ip_hash"));
                    CHECK_FALSE(contains(up, "random"));
                }
            }
        }
    }

    TEST_CASE("nginx -t accepts every golden file") {
        const auto nginx = nginx_binary();
        // A missing nginx fails the test: passing without checking anything would hide a broken golden file.
        // packaging/install-deps.sh installs nginx-light.
        INFO("nginx not found at " << nginx
                                   << " (run packaging/install-deps.sh, or set MLDEPLOY_NGINX=/path/to/nginx)");
        REQUIRE(::access(nginx.c_str(), X_OK) == 0);
        for (const auto& c : all_cases()) {
            CAPTURE(c.golden);
            const auto file = kGoldenDir / c.golden;
            REQUIRE(fs::exists(file));
            // -e stderr: the built-in error log path may not exist or be writable here.
            const auto result = run(quoted(nginx) + " -t -q -e stderr -c " + quoted(file.string()));
            INFO("nginx -t output:\n" << result.output);
            CHECK(result.status == 0);
            // -q leaves only warnings and errors; a warning is reported, not failed,
            // as newer nginx versions add deprecation warnings.
            WARN_MESSAGE(result.output.find("[warn]") == std::string::npos, "nginx -t warns: " << result.output);
        }
    }

}  // TEST_SUITE

TEST_CASE("the balancer's /_mldeploy/config answer names its config and its stack file, and nothing else parses") {
    using mldeploy::render::parse_running_config;
    const auto ok = parse_running_config("drain-0123abcd stack-89ef\n");
    REQUIRE(ok);
    CHECK(ok->drain_marker == "drain-0123abcd");
    CHECK(ok->stack_fingerprint == "stack-89ef");
    CHECK_FALSE(parse_running_config("drain-0123abcd stack-89ef"));  // no newline
    CHECK_FALSE(parse_running_config("<html>404</html>\n"));         // a replica answered
    CHECK_FALSE(parse_running_config("drain- stack-89ef\n"));
    CHECK_FALSE(parse_running_config("drain-0123 stack-89eZ\n"));
    CHECK_FALSE(parse_running_config("drain-0123  stack-89ef\n"));
    CHECK_FALSE(parse_running_config(""));
}

TEST_CASE("the config serves its own marker and the stack file's fingerprint") {
    mldeploy::stack::Stack stack = mldeploy::stack::load_stack_text(R"(
name = "fp"
[services.m]
image = "x"
port = 80
[balancer]
port = 8080
)",
                                                                    "fp.toml");
    const auto fp = mldeploy::render::stack_fingerprint_of("{}");
    const auto config = mldeploy::render::render_nginx_config(stack, {{"m", {"10.0.0.2:80"}}}, fp);
    const auto marker = mldeploy::render::drain_marker_of(config);
    REQUIRE(marker);
    CHECK(config.find("return 200 \"" + *marker + " " + fp + "\\n\";") != std::string::npos);
    // Another stack file, another config (and marker): a stack-only change is seen.
    const auto other = mldeploy::render::render_nginx_config(stack, {{"m", {"10.0.0.2:80"}}},
                                                             mldeploy::render::stack_fingerprint_of("{\"a\":1}"));
    CHECK(*mldeploy::render::drain_marker_of(other) != *marker);
}
