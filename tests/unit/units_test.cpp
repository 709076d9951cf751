// util/units and util/suggest: small pure functions the stack loader builds on.
// (The suggestions live here too: they are util's, and this is util's test file.)
#include "util/units.hpp"
#include "util/suggest.hpp"

#include <doctest/doctest.h>

using namespace std::chrono_literals;
using mldeploy::util::closest_match;
using mldeploy::util::edit_distance;
using mldeploy::util::format_duration;
using mldeploy::util::format_size;
using mldeploy::util::parse_duration;
using mldeploy::util::parse_size;

TEST_SUITE("units") {
    TEST_CASE("durations in each unit") {
        CHECK(parse_duration("500ms") == 500ms);
        CHECK(parse_duration("2s") == 2s);
        CHECK(parse_duration("1m") == 1min);
        CHECK(parse_duration("1h") == 1h);
        CHECK(parse_duration("0s") == 0ms);
        CHECK(parse_duration("0ms") == 0ms);
    }

    TEST_CASE("durations with a decimal point") {
        CHECK(parse_duration("1.5s") == 1500ms);
        CHECK(parse_duration("0.25m") == 15s);
        CHECK(parse_duration("2.50s") == 2500ms);
        CHECK(parse_duration("1.0ms") == 1ms);
    }

    TEST_CASE("malformed durations") {
        for (const char* text : {"", "5", "s", "-1s", "+1s", "1.5ms", "1.0005s", ".5s", "5.s", "1 s", " 1s", "1s ",
                                 "1S", "1sec", "1d", "1.2.3s", "1e3ms", "99999999999999999999ms", "9999999999999h"}) {
            CAPTURE(text);
            CHECK_FALSE(parse_duration(text).has_value());
        }
    }

    TEST_CASE("sizes in each unit, any case") {
        CHECK(parse_size("512") == 512);
        CHECK(parse_size("0") == 0);
        CHECK(parse_size("100k") == 100 * 1024);
        CHECK(parse_size("100K") == 100 * 1024);
        CHECK(parse_size("100m") == 100LL * 1024 * 1024);
        CHECK(parse_size("1g") == 1024LL * 1024 * 1024);
        CHECK(parse_size("1G") == 1024LL * 1024 * 1024);
        CHECK(parse_size("1.5k") == 1536);
    }

    TEST_CASE("malformed sizes") {
        for (const char* text :
             {"", "k", "-1", "1kb", "1KiB", "1t", "1 m", "1.3", "0.1k", "99999999999999999999", "9999999999999g"}) {
            CAPTURE(text);
            CHECK_FALSE(parse_size(text).has_value());
        }
    }

    TEST_CASE("formatting picks the largest exact unit") {
        CHECK(format_duration(0ms) == "0s");
        CHECK(format_duration(500ms) == "500ms");
        CHECK(format_duration(1500ms) == "1500ms");
        CHECK(format_duration(2s) == "2s");
        CHECK(format_duration(90s) == "90s");
        CHECK(format_duration(5min) == "5m");
        CHECK(format_duration(2h) == "2h");
        CHECK(format_size(0) == "0");
        CHECK(format_size(512) == "512");
        CHECK(format_size(1536) == "1536");
        CHECK(format_size(100 * 1024) == "100k");
        CHECK(format_size(100LL * 1024 * 1024) == "100m");
        CHECK(format_size(3LL * 1024 * 1024 * 1024) == "3g");
    }

    TEST_CASE("formatting and parsing are inverses") {
        for (std::chrono::milliseconds d : {1ms, 999ms, 1000ms, 61000ms, 60000ms, 3600000ms, 300000ms}) {
            CAPTURE(d.count());
            CHECK(parse_duration(format_duration(d)) == d);
        }
        for (std::int64_t bytes : {1LL, 1023LL, 1024LL, 6LL << 20, 100LL << 20, 1LL << 30, (1LL << 30) + 1}) {
            CAPTURE(bytes);
            CHECK(parse_size(format_size(bytes)) == bytes);
        }
    }
}

TEST_SUITE("suggest") {
    TEST_CASE("edit distance") {
        CHECK(edit_distance("", "") == 0);
        CHECK(edit_distance("abc", "") == 3);
        CHECK(edit_distance("", "abc") == 3);
        CHECK(edit_distance("replica", "replicas") == 1);
        CHECK(edit_distance("kitten", "sitting") == 3);
        CHECK(edit_distance("port", "prot") == 1);  // a swap of neighbours is one edit
        CHECK(edit_distance("ab", "ba") == 1);
    }

    TEST_CASE("closest match within a third of the word's length") {
        const std::vector<std::string> keys{"build", "image", "port", "replicas", "command", "env", "volumes"};
        CHECK(closest_match("replica", keys) == "replicas");
        CHECK(closest_match("imag", keys) == "image");
        CHECK(closest_match("prot", keys) == "port");        // letters swapped
        CHECK(closest_match("pxyt", keys) == std::nullopt);  // two edits in four letters
        CHECK(closest_match("pert", keys) == "port");        // one edit is always allowed
        CHECK(closest_match("volumse", keys) == "volumes");
        CHECK(closest_match("xyz", keys) == std::nullopt);
        CHECK(closest_match("anything", {}) == std::nullopt);
    }

    TEST_CASE("the best candidate wins; ties go to the first") {
        CHECK(closest_match("least_con", {"round_robin", "least_conn", "ip_hash"}) == "least_conn");
        CHECK(closest_match("ab", {"ax", "ay"}) == "ax");
        CHECK(closest_match("recommender", {"recomender2", "recommendr"}) == "recommendr");
    }

    TEST_CASE("never more than three edits, however long the word") {
        CHECK(closest_match("a_very_long_key_name_x", {"a_very_long_key_name_xyzw"}) == "a_very_long_key_name_xyzw");
        CHECK(closest_match("a_very_long_key_name_x", {"a_very_long_key_name_xyzwv"}) == std::nullopt);
    }
}
