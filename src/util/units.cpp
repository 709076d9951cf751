#include "util/units.hpp"

#include <array>
#include <limits>

namespace mldeploy::util {
namespace {

using std::int64_t;

struct Unit {
    std::string_view suffix;
    int64_t scale;
};

// Largest first, so that formatting picks the largest exact unit.
constexpr std::array<Unit, 3> duration_units{{{"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}}};
constexpr std::array<Unit, 3> size_units{{{"g", 1LL << 30}, {"m", 1LL << 20}, {"k", 1LL << 10}}};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool all_digits(std::string_view text) {
    if (text.empty()) return false;
    for (char c : text)
        if (!is_digit(c)) return false;
    return true;
}

std::optional<int64_t> checked_mul(int64_t a, int64_t b) {
    int64_t result = 0;
    if (__builtin_mul_overflow(a, b, &result)) return std::nullopt;
    return result;
}

std::optional<int64_t> checked_add(int64_t a, int64_t b) {
    int64_t result = 0;
    if (__builtin_add_overflow(a, b, &result)) return std::nullopt;
    return result;
}

std::optional<int64_t> parse_digits(std::string_view digits) {
    int64_t value = 0;
    for (char c : digits) {
        auto next = checked_mul(value, 10);
        if (!next) return std::nullopt;
        next = checked_add(*next, c - '0');
        if (!next) return std::nullopt;
        value = *next;
    }
    return value;
}

// "<digits>[.<digits>]" times `scale`, only when the result is a whole number:
// "1.5" s is 1500 ms, but "1.0005" s is not a whole number of milliseconds.
std::optional<int64_t> parse_scaled(std::string_view number, int64_t scale) {
    auto dot = number.find('.');
    std::string_view whole = number.substr(0, dot);
    std::string_view fraction = dot == std::string_view::npos ? "" : number.substr(dot + 1);
    if (!all_digits(whole)) return std::nullopt;
    if (dot != std::string_view::npos && !all_digits(fraction)) return std::nullopt;
    while (!fraction.empty() && fraction.back() == '0') fraction.remove_suffix(1);
    if (fraction.size() > 18) return std::nullopt;

    auto whole_value = parse_digits(whole);
    if (!whole_value) return std::nullopt;
    auto scaled = checked_mul(*whole_value, scale);
    if (!scaled) return std::nullopt;
    if (fraction.empty()) return scaled;

    int64_t denominator = 1;
    for (std::size_t i = 0; i < fraction.size(); ++i) denominator *= 10;
    auto numerator = checked_mul(*parse_digits(fraction), scale);
    if (!numerator || *numerator % denominator != 0) return std::nullopt;
    return checked_add(*scaled, *numerator / denominator);
}

// Splits "1.5ms" into "1.5" and "ms".
std::pair<std::string_view, std::string_view> split_suffix(std::string_view text) {
    std::size_t end = 0;
    while (end < text.size() && (is_digit(text[end]) || text[end] == '.')) ++end;
    return {text.substr(0, end), text.substr(end)};
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

template <std::size_t N>
std::string format_in_units(int64_t value, const std::array<Unit, N>& units, std::string_view fallback) {
    for (const auto& unit : units)
        if (value % unit.scale == 0) return std::to_string(value / unit.scale) + std::string(unit.suffix);
    return std::to_string(value) + std::string(fallback);
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
    auto [number, suffix] = split_suffix(text);
    int64_t scale = 0;
    if (suffix == "ms") scale = 1;
    for (const auto& unit : duration_units)
        if (suffix == unit.suffix) scale = unit.scale;
    if (scale == 0) return std::nullopt;
    auto millis = parse_scaled(number, scale);
    if (!millis) return std::nullopt;
    return std::chrono::milliseconds(*millis);
}

std::optional<int64_t> parse_size(std::string_view text) {
    auto [number, suffix] = split_suffix(text);
    int64_t scale = 0;
    if (suffix.empty()) scale = 1;
    for (const auto& unit : size_units)
        if (suffix.size() == 1 && lower(suffix[0]) == unit.suffix[0]) scale = unit.scale;
    if (scale == 0) return std::nullopt;
    return parse_scaled(number, scale);
}

std::string format_duration(std::chrono::milliseconds d) {
    if (d.count() == 0) return "0s";
    return format_in_units(d.count(), duration_units, "ms");
}

std::string format_size(int64_t bytes) {
    if (bytes == 0) return "0";
    return format_in_units(bytes, size_units, "");
}

}  // namespace mldeploy::util
