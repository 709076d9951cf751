#include "fakes.hpp"

#include "plan/labels.hpp"
#include "render/nginx.hpp"
#include "util/tar.hpp"
#include "util/untar.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <thread>

namespace mldeploy::test {
namespace {

const std::set<std::string> kMutating{"create_network", "remove_network",   "create_container", "start_container",
                                      "stop_container", "remove_container", "rename_container", "put_archive",
                                      "exec",           "build_image",      "pull_image",       "push_image",
                                      "tag_image"};

bool labels_match(const engine::Labels& labels, const engine::Labels& filter) {
    return std::all_of(filter.begin(), filter.end(), [&](const auto& kv) {
        auto it = labels.find(kv.first);
        return it != labels.end() && it->second == kv.second;
    });
}

// sh -c SCRIPT TAG ...: TAG; sh -c "WORD ...": WORD; else the first word.
std::string exec_tag(const std::vector<std::string>& command) {
    if (command.size() >= 3 && command[0] == "sh" && command[1] == "-c") {
        if (command.size() >= 4) return command[3];
        return command[2].substr(0, command[2].find(' '));
    }
    return command.empty() ? std::string() : command[0];
}

constexpr const char* kConfigDir = "/etc/mldeploy/";

}  // namespace

FakeEngine::Later::~Later() {
    for (auto& action : actions) {
        try {
            action();
        } catch (...) {
        }
    }
}

void FakeEngine::enter(Later& later, const std::string& method, const std::string& target, const std::string& id,
                       std::vector<std::string> args) {
    calls_.push_back({method, target, std::move(args)});
    for (auto it = actions_.begin(); it != actions_.end();) {
        if (it->method == method && (it->target == target || (!id.empty() && it->target == id))) {
            later.actions.push_back(std::move(it->action));
            it = actions_.erase(it);
        } else {
            ++it;
        }
    }
    for (auto it = failures_.begin(); it != failures_.end(); ++it) {
        if (it->method != method || (it->target != target && (id.empty() || it->target != id))) continue;
        const auto failure = *it;
        if (--it->times == 0) failures_.erase(it);
        throw engine::EngineError(method + " " + target, failure.status, failure.message);
    }
}

FakeEngine::Container* FakeEngine::find(const std::string& name_or_id) {
    for (auto& c : containers_)
        if (c.id == name_or_id) return &c;
    for (auto& c : containers_)
        if (c.name == name_or_id) return &c;
    return nullptr;
}

const FakeEngine::Container* FakeEngine::find(const std::string& name_or_id) const {
    return const_cast<FakeEngine*>(this)->find(name_or_id);
}

FakeEngine::Container& FakeEngine::get(const std::string& name_or_id, const std::string& step) {
    if (auto* c = find(name_or_id)) return *c;
    throw engine::EngineError(step + " " + name_or_id, 404,
                              "no container with name or ID \"" + name_or_id + "\" found");
}

std::string FakeEngine::assign_ip() { return "10.89.0." + std::to_string(next_ip_++); }

// Scripting

void FakeEngine::add_image(const std::string& reference, const std::string& id, engine::Labels labels) {
    Lock lock(mutex_);
    images_[reference] = engine::ImageDetails{id, std::move(labels)};
}

void FakeEngine::add_network(const std::string& name, engine::Labels labels) {
    Lock lock(mutex_);
    networks_[name] = std::move(labels);
}

std::string FakeEngine::add_running_container(const engine::ContainerSpec& spec) {
    Lock lock(mutex_);
    Container c;
    c.id = fmt::format("cid-{:04}", next_id_++);
    c.name = spec.name;
    c.image = spec.image;
    c.labels = spec.labels;
    c.env = spec.env;
    c.network = spec.network;
    c.ports = spec.ports;
    c.state = "running";
    c.ip = assign_ip();
    if (const auto it = behaviors_.find(spec.name); it != behaviors_.end()) c.behavior = it->second;
    containers_.push_back(c);
    return c.id;
}

void FakeEngine::script(const std::string& name, Behavior behavior) {
    Lock lock(mutex_);
    behaviors_[name] = std::move(behavior);
}

void FakeEngine::fail_next(const std::string& method, const std::string& target, int status, const std::string& message,
                           int times) {
    Lock lock(mutex_);
    failures_.push_back({method, target, status, message, times});
}

void FakeEngine::take_host_port(int port) {
    Lock lock(mutex_);
    taken_ports_.push_back(port);
}

void FakeEngine::on_exec(const std::string& tag, engine::ExecResult result) {
    Lock lock(mutex_);
    exec_results_[tag] = std::move(result);
}

void FakeEngine::after(const std::string& method, const std::string& target, std::function<void()> action) {
    Lock lock(mutex_);
    actions_.push_back({method, target, std::move(action)});
}

void FakeEngine::kill(const std::string& name_or_id, int exit_code) {
    Lock lock(mutex_);
    auto& c = get(name_or_id, "kill");
    c.state = "exited";
    c.exit_code = exit_code;
    state_cv_.notify_all();
}

void FakeEngine::expect_parallel_starts(int n) {
    Lock lock(mutex_);
    parallel_starts_wanted_ = n;
    parallel_gate_left_ = n;
    gate_arrived_ = 0;
}

// Reading back

std::vector<Call> FakeEngine::calls() const {
    Lock lock(mutex_);
    return calls_;
}

std::vector<Call> FakeEngine::mutating_calls() const {
    std::vector<Call> out;
    for (auto& c : calls())
        if (kMutating.contains(c.method)) out.push_back(c);
    return out;
}

std::optional<FakeEngine::Container> FakeEngine::container(const std::string& name_or_id) const {
    Lock lock(mutex_);
    if (const auto* c = find(name_or_id)) return *c;
    return std::nullopt;
}

std::vector<FakeEngine::Container> FakeEngine::containers() const {
    Lock lock(mutex_);
    return containers_;
}

bool FakeEngine::has_network(const std::string& name) const {
    Lock lock(mutex_);
    return networks_.contains(name);
}

std::string FakeEngine::ip_of(const std::string& name_or_id) const {
    Lock lock(mutex_);
    const auto* c = find(name_or_id);
    return c ? c->ip : std::string();
}

std::string FakeEngine::name_of_ip(const std::string& ip) const {
    Lock lock(mutex_);
    for (const auto& c : containers_)
        if (c.ip == ip) return c.name;
    return {};
}

int FakeEngine::max_parallel_starts() const {
    Lock lock(mutex_);
    return max_starts_in_flight_;
}

bool FakeEngine::publishes(int port) const {
    Lock lock(mutex_);
    return std::any_of(containers_.begin(), containers_.end(), [&](const Container& c) {
        return c.state == "running" &&
               std::any_of(c.ports.begin(), c.ports.end(), [&](auto& p) { return p.host_port == port; });
    });
}

// engine::Engine

engine::EngineInfo FakeEngine::info() {
    Later later;
    Lock lock(mutex_);
    enter(later, "info", "");
    return {"podman", "4.3.1", "4.3.1", "/run/fake.sock"};
}

std::optional<engine::ImageDetails> FakeEngine::inspect_image(const std::string& reference) {
    Later later;
    Lock lock(mutex_);
    enter(later, "inspect_image", reference);
    auto it = images_.find(reference);
    if (it == images_.end()) return std::nullopt;
    return it->second;
}

std::string FakeEngine::build_image(const engine::BuildRequest& request, const engine::ProgressSink&) {
    Later later;
    Lock lock(mutex_);
    enter(later, "build_image", request.tag);
    auto id = fmt::format("sha256:built{:04}", next_id_++);
    images_[request.tag] = engine::ImageDetails{id, request.labels};
    return id;
}

void FakeEngine::tag_image(const std::string& image, const std::string& reference) {
    Later later;
    Lock lock(mutex_);
    enter(later, "tag_image", reference);
    for (const auto& [name, details] : images_) {
        if (name != image && details.id != image) continue;
        const auto copy = details;
        images_[reference] = copy;
        return;
    }
    throw engine::EngineError("tag " + reference, 404, "no such image: " + image);
}

void FakeEngine::pull_image(const std::string& reference, const engine::ProgressSink&) {
    Later later;
    Lock lock(mutex_);
    enter(later, "pull_image", reference);
    images_[reference] = engine::ImageDetails{fmt::format("sha256:pulled{:04}", next_id_++), {}};
}

void FakeEngine::push_image(const std::string& reference, const std::optional<engine::RegistryAuth>& auth,
                            const engine::ProgressSink&) {
    Later later;
    Lock lock(mutex_);
    enter(later, "push_image", reference, {}, {auth ? auth->username : std::string()});
    if (images_.count(reference) == 0)
        throw engine::EngineError("push " + reference, engine::ErrorKind::not_found, 404,
                                  "An image does not exist locally with the tag: " + reference);
}

std::vector<engine::NetworkSummary> FakeEngine::list_networks(const engine::Labels& label_filter) {
    Later later;
    Lock lock(mutex_);
    enter(later, "list_networks", "");
    std::vector<engine::NetworkSummary> out;
    for (const auto& [name, labels] : networks_)
        if (labels_match(labels, label_filter)) out.push_back({name, "net-" + name, labels});
    return out;
}

void FakeEngine::create_network(const std::string& name, const engine::Labels& labels) {
    Later later;
    Lock lock(mutex_);
    enter(later, "create_network", name);
    if (networks_.contains(name))
        throw engine::EngineError("create network " + name, 409, "network name " + name + " already used");
    networks_[name] = labels;
}

void FakeEngine::remove_network(const std::string& name) {
    Later later;
    Lock lock(mutex_);
    enter(later, "remove_network", name);
    // By name or by id ("net-<name>", as list_networks gives it), as the engines take either.
    networks_.erase(name.starts_with("net-") && !networks_.contains(name) ? name.substr(4) : name);
}

std::vector<engine::ContainerSummary> FakeEngine::list_containers(const engine::Labels& label_filter) {
    Later later;
    Lock lock(mutex_);
    enter(later, "list_containers", "");
    std::vector<engine::ContainerSummary> out;
    for (const auto& c : containers_)
        if (labels_match(c.labels, label_filter))
            out.push_back({c.id, c.name, c.image, c.state, "", c.labels, c.ports});
    return out;
}

std::string FakeEngine::create_container(const engine::ContainerSpec& spec) {
    Later later;
    Lock lock(mutex_);
    enter(later, "create_container", spec.name);
    if (find(spec.name) != nullptr)
        throw engine::EngineError("create container " + spec.name, 409,
                                  "the container name \"" + spec.name + "\" is already in use");
    const auto image = images_.find(spec.image);
    if (image == images_.end())
        throw engine::EngineError("create container " + spec.name, 404, spec.image + ": image not known");
    if (!spec.network.empty() && !networks_.contains(spec.network))
        throw engine::EngineError("create container " + spec.name, 404, "unable to find network " + spec.network);
    Container c;
    c.id = fmt::format("cid-{:04}", next_id_++);
    c.name = spec.name;
    c.image = spec.image;
    c.image_id = image->second.id;
    c.labels = spec.labels;
    c.env = spec.env;
    c.command = spec.command;
    c.network = spec.network;
    c.ports = spec.ports;
    c.devices = spec.devices;
    c.gpus = spec.gpus;
    if (auto it = behaviors_.find(spec.name); it != behaviors_.end()) c.behavior = it->second;
    containers_.push_back(c);
    return c.id;
}

void FakeEngine::start_container(const std::string& id) {
    Later later;
    Lock lock(mutex_);
    const auto* known = find(id);
    enter(later, "start_container", known ? known->name : id, id);
    auto* c = &get(id, "start container");
    if (c->state == "running") return;
    const auto name = c->name;
    const auto behavior = c->behavior;
    if (behavior.start_error) throw engine::EngineError("start container " + id, 500, *behavior.start_error);
    for (const auto& p : c->ports) {
        const bool taken = std::find(taken_ports_.begin(), taken_ports_.end(), p.host_port) != taken_ports_.end() ||
                           std::any_of(containers_.begin(), containers_.end(), [&](const Container& other) {
                               return other.id != id && other.state == "running" &&
                                      std::any_of(other.ports.begin(), other.ports.end(),
                                                  [&](auto& q) { return q.host_port == p.host_port; });
                           });
        if (taken)
            throw engine::EngineError(
                "start container " + id, 500,
                fmt::format("rootlessport listen tcp {}:{}: bind: address already in use", p.host_ip, p.host_port));
    }
    ++starts_in_flight_;
    max_starts_in_flight_ = std::max(max_starts_in_flight_, starts_in_flight_);
    if (parallel_gate_left_ > 0) {
        // Held until the other gated starts arrive: only starts made at once all pass quickly.
        --parallel_gate_left_;
        ++gate_arrived_;
        starts_cv_.notify_all();
        starts_cv_.wait_for(lock, std::chrono::seconds(5), [&] { return gate_arrived_ >= parallel_starts_wanted_; });
    }
    --starts_in_flight_;
    if (behavior.start_delay.count() > 0 && clock_ != nullptr) clock_->advance(behavior.start_delay);
    c = &get(id, "start container");  // the vector may have grown while waiting
    c->state = "running";
    c->exit_code = 0;
    c->inspects_since_start = 0;
    if (c->ip.empty()) c->ip = assign_ip();
    if (behavior.exit_after_inspects == 0) {
        c->state = "exited";
        c->exit_code = behavior.exit_code;
    }
    // A new balancer's command writes its first files (balancer.cpp, kFirstFilesScript).
    for (const auto& [variable, file] :
         {std::pair{"MLDEPLOY_FIRST_NGINX_CONF", "nginx.conf"}, std::pair{"MLDEPLOY_FIRST_STACK_JSON", "stack.json"}}) {
        auto it = c->env.find(variable);
        if (it != c->env.end() && !c->files.contains(std::string(kConfigDir) + file))
            c->files[std::string(kConfigDir) + file] = it->second;
    }
}

void FakeEngine::stop_container(const std::string& id, int timeout_s) {
    Later later;
    Lock lock(mutex_);
    const auto* known = find(id);
    enter(later, "stop_container", known ? known->name : id, id, {std::to_string(timeout_s)});
    auto& c = get(id, "stop container");
    if (c.state == "running") {
        c.state = "exited";
        c.exit_code = 0;
    }
    state_cv_.notify_all();
}

void FakeEngine::remove_container(const std::string& id) {
    Later later;
    Lock lock(mutex_);
    const auto* known = find(id);
    enter(later, "remove_container", known ? known->name : id, id);
    std::erase_if(containers_, [&](const Container& c) { return c.id == id || c.name == id; });
    state_cv_.notify_all();
}

int FakeEngine::wait_container(const std::string& id) {
    Later later;
    Lock lock(mutex_);
    const auto* known = find(id);
    enter(later, "wait_container", known ? known->name : id, id);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (;;) {
        auto& c = get(id, "wait for container");
        if (c.state == "running" && c.behavior.exit_after_inspects) {
            c.state = "exited";
            c.exit_code = c.behavior.exit_code;
        }
        if (c.state != "running") return c.exit_code;
        if (state_cv_.wait_until(lock, deadline) == std::cv_status::timeout)
            throw engine::EngineError("wait for container " + id, engine::ErrorKind::transport, 0,
                                      "the fake container never stopped");
    }
}

void FakeEngine::rename_container(const std::string& id, const std::string& new_name) {
    Later later;
    Lock lock(mutex_);
    const auto* known = find(id);
    enter(later, "rename_container", known ? known->name : id, id, {new_name});
    auto& c = get(id, "rename container");
    const auto* other = find(new_name);
    if (other != nullptr && other->id != c.id)
        throw engine::EngineError("rename container " + id, 409, "name \"" + new_name + "\" is in use");
    c.name = new_name;
}

engine::ContainerDetails FakeEngine::inspect_container(const std::string& id) {
    Later later;
    Lock lock(mutex_);
    const auto* known = find(id);
    enter(later, "inspect_container", known ? known->name : id, id);
    auto& c = get(id, "inspect container");
    if (c.state == "running") {
        ++c.inspects_since_start;
        if (c.behavior.exit_after_inspects && c.inspects_since_start > *c.behavior.exit_after_inspects) {
            c.state = "exited";
            c.exit_code = c.behavior.exit_code;
        }
    }
    engine::ContainerDetails d;
    d.id = c.id;
    d.name = c.name;
    d.state = c.state;
    d.running = c.state == "running";
    d.exit_code = c.exit_code;
    d.image_id = c.image_id;
    d.labels = c.labels;
    if (d.running && !c.network.empty()) d.ip_by_network[c.network] = c.ip;
    d.env = c.env;
    return d;
}

void FakeEngine::put_archive(const std::string& id, const std::string& dir, const std::string& tar) {
    Later later;
    Lock lock(mutex_);
    const auto* known = find(id);
    enter(later, "put_archive", known ? known->name : id, id, {dir});
    auto& c = get(id, "put archive");
    // Only the balancer's files are ever copied in: keep them by base name.
    for (const char* name : {"stack.json", "nginx.conf", "nginx.conf.next"})
        if (auto content = util::untar_file(tar, name)) c.files[kConfigDir + std::string(name)] = *content;
}

std::string FakeEngine::get_archive(const std::string& id, const std::string& path) {
    Later later;
    Lock lock(mutex_);
    const auto* known = find(id);
    enter(later, "get_archive", known ? known->name : id, id, {path});
    auto& c = get(id, "get archive");
    auto it = c.files.find(path);
    if (it == c.files.end()) throw engine::EngineError("get archive " + path, 404, "stat " + path + ": no such file");
    return util::tar_files({{path.substr(path.rfind('/') + 1), it->second, 0600}});
}

engine::ExecResult FakeEngine::exec(const std::string& id, const std::vector<std::string>& command) {
    Later later;
    Lock lock(mutex_);
    const auto* known = find(id);
    enter(later, "exec", known ? known->name : id, id, command);
    auto& c = get(id, "exec");
    if (c.state != "running")
        throw engine::EngineError("exec in " + c.name, 409, "can only create exec sessions on running containers");
    const auto tag = exec_tag(command);
    engine::ExecResult result;
    if (tag == "mldeploy-reload") result.output = "drained\n";
    if (tag == "head") {
        auto it = c.files.find(std::string(kConfigDir) + "nginx.conf");
        if (it != c.files.end()) result.output = it->second.substr(0, 4096);
    }
    if (auto it = exec_results_.find(tag); it != exec_results_.end()) result = it->second;
    if (result.exit_code != 0) return result;
    if (tag == "mldeploy-reload" && command.size() > 4) {
        const std::string conf_path = std::string(kConfigDir) + "nginx.conf";
        if (!command[4].empty()) {
            c.files[conf_path] = command[4];
        } else if (auto next = c.files.find(conf_path + ".next"); next != c.files.end()) {
            c.files[conf_path] = next->second;
            c.files.erase(next);
        }
    }
    return result;
}

int FakeEngine::exec_stream(const std::string& id, const std::vector<std::string>& command,
                            const engine::LogSink& sink) {
    const auto result = exec(id, command);
    std::string_view rest(result.output);
    while (!rest.empty()) {
        const auto end = rest.find('\n');
        sink(engine::LogStream::stdout_, rest.substr(0, end));
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    }
    return result.exit_code;
}

void FakeEngine::logs(const std::string& id, const LogOptions& options, const engine::LogSink& sink) {
    const auto& tail = options.tail;
    std::vector<std::string> lines;
    {
        Later later;
        Lock lock(mutex_);
        const auto* known = find(id);
        enter(later, "logs", known ? known->name : id, id);
        lines = get(id, "logs").behavior.log_lines;
    }
    const std::size_t skip = tail && static_cast<std::size_t>(*tail) < lines.size() ? lines.size() - *tail : 0;
    for (std::size_t i = skip; i < lines.size(); ++i) sink(engine::LogStream::stdout_, lines[i]);
}

// FakeClock

FakeClock::time_point FakeClock::now() {
    std::lock_guard lock(mutex_);
    return now_;
}

void FakeClock::sleep_for(std::chrono::milliseconds duration) {
    std::lock_guard lock(mutex_);
    now_ += duration;
    slept_ += duration;
}

std::chrono::milliseconds FakeClock::slept() const {
    std::lock_guard lock(mutex_);
    return slept_;
}

// FakeProber

void FakeProber::script(const std::string& container_name, Script script) {
    std::lock_guard lock(mutex_);
    scripts_[container_name] = std::move(script);
}

void FakeProber::never_healthy(const std::string& container_name, int status) {
    Script s;
    s.never = true;
    s.before = {status, "", "not ready"};
    script(container_name, s);
}

void FakeProber::never_answers(const std::string& container_name) {
    Script s;
    s.never = true;
    script(container_name, s);
}

void FakeProber::script_url(const std::string& url, deploy::ProbeResult result) {
    std::lock_guard lock(mutex_);
    urls_[url] = std::move(result);
}

int FakeProber::calls_for(const std::string& container_name) const {
    std::lock_guard lock(mutex_);
    auto it = calls_.find(container_name);
    return it == calls_.end() ? 0 : it->second;
}

deploy::ProbeResult FakeProber::container_get(const std::string& address, int port, const std::string& path,
                                              std::chrono::milliseconds) {
    const auto name = engine_.name_of_ip(address);
    const auto key = name.empty() ? address : name;
    std::function<bool()> wait_until;
    {
        std::lock_guard lock(mutex_);
        if (auto it = scripts_.find(key); it != scripts_.end()) wait_until = it->second.wait_until;
    }
    if (wait_until) {
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (!wait_until() && std::chrono::steady_clock::now() < give_up)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    {
        std::lock_guard lock(mutex_);
        const int n = ++calls_[key];
        if (auto it = scripts_.find(key); it != scripts_.end())
            return it->second.never || n <= it->second.healthy_after ? it->second.before : it->second.after;
    }
    const auto c = name.empty() ? std::nullopt : engine_.container(name);
    if (!c || c->state != "running") return {0, "connection refused", ""};
    const auto role = c->labels.find(plan::label::role);
    if (role != c->labels.end() && role->second == plan::label::role_balancer) {
        if (port != render::kBalancerControlPort || path != "/_mldeploy/config") return {0, "connection refused", ""};
        auto conf = c->files.find(std::string(kConfigDir) + "nginx.conf");
        if (conf == c->files.end()) return {404, "", ""};
        auto running = render::running_config_of(conf->second);
        if (!running) return {404, "", ""};
        return {200, "", running->drain_marker + " " + running->stack_fingerprint + "\n"};
    }
    return {200, "", "ok"};
}

deploy::ProbeResult FakeProber::host_get(const std::string& url, std::chrono::milliseconds) {
    {
        std::lock_guard lock(mutex_);
        if (auto it = urls_.find(url); it != urls_.end()) return it->second;
    }
    // http://host:port/path
    const auto authority_end = url.find('/', url.find("://") + 3);
    const auto colon = url.rfind(':', authority_end);
    const int port = std::stoi(url.substr(colon + 1, authority_end - colon - 1));
    if (engine_.publishes(port)) return {200, "", "ok"};
    return {0, "connection refused", ""};
}

}  // namespace mldeploy::test
