#include "cmd/context.hpp"

#include "engine/discovery.hpp"
#include "plan/labels.hpp"
#include "stack/load.hpp"
#include "util/suggest.hpp"

#include <fmt/format.h>

#include <mutex>
#include <set>

namespace mldeploy::cmd {

std::optional<std::filesystem::path> stack_file_path(const GlobalOptions& g, const std::string& positional) {
    if (!positional.empty() && !g.file.empty() && positional != g.file)
        throw UsageError(fmt::format("two stack files given: '{}' and -f '{}'; give one", positional, g.file));
    if (!positional.empty()) return positional;
    if (!g.file.empty()) return g.file;
    if (std::filesystem::exists("stack.toml")) return std::filesystem::path("stack.toml");
    return std::nullopt;
}

stack::Stack load_stack(const GlobalOptions& g, const std::string& positional) {
    auto path = stack_file_path(g, positional);
    if (!path) throw UsageError("no stack file: give one as an argument or with -f, or run where stack.toml is");
    auto stack = stack::load_stack_file(*path);
    if (!g.stack_name.empty() && g.stack_name != stack.name)
        throw UsageError(
            fmt::format("-s '{}' does not match the name '{}' in {}", g.stack_name, stack.name, path->string()));
    return stack;
}

std::unique_ptr<engine::Engine> connect_engine(const GlobalOptions& g) {
    engine::set_private_service_notice([](const std::string& socket) {
        output().step(
            fmt::format("no engine socket answered: started a private `podman system service` on "
                        "unix://{} (it exits after {}s idle; your containers keep running)",
                        socket, engine::kPrivateServiceIdleSeconds));
    });
    try {
        engine::socket_candidates(g.host);
    } catch (const std::invalid_argument& e) {
        throw UsageError((g.host.empty() ? std::string("engine host from the environment: ") : std::string("-H: ")) +
                         e.what());
    }
    auto engine = engine::connect(g.host, g.engine.empty() ? std::nullopt : std::optional<std::string>(g.engine));
    // Each replica's create repeats the same warning: say it once.
    engine->set_warning_sink([seen = std::make_shared<std::set<std::string>>(),
                              mutex = std::make_shared<std::mutex>()](const std::string& warning) {
        std::lock_guard lock(*mutex);
        if (seen->insert(warning).second) output().warn("the engine says: " + warning);
    });
    return engine;
}

namespace {

// Every stack that has a container or a network on the engine.
std::set<std::string> deployed_stacks(engine::Engine& engine) {
    std::set<std::string> names;
    for (const auto& c : engine.list_containers({{plan::label::stack, ""}})) {
        auto it = c.labels.find(plan::label::stack);
        if (it != c.labels.end()) names.insert(it->second);
    }
    for (const auto& n : engine.list_networks({{plan::label::stack, ""}})) {
        auto it = n.labels.find(plan::label::stack);
        if (it != n.labels.end()) names.insert(it->second);
    }
    return names;
}

std::string engine_text(engine::Engine& engine) {
    try {
        const auto info = engine.info();
        return fmt::format("{} (unix://{})", info.flavour, info.socket);
    } catch (const std::exception&) {
        return "the engine";
    }
}

}  // namespace

void require_deployed(engine::Engine& engine, const std::string& name) {
    const engine::Labels filter{{plan::label::stack, name}};
    if (!engine.list_containers(filter).empty() || !engine.list_networks(filter).empty()) return;
    const auto names = deployed_stacks(engine);
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    throw UsageError(fmt::format("stack '{}' is not deployed on {}; deployed stacks: {}", name, engine_text(engine),
                                 list.empty() ? "none" : list));
}

std::string resolve_stack_name(const GlobalOptions& g, engine::Engine& engine, IfNotDeployed if_not_deployed) {
    if (!g.stack_name.empty()) {
        if (if_not_deployed == IfNotDeployed::fail) require_deployed(engine, g.stack_name);
        return g.stack_name;
    }
    if (auto path = stack_file_path(g)) return stack::load_stack_file(*path).name;
    const auto names = deployed_stacks(engine);
    if (names.size() == 1) return *names.begin();
    if (names.empty())
        throw UsageError("no stack file here and no stack deployed on the engine; give -f FILE or -s NAME");
    std::string list;
    for (const auto& n : names) list += "\n  " + n;
    throw UsageError("several stacks are deployed; say which with -s NAME:" + list);
}

std::string resolve_service(const stack::Stack& stack, const std::string& given) {
    if (given.empty()) {
        if (stack.services.size() == 1) return stack.services.front().name;
        std::string list;
        for (const auto& s : stack.services) list += " " + s.name;
        throw UsageError(fmt::format("stack '{}' has several services; name one:{}", stack.name, list));
    }
    if (stack.find_service(given)) return given;
    std::vector<std::string> names;
    for (const auto& s : stack.services) names.push_back(s.name);
    auto near = util::closest_match(given, names);
    throw UsageError(fmt::format("stack '{}' has no service '{}'{}", stack.name, given,
                                 near ? fmt::format("; did you mean '{}'?", *near) : ""));
}

util::Output& output() { return util::Output::global(); }

}  // namespace mldeploy::cmd
