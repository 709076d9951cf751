// Tar archives in memory (libarchive): a build context with .dockerignore
// applied as Docker applies it, and a few files to copy into a container.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mldeploy::util {

class ContextSink;

struct TarEntry {
    std::string path;  // relative, '/'-separated; parent folders are added for it
    std::string content;
    unsigned mode = 0644;  // permission bits
};

// The patterns of `text` as Docker's .dockerignore reader gives them: trimmed,
// comments and blank lines dropped, each cleaned (".", "..", "//" resolved) and
// made relative ("/a" -> "a"), a leading '!' kept.
std::vector<std::string> parse_dockerignore(std::string_view text);

// parse_dockerignore of dir/.dockerignore; empty when there is no such file.
std::vector<std::string> read_dockerignore(const std::filesystem::path& dir);

// Docker's matcher (moby/patternmatcher, MatchesOrParentMatches): patterns are
// relative to the context root; '*' and '?' stop at '/', '**' spans folders,
// "[a-z]" classes, '\' escapes; a pattern that matches a folder excludes what is
// under it; "!pattern" re-includes; the last pattern that applies wins.
class DockerIgnore {
public:
    // Throws std::invalid_argument naming the pattern when one is malformed.
    explicit DockerIgnore(const std::vector<std::string>& patterns);
    ~DockerIgnore();
    DockerIgnore(DockerIgnore&&) noexcept;
    DockerIgnore& operator=(DockerIgnore&&) noexcept;

    // `path` relative to the context root, '/'-separated, e.g. "src/app.py".
    bool excluded(std::string_view path) const;

    // Whether a "!pattern" might re-include something under the excluded folder
    // `dir`, so that the folder must still be walked.
    bool may_reinclude_under(std::string_view dir) const;

    bool empty() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// A tar (pax where needed, plain ustar otherwise) of everything under `dir`, with
// paths relative to it: folders, regular files and symbolic links (kept as links),
// permission bits kept, owner 0:0; anything else (sockets, fifos) is left out.
// Entries come in a stable order (sorted by name per folder). Paths excluded by
// `dockerignore_patterns` are left out, but never "Dockerfile", ".dockerignore" or
// any of `always_include` (e.g. a Dockerfile of another name).
// Throws std::runtime_error naming the file that could not be read.
std::string tar_directory(const std::filesystem::path& dir, const std::vector<std::string>& dockerignore_patterns,
                          const std::vector<std::string>& always_include = {});

// The same tar, while `also` (e.g. a hash) sees every entry as it goes in: what
// it records is exactly what the tar holds, even if a file changes meanwhile.
std::string tar_directory(const std::filesystem::path& dir, const std::vector<std::string>& dockerignore_patterns,
                          const std::vector<std::string>& always_include, ContextSink& also);

// A tar of the given files, with a folder entry (0755) for each parent folder.
// Throws std::invalid_argument for an empty path or one with "..".
std::string tar_files(const std::vector<TarEntry>& entries);

// Loads libarchive now rather than at the first tar (util/archive_lazy.cpp):
// the controller's image copies what is loaded, and its agent makes and reads
// tars too when it scales (the balancer's files). Throws as the first tar would.
void load_archive_library();

}  // namespace mldeploy::util
