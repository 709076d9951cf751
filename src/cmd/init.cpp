// mldeploy init [DIR]: a stack.toml, Containerfile and .dockerignore for a model
// server folder, so that `mldeploy up` works right after. Reads and writes only
// that folder: it never opens the engine's socket.
#include "cmd/commands.hpp"
#include "cmd/scaffold.hpp"
#include "stack/load.hpp"
#include "stack/rules.hpp"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

namespace mldeploy::cmd {
namespace {

namespace fs = std::filesystem;

struct InitOptions {
    std::string dir = ".";
    std::string name;
    std::string base_image = default_base_image;
    int port = 8000;
    int publish = 8080;
    std::string health_path;
    bool force = false;
};

std::optional<std::string> read_text(const fs::path& file) {
    std::error_code error;
    if (!fs::is_regular_file(file, error)) return std::nullopt;
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

void write_text(const fs::path& file, const std::string& text) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) throw std::runtime_error(fmt::format("cannot write {}", file.string()));
}

ScaffoldInput inspect(const fs::path& dir, const InitOptions& o) {
    ScaffoldInput in;
    std::error_code error;
    in.name = o.name.empty() ? stack_name_for(fs::canonical(dir, error).filename().string()) : o.name;
    in.base_image = o.base_image;
    in.port = o.port;
    in.publish = o.publish;
    std::optional<std::string> source;
    for (const char* server : {"server.py", "app.py"}) {
        if ((source = read_text(dir / server))) {
            in.server = server;
            break;
        }
    }
    in.requirements = read_text(dir / "requirements.txt");
    if (!o.health_path.empty())
        in.health_path = o.health_path;
    else if (auto found = source ? health_path_in(*source) : std::nullopt)
        in.health_path = *found;
    return in;
}

void check_options(const InitOptions& o) {
    if (!o.name.empty() && !stack::is_valid_name(o.name))
        throw UsageError(
            fmt::format("--name '{}': use lowercase letters, digits, '-' and '_', starting with a letter "
                        "or digit, at most 40 characters",
                        o.name));
    if (!stack::detail::is_image_reference(o.base_image))
        throw UsageError(fmt::format("--base-image '{}' is not an image reference", o.base_image));
    if (!o.health_path.empty() && !stack::detail::is_url_path(o.health_path))
        throw UsageError(
            fmt::format("--health-path '{}' must start with '/' and hold only URL path characters", o.health_path));
}

int run_init(const InitOptions& o) {
    check_options(o);
    const fs::path dir = o.dir;
    std::error_code error;
    if (!fs::is_directory(dir, error))
        throw UsageError(fmt::format("'{}' is not a folder: give the model server's folder", o.dir));

    const ScaffoldInput in = inspect(dir, o);
    const auto files = scaffold(in);
    std::vector<std::string> existing;
    for (const auto& f : files)
        if (fs::exists(dir / f.name, error)) existing.push_back((dir / f.name).string());
    if (!existing.empty() && !o.force) {
        std::string list;
        for (const auto& e : existing) list += (list.empty() ? "" : ", ") + e;
        throw UsageError(fmt::format("{} already exist{}: nothing written; --force overwrites", list,
                                     existing.size() == 1 ? "s" : ""));
    }

    auto& out = output();
    if (!in.server)
        out.warn("no server.py or app.py here: edit the CMD in the Containerfile and 'command' in stack.toml");
    if (o.health_path.empty() && in.server && !health_path_in(read_text(dir / *in.server).value_or("")))
        out.warn(
            fmt::format("{} names no /healthz, /health, /ping or /ready: the health path is {}; add that route "
                        "or give --health-path",
                        *in.server, in.health_path));
    if (in.requirements && !requirement_names(*in.requirements).empty())
        out.note(
            "requirements.txt: its packages are installed from Debian (python3-<name>) in the Containerfile; "
            "check the names");
    for (const auto& f : files) {
        write_text(dir / f.name, f.text);
        out.result(fmt::format("wrote {}", (dir / f.name).string()));
    }
    // Quoted when the shell would split it, so that the line can be pasted.
    std::string stack_file = (dir / "stack.toml").string();
    if (stack_file.find_first_of(" \t'\"$`\\") != std::string::npos) stack_file = "'" + stack_file + "'";
    out.result(fmt::format("next: mldeploy up {}", stack_file));
    out.result(fmt::format("then: curl http://localhost:{}{}", in.publish, in.health_path));
    return 0;
}

}  // namespace

Command init_command() {
    return {"init", "Write a stack.toml, Containerfile and .dockerignore for a model server folder",
            [](CLI::App& app) -> Runner {
                auto o = std::make_shared<InitOptions>();
                app.add_option("DIR", o->dir, "The model server's folder (default: the current one)");
                app.add_option("--name", o->name, "The stack's name (default: the folder's name)");
                app.add_option("--base-image", o->base_image, "The image to build on")->capture_default_str();
                app.add_option("--port", o->port, "The port the server listens on in its container")
                    ->check(CLI::Range(1, 65535))
                    ->capture_default_str();
                app.add_option("--publish", o->publish, "The host port the balancer publishes")
                    ->check(CLI::Range(1, 65535))
                    ->capture_default_str();
                app.add_option("--health-path", o->health_path,
                               "The path that answers 2xx when healthy (default: found in the server, else /healthz)");
                app.add_flag("--force", o->force, "Overwrite files that exist");
                return [o](const GlobalOptions&) { return run_init(*o); };
            },
            "mldeploy init ./my-model --port 5000 --publish 8080", 0};
}

}  // namespace mldeploy::cmd
