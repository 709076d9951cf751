#include "metrics/access_log.hpp"

#include <charconv>
#include <cstdlib>

namespace mldeploy::metrics {
namespace {

std::vector<std::string_view> split(std::string_view text, char sep) {
    std::vector<std::string_view> parts;
    for (;;) {
        const auto at = text.find(sep);
        parts.push_back(text.substr(0, at));
        if (at == std::string_view::npos) return parts;
        text.remove_prefix(at + 1);
    }
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
}

// nginx's lists of tries: ", " between tries of one upstream group, " : " between
// groups (an internal redirect). Both are one more try here.
std::vector<std::string_view> tries_of(std::string_view field) {
    std::vector<std::string_view> out;
    if (field.empty() || field == "-") return out;
    // An address holds ':' too ("10.0.0.2:5000"): the group separator is the
    // one with spaces around it.
    std::size_t begin = 0;
    for (std::size_t i = 0; i <= field.size(); ++i) {
        const bool end = i == field.size();
        const bool comma = !end && field[i] == ',';
        const bool group = !end && field.substr(i).starts_with(" : ");
        if (!end && !comma && !group) continue;
        out.push_back(trim(field.substr(begin, i - begin)));
        if (group) i += 2;
        begin = i + 1;
    }
    return out;
}

std::optional<double> number(std::string_view s) {
    s = trim(s);
    if (s.empty() || s == "-") return std::nullopt;
    double value = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || ptr != s.data() + s.size()) return std::nullopt;
    return value;
}

std::optional<int> status(std::string_view s) {
    s = trim(s);
    int value = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || ptr != s.data() + s.size() || value < 100 || value > 999) return std::nullopt;
    return value;
}

}  // namespace

std::string service_of_upstream(std::string_view upstream) {
    constexpr std::string_view prefix = "mldeploy_";
    if (upstream.starts_with(prefix)) upstream.remove_prefix(prefix.size());
    return std::string(upstream);
}

std::optional<Record> parse_access_line(std::string_view line) {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    const auto fields = split(line, '|');
    if (fields.size() != 8 || fields[0] != "mldeploy1") return std::nullopt;
    Record r;
    const auto end = number(fields[1]);
    const auto seconds = number(fields[2]);
    const auto code = status(fields[3]);
    if (!end || !seconds || !code) return std::nullopt;
    r.end = *end;
    r.seconds = *seconds;
    r.status = *code;
    if (fields[4] != "-" && !fields[4].empty()) r.service = service_of_upstream(fields[4]);
    const auto addresses = tries_of(fields[5]);
    const auto codes = tries_of(fields[6]);
    const auto times = tries_of(fields[7]);
    r.attempts.resize(addresses.size());
    for (std::size_t i = 0; i < addresses.size(); ++i) {
        auto& a = r.attempts[i];
        a.address = std::string(addresses[i]);
        if (i < codes.size()) a.code = status(codes[i]).value_or(0);
        if (i < times.size()) a.seconds = number(times[i]).value_or(0);
    }
    // The last try's answer is the client's; one the replica never gave (the
    // client went away first: "-") counts as what the client got.
    if (!r.attempts.empty() && r.attempts.back().code == 0) r.attempts.back().code = r.status;
    for (auto& a : r.attempts)
        if (a.code == 0) a.code = 502;  // an earlier try that got no answer was passed over
    // Tries run one after another and the last ends with the request.
    double at = r.end;
    for (auto it = r.attempts.rbegin(); it != r.attempts.rend(); ++it) {
        it->end = at;
        it->start = at - it->seconds;
        at = it->start;
    }
    return r;
}

}  // namespace mldeploy::metrics
