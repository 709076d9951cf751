// The .env file next to a stack file: its syntax, its errors with file:line:col,
// and the process environment winning over it.
#include "stack/dotenv.hpp"
#include "stack/load.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>

#include <map>

using namespace mldeploy::stack;
using mldeploy::test::TempDir;

namespace {

EnvLookup fake_env(std::map<std::string, std::string> values) {
    return [values = std::move(values)](const std::string& name) -> std::optional<std::string> {
        auto found = values.find(name);
        if (found == values.end()) return std::nullopt;
        return found->second;
    };
}

std::string errors_of(std::string_view text) {
    try {
        parse_dotenv(text, "dir/.env");
    } catch (const StackError& e) {
        return e.what();
    }
    return "";
}

const char* stack_text = R"(name = "dotenv"
[services.m]
image = "localhost/m:${TAG}"
port = 5000
env = { GREETING = "${GREETING:-none}" }
[balancer]
port = 18200
)";

}  // namespace

TEST_CASE(".env syntax: comments, export, quotes, blank lines") {
    const auto values = parse_dotenv(
        "# a comment\n"
        "\n"
        "PLAIN=value\n"
        "export EXPORTED=1\n"
        "  SPACED = spaced value  \n"
        "DOUBLE=\"a # not a comment\"\n"
        "SINGLE='${NOT_EXPANDED}'\n"
        "TRAILING=bare # a comment\n"
        "EMPTY=\n"
        "EQUALS=a=b\n"
        "CRLF=x\r\n"
        "PLAIN=later wins\n",
        ".env");
    CHECK(values.at("PLAIN") == "later wins");
    CHECK(values.at("EXPORTED") == "1");
    CHECK(values.at("SPACED") == "spaced value");
    CHECK(values.at("DOUBLE") == "a # not a comment");
    CHECK(values.at("SINGLE") == "${NOT_EXPANDED}");
    CHECK(values.at("TRAILING") == "bare");
    CHECK(values.at("EMPTY").empty());
    CHECK(values.at("EQUALS") == "a=b");
    CHECK(values.at("CRLF") == "x");
    CHECK(values.size() == 9);
}

TEST_CASE(".env errors carry file:line:col, every one of them") {
    CHECK(errors_of("OK=1\nno equals sign\n") == "dir/.env:2:1: expected NAME=VALUE, not 'no equals sign'");
    CHECK(errors_of("1BAD=x\n") ==
          "dir/.env:1:1: '1BAD' is not a variable name: use letters, digits and '_', not starting with a digit");
    CHECK(errors_of("A=\"open\n") == "dir/.env:1:3: unclosed '\"' in the value; close it on the same line");
    CHECK(errors_of("A='x' y\n") == "dir/.env:1:7: text after the closing quote; put a '#' before a comment");
    CHECK(errors_of("x\n  y\n") ==
          "dir/.env:1:1: expected NAME=VALUE, not 'x'\n"
          "dir/.env:2:3: expected NAME=VALUE, not 'y'");
}

TEST_CASE("a stack file reads .env next to it; the environment wins") {
    TempDir dir;
    dir.write(".env", "TAG=from-dotenv\nGREETING=hello\n");
    const auto file = dir.write("stack.toml", stack_text);

    auto stack = load_stack_file(file, fake_env({}));
    CHECK(stack.services.at(0).image == "localhost/m:from-dotenv");
    CHECK(stack.services.at(0).env.at("GREETING") == "hello");

    stack = load_stack_file(file, fake_env({{"TAG", "from-environment"}}));
    CHECK(stack.services.at(0).image == "localhost/m:from-environment");
    CHECK(stack.services.at(0).env.at("GREETING") == "hello");
}

TEST_CASE("without .env an unset variable is still an error; a bad .env stops the load") {
    TempDir dir;
    const auto file = dir.write("stack.toml", stack_text);
    CHECK_THROWS_WITH_AS(load_stack_file(file, fake_env({})), doctest::Contains("variable 'TAG' is not set"),
                         StackError);
    dir.write(".env", "TAG=1\nthis is wrong\n");
    CHECK_THROWS_WITH_AS(load_stack_file(file, fake_env({})),
                         doctest::Contains(".env:2:1: expected NAME=VALUE, not 'this is wrong'"), StackError);
}
