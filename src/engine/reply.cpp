#include "engine/reply.hpp"

namespace mldeploy::engine::reply {

std::string get_string(const json& object, const char* key) {
    const auto it = object.find(key);
    return (it != object.end() && it->is_string()) ? it->get<std::string>() : std::string();
}

bool get_bool(const json& object, const char* key) {
    const auto it = object.find(key);
    return it != object.end() && it->is_boolean() && it->get<bool>();
}

const json& get_object(const json& object, const char* key) {
    static const json empty = json::object();
    const auto it = object.find(key);
    return (it != object.end() && it->is_object()) ? *it : empty;
}

Labels get_labels(const json& object, const char* key) {
    Labels labels;
    for (const auto& [k, v] : get_object(object, key).items()) {
        if (v.is_string()) {
            labels[k] = v.get<std::string>();
        }
    }
    return labels;
}

json parse_or_null(const std::string& body) {
    if (body.empty()) {
        return nullptr;
    }
    json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
    return parsed.is_discarded() ? json(nullptr) : parsed;
}

std::string with_tail(const std::string& message, const std::deque<std::string>& tail) {
    if (tail.empty()) {
        return message;
    }
    std::string out = message;
    out += "\nlast lines of output:";
    for (const auto& line : tail) {
        out += "\n  ";
        out += line;
    }
    return out;
}

}  // namespace mldeploy::engine::reply
