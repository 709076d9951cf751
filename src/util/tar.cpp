#include "util/tar.hpp"

#include "util/context_walk.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <regex>
#include <set>
#include <stdexcept>

namespace mldeploy::util {

namespace {

// Go's path.Clean: "" -> ".", "a//b/./c/.." -> "a/b", "/../a" -> "/a".
std::string clean_path(std::string_view path) {
    if (path.empty()) {
        return ".";
    }
    const bool rooted = path.front() == '/';
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t end = path.find('/', start);
        if (end == std::string_view::npos) {
            end = path.size();
        }
        std::string_view part = path.substr(start, end - start);
        if (part.empty() || part == ".") {
            // skip
        } else if (part == "..") {
            if (!parts.empty() && parts.back() != "..") {
                parts.pop_back();
            } else if (!rooted) {
                parts.push_back(part);
            }
        } else {
            parts.push_back(part);
        }
        start = end + 1;
    }
    std::string out = rooted ? "/" : "";
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i > 0) {
            out += '/';
        }
        out += parts[i];
    }
    if (out.empty()) {
        out = ".";
    }
    return out;
}

std::string_view trim(std::string_view s) {
    const auto is_space = [](char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
    };
    while (!s.empty() && is_space(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && is_space(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

enum class MatchType { exact, prefix, suffix, regex };

struct Pattern {
    std::string text;  // cleaned, without '!'
    bool exclusion = false;
    MatchType type = MatchType::exact;
    std::regex re;
    std::string literal_prefix;  // the text before the first wildcard

    bool match(std::string_view path) const {
        switch (type) {
            case MatchType::exact:
                return path == text;
            case MatchType::prefix:
                return path.starts_with(std::string_view(text).substr(0, text.size() - 2));
            case MatchType::suffix: {
                const std::string_view suffix = std::string_view(text).substr(2);
                if (path.ends_with(suffix)) {
                    return true;
                }
                return !suffix.empty() && suffix.front() == '/' && path == suffix.substr(1);
            }
            case MatchType::regex:
                return std::regex_match(path.begin(), path.end(), re);
        }
        return false;
    }
};

// moby/patternmatcher's Pattern.compile, to an ECMAScript regex (the pieces it
// emits mean the same there as in Go's regexp).
Pattern compile_pattern(std::string text, bool exclusion) {
    Pattern p;
    p.exclusion = exclusion;
    p.text = std::move(text);
    const std::string& s = p.text;
    std::string re = "^";
    MatchType type = MatchType::exact;
    bool literal_done = false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char ch = s[i];
        if (ch == '*' || ch == '?' || ch == '[' || ch == '\\') {
            literal_done = true;
        }
        if (!literal_done) {
            p.literal_prefix += ch;
        }
        if (ch == '*') {
            if (i + 1 < s.size() && s[i + 1] == '*') {
                const bool at_start = i == 0;
                ++i;
                if (i + 1 < s.size() && s[i + 1] == '/') {
                    ++i;  // "**/" is "**"
                }
                if (i + 1 >= s.size()) {
                    if (type == MatchType::exact) {
                        type = MatchType::prefix;
                    } else {
                        re += ".*";
                        type = MatchType::regex;
                    }
                } else {
                    re += "(.*/)?";
                    type = MatchType::regex;
                }
                if (at_start) {
                    type = MatchType::suffix;
                }
            } else {
                re += "[^/]*";
                type = MatchType::regex;
            }
        } else if (ch == '?') {
            re += "[^/]";
            type = MatchType::regex;
        } else if (std::string_view(".+()|{}$").find(ch) != std::string_view::npos) {
            re += '\\';
            re += ch;
        } else if (ch == '\\') {
            if (i + 1 < s.size()) {
                re += '\\';
                re += s[++i];
                type = MatchType::regex;
            } else {
                re += "\\\\";
            }
        } else if (ch == '[' || ch == ']') {
            re += ch;
            type = MatchType::regex;
        } else {
            re += ch;
        }
    }
    // Docker checks the syntax with Go's filepath.Match: an unclosed '[' is an error.
    {
        bool in_class = false;
        for (std::size_t i = 0; i < s.size(); ++i) {
            if (s[i] == '\\') {
                ++i;
            } else if (s[i] == '[' && !in_class) {
                in_class = true;
            } else if (s[i] == ']' && in_class) {
                in_class = false;
            }
        }
        if (in_class) {
            throw std::invalid_argument("bad .dockerignore pattern '" + s + "': unclosed '['");
        }
    }
    if (type == MatchType::regex) {
        re += '$';
        try {
            p.re = std::regex(re, std::regex::ECMAScript);
        } catch (const std::regex_error& e) {
            throw std::invalid_argument("bad .dockerignore pattern '" + s + "': " + e.what());
        }
    }
    p.type = type;
    return p;
}

}  // namespace

std::vector<std::string> parse_dockerignore(std::string_view text) {
    std::vector<std::string> patterns;
    if (text.starts_with("\xEF\xBB\xBF")) {
        text.remove_prefix(3);  // a UTF-8 byte order mark
    }
    while (!text.empty()) {
        const auto newline = text.find('\n');
        std::string_view line = text.substr(0, newline);
        text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
        line = trim(line);
        if (line.empty() || line.front() == '#') {
            continue;
        }
        const bool invert = line.front() == '!';
        if (invert) {
            line = trim(line.substr(1));
        }
        std::string pattern;
        if (!line.empty()) {
            pattern = clean_path(line);
            if (pattern.size() > 1 && pattern.front() == '/') {
                pattern.erase(0, 1);
            }
        }
        patterns.push_back(invert ? "!" + pattern : pattern);
    }
    return patterns;
}

std::vector<std::string> read_dockerignore(const std::filesystem::path& dir) {
    const auto file = dir / ".dockerignore";
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        std::error_code ec;
        if (!std::filesystem::exists(file, ec)) {
            return {};
        }
        throw std::runtime_error("cannot read " + file.string() + ": " + std::strerror(errno));
    }
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return parse_dockerignore(text);
}

struct DockerIgnore::Impl {
    std::vector<Pattern> patterns;
    bool exclusions = false;
};

DockerIgnore::DockerIgnore(const std::vector<std::string>& patterns) : impl_(std::make_unique<Impl>()) {
    for (const auto& raw : patterns) {
        std::string_view text = trim(raw);
        if (text.empty()) {
            continue;
        }
        std::string cleaned = clean_path(text);
        bool exclusion = false;
        if (cleaned.front() == '!') {
            if (cleaned.size() == 1) {
                throw std::invalid_argument("bad .dockerignore pattern '!': it excludes nothing");
            }
            exclusion = true;
            cleaned.erase(0, 1);
            impl_->exclusions = true;
        }
        impl_->patterns.push_back(compile_pattern(std::move(cleaned), exclusion));
    }
}

DockerIgnore::~DockerIgnore() = default;
DockerIgnore::DockerIgnore(DockerIgnore&&) noexcept = default;
DockerIgnore& DockerIgnore::operator=(DockerIgnore&&) noexcept = default;

bool DockerIgnore::empty() const { return impl_->patterns.empty(); }

bool DockerIgnore::excluded(std::string_view path) const {
    const std::string file = clean_path(path);
    // The parent folders "a", "a/b", ... of "a/b/c".
    std::vector<std::string_view> parents;
    for (std::size_t slash = file.find('/'); slash != std::string::npos; slash = file.find('/', slash + 1)) {
        parents.push_back(std::string_view(file).substr(0, slash));
    }
    bool matched = false;
    for (const auto& pattern : impl_->patterns) {
        if (pattern.exclusion != matched) {
            continue;  // an inclusion when already excluded, or an exclusion when not
        }
        bool match = pattern.match(file);
        for (std::size_t i = 0; !match && i < parents.size(); ++i) {
            match = pattern.match(parents[i]);
        }
        if (match) {
            matched = !pattern.exclusion;
        }
    }
    return matched;
}

bool DockerIgnore::may_reinclude_under(std::string_view dir) const {
    if (!impl_->exclusions) {
        return false;
    }
    const std::string dir_slash = clean_path(dir) + "/";
    for (const auto& pattern : impl_->patterns) {
        if (!pattern.exclusion) {
            continue;
        }
        // Docker's own rule: "!dir/file" keeps "dir" walked.
        if ((pattern.text + "/").starts_with(dir_slash)) {
            return true;
        }
        // With wildcards, anything whose fixed start agrees with the folder might match.
        if (pattern.type != MatchType::exact) {
            const std::string& lit = pattern.literal_prefix;
            if (lit.empty() || dir_slash.starts_with(lit) || lit.starts_with(dir_slash)) {
                return true;
            }
        }
    }
    return false;
}

namespace {

struct ArchiveDeleter {
    void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
    void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveDeleter>;
using EntryPtr = std::unique_ptr<archive_entry, EntryDeleter>;

la_ssize_t append_to_string(archive*, void* client, const void* buffer, size_t length) {
    static_cast<std::string*>(client)->append(static_cast<const char*>(buffer), length);
    return static_cast<la_ssize_t>(length);
}

class TarWriter {
public:
    TarWriter() : archive_(archive_write_new()) {
        if (!archive_) {
            throw std::runtime_error("libarchive: cannot make a writer");
        }
        check(archive_write_set_format_pax_restricted(archive_.get()), "choose the tar format");
        check(archive_write_open(archive_.get(), &out_, nullptr, append_to_string, nullptr), "open the tar");
    }

    void add_directory(const std::string& path, unsigned mode, std::time_t mtime) {
        EntryPtr entry = make_entry(path, AE_IFDIR, mode, mtime);
        check(archive_write_header(archive_.get(), entry.get()), "add " + path);
    }

    void add_symlink(const std::string& path, const std::string& target, std::time_t mtime) {
        EntryPtr entry = make_entry(path, AE_IFLNK, 0777, mtime);
        archive_entry_set_symlink(entry.get(), target.c_str());
        check(archive_write_header(archive_.get(), entry.get()), "add " + path);
    }

    void add_file(const std::string& path, std::string_view content, unsigned mode, std::time_t mtime) {
        EntryPtr entry = make_entry(path, AE_IFREG, mode, mtime);
        archive_entry_set_size(entry.get(), static_cast<la_int64_t>(content.size()));
        check(archive_write_header(archive_.get(), entry.get()), "add " + path);
        write_data(path, content);
    }

    // A file whose bytes come in pieces (write_data), `size` in all.
    void begin_file(const std::string& path, std::int64_t size, unsigned mode, std::time_t mtime) {
        EntryPtr entry = make_entry(path, AE_IFREG, mode, mtime);
        archive_entry_set_size(entry.get(), size);
        check(archive_write_header(archive_.get(), entry.get()), "add " + path);
        current_ = path;
    }

    void file_data(std::string_view piece) { write_data(current_, piece); }

    std::string finish() {
        check(archive_write_close(archive_.get()), "finish the tar");
        return std::move(out_);
    }

private:
    static EntryPtr make_entry(const std::string& path, unsigned type, unsigned mode, std::time_t mtime) {
        EntryPtr entry(archive_entry_new());
        if (!entry) {
            throw std::bad_alloc();
        }
        archive_entry_set_pathname(entry.get(), path.c_str());
        archive_entry_set_filetype(entry.get(), type);
        archive_entry_set_perm(entry.get(), static_cast<__LA_MODE_T>(mode & 07777));
        archive_entry_set_uid(entry.get(), 0);
        archive_entry_set_gid(entry.get(), 0);
        archive_entry_set_mtime(entry.get(), mtime, 0);
        return entry;
    }

    void write_data(const std::string& path, std::string_view data) {
        while (!data.empty()) {
            const la_ssize_t written = archive_write_data(archive_.get(), data.data(), data.size());
            if (written < 0) {
                throw std::runtime_error("libarchive: cannot add " + path + ": " + error_text());
            }
            data.remove_prefix(static_cast<std::size_t>(written));
        }
    }

    void check(int status, const std::string& what) {
        if (status < ARCHIVE_WARN) {
            throw std::runtime_error("libarchive: cannot " + what + ": " + error_text());
        }
    }

    std::string error_text() {
        const char* text = archive_error_string(archive_.get());
        return text != nullptr ? text : "unknown error";
    }

    std::string out_;  // before archive_: the writer's callbacks append here until it is freed
    ArchivePtr archive_;
    std::string current_;  // the file begin_file started, for messages
};

// A walked build context, into a tar.
class TarSink : public ContextSink {
public:
    explicit TarSink(TarWriter& writer) : writer_(writer) {}
    void directory(const std::string& path, unsigned mode, std::time_t mtime) override {
        writer_.add_directory(path, mode, mtime);
    }
    void symlink(const std::string& path, const std::string& target, std::time_t mtime) override {
        writer_.add_symlink(path, target, mtime);
    }
    void file_begin(const std::string& path, std::int64_t size, unsigned mode, std::time_t mtime) override {
        writer_.begin_file(path, size, mode, mtime);
    }
    void file_data(std::string_view piece) override { writer_.file_data(piece); }
    void file_end() override {}

private:
    TarWriter& writer_;
};

}  // namespace

std::string tar_directory(const std::filesystem::path& dir, const std::vector<std::string>& dockerignore_patterns,
                          const std::vector<std::string>& always_include) {
    TarWriter writer;
    TarSink tar(writer);
    walk_context(dir, dockerignore_patterns, always_include, tar);
    return writer.finish();
}

std::string tar_directory(const std::filesystem::path& dir, const std::vector<std::string>& dockerignore_patterns,
                          const std::vector<std::string>& always_include, ContextSink& also) {
    TarWriter writer;
    TarSink tar(writer);
    TeeSink both(tar, also);
    walk_context(dir, dockerignore_patterns, always_include, both);
    return writer.finish();
}

std::string tar_files(const std::vector<TarEntry>& entries) {
    TarWriter writer;
    const std::time_t now = std::time(nullptr);
    std::set<std::string> dirs_done;
    for (const auto& entry : entries) {
        std::string path = clean_path(entry.path);
        while (path.starts_with("/")) {
            path.erase(0, 1);
        }
        if (path.empty() || path == "." || path == ".." || path.starts_with("../")) {
            throw std::invalid_argument("tar entry '" + entry.path + "': needs a relative path inside the folder");
        }
        for (std::size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1)) {
            std::string parent = path.substr(0, slash);
            if (dirs_done.insert(parent).second) {
                writer.add_directory(parent, 0755, now);
            }
        }
        writer.add_file(path, entry.content, entry.mode, now);
    }
    return writer.finish();
}

}  // namespace mldeploy::util
