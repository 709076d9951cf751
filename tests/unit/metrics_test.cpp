// metrics/: the access log's decoder and the aggregate the controller keeps.
#include "metrics/access_log.hpp"
#include "metrics/aggregate.hpp"
#include "metrics/exposition.hpp"

#include <doctest/doctest.h>

#include <fmt/format.h>

using namespace mldeploy::metrics;

namespace {

std::string line(double end, double seconds, int status, std::string_view addr, std::string_view codes,
                 std::string_view times, std::string_view host = "mldeploy_recs") {
    return fmt::format("mldeploy1|{:.3f}|{:.3f}|{}|{}|{}|{}|{}", end, seconds, status, host, addr, codes, times);
}

const AddressBook book{{"10.0.0.2:5000", {"recs", "1"}}, {"10.0.0.3:5000", {"recs", "2"}}};

std::uint64_t count(const Aggregate& a, const ReplicaId& id, int code) {
    auto it = a.totals().find(id);
    if (it == a.totals().end()) return 0;
    auto c = it->second.by_code.find(code);
    return c == it->second.by_code.end() ? 0 : c->second;
}

}  // namespace

TEST_SUITE("metrics") {
    TEST_CASE("a request on one replica") {
        auto r = parse_access_line(line(1000.5, 0.25, 200, "10.0.0.2:5000", "200", "0.240"));
        REQUIRE(r);
        CHECK(r->end == doctest::Approx(1000.5));
        CHECK(r->status == 200);
        CHECK(r->service == "recs");
        REQUIRE(r->attempts.size() == 1);
        CHECK(r->attempts[0].address == "10.0.0.2:5000");
        CHECK(r->attempts[0].code == 200);
        CHECK(r->attempts[0].seconds == doctest::Approx(0.24));
        CHECK(r->attempts[0].start == doctest::Approx(1000.26));
    }

    TEST_CASE("a mirror's copy, logged by the shadow server, is the candidate's own request") {
        // nginx's line for the copy's subrequest: the candidate's upstream, replica,
        // status and time (render/nginx_mirror.cpp), not the client's.
        auto r = parse_access_line(line(70, 2.004, 500, "10.0.0.9:8000", "500", "2.003", "mldeploy_recs-v2"));
        REQUIRE(r);
        CHECK(r->service == "recs-v2");
        CHECK(r->status == 500);
        REQUIRE(r->attempts.size() == 1);
        CHECK(r->attempts[0].code == 500);
        CHECK(r->attempts[0].seconds == doctest::Approx(2.003));
    }

    TEST_CASE("a retried request lists each try, in order, ending with the request") {
        auto r = parse_access_line(line(50, 1.5, 200, "10.0.0.2:5000, 10.0.0.3:5000", "502, 200", "1.000, 0.400"));
        REQUIRE(r);
        REQUIRE(r->attempts.size() == 2);
        CHECK(r->attempts[0].address == "10.0.0.2:5000");
        CHECK(r->attempts[0].code == 502);
        CHECK(r->attempts[1].code == 200);
        CHECK(r->attempts[1].end == doctest::Approx(50));
        CHECK(r->attempts[1].start == doctest::Approx(49.6));
        CHECK(r->attempts[0].end == doctest::Approx(49.6));
        CHECK(r->attempts[0].start == doctest::Approx(48.6));
    }

    TEST_CASE("tries across an internal redirect (' : ') and a try without an answer") {
        auto r = parse_access_line(line(9, 2, 504, "10.0.0.2:5000 : 10.0.0.3:5000", "- : 504", "- : 1.000"));
        REQUIRE(r);
        REQUIRE(r->attempts.size() == 2);
        CHECK(r->attempts[0].code == 502);
        CHECK(r->attempts[0].seconds == 0);
        CHECK(r->attempts[1].address == "10.0.0.3:5000");
        CHECK(r->attempts[1].code == 504);
    }

    TEST_CASE("a client that went away before the answer counts as what it got (499)") {
        auto r = parse_access_line(line(9, 3, 499, "10.0.0.2:5000", "-", "2.900"));
        REQUIRE(r);
        CHECK(r->attempts.at(0).code == 499);
    }

    TEST_CASE("a request no replica saw has no tries") {
        auto r = parse_access_line(line(9, 0, 404, "-", "-", "-", "-"));
        REQUIRE(r);
        CHECK(r->attempts.empty());
        CHECK(r->service.empty());
    }

    TEST_CASE("other lines are not records") {
        for (const char* text :
             {"", "hello", "mldeploy1|1|2|3", "mldeploy2|1|0.1|200|h|a|200|0.1", "mldeploy1|x|0.1|200|h|a|200|0.1",
              "mldeploy1|1|0.1|2000|h|a|200|0.1", "mldeploy1|1|0.1|200|h|a|200|0.1|extra"}) {
            CAPTURE(text);
            CHECK_FALSE(parse_access_line(text));
        }
        CHECK(parse_access_line(line(1, 0.1, 200, "10.0.0.2:5000", "200", "0.1") + "\r\n"));
    }

    TEST_CASE("exact: N lines are N counts, per replica and code") {
        Aggregate a;
        for (int i = 0; i < 1000; ++i) {
            const bool first = i % 2 == 0;
            const int code = i % 10 == 0 ? 500 : 200;
            CHECK(a.add_line(line(100 + i * 0.001, 0.01, code, first ? "10.0.0.2:5000" : "10.0.0.3:5000",
                                  std::to_string(code), "0.010"),
                             book));
        }
        CHECK_FALSE(a.add_line("nginx: [warn] something", book));
        CHECK(a.records() == 1000);
        CHECK(count(a, {"recs", "1"}, 200) == 400);
        CHECK(count(a, {"recs", "1"}, 500) == 100);
        CHECK(count(a, {"recs", "2"}, 200) == 500);
        CHECK(count(a, {"recs", "2"}, 500) == 0);
    }

    TEST_CASE("each try counts on its replica; an address no replica holds keeps its own name") {
        Aggregate a;
        a.add_line(line(10, 1, 200, "10.0.0.2:5000, 10.0.0.3:5000", "502, 200", "0.5, 0.5"), book);
        a.add_line(line(11, 0, 502, "mldeploy_recs", "502", "0.000"), book);
        a.add_line(line(12, 0.1, 200, "10.0.0.9:5000", "200", "0.1"), book);
        CHECK(count(a, {"recs", "1"}, 502) == 1);
        CHECK(count(a, {"recs", "2"}, 200) == 1);
        CHECK(count(a, {"recs", "mldeploy_recs"}, 502) == 1);
        CHECK(count(a, {"recs", "10.0.0.9:5000"}, 200) == 1);
    }

    TEST_CASE("histogram buckets are Prometheus' (le: at most), cumulative") {
        Histogram h;
        h.observe(0.005);  // on the bound: in le=0.005
        h.observe(0.0051);
        h.observe(0.3);
        h.observe(1000);  // +Inf only
        CHECK(h.count == 4);
        CHECK(h.sum == doctest::Approx(1000.3101));
        CHECK(h.cumulative(0) == 1);
        CHECK(h.cumulative(1) == 2);
        CHECK(h.cumulative(5) == 2);  // le=0.25
        CHECK(h.cumulative(6) == 3);  // le=0.5
        CHECK(h.cumulative(kBuckets.size() - 1) == 3);
        CHECK(h.cumulative(kBuckets.size()) == 4);
    }

    TEST_CASE("the window: rate, errors, percentiles and requests in flight") {
        Aggregate a(10);
        // 100 requests of 0.1 s each, ending over the last 10 s: 10/s, 1 in flight on average.
        for (int i = 0; i < 100; ++i)
            a.add_line(line(990.1 + i * 0.1, 0.1, i < 5 ? 500 : 200, "10.0.0.2:5000", i < 5 ? "500" : "200", "0.100"),
                       book);
        // Ended before the window: counted in the totals only.
        a.add_line(line(900, 0.1, 200, "10.0.0.3:5000", "200", "0.100"), book);
        auto w = a.window(1000);
        const auto& one = w.at({"recs", "1"});
        CHECK(one.requests == 100);
        CHECK(one.rate == doctest::Approx(10));
        CHECK(one.errors == 5);
        CHECK(one.error_rate == doctest::Approx(0.5));
        CHECK(one.inflight == doctest::Approx(1.0));
        CHECK(one.p50 == doctest::Approx(0.1));
        CHECK(one.p99 == doctest::Approx(0.1));
        CHECK(w.at({"recs", "2"}).requests == 0);
        CHECK(w.at({"recs", "2"}).inflight == 0);
        // A long request that started before the window counts for its part in it.
        Aggregate b(10);
        b.add_line(line(1000, 60, 200, "10.0.0.2:5000", "200", "60.000"), book);
        CHECK(b.window(1000).at({"recs", "1"}).inflight == doctest::Approx(1.0));
    }

    TEST_CASE("quantiles by nearest rank") {
        std::vector<double> v{5, 1, 4, 2, 3, 6, 7, 8, 9, 10};
        CHECK(quantile(v, 0.5) == 5);
        CHECK(quantile(v, 0.95) == 10);
        CHECK(quantile(v, 0.99) == 10);
        std::vector<double> none;
        CHECK(quantile(none, 0.5) == 0);
    }

    TEST_CASE("Prometheus text with the contract's names and labels") {
        Aggregate a;
        a.add_line(line(10, 0.02, 200, "10.0.0.2:5000", "200", "0.020"), book);
        a.add_line(line(10, 0.02, 500, "10.0.0.2:5000", "500", "0.020"), book);
        Snapshot s;
        s.stack = "movies";
        s.replicas = {{"recs", 2}};
        s.current = {{"recs", "1"}, {"recs", "2"}};
        s.totals = a.totals();
        s.window = a.window(10);
        s.balancer_inflight = 3;
        const auto text = prometheus_text(s);
        CHECK(text.find("# TYPE mldeploy_requests_total counter\n") != std::string::npos);
        CHECK(text.find("mldeploy_requests_total{stack=\"movies\",service=\"recs\",replica=\"1\",code=\"200\"} 1\n") !=
              std::string::npos);
        CHECK(text.find("mldeploy_requests_total{stack=\"movies\",service=\"recs\",replica=\"1\",code=\"500\"} 1\n") !=
              std::string::npos);
        CHECK(text.find("# TYPE mldeploy_request_duration_seconds histogram\n") != std::string::npos);
        CHECK(text.find("mldeploy_request_duration_seconds_bucket{stack=\"movies\",service=\"recs\",replica=\"1\","
                        "le=\"0.025\"} 2\n") != std::string::npos);
        CHECK(text.find("mldeploy_request_duration_seconds_bucket{stack=\"movies\",service=\"recs\",replica=\"1\","
                        "le=\"0.01\"} 0\n") != std::string::npos);
        CHECK(text.find("le=\"+Inf\"} 2\n") != std::string::npos);
        CHECK(
            text.find("mldeploy_request_duration_seconds_count{stack=\"movies\",service=\"recs\",replica=\"1\"} 2\n") !=
            std::string::npos);
        CHECK(text.find("mldeploy_inflight_requests{stack=\"movies\",service=\"recs\",replica=\"2\"} 0\n") !=
              std::string::npos);
        CHECK(text.find("mldeploy_replicas{stack=\"movies\",service=\"recs\"} 2\n") != std::string::npos);
        CHECK(text.find("mldeploy_balancer_inflight_requests{stack=\"movies\"} 3\n") != std::string::npos);

        const auto j = top_json(s);
        REQUIRE(j["replicas"].size() == 2);
        CHECK(j["replicas"][0]["requests_total"] == 2);
        CHECK(j["replicas"][0]["errors_total"] == 1);
        CHECK(j["replicas"][1]["replica"] == "2");
    }
}
