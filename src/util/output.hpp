// What mldeploy prints: progress and results on stdout, problems on stderr.
// Thread-safe, since replicas start in parallel. Plain lines when stdout is
// not a terminal, colour only on a terminal and without NO_COLOR.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

namespace mldeploy::util {

class Output {
public:
    enum class Level { quiet, normal, verbose };

    Output(Level level, bool color);
    static Output& global();
    static void configure(Level level, bool no_color_flag);

    // A step of long work: "  ✓ started movies-recommender-1 (1.2s)".
    void step(std::string_view text);
    void done(std::string_view text);
    void note(std::string_view text);    // indented progress, not with -q
    void detail(std::string_view text);  // only with -v
    void result(std::string_view text);  // the answer of a command; printed even with -q
    void warn(std::string_view text);
    void error(std::string_view text);

    // Progress (step, done, note, detail) to stderr from now on: for a command
    // whose stdout is another program's (`run` streams its job's output there).
    void progress_to_stderr();

    bool verbose() const { return level_ == Level::verbose; }
    bool quiet() const { return level_ == Level::quiet; }

    // Seconds since this Output was made, for "(1.2s)" suffixes.
    double elapsed_s() const;

private:
    void write(std::FILE* stream, std::string_view prefix, std::string_view color, std::string_view text);

    Level level_;
    bool color_;
    std::atomic<std::FILE*> progress_{stdout};
    std::mutex mutex_;
    std::chrono::steady_clock::time_point start_;
};

}  // namespace mldeploy::util
