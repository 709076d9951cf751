// cmd/completion_script: the completion model read from a CLI11 app, and the
// scripts written from it. (The real scripts in the real shell: tests/tools.)
#include "cmd/completion_script.hpp"

#include <doctest/doctest.h>

using namespace mldeploy::cmd;

namespace {

// A small command table shaped like mldeploy's: a global -f that `logs` takes
// for an option of its own, choices, a SERVICE and a FILE positional.
struct Table {
    CLI::App app{"test", "mldeploy"};
    std::string file, format, service, stack_file;
    bool follow = false, dry_run = false;
    int replicas = 0;
    Table() {
        app.add_option("-f,--file", file, "The stack file")->type_name("PATH");
        app.add_option("--format", format, "Output format")->check(CLI::IsMember({"text", "json"}));
        auto* logs = app.add_subcommand("logs", "Print the replicas' logs");
        logs->add_option("SERVICE", service, "Only this service");
        logs->add_flag("-f,--follow", follow, "Keep following");
        auto* up = app.add_subcommand("up", "Deploy the stack");
        up->add_option("STACK_FILE", stack_file, "The stack file");
        up->add_flag("--dry-run", dry_run, "Print the plan");
        auto* scale = app.add_subcommand("scale", "Scale a service");
        scale->add_option("--replicas,-r", replicas, "How many")->required();
    }
};

const CompletionOption& named(const std::vector<CompletionOption>& options, const std::string& name) {
    for (const auto& o : options)
        for (const auto& n : o.names)
            if (n == name) return o;
    FAIL("no option " << name);
    throw;
}

}  // namespace

TEST_SUITE("completion") {
    TEST_CASE("the model holds every command, option, value kind and choice of the table") {
        Table t;
        const auto m = completion_model(t.app);
        CHECK(m.program == "mldeploy");
        REQUIRE(m.commands.size() == 3);
        CHECK(m.commands[0].name == "logs");
        CHECK(m.commands[0].description == "Print the replicas' logs");

        const auto& file = named(m.globals, "--file");
        CHECK(file.names == std::vector<std::string>{"-f", "--file"});
        CHECK(file.takes_value);
        CHECK(file.kind == ValueKind::file);
        const auto& format = named(m.globals, "--format");
        CHECK(format.kind == ValueKind::choices);
        CHECK(format.choices == std::vector<std::string>{"text", "json"});
        CHECK_FALSE(named(m.globals, "--help").takes_value);

        const auto& follow = named(m.commands[0].options, "-f");
        CHECK_FALSE(follow.takes_value);
        REQUIRE(m.commands[0].positionals.size() == 1);
        CHECK(m.commands[0].positionals[0].names[0] == "SERVICE");
        CHECK(m.commands[0].positionals[0].kind == ValueKind::service);
        CHECK(m.commands[1].positionals[0].kind == ValueKind::file);
        const auto& replicas = named(m.commands[2].options, "--replicas");
        CHECK(replicas.names == std::vector<std::string>{"-r", "--replicas"});
        CHECK(replicas.takes_value);
        CHECK(replicas.kind == ValueKind::none);
    }

    TEST_CASE("bash: a command's own option wins over a global one of the same name") {
        Table t;
        const auto script = bash_completion(completion_model(t.app));
        CHECK(script.find("\"logs -f\"|\"logs --follow\") return 1 ;;") != std::string::npos);
        CHECK(script.find("*\" -f\"|*\" --file\") echo 'file' ;;") != std::string::npos);
        CHECK(script.find("*\" --format\") echo 'choices:text json' ;;") != std::string::npos);
        CHECK(script.find("local commands='logs up scale'") != std::string::npos);
        // logs lists --file (global) but not the global -f, which is its --follow.
        CHECK(script.find("logs) echo '-h --help -f --follow -h --help --file --format' ;;") == std::string::npos);
        CHECK(script.find("logs) echo '-h --help -f --follow --file --format' ;;") != std::string::npos);
        CHECK(script.find("complete -F _mldeploy mldeploy") != std::string::npos);
    }

    TEST_CASE("zsh and fish: commands, options with their values, and the shadowed global") {
        Table t;
        const auto m = completion_model(t.app);
        const auto zsh = zsh_completion(m);
        CHECK(zsh.starts_with("#compdef mldeploy\n"));
        CHECK(zsh.find("'(-f --file)'{-f,--file}'[The stack file]:file:_files'") != std::string::npos);
        CHECK(zsh.find("'logs:Print the replicas'\\''s logs'") == std::string::npos);
        CHECK(zsh.find("'logs:Print the replicas'\\'' logs'") != std::string::npos);
        CHECK(zsh.find("'--format[Output format]:format:(text json)'") != std::string::npos);

        const auto fish = fish_completion(m);
        CHECK(fish.find("complete -c mldeploy -n __fish_use_subcommand -a up -d 'Deploy the stack'") !=
              std::string::npos);
        CHECK(fish.find("complete -c mldeploy -n 'not __fish_seen_subcommand_from logs' -s f -l file -r -F") !=
              std::string::npos);
        CHECK(fish.find("complete -c mldeploy -n '__fish_seen_subcommand_from logs' -l file -r -F") !=
              std::string::npos);
        CHECK(fish.find(
                  "complete -c mldeploy -n '__fish_seen_subcommand_from scale' -s r -l replicas -x -d 'How many'") !=
              std::string::npos);
    }
}
