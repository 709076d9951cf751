// mldeploy exec [SERVICE] [-r N] -- CMD [ARGS...]: run a command in one replica
// through the engine's exec, its stdout and stderr passed on as they come, and
// exit with its exit status (as `docker exec` does: the engine's 126 or 127 when
// the command cannot be run). Words before `--` are mldeploy's, every word after
// it is the command's, so `mldeploy exec -- CMD` means the stack's one service.
// No stdin and no TTY: like `docker exec` without -i and -t.
#include "cmd/commands.hpp"
#include "plan/labels.hpp"
#include "plan/specs.hpp"
#include "stack/load.hpp"
#include "util/suggest.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <set>

namespace mldeploy::cmd {
namespace {

struct ExecOptions {
    std::string service;
    int replica = 1;
};

// The model services the user may name: the stack file's (when the command
// has one; a service scaled to 0 is still known) and those with containers.
std::vector<std::string> known_services(const GlobalOptions& g, const std::vector<engine::ContainerSummary>& models) {
    std::set<std::string> names;
    if (g.stack_name.empty())
        if (auto path = stack_file_path(g))
            for (const auto& s : stack::load_stack_file(*path).services) names.insert(s.name);
    for (const auto& c : models)
        if (auto it = c.labels.find(plan::label::service); it != c.labels.end()) names.insert(it->second);
    return {names.begin(), names.end()};
}

std::string pick_service(const std::string& stack, const std::string& given, const std::vector<std::string>& names) {
    if (given.empty()) {
        if (names.size() == 1) return names.front();
        if (names.empty()) throw UsageError(fmt::format("stack '{}' has no model service to run a command in", stack));
        throw UsageError(fmt::format("stack '{}' has several services; name one: mldeploy exec SERVICE -- CMD ({})",
                                     stack, fmt::join(names, ", ")));
    }
    if (std::find(names.begin(), names.end(), given) != names.end()) return given;
    const auto near = util::closest_match(given, names);
    throw UsageError(fmt::format("stack '{}' has no service '{}'{}", stack, given,
                                 near ? fmt::format("; did you mean '{}'?", *near) : ""));
}

int replica_of(const engine::ContainerSummary& c) {
    auto it = c.labels.find(plan::label::replica);
    if (it == c.labels.end()) return 0;
    try {
        return std::stoi(it->second);
    } catch (const std::exception&) {
        return 0;
    }
}

// The container of replica N: the running one, under its plain name first (a
// rolling update may hold a -next or -prev beside it).
const engine::ContainerSummary& pick_replica(const std::string& stack, const std::string& service, int replica,
                                             const std::vector<engine::ContainerSummary>& models) {
    std::vector<const engine::ContainerSummary*> slot;
    std::set<int> numbers;
    for (const auto& c : models) {
        auto it = c.labels.find(plan::label::service);
        if (it == c.labels.end() || it->second != service) continue;
        const int n = replica_of(c);
        if (n > 0) numbers.insert(n);
        if (n == replica) slot.push_back(&c);
    }
    if (slot.empty()) {
        if (numbers.empty())
            throw UsageError(fmt::format("service '{}' of stack '{}' has no replicas", service, stack));
        throw UsageError(fmt::format("service '{}' of stack '{}' has no replica {}; its replicas are {}", service,
                                     stack, replica, fmt::join(numbers, ", ")));
    }
    stack::Stack named;
    named.name = stack;
    const auto canonical = plan::replica_name(named, service, replica);
    const auto score = [&](const engine::ContainerSummary* c) {
        return (c->state == "running" ? 2 : 0) + (c->name == canonical ? 1 : 0);
    };
    const auto* best =
        *std::max_element(slot.begin(), slot.end(), [&](auto* a, auto* b) { return score(a) < score(b); });
    if (best->state != "running")
        throw std::runtime_error(fmt::format("replica {} of service '{}' ({}) is not running: {}", replica, service,
                                             best->name, best->state.empty() ? "unknown state" : best->state));
    return *best;
}

int run_exec(const GlobalOptions& g, const ExecOptions& o) {
    if (!g.command_args || g.command_args->empty())
        throw UsageError("give the command to run after `--`: mldeploy exec [SERVICE] [-r N] -- CMD [ARGS...]");

    auto engine = connect_engine(g);
    const auto name = resolve_stack_name(g, *engine);
    require_deployed(*engine, name);
    const auto models =
        engine->list_containers({{plan::label::stack, name}, {plan::label::role, plan::label::role_model}});
    const auto service = pick_service(name, o.service, known_services(g, models));
    const auto& target = pick_replica(name, service, o.replica, models);
    output().detail(fmt::format("running `{}` in {}", fmt::join(*g.command_args, " "), target.name));

    // Each piece is written and flushed as it comes: a progress line without
    // its newline shows at once, and the two streams keep their order.
    return engine->exec_output(target.id, *g.command_args, [](engine::LogStream s, std::string_view bytes) {
        std::FILE* f = s == engine::LogStream::stderr_ ? stderr : stdout;
        std::fwrite(bytes.data(), 1, bytes.size(), f);
        std::fflush(f);
    });
}

}  // namespace

Command exec_command() {
    Command c{"exec", "Run a command in a replica and exit with its status",
              [](CLI::App& app) -> Runner {
                  auto o = std::make_shared<ExecOptions>();
                  app.add_option("SERVICE", o->service, "The service (may be left out when the stack has one)");
                  app.add_option("-r,--replica", o->replica, "Which replica, from 1 (default: 1)")
                      ->check(CLI::Range(1, 1000));
                  return [o](const GlobalOptions& g) { return run_exec(g, *o); };
              },
              "mldeploy exec recommender -r 2 -- python3 -c 'import sys; print(sys.version)'",
              uses::file | uses::stack | uses::host};
    c.runs_command = true;
    c.usage = "[OPTIONS] [SERVICE] -- CMD [ARGS...]";
    return c;
}

}  // namespace mldeploy::cmd
