#include "util/output.hpp"

#include <unistd.h>
#include <cstdio>
#include <cstdlib>

namespace mldeploy::util {

Output::Output(Level level, bool color) : level_(level), color_(color), start_(std::chrono::steady_clock::now()) {}

Output& Output::global() {
    static Output output(Level::normal, isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr);
    return output;
}

void Output::configure(Level level, bool no_color_flag) {
    auto& o = global();
    std::lock_guard lock(o.mutex_);
    o.level_ = level;
    if (no_color_flag) o.color_ = false;
}

void Output::progress_to_stderr() {
    std::lock_guard lock(mutex_);
    progress_ = stderr;
    color_ = color_ && isatty(STDERR_FILENO);
}

double Output::elapsed_s() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Output::write(std::FILE* stream, std::string_view prefix, std::string_view color, std::string_view text) {
    std::lock_guard lock(mutex_);
    if (color_ && !color.empty())
        std::fprintf(stream, "\033[%.*sm%.*s\033[0m%.*s\n", static_cast<int>(color.size()), color.data(),
                     static_cast<int>(prefix.size()), prefix.data(), static_cast<int>(text.size()), text.data());
    else
        std::fprintf(stream, "%.*s%.*s\n", static_cast<int>(prefix.size()), prefix.data(),
                     static_cast<int>(text.size()), text.data());
    std::fflush(stream);
}

void Output::step(std::string_view text) {
    if (level_ != Level::quiet) write(progress_, "==> ", "1;34", text);
}
void Output::done(std::string_view text) {
    if (level_ != Level::quiet) write(progress_, "  ok ", "32", text);
}
void Output::note(std::string_view text) {
    if (level_ != Level::quiet) write(progress_, "    ", "2", text);
}
void Output::detail(std::string_view text) {
    if (level_ == Level::verbose) write(progress_, "    ", "2", text);
}
void Output::result(std::string_view text) { write(stdout, "", "", text); }
void Output::warn(std::string_view text) { write(stderr, "mldeploy: warning: ", "33", text); }
void Output::error(std::string_view text) { write(stderr, "mldeploy: error: ", "1;31", text); }

}  // namespace mldeploy::util
