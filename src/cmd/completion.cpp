// mldeploy completion bash|zsh|fish: prints a completion script made from the
// command table this very binary parses with (completion_script.cpp).
#include "cmd/commands.hpp"
#include "cmd/completion_script.hpp"

namespace mldeploy::cmd {

Command completion_command() {
    return {"completion", "Print a shell completion script (bash, zsh or fish)",
            [](CLI::App& app) -> Runner {
                auto shell = std::make_shared<std::string>();
                app.add_option("SHELL", *shell, "bash, zsh or fish")
                    ->required()
                    ->check(CLI::IsMember({"bash", "zsh", "fish"}));
                // Read at run time: by then every command is registered on the parent.
                return [shell, &app](const GlobalOptions&) {
                    const auto model = completion_model(*app.get_parent());
                    if (*shell == "bash")
                        output().result(bash_completion(model));
                    else if (*shell == "zsh")
                        output().result(zsh_completion(model));
                    else
                        output().result(fish_completion(model));
                    return 0;
                };
            },
            "source <(mldeploy completion bash)", 0};
}

}  // namespace mldeploy::cmd
