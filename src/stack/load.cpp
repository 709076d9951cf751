#include "stack/load.hpp"

#include "stack/checks.hpp"
#include "stack/dotenv.hpp"
#include "stack/keys.hpp"
#include "stack/reader.hpp"
#include "stack/rules.hpp"
#include "stack/sections.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace mldeploy::stack {
namespace {

namespace fs = std::filesystem;
using namespace detail;

[[noreturn]] void fail(const std::string& file_label, int line, int column, std::string message) {
    throw StackError({Diagnostic{{file_label, line, column}, std::move(message)}});
}

// Line `line` (1-based) of `text`, without its end of line.
std::string_view line_of(std::string_view text, std::size_t line) {
    for (std::size_t n = 1; n < line; ++n) {
        auto end = text.find('\n');
        if (end == std::string_view::npos) return {};
        text.remove_prefix(end + 1);
    }
    auto line_text = text.substr(0, text.find('\n'));
    if (!line_text.empty() && line_text.back() == '\r') line_text.remove_suffix(1);
    return line_text;
}

// TOML cannot parse `port = ${PORT}` (a variable written as in a shell or Compose
// file): toml++ only says "could not determine value type". When the line holds an
// unquoted "${", say how to write it: the same line with the reference quoted.
std::string unquoted_variable_hint(std::string_view line, std::size_t column) {
    std::size_t open = line.find("${", column == 0 ? 0 : column - 1);
    if (open == std::string_view::npos) open = line.find("${");
    if (open == std::string_view::npos) return "";
    if (std::count(line.begin(), line.begin() + static_cast<std::ptrdiff_t>(open), '"') % 2 != 0) return "";
    std::size_t close = line.find('}', open);
    if (close == std::string_view::npos) return "";
    std::string quoted = std::string(line.substr(0, open)) + '"' + std::string(line.substr(open, close + 1 - open)) +
                         '"' + std::string(line.substr(close + 1));
    auto first = quoted.find_first_not_of(" \t");
    auto last = quoted.find_last_not_of(" \t");
    return "; to use a variable, quote it: " + quoted.substr(first, last + 1 - first);
}

toml::table parse_toml(std::string_view text, const std::string& file_label) {
    try {
        return toml::parse(text, std::string_view(file_label));
    } catch (const toml::parse_error& e) {
        const auto& begin = e.source().begin;
        std::string message(e.description());
        message += unquoted_variable_hint(line_of(text, begin.line), begin.column);
        fail(file_label, static_cast<int>(begin.line), static_cast<int>(begin.column), std::move(message));
    }
}

std::string read_stack_name(const TableReader& top) {
    auto name = top.string("name", Need::required);
    if (!name) return "";
    if (!is_valid_name(name->value))
        top.context().error(name->pos, fmt::format("'name' must be lowercase letters, digits, '-' and '_', start "
                                                   "with a letter or digit and be at most {} characters, not {}",
                                                   max_name_length, in_quotes(name->value)));
    return name->value;
}

std::string read_network(const TableReader& top, const std::string& stack_name) {
    std::string default_name = stack_name + "_net";
    const toml::table* table = top.subtable("network");
    if (table == nullptr) return default_name;
    TableReader network(top.context(), *table, "network");
    network.allow_only(keys::network);
    auto name = network.string("name");
    if (!name) return default_name;
    if (!is_valid_network_name(name->value)) {
        top.context().error(name->pos, fmt::format("network 'name' must be lowercase letters, digits, '-', '_' and "
                                                   "'.', start with a letter or digit and be at most {} characters, "
                                                   "not {}",
                                                   max_name_length, in_quotes(name->value)));
    }
    return name->value;
}

std::vector<Service> read_services(const TableReader& top, const std::string& stack_name) {
    std::vector<Service> services;
    Context& ctx = top.context();
    const toml::table* table = top.subtable("services");
    if (table == nullptr) {
        if (top.find("services") == nullptr)
            ctx.error(ctx.whole_file(), "no services: add at least one [services.<name>] table");
        return services;
    }
    TableReader reader(ctx, *table, "services");
    for (const auto& [name, value] : reader.entries_in_order()) {
        if (const auto* service = value->as_table())
            services.push_back(read_service(reader, *name, *service, stack_name));
        else
            reader.wrong_type(name->str(), *value, "a table ([" + reader.child(name->str()) + "])");
    }
    if (table->empty()) ctx.error(reader.pos(), "no services: add at least one [services.<name>] table");
    return services;
}

Stack read_stack(Context& ctx, const toml::table& root) {
    TableReader top(ctx, root, "");
    top.allow_only(keys::top_level);
    Stack stack;
    stack.name = read_stack_name(top);
    if (auto target = top.string("target"); target && check_one_of(ctx, "target", *target, keys::targets))
        stack.target = target->value;
    stack.network = read_network(top, stack.name);
    stack.services = read_services(top, stack.name);
    const toml::table* balancer = top.subtable("balancer");
    if (balancer != nullptr || top.find("balancer") == nullptr)
        stack.balancer = read_balancer(ctx, balancer, stack.services);
    stack.jobs = read_jobs(top, stack.name, stack.services);
    stack.metrics = read_metrics(top, stack.balancer);
    for (auto& problem : target_problems(stack)) ctx.error(problem.pos, std::move(problem.message));
    for (const auto& s : stack.services) {
        if (!s.canary()) continue;
        const auto where = s.rollout->pos;
        if (s.autoscale)
            ctx.error(where, fmt::format("[services.{}.rollout] strategy = \"canary\" with autoscale is not "
                                         "supported yet (the autoscaler would scale the two versions as one); use "
                                         "strategy = \"rolling\" or remove [services.{}.autoscale]",
                                         s.name, s.name));
        const bool routed =
            std::any_of(stack.balancer.routes.begin(), stack.balancer.routes.end(), [&](const Route& r) {
                const auto split = r.file_split();
                return std::any_of(split.begin(), split.end(), [&](const Backend& b) { return b.service == s.name; });
            });
        if (!routed)
            ctx.error(where, fmt::format("service {} has a canary rollout but no route sends it traffic: a canary "
                                         "needs traffic to judge; route to it or use strategy = \"rolling\"",
                                         s.name));
    }
    return stack;
}

[[noreturn]] void cannot_read(const fs::path& file, int error) {
    fail(file.string(), 0, 0, fmt::format("cannot read: {}", std::strerror(error)));
}

std::string read_file_text(const fs::path& file) {
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> stream(std::fopen(file.c_str(), "rb"), &std::fclose);
    if (!stream) cannot_read(file, errno);
    std::string text;
    std::array<char, 65536> buffer{};
    while (std::size_t n = std::fread(buffer.data(), 1, buffer.size(), stream.get())) text.append(buffer.data(), n);
    if (std::ferror(stream.get()) != 0) cannot_read(file, errno);  // EISDIR for a folder
    return text;
}

}  // namespace

std::vector<Diagnostic> target_problems(const Stack& stack) {
    std::vector<Diagnostic> problems;
    if (stack.target != "swarm") return problems;
    for (const auto& s : stack.services) {
        // The autoscaler runs in the stack's controller container, which a swarm stack has not.
        if (s.autoscale)
            problems.push_back(
                {s.autoscale->pos, fmt::format("[services.{}.autoscale] needs target = \"engine\": on a swarm, scale "
                                               "with `mldeploy scale` (the swarm keeps the count)",
                                               s.name)});
        if (s.canary())
            problems.push_back(
                {s.rollout->pos, fmt::format("[services.{}.rollout] strategy = \"canary\" needs target = \"engine\": "
                                             "Swarm rolls a service's update itself; use strategy = \"rolling\"",
                                             s.name)});
    }
    return problems;
}

Stack load_stack_text(std::string_view text, const fs::path& file, const EnvLookup& env) {
    const std::string file_label = file.string();
    const fs::path absolute_file = fs::absolute(file).lexically_normal();
    toml::table root = parse_toml(text, file_label);
    Context ctx(file_label, absolute_file.parent_path(), env);
    Stack stack = read_stack(ctx, root);
    if (ctx.has_errors()) throw StackError(ctx.take_diagnostics());
    stack.file = absolute_file;
    stack.dir = absolute_file.parent_path();
    const auto ignore_stack_file = [&](std::optional<Build>& build) {
        if (!build) return;
        const auto inside = absolute_file.lexically_relative(build->context);
        if (!inside.empty() && *inside.begin() != "..") build->ignore.push_back(inside.generic_string());
    };
    for (auto& service : stack.services) ignore_stack_file(service.build);
    for (auto& job : stack.jobs) ignore_stack_file(job.build);
    return stack;
}

Stack load_stack_file(const fs::path& file, const EnvLookup& env) {
    std::string text = read_file_text(file);
    const fs::path dir = fs::absolute(file).lexically_normal().parent_path();
    return load_stack_text(text, file, with_dotenv(dir, env));
}

}  // namespace mldeploy::stack
