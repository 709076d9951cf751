// `mldeploy bench`'s arithmetic: ab's percentiles, requests/s, failures, and
// the answers per replica from the balancer's X-Mldeploy-Upstream header.
#include "deploy/bench.hpp"

#include <doctest/doctest.h>

using namespace mldeploy;
using deploy::LoadRun;
using deploy::Sample;

namespace {

Sample ok(std::int64_t micros, std::string upstream = "", int status = 200) {
    return Sample{micros, status, std::move(upstream), ""};
}

}  // namespace

TEST_SUITE("bench") {
    TEST_CASE("bench: ab's percentiles are element n*p/100 of the sorted times, the longest for 100") {
        std::vector<std::int64_t> times;
        for (int i = 1; i <= 10; ++i) times.push_back(i * 1000);
        CHECK(deploy::percentile(times, 50) == 6000);   // index 5
        CHECK(deploy::percentile(times, 66) == 7000);   // index 6
        CHECK(deploy::percentile(times, 90) == 10000);  // index 9
        CHECK(deploy::percentile(times, 99) == 10000);
        CHECK(deploy::percentile(times, 100) == 10000);
        CHECK(deploy::percentile({42}, 50) == 42);
        CHECK(deploy::percentile({42}, 100) == 42);
        std::vector<std::int64_t> hundred;
        for (int i = 0; i < 100; ++i) hundred.push_back(i);
        for (int p : deploy::kPercents) CHECK(deploy::percentile(hundred, p) == std::min(p, 99));
    }

    TEST_CASE("bench: a summary counts answers, failures and non-2xx, and the rate of answers") {
        LoadRun run;
        run.seconds = 2.0;
        for (int i = 0; i < 6; ++i) run.samples.push_back(ok(1000 * (i + 1), "10.88.0.5:8000"));
        run.samples.push_back(ok(3000, "10.88.0.6:8000", 503));
        run.samples.push_back(Sample{500, 0, "", "Connection refused"});
        run.samples.push_back(Sample{700, 0, "", "Timeout"});
        const auto s = deploy::summarize(run, {{"10.88.0.5:8000", "demo-llm-1"}});
        CHECK(s.requests == 9);
        CHECK(s.answered == 7);
        CHECK(s.failed == 2);
        CHECK(s.non_2xx == 1);
        CHECK(s.first_error == "Connection refused");
        CHECK(s.requests_per_second == doctest::Approx(3.5));
        CHECK(s.mean_ms == doctest::Approx(24.0 / 7));
        CHECK(s.percentiles_ms.at(50) == doctest::Approx(3.0));  // 1 2 3 3 4 5 6: index 3
        CHECK(s.percentiles_ms.at(100) == doctest::Approx(6.0));
        CHECK(s.percentiles_ms.size() == deploy::kPercents.size());
        // An address no replica has now counts under itself.
        CHECK(s.by_replica == std::map<std::string, int>{{"demo-llm-1", 6}, {"10.88.0.6:8000", 1}});
        CHECK(s.unattributed == 0);
    }

    TEST_CASE("bench: a retried request counts for the replica that answered; none for the balancer's own") {
        LoadRun run;
        run.seconds = 1;
        run.samples = {ok(1, "10.0.0.1:80, 10.0.0.2:80"), ok(1, "10.0.0.3:80 : 10.0.0.2:80"), ok(1, ""),
                       ok(1, "[fd00::2]:80")};
        const auto s = deploy::summarize(run, {{"10.0.0.2:80", "r2"}, {"10.0.0.1:80", "r1"}, {"[fd00::2]:80", "r6"}});
        CHECK(s.by_replica == std::map<std::string, int>{{"r2", 2}, {"r6", 1}});
        CHECK(s.unattributed == 1);
    }

    TEST_CASE("bench: nothing answered: no percentiles, and the report says why") {
        LoadRun run;
        run.seconds = 0.5;
        run.samples = {Sample{10, 0, "", "Failed to connect to 127.0.0.1 port 1: Connection refused"}};
        const auto s = deploy::summarize(run);
        CHECK(s.percentiles_ms.empty());
        CHECK(s.requests_per_second == 0);
        const auto text = deploy::summary_text(s);
        CHECK(text.find("Failed requests:        1 (first: Failed to connect") != std::string::npos);
        CHECK(text.find("Percentage") == std::string::npos);
        const auto json = deploy::summary_json(s);
        CHECK(json["failed"] == 1);
        CHECK(json["complete"] == 0);
        CHECK(json["percentiles_ms"].empty());
    }

    TEST_CASE("bench: the text report is ab's, with the spread over replicas") {
        LoadRun run;
        run.seconds = 1;
        for (int i = 0; i < 3; ++i) run.samples.push_back(ok(2000, "a:1"));
        run.samples.push_back(ok(4000, "b:1"));
        const auto text = deploy::summary_text(deploy::summarize(run, {{"a:1", "demo-llm-1"}, {"b:1", "demo-llm-2"}}));
        CHECK(text.find("Complete requests:      4\n") != std::string::npos);
        CHECK(text.find("Requests per second:    4.00 [#/sec] (mean)\n") != std::string::npos);
        CHECK(text.find("  50%       2.0\n") != std::string::npos);
        CHECK(text.find(" 100%       4.0 (longest request)\n") != std::string::npos);
        CHECK(text.find("  demo-llm-1        3   75.0%\n") != std::string::npos);
        CHECK(text.find("  demo-llm-2        1   25.0%\n") != std::string::npos);
        // A replica asked directly (--compare) names no address: no spread to show.
        LoadRun direct;
        direct.seconds = 1;
        direct.samples = {ok(1000), ok(2000)};
        CHECK(deploy::summary_text(deploy::summarize(direct)).find("Answers per replica") == std::string::npos);
    }
}
