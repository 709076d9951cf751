// Reading the engines' JSON answers: typed field access that tolerates missing
// or mistyped fields, and the progress stream of a build or pull. Shared by the
// Podman and Docker flavours (both speak Docker-style JSON here).
#pragma once

#include "engine/build_failure.hpp"
#include "engine/engine.hpp"
#include "engine/stream.hpp"

#include <nlohmann/json.hpp>

#include <cctype>
#include <deque>
#include <string>
#include <string_view>

namespace mldeploy::engine::reply {

using nlohmann::json;

inline constexpr std::size_t build_tail_lines = 20;

std::string get_string(const json& object, const char* key);

template <typename Int>
Int get_int(const json& object, const char* key) {
    const auto it = object.find(key);
    return (it != object.end() && it->is_number()) ? it->get<Int>() : Int{0};
}

bool get_bool(const json& object, const char* key);
const json& get_object(const json& object, const char* key);
Labels get_labels(const json& object, const char* key);
json parse_or_null(const std::string& body);

// `message` followed by the last lines of a build's output.
std::string with_tail(const std::string& message, const std::deque<std::string>& tail);

// A progress stream of JSON objects (build, pull): "stream" text goes out line by
// line (the last lines are kept for error messages), "status" lines of a pull
// too, "error"/"errorDetail" is remembered, "aux" {"ID"} is the built image.
class ProgressReader {
public:
    explicit ProgressReader(const ProgressSink& progress)
        : progress_(progress),
          lines_([this](std::string_view line) { on_line(line); }),
          json_([this](std::string_view text) { on_object(text); }) {}

    void feed(std::string_view chunk) { json_.feed(chunk); }
    void finish() { lines_.finish(); }

    const std::string& error() const { return error_; }
    const std::string& aux_id() const { return aux_id_; }
    const std::deque<std::string>& tail() const { return tail_; }
    // The instruction of the last "STEP n/m: ..." line: the one that failed, if any did.
    const std::string& last_step() const { return last_step_; }

private:
    void on_line(std::string_view line) {
        if (auto step = step_instruction(line)) last_step_ = std::move(*step);
        tail_.emplace_back(line);
        if (tail_.size() > build_tail_lines) {
            tail_.pop_front();
        }
        if (progress_) {
            progress_(line);
        }
    }

    void on_object(std::string_view text) {
        const json object = json::parse(text, nullptr, /*allow_exceptions=*/false);
        if (object.is_discarded() || !object.is_object()) {
            lines_.feed(text);
            lines_.feed("\n");
            return;
        }
        if (const std::string stream = get_string(object, "stream"); !stream.empty()) {
            lines_.feed(stream);
        }
        if (const std::string status = get_string(object, "status"); !status.empty()) {
            // Pull progress: "Pulling from library/nginx", "<layer>: Downloading" ...
            const std::string id = get_string(object, "id");
            lines_.feed(id.empty() ? status : id + ": " + status);
            lines_.feed("\n");
        }
        std::string error = get_string(object, "error");
        if (error.empty()) {
            error = get_string(get_object(object, "errorDetail"), "message");
        }
        while (!error.empty() && std::isspace(static_cast<unsigned char>(error.back()))) {
            error.pop_back();
        }
        if (!error.empty() && error_.empty()) {
            error_ = error;
        }
        if (const std::string id = get_string(get_object(object, "aux"), "ID"); !id.empty()) {
            aux_id_ = id;
        }
    }

    const ProgressSink& progress_;
    std::deque<std::string> tail_;
    std::string error_;
    std::string aux_id_;
    std::string last_step_;
    LineSplitter lines_;
    JsonStreamSplitter json_;
};

}  // namespace mldeploy::engine::reply
