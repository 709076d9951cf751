#include "engine/build_failure.hpp"

#include <fmt/format.h>

#include <cctype>
#include <vector>

namespace mldeploy::engine {
namespace {

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

std::string_view trim(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())) != 0) text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())) != 0) text.remove_suffix(1);
    return text;
}

// Runs of blanks as one space, trimmed, the keyword in capitals: how two spellings of
// an instruction are compared.
std::string normalized(std::string_view text) {
    std::string out;
    bool blank = false;
    for (char c : trim(text)) {
        if (std::isspace(static_cast<unsigned char>(c)) != 0) {
            blank = true;
            continue;
        }
        if (blank && !out.empty()) out += ' ';
        blank = false;
        out += c;
    }
    for (char& c : out) {
        if (c == ' ') break;
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return out;
}

// The text of a Go quoted string that starts right after `open` in `text`.
std::string go_quoted(std::string_view text, std::size_t open) {
    std::string out;
    for (std::size_t i = open; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        out += text[i];
    }
    return out;
}

// Docker's and Podman's words for an exit status, as one sentence.
std::string nonzero_code(std::string_view code) {
    return fmt::format("the command returned a non-zero code: {}", trim(code));
}

struct Instruction {
    int line;
    std::string text;
};

// The instructions of a Containerfile, continued lines joined as the engines print them.
std::vector<Instruction> instructions(std::string_view text) {
    std::vector<Instruction> out;
    std::string current;
    int start = 0;
    int number = 0;
    while (!text.empty()) {
        const auto end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
        ++number;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        const auto stripped = trim(line);
        if (stripped.empty() || stripped.front() == '#') continue;  // also inside a continued instruction
        if (current.empty()) start = number;
        if (line.back() == '\\') {
            line.remove_suffix(1);
            current += line;
            continue;
        }
        current += line;
        out.push_back({start, std::move(current)});
        current.clear();
    }
    if (!current.empty()) out.push_back({start, std::move(current)});
    return out;
}

// Without terminal colours (Docker wraps a RUN's stderr in "\x1b[91m" ... "\x1b[0m").
std::string without_colours(std::string_view line) {
    std::string out;
    for (std::size_t i = 0; i < line.size(); ++i) {
        if (line[i] == '\x1b' && i + 1 < line.size() && line[i + 1] == '[') {
            i += 2;
            while (i < line.size() && std::isalpha(static_cast<unsigned char>(line[i])) == 0) ++i;
            continue;
        }
        out += line[i];
    }
    return out;
}

}  // namespace

BuildFailure parse_podman_build_error(std::string_view error) {
    BuildFailure failure;
    std::string_view rest = trim(error);
    // building at STEP "RUN x": REASON
    if (constexpr std::string_view at = "building at STEP \""; starts_with(rest, at)) {
        const auto close = rest.find("\": ", at.size());
        if (close != std::string_view::npos) {
            failure.instruction = std::string(trim(rest.substr(at.size(), close - at.size())));
            rest.remove_prefix(close + 3);
        }
    }
    // An unknown instruction: the Go struct dump of the step follows; its Original
    // field is the line as written (the STEP text lost the arguments).
    if (const auto dump = rest.find("&imagebuilder.Step{"); dump != std::string_view::npos) {
        constexpr std::string_view original = "Original:\"";
        if (const auto at = rest.find(original, dump); at != std::string_view::npos)
            failure.instruction = go_quoted(rest, at + original.size());
        rest = trim(rest.substr(0, dump));
    }
    if (constexpr std::string_view unknown = "Build error: Unknown instruction: "; starts_with(rest, unknown)) {
        std::string_view name = rest.substr(unknown.size());
        if (name.size() >= 2 && name.front() == '"' && name.back() == '"') name = name.substr(1, name.size() - 2);
        failure.reason = fmt::format("unknown instruction: {}", name);
        return failure;
    }
    if (constexpr std::string_view runtime = "while running runtime: exit status "; starts_with(rest, runtime)) {
        failure.reason = nonzero_code(rest.substr(runtime.size()));
        return failure;
    }
    // COPY of a missing file: `checking on sources under "/var/tmp/...": copier: stat: "/x": no such file or directory`
    if (constexpr std::string_view stat = "copier: stat: \""; rest.find(stat) != std::string_view::npos) {
        std::string file = go_quoted(rest, rest.find(stat) + stat.size());
        if (!file.empty() && file.front() == '/') file.erase(0, 1);
        failure.reason = fmt::format("file not found in build context or excluded by .dockerignore: {}", file);
        return failure;
    }
    failure.reason = std::string(rest);
    return failure;
}

BuildFailure parse_docker_build_error(std::string_view error) {
    BuildFailure failure;
    std::string_view rest = trim(error);
    // The command '/bin/sh -c x' returned a non-zero code: 2
    if (constexpr std::string_view command = "The command '"; starts_with(rest, command)) {
        constexpr std::string_view code = "' returned a non-zero code: ";
        if (const auto at = rest.rfind(code); at != std::string_view::npos) {
            failure.reason = nonzero_code(rest.substr(at + code.size()));
            return failure;
        }
    }
    // dockerfile parse error line 2: unknown instruction: RUNN
    if (constexpr std::string_view parse = "dockerfile parse error line "; starts_with(rest, parse)) {
        const auto colon = rest.find(": ", parse.size());
        if (colon != std::string_view::npos) {
            failure.line = std::atoi(std::string(rest.substr(parse.size(), colon - parse.size())).c_str());
            failure.reason = std::string(rest.substr(colon + 2));
            return failure;
        }
    }
    failure.reason = std::string(rest);
    return failure;
}

std::optional<std::string> step_instruction(std::string_view line) {
    line = trim(line);
    if (starts_with(line, "[")) {  // Podman's stage of a multi-stage build: "[1/2] STEP ..."
        const auto close = line.find("] ");
        if (close == std::string_view::npos) return std::nullopt;
        line.remove_prefix(close + 2);
    }
    for (std::string_view word : {std::string_view("STEP "), std::string_view("Step ")}) {
        if (!starts_with(line, word)) continue;
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) return std::nullopt;
        const auto count = trim(line.substr(word.size(), colon - word.size()));  // "2/3"
        if (count.empty() || count.find('/') == std::string_view::npos) return std::nullopt;
        return std::string(trim(line.substr(colon + 1)));
    }
    return std::nullopt;
}

bool useful_build_line(std::string_view line) { return line.find("&imagebuilder.Step{") == std::string_view::npos; }

int instruction_line(std::string_view dockerfile_text, std::string_view instruction) {
    const std::string wanted = normalized(instruction);
    if (wanted.empty()) return 0;
    for (const auto& candidate : instructions(dockerfile_text))
        if (normalized(candidate.text) == wanted) return candidate.line;
    return 0;
}

std::string describe_build_failure(BuildFailure failure, const BuildFailureContext& context) {
    if (failure.instruction.empty()) failure.instruction = context.last_step;
    // The instruction as written in the file, and its line.
    const auto listed = instructions(context.dockerfile_text);
    int line = failure.line;
    if (line == 0 && !failure.instruction.empty())
        line = instruction_line(context.dockerfile_text, failure.instruction);
    if (line > 0) {
        for (const auto& candidate : listed)
            if (candidate.line == line) failure.instruction = std::string(trim(candidate.text));
    }
    std::string where = context.dockerfile_label.empty() ? "Containerfile" : context.dockerfile_label;
    if (line > 0) where += fmt::format(":{}", line);
    std::string message = where + ": ";
    if (!failure.instruction.empty()) message += normalized(failure.instruction) + ": ";
    message += failure.reason;
    bool first = true;
    for (const auto& tail_line : context.tail) {
        const std::string shown = without_colours(tail_line);
        if (!useful_build_line(shown) || trim(shown).empty()) continue;
        if (first) message += "\nlast lines of output:";
        first = false;
        message += "\n  " + shown;
    }
    return message;
}

}  // namespace mldeploy::engine
