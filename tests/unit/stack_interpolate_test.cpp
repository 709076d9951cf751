// ${VAR} substitution in stack-file strings.
#include "stack/load.hpp"

#include <doctest/doctest.h>

#include <map>

using mldeploy::stack::EnvLookup;
using mldeploy::stack::interpolate;

namespace {

EnvLookup fake_env(std::map<std::string, std::string> values) {
    return [values = std::move(values)](const std::string& name) -> std::optional<std::string> {
        auto found = values.find(name);
        if (found == values.end()) return std::nullopt;
        return found->second;
    };
}

const EnvLookup env = fake_env({{"USER", "ada"}, {"EMPTY", ""}, {"PORT", "5000"}, {"TAG", "v2"}});

std::string error_of(std::string_view text) {
    try {
        interpolate(text, env);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace

TEST_SUITE("stack interpolation") {
    TEST_CASE("text without variables is unchanged") {
        CHECK(interpolate("", env) == "");
        CHECK(interpolate("plain text { } ;", env) == "plain text { } ;");
    }

    TEST_CASE("braced and bare references") {
        CHECK(interpolate("${USER}", env) == "ada");
        CHECK(interpolate("$USER", env) == "ada");
        CHECK(interpolate("hello ${USER}!", env) == "hello ada!");
        CHECK(interpolate("$USER-$TAG", env) == "ada-v2");
        CHECK(interpolate("${PORT}${TAG}", env) == "5000v2");
        CHECK(interpolate("${EMPTY}", env) == "");
    }

    TEST_CASE("defaults") {
        CHECK(interpolate("${MISSING:-fallback}", env) == "fallback");
        CHECK(interpolate("${MISSING-fallback}", env) == "fallback");
        CHECK(interpolate("${EMPTY:-fallback}", env) == "fallback");  // ':-' also replaces empty
        CHECK(interpolate("${EMPTY-fallback}", env) == "");           // '-' only replaces unset
        CHECK(interpolate("${USER:-fallback}", env) == "ada");
        CHECK(interpolate("${MISSING:-}", env) == "");
        CHECK(interpolate("${MISSING:-a:b-c}", env) == "a:b-c");
        CHECK(interpolate("${MISSING:-${TAG}}", env) == "v2");
        CHECK(interpolate("${MISSING:-${ALSO_MISSING:-deep}}", env) == "deep");
    }

    TEST_CASE("$$ is a literal dollar") {
        CHECK(interpolate("$$", env) == "$");
        CHECK(interpolate("cost: 5$$", env) == "cost: 5$");
        CHECK(interpolate("$${USER}", env) == "${USER}");
        CHECK(interpolate("$$$USER", env) == "$ada");
    }

    TEST_CASE("a value is inserted as is, never interpolated again") {
        auto tricky = fake_env({{"A", "${B}"}, {"B", "no"}});
        CHECK(interpolate("${A}", tricky) == "${B}");
    }

    TEST_CASE("unset variables") {
        CHECK(error_of("${MISSING}") == "variable 'MISSING' is not set; set it or write ${MISSING:-default}");
        CHECK(error_of("x $MISSING y") == "variable 'MISSING' is not set; set it or write ${MISSING:-default}");
    }

    TEST_CASE("malformed references") {
        CHECK(error_of("${USER") == "unterminated '${' in '${USER'; close it with '}'");
        CHECK(error_of("${}") == "bad variable reference '${}': expected ${NAME}, ${NAME:-default} or ${NAME-default}");
        CHECK(error_of("${1X}") ==
              "bad variable reference '${1X}': expected ${NAME}, ${NAME:-default} or ${NAME-default}");
        CHECK(error_of("${USER:?required}") ==
              "bad variable reference '${USER:?required}': expected ${NAME}, ${NAME:-default} or ${NAME-default}");
        CHECK(error_of("5$") == "'$' in '5$' must start a variable such as ${NAME}; write $$ for a literal '$'");
        CHECK(error_of("$ 5") == "'$' in '$ 5' must start a variable such as ${NAME}; write $$ for a literal '$'");
    }

    TEST_CASE("the process environment") {
        auto lookup = mldeploy::stack::process_env();
        CHECK(lookup("MLDEPLOY_SURELY_NOT_SET_ANYWHERE") == std::nullopt);
        CHECK(lookup("PATH").has_value());
    }
}
