#include "deploy/balancer.hpp"

#include "deploy/errors.hpp"
#include "deploy/health_hint.hpp"
#include "deploy/stack_state.hpp"
#include "plan/labels.hpp"
#include "stack/serialize.hpp"
#include "util/tar.hpp"

#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <fmt/format.h>

#include <array>
#include <cstring>
#include <stdexcept>

namespace mldeploy::deploy {
namespace {

constexpr int kLogLinesRead = 200;
constexpr std::size_t kLogLinesShown = 20;

// One exec in the balancer does a whole reload, and the drain after it (each
// exec costs several engine round trips):
//   $1 the new config (empty: already copied to nginx.conf.next)
//   $2 the running config's drain marker (empty: nobody to drain)
//   $3 seconds clients get to see their idle connections closed
//   $4 tenths of a second the drain may take; then the addresses to drain, as
//      /proc/net/tcp writes them.
// Exit kConfigRejected when `nginx -t` refuses the new config; the running one
// is then left as it was. After the reload signal it waits (up to 5 s) until
// every worker that ran before has stopped accepting (its title becomes "... is
// shutting down"): with `reuseport` each worker has its own listening socket,
// and until then a new connection may still reach an old worker. Then, while
// the balancer holds an open connection to an address being drained (a request
// in flight: the old workers close their idle keepalive connections when they
// shut down) and a worker of the old config still runs, it waits. Its last
// line says "drained" or "open N".
constexpr const char* kReloadScript = R"sh(d=/etc/mldeploy
conf=$1 marker=$2 settle=$3 budget=$4
shift 4
count() { # established connections whose field $1 (2 local, 3 remote) is one of the rest
  field=$1; shift; n=-1
  for f in /proc/net/tcp /proc/net/tcp6; do
    [ -r "$f" ] || continue
    [ "$n" -lt 0 ] && n=0
    while read -r _ l r st _; do
      [ "$st" = 01 ] || continue
      [ "$field" = 2 ] && a=${l##*:} || a=$r
      for want in "$@"; do [ "$a" = "$want" ] && n=$((n + 1)); done
    done <"$f"
  done
  echo "$n"
}
rm -f "$d"/drain-*
if [ -n "$marker" ] && [ "$(count 2 0050)" != 0 ]; then : >"$d/$marker" && sleep "$settle"; fi
if [ -n "$conf" ]; then printf '%s' "$conf" >"$d/nginx.conf.next" || exit 91; fi
if ! out=$(nginx -t -q -c "$d/nginx.conf.next" 2>&1); then
  rm -f "$d/nginx.conf.next"; [ -z "$marker" ] || rm -f "$d/$marker"
  printf '%s\n' "$out"; exit 90
fi
workers() {
  for p in /proc/[0-9]*; do
    [ "$(tr -d '\000' <"$p/cmdline" 2>/dev/null)" = "nginx: worker process" ] && echo "${p#/proc/}"
  done
}
old=$(workers)
mv "$d/nginx.conf.next" "$d/nginx.conf" && nginx -s reload -c "$d/nginx.conf" || exit
i=0
while [ "$i" -lt 500 ]; do
  left=$(workers); busy=
  for p in $old; do case " $(echo $left) " in *" $p "*) busy=1 ;; esac; done
  [ -z "$busy" ] && break
  i=$((i + 1)); sleep 0.01
done
[ $# -gt 0 ] || exit 0
t=0
while :; do
  n=$(count 3 "$@")
  [ "$n" = 0 ] && break
  alive=
  for p in $old; do [ -d "/proc/$p" ] && alive=1; done
  [ -z "$alive" ] && break
  [ "$t" -ge "$budget" ] && { echo "open $n"; exit 0; }
  t=$((t + 1)); sleep 0.1
done
echo drained)sh";
constexpr int kConfigRejected = 90;

// A new balancer's first files come in its environment; its command writes each
// one that is not there yet (a restarted balancer keeps what reloads wrote) and
// starts nginx without them in its environment.
constexpr const char* kFirstConfigVariable = "MLDEPLOY_FIRST_NGINX_CONF";
constexpr const char* kFirstStackVariable = "MLDEPLOY_FIRST_STACK_JSON";
constexpr const char* kFirstFilesScript = R"(d=/etc/mldeploy
mkdir -p "$d" || exit 1
if [ ! -f "$d/nginx.conf" ]; then printf '%s' "$MLDEPLOY_FIRST_NGINX_CONF" >"$d/nginx.conf" || exit 1; fi
if [ -n "$MLDEPLOY_FIRST_STACK_JSON" ] && [ ! -f "$d/stack.json" ]; then
  (umask 077 && printf '%s' "$MLDEPLOY_FIRST_STACK_JSON" >"$d/stack.json") || exit 1
fi
unset MLDEPLOY_FIRST_NGINX_CONF MLDEPLOY_FIRST_STACK_JSON
exec nginx -c "$d/nginx.conf" -g 'daemon off;')";
// Linux refuses a single argument over 128 KiB; larger configs are copied in.
constexpr size_t kLargestConfigArgument = 100 * 1024;

std::string tenths(std::chrono::milliseconds d) { return std::to_string(std::max<long long>(0, d.count() / 100)); }

std::string seconds_text(std::chrono::milliseconds d) {
    return fmt::format("{:.3f}", static_cast<double>(d.count()) / 1000.0);
}

// The last line of an exec's output.
std::string last_line(const std::string& output) {
    auto end = output.find_last_not_of("\r\n");
    if (end == std::string::npos) return {};
    auto start = output.rfind('\n', end);
    return output.substr(start == std::string::npos ? 0 : start + 1,
                         end - (start == std::string::npos ? 0 : start + 1) + 1);
}

}  // namespace

std::string deployed_stack_json(const stack::Stack& stack) {
    auto kept = stack;
    for (auto& s : kept.services) {
        for (auto& [key, value] : s.env) value = kValueInReplicas;
        if (s.build)
            for (auto& [key, value] : s.build->args) value = kValueInReplicas;
    }
    return stack::to_json(kept, false).dump(2);
}

BalancerFiles balancer_files(const stack::Stack& stack, const render::ReplicaAddresses& addresses) {
    return balancer_files(stack, stack, addresses);
}

BalancerFiles balancer_files(const stack::Stack& stack, const stack::Stack& routed,
                             const render::ReplicaAddresses& addresses) {
    BalancerFiles files;
    files.stack_json = deployed_stack_json(stack);
    files.fingerprint = render::stack_fingerprint_of(files.stack_json);
    files.config = render::render_nginx_config(routed, addresses, files.fingerprint);
    files.marker = render::drain_marker_of(files.config).value_or("");
    return files;
}

std::string proc_net_tcp_address(const std::string& address_with_port) {
    const auto colon = address_with_port.rfind(':');
    if (colon == std::string::npos) throw std::invalid_argument("no port in " + address_with_port);
    auto host = address_with_port.substr(0, colon);
    const int port = std::stoi(address_with_port.substr(colon + 1));
    if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    std::array<unsigned char, 16> bytes{};
    std::string hex;
    // The kernel prints each 32-bit word of the address as a number in host
    // byte order (little endian here): the bytes of each word reversed.
    const auto words = [&](int count) {
        for (int w = 0; w < count; ++w)
            for (int b = 3; b >= 0; --b) hex += fmt::format("{:02X}", bytes[static_cast<std::size_t>(w * 4 + b)]);
    };
    if (inet_pton(AF_INET, host.c_str(), bytes.data()) == 1)
        words(1);
    else if (inet_pton(AF_INET6, host.c_str(), bytes.data()) == 1)
        words(4);
    else
        throw std::invalid_argument("not an IP address: " + host);
    return hex + fmt::format(":{:04X}", port);
}

void throw_with_logs(engine::Engine& engine, const std::string& id, const std::string& what, const std::string& hint) {
    // More lines than are shown: a model that logs every health probe would fill the
    // last 20 with copies of that line; collapsed, its own output shows above them.
    std::vector<std::string> lines;
    try {
        engine.logs(id, false, kLogLinesRead, [&](engine::LogStream, std::string_view line) {
            if (line.find_first_not_of(" \t\r") == std::string_view::npos) return;
            lines.emplace_back(line);
        });
    } catch (const std::exception&) {
        // The logs are a courtesy; the failure itself is what must reach the user.
    }
    lines = collapse_repeats(lines);
    std::string tail;
    for (std::size_t i = lines.size() > kLogLinesShown ? lines.size() - kLogLinesShown : 0; i < lines.size(); ++i)
        tail += "\n    | " + lines[i];
    throw DeployError(what + (hint.empty() ? "" : "\n  " + hint) +
                      (tail.empty() ? "\n    (the container wrote no log lines)" : "\n  its last log lines:" + tail));
}

Balancer::Balancer(engine::Engine& engine, Prober& prober, Clock& clock, util::Output& out, const stack::Stack& stack)
    : engine_(engine), prober_(prober), clock_(clock), out_(out), stack_(stack) {}

std::string Balancer::url(int port, const std::string& path) const {
    auto host = stack_.balancer.host_ip;
    if (host == "0.0.0.0") host = "127.0.0.1";
    if (host == "::") host = "::1";
    return http_url(host, port, path);
}

void Balancer::adopt(const std::string& id) {
    id_ = id;
    learn_running_config();
}

std::optional<render::RunningConfig> Balancer::read_control_page(const std::string& id) {
    const auto details = engine_.inspect_container(id);
    const auto it = details.ip_by_network.find(stack_.network);
    if (it == details.ip_by_network.end() || it->second.empty()) return std::nullopt;
    const auto answer = prober_.container_get(it->second, render::kBalancerControlPort, "/_mldeploy/config",
                                              std::chrono::milliseconds(1000));
    return answer.ok() ? render::parse_running_config(answer.body) : std::nullopt;
}

void Balancer::learn_running_config() {
    // The control page says which config runs, in one GET from this host...
    if ((running_ = read_control_page(*id_))) return;
    // ...unless the host does not reach the balancer's address (a rootless
    // engine) or its config is older than that page: the config's own header.
    const auto head = engine_.exec(*id_, {"sh", "-c", "head -c 4096 /etc/mldeploy/nginx.conf 2>/dev/null"});
    running_ = render::running_config_of(head.output);
}

std::string Balancer::start(engine::ContainerSpec spec, const BalancerFiles& files) {
    // The first config and stack.json go in with the create call
    // (kFirstFilesScript): copying a file into a container costs 0.3 s
    // (running) to 1 s (created) on Podman 4.3, which mounts its storage.
    const bool config_inline = files.config.size() <= kLargestConfigArgument;
    const bool stack_inline = config_inline && files.stack_json.size() <= kLargestConfigArgument;
    if (config_inline) {
        spec.env[kFirstConfigVariable] = files.config;
        if (stack_inline) spec.env[kFirstStackVariable] = files.stack_json;
        spec.command = {"sh", "-c", kFirstFilesScript};
    }
    const auto id = engine_.create_container(spec);
    const int port = spec.ports.empty() ? stack_.balancer.port : spec.ports.front().host_port;
    try {
        if (!config_inline || !stack_inline) {
            std::vector<util::TarEntry> entries{
                {"mldeploy/" + std::string(kDeployedStackFile), files.stack_json, 0600}};
            if (!config_inline) entries.push_back({"mldeploy/nginx.conf", files.config, 0644});
            engine_.put_archive(id, "/etc", util::tar_files(entries));
        }
        try {
            engine_.start_container(id);
        } catch (const engine::EngineError& e) {
            // The engine's step names the container by id; the user knows it by name.
            throw e.as_step(fmt::format("start balancer {} on {}:{}", spec.name, stack_.balancer.host_ip, port));
        }
        wait_answers(id, port);
    } catch (...) {
        try {
            engine_.remove_container(id);
        } catch (const std::exception&) {
        }
        throw;
    }
    return id;
}

void Balancer::use(const std::string& id, const BalancerFiles& files) {
    id_ = id;
    running_ = render::RunningConfig{files.marker, files.fingerprint};
}

void Balancer::adopt_starting(const std::string& name) {
    // The engine reserves the name a moment before the container can be
    // inspected (a concurrent run's create under way): wait for it to show.
    std::string id;
    for (int attempt = 0; id.empty(); ++attempt) {
        try {
            id = engine_.inspect_container(name).id;
        } catch (const engine::EngineError& e) {
            if (!e.not_found()) throw;
            if (attempt >= 100)
                throw DeployError(
                    fmt::format("another run is creating balancer {} and it did not appear: {}; run "
                                "`mldeploy up` again",
                                name, e.engine_message()));
            clock_.sleep_for(std::chrono::milliseconds(50));
        }
    }
    const auto deadline = clock_.now() + std::chrono::seconds(30);
    while (!engine_.inspect_container(id).running && clock_.now() < deadline)
        clock_.sleep_for(std::chrono::milliseconds(100));
    wait_answers(id, stack_.balancer.port);  // then it has its files
    adopt(id);
}

void Balancer::wait_answers(const std::string& id, int port) {
    const auto health = url(port, "/_mldeploy/health");
    const auto deadline = clock_.now() + std::chrono::seconds(30);
    ProbeResult probe;
    while (clock_.now() < deadline) {
        probe = prober_.host_get(health, std::chrono::milliseconds(1000));
        if (probe.ok()) return;
        clock_.sleep_for(std::chrono::milliseconds(50));
    }
    throw_with_logs(engine_, id,
                    fmt::format("the balancer did not answer on {} within 30s (last: {})", health,
                                probe.status ? std::to_string(probe.status) : probe.error));
}

int Balancer::sync(const BalancerFiles& files, const Drain& drain) {
    if (!id_) return 0;
    const bool config_changed = !running_ || running_->drain_marker != files.marker;
    const bool stack_changed = !running_ || running_->stack_fingerprint != files.fingerprint;
    int open = 0;
    if (config_changed) open = reload(files, drain);
    if (stack_changed)
        engine_.put_archive(*id_, "/etc",
                            util::tar_files({{std::string("mldeploy/") + kDeployedStackFile, files.stack_json, 0600}}));
    running_ = render::RunningConfig{files.marker, files.fingerprint};
    return open;
}

int Balancer::reload(const BalancerFiles& files, const Drain& drain) {
    const bool inline_config = files.config.size() <= kLargestConfigArgument;
    if (!inline_config)
        engine_.put_archive(*id_, render::kBalancerConfigDir,
                            util::tar_files({{"nginx.conf.next", files.config, 0644}}));
    std::vector<std::string> command{"sh",
                                     "-c",
                                     kReloadScript,
                                     "mldeploy-reload",
                                     inline_config ? files.config : std::string(),
                                     running_ ? running_->drain_marker : std::string(),
                                     seconds_text(kConnectionDrain),
                                     tenths(drain.budget)};
    for (const auto& a : drain.addresses) command.push_back(proc_net_tcp_address(a));
    if (!drain.addresses.empty())
        out_.note(fmt::format("draining {} (requests in flight may take up to {}s)", fmt::join(drain.addresses, ", "),
                              std::chrono::duration_cast<std::chrono::seconds>(drain.budget).count()));
    const auto result = engine_.exec(*id_, command);
    if (result.exit_code == kConfigRejected)
        throw DeployError("nginx rejected the balancer configuration (the balancer keeps its previous one):\n" +
                          result.output);
    if (result.exit_code != 0) throw DeployError("nginx could not reload its configuration:\n" + result.output);
    out_.detail("balancer reloaded");
    const auto said = last_line(result.output);
    if (said.rfind("open ", 0) == 0) {
        const int open = std::stoi(said.substr(5));
        out_.warn(fmt::format("drain budget of {}s spent with {} request(s) still in flight: they are cut",
                              std::chrono::duration_cast<std::chrono::seconds>(drain.budget).count(), open));
        return open;
    }
    return 0;
}

void Balancer::stop_gracefully(const std::string& id, std::chrono::milliseconds budget) {
    stop_balancer_gracefully(engine_, id, budget, out_);
}

void stop_balancer_gracefully(engine::Engine& engine, const std::string& id, std::chrono::milliseconds budget,
                              util::Output& out) {
    // The balancer's stop signal is SIGQUIT (plan::balancer_spec): nginx stops
    // accepting and exits once its requests in flight have ended; the engine
    // kills it only when the budget is spent. One call, no exec.
    const auto seconds = std::chrono::ceil<std::chrono::seconds>(budget).count();
    try {
        engine.stop_container(id, static_cast<int>(std::max<long long>(1, seconds)));
    } catch (const engine::EngineError& e) {
        if (!e.not_found()) out.warn(fmt::format("stopping the balancer: {}", e.engine_message()));
    }
}

}  // namespace mldeploy::deploy
