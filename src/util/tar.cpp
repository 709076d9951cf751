#include "util/tar.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <regex>
#include <set>
#include <stdexcept>
#include <utility>

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

bool DockerIgnore::empty() const {
    return impl_->patterns.empty();
}

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

    // `fd` is open on the file; `source` names it in messages.
    void add_file_from_disk(const std::string& path, int fd, const std::filesystem::path& source, std::int64_t size,
                            unsigned mode, std::time_t mtime) {
        EntryPtr entry = make_entry(path, AE_IFREG, mode, mtime);
        archive_entry_set_size(entry.get(), size);
        check(archive_write_header(archive_.get(), entry.get()), "add " + path);
        std::vector<char> buffer(64 * 1024);
        std::int64_t left = size;
        while (left > 0) {
            const auto want =
                static_cast<std::size_t>(std::min<std::int64_t>(left, static_cast<std::int64_t>(buffer.size())));
            const ssize_t got = ::read(fd, buffer.data(), want);
            if (got < 0 && errno == EINTR) {
                continue;
            }
            if (got < 0) {
                throw std::runtime_error("cannot read " + source.string() + ": " + std::strerror(errno));
            }
            if (got == 0) {
                throw std::runtime_error("cannot read " + source.string() + ": it became shorter while being packed");
            }
            write_data(path, std::string_view(buffer.data(), static_cast<std::size_t>(got)));
            left -= got;
        }
    }

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
};

// A file descriptor, closed when it goes.
class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    Fd& operator=(Fd&&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

struct DirCloser {
    void operator()(DIR* d) const { ::closedir(d); }
};

[[noreturn]] void cannot_read(const std::filesystem::path& path) {
    throw std::runtime_error("cannot read " + path.string() + ": " + std::strerror(errno));
}

// The names in the folder open as `dir_fd`, sorted.
std::vector<std::string> list_folder(int dir_fd, const std::filesystem::path& shown) {
    // A descriptor of its own: readdir moves its offset, and fdopendir takes it over.
    const int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        cannot_read(shown);
    }
    std::unique_ptr<DIR, DirCloser> dir(::fdopendir(fd));
    if (!dir) {
        const int error = errno;
        ::close(fd);
        errno = error;
        cannot_read(shown);
    }
    std::vector<std::string> names;
    for (;;) {
        errno = 0;
        const dirent* entry = ::readdir(dir.get());
        if (entry == nullptr) {
            if (errno != 0) {
                cannot_read(shown);
            }
            break;
        }
        const std::string_view name = entry->d_name;
        if (name != "." && name != "..") {
            names.emplace_back(name);
        }
    }
    std::sort(names.begin(), names.end());
    return names;
}

// Opens `name` in `dir_fd` as what `seen` (its lstat) says it is, never through a
// symbolic link. The walk looks first and opens after; a folder or file swapped for a
// link in between would otherwise be followed, and what it points at, anywhere on the
// machine, would be packed as if it were in the context.
Fd open_seen(int dir_fd, const std::string& name, const struct stat& seen, const std::filesystem::path& shown) {
    int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC;
    // O_NONBLOCK: a file swapped for a fifo must not hang the open; it fails the check below.
    flags |= S_ISDIR(seen.st_mode) ? O_DIRECTORY : O_NONBLOCK;
    Fd fd(::openat(dir_fd, name.c_str(), flags));
    if (fd.get() < 0) {
        cannot_read(shown);
    }
    struct stat now {};
    if (::fstat(fd.get(), &now) != 0) {
        cannot_read(shown);
    }
    if (now.st_dev != seen.st_dev || now.st_ino != seen.st_ino || (now.st_mode & S_IFMT) != (seen.st_mode & S_IFMT)) {
        throw std::runtime_error("cannot read " + shown.string() + ": it changed while being packed");
    }
    return fd;
}

// Walks the context through descriptors (openat, fstatat, readlinkat relative to the
// folder's own descriptor), so that every entry comes from inside the context folder.
struct Walker {
    TarWriter& writer;
    const DockerIgnore& ignore;
    std::vector<std::pair<std::string, struct stat>> pending_dirs;  // excluded folders walked for re-includes

    void flush_pending() {
        for (const auto& [path, st] : pending_dirs) {
            writer.add_directory(path, st.st_mode, st.st_mtime);
        }
        pending_dirs.clear();
    }

    // `abs_dir` names the folder open as `dir_fd` in messages only.
    void walk(int dir_fd, const std::filesystem::path& abs_dir, const std::string& rel_dir) {
        for (const auto& name : list_folder(dir_fd, abs_dir)) {
            const std::filesystem::path abs = abs_dir / name;
            const std::string rel = rel_dir.empty() ? name : rel_dir + "/" + name;
            struct stat st {};
            if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
                cannot_read(abs);
            }
            const bool is_dir = S_ISDIR(st.st_mode);
            if (ignore.excluded(rel)) {
                if (is_dir && ignore.may_reinclude_under(rel)) {
                    const std::size_t depth = pending_dirs.size();
                    pending_dirs.emplace_back(rel, st);
                    const Fd sub = open_seen(dir_fd, name, st, abs);
                    walk(sub.get(), abs, rel);
                    if (pending_dirs.size() > depth) {
                        pending_dirs.resize(depth);  // nothing under it was written
                    }
                }
                continue;
            }
            if (is_dir) {
                const Fd sub = open_seen(dir_fd, name, st, abs);
                flush_pending();
                writer.add_directory(rel, st.st_mode, st.st_mtime);
                walk(sub.get(), abs, rel);
            } else if (S_ISREG(st.st_mode)) {
                const Fd file = open_seen(dir_fd, name, st, abs);
                flush_pending();
                writer.add_file_from_disk(rel, file.get(), abs, st.st_size, st.st_mode, st.st_mtime);
            } else if (S_ISLNK(st.st_mode)) {
                // Kept as a link: its target is text, never read, wherever it points.
                std::string target(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : 4096), '\0');
                const ssize_t n = ::readlinkat(dir_fd, name.c_str(), target.data(), target.size());
                if (n < 0) {
                    throw std::runtime_error("cannot read the link " + abs.string() + ": " + std::strerror(errno));
                }
                target.resize(static_cast<std::size_t>(n));
                flush_pending();
                writer.add_symlink(rel, target, st.st_mtime);
            }
            // sockets, fifos and devices have no place in a build context
        }
    }
};

}  // namespace

std::string tar_directory(const std::filesystem::path& dir, const std::vector<std::string>& dockerignore_patterns,
                          const std::vector<std::string>& always_include) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
        throw std::runtime_error("cannot pack " + dir.string() + ": not a folder");
    }
    std::vector<std::string> patterns = dockerignore_patterns;
    {
        // Like the Docker CLI: the Dockerfile and .dockerignore always go along.
        const DockerIgnore check(patterns);
        std::vector<std::string> keep = {"Dockerfile", ".dockerignore"};
        keep.insert(keep.end(), always_include.begin(), always_include.end());
        for (const auto& path : keep) {
            const std::string cleaned = clean_path(path);
            if (!check.empty() && check.excluded(cleaned)) {
                patterns.push_back("!" + cleaned);
            }
        }
    }
    const DockerIgnore ignore(patterns);
    // Opened following links: a context folder that is itself a link is packed from
    // where it points, as the user named it (they may name any folder anyway). Links
    // inside it are never followed.
    const Fd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (root.get() < 0) {
        throw std::runtime_error("cannot pack " + dir.string() + ": " + std::strerror(errno));
    }
    TarWriter writer;
    Walker walker{writer, ignore, {}};
    walker.walk(root.get(), dir, "");
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
