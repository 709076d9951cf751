#include "stack/rules.hpp"

#include <arpa/inet.h>

#include <array>
#include <cstdio>

namespace mldeploy::stack {
namespace {

bool is_lower_or_digit(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_letter(c) || is_digit(c); }
bool in_set(char c, std::string_view set) { return set.find(c) != std::string_view::npos; }

template <class FirstOk, class RestOk>
bool matches(std::string_view text, FirstOk first_ok, RestOk rest_ok) {
    if (text.empty() || !first_ok(text[0])) return false;
    for (char c : text.substr(1))
        if (!rest_ok(c)) return false;
    return true;
}

}  // namespace

bool is_valid_name(std::string_view name) {
    return name.size() <= detail::max_name_length &&
           matches(name, is_lower_or_digit, [](char c) { return is_lower_or_digit(c) || in_set(c, "_-"); });
}

namespace detail {

bool is_valid_network_name(std::string_view name) {
    return name.size() <= max_name_length &&
           matches(name, is_lower_or_digit, [](char c) { return is_lower_or_digit(c) || in_set(c, "_-."); });
}

bool is_variable_name(std::string_view name) {
    return matches(
        name, [](char c) { return is_letter(c) || c == '_'; }, [](char c) { return is_alnum(c) || c == '_'; });
}

bool is_volume_name(std::string_view name) {
    return matches(name, is_alnum, [](char c) { return is_alnum(c) || in_set(c, "_.-"); });
}

bool has_image_characters(std::string_view image) {
    return matches(image, is_alnum, [](char c) { return is_alnum(c) || in_set(c, "._/:@-"); });
}

bool is_image_reference(std::string_view image) {
    if (!has_image_characters(image)) return false;
    // The engine client puts the reference into request paths with its '/' kept
    // (GET .../images/<reference>/json), and the HTTP client resolves "." and ".."
    // segments, so "localhost/../../containers/x" would ask about something else.
    // Docker's own grammar starts every part with a letter or digit, too.
    for (const auto& part : split(image, '/'))
        if (part.empty() || !is_alnum(part.front())) return false;
    return true;
}

bool is_url_path(std::string_view path) {
    // RFC 3986 path characters less those that mean something to nginx or a shell.
    return matches(
        path, [](char c) { return c == '/'; }, [](char c) { return is_alnum(c) || in_set(c, "/-._~!&()*+,=:@%"); });
}

bool is_ip_literal(std::string_view text) {
    std::string address(text);
    std::array<unsigned char, sizeof(in6_addr)> buffer{};
    return inet_pton(AF_INET, address.c_str(), buffer.data()) == 1 ||
           inet_pton(AF_INET6, address.c_str(), buffer.data()) == 1;
}

std::vector<std::string> split(std::string_view text, char separator) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (std::size_t end = text.find(separator); end != std::string_view::npos; end = text.find(separator, start)) {
        parts.emplace_back(text.substr(start, end - start));
        start = end + 1;
    }
    parts.emplace_back(text.substr(start));
    return parts;
}

std::string in_quotes(std::string_view text) {
    std::string out = "'";
    for (char c : text) {
        auto byte = static_cast<unsigned char>(c);
        if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\r') {
            out += "\\r";
        } else if (byte < 0x20 || byte == 0x7f) {
            std::array<char, 5> escaped{};
            std::snprintf(escaped.data(), escaped.size(), "\\x%02x", byte);
            out += escaped.data();
        } else {
            out += c;
        }
    }
    return out + "'";
}

}  // namespace detail
}  // namespace mldeploy::stack
