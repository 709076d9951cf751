#include "stack/checks.hpp"
#include "stack/keys.hpp"
#include "stack/rules.hpp"
#include "stack/sections.hpp"
#include "util/units.hpp"

#include <fmt/format.h>

namespace mldeploy::stack::detail {
namespace {

std::optional<std::string> read_gpus(const TableReader& resources) {
    const toml::node* node = resources.find("gpus");
    if (node == nullptr) return std::nullopt;
    Context& ctx = resources.context();
    if (const auto* count = node->as_integer()) {
        if (count->get() < 0) ctx.error(ctx.pos_of(*node), fmt::format("'gpus' cannot be negative ({})", count->get()));
        if (count->get() <= 0) return std::nullopt;
        return std::to_string(count->get());
    }
    if (!node->is_string()) {
        resources.wrong_type("gpus", *node, "a count or \"all\"");
        return std::nullopt;
    }
    auto text = resources.string("gpus");
    if (!text) return std::nullopt;
    if (text->value != "all") {
        ctx.error(text->pos, fmt::format("'gpus' must be a count or \"all\", not {}", in_quotes(text->value)));
        return std::nullopt;
    }
    return text->value;
}

}  // namespace

Resources read_resources(const TableReader& service) {
    Resources resources;
    const toml::table* table = service.subtable("resources");
    if (table == nullptr) return resources;
    TableReader reader(service.context(), *table, service.child("resources"));
    reader.allow_only(keys::resources);
    Context& ctx = reader.context();
    if (auto cpus = reader.number("cpus")) {
        if (cpus->value > 0 && cpus->value <= keys::max_cpus)
            resources.cpus = cpus->value;
        else
            ctx.error(cpus->pos,
                      fmt::format("'cpus' must be more than 0 and at most {}, not {}", keys::max_cpus, cpus->value));
    }
    if (auto memory = reader.size("memory")) {
        if (memory->value >= keys::min_memory_bytes)
            resources.memory_bytes = memory->value;
        else
            ctx.error(memory->pos,
                      fmt::format("'memory' must be at least {}, not {}", util::format_size(keys::min_memory_bytes),
                                  util::format_size(memory->value)));
    }
    resources.gpus = read_gpus(reader);
    if (const toml::node* node = reader.find("gpus")) resources.gpus_pos = ctx.pos_of(*node);
    if (auto share = reader.boolean("share_gpus")) resources.share_gpus = share->value;
    return resources;
}

}  // namespace mldeploy::stack::detail
