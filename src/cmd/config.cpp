// mldeploy config: validate, then print the resolved stack (secrets redacted).
// Reads only the file: it never opens the engine's socket.
#include "cmd/commands.hpp"
#include "stack/serialize.hpp"

#include <nlohmann/json.hpp>

namespace mldeploy::cmd {

Command config_command() {
    return {"config", "Validate the stack file and print it resolved",
            [](CLI::App& app) -> Runner {
                auto show_secrets = std::make_shared<bool>(false);
                app.add_flag("--show-secrets", *show_secrets, "Print env values that look secret too");
                return [show_secrets](const GlobalOptions& g) {
                    const auto stack = load_stack(g);
                    if (g.format == "json") {
                        auto j = stack::to_json(stack, !*show_secrets);
                        j["jobs"] = stack::jobs_to_json(stack, !*show_secrets);
                        output().result(j.dump(2));
                    } else {
                        output().result(stack::to_toml(stack, !*show_secrets));
                    }
                    return 0;
                };
            },
            "mldeploy config -f stacks/movies.toml --format json", uses::file | uses::format};
}

}  // namespace mldeploy::cmd
