#include "engine/http.hpp"
#include "engine/podman.hpp"
#include "engine/stream.hpp"

#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

using namespace mldeploy::engine;

namespace {

std::string frame(unsigned char type, const std::string& payload) {
    std::string out;
    out += static_cast<char>(type);
    out += std::string(3, '\0');
    const auto n = static_cast<std::uint32_t>(payload.size());
    out += static_cast<char>((n >> 24) & 0xFF);
    out += static_cast<char>((n >> 16) & 0xFF);
    out += static_cast<char>((n >> 8) & 0xFF);
    out += static_cast<char>(n & 0xFF);
    return out + payload;
}

using Lines = std::vector<std::pair<LogStream, std::string>>;

Lines decode_lines(const std::vector<std::string_view>& chunks) {
    Lines lines;
    LogLineDecoder decoder([&lines](LogStream s, std::string_view line) { lines.emplace_back(s, std::string(line)); });
    for (auto chunk : chunks) {
        decoder.feed(chunk);
    }
    decoder.finish();
    return lines;
}

}  // namespace

TEST_CASE("log frames: lines per stream, whatever the chunk boundaries") {
    const std::string big(70000, 'x');
    const std::string data = frame(1, "hello\nwor") + frame(2, "oops: half") + frame(1, "ld\r\n") +
                             frame(2, " a line\n") + frame(1, "") + frame(1, big + "\n") +
                             frame(2, "no newline at the end");
    const Lines want = {{LogStream::stdout_, "hello"},
                        {LogStream::stdout_, "world"},
                        {LogStream::stderr_, "oops: half a line"},
                        {LogStream::stdout_, big},
                        {LogStream::stderr_, "no newline at the end"}};

    CHECK(decode_lines({data}) == want);
    for (std::size_t cut = 0; cut <= data.size(); cut += (cut < 200 || cut > data.size() - 200) ? 1 : 997) {
        const std::string_view all(data);
        INFO("cut at " << cut);
        REQUIRE(decode_lines({all.substr(0, cut), all.substr(cut)}) == want);
    }
    // Every byte on its own, and three-way splits across the small frames.
    std::vector<std::string_view> bytes;
    for (std::size_t i = 0; i < data.size(); ++i) {
        bytes.push_back(std::string_view(data).substr(i, 1));
    }
    CHECK(decode_lines(bytes) == want);
    const std::string small = frame(1, "ab\ncd") + frame(2, "e\n") + frame(1, "f\n");
    const Lines small_want = {{LogStream::stdout_, "ab"}, {LogStream::stderr_, "e"}, {LogStream::stdout_, "cdf"}};
    for (std::size_t a = 0; a <= small.size(); ++a) {
        for (std::size_t b = a; b <= small.size(); ++b) {
            const std::string_view all(small);
            REQUIRE(decode_lines({all.substr(0, a), all.substr(a, b - a), all.substr(b)}) == small_want);
        }
    }
}

TEST_CASE("log frames: stdin-typed frames count as stdout; a raw stream passes through") {
    CHECK(decode_lines({frame(0, "in\n")}) == Lines{{LogStream::stdout_, "in"}});
    // A TTY container's logs are not multiplexed.
    CHECK(decode_lines({"plain text\nsecond line\n"}) ==
          Lines{{LogStream::stdout_, "plain text"}, {LogStream::stdout_, "second line"}});
}

TEST_CASE("frame decoder: payload pieces and truncation") {
    std::string out;
    FrameDecoder decoder([&out](LogStream s, std::string_view p) {
        out += (s == LogStream::stderr_ ? "E:" : "O:");
        out += p;
    });
    const std::string data = frame(1, "abc") + frame(2, "de");
    decoder.feed(std::string_view(data).substr(0, 10));
    CHECK(decoder.truncated());
    decoder.feed(std::string_view(data).substr(10));
    CHECK_FALSE(decoder.truncated());
    CHECK(out == "O:abO:cE:de");
    CHECK_FALSE(decoder.raw());
}

TEST_CASE("line splitter") {
    std::vector<std::string> lines;
    LineSplitter splitter([&lines](std::string_view l) { lines.emplace_back(l); });
    splitter.feed("a\r\nb");
    splitter.feed("c\n\nd");
    CHECK(lines == std::vector<std::string>{"a", "bc", ""});
    splitter.finish();
    CHECK(lines == std::vector<std::string>{"a", "bc", "", "d"});
    splitter.finish();
    CHECK(lines.size() == 4);
}

TEST_CASE("JSON stream splitter: objects whatever the chunk boundaries") {
    const std::string data =
        "{\"stream\":\"STEP 1/2: FROM x {not a brace}\\n\"}\n"
        "{\"stream\":\"a \\\"quoted\\\" } and \\\\\"}{\"aux\":{\"ID\":\"sha256:ab\"}}\r\n"
        "  {\"error\":\"boom [\",\"errorDetail\":{\"message\":\"boom [\"}}\n"
        "[1,{\"a\":[2]}]";
    const std::vector<std::string> want = {
        "{\"stream\":\"STEP 1/2: FROM x {not a brace}\\n\"}",
        "{\"stream\":\"a \\\"quoted\\\" } and \\\\\"}",
        "{\"aux\":{\"ID\":\"sha256:ab\"}}",
        "{\"error\":\"boom [\",\"errorDetail\":{\"message\":\"boom [\"}}",
        "[1,{\"a\":[2]}]",
    };
    for (std::size_t a = 0; a <= data.size(); ++a) {
        for (std::size_t b = a; b <= data.size(); b += 7) {
            std::vector<std::string> got;
            JsonStreamSplitter splitter([&got](std::string_view t) { got.emplace_back(t); });
            const std::string_view all(data);
            splitter.feed(all.substr(0, a));
            splitter.feed(all.substr(a, b - a));
            splitter.feed(all.substr(b));
            INFO("cuts at " << a << " and " << b);
            REQUIRE(got == want);
            CHECK_FALSE(splitter.truncated());
        }
    }
    std::vector<std::string> got;
    JsonStreamSplitter cut([&got](std::string_view t) { got.emplace_back(t); });
    cut.feed("{\"stream\":\"x\"");
    CHECK(got.empty());
    CHECK(cut.truncated());
}

TEST_CASE("query values are percent-encoded") {
    CHECK(url_encode("a-b_c.d~e") == "a-b_c.d~e");
    CHECK(url_encode("{\"label\":[\"a=b c\"]}") == "%7B%22label%22%3A%5B%22a%3Db%20c%22%5D%7D");
    CHECK(url_encode("ü/&") == "%C3%BC%2F%26");
    CHECK(url_encode_path("localhost/mldeploy/python:3.11") == "localhost/mldeploy/python:3.11");
    CHECK(url_encode_path("a b?") == "a%20b%3F");
    CHECK(Query().str().empty());
    CHECK(Query().add("t", "x:1").add("rm", true).add("n", 3).str() == "?t=x%3A1&rm=true&n=3");
}

TEST_CASE("the engine's message is taken from its JSON error body") {
    CHECK(
        engine_error_message(
            R"({"cause":"no such container","message":"no container with name or ID \"x\" found: no such container","response":404})") ==
        "no container with name or ID \"x\" found: no such container");
    CHECK(engine_error_message(R"({"cause":"only the cause"})") == "only the cause");
    CHECK(engine_error_message("plain text\n") == "plain text");
    CHECK(engine_error_message("") == "");
}

TEST_CASE("EngineError says the step and the engine's words") {
    const EngineError e("create container movies-recommender-1", 409, "name in use");
    CHECK(std::string(e.what()) == "create container movies-recommender-1: name in use");
    CHECK(e.conflict());
    CHECK_FALSE(e.not_found());
    CHECK(std::string(EngineError("start container x", 500, "").what()) == "start container x: HTTP 500");
}
