// util/since: what `logs --since` accepts, as the unix seconds given to the engine.
#include "util/since.hpp"

#include <doctest/doctest.h>

using mldeploy::util::parse_since;

TEST_SUITE("since") {
    const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));

    TEST_CASE("a duration counts back from now") {
        CHECK(parse_since("10m", now) == 1'800'000'000 - 600);
        CHECK(parse_since("2h", now) == 1'800'000'000 - 7200);
        CHECK(parse_since("1500ms", now) == 1'799'999'998);  // rounded down to the second
    }

    TEST_CASE("unix seconds are taken as they are") {
        CHECK(parse_since("1733126400", now) == 1'733'126'400);
        CHECK(parse_since("0", now) == 0);
        CHECK(parse_since("10", now) == 10);  // digits alone are unix seconds, not a duration
    }

    TEST_CASE("RFC 3339 with a zone") {
        CHECK(parse_since("2024-12-02T08:00:00Z", now) == 1'733'126'400);
        CHECK(parse_since("2024-12-02T09:00:00+01:00", now) == 1'733'126'400);
        CHECK(parse_since("2024-12-02T07:30:00-00:30", now) == 1'733'126'400);
        CHECK(parse_since("2024-12-02T08:00:00.123456789Z", now) == 1'733'126'400);
    }

    TEST_CASE("anything else is refused") {
        CHECK_FALSE(parse_since("", now));
        CHECK_FALSE(parse_since("yesterday", now));
        CHECK_FALSE(parse_since("2024-12-02T08:00:00", now));  // no zone: ambiguous
        CHECK_FALSE(parse_since("2024-13-02T08:00:00Z", now));
        CHECK_FALSE(parse_since("2024-12-02T08:00:00.Z", now));
        CHECK_FALSE(parse_since("2024-12-02", now));
        CHECK_FALSE(parse_since("-5m", now));
    }
}
