#include "stack/checks.hpp"
#include "stack/keys.hpp"
#include "stack/rules.hpp"
#include "stack/sections.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <set>

namespace mldeploy::stack::detail {
namespace {

namespace fs = std::filesystem;

bool read_volume_source(Context& ctx, const Located<std::string>& spec, const std::string& source, Volume& volume) {
    if (source.starts_with('.') || source.starts_with('/')) {
        fs::path host = ctx.resolve(source);
        std::error_code error;
        if (!fs::exists(host, error)) {
            ctx.error(spec.pos,
                      fmt::format("volume source {} does not exist (looked for {})", in_quotes(source), host.string()));
            return false;
        }
        volume.source = host.string();
        volume.is_bind = true;
        return true;
    }
    if (!is_volume_name(source)) {
        ctx.error(spec.pos, fmt::format("volume source {} must be a host path starting with '.' or '/', or a "
                                        "volume name of letters, digits, '_', '.' and '-'",
                                        in_quotes(source)));
        return false;
    }
    volume.source = source;
    volume.is_bind = false;
    return true;
}

bool check_volume_options(Context& ctx, const Located<std::string>& spec, const std::string& options) {
    for (const auto& option : split(options, ',')) {
        if (std::find(keys::volume_options.begin(), keys::volume_options.end(), option) == keys::volume_options.end()) {
            ctx.error(spec.pos, fmt::format("volume option {} in {} must be one of {}", in_quotes(option),
                                            in_quotes(spec.value), join(keys::volume_options)));
            return false;
        }
    }
    return true;
}

// "source:target[:options]"
std::optional<Volume> parse_volume(Context& ctx, const Located<std::string>& spec) {
    auto parts = split(spec.value, ':');
    if (parts.size() < 2 || parts.size() > 3) {
        ctx.error(spec.pos, fmt::format("volume {} must be \"source:target\" or \"source:target:options\"",
                                        in_quotes(spec.value)));
        return std::nullopt;
    }
    Volume volume;
    if (!read_volume_source(ctx, spec, parts[0], volume)) return std::nullopt;
    if (!parts[1].starts_with('/')) {
        ctx.error(spec.pos, fmt::format("volume target {} must be an absolute path", in_quotes(parts[1])));
        return std::nullopt;
    }
    volume.target = parts[1];
    if (parts.size() == 3) {
        if (!check_volume_options(ctx, spec, parts[2])) return std::nullopt;
        volume.options = parts[2];
    }
    return volume;
}

}  // namespace

std::vector<Volume> read_volumes(const TableReader& service) {
    std::vector<Volume> volumes;
    auto specs = service.strings("volumes");
    if (!specs) return volumes;
    std::set<std::string> targets;
    for (const auto& spec : *specs) {
        auto volume = parse_volume(service.context(), spec);
        if (!volume) continue;
        if (!targets.insert(volume->target).second) {
            service.context().error(spec.pos,
                                    fmt::format("volume target {} is mounted twice", in_quotes(volume->target)));
            continue;
        }
        volumes.push_back(std::move(*volume));
    }
    return volumes;
}

}  // namespace mldeploy::stack::detail
