// Decoders for the engines' streamed answers. Pure: bytes in, callbacks out, so
// they are tested by splitting input at every byte offset.
#pragma once

#include "engine/engine.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace mldeploy::engine {

// Cuts text into lines, whatever the pieces it arrives in. A line is emitted
// without its "\n" (and without a "\r" before it); finish() emits a last line that
// has no newline.
class LineSplitter {
public:
    using Sink = std::function<void(std::string_view line)>;
    explicit LineSplitter(Sink sink) : sink_(std::move(sink)) {}

    void feed(std::string_view text);
    void finish();

private:
    Sink sink_;
    std::string partial_;
};

// The multiplexed stream of logs and exec output (Docker's stdcopy format, also
// Podman's): frames of an 8-byte header [type (0 stdin, 1 stdout, 2 stderr), 0, 0,
// 0, big-endian uint32 length] then `length` bytes of payload. Accepts the
// frames split at any byte.
//
// If a header is impossible (bytes 1..3 not zero, or a type above 2), the stream is
// taken to be raw, not multiplexed (a container with a TTY), and everything from
// there on is passed on as stdout.
class FrameDecoder {
public:
    using PayloadSink = std::function<void(LogStream, std::string_view payload)>;
    explicit FrameDecoder(PayloadSink sink) : sink_(std::move(sink)) {}

    void feed(std::string_view data);
    // True when the stream ended inside a frame (a header or payload cut short).
    bool truncated() const { return header_filled_ != 0 || remaining_ != 0; }
    bool raw() const { return raw_; }

private:
    PayloadSink sink_;
    std::array<unsigned char, 8> header_{};
    std::size_t header_filled_ = 0;
    std::uint32_t remaining_ = 0;
    LogStream current_ = LogStream::stdout_;
    bool raw_ = false;
};

// FrameDecoder + a LineSplitter per stream: complete lines per stream, partial
// lines kept until their newline arrives; finish() flushes what is left.
class LogLineDecoder {
public:
    explicit LogLineDecoder(LogSink sink);
    LogLineDecoder(const LogLineDecoder&) = delete;  // its parts point at each other
    LogLineDecoder& operator=(const LogLineDecoder&) = delete;

    void feed(std::string_view data) { frames_.feed(data); }
    void finish();

private:
    LogSink sink_;
    LineSplitter out_;
    LineSplitter err_;
    FrameDecoder frames_;
};

// Splits a stream of JSON values written one after another (with or without
// newlines between them, as Podman's build and pull progress are) into the text
// of each top-level object or array, whatever the pieces it arrives in. Strings
// are honoured, so braces inside them do not count. Stray text between values
// (whitespace, anything that is not '{' or '[') is skipped.
class JsonStreamSplitter {
public:
    using Sink = std::function<void(std::string_view json_text)>;
    explicit JsonStreamSplitter(Sink sink) : sink_(std::move(sink)) {}

    void feed(std::string_view data);
    // True when the stream ended inside a value.
    bool truncated() const { return depth_ != 0; }

private:
    Sink sink_;
    std::string current_;
    int depth_ = 0;
    bool in_string_ = false;
    bool escaped_ = false;
};

}  // namespace mldeploy::engine
