#include "cmd/cli.hpp"

#include "cmd/commands.hpp"
#include "cmd/help.hpp"
#include "deploy/errors.hpp"
#include "engine/engine.hpp"
#include "stack/load.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

namespace mldeploy::cmd {
namespace {

std::vector<Command> command_table() {
    return {up_command(),      scale_command(),  restart_command(), down_command(),       ps_command(),
            logs_command(),    exec_command(),   build_command(),   push_command(),       run_command(),
            config_command(),  export_command(), bench_command(),   top_command(),        traffic_command(),
            version_command(), init_command(),   schema_command(),  completion_command(), agent_command()};
}

void add_global_options(CLI::App& app, GlobalOptions& g) {
    app.add_option("-f,--file", g.file, "The stack file")->type_name("PATH");
    app.add_option("-s,--stack", g.stack_name, "A deployed stack, by name, without its file")->type_name("NAME");
    app.add_option("-H,--host", g.host, "The engine's socket, unix:///path")->type_name("URL");
    app.add_option("--engine", g.engine, "Force the engine's flavour (default: detected from the socket)")
        ->check(CLI::IsMember({"podman", "docker"}));
    app.add_option("--format", g.format, "Output format")->check(CLI::IsMember({"text", "json"}));
    app.add_flag("-q,--quiet", g.quiet, "Print only results and errors");
    app.add_flag("-v,--verbose", g.verbose, "Print every step and the engine's output");
    app.add_flag("--no-color", g.no_color, "No colour (also: NO_COLOR)");
}

int report(const std::exception& e, int status) {
    output().error(e.what());
    return status;
}

}  // namespace

int run_cli(int argc, char** argv) {
    CLI::App app{"mldeploy: deploy machine-learning model services on Podman or Docker", "mldeploy"};
    app.require_subcommand(1);
    app.fallthrough();
    GlobalOptions g;
    add_global_options(app, g);

    Runner selected;
    std::vector<std::pair<CLI::App*, Runner>> runners;
    std::vector<std::string> names;
    std::vector<std::string> shown;             // the commands a user is told of (not `agent`)
    std::vector<std::string> running_commands;  // commands whose words after `--` are a command (exec)
    for (const auto& command : command_table()) {
        if (command.runs_command) running_commands.emplace_back(command.name);
        auto* sub = app.add_subcommand(command.name, command.summary);
        sub->fallthrough();
        if (command.hidden) sub->group("");
        runners.emplace_back(sub, command.setup(*sub));
        sub->footer(help_footer(command, sub->get_option_no_throw("-f") != nullptr));
        if (*command.usage != '\0') sub->formatter(std::make_shared<UsageFormatter>(command.usage));
        names.emplace_back(command.name);
        if (!command.hidden) shown.emplace_back(command.name);
    }

    // CLI11 answers an unknown command with "A subcommand is required": say which
    // word was not understood, and what was meant.
    const std::vector<std::string> args(argv + std::min(argc, 1), argv + argc);
    const auto word = command_word(args);
    if (word && std::find(names.begin(), names.end(), *word) == names.end()) {
        output().error(unknown_command_message(*word, shown));
        return 2;
    }
    const bool wants_help =
        std::any_of(args.begin(), args.end(), [](const auto& a) { return a == "-h" || a == "--help"; });
    if (!word && !wants_help) {
        output().error(missing_command_message(shown));
        return 2;
    }

    // exec's command after `--` is not for CLI11 to read (its own -c, -r, --help):
    // CLI11 parses only what comes before.
    int parsed_argc = argc;
    if (const auto at = command_word_index(args);
        at && std::find(running_commands.begin(), running_commands.end(), args[*at]) != running_commands.end()) {
        const auto dashes = std::find(args.begin() + static_cast<std::ptrdiff_t>(*at), args.end(), "--");
        if (dashes != args.end()) {
            g.command_args.emplace(dashes + 1, args.end());
            parsed_argc = static_cast<int>(dashes - args.begin()) + 1;  // + the program's name
        }
    }

    try {
        app.parse(parsed_argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return 2;
    }
    util::Output::configure(g.quiet     ? util::Output::Level::quiet
                            : g.verbose ? util::Output::Level::verbose
                                        : util::Output::Level::normal,
                            g.no_color);
    for (auto& [sub, runner] : runners)
        if (sub->parsed()) selected = runner;

    try {
        return selected(g);
    } catch (const UsageError& e) {
        return report(e, 2);
    } catch (const stack::StackError& e) {
        for (const auto& d : e.diagnostics()) std::fprintf(stderr, "%s\n", d.to_string().c_str());
        return 2;
    } catch (const engine::EngineError& e) {
        return report(e, 1);
    } catch (const deploy::Interrupted& e) {
        return report(e, 130);  // 128 + SIGINT: undone, then stopped as asked
    } catch (const deploy::DeployError& e) {
        return report(e, 1);
    } catch (const std::exception& e) {
        return report(e, 1);
    }
}

}  // namespace mldeploy::cmd
