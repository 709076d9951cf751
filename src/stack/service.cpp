#include "stack/checks.hpp"
#include "stack/keys.hpp"
#include "stack/rules.hpp"
#include "stack/sections.hpp"

#include <fmt/format.h>

namespace mldeploy::stack::detail {
namespace {

void check_service_name(Context& ctx, const std::string& name, const SourcePos& pos) {
    if (is_valid_name(name)) return;
    ctx.error(pos, fmt::format("service name {} is not valid: use lowercase letters, digits, '-' and '_', "
                               "starting with a letter or digit, at most {} characters",
                               in_quotes(name), max_name_length));
}

std::optional<int> read_replicas(const TableReader& service) {
    auto replicas = service.integer("replicas");
    if (!replicas) return std::nullopt;
    if (replicas->value < 0) {
        service.context().error(replicas->pos,
                                fmt::format("'replicas' cannot be negative ({}); use 0 to run none", replicas->value));
        return std::nullopt;
    }
    if (replicas->value > keys::max_replicas) {
        service.context().error(replicas->pos, fmt::format("'replicas' is {}; at most {} replicas are allowed",
                                                           replicas->value, keys::max_replicas));
        return std::nullopt;
    }
    return static_cast<int>(replicas->value);
}

}  // namespace

std::string read_image(const TableReader& service, const std::string& stack_name, const std::string& name,
                       bool has_build) {
    const toml::node* node = service.find("image");
    if (auto image = service.string("image")) {
        check_image_reference(service.context(), "image", *image);
        return image->value;
    }
    if (has_build) return fmt::format("localhost/{}/{}:latest", stack_name, name);
    if (node == nullptr)
        service.context().error(service.pos(), fmt::format("missing 'image' {}: set the image to run, or 'build' "
                                                           "to build one",
                                                           service.where()));
    return "";
}

std::vector<std::string> read_command(const TableReader& service) {
    const toml::node* node = service.find("command");
    if (node != nullptr && node->is_string()) {
        auto words = split(node->as_string()->get(), ' ');
        std::erase(words, "");
        service.context().error(service.context().pos_of(*node),
                                fmt::format("'command' must be an array of strings, one per argument, such as "
                                            "command = [\"{}\"]",
                                            join(words, "\", \"")));
        return {};
    }
    std::vector<std::string> command;
    if (auto words = service.strings("command"))
        for (auto& word : *words) command.push_back(std::move(word.value));
    return command;
}

Service read_service(const TableReader& services, const toml::key& name, const toml::table& table,
                     const std::string& stack_name) {
    Context& ctx = services.context();
    TableReader reader(ctx, table, services.child(name.str()));
    reader.allow_only(keys::service);
    Service service;
    service.name = name.str();
    service.pos = reader.pos();
    check_service_name(ctx, service.name, service.pos);

    service.build = read_build(reader);
    service.image = read_image(reader, stack_name, service.name, reader.find("build") != nullptr);
    if (auto port = reader.integer("port", Need::required)) service.port = port_number(ctx, "port", *port).value_or(0);
    service.replicas = read_replicas(reader).value_or(service.replicas);
    service.command = read_command(reader);
    service.env = read_variables(reader, "env");
    service.volumes = read_volumes(reader);
    if (auto restart = reader.string("restart");
        restart && check_one_of(ctx, "restart", *restart, keys::restart_policies))
        service.restart = restart->value;
    service.health = read_health(reader);
    service.resources = read_resources(reader);
    if (auto drain = duration_at_least(reader, "drain", Millis{0})) service.drain = *drain;
    if (auto inflight = reader.integer("max_inflight"))
        service.max_inflight = int_in_range(ctx, "max_inflight", *inflight, 1, keys::max_inflight);
    service.autoscale = read_autoscale(reader, service);
    service.rollout = read_rollout(reader);
    return service;
}

}  // namespace mldeploy::stack::detail
