#include "deploy/controller.hpp"

#include "deploy/errors.hpp"
#include "deploy/probe.hpp"
#include "plan/labels.hpp"
#include "plan/specs.hpp"
#include "util/sha256.hpp"

#include <elf.h>
#include <link.h>

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <stdexcept>

namespace mldeploy::deploy {
namespace {

namespace fs = std::filesystem;

std::string read_whole(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path.string() + " for the controller's image");
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct Loaded {
    std::vector<std::string> paths;  // shared objects, as loaded
    std::string interpreter;         // the executable's PT_INTERP
};

int collect(struct dl_phdr_info* info, size_t /*size*/, void* data) {
    auto* loaded = static_cast<Loaded*>(data);
    const std::string name = info->dlpi_name == nullptr ? "" : info->dlpi_name;
    if (name.empty()) {
        // The executable itself: its interpreter names the dynamic loader.
        for (int i = 0; i < info->dlpi_phnum; ++i)
            if (info->dlpi_phdr[i].p_type == PT_INTERP)
                loaded->interpreter = reinterpret_cast<const char*>(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
        return 0;
    }
    if (name.starts_with('/')) loaded->paths.push_back(name);  // not linux-vdso.so.1
    return 0;
}

// What the process had loaded when it started: its DT_NEEDED libraries and
// theirs, before any dlopen (libarchive comes at the first tar, see
// util/archive_lazy.cpp), so that the payload, and so the image's tag, is the same
// whatever the command did before it asked.
const Loaded& loaded_at_start() {
    static const Loaded loaded = [] {
        Loaded l;
        dl_iterate_phdr(collect, &l);
        return l;
    }();
    return loaded;
}
[[maybe_unused]] const Loaded& startup_snapshot = loaded_at_start();  // taken before main()

// What was loaded at start, and libarchive with what it loads: the agent
// scales (autoscale), which makes and reads tars. libarchive is the only
// library mldeploy loads late, so the set is the same whatever ran before.
std::vector<std::string> payload_libraries() {
    util::load_archive_library();
    Loaded now;
    dl_iterate_phdr(collect, &now);
    std::vector<std::string> paths = loaded_at_start().paths;
    for (const auto& path : now.paths)
        if (std::find(paths.begin(), paths.end(), path) == paths.end()) paths.push_back(path);
    return paths;
}

}  // namespace

std::string controller_name(const stack::Stack& stack) { return stack.name + "-controller"; }

bool needs_controller(const stack::Stack& stack) { return stack.metrics.has_value() || stack.autoscales(); }

AgentPayload agent_payload() {
    const Loaded& loaded = loaded_at_start();
    if (loaded.interpreter.empty()) throw std::runtime_error("mldeploy has no dynamic loader (PT_INTERP) to copy");
    AgentPayload payload;
    const std::string dir = std::string(kAgentDir).substr(1);
    payload.files.push_back({dir + "/mldeploy", read_whole("/proc/self/exe"), 0755});
    payload.files.push_back({dir + "/ld.so", read_whole(loaded.interpreter), 0755});
    std::set<std::string> names;
    for (const auto& path : payload_libraries()) {
        if (fs::equivalent(path, loaded.interpreter)) continue;
        const auto name = fs::path(path).filename().string();
        if (names.insert(name).second) payload.files.push_back({dir + "/lib/" + name, read_whole(path), 0644});
    }
    std::string all;
    for (const auto& f : payload.files) all += util::sha256_hex(f.path) + util::sha256_hex(f.content);
    payload.hash = util::sha256_hex(all);
    return payload;
}

std::string ensure_agent_image(engine::Engine& engine, const std::string& base_image, util::Output& out) {
    auto payload = agent_payload();
    const auto base_id = engine.image_id(base_image).value_or(base_image);
    const auto tag = "localhost/mldeploy/agent:" + util::sha256_hex(payload.hash + base_id).substr(0, 16);
    if (engine.inspect_image(tag)) return tag;
    out.step(fmt::format("building the controller's image {} (once per mldeploy binary)", tag));
    payload.files.push_back(
        {"Containerfile", fmt::format("FROM {}\nCOPY opt/mldeploy {}\n", base_image, kAgentDir), 0644});
    engine::BuildRequest request;
    request.tag = tag;
    request.dockerfile = "Containerfile";
    request.context_tar = util::tar_files(payload.files);
    request.labels = {{"io.mldeploy.agent", payload.hash}};
    request.dockerfile_label = "(the controller's Containerfile)";
    request.dockerfile_text = payload.files.back().content;
    engine.build_image(request, [](std::string_view) {});
    out.done("built " + tag);
    return tag;
}

engine::ContainerSpec controller_spec(const stack::Stack& stack, const std::string& image, const std::string& image_id,
                                      const std::string& engine_socket) {
    const std::string dir = kAgentDir;
    engine::ContainerSpec spec;
    spec.name = controller_name(stack);
    spec.image = image;
    // The copied loader runs the binary on the copied libraries, whatever the base image holds.
    spec.command = {dir + "/ld.so",
                    "--library-path",
                    dir + "/lib",
                    dir + "/mldeploy",
                    "agent",
                    "-s",
                    stack.name,
                    "--port",
                    std::to_string(kAgentPort),
                    "-H",
                    std::string("unix://") + kAgentEngineSocket};
    spec.network = stack.network;
    spec.restart_policy = "always";
    spec.mounts.push_back({engine_socket, kAgentEngineSocket, {}, true});
    // Without [metrics] (autoscaling only) nothing is published: the agent's
    // pages stay on the stack's network.
    if (stack.metrics) spec.ports.push_back({stack.metrics->host_ip, stack.metrics->port, kAgentPort, "tcp"});
    spec.stop_timeout_s = 2;
    spec.labels = plan::stack_labels(stack);
    spec.labels[plan::label::role] = plan::label::role_controller;
    if (stack.autoscales()) {
        // The flag is in the command, and so in the config hash: adding autoscale
        // to a measuring stack makes a controller that scales (and `ps` asks).
        spec.command.push_back("--autoscale");
        spec.labels[plan::label::autoscale] = "1";
    }
    if (stack.metrics) spec.labels[plan::label::port] = std::to_string(stack.metrics->port);
    spec.labels[plan::label::config_hash] = plan::config_hash_of(spec, image_id);
    return spec;
}

std::string metrics_url(const stack::Metrics& metrics) {
    std::string host = metrics.host_ip;
    if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
    if (host == "::") host = "::1";
    return http_url(host, metrics.port, "/metrics");
}

namespace {

// A real GET from the host, for when up passes no prober.
class DirectGet : public Prober {
public:
    ProbeResult container_get(const std::string& address, int port, const std::string& path,
                              std::chrono::milliseconds timeout) override {
        return http_get(http_url(address, port, path), timeout);
    }
    ProbeResult host_get(const std::string& url, std::chrono::milliseconds timeout) override {
        return http_get(url, timeout);
    }
};

// Polls /metrics until it answers 200; a published port may accept (docker-proxy,
// rootlessport) before the agent listens, so only an HTTP answer counts.
void wait_until_serving(engine::Engine& engine, const std::string& id, const std::string& name, const std::string& url,
                        const ControllerWait& wait, util::Output& out) {
    DirectGet direct;
    Prober& prober = wait.prober ? *wait.prober : direct;
    Clock& clock = wait.clock ? *wait.clock : system_clock();
    const auto deadline = clock.now() + wait.budget;
    ProbeResult last;
    for (;;) {
        last = prober.host_get(url, std::chrono::milliseconds(1000));
        if (last.status == 200) return;
        if (clock.now() >= deadline) break;
        clock.sleep_for(std::chrono::milliseconds(100));
    }
    std::string said = last.status ? fmt::format("HTTP {}", last.status) : last.error;
    std::string logs;
    try {
        engine.logs(id, engine::Engine::LogOptions{false, 10, std::nullopt, false},
                    [&](engine::LogStream, std::string_view line) { logs += "\n    " + std::string(line); });
    } catch (const std::exception&) {
        // The warning below stands without the log lines.
    }
    out.warn(fmt::format("controller {} does not answer on {} yet ({}); `mldeploy logs {}` shows why{}", name, url,
                         said, name, logs.empty() ? "" : ". Its last lines:" + logs));
}

}  // namespace

void sync_controller(engine::Engine& engine, const stack::Stack& stack, util::Output& out, const ControllerWait& wait) {
    const auto existing =
        engine.list_containers({{plan::label::stack, stack.name}, {plan::label::role, plan::label::role_controller}});
    if (!needs_controller(stack)) {
        for (const auto& c : existing) {
            engine.remove_container(c.id);
            out.done("removed " + c.name + " (no [metrics], no autoscale)");
        }
        return;
    }
    const auto image = ensure_agent_image(engine, stack.balancer.image, out);
    const auto image_id = engine.image_id(image).value_or("");
    const auto spec = controller_spec(stack, image, image_id, engine.info().socket);
    bool kept = false;
    for (const auto& c : existing) {
        const auto hash = c.labels.find(plan::label::config_hash);
        if (!kept && c.state == "running" && c.name == spec.name && hash != c.labels.end() &&
            hash->second == spec.labels.at(plan::label::config_hash)) {
            kept = true;
            continue;
        }
        engine.remove_container(c.id);
        out.done("removed " + c.name);
    }
    if (kept) return;
    const auto serves = stack.metrics ? fmt::format("metrics on {}:{}", stack.metrics->host_ip, stack.metrics->port)
                                      : std::string("autoscaling");
    out.step(fmt::format("starting controller {} ({})", spec.name, serves));
    const auto id = engine.create_container(spec);
    try {
        engine.start_container(id);
    } catch (...) {
        engine.remove_container(id);
        throw;
    }
    if (stack.metrics) {
        wait_until_serving(engine, id, spec.name, metrics_url(*stack.metrics), wait, out);
        out.done(fmt::format("controller {} serves http://{}:{}/metrics", spec.name, stack.metrics->host_ip,
                             stack.metrics->port));
    } else
        out.done(fmt::format("controller {} autoscales", spec.name));
}

}  // namespace mldeploy::deploy
