#include "util/since.hpp"

#include "util/units.hpp"

#include <charconv>
#include <ctime>
#include <string>

namespace mldeploy::util {
namespace {

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

// Exactly `n` digits at `at`, as a number; -1 when they are not there.
int digits(std::string_view s, std::size_t at, std::size_t n) {
    if (at + n > s.size() || !all_digits(s.substr(at, n))) return -1;
    int v = 0;
    std::from_chars(s.data() + at, s.data() + at + n, v);
    return v;
}

// "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)": the zone is required, so that
// the same text means the same time on every machine.
std::optional<std::int64_t> parse_rfc3339(std::string_view s) {
    const int year = digits(s, 0, 4), month = digits(s, 5, 2), day = digits(s, 8, 2);
    const int hour = digits(s, 11, 2), minute = digits(s, 14, 2), second = digits(s, 17, 2);
    if (year < 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || minute < 0 ||
        minute > 59 || second < 0 || second > 60)
        return std::nullopt;
    if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':')
        return std::nullopt;
    std::size_t at = 19;
    if (at < s.size() && s[at] == '.') {
        ++at;
        const auto start = at;
        while (at < s.size() && s[at] >= '0' && s[at] <= '9') ++at;
        if (at == start) return std::nullopt;
    }
    std::int64_t offset = 0;
    const auto zone = s.substr(at);
    if (zone == "Z" || zone == "z") {
        offset = 0;
    } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
        const int zh = digits(zone, 1, 2), zm = digits(zone, 4, 2);
        if (zh < 0 || zh > 23 || zm < 0 || zm > 59) return std::nullopt;
        offset = (zh * 3600 + zm * 60) * (zone[0] == '+' ? 1 : -1);
    } else {
        return std::nullopt;
    }
    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    return static_cast<std::int64_t>(::timegm(&tm)) - offset;
}

}  // namespace

std::optional<std::int64_t> parse_since(std::string_view text, std::chrono::system_clock::time_point now) {
    if (all_digits(text)) {
        std::int64_t v = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
        return v;
    }
    if (auto d = parse_duration(text)) {
        const auto since = now - *d;
        return std::chrono::duration_cast<std::chrono::seconds>(since.time_since_epoch()).count();
    }
    return parse_rfc3339(text);
}

}  // namespace mldeploy::util
