// mldeploy export kube|compose: the stack file as Kubernetes objects or as a
// compose.yaml. Reads only the stack file: it never opens the engine's socket.
#include "cmd/commands.hpp"
#include "render/export_compose.hpp"
#include "render/export_kube.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>

namespace mldeploy::cmd {
namespace {

namespace fs = std::filesystem;

struct ExportOptions {
    std::string kind;
    std::string output;  // empty: stdout
    std::string ns;
    bool node_port = false;
};

void write_file(const fs::path& file, const std::string& text) {
    // Next to the target, then renamed: a reader never sees half a file.
    const auto temporary = fs::path(file.string() + ".tmp");
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        out << text;
        out.close();
        if (!out) throw std::runtime_error(fmt::format("cannot write {}", file.string()));
    }
    fs::rename(temporary, file);
}

int run_export(const ExportOptions& o, const GlobalOptions& g) {
    const auto stack = load_stack(g);
    const auto output_file = o.output.empty() ? fs::path() : fs::absolute(o.output);
    if (!output_file.empty() && !fs::is_directory(output_file.parent_path()))
        throw UsageError(
            fmt::format("-o {}: the folder {} does not exist", o.output, output_file.parent_path().string()));
    if (o.kind == "compose" && (!o.ns.empty() || o.node_port))
        throw UsageError("--namespace and --node-port are for `export kube`");

    std::string text;
    std::vector<std::string> warnings;
    if (o.kind == "kube") {
        auto e = render::export_kube(stack, {o.ns, o.node_port});
        text = e.text();
        warnings = std::move(e.warnings);
    } else {
        const auto dir = output_file.empty() ? fs::current_path() : output_file.parent_path();
        auto e = render::export_compose(stack, {dir});
        text = e.text();
        warnings = std::move(e.warnings);
    }
    for (const auto& w : warnings) output().warn(w);
    if (output_file.empty()) {
        std::fwrite(text.data(), 1, text.size(), stdout);
        return 0;
    }
    write_file(output_file, text);
    output().done(fmt::format("wrote {}", o.output));
    return 0;
}

}  // namespace

Command export_command() {
    return {
        "export", "Write the stack as Kubernetes objects (kube) or as a compose.yaml (compose)",
        [](CLI::App& app) -> Runner {
            auto o = std::make_shared<ExportOptions>();
            app.add_option("KIND", o->kind, "kube or compose")->required()->check(CLI::IsMember({"kube", "compose"}));
            app.add_option("-o,--output", o->output, "Write to this file instead of stdout")->type_name("FILE");
            app.add_option("-n,--namespace", o->ns, "kube: the namespace of every object")->type_name("NAME");
            app.add_flag("--node-port", o->node_port,
                         "kube: publish the balancer as a NodePort Service instead of a LoadBalancer");
            return [o](const GlobalOptions& g) { return run_export(*o, g); };
        },
        "mldeploy export kube -f stacks/movies.toml -o movies.yaml && kubectl apply -f movies.yaml", uses::file};
}

}  // namespace mldeploy::cmd
