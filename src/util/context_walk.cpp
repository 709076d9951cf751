#include "util/context_walk.hpp"

#include "util/fd.hpp"
#include "util/tar.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <utility>

namespace mldeploy::util {
namespace {

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
    if (fd < 0) cannot_read(shown);
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
            if (errno != 0) cannot_read(shown);
            break;
        }
        const std::string_view name = entry->d_name;
        if (name != "." && name != "..") names.emplace_back(name);
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
    if (fd.get() < 0) cannot_read(shown);
    struct stat now {};
    if (::fstat(fd.get(), &now) != 0) cannot_read(shown);
    if (now.st_dev != seen.st_dev || now.st_ino != seen.st_ino || (now.st_mode & S_IFMT) != (seen.st_mode & S_IFMT))
        throw std::runtime_error("cannot read " + shown.string() + ": it changed while being packed");
    return fd;
}

// Walks the context through descriptors (openat, fstatat, readlinkat relative to the
// folder's own descriptor), so that every entry comes from inside the context folder.
struct Walker {
    ContextSink& sink;
    const DockerIgnore& ignore;
    std::vector<std::pair<std::string, struct stat>> pending_dirs;  // excluded folders walked for re-includes

    // An excluded folder goes in only once something under it is re-included.
    void flush_pending() {
        for (const auto& [path, st] : pending_dirs) sink.directory(path, st.st_mode & 07777, st.st_mtime);
        pending_dirs.clear();
    }

    void file(const std::string& rel, int fd, const std::filesystem::path& abs, const struct stat& st) {
        // The size comes from lstat, before the first byte: a tar header needs it.
        // A file that grows meanwhile is cut there; one that shrinks is an error.
        sink.file_begin(rel, st.st_size, st.st_mode & 07777, st.st_mtime);
        std::vector<char> buffer(64 * 1024);
        std::int64_t left = st.st_size;
        while (left > 0) {
            const auto want =
                static_cast<std::size_t>(std::min<std::int64_t>(left, static_cast<std::int64_t>(buffer.size())));
            const ssize_t got = ::read(fd, buffer.data(), want);
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) cannot_read(abs);
            if (got == 0)
                throw std::runtime_error("cannot read " + abs.string() + ": it became shorter while being packed");
            sink.file_data(std::string_view(buffer.data(), static_cast<std::size_t>(got)));
            left -= got;
        }
        sink.file_end();
    }

    // `abs_dir` names the folder open as `dir_fd` in messages only.
    void walk(int dir_fd, const std::filesystem::path& abs_dir, const std::string& rel_dir) {
        for (const auto& name : list_folder(dir_fd, abs_dir)) {
            const std::filesystem::path abs = abs_dir / name;
            const std::string rel = rel_dir.empty() ? name : rel_dir + "/" + name;
            struct stat st {};
            if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) cannot_read(abs);
            const bool is_dir = S_ISDIR(st.st_mode);
            if (ignore.excluded(rel)) {
                if (is_dir && ignore.may_reinclude_under(rel)) {
                    const std::size_t depth = pending_dirs.size();
                    pending_dirs.emplace_back(rel, st);
                    const Fd sub = open_seen(dir_fd, name, st, abs);
                    walk(sub.get(), abs, rel);
                    if (pending_dirs.size() > depth) pending_dirs.resize(depth);  // nothing under it went in
                }
                continue;
            }
            if (is_dir) {
                const Fd sub = open_seen(dir_fd, name, st, abs);
                flush_pending();
                sink.directory(rel, st.st_mode & 07777, st.st_mtime);
                walk(sub.get(), abs, rel);
            } else if (S_ISREG(st.st_mode)) {
                const Fd in = open_seen(dir_fd, name, st, abs);
                flush_pending();
                file(rel, in.get(), abs, st);
            } else if (S_ISLNK(st.st_mode)) {
                // Kept as a link: its target is text, never read, wherever it points.
                std::string target(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : 4096), '\0');
                const ssize_t n = ::readlinkat(dir_fd, name.c_str(), target.data(), target.size());
                if (n < 0)
                    throw std::runtime_error("cannot read the link " + abs.string() + ": " + std::strerror(errno));
                target.resize(static_cast<std::size_t>(n));
                flush_pending();
                sink.symlink(rel, target, st.st_mtime);
            }
            // sockets, fifos and devices have no place in a build context
        }
    }
};

}  // namespace

void walk_context(const std::filesystem::path& dir, const std::vector<std::string>& dockerignore_patterns,
                  const std::vector<std::string>& always_include, ContextSink& sink) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
        throw std::runtime_error("cannot read the build context " + dir.string() + ": not a folder");
    std::vector<std::string> patterns = dockerignore_patterns;
    {
        // Like the Docker CLI: the Dockerfile and .dockerignore always go along.
        const DockerIgnore check(patterns);
        std::vector<std::string> keep = {"Dockerfile", ".dockerignore"};
        keep.insert(keep.end(), always_include.begin(), always_include.end());
        for (const auto& path : keep) {
            const std::string cleaned = std::filesystem::path(path).lexically_normal().generic_string();
            if (cleaned.empty() || cleaned == ".") continue;
            if (!check.empty() && check.excluded(cleaned)) patterns.push_back("!" + cleaned);
        }
    }
    const DockerIgnore ignore(patterns);
    // Opened following links: a context folder that is itself a link is packed from
    // where it points, as the user named it (they may name any folder anyway). Links
    // inside it are never followed.
    const Fd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (root.get() < 0)
        throw std::runtime_error("cannot read the build context " + dir.string() + ": " + std::strerror(errno));
    Walker walker{sink, ignore, {}};
    walker.walk(root.get(), dir, "");
}

void TeeSink::directory(const std::string& path, unsigned mode, std::time_t mtime) {
    first_.directory(path, mode, mtime);
    second_.directory(path, mode, mtime);
}
void TeeSink::symlink(const std::string& path, const std::string& target, std::time_t mtime) {
    first_.symlink(path, target, mtime);
    second_.symlink(path, target, mtime);
}
void TeeSink::file_begin(const std::string& path, std::int64_t size, unsigned mode, std::time_t mtime) {
    first_.file_begin(path, size, mode, mtime);
    second_.file_begin(path, size, mode, mtime);
}
void TeeSink::file_data(std::string_view piece) {
    first_.file_data(piece);
    second_.file_data(piece);
}
void TeeSink::file_end() {
    first_.file_end();
    second_.file_end();
}

}  // namespace mldeploy::util
