// The command line before CLI11 reads it: which word is the command, what an
// unknown one is told; and what each command's --help adds.
#include "cmd/cli.hpp"
#include "cmd/help.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace mldeploy::cmd;

namespace {

const std::vector<std::string> commands{"up", "scale", "down", "ps", "logs", "build", "config", "version"};

int run(std::vector<std::string> args) {
    args.insert(args.begin(), "mldeploy");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    return run_cli(static_cast<int>(argv.size()), argv.data());
}

}  // namespace

TEST_CASE("the command word skips global options and their values") {
    CHECK(command_word({"scal"}) == "scal");
    CHECK(command_word({"-f", "stack.toml", "up"}) == "up");
    CHECK(command_word({"--file", "x.toml", "-q", "ps"}) == "ps");
    CHECK(command_word({"--file=x.toml", "ps"}) == "ps");
    CHECK(command_word({"-fx.toml", "ps"}) == "ps");
    CHECK(command_word({"-qf", "x.toml", "down"}) == "down");
    CHECK(command_word({"-H", "unix:///s", "--engine", "docker", "--format", "json", "version"}) == "version");
    CHECK(command_word({"-s", "movies", "logs", "-f"}) == "logs");
    CHECK(command_word({"--", "up"}) == "up");
    CHECK_FALSE(command_word({}).has_value());
    CHECK_FALSE(command_word({"-q", "--help"}).has_value());
    CHECK(command_word_index({"-s", "movies", "exec", "--", "ls"}) == 2u);
}

TEST_CASE("exec: the words after `--` are the command's; without them it exits 2 before touching the engine") {
    CHECK(run({"exec", "m"}) == 2);
    CHECK(run({"-H", "unix:///nonexistent.sock", "exec", "m", "--"}) == 2);
    CHECK(run({"-H", "unix:///nonexistent.sock", "exec", "--no-such-option", "--", "ls"}) == 2);
    // After `--` they are the command's: no parse error, so it goes on to the engine (none there: 1).
    CHECK(run({"-H", "unix:///nonexistent.sock", "exec", "--", "ls", "--no-such-option", "-r", "x", "--help"}) == 1);
}

TEST_CASE("an unknown command gets a did-you-mean, or the list of commands") {
    CHECK(unknown_command_message("scal", commands) == "unknown command 'scal'; did you mean 'scale'?");
    CHECK(unknown_command_message("conifg", commands) == "unknown command 'conifg'; did you mean 'config'?");
    CHECK(unknown_command_message("frobnicate", commands) ==
          "unknown command 'frobnicate'; the commands are: up, scale, down, ps, logs, build, config, version "
          "(mldeploy --help says more)");
}

TEST_CASE("unknown commands exit 2 before anything runs") {
    CHECK(run({"scal"}) == 2);
    CHECK(run({"-f", "stack.toml", "exce", "m"}) == 2);
    CHECK(run({"frobnicate"}) == 2);
    CHECK(run({}) == 2);
    CHECK(run({"-q"}) == 2);
    CHECK(missing_command_message({"up", "down"}) ==
          "no command given; the commands are: up, down (mldeploy --help says more)");
}

TEST_CASE("a command's --help lists the global options it reads and an example") {
    Command scale{"scale", "", nullptr, "mldeploy scale recommender --replicas 4",
                  uses::file | uses::stack | uses::host};
    const auto footer = help_footer(scale, false);
    CHECK(footer.find("-f, --file PATH") != std::string::npos);
    CHECK(footer.find("-s, --stack NAME") != std::string::npos);
    CHECK(footer.find("-H, --host URL") != std::string::npos);
    CHECK(footer.find("--format") == std::string::npos);
    CHECK(footer.find("-q, --quiet") != std::string::npos);
    CHECK(footer.find("Example:\n  mldeploy scale recommender --replicas 4\n") != std::string::npos);

    CLI::App exec{"Run a command", "exec"};
    CHECK(UsageFormatter("[OPTIONS] [SERVICE] -- CMD [ARGS...]").make_usage(&exec, "mldeploy exec") ==
          "Usage: mldeploy exec [OPTIONS] [SERVICE] -- CMD [ARGS...]\n");

    Command logs{"logs", "", nullptr, "mldeploy logs -f", uses::file};
    const auto logs_footer = help_footer(logs, true);
    CHECK(logs_footer.find("-f, --file") == std::string::npos);
    CHECK(logs_footer.find("    --file PATH") != std::string::npos);
    CHECK(logs_footer.find("-s, --stack") == std::string::npos);
}
