#include "stack/checks.hpp"
#include "stack/rules.hpp"
#include "stack/sections.hpp"

#include <fmt/format.h>

#include <filesystem>

namespace mldeploy::stack::detail {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> build_keys{"context", "dockerfile", "args"};

std::optional<fs::path> build_context(Context& ctx, const Located<std::string>& written) {
    fs::path context = ctx.resolve(written.value);
    std::error_code error;
    if (!fs::exists(context, error)) {
        ctx.error(written.pos, fmt::format("build context {} does not exist (looked for {})", in_quotes(written.value),
                                           context.string()));
        return std::nullopt;
    }
    if (!fs::is_directory(context, error)) {
        ctx.error(written.pos, fmt::format("build context {} is not a folder", in_quotes(written.value)));
        return std::nullopt;
    }
    return context;
}

bool is_file_in(const fs::path& folder, const fs::path& relative) {
    std::error_code error;
    fs::path normal = relative.lexically_normal();
    if (normal.is_absolute() || normal.empty() || *normal.begin() == "..") return false;
    return fs::is_regular_file(folder / normal, error);
}

// Where a dockerfile that is_file_in the context really is, when a symbolic link
// (the file itself, or a folder on its way) takes it out of the context; nullopt
// when it stays inside. The context goes to the engine with its links kept as links,
// but Podman 4.3 reads the dockerfile from where it unpacked the context and follows
// an absolute link on its own host: it built from /tmp/x/Dockerfile when the
// Containerfile was a link to it, and a rootful engine reads as root (Docker 20.10
// does not find such a file). So a link out is refused here, before anything is sent.
std::optional<fs::path> leads_out_of(const fs::path& folder, const fs::path& relative) {
    std::error_code error;
    const fs::path real_folder = fs::canonical(folder, error);
    if (error) return std::nullopt;  // cannot happen for a context that exists; the engine decides
    const fs::path real_file = fs::canonical(folder / relative.lexically_normal(), error);
    if (error) return std::nullopt;
    const fs::path inside = real_file.lexically_relative(real_folder);
    if (!inside.empty() && *inside.begin() != "..") return std::nullopt;
    return real_file;
}

void report_link_out(Context& ctx, const SourcePos& pos, const std::string& dockerfile, const fs::path& context,
                     const fs::path& target) {
    ctx.error(pos, fmt::format("dockerfile {} leads out of the build context {} through a symbolic link (to {}); "
                               "the engine would read that file: put the dockerfile itself in the context",
                               in_quotes(dockerfile), context.string(), target.string()));
}

// The Containerfile or Dockerfile, relative to the context.
std::optional<std::string> dockerfile(Context& ctx, const fs::path& context,
                                      const std::optional<Located<std::string>>& written, const SourcePos& build_pos) {
    if (written) {
        if (!is_file_in(context, written->value)) {
            ctx.error(written->pos, fmt::format("dockerfile {} is not a file inside the build context {}",
                                                in_quotes(written->value), context.string()));
            return std::nullopt;
        }
        if (auto target = leads_out_of(context, written->value)) {
            report_link_out(ctx, written->pos, written->value, context, *target);
            return std::nullopt;
        }
        return fs::path(written->value).lexically_normal().string();
    }
    for (const char* name : {"Containerfile", "Dockerfile"}) {
        if (!is_file_in(context, name)) continue;
        if (auto target = leads_out_of(context, name)) {
            report_link_out(ctx, build_pos, name, context, *target);
            return std::nullopt;
        }
        return name;
    }
    ctx.error(build_pos, fmt::format("no Containerfile or Dockerfile in the build context {}; add one or set "
                                     "'dockerfile'",
                                     context.string()));
    return std::nullopt;
}

std::optional<Build> read_build_table(const TableReader& service, const toml::table& table) {
    TableReader reader(service.context(), table, service.child("build"));
    reader.allow_only(build_keys);
    auto written_context = reader.string("context", Need::required);
    auto written_dockerfile = reader.string("dockerfile");
    auto args = read_variables(reader, "args");
    if (!written_context) return std::nullopt;
    auto context = build_context(reader.context(), *written_context);
    if (!context) return std::nullopt;
    auto file = dockerfile(reader.context(), *context, written_dockerfile, reader.pos());
    if (!file) return std::nullopt;
    return Build{*context, *file, std::move(args), {}};
}

}  // namespace

// build = "folder" or build = { context = "folder", dockerfile = "...", args = {...} }
std::optional<Build> read_build(const TableReader& service) {
    const toml::node* node = service.find("build");
    if (node == nullptr) return std::nullopt;
    if (const auto* table = node->as_table()) return read_build_table(service, *table);
    if (!node->is_string()) {
        service.wrong_type("build", *node, "a string (the build context) or a table");
        return std::nullopt;
    }
    auto written = service.string("build");
    if (!written) return std::nullopt;
    auto context = build_context(service.context(), *written);
    if (!context) return std::nullopt;
    auto file = dockerfile(service.context(), *context, std::nullopt, written->pos);
    if (!file) return std::nullopt;
    return Build{*context, *file, {}, {}};
}

}  // namespace mldeploy::stack::detail
