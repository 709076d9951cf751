#include "util/context_walk.hpp"

#include "util/tar.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <utility>

namespace mldeploy::util {
namespace {

struct Walker {
    ContextSink& sink;
    const DockerIgnore& ignore;
    std::vector<std::pair<std::string, struct stat>> pending_dirs;  // excluded folders walked for re-includes

    // An excluded folder goes in only once something under it is re-included.
    void flush_pending() {
        for (const auto& [path, st] : pending_dirs) sink.directory(path, st.st_mode & 07777, st.st_mtime);
        pending_dirs.clear();
    }

    void file(const std::string& rel, const std::filesystem::path& abs, const struct stat& st) {
        std::ifstream in(abs, std::ios::binary);
        if (!in) throw std::runtime_error("cannot read " + abs.string() + ": " + std::strerror(errno));
        // The size comes from lstat, before the first byte: a tar header needs it.
        // A file that grows meanwhile is cut there; one that shrinks is an error.
        sink.file_begin(rel, st.st_size, st.st_mode & 07777, st.st_mtime);
        std::vector<char> buffer(64 * 1024);
        std::int64_t left = st.st_size;
        while (left > 0) {
            const auto want =
                static_cast<std::streamsize>(std::min<std::int64_t>(left, static_cast<std::int64_t>(buffer.size())));
            in.read(buffer.data(), want);
            const std::streamsize got = in.gcount();
            if (got <= 0)
                throw std::runtime_error("cannot read " + abs.string() + ": it became shorter while being packed");
            sink.file_data(std::string_view(buffer.data(), static_cast<std::size_t>(got)));
            left -= got;
        }
        sink.file_end();
    }

    void walk(const std::filesystem::path& abs_dir, const std::string& rel_dir) {
        std::vector<std::string> names;
        std::error_code ec;
        for (std::filesystem::directory_iterator it(abs_dir, ec), end; !ec && it != end; it.increment(ec))
            names.push_back(it->path().filename().string());
        if (ec) throw std::runtime_error("cannot list " + abs_dir.string() + ": " + ec.message());
        std::sort(names.begin(), names.end());
        for (const auto& name : names) {
            const std::filesystem::path abs = abs_dir / name;
            const std::string rel = rel_dir.empty() ? name : rel_dir + "/" + name;
            struct stat st {};
            if (::lstat(abs.c_str(), &st) != 0)
                throw std::runtime_error("cannot read " + abs.string() + ": " + std::strerror(errno));
            const bool is_dir = S_ISDIR(st.st_mode);
            if (ignore.excluded(rel)) {
                if (is_dir && ignore.may_reinclude_under(rel)) {
                    const std::size_t depth = pending_dirs.size();
                    pending_dirs.emplace_back(rel, st);
                    walk(abs, rel);
                    if (pending_dirs.size() > depth) pending_dirs.resize(depth);  // nothing under it went in
                }
                continue;
            }
            if (is_dir) {
                flush_pending();
                sink.directory(rel, st.st_mode & 07777, st.st_mtime);
                walk(abs, rel);
            } else if (S_ISREG(st.st_mode)) {
                flush_pending();
                file(rel, abs, st);
            } else if (S_ISLNK(st.st_mode)) {
                std::string target(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : 4096), '\0');
                const ssize_t n = ::readlink(abs.c_str(), target.data(), target.size());
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
    Walker walker{sink, ignore, {}};
    walker.walk(dir, "");
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
