#include "engine/stream.hpp"

#include <algorithm>

namespace mldeploy::engine {

void LineSplitter::feed(std::string_view text) {
    while (!text.empty()) {
        const auto newline = text.find('\n');
        if (newline == std::string_view::npos) {
            partial_.append(text);
            return;
        }
        std::string_view line = text.substr(0, newline);
        text.remove_prefix(newline + 1);
        if (!partial_.empty()) {
            partial_.append(line);
            line = partial_;
        }
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        sink_(line);
        partial_.clear();
    }
}

void LineSplitter::finish() {
    if (partial_.empty()) {
        return;
    }
    std::string last = std::move(partial_);
    partial_.clear();
    std::string_view line = last;
    if (line.back() == '\r') {
        line.remove_suffix(1);
    }
    sink_(line);
}

void FrameDecoder::feed(std::string_view data) {
    while (!data.empty()) {
        if (raw_) {
            sink_(LogStream::stdout_, data);
            return;
        }
        if (remaining_ > 0) {
            const std::size_t take = std::min<std::size_t>(remaining_, data.size());
            sink_(current_, data.substr(0, take));
            data.remove_prefix(take);
            remaining_ -= static_cast<std::uint32_t>(take);
            continue;
        }
        const std::size_t take = std::min(header_.size() - header_filled_, data.size());
        std::copy_n(data.begin(), take, header_.begin() + static_cast<std::ptrdiff_t>(header_filled_));
        header_filled_ += take;
        data.remove_prefix(take);
        if (header_filled_ < header_.size()) {
            return;
        }
        header_filled_ = 0;
        if (header_[0] > 2 || header_[1] != 0 || header_[2] != 0 || header_[3] != 0) {
            raw_ = true;
            sink_(LogStream::stdout_, std::string_view(reinterpret_cast<const char*>(header_.data()), header_.size()));
            continue;
        }
        current_ = header_[0] == 2 ? LogStream::stderr_ : LogStream::stdout_;
        remaining_ = (std::uint32_t{header_[4]} << 24) | (std::uint32_t{header_[5]} << 16) |
                     (std::uint32_t{header_[6]} << 8) | std::uint32_t{header_[7]};
    }
}

LogLineDecoder::LogLineDecoder(LogSink sink)
    : sink_(std::move(sink)),
      out_([this](std::string_view line) { sink_(LogStream::stdout_, line); }),
      err_([this](std::string_view line) { sink_(LogStream::stderr_, line); }),
      frames_([this](LogStream stream, std::string_view payload) {
          (stream == LogStream::stderr_ ? err_ : out_).feed(payload);
      }) {}

void LogLineDecoder::finish() {
    out_.finish();
    err_.finish();
}

void JsonStreamSplitter::feed(std::string_view data) {
    for (char c : data) {
        if (depth_ == 0) {
            if (c != '{' && c != '[') {
                continue;  // whitespace or stray text between values
            }
            current_.clear();
        }
        current_ += c;
        if (in_string_) {
            if (escaped_) {
                escaped_ = false;
            } else if (c == '\\') {
                escaped_ = true;
            } else if (c == '"') {
                in_string_ = false;
            }
            continue;
        }
        if (c == '"') {
            in_string_ = true;
        } else if (c == '{' || c == '[') {
            ++depth_;
        } else if (c == '}' || c == ']') {
            if (--depth_ == 0) {
                sink_(current_);
                current_.clear();
            }
        }
    }
}

}  // namespace mldeploy::engine
